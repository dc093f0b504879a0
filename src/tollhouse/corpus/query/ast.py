"""The search query's syntax tree: immutable, hashable, and in one normal form.

The normal form (which the parser always produces and `render` preserves): `And`/`Or` have at least
two children, an `And` never directly holds an `And` (nor an `Or` an `Or`), and a `Not` never
directly holds a `Not`. Build nodes with `all_of`, `any_of` and `negate` to stay in it.

Values are normalised once here so that compilers never re-normalise:
- `Term.tokens`: tokens as `tollhouse.corpus.text.tokenize` gives them (1 = keyword, more = phrase).
- `Field("from" | "to", v)`: a username lower-cased (an all-digit value also matches a user id).
- `Field("mention" | "hashtag" | "cashtag", v)`: the value without its sigil, lower-cased.
- `Field("lang", v)`: the language code, lower-cased ASCII.
- `Field("conversation_id", v)`: the decimal id.
- `Field("url", v)`: the substring to find in expanded URLs, lower-cased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

FieldName: TypeAlias = Literal[
    "from", "to", "lang", "conversation_id", "url", "mention", "hashtag", "cashtag"
]
FlagName: TypeAlias = Literal[
    "is:retweet", "is:reply", "is:quote", "is:verified", "has:links", "has:mentions", "has:hashtags"
]

FIELD_NAMES: tuple[FieldName, ...] = (
    "from",
    "to",
    "lang",
    "conversation_id",
    "url",
    "mention",
    "hashtag",
    "cashtag",
)
FLAG_NAMES: tuple[FlagName, ...] = (
    "is:retweet",
    "is:reply",
    "is:quote",
    "is:verified",
    "has:links",
    "has:mentions",
    "has:hashtags",
)


@dataclass(frozen=True, slots=True)
class Term:
    """A keyword (one token) or an exact phrase (several tokens, adjacent and in order)."""

    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """An operator with a value: `from:`, `to:`, `lang:`, `conversation_id:`, `url:`, @, #, $."""

    name: FieldName
    value: str


@dataclass(frozen=True, slots=True)
class Flag:
    """A yes/no property of a post: `is:retweet`, `has:links`, …; `name` includes the prefix."""

    name: FlagName


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node: TypeAlias = And | Or | Not | Term | Field | Flag


def user_id_of(value: str) -> int | None:
    """The user id a `from:`/`to:` value also names: an all-digit value is both a username and
    an id (X accepts either), as long as it fits a 64-bit id."""
    if value.isascii() and value.isdigit() and int(value) < 2**63:
        return int(value)
    return None


def all_of(children: Iterable[Node]) -> Node:
    """The conjunction of `children` in normal form (`And`s flattened, one child unwrapped)."""
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, And) else (child,))
    if not flat:
        raise ValueError("all_of needs at least one child")
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def any_of(children: Iterable[Node]) -> Node:
    """The disjunction of `children` in normal form (`Or`s flattened, one child unwrapped)."""
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, Or) else (child,))
    if not flat:
        raise ValueError("any_of needs at least one child")
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def negate(node: Node) -> Node:
    """`Not(node)`, cancelling a double negation (our semantics are two-valued, so it is exact)."""
    return node.child if isinstance(node, Not) else Not(node)


def render(node: Node) -> str:
    """Query text that parses back to `node` (for a node in normal form)."""
    if isinstance(node, Term):
        return node.tokens[0] if len(node.tokens) == 1 else '"' + " ".join(node.tokens) + '"'
    if isinstance(node, Flag):
        return node.name
    if isinstance(node, Field):
        return _render_field(node)
    if isinstance(node, Not):
        inner = render(node.child)
        return "-" + (f"({inner})" if isinstance(node.child, And | Or) else inner)
    if isinstance(node, And):
        return " ".join(f"({render(c)})" if isinstance(c, Or) else render(c) for c in node.children)
    return " OR ".join(render(c) for c in node.children)


_SIGILS = {"mention": "@", "hashtag": "#", "cashtag": "$"}


def _render_field(node: Field) -> str:
    if node.name in _SIGILS:
        return _SIGILS[node.name] + node.value
    value = node.value
    if any(c.isspace() or c in "()" for c in value) or value.startswith('"'):
        value = f'"{value}"'
    return f"{node.name}:{value}"
