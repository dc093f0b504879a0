"""Display names of organisations, apps and end users: what an operator may call them."""

from __future__ import annotations

import re

from tollhouse.errors import InvalidInput

_NAME = re.compile(r"^[\w][\w .,&'()@+-]{0,99}$", re.UNICODE)


def check_name(kind: str, name: str) -> str:
    """A display name: 1-100 characters, starting with a letter or digit, no control chars."""
    cleaned = name.strip()
    if not _NAME.match(cleaned):
        raise InvalidInput(
            f"{kind} name {name!r} must be 1-100 characters: letters, digits, spaces and . , & ' "
            "( ) @ + - _, starting with a letter or digit"
        )
    return cleaned
