"""Query text → syntax tree: a small lexer that builds the leaves, and a recursive-descent parser.

Grammar (AND binds tighter than OR, as on X: `a OR b c` is `a OR (b c)`):

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary+
    unary    := "-" unary | "(" or_expr ")" | leaf

A leaf is a keyword, an `"exact phrase"`, `@mention`, `#hashtag`, `$cashtag`, or `name:value`
(the value may be quoted). Every refusal is a `QuerySyntaxError` naming a 0-based position.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from tollhouse.corpus.query.ast import (
    FLAG_NAMES,
    Field,
    FieldName,
    Flag,
    FlagName,
    Node,
    Term,
    all_of,
    any_of,
    negate,
)
from tollhouse.corpus.query.errors import QuerySyntaxError
from tollhouse.corpus.text import tokenize

DEFAULT_MAX_LENGTH = 512
# Parentheses plus negations; bounds the recursion of the parser and of both compilers.
MAX_DEPTH = 40

_VALUE_OPERATORS: dict[str, FieldName] = {
    "from": "from",
    "to": "to",
    "lang": "lang",
    "conversation_id": "conversation_id",
    "url": "url",
}
_FLAG_PREFIXES = ("is", "has")
OPERATOR_NAMES = (*(f"{name}:" for name in _VALUE_OPERATORS), "is:", "has:", "@", "#", "$")

_OPERATOR = re.compile(r"([A-Za-z][A-Za-z_]*):(.*)", re.DOTALL)
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,50}")
_CASHTAG = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_LANG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_DIGITS = re.compile(r"[0-9]{1,19}")
# `\s` is exactly str.isspace() for str patterns.
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r'[^\s()"]+')
_INVALID = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["(", ")", "OR", "-", "leaf"]
    position: int
    leaf: Node | None = None


def parse(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> Node:
    """Parse a search query into its syntax tree (normal form, see `tollhouse.corpus.query.ast`).

    Raises `QuerySyntaxError` (and nothing else) for any text that is not a valid query,
    including text longer than `max_length` characters (position = `max_length`).
    """
    if len(text) > max_length:
        raise QuerySyntaxError(
            f"Query is longer than {max_length} characters at position {max_length}", max_length
        )
    invalid = _INVALID.search(text)
    if invalid:  # no database can store these, so no post can contain them
        raise QuerySyntaxError(f"Invalid character at position {invalid.start()}", invalid.start())
    tokens = _Lexer(text).tokens()
    if not tokens:
        raise QuerySyntaxError("Empty query at position 0: give at least one term", 0)
    return _Parser(tokens).parse()


def _is_hashtag_char(ch: str) -> bool:
    # Letters, digits, underscore and combining marks (vowel signs of Indic scripts, accents).
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, position: int, hint: str = "") -> QuerySyntaxError:
        text = f"{message} at position {position}" + (f" ({hint})" if hint else "")
        return QuerySyntaxError(text, position)

    def tokens(self) -> list[_Token]:
        text = self.text
        out: list[_Token] = []
        n = len(text)
        while self.pos < n:
            ch = text[self.pos]
            start = self.pos
            if space := _SPACE.match(text, start):
                self.pos = space.end()
            elif ch in "()":
                out.append(_Token("(" if ch == "(" else ")", start))
                self.pos += 1
            elif ch == '"':
                phrase = self.quoted()
                out.append(_Token("leaf", start, self.term(phrase, start, "Phrase")))
            elif ch == "-":
                nxt = text[start + 1] if start + 1 < n else ""
                if not nxt or nxt.isspace() or nxt == ")":
                    raise QuerySyntaxError(
                        f"Lone '-' at position {start}: "
                        "put a term, operator or group right after it",
                        start,
                    )
                out.append(_Token("-", start))
                self.pos += 1
            else:
                word = self.word()
                if word == "OR":
                    out.append(_Token("OR", start))
                else:
                    out.append(_Token("leaf", start, self.leaf(word, start)))
        return out

    def word(self) -> str:
        """The run of characters at `self.pos` up to a space, a parenthesis or a quote."""
        match = _WORD.match(self.text, self.pos)
        assert match is not None  # called on a character that starts a word
        self.pos = match.end()
        return match.group()

    def quoted(self) -> str:
        """The text between the quote at `self.pos` and the next quote; moves past both."""
        start = self.pos
        close = self.text.find('"', start + 1)
        if close < 0:
            raise self.error("Unbalanced quote", start)
        self.pos = close + 1
        return self.text[start + 1 : close]

    def term(self, text: str, start: int, what: str) -> Term:
        tokens = tokenize(text)
        if not tokens:
            raise self.error(f"{what} {text!r} has no searchable characters", start)
        return Term(tuple(tokens))

    def leaf(self, word: str, start: int) -> Node:
        sigil = word[0]
        rest = word[1:]
        if sigil == "@" and rest:
            return Field("mention", self.username(rest, start, "@"))
        if sigil == "#" and rest:
            value = rest.lower()
            if not all(_is_hashtag_char(c) for c in value):
                raise self.error(f"Invalid hashtag {word!r}", start, "letters, digits and _ only")
            return Field("hashtag", value)
        if sigil == "$" and rest and not rest[0].isdigit():
            if not _CASHTAG.fullmatch(rest):
                raise self.error(
                    f"Invalid cashtag {word!r}", start, "a letter, then letters or digits"
                )
            return Field("cashtag", rest.lower())
        match = _OPERATOR.fullmatch(word)
        if match:
            name, value = match.group(1).lower(), match.group(2)
            known = name in _VALUE_OPERATORS or name in _FLAG_PREFIXES
            if known or not value.startswith("//"):  # a pasted `https://…` is text
                return self.operator(name, value, start)
        return self.term(word, start, "Keyword")

    def operator(self, name: str, value: str, start: int) -> Node:
        if name not in _VALUE_OPERATORS and name not in _FLAG_PREFIXES:
            raise self.error(
                f"Unknown operator '{name}:'",
                start,
                f"operators are {', '.join(OPERATOR_NAMES)}",
            )
        if not value and self.pos < len(self.text) and self.text[self.pos] == '"':
            value = self.quoted()
        if not value.strip():
            raise self.error(f"Missing value after '{name}:'", start)
        if name in _FLAG_PREFIXES:
            flag = f"{name}:{value.lower()}"
            if flag not in FLAG_NAMES:
                allowed = ", ".join(f[len(name) + 1 :] for f in FLAG_NAMES if f.startswith(name))
                raise self.error(
                    f"Unknown value {value!r} for '{name}:'", start, f"use one of {allowed}"
                )
            return Flag(_flag_name(flag))
        field = _VALUE_OPERATORS[name]
        if field in ("from", "to"):
            return Field(field, self.username(value.removeprefix("@"), start, f"{name}:"))
        if field == "lang":
            if not _LANG.fullmatch(value):
                raise self.error(f"Invalid language code {value!r}", start, "like en or pt-BR")
            return Field("lang", value.lower())
        if field == "conversation_id":
            if not _DIGITS.fullmatch(value) or int(value) > _MAX_ID:
                raise self.error(f"Invalid conversation id {value!r}", start, "a numeric post id")
            return Field("conversation_id", str(int(value)))
        return Field("url", value.lower())

    def username(self, value: str, start: int, after: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise self.error(
                f"Invalid username {value!r} after '{after}'", start, "letters, digits and _ only"
            )
        return value.lower()


def _flag_name(flag: str) -> FlagName:
    for name in FLAG_NAMES:
        if name == flag:
            return name
    raise AssertionError(flag)  # pragma: no cover - checked by the caller


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def parse(self) -> Node:
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:  # only a ")" can stop or_expr early
            raise QuerySyntaxError(
                f"Unbalanced parenthesis at position {extra.position}", extra.position
            )
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.index += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR"):
                raise QuerySyntaxError(
                    f"Dangling OR at position {token.position}: put a term on both sides",
                    token.position,
                )
            parts.append(self.and_expr())
        return any_of(parts)

    def and_expr(self) -> Node:
        parts: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            parts.append(self.unary())
        if not parts:
            token = self.peek()
            assert token is not None  # an empty query is refused before parsing
            if token.kind == "OR":
                raise QuerySyntaxError(
                    f"Dangling OR at position {token.position}: put a term on both sides",
                    token.position,
                )
            raise QuerySyntaxError(
                f"Unbalanced parenthesis at position {token.position}", token.position
            )
        return all_of(parts)

    def unary(self) -> Node:
        token = self.tokens[self.index]
        if token.kind == "leaf":
            self.index += 1
            assert token.leaf is not None
            return token.leaf
        self.enter(token)
        try:
            self.index += 1
            if token.kind == "-":
                nxt = self.peek()
                if nxt is None or nxt.kind == "OR":
                    raise QuerySyntaxError(
                        f"Lone '-' at position {token.position}: "
                        "put a term, operator or group right after it",
                        token.position,
                    )
                return negate(self.unary())
            # token.kind == "("
            nxt = self.peek()
            if nxt is None:
                raise QuerySyntaxError(
                    f"Unbalanced parenthesis at position {token.position}", token.position
                )
            if nxt.kind == ")":
                raise QuerySyntaxError(f"Empty group at position {token.position}", token.position)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QuerySyntaxError(
                    f"Unbalanced parenthesis at position {token.position}", token.position
                )
            self.index += 1
            return node
        finally:
            self.depth -= 1

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"Query nested too deeply at position {token.position} "
                f"(at most {MAX_DEPTH} levels of parentheses and negations)",
                token.position,
            )
