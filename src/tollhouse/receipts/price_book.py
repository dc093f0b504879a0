"""The price book a day close names: the plans in effect, hashed in a canonical form."""

from __future__ import annotations

import json
from hashlib import sha256

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.receipts.day_close import PriceBook


def current_price_book(engine: Engine) -> PriceBook:
    """`plans` and the SHA-256 of every plan's definition (sorted keys, by name), read from the
    licensee directory's database (`engine`)."""
    from tollhouse.access.models import plans

    with engine.connect() as conn:
        rows = conn.execute(sa.select(plans.c.name, plans.c.definition).order_by(plans.c.name))
        book = {str(r.name): r.definition for r in rows}
    text = json.dumps(book, sort_keys=True, separators=(",", ":"), default=str)
    return PriceBook("plans", sha256(text.encode()).digest())
