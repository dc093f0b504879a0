"""The compiled post renderer gives exactly what the one-adder-per-field reference gives, for
every field set and for rows with and without each optional value (key order included)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tests.api.test_render import POST
from tollhouse.api.params import TWEET_FIELDS
from tollhouse.api.render import post_renderer, reference_post_renderer

OPTIONAL = {  # positions in POST of values a row may lack, and what "lacking" looks like
    6: None,  # in_reply_to_user_id
    7: None,  # replied_to_id
    8: None,  # retweeted_id
    9: None,  # quoted_id
    10: None,  # entities
    18: "",  # source
    19: '{"country_codes":["DE"]}',  # withheld present (POST has JSON null)
}


@given(
    fields=st.frozensets(st.sampled_from(TWEET_FIELDS)),
    blanks=st.frozensets(st.sampled_from(sorted(OPTIONAL))),
    sensitive=st.sampled_from([0, 1, True, False]),
)
def test_compiled_renderer_matches_reference(
    fields: frozenset[str], blanks: frozenset[int], sensitive: Any
) -> None:
    row = list(POST)
    for position in blanks:
        row[position] = OPTIONAL[position]
    row[17] = sensitive
    compiled = post_renderer(fields)(tuple(row))
    reference = reference_post_renderer(fields)(tuple(row))
    # Stored JSON is passed through as orjson.Fragment, which compares by identity: compare the
    # bytes clients get (key order included).
    assert orjson.dumps(compiled) == orjson.dumps(reference)
