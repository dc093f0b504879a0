"""Rendering corpus rows as X API v2 objects, straight from row tuples to dicts.

The per-field work is chosen once per distinct field set (`post_renderer`, `user_renderer` are
cached), so rendering a row is a dict literal plus one call per requested field. Field names X
defines but Tollhouse has no data for (context_annotations, geo, attachments, …) are accepted and
simply absent, as X omits empty fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Connection

from tollhouse.api.problems import resource_error
from tollhouse.corpus import lookups, projections
from tollhouse.corpus.projections import Record
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import entities_of

# Positions in projections.POST_COLUMNS / projections.USER_COLUMNS.
(
    P_ID,
    P_AUTHOR,
    P_TEXT,
    P_CREATED,
    P_LANG,
    P_CONVERSATION,
    P_REPLY_USER,
    P_REPLIED_TO,
    P_RETWEETED,
    P_QUOTED,
    P_ENTITIES,
    P_RETWEETS,
    P_REPLIES,
    P_LIKES,
    P_QUOTES,
    P_BOOKMARKS,
    P_IMPRESSIONS,
    P_SENSITIVE,
    P_SOURCE,
    P_WITHHELD,
) = range(projections.N_POST_COLUMNS)
(
    U_ID,
    U_USERNAME,
    U_NAME,
    U_DESCRIPTION,
    U_LOCATION,
    U_URL,
    U_IMAGE,
    U_CREATED,
    U_VERIFIED,
    U_PROTECTED,
    U_FOLLOWERS,
    U_FOLLOWING,
    U_TWEETS,
    U_LISTED,
    U_WITHHELD,
    U_STATE,
) = range(projections.N_USER_COLUMNS)

Adder = Callable[[Record, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Rendering:
    """What to put in each object and in `includes`."""

    tweet_fields: frozenset[str]
    user_fields: frozenset[str]
    expansions: frozenset[str]


def format_time(moment: datetime) -> str:
    """X's timestamp format: `2024-01-01T00:00:00.000Z`."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json(raw: str | None) -> orjson.Fragment | None:
    """Stored JSON text passed through to the response without parsing it."""
    if raw is None or raw == "null":
        return None
    return orjson.Fragment(raw)


def _referenced(row: Record) -> list[dict[str, str]]:
    refs = []
    if row[P_RETWEETED] is not None:
        refs.append({"type": "retweeted", "id": str(row[P_RETWEETED])})
    if row[P_QUOTED] is not None:
        refs.append({"type": "quoted", "id": str(row[P_QUOTED])})
    if row[P_REPLIED_TO] is not None:
        refs.append({"type": "replied_to", "id": str(row[P_REPLIED_TO])})
    return refs


def _add_author(row: Record, out: dict[str, Any]) -> None:
    out["author_id"] = str(row[P_AUTHOR])


def _add_created(row: Record, out: dict[str, Any]) -> None:
    out["created_at"] = row[P_CREATED]


def _add_conversation(row: Record, out: dict[str, Any]) -> None:
    out["conversation_id"] = str(row[P_CONVERSATION])


def _add_reply_user(row: Record, out: dict[str, Any]) -> None:
    if row[P_REPLY_USER] is not None:
        out["in_reply_to_user_id"] = str(row[P_REPLY_USER])


def _add_referenced(row: Record, out: dict[str, Any]) -> None:
    refs = _referenced(row)
    if refs:
        out["referenced_tweets"] = refs


def _add_entities(row: Record, out: dict[str, Any]) -> None:
    entities = _json(row[P_ENTITIES])
    if entities is not None:
        out["entities"] = entities


def _add_lang(row: Record, out: dict[str, Any]) -> None:
    out["lang"] = row[P_LANG]


def _add_metrics(row: Record, out: dict[str, Any]) -> None:
    out["public_metrics"] = {
        "retweet_count": row[P_RETWEETS],
        "reply_count": row[P_REPLIES],
        "like_count": row[P_LIKES],
        "quote_count": row[P_QUOTES],
        "bookmark_count": row[P_BOOKMARKS],
        "impression_count": row[P_IMPRESSIONS],
    }


def _add_sensitive(row: Record, out: dict[str, Any]) -> None:
    out["possibly_sensitive"] = bool(row[P_SENSITIVE])


def _add_source(row: Record, out: dict[str, Any]) -> None:
    if row[P_SOURCE]:
        out["source"] = row[P_SOURCE]


def _add_withheld(row: Record, out: dict[str, Any]) -> None:
    withheld = _json(row[P_WITHHELD])
    if withheld is not None:
        out["withheld"] = withheld


def _add_reply_settings(_row: Record, out: dict[str, Any]) -> None:
    out["reply_settings"] = "everyone"


