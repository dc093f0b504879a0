"""Query → a SQL condition over `tollhouse.corpus.models.posts` (SQLite and PostgreSQL).

Text terms use each database's index: SQLite's FTS5 table `posts_fts` (its rowid is the post id),
PostgreSQL's GIN-indexed `posts.tokens` array. Textual siblings are merged so that a query costs
one index lookup, not one per keyword, and an OR of index lookups becomes one IN over a UNION ALL.
Entities go through `post_facets`, author properties through `users`. Every value is a bound
parameter: nothing from the query is formatted into SQL.

Three-valued logic: every condition built here is TRUE or FALSE, never NULL, so that SQL's NOT is
the matcher's NOT (e.g. `to:x` on a post that replies to nobody is FALSE, and `-to:x` is TRUE).
The subqueries select only NOT NULL columns, so `NOT IN` is safe too.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Select,
    Text,
    and_,
    column,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.corpus.query.ast import And, Field, Flag, Node, Not, Or, Term, user_id_of
from tollhouse.corpus.text import search_text

_FACET_KINDS = {"mention": "m", "hashtag": "h", "cashtag": "c"}
# The FTS5 virtual table (created by migration 0001_corpus; not part of the metadata).
_posts_fts = table("posts_fts", column("rowid"))


def compile_where(node: Node, dialect_name: str) -> ColumnElement[bool]:
    """The condition that selects exactly the posts `node` matches (visibility not included).

    `dialect_name` is `engine.dialect.name`: "sqlite" or "postgresql".
    """
    if dialect_name == "sqlite":
        return _SQLite().compile(node)
    if dialect_name == "postgresql":
        return _Postgres().compile(node)
    raise ValueError(f"no query compiler for the {dialect_name!r} dialect")


class _Compiler:
    def compile(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Term):
            return self.all_terms([node])
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, Flag):
            return _flag(node)
        if isinstance(node, Not):
            return not_(self.compile(node.child))
        if isinstance(node, And):
            return self.conjunction(node.children)
        return self.disjunction(node.children)

    def all_terms(self, terms: list[Term]) -> ColumnElement[bool]:
        raise NotImplementedError

    def conjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        raise NotImplementedError

    def disjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        raise NotImplementedError

    def substring(self, haystack: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def lower_ascii(self, value: ColumnElement[str]) -> ColumnElement[str]:
        raise NotImplementedError

    def field(self, node: Field, rows: FromClause = posts) -> ColumnElement[bool]:
        """`node` as a condition on `rows` (the posts table or an alias of it)."""
        value = node.value
        if node.name == "from":
            return rows.c.author_id.in_(_user_ids(value))
        if node.name == "to":
            reply_to = rows.c.in_reply_to_user_id
            return and_(reply_to.is_not(None), reply_to.in_(_user_ids(value)))
        if node.name == "lang":
            return self.lower_ascii(rows.c.lang) == value
        if node.name == "conversation_id":
            return rows.c.conversation_id == int(value)
        return rows.c.id.in_(self.facet_posts(node))

    def facet_posts(self, node: Field) -> Select[tuple[int]]:
        """The ids of the posts carrying the facet `node` names (@, #, $ or url:)."""
        if node.name == "url":
            condition = self.substring(post_facets.c.value, node.value)
            return _facet_posts("u", condition)
        return _facet_posts(_FACET_KINDS[node.name], post_facets.c.value == node.value)

    def id_set(self, node: Node) -> Select[tuple[int]] | None:
        """The ids an author, reply or facet condition selects, as one index-driven SELECT
        (None for other nodes).

        Neither database turns `x IN (…) OR y IN (…)` into one ordered id list (PostgreSQL
        filters a full scan through both, SQLite sorts every hit), but both walk one
        `id IN (… UNION ALL …)` newest first and stop at the page's LIMIT."""
        if isinstance(node, Field):
            if node.name in ("from", "to", "conversation_id"):
                other = posts.alias()
                return select(other.c.id).where(self.field(node, other))
            if node.name != "lang":
                return self.facet_posts(node)
        return None


# SQLite refuses a compound SELECT of more than 500 parts; long queries (a plan may allow more
# than 512 characters) are split into several INs.
_UNION_PARTS = 250


def _in_any(sets: list[Select[tuple[int]]]) -> ColumnElement[bool]:
    """Posts whose id is in any of `sets`: one IN over a UNION ALL (or a few, if very many)."""
    chunks = [sets[i : i + _UNION_PARTS] for i in range(0, len(sets), _UNION_PARTS)]
    return or_(*(posts.c.id.in_(union_all(*chunk)) for chunk in chunks))


def _user_ids(value: str) -> Select[tuple[int]] | CompoundSelect[tuple[int]]:
    """The ids a `from:`/`to:` value names: its user's, and itself if it is all digits.

    One IN over both (not `author_id = n OR author_id IN (…)`, which PostgreSQL answers with a
    full scan)."""
    named = select(users.c.id).where(users.c.username_lower == value)
    uid = user_id_of(value)
    return named if uid is None else union_all(named, select(literal(uid, BigInteger)))


def _facet_posts(kind: str, condition: ColumnElement[bool]) -> Select[tuple[int]]:
    return select(post_facets.c.post_id).where(post_facets.c.kind == kind, condition)


def _flag(node: Flag) -> ColumnElement[bool]:
    name = node.name
    if name == "is:retweet":
        return posts.c.retweeted_id.is_not(None)
    if name == "is:reply":
        return posts.c.replied_to_id.is_not(None)
    if name == "is:quote":
        return posts.c.quoted_id.is_not(None)
    if name == "is:verified":
        # A probe of the author's primary key per candidate post, not a list of every verified
        # user built per query (there may be millions).
        author = select(users.c.id).where(users.c.id == posts.c.author_id, users.c.verified)
        return exists(author.correlate(posts))
    column_name = {
        "has:links": "has_links",
        "has:mentions": "has_mentions",
        "has:hashtags": "has_hashtags",
    }[name]
    return posts.c[column_name].is_(true())


class _SQLite(_Compiler):
    """Text conditions become one FTS5 MATCH per group of textual siblings."""

    def all_terms(self, terms: list[Term]) -> ColumnElement[bool]:
        return _fts_match(" AND ".join(_fts_phrase(t) for t in terms))

    def conjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        positive = [f for c in children if (f := _fts(c)) is not None]
        if not positive:
            return and_(*(self.compile(c) for c in children))
        negative = [f for c in children if isinstance(c, Not) and (f := _fts(c.child)) is not None]
        expression = " AND ".join(f"({f})" for f in positive)
        for f in negative:
            expression = f"({expression}) NOT ({f})"
        rest = [
            self.compile(c)
            for c in children
            if _fts(c) is None and not (isinstance(c, Not) and _fts(c.child) is not None)
        ]
        return and_(_fts_match(expression), *rest)

    def disjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        textual = [f for c in children if (f := _fts(c)) is not None]
        sets = [s for c in children if (s := self.id_set(c)) is not None]
        if textual:
            sets.insert(0, _fts_ids(" OR ".join(f"({f})" for f in textual)))
        rest = [self.compile(c) for c in children if _fts(c) is None and self.id_set(c) is None]
        return or_(_in_any(sets), *rest) if sets else or_(*rest)

    def substring(self, haystack: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        return func.instr(haystack, needle) > 0

    def lower_ascii(self, value: ColumnElement[str]) -> ColumnElement[str]:
        return func.lower(value)  # SQLite's lower() folds ASCII letters only


def _fts_phrase(term: Term) -> str:
    # Tokens are letters and digits only, so a double-quoted FTS5 string needs no escaping.
    return '"' + " ".join(term.tokens) + '"'


def _fts(node: Node) -> str | None:
    """The FTS5 query equivalent to `node`, or None if it is not purely textual (FTS5 cannot
    express a negation on its own: `NOT` is binary there)."""
    if isinstance(node, Term):
        return _fts_phrase(node)
    if isinstance(node, Or):
        parts = [_fts(c) for c in node.children]
        if any(p is None for p in parts):
            return None
        return " OR ".join(f"({p})" for p in parts)
    if isinstance(node, And):
        positive: list[str] = []
        negative: list[str] = []
        for child in node.children:
            target = negative if isinstance(child, Not) else positive
            part = _fts(child.child if isinstance(child, Not) else child)
            if part is None:
                return None
            target.append(part)
        if not positive:
            return None
        expression = " AND ".join(f"({p})" for p in positive)
        for n in negative:
            expression = f"({expression}) NOT ({n})"
        return expression
    return None


def _fts_ids(expression: str) -> Select[tuple[int]]:
    return select(_posts_fts.c.rowid).where(
        literal_column("posts_fts").op("MATCH")(literal(expression, Text))
    )


def _fts_match(expression: str) -> ColumnElement[bool]:
    return posts.c.id.in_(_fts_ids(expression))


class _Postgres(_Compiler):
    """Text conditions become array containment on the GIN-indexed `posts.tokens`."""

    def all_terms(self, terms: list[Term], rows: FromClause = posts) -> ColumnElement[bool]:
        tokens = sorted({t for term in terms for t in term.tokens})
        condition = _tokens_op("@>", tokens, rows)
        phrases = [
            rows.c.search_text.like("%" + search_text(list(term.tokens)) + "%")
            for term in terms
            if len(term.tokens) > 1
        ]
        return and_(condition, *phrases) if phrases else condition

    def conjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        terms = [c for c in children if isinstance(c, Term)]
        rest = [self.compile(c) for c in children if not isinstance(c, Term)]
        if terms:
            rest.insert(0, self.all_terms(terms))
        return and_(*rest)

    def disjunction(self, children: tuple[Node, ...]) -> ColumnElement[bool]:
        arms: list[ColumnElement[bool]] = []
        sets = [s for c in children if (s := self.id_set(c)) is not None]
        if len(sets) > 1:
            arms.append(_in_any(sets))  # see id_set for why
            children = tuple(c for c in children if self.id_set(c) is None)
        words = sorted(
            {c.tokens[0] for c in children if isinstance(c, Term) and len(c.tokens) == 1}
        )
        if words:
            arms.append(_tokens_op("&&", words))
        arms.extend(
            self.compile(c) for c in children if not (isinstance(c, Term) and len(c.tokens) == 1)
        )
        return or_(*arms)

    def substring(self, haystack: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        return func.strpos(haystack, needle) > 0

    def lower_ascii(self, value: ColumnElement[str]) -> ColumnElement[str]:
        # Under the "C" collation lower() folds ASCII only, whatever the database's locale.
        return func.lower(value.collate("C"))


def _tokens_op(operator: str, tokens: list[str], rows: FromClause = posts) -> ColumnElement[bool]:
    """`tokens <operator> ARRAY[…]`, FALSE (not NULL) where a row has no token array."""
    array = literal(tokens, ARRAY(Text))
    return and_(rows.c.tokens.is_not(None), rows.c.tokens.bool_op(operator)(array))
