from __future__ import annotations

import secrets

import pytest

from tollhouse.errors import ConfigurationError
from tollhouse.settings import DEFAULT_ADMIN_TOKEN, MIN_ADMIN_TOKEN_LENGTH, load_settings


def test_defaults_are_embedded_sqlite_and_memory() -> None:
    s = load_settings()
    assert s.database_url.startswith("sqlite:///")
    assert s.limits_url == "memory://"


def test_env_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLHOUSE_LIMITS_URL", "redis://127.0.0.1:6379/0")
    assert load_settings().limits_url == "redis://127.0.0.1:6379/0"


def test_toml_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "tollhouse.toml"
    path.write_text('database_url = "sqlite:///x.db"\n')
    monkeypatch.setenv("TOLLHOUSE_CONFIG", str(path))
    assert load_settings().database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    "overrides",
    [
        {"database_url": "mysql://x"},
        {"usage_database_url": "mysql://x"},
        {"limits_url": "memcached://x"},
        {"environment": "production"},
        {"environment": "production", "admin_token": DEFAULT_ADMIN_TOKEN},
    ],
)
def test_bad_settings_fail_loudly(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(**overrides)


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (DEFAULT_ADMIN_TOKEN, "is the development default"),
        ("", "is blank"),
        (" ", "is blank"),
        ("a", "is shorter than 32 characters"),
        ("x" * 31, "is shorter than 32 characters"),
        (" " + "x" * 40, "contains whitespace"),
        ("x" * 20 + " " + "x" * 20, "contains whitespace"),
    ],
)
def test_production_refuses_a_weak_admin_token_in_one_line(token: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environment="production", admin_token=token)
    message = str(raised.value)
    assert "\n" not in message and "pydantic" not in message
    assert message.startswith(f"TOLLHOUSE_ADMIN_TOKEN {why} outside development")


def test_production_accepts_own_secret() -> None:
    token = secrets.token_hex(16)
    s = load_settings(environment="production", admin_token=token)
    assert s.environment == "production" and len(token) == MIN_ADMIN_TOKEN_LENGTH


def test_a_bad_setting_is_reported_in_one_line() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(limits_timeout_ms=1, database_url="mysql://x")
    message = str(raised.value)
    assert "\n" not in message and "errors.pydantic.dev" not in message
    assert "database_url: database_url must be sqlite" in message
    assert "limits_timeout_ms: Input should be greater than or equal to 10" in message


def test_usage_tables_default_beside_sqlite_and_in_postgresql() -> None:
    beside = load_settings(database_url="sqlite:////srv/th/tollhouse.db")
    assert beside.usage_url == "sqlite:////srv/th/tollhouse-usage.db"
    pg = "postgresql+psycopg://tollhouse@db/tollhouse"
    assert load_settings(database_url=pg).usage_url == pg
    assert load_settings(database_url="postgresql://tollhouse@db/tollhouse").usage_url == pg
    assert load_settings(database_url="sqlite:///:memory:").usage_url == "sqlite:///:memory:"
    chosen = load_settings(database_url="sqlite:///a.db", usage_database_url="sqlite:///b.db")
    assert chosen.usage_url == "sqlite:///b.db"