def _add_edit_controls(row: Record, out: dict[str, Any]) -> None:
    # Tollhouse posts are never edited; X's shape says so with zero edits left.
    created = datetime.fromisoformat(row[P_CREATED].replace("Z", "+00:00"))
    out["edit_controls"] = {
        "edits_remaining": 0,
        "is_edit_eligible": False,
        "editable_until": format_time(created + timedelta(hours=1)),
    }


POST_ADDERS: dict[str, Adder] = {
    "author_id": _add_author,
    "created_at": _add_created,
    "conversation_id": _add_conversation,
    "in_reply_to_user_id": _add_reply_user,
    "referenced_tweets": _add_referenced,
    "entities": _add_entities,
    "lang": _add_lang,
    "public_metrics": _add_metrics,
    "possibly_sensitive": _add_sensitive,
    "source": _add_source,
    "withheld": _add_withheld,
    "reply_settings": _add_reply_settings,
    "edit_controls": _add_edit_controls,
}


# Fields every row has, as Python expressions over `row`: post_renderer puts them straight into
# the output (no call per field per row). The others are added by their adder, in
# POST_ADDERS order, because they are present only when the row has a value. Each expression
# gives exactly what its adder gives (tests/api/test_render_compiled.py).
_POST_EXPRESSIONS: dict[str, str] = {
    "author_id": "str(row[P_AUTHOR])",
    "created_at": "row[P_CREATED]",
    "conversation_id": "str(row[P_CONVERSATION])",
    "lang": "row[P_LANG]",
    "public_metrics": (
        "{'retweet_count': row[P_RETWEETS], 'reply_count': row[P_REPLIES],"
        " 'like_count': row[P_LIKES], 'quote_count': row[P_QUOTES],"
        " 'bookmark_count': row[P_BOOKMARKS], 'impression_count': row[P_IMPRESSIONS]}"
    ),
    "possibly_sensitive": "bool(row[P_SENSITIVE])",
    "reply_settings": "'everyone'",
}


@lru_cache(maxsize=512)
def post_renderer(fields: frozenset[str]) -> Callable[[Record], dict[str, Any]]:
    """A function rendering a post row with X's default fields plus `fields`.

    Compiled once per field set into one function: a dict literal of the default fields and
    every always-present field up to the first optional one, then one statement per remaining
    field, in X's order. Rendering is most of a lookup's Python time, and calling one function
    per field per row cost a third of it."""
    literal = [
        "'id': post_id",
        "'text': row[P_TEXT]",
        "'edit_history_tweet_ids': [post_id]",
    ]
    statements: list[str] = []
    for name in POST_ADDERS:
        if name not in fields:
            continue
        expression = _POST_EXPRESSIONS.get(name)
        if expression is None:
            statements.append(f"    POST_ADDERS[{name!r}](row, out)")
        elif statements:
            statements.append(f"    out[{name!r}] = {expression}")
        else:
            literal.append(f"{name!r}: {expression}")
    source = "\n".join(
        [
            "def render(row):",
            "    post_id = str(row[P_ID])",
            "    out = {" + ", ".join(literal) + "}",
            *statements,
            "    return out",
        ]
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<post_renderer {sorted(fields)}>", "exec"), globals(), namespace)
    render: Callable[[Record], dict[str, Any]] = namespace["render"]
    return render


def _u_created(row: Record, out: dict[str, Any]) -> None:
    out["created_at"] = row[U_CREATED]


def _u_description(row: Record, out: dict[str, Any]) -> None:
    out["description"] = row[U_DESCRIPTION] or ""


def _u_location(row: Record, out: dict[str, Any]) -> None:
    if row[U_LOCATION]:
        out["location"] = row[U_LOCATION]


def _u_image(row: Record, out: dict[str, Any]) -> None:
    if row[U_IMAGE]:
        out["profile_image_url"] = row[U_IMAGE]


def _u_protected(row: Record, out: dict[str, Any]) -> None:
    out["protected"] = bool(row[U_PROTECTED])


def _u_metrics(row: Record, out: dict[str, Any]) -> None:
    out["public_metrics"] = {
        "followers_count": row[U_FOLLOWERS],
        "following_count": row[U_FOLLOWING],
        "tweet_count": row[U_TWEETS],
        "listed_count": row[U_LISTED],
    }


def _u_url(row: Record, out: dict[str, Any]) -> None:
    out["url"] = row[U_URL] or ""


def _u_verified(row: Record, out: dict[str, Any]) -> None:
    out["verified"] = bool(row[U_VERIFIED])


def _u_verified_type(row: Record, out: dict[str, Any]) -> None:
    out["verified_type"] = "blue" if row[U_VERIFIED] else "none"


def _u_withheld(row: Record, out: dict[str, Any]) -> None:
    withheld = _json(row[U_WITHHELD])
    if withheld is not None:
        out["withheld"] = withheld


_USER_ADDERS: dict[str, Adder] = {
    "created_at": _u_created,
    "description": _u_description,
    "location": _u_location,
    "profile_image_url": _u_image,
    "protected": _u_protected,
    "public_metrics": _u_metrics,
    "url": _u_url,
    "verified": _u_verified,
    "verified_type": _u_verified_type,
    "withheld": _u_withheld,
}


@lru_cache(maxsize=512)
def user_renderer(fields: frozenset[str]) -> Callable[[Record], dict[str, Any]]:
    """A function rendering a user row with X's default fields plus `fields`."""
    adders = tuple(adder for name, adder in _USER_ADDERS.items() if name in fields)

    def render(row: Record) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(row[U_ID]),
            "name": row[U_NAME],
            "username": row[U_USERNAME],
        }
        for add in adders:
            add(row, out)
        return out

    return render


