"""`tollhouse demo --no-serve` prints a key that works."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollhouse.cli.main import app
from tollhouse.settings import get_settings


def test_demo_without_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["demo", "--db", "demo.db", "--posts", "300", "--users", "30", "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    token = next(w for w in result.stdout.split() if w.startswith("th_live_"))
    assert "curl -H" in result.stdout and "tweepy.Client" in result.stdout
    from fastapi.testclient import TestClient

    from tollhouse.api.app import create_app
    from tollhouse.settings import load_settings

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with TestClient(create_app(load_settings(database_url=url))) as client:
        line = next(line for line in result.stdout.splitlines() if line.startswith("curl -H"))
        path = line.split('"')[3].split("8000", 1)[1]
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert "data" in response.json()
    get_settings.cache_clear()
