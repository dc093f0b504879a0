"""X's rule that a query or stream rule names at least one positive standalone clause."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.corpus.test_query_parser import ASTS
from tollhouse.corpus.query import Node, QuerySyntaxError, parse, require_standalone
from tollhouse.corpus.query.analysis import NON_NEGATION_TERM, POSITIVE_CLAUSE
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher

BOTH = (NON_NEGATION_TERM, POSITIVE_CLAUSE)


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ("-zzzz", BOTH),
        ("-a", BOTH),
        ("-is:retweet", BOTH),
        ("-cat -dog", BOTH),
        ("-(cat dog)", BOTH),
        ("has:links", (POSITIVE_CLAUSE,)),
        ("has:links OR is:retweet", (POSITIVE_CLAUSE,)),
        ("lang:en -is:retweet", (POSITIVE_CLAUSE,)),
        ("apple OR -zzzz", (POSITIVE_CLAUSE,)),
        ("(apple OR is:reply) -zzzz", (POSITIVE_CLAUSE,)),
    ],
)
def test_queries_matching_nearly_everything_are_refused(
    query: str, details: tuple[str, ...]
) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        require_standalone(parse(query))
    assert raised.value.details == details
    assert raised.value.message == ", ".join(details)


@pytest.mark.parametrize(
    "query",
    [
        "cat",
        '"x data" has:mentions (has:hashtags OR has:links)',
        "cat -dog",
        "-dog cat",
        "#xapiv2",
        "@alice -is:retweet",
        "$aapl lang:en",
        "from:bob OR to:bob",
        "url:example.com -has:links",
        "conversation_id:12 -is:reply",
        "(happy OR happiness) lang:en -birthday -is:retweet",
        "(apple is:reply) OR (pear lang:en)",
    ],
)
def test_queries_with_a_positive_standalone_clause_are_accepted(query: str) -> None:
    require_standalone(parse(query))


# A post that carries no token, facet, author, reply or conversation a query can name; its flags
# and language are whatever hypothesis picks, because conjunction-required operators must not
# be able to reach it.
def _bare_posts() -> st.SearchStrategy[MatchablePost]:
    flags = st.booleans()
    return st.builds(
        MatchablePost,
        id=st.just(1),
        author_id=st.just(-1),
        author_username=st.none(),
        author_verified=flags,
        tokens=st.just(frozenset()),
        search_text=st.just(" "),
        lang=st.from_regex(r"[a-z]{2,3}(-[a-z0-9]{1,4})?", fullmatch=True),
        conversation_id=st.just(-1),
        in_reply_to_user_id=st.none(),
        in_reply_to_username=st.none(),
        is_retweet=flags,
        is_reply=flags,
        is_quote=flags,
        has_links=flags,
        has_mentions=flags,
        has_hashtags=flags,
        mentions=st.just(frozenset()),
        hashtags=st.just(frozenset()),
        cashtags=st.just(frozenset()),
        urls=st.just(()),
    )


@settings(max_examples=400, deadline=None)
@given(ASTS, _bare_posts())
def test_an_accepted_query_never_matches_a_post_it_names_nothing_of(
    node: Node, post: MatchablePost
) -> None:
    try:
        require_standalone(node)
    except QuerySyntaxError:
        return
    assert not compile_matcher(node)(post)
