"""The floor: a plain Starlette app answering `GET /2/tweets?ids=…` with the bytes Tollhouse
sends for the same request, from the same SQLite database, with the same SQL and orjson.

No authentication, no limits, no metering, no parameter checks beyond what is needed to read
the ids. `app` is the plain idiom: a synchronous endpoint, which Starlette runs in its
threadpool, as Tollhouse runs its queries (a blocking database call does not belong on the event
loop). `inline_app` runs the same lookup on the event loop instead: no thread hop at all, the
lowest floor there is for this response. bench/gateway.py checks that the bodies are
byte-identical to Tollhouse's before it measures anything.

    BENCH_DB=/path/to/bench.db uvicorn bench.gateway_peers.bare:app
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tollhouse.db import SQLITE_MMAP_BYTES

# The statement Tollhouse's post lookup compiles to on SQLite (corpus.lookups.lookup_posts):
# the post columns, X-formatted time and JSON as text, plus the states that decide visibility.
_SELECT = (
    "SELECT posts.id, posts.author_id, posts.text, strftime(?, posts.created_at) AS created_at,"
    " posts.lang, posts.conversation_id, posts.in_reply_to_user_id, posts.replied_to_id,"
    " posts.retweeted_id, posts.quoted_id, posts.entities AS entities, posts.retweet_count,"
    " posts.reply_count, posts.like_count, posts.quote_count, posts.bookmark_count,"
    " posts.impression_count, posts.possibly_sensitive, posts.source, posts.withheld AS"
    " withheld, posts.state, users.state AS state_1, users.protected \n"
    "FROM posts LEFT OUTER JOIN users ON users.id = posts.author_id \n"
    "WHERE posts.id IN ({marks})"
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%fZ"
_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["BENCH_DB"], check_same_thread=False)
        # The page cache and memory map Tollhouse's engine gives each connection (tollhouse.db).
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        _local.conn = conn
    return conn


def _render(row: tuple[Any, ...]) -> dict[str, Any]:
    # tweet.fields=author_id,conversation_id,created_at,lang,public_metrics, in X's key order
    # as Tollhouse writes it.
    post_id = str(row[0])
    return {
        "id": post_id,
        "text": row[2],
        "edit_history_tweet_ids": [post_id],
        "author_id": str(row[1]),
        "created_at": row[3],
        "conversation_id": str(row[5]),
        "lang": row[4],
        "public_metrics": {
            "retweet_count": row[11],
            "reply_count": row[12],
            "like_count": row[13],
            "quote_count": row[14],
            "bookmark_count": row[15],
            "impression_count": row[16],
        },
    }


def _visible_posts(ids: list[int]) -> list[dict[str, Any]]:
    """The rendered posts among `ids` that may be served, in the order asked."""
    sql = _SELECT.format(marks=", ".join("?" * len(ids)))
    rows = _connection().execute(sql, (_TIME_FORMAT, *ids)).fetchall()
    by_id = {
        row[0]: row
        for row in rows
        if row[20] == "active" and row[21] in ("active", None) and not row[22]
    }
    return [_render(by_id[i]) for i in ids if i in by_id]


def _lookup(ids: list[int]) -> bytes:
    return orjson.dumps({"data": _visible_posts(ids)})


def tweets(request: Request) -> Response:
    ids = [int(v) for v in request.query_params["ids"].split(",")]
    return Response(_lookup(ids), media_type="application/json")


async def tweets_inline(request: Request) -> Response:
    ids = [int(v) for v in request.query_params["ids"].split(",")]
    return Response(_lookup(ids), media_type="application/json")


app = Starlette(routes=[Route("/2/tweets", tweets)])
inline_app = Starlette(routes=[Route("/2/tweets", tweets_inline)])