def _ordered_unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _mentioned(rows: Sequence[Record]) -> list[str]:
    names: list[str] = []
    for row in rows:
        raw = row[P_ENTITIES]
        entities = orjson.loads(raw) if raw else None
        if entities:
            names.extend(m["username"] for m in entities.get("mentions", ()) if "username" in m)
    return names


def post_includes(
    conn: Connection, rows: Sequence[Record], how: Rendering
) -> tuple[dict[str, Any], list[dict[str, Any]], list[int]]:
    """`includes` for a page of post rows: (includes, errors, ids of included posts).

    Runs at most three extra statements (referenced posts, users by id, users by username).
    """
    expansions = how.expansions
    includes: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    included_posts: list[Record] = []
    if "referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions:
        ref_ids = _ordered_unique(
            ref for row in rows for ref in (row[P_RETWEETED], row[P_QUOTED], row[P_REPLIED_TO])
        )
        found = lookups.visible_posts_by_id(conn, ref_ids)
        included_posts = [found[i] for i in ref_ids if i in found]
        for ref in ref_ids:
            if ref not in found:
                errors.append(
                    resource_error(
                        "resource-not-found",
                        "tweet",
                        "referenced_tweets.id",
                        str(ref),
                        f"Could not find tweet with referenced_tweets.id: [{ref}].",
                    )
                )
        if "referenced_tweets.id" in expansions and included_posts:
            render = post_renderer(how.tweet_fields)
            includes["tweets"] = [render(row) for row in included_posts]
    user_ids: list[int] = []
    if "author_id" in expansions:
        user_ids.extend(row[P_AUTHOR] for row in rows)
    if "in_reply_to_user_id" in expansions:
        user_ids.extend(row[P_REPLY_USER] for row in rows)
    if "referenced_tweets.id.author_id" in expansions:
        user_ids.extend(row[P_AUTHOR] for row in included_posts)
    user_ids = _ordered_unique(user_ids)
    by_id = lookups.users_by_id(conn, user_ids)
    user_rows = [by_id[i] for i in user_ids if i in by_id]
    if "entities.mentions.username" in expansions:
        seen = {row[U_ID] for row in user_rows}
        by_name = lookups.users_by_username(conn, _ordered_unique(_mentioned(rows)))
        for row in by_name.values():
            if row[U_ID] not in seen:
                seen.add(row[U_ID])
                user_rows.append(row)
    if user_rows:
        render_user = user_renderer(how.user_fields)
        includes["users"] = [render_user(row) for row in user_rows]
    return includes, errors, [row[P_ID] for row in included_posts]


def envelope(
    data: Any,
    includes: dict[str, Any] | None = None,
    errors: Sequence[dict[str, Any]] = (),
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """X's response envelope, leaving out empty parts as X does."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    if includes:
        body["includes"] = includes
    if errors:
        body["errors"] = list(errors)
    if meta is not None:
        body["meta"] = meta
    return body


def now_utc() -> datetime:
    return datetime.now(UTC)


def post_record_row(post: PostRecord) -> Record:
    """A post record (a live-ingest event's post) as a row shaped like
    `projections.POST_COLUMNS` (X-formatted time, JSON as text), for the shared renderers."""
    return cast(
        Record,
        (
            post.id,
            post.author_id,
            post.text,
            format_time(post.created_at),
            post.lang or "und",
            post.conversation,
            post.in_reply_to_user_id,
            post.replied_to_id,
            post.retweeted_id,
            post.quoted_id,
            _json_text(entities_of(post)),
            post.retweet_count,
            post.reply_count,
            post.like_count,
            post.quote_count,
            post.bookmark_count,
            post.impression_count,
            post.possibly_sensitive,
            post.source,
            None,
        ),
    )


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def user_record_row(user: UserRecord) -> Record:
    """A user record as a row shaped like `projections.USER_COLUMNS`."""
    return cast(
        Record,
        (
            user.id,
            user.username,
            user.name,
            user.description,
            user.location,
            user.url,
            user.profile_image_url,
            format_time(user.created_at),
            user.verified,
            user.protected,
            user.followers_count,
            user.following_count,
            user.tweet_count,
            user.listed_count,
            None,
            "active",
        ),
    )
