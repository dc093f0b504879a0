from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.compliance.findings.world import World


@pytest.fixture
def world(engine: Engine, usage_engine: Engine, tmp_path: Path) -> World:
    return World(engine, usage_engine, tmp_path)
