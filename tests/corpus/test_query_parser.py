"""The query parser: every operator, precedence, every error with its position, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollhouse.corpus.query import (
    MAX_DEPTH,
    And,
    Field,
    Flag,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    all_of,
    any_of,
    negate,
    parse,
    render,
)
from tollhouse.corpus.query.ast import FLAG_NAMES
from tollhouse.corpus.text import tokenize
from tollhouse.errors import InvalidInput


def kw(word: str) -> Term:
    return Term((word,))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("apple", kw("apple")),
        ("Apple", kw("apple")),
        ("apple banana", And((kw("apple"), kw("banana")))),
        ('"exact phrase"', Term(("exact", "phrase"))),
        ('"  Exact,  PHRASE! "', Term(("exact", "phrase"))),
        ('"single"', kw("single")),
        ("hello-world", Term(("hello", "world"))),
        ("http://x.com/a", Term(("http", "x", "com", "a"))),
        ("12:30", Term(("12", "30"))),
        ("or", kw("or")),
        ("from:Jack", Field("from", "jack")),
        ("from:@jack", Field("from", "jack")),
        ("FROM:jack", Field("from", "jack")),
        ("from:12345", Field("from", "12345")),
        ("to:Jack_2", Field("to", "jack_2")),
        ("@Jack", Field("mention", "jack")),
        ("#Python3", Field("hashtag", "python3")),
        ("#Été", Field("hashtag", "été")),
        ("#हिन्दी", Field("hashtag", "हिन्दी")),
        ("$AAPL", Field("cashtag", "aapl")),
        ("$BRK.A", Field("cashtag", "brk.a")),
        ("$100", kw("100")),
        ("lang:EN", Field("lang", "en")),
        ("lang:pt-BR", Field("lang", "pt-br")),
        ("conversation_id:0042", Field("conversation_id", "42")),
        ("url:Example.COM/a", Field("url", "example.com/a")),
        ('url:"Example.com/a b"', Field("url", "example.com/a b")),
        ("url:https://x.com", Field("url", "https://x.com")),
        ("url://x.com", Field("url", "//x.com")),
        ("is:retweet", Flag("is:retweet")),
        ("is:reply", Flag("is:reply")),
        ("is:quote", Flag("is:quote")),
        ("IS:Verified", Flag("is:verified")),
        ("has:links", Flag("has:links")),
        ("has:mentions", Flag("has:mentions")),
        ("has:hashtags", Flag("has:hashtags")),
        ("-apple", Not(kw("apple"))),
        ("--apple", kw("apple")),
        ("-is:retweet", Not(Flag("is:retweet"))),
        ('-"a b"', Not(Term(("a", "b")))),
        ("a-b", Term(("a", "b"))),
        ("((a))", kw("a")),
    ],
)
def test_each_operator_parses_to_its_node(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # AND binds tighter than OR, as on X.
        ("a OR b c", Or((kw("a"), And((kw("b"), kw("c")))))),
        ("a b OR c", Or((And((kw("a"), kw("b"))), kw("c")))),
        ("(a OR b) c", And((Or((kw("a"), kw("b"))), kw("c")))),
        ("a OR b OR c", Or((kw("a"), kw("b"), kw("c")))),
        ("a (b c) d", And((kw("a"), kw("b"), kw("c"), kw("d")))),
        ("-a OR b", Or((Not(kw("a")), kw("b")))),
        ("-(a b)", Not(And((kw("a"), kw("b"))))),
        ("-(a OR b) c", And((Not(Or((kw("a"), kw("b")))), kw("c")))),
        (
            'from:x (#y OR "p q")',
            And((Field("from", "x"), Or((Field("hashtag", "y"), Term(("p", "q")))))),
        ),
        ("(a)(b)", And((kw("a"), kw("b")))),
        ('"a""b"', And((kw("a"), kw("b")))),
    ],
)
def test_precedence_and_grouping(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "fragment", "position"),
    [
        ("(a b", "Unbalanced parenthesis", 0),
        ("a (b (c)", "Unbalanced parenthesis", 2),
        ("a b)", "Unbalanced parenthesis", 3),
        (")", "Unbalanced parenthesis", 0),
        ("a -(", "Unbalanced parenthesis", 3),
        ('a "b c', "Unbalanced quote", 2),
        ('url:"abc', "Unbalanced quote", 4),
        ("-", "Lone '-'", 0),
        ("a - b", "Lone '-'", 2),
        ("a -", "Lone '-'", 2),
        ("(a -)", "Lone '-'", 3),
        ("-OR a", "Lone '-'", 0),
        ("OR a", "Dangling OR", 0),
        ("a OR", "Dangling OR", 2),
        ("a OR OR b", "Dangling OR", 2),
        ("(a OR) b", "Dangling OR", 3),
        ("a (OR b)", "Dangling OR", 3),
        ("()", "Empty group", 0),
        ("a ( )", "Empty group", 2),
        ("foo:bar", "Unknown operator 'foo:'", 0),
        ("a place:paris", "Unknown operator 'place:'", 2),
        ("is:nullcast", "Unknown value 'nullcast' for 'is:'", 0),
        ("has:media", "Unknown value 'media' for 'has:'", 0),
        ("from:", "Missing value after 'from:'", 0),
        ('a url:""', "Missing value after 'url:'", 2),
        ("from:a-b", "Invalid username", 0),
        ("@a.b", "Invalid username", 0),
        ("#a!", "Invalid hashtag", 0),
        ("$a-b", "Invalid cashtag", 0),
        ("lang:english", "Invalid language code", 0),
        ("conversation_id:12x", "Invalid conversation id", 0),
        ("conversation_id:99999999999999999999", "Invalid conversation id", 0),
        ("a !!!", "Keyword '!!!' has no searchable characters", 2),
        ("#", "Keyword '#' has no searchable characters", 0),
        ('a "?!"', "Phrase '?!' has no searchable characters", 2),
        ("", "Empty query", 0),
        ("   ", "Empty query", 0),
        ("a \x00", "Invalid character", 2),
    ],
)
def test_errors_name_their_position(query: str, fragment: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert fragment in caught.value.message
    assert caught.value.position == position
    assert f"at position {position}" in str(caught.value)


def test_unknown_operator_says_which_exist() -> None:
    with pytest.raises(QuerySyntaxError, match=r"from:, to:, lang:, conversation_id:, url:"):
        parse("foo:bar")
    with pytest.raises(QuerySyntaxError, match=r"retweet, reply, quote, verified"):
        parse("is:cool")
    with pytest.raises(QuerySyntaxError, match=r"links, mentions, hashtags"):
        parse("has:cool")


def test_query_length_is_bounded_at_max_length() -> None:
    assert parse("a" * 512) == kw("a" * 512)
    with pytest.raises(QuerySyntaxError, match="longer than 512 characters") as caught:
        parse("a" * 513)
    assert caught.value.position == 512
    with pytest.raises(QuerySyntaxError) as caught:
        parse("apple banana", max_length=10)
    assert caught.value.position == 10
    assert parse("a" * 1000, max_length=1024) == kw("a" * 1000)


def test_nesting_is_bounded() -> None:
    deep = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(deep) == kw("a")
    with pytest.raises(QuerySyntaxError, match="nested too deeply") as caught:
        parse("(" + deep + ")")
    assert caught.value.position == MAX_DEPTH
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        parse("-" * 200 + "a")


def test_query_syntax_error_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse("(")


# Arbitrary text: refused with QuerySyntaxError or parsed; never anything else.
PIECES = (
    *("a", "B", "x", "1", "é", "İ", "_", ".", "//", " ", "\t"),
    *("-", "(", ")", '"', "OR", ":", "@", "#", "$"),
    *("from", "to", "is", "has", "url", "lang", "reply", "links", "en"),
)
QUERYISH = st.lists(st.sampled_from(PIECES)).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), QUERYISH))
def test_any_text_parses_or_raises_query_syntax_error(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= max(len(text), 512)
        return
    assert parse(render(node)) == node


def _tokens() -> st.SearchStrategy[tuple[str, ...]]:
    return st.text(min_size=1).map(lambda t: tuple(tokenize(t))).filter(bool)


def _leaves() -> st.SearchStrategy[Node]:
    username = st.from_regex(r"[a-z0-9_]{1,15}", fullmatch=True)
    hashtag = (
        st.text(st.characters(categories=["Ll", "Lo", "Nd", "Mn"]), min_size=1)
        .map(str.lower)
        .filter(lambda v: parse("#" + v) == Field("hashtag", v))
    )
    url = st.one_of(
        st.sampled_from(["//x.com", "-x", "or", "a b", "(x)", " x", "x:y", "https://a.b/c?d=e"]),
        st.text(
            st.characters(blacklist_characters='"\x00', blacklist_categories=["Cs"]), min_size=1
        )
        .map(str.lower)
        .filter(lambda v: v.strip() != ""),
    )
    return st.one_of(
        _tokens().map(Term),
        st.builds(Field, st.sampled_from(["from", "to", "mention"]), username),
        st.builds(Field, st.just("hashtag"), hashtag),
        st.builds(
            Field, st.just("cashtag"), st.from_regex(r"[a-z][a-z0-9_.]{0,6}", fullmatch=True)
        ),
        st.builds(
            Field, st.just("lang"), st.from_regex(r"[a-z]{2,3}(-[a-z0-9]{1,4})?", fullmatch=True)
        ),
        st.builds(Field, st.just("conversation_id"), st.integers(0, 2**63 - 1).map(str)),
        st.builds(Field, st.just("url"), url),
        st.builds(Flag, st.sampled_from(FLAG_NAMES)),
    )


ASTS = st.recursive(
    _leaves(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(all_of),
        st.lists(inner, min_size=2, max_size=4).map(any_of),
        inner.map(negate),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(ASTS)
def test_render_then_parse_gives_the_same_tree(node: Node) -> None:
    assert parse(render(node), max_length=100_000) == node
