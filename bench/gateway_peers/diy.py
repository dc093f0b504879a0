"""What a team would write in a day: FastAPI + slowapi + a dict of keys + a usage counter.

Written the way FastAPI's and SQLAlchemy's tutorials teach it: a declarative model of the two
tables, a session per request from a dependency, the key checked by a dependency against a dict,
a slowapi limit per key (in-memory storage, a limit too high to refuse during the run), pydantic
models as the `response_model`, and a per-organisation count of posts delivered. No monthly cap,
no dedupe, no durable metering: it does less than Tollhouse. bench/gateway.py checks that its
bytes equal the floor's before measuring. diy_lean.py is the same gateway around the floor's
hand-written SQL and renderer instead, for the lowest DIY cost there is.

    BENCH_DB=/path/to/bench.db BENCH_TOKEN=… uvicorn bench.gateway_peers.diy:app
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    String,
    Text,
    create_engine,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

API_KEYS: dict[str, str] = {os.environ.get("BENCH_TOKEN", "diy-token"): "bench-org"}
usage: Counter[str] = Counter()
# A connection for each of the threadpool's 40 threads, as the team learns on its first load
# test: with the default pool (5 + 10 overflow) endpoints holding all 40 threads wait for a
# connection while the sessions holding the connections wait for a thread to close them in (the
# `yield` dependency's teardown runs in the threadpool too), and nothing moves until the pool's
# 30 s timeout.
engine = create_engine(
    f"sqlite:///{os.environ.get('BENCH_DB', 'bench.db')}", pool_size=40, max_overflow=0
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    protected: Mapped[bool] = mapped_column(Boolean)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lang: Mapped[str] = mapped_column(String(8))
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    retweet_count: Mapped[int]
    reply_count: Mapped[int]
    like_count: Mapped[int]
    quote_count: Mapped[int]
    bookmark_count: Mapped[int]
    impression_count: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    author: Mapped[User | None] = relationship(lazy="joined")


class PublicMetrics(BaseModel):
    retweet_count: int
    reply_count: int
    like_count: int
    quote_count: int
    bookmark_count: int
    impression_count: int


class Tweet(BaseModel):
    id: str
    text: str
    edit_history_tweet_ids: list[str]
    author_id: str
    created_at: str
    conversation_id: str
    lang: str
    public_metrics: PublicMetrics


class TweetsResponse(BaseModel):
    data: list[Tweet]


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def api_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if token not in API_KEYS:
        raise HTTPException(status_code=401, detail="Unauthorized")
    return token


limiter = Limiter(key_func=api_key)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]


def to_tweet(post: Post) -> Tweet:
    created = post.created_at
    return Tweet(
        id=str(post.id),
        text=post.text,
        edit_history_tweet_ids=[str(post.id)],
        author_id=str(post.author_id),
        created_at=created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
        conversation_id=str(post.conversation_id),
        lang=post.lang,
        public_metrics=PublicMetrics(
            retweet_count=post.retweet_count,
            reply_count=post.reply_count,
            like_count=post.like_count,
            quote_count=post.quote_count,
            bookmark_count=post.bookmark_count,
            impression_count=post.impression_count,
        ),
    )


def visible(post: Post) -> bool:
    author = post.author
    return (
        post.state == "active"
        and (author is None or author.state == "active")
        and not (author is not None and author.protected)
    )


@app.get("/2/tweets", response_model=TweetsResponse)
@limiter.limit("1000000000/15minute")
def tweets(
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    key: Annotated[str, Depends(api_key)],
    ids: str = Query(...),
) -> TweetsResponse:
    id_list = [int(v) for v in ids.split(",")]
    posts = {p.id: p for p in db.scalars(select(Post).where(Post.id.in_(id_list))).unique()}
    data = [to_tweet(posts[i]) for i in id_list if i in posts and visible(posts[i])]
    usage[API_KEYS[key]] += len(data)
    return TweetsResponse(data=data)
