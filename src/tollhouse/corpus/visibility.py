"""The visibility rule: which posts may be served (active, by an active, unprotected author)."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    literal,
    or_,
    select,
    true,
)

from tollhouse.corpus.models import ContentState, posts, users

ACTIVE = ContentState.ACTIVE.value


def _author_hidden() -> ColumnElement[bool]:
    hidden_user = (
        select(literal(1))
        .where(users.c.id == posts.c.author_id)
        .where(or_(users.c.state != ACTIVE, users.c.protected == true()))
    )
    return ~exists(hidden_user)


def visible() -> ColumnElement[bool]:
    """Posts that may be served: active, by an author who is active and not protected.

    Written as a correlated NOT EXISTS on the users primary key (not NOT IN over all hidden
    users) so that a page of 100 posts costs 100 index probes whatever the size of `users`.
    """
    return and_(posts.c.state == ACTIVE, _author_hidden())
