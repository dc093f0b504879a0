"""One typed settings object, read once.

Sources, later ones winning: defaults, `tollhouse.toml` (or the file named by
`TOLLHOUSE_CONFIG`), environment variables prefixed `TOLLHOUSE_`. Bad values fail loudly at
start-up; default secrets are refused outside development.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tollhouse.db import usage_database_url
from tollhouse.errors import ConfigurationError

DEFAULT_ADMIN_TOKEN = "dev-admin-token"


class Settings(BaseSettings):
    """Everything configurable about a Tollhouse process."""

    model_config = SettingsConfigDict(env_prefix="TOLLHOUSE_", extra="forbid")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./tollhouse.db"
    # Where metering's usage tables live; empty: beside a SQLite database in a file of its own
    # (`tollhouse-usage.db`), in the same database on PostgreSQL (db.usage_database_url says why).
    usage_database_url: str = ""
    limits_url: str = "memory://"
    bus_url: str = "memory://"
    admin_token: str = DEFAULT_ADMIN_TOKEN
    # The key that signs pagination tokens (for their endpoint and query); empty: derived from
    # admin_token. Changing either makes tokens already handed out invalid (a 400).
    page_token_key: str = ""
    # Longest search query / stream rule a plan may allow unless the plan says otherwise.
    max_query_length: int = 512
    # SQL statements issued for one API request are cut off after this many milliseconds so that
    # no query can hang the server.
    query_timeout_ms: int = 2000
    # Threads per process that run corpus queries (each holds one pooled database connection):
    # searches, timelines and counts on `corpus_threads`; lookups by id (at most 100 index probes
    # each) on `lookup_threads` of their own, so that they never queue behind slow searches. On
    # SQLite the work is CPU-bound in this process, so more threads only add GIL switching.
    corpus_threads: int = Field(default=16, ge=1, le=256)
    lookup_threads: int = Field(default=4, ge=1, le=256)
    # How many of the corpus threads one organisation's requests may hold at once in a process;
    # past it they are answered 429 (api/org_slots.py). 0: half of corpus_threads (at least 1).
    corpus_concurrency_per_org: int = Field(default=0, ge=0, le=256)
    # Streams: seconds between keep-alive "\r\n"s, posts buffered per connection before a slow
    # reader is disconnected, and seconds between one stream's usage events.
    stream_keepalive_seconds: float = 20.0
    stream_buffer_posts: int = 1000
    stream_usage_interval_seconds: float = 10.0
    # Metering: `strict` answers only after the usage event is fsynced to the spool,
    # `fast` risks at most the last 100 ms of events on a crash, `off` records nothing.
    metering_mode: Literal["strict", "fast", "off"] = "strict"
    # Local durable spool (one segment file per server process); shared by processes on a host.
    spool_dir: Path = Path("./spool")
    raw_event_retention_days: int = 400
    # Limits: what to do when the limits backend (Redis) cannot be asked, how long to
    # wait for it, the key prefix (tests and tenants sharing a Redis), the daily dedupe Bloom
    # filter's size per organisation per UTC day (2**23 bits = 1 MiB; see limits/dedupe.py), and
    # the posts reserved against a hard cap per in-flight request (bounds cap overshoot).
    limits_failure_policy: Literal["fail_closed", "fail_open"] = "fail_closed"
    limits_timeout_ms: int = Field(default=1000, ge=10, le=10_000)
    limits_key_prefix: str = "tollhouse:limits:"
    limits_dedupe_bits: int = Field(default=1 << 23, ge=1 << 10, le=1 << 32)
    limits_cap_reservation: int = Field(default=100, ge=0, le=10_000)

    @field_validator("database_url", "usage_database_url")
    @classmethod
    def _known_database(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "usage_database_url" and not value:
            return value
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(f"{info.field_name} must be sqlite:///PATH or postgresql+psycopg://…")
        return value

    @property
    def corpus_slots_per_org(self) -> int:
        """Corpus threads one organisation may hold at once (`corpus_concurrency_per_org`)."""
        return self.corpus_concurrency_per_org or max(1, self.corpus_threads // 2)

    @property
    def usage_url(self) -> str:
        """The usage tables' database (see `usage_database_url`)."""
        return usage_database_url(self.database_url, self.usage_database_url)

    @field_validator("limits_url", "bus_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("must be memory:// or redis://host:port/db")
        return value

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment != "development" and self.admin_token in ("", DEFAULT_ADMIN_TOKEN):
            raise ValueError(
                "TOLLHOUSE_ADMIN_TOKEN must be set to a secret of your own outside development"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("TOLLHOUSE_CONFIG", "tollhouse.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and config file; raise ConfigurationError if bad."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
