"""Importing X API v2 JSON: twarc2 JSONL (one response page per line), JSONL of single tweet
objects, or one JSON document holding a page, a tweet, or a list of them.

Each line (or, for a whole-file document, each list item) is a unit: validated completely
first, then written with all its users and posts in one transaction, so a unit is applied
entirely or not at all. Bad units are reported with their line (item) number and reason and
skipped. Writes go through `corpus.store`, which skips ids already present: importing a file
twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import posts as posts_table
from tollhouse.corpus.models import users as users_table
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.corpus.xv2 import XTweet, XUser

# Units written per transaction; a failing transaction is retried one unit at a time.
CHUNK = 500


class UnitRejected(ValueError):
    """A unit that cannot be imported; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class Unit:
    """The users and posts of one line (or list item), ready to write."""

    number: int
    users: tuple[UserRecord, ...]
    posts: tuple[PostRecord, ...]


@dataclass(frozen=True, slots=True)
class LineError:
    number: int
    reason: str


@dataclass(slots=True)
class ImportSummary:
    """What an import read, wrote and skipped."""

    unit: Literal["line", "item"] = "line"
    units: int = 0  # lines (items) read, blank lines not counted
    posts_read: int = 0
    users_read: int = 0
    posts_imported: int = 0  # new rows; ids already present are not counted
    users_imported: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)

    @property
    def readable(self) -> bool:
        """Whether anything at all could be read (the CLI fails only when not)."""
        return self.units > self.skipped


def parse_unit(number: int, value: Any) -> Unit:
    """Validate one decoded JSON value: a tweet, a response page, or a list of those."""
    users: dict[int, UserRecord] = {}
    posts: dict[int, PostRecord] = {}
    _collect(value, "", users, posts)
    return Unit(number=number, users=tuple(users.values()), posts=tuple(posts.values()))


def _collect(
    value: Any, where: str, users: dict[int, UserRecord], posts: dict[int, PostRecord]
) -> None:
    if isinstance(value, list):
        for k, item in enumerate(value):
            _collect(item, f"{where}[{k}]", users, posts)
        return
    if not isinstance(value, dict):
        raise UnitRejected(f"{where or 'value'}: expected a tweet or a response page")
    if "data" in value or "includes" in value:
        data = value.get("data")
        tweets = data if isinstance(data, list) else [] if data is None else [data]
        includes = value.get("includes") or {}
        if not isinstance(includes, dict):
            raise UnitRejected(f"{where}includes: expected an object")
        for k, raw in enumerate(tweets):
            _tweet(
                raw, f"{where}data[{k}]" if isinstance(data, list) else f"{where}data", users, posts
            )
        for key, item_kind in (("users", _user), ("tweets", _tweet)):
            items = includes.get(key) or []
            if not isinstance(items, list):
                raise UnitRejected(f"{where}includes.{key}: expected a list")
            for k, raw in enumerate(items):
                item_kind(raw, f"{where}includes.{key}[{k}]", users, posts)
        return
    if "id" in value or "text" in value:
        _tweet(value, where, users, posts)
        return
    raise UnitRejected(f"{where or 'value'}: neither a tweet (id, text) nor a page (data)")


def _user(raw: Any, where: str, users: dict[int, UserRecord], posts: dict[int, PostRecord]) -> None:
    try:
        user = XUser.model_validate(raw).record()
    except ValidationError as exc:
        raise UnitRejected(_reason(where, exc)) from None
    users.setdefault(user.id, user)


def _tweet(
    raw: Any, where: str, users: dict[int, UserRecord], posts: dict[int, PostRecord]
) -> None:
    try:
        tweet = XTweet.model_validate(raw)
        entities = raw.get("entities") if isinstance(raw, dict) else None
        post = tweet.record(entities if isinstance(entities, dict) else None)
    except ValidationError as exc:
        raise UnitRejected(_reason(where, exc)) from None
    except ValueError as exc:
        raise UnitRejected(f"{where or 'tweet'}: {exc}") from None
    # The first version of a post in a unit wins (data before includes), as in the store.
    posts.setdefault(post.id, post)
    # twarc2's flattened output embeds the author, the replied-to user and the referenced
    # tweets themselves; import those too.
    for embedded in (tweet.author, tweet.in_reply_to_user):
        if embedded is not None:
            users.setdefault(embedded.id, embedded.record())
    if isinstance(raw, dict) and isinstance(raw.get("referenced_tweets"), list):
        for k, ref in enumerate(raw["referenced_tweets"]):
            if isinstance(ref, dict) and "text" in ref:
                _tweet(ref, f"{where}.referenced_tweets[{k}]".lstrip("."), users, posts)


