"""X API v2 objects as they arrive in files (twarc2 output, saved API responses), validated at
the edge with pydantic and turned into corpus records.

Only the fields the corpus keeps are modelled; anything else (annotations, attachments,
twarc's `__twarc` block, `meta`, partial `errors`) is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tollhouse.corpus.ids import created_at_of
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.ids import Id64

# Ids at least this large are snowflakes (2010 on) and encode their creation time; older
# ids do not, so a post without created_at can only be dated if its id is a snowflake.
_SNOWFLAKE_FLOOR = 10**15
# X opened in March 2006: the creation time we give a pre-snowflake user that has none.
_X_LAUNCH = datetime(2006, 3, 21, tzinfo=UTC)


# X sends ids as strings of digits; ints are accepted too, but not bools, floats or signs.
XId = Id64


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps both backends alike.
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class XUserMetrics(_Model):
    followers_count: int = Field(0, ge=0)
    following_count: int = Field(0, ge=0)
    tweet_count: int = Field(0, ge=0)
    listed_count: int = Field(0, ge=0)


class XUser(_Model):
    id: XId
    username: str = Field(min_length=1, max_length=50, strict=True)
    name: str = Field("", max_length=100, strict=True)
    description: str = Field("", strict=True)
    created_at: datetime | None = None
    verified: bool = False
    protected: bool = False
    public_metrics: XUserMetrics | None = None
    location: str | None = Field(None, max_length=100, strict=True)
    url: str | None = Field(None, strict=True)
    profile_image_url: str | None = Field(None, strict=True)

    _text = field_validator("username", "name", "description", "location")(_no_nul)

    def record(self) -> UserRecord:
        metrics = self.public_metrics or XUserMetrics()
        return UserRecord(
            id=self.id,
            username=self.username,
            created_at=_utc(self.created_at) if self.created_at else _user_created_at(self.id),
            name=self.name,
            description=self.description,
            verified=self.verified,
            protected=self.protected,
            followers_count=metrics.followers_count,
            following_count=metrics.following_count,
            tweet_count=metrics.tweet_count,
            listed_count=metrics.listed_count,
            location=self.location,
            url=self.url,
            profile_image_url=self.profile_image_url,
        )


class XTag(_Model):
    start: int = 0
    end: int = 0
    tag: str = Field(strict=True)


class XMention(_Model):
    start: int = 0
    end: int = 0
    username: str = Field(strict=True)


class XUrl(_Model):
    start: int = 0
    end: int = 0
    url: str | None = Field(None, strict=True)
    expanded_url: str | None = Field(None, strict=True)

    @property
    def target(self) -> str | None:
        return self.expanded_url or self.url


class XEntities(_Model):
    hashtags: list[XTag] = []
    cashtags: list[XTag] = []
    mentions: list[XMention] = []
    urls: list[XUrl] = []


class XReference(_Model):
    type: Literal["replied_to", "retweeted", "quoted"]
    id: XId


class XPostMetrics(_Model):
    retweet_count: int = Field(0, ge=0)
    reply_count: int = Field(0, ge=0)
    like_count: int = Field(0, ge=0)
    quote_count: int = Field(0, ge=0)
    bookmark_count: int = Field(0, ge=0)
    impression_count: int = Field(0, ge=0)


class XTweet(_Model):
    id: XId
    text: str = Field(strict=True)
    author_id: XId | None = None
    created_at: datetime | None = None
    lang: str | None = Field(None, max_length=8, strict=True)
    conversation_id: XId | None = None
    in_reply_to_user_id: XId | None = None
    referenced_tweets: list[XReference] = []
    entities: XEntities | None = None
    public_metrics: XPostMetrics | None = None
    possibly_sensitive: bool = False
    source: str | None = Field(None, max_length=100, strict=True)
    # twarc2's flattened output embeds these user objects.
    author: XUser | None = None
    in_reply_to_user: XUser | None = None

    _text = field_validator("text")(_no_nul)

    def record(self, raw_entities: dict[str, Any] | None) -> PostRecord:
        """The corpus record; `raw_entities` is the validated input object, kept verbatim."""
        author_id = self.author_id or (self.author.id if self.author else None)
        if author_id is None:
            raise ValueError("missing author_id")
        if self.created_at is not None:
            created_at = _utc(self.created_at)
        elif self.id >= _SNOWFLAKE_FLOOR:
            created_at = created_at_of(self.id)
        else:
            raise ValueError("missing created_at (and the id is not a snowflake)")
        refs = {ref.type: ref.id for ref in self.referenced_tweets}
        entities = self.entities or XEntities()
        metrics = self.public_metrics or XPostMetrics()
        return PostRecord(
            id=self.id,
            author_id=author_id,
            text=self.text,
            created_at=created_at,
            lang=self.lang or "und",
            conversation_id=self.conversation_id,
            in_reply_to_user_id=self.in_reply_to_user_id,
            replied_to_id=refs.get("replied_to"),
            retweeted_id=refs.get("retweeted"),
            quoted_id=refs.get("quoted"),
            hashtags=tuple(t.tag for t in entities.hashtags),
            cashtags=tuple(t.tag for t in entities.cashtags),
            mentions=tuple(m.username for m in entities.mentions),
            urls=tuple(u.target for u in entities.urls if u.target),
            entities=raw_entities or None,
            retweet_count=metrics.retweet_count,
            reply_count=metrics.reply_count,
            like_count=metrics.like_count,
            quote_count=metrics.quote_count,
            bookmark_count=metrics.bookmark_count,
            impression_count=metrics.impression_count,
            possibly_sensitive=self.possibly_sensitive,
            source=self.source,
        )


def _utc(moment: datetime) -> datetime:
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable UTC time
        raise ValueError(f"created_at {moment.isoformat()} is out of range") from None


def _user_created_at(user_id: int) -> datetime:
    return created_at_of(user_id) if user_id >= _SNOWFLAKE_FLOOR else _X_LAUNCH
