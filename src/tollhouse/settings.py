"""One typed settings object, read once.

Sources, later ones winning: defaults, `tollhouse.toml` (or the file named by
`TOLLHOUSE_CONFIG`), environment variables prefixed `TOLLHOUSE_`. Bad values fail loudly at
start-up, in one line; default and weak secrets are refused outside development.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tollhouse.db import usage_database_url
from tollhouse.errors import ConfigurationError

DEFAULT_ADMIN_TOKEN = "dev-admin-token"
# 32 characters: what `secrets.token_hex(16)` gives (128 bits), the least a bearer token that
# guards every operator change should carry; `secrets.token_urlsafe(32)` gives 43.
MIN_ADMIN_TOKEN_LENGTH = 32


def admin_token_weakness(token: str) -> str | None:
    """Why `token` is too weak to guard the admin API (None when it is strong enough)."""
    if token == DEFAULT_ADMIN_TOKEN:
        return "is the development default"
    if not token.strip():
        return "is blank"
    # An HTTP header value loses surrounding spaces and a bearer token ends at one, so a token
    # with whitespace could never be presented: the admin API would be unusable.
    if any(c.isspace() for c in token):
        return "contains whitespace"
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return f"is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters"
    return None


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
    # Scheme and host of compliance-job upload/download URLs (e.g. https://api.example.com);
    # empty: the host the job was created through.
    public_base_url: str = ""
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
    # Compliance: a rules file (TOML) overriding the shipped rule parameters, government networks
    # and names (compliance/findings/rules.toml), and an optional local ASN database (CSV of
    # `cidr,asn,name` lines; never looked up over the network).
    compliance_rules_file: Path | None = None
    asn_database: Path | None = None
    # Request bodies (api/middleware/body_limit.py): at most `max_body_bytes` on every route
    # but those in `max_body_bytes_by_route` (path prefix → bytes, the longest prefix wins).
    # 1 MiB holds any admin change; a full rules request (1000 rules of 1024 characters,
    # JSON-escaped) takes up to about 2 MB, hence 4 MiB; an ingest batch (10 000 posts with
    # their users) 64 MiB.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_body_bytes_by_route: dict[str, int] = Field(
        default_factory=lambda: {
            "/2/tweets/search/stream/rules": 4 << 20,
            "/admin/v1/posts": 64 << 20,
            # 10 000 content events; a compliance job's upload (X: at most 128 MB of ids).
            "/admin/v1/content/events": 8 << 20,
            "/compliance/upload/": 128 << 20,
        }
    )
    # Receipts: the host in each usage log's origin (`<host>/usage/<org id>`), the Ed25519 seed
    # that signs checkpoints (32 bytes, base64; development derives a fixed one, production
    # must set it), the shortest time between two checkpoints of one log, and how long after
    # midnight UTC a day is closed (late events still arriving fall into the next day's range).
    receipts_host: str = Field(default="tollhouse.localhost", pattern=r"^[A-Za-z0-9.:-]+$")
    receipts_signing_key: str = ""
    receipts_checkpoint_seconds: float = Field(default=60.0, ge=1.0, le=86_400.0)
    receipts_close_grace_seconds: int = Field(default=600, ge=0, le=86_400)

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
    def _no_weak_secrets_in_production(self) -> Settings:
        problem = admin_token_weakness(self.admin_token)
        if self.environment != "development" and problem:
            raise ValueError(
                f"TOLLHOUSE_ADMIN_TOKEN {problem} outside development; make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.environment != "development" and not self.receipts_signing_key:
            raise ValueError(
                "TOLLHOUSE_RECEIPTS_SIGNING_KEY must be set outside development"
                " (`tollhouse receipts key --new` makes one)"
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
    except ValidationError as exc:
        raise ConfigurationError(_one_line(exc)) from None
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def _one_line(exc: ValidationError) -> str:
    """pydantic's report in one line: each bad setting with its reason, without its links."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(x) for x in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
