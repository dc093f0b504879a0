"""What the app holds for its lifetime (engine, settings, backends), built once at start-up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from starlette.requests import Request

from tollhouse.limits.service import LimitsService, memory_limits
from tollhouse.settings import Settings

if TYPE_CHECKING:
    from tollhouse.metering.writer import UsageWriter


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    usage_writer: UsageWriter | None = None
    # Rate windows and monthly caps (task E); `limits.metrics` counts backend failures.
    limits: LimitsService = field(default_factory=memory_limits)
    # Where corpus queries run, off the event loop (api/pages.py run_corpus): lookups by id on
    # their own threads, everything else (searches, timelines, counts) on the others.
    corpus_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(16, thread_name_prefix="tollhouse-corpus")
    )
    lookup_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="tollhouse-lookup")
    )


def app_state(request: Request) -> AppState:
    """The AppState of the app serving `request`."""
    state: AppState = request.app.state.tollhouse
    return state
