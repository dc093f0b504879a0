"""Value objects for posts and users as the corpus stores them (validated, typed, immutable).

Importers and the generator produce these; `corpus.store` writes them; the matcher reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    created_at: datetime
    name: str = ""
    description: str = ""
    verified: bool = False
    protected: bool = False
    followers_count: int = 0
    following_count: int = 0
    tweet_count: int = 0
    listed_count: int = 0
    location: str | None = None
    url: str | None = None
    profile_image_url: str | None = None


@dataclass(frozen=True, slots=True)
class PostRecord:
    id: int
    author_id: int
    text: str
    created_at: datetime
    lang: str = "und"
    conversation_id: int | None = None  # defaults to the post's own id
    in_reply_to_user_id: int | None = None
    replied_to_id: int | None = None
    retweeted_id: int | None = None
    quoted_id: int | None = None
    # Entity values; `entities` (the X v2 object with indices) is derived from these when absent.
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()  # usernames, without "@"
    urls: tuple[str, ...] = ()  # expanded URLs
    cashtags: tuple[str, ...] = ()
    entities: dict[str, Any] | None = None
    retweet_count: int = 0
    reply_count: int = 0
    like_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0
    impression_count: int = 0
    possibly_sensitive: bool = False
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def conversation(self) -> int:
        return self.conversation_id if self.conversation_id is not None else self.id