def _reason(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    prefix = f"{where}." if where else ""
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"missing {prefix}{path}"
    return f"{prefix}{path}: {message}"


def read_units(path: Path, summary: ImportSummary) -> Iterator[Unit]:
    """The file's units, in order; bad ones go to `summary.errors` instead."""
    whole = _whole_document(path)
    if whole is not None:
        summary.unit = "item"
        items = whole if isinstance(whole, list) else [whole]
        yield from _parse_all(enumerate(items, start=1), summary)
        return
    yield from _parse_all(_jsonl(path, summary), summary)


def _whole_document(path: Path) -> Any | None:
    """The file as one JSON document, when it is not JSON Lines (e.g. pretty-printed)."""
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    orjson.loads(line)
                    return None  # the first line is JSON on its own: JSON Lines
                except orjson.JSONDecodeError:
                    break
        else:
            return None
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None  # read it line by line, reporting each bad line


def _jsonl(path: Path, summary: ImportSummary) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                summary.units += 1
                summary.errors.append(LineError(number, f"invalid JSON: {exc}"))


def _parse_all(values: Iterable[tuple[int, Any]], summary: ImportSummary) -> Iterator[Unit]:
    for number, value in values:
        summary.units += 1
        try:
            yield parse_unit(number, value)
        except UnitRejected as exc:
            summary.errors.append(LineError(number, str(exc)))


def import_file(engine: Engine, path: Path) -> ImportSummary:
    """Import an X v2 JSON/JSONL file into the (migrated) corpus behind `engine`."""
    summary = ImportSummary()
    chunk: list[Unit] = []
    for unit in read_units(path, summary):
        chunk.append(unit)
        if len(chunk) >= CHUNK:
            _write_chunk(engine, chunk, summary)
            chunk = []
    if chunk:
        _write_chunk(engine, chunk, summary)
    summary.errors.sort(key=lambda e: e.number)
    return summary


def _write_chunk(engine: Engine, chunk: list[Unit], summary: ImportSummary) -> None:
    try:
        with engine.begin() as conn:
            new_users, new_posts = _write(conn, chunk)
    except Exception:
        # Something in the chunk broke a database rule: find it, write the rest unit by unit.
        new_users = new_posts = 0
        for unit in chunk:
            try:
                with engine.begin() as conn:
                    u, p = _write(conn, [unit])
            except Exception as exc:  # a unit the database refuses is reported, not fatal
                summary.errors.append(LineError(unit.number, f"database: {_first_line(exc)}"))
                continue
            new_users += u
            new_posts += p
            summary.users_read += len(unit.users)
            summary.posts_read += len(unit.posts)
        summary.users_imported += new_users
        summary.posts_imported += new_posts
        return
    summary.users_imported += new_users
    summary.posts_imported += new_posts
    summary.users_read += sum(len(u.users) for u in chunk)
    summary.posts_read += sum(len(u.posts) for u in chunk)


def _write(conn: Connection, units: list[Unit]) -> tuple[int, int]:
    users = list({u.id: u for unit in reversed(units) for u in unit.users}.values())
    posts = list({p.id: p for unit in reversed(units) for p in unit.posts}.values())
    user_ids = [u.id for u in users]
    post_ids = [p.id for p in posts]
    users_before = _count(conn, users_table.c.id, user_ids)
    posts_before = _count(conn, posts_table.c.id, post_ids)
    insert_users(conn, users)
    insert_posts(conn, posts)
    return (
        _count(conn, users_table.c.id, user_ids) - users_before,
        _count(conn, posts_table.c.id, post_ids) - posts_before,
    )


def _count(conn: Connection, column: Any, ids: list[int]) -> int:
    total = 0
    for k in range(0, len(ids), 500):
        stmt = select(func.count()).where(column.in_(ids[k : k + 500]))
        total += conn.execute(stmt).scalar_one()
    return total


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
