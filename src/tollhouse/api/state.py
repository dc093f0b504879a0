"""What the app holds for its lifetime (engine, settings, backends), built once at start-up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from starlette.requests import Request

from tollhouse.api.org_slots import OrgSlots
from tollhouse.limits.service import LimitsService, memory_limits
from tollhouse.settings import Settings

if TYPE_CHECKING:
    from tollhouse.metering.recorder import UsageRecorder


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    # Metering's usage tables (db.usage_database_url); `engine` itself when they share it.
    usage_engine: Engine
    usage_writer: UsageRecorder | None = None
    # Rate windows and monthly caps; `limits.metrics` counts backend failures.
    limits: LimitsService = field(default_factory=memory_limits)
    # Where corpus queries run, off the event loop (api/corpus_work.py run_corpus): lookups by id on
    # their own threads, everything else (searches, timelines, counts) on the others. Sized by
    # settings.corpus_threads / lookup_threads.
    corpus_executor: ThreadPoolExecutor = field(init=False)
    lookup_executor: ThreadPoolExecutor = field(init=False)
    # How many of the corpus threads each organisation holds (settings.corpus_slots_per_org).
    org_slots: OrgSlots = field(init=False)

    def __post_init__(self) -> None:
        self.corpus_executor = ThreadPoolExecutor(
            self.settings.corpus_threads, thread_name_prefix="tollhouse-corpus"
        )
        self.lookup_executor = ThreadPoolExecutor(
            self.settings.lookup_threads, thread_name_prefix="tollhouse-lookup"
        )
        self.org_slots = OrgSlots(self.settings.corpus_slots_per_org)


def app_state(request: Request) -> AppState:
    """The AppState of the app serving `request`."""
    state: AppState = request.app.state.tollhouse
    return state
