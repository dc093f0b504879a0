"""What a synthetic corpus is made of: its spec (validated arguments) and run statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tollhouse.errors import InvalidInput

DEFAULT_WINDOW = timedelta(days=30)
# Users join between the snowflake epoch (ids must encode a valid time) and the window start.
FIRST_SIGNUP = datetime(2010, 11, 5, tzinfo=UTC)
# A snowflake has 4096 sequence numbers per millisecond (and worker); staying far below that on
# average keeps every post inside its window.
_MAX_PER_MS = 1000


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """What to generate; validated by `CorpusSpec.create`."""

    posts: int
    users: int
    seed: int
    start: datetime
    end: datetime

    @classmethod
    def create(
        cls,
        posts: int,
        users: int,
        seed: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> CorpusSpec:
        """Check the arguments; the window defaults to the 30 days up to now (UTC), and naive
        datetimes are taken as UTC."""
        if posts < 0 or users < 0:
            raise InvalidInput("--posts and --users must not be negative")
        if posts > 0 and users == 0:
            raise InvalidInput("posts need authors: --users must be at least 1")
        end = _utc(end) if end is not None else datetime.now(UTC)
        start = _utc(start) if start is not None else end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidInput(f"--start ({start.isoformat()}) must be before --end")
        if posts > (end - start) / timedelta(milliseconds=1) * _MAX_PER_MS:
            raise InvalidInput(f"the window is too short for {posts} posts")
        if start < FIRST_SIGNUP + timedelta(days=1):
            raise InvalidInput("--start must be after 2010-11-06 (snowflake ids start in 2010)")
        return cls(posts=posts, users=users, seed=seed, start=start, end=end)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rounded_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, rounded (the generator spreads times over floats)."""
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """What a generation run did."""

    spec: CorpusSpec
    posts_written: int  # new rows; fewer than spec.posts when the corpus already had them
    users_written: int
    seconds: float

    @property
    def posts_per_second(self) -> float:
        return self.spec.posts / self.seconds if self.seconds > 0 else 0.0
