"""Parameter parsing: X's names accepted, everything else refused with X's wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api import page_tokens, pagination, render, x_fields
from tollhouse.api import params as p
from tollhouse.api.problems import ApiProblem
from tollhouse.corpus.ids import highest_id_before, lowest_id_at
from tollhouse.endpoints import endpoint

TWARC_TWEET_FIELDS = (
    "attachments,author_id,context_annotations,conversation_id,created_at,entities,geo,id,"
    "in_reply_to_user_id,lang,public_metrics,text,possibly_sensitive,referenced_tweets,"
    "reply_settings,source,withheld,edit_controls,edit_history_tweet_ids"
)
TWARC_EXPANSIONS = (
    "author_id,in_reply_to_user_id,referenced_tweets.id,referenced_tweets.id.author_id,"
    "entities.mentions.username,attachments.poll_ids,attachments.media_keys,geo.place_id,"
    "edit_history_tweet_ids"
)


def message(exc: pytest.ExceptionInfo[ApiProblem]) -> str:
    assert exc.value.status == 400
    assert exc.value.body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    text: str = exc.value.body["errors"][0]["message"]
    return text


def test_twarc_field_lists_are_accepted() -> None:
    how = p.rendering(
        {
            "tweet.fields": TWARC_TWEET_FIELDS,
            "expansions": TWARC_EXPANSIONS,
            "user.fields": ",".join(x_fields.USER_FIELDS),
            "media.fields": ",".join(x_fields.MEDIA_FIELDS),
            "poll.fields": ",".join(x_fields.POLL_FIELDS),
            "place.fields": ",".join(x_fields.PLACE_FIELDS),
        },
        x_fields.TWEET_EXPANSIONS,
    )
    assert "public_metrics" in how.tweet_fields
    assert "entities.mentions.username" in how.expansions


def test_unknown_field_is_named() -> None:
    with pytest.raises(ApiProblem) as exc:
        p.field_list({"tweet.fields": "id,colour"}, "tweet.fields")
    assert message(exc).startswith(
        "The `tweet.fields` query parameter value [colour] is not one of ["
    )
    assert exc.value.body["errors"][0]["parameters"] == {"tweet.fields": ["id,colour"]}


def test_unknown_expansion_and_user_expansion_on_posts() -> None:
    with pytest.raises(ApiProblem) as exc:
        p.expansion_list({"expansions": "pinned_tweet_id"}, x_fields.TWEET_EXPANSIONS)
    assert "[pinned_tweet_id] is not one of" in message(exc)


def test_unknown_parameter() -> None:
    with pytest.raises(ApiProblem) as exc:
        p.check_known({"ids": "1", "colour": "red"}, endpoint("GET", "/2/tweets").params)
    assert message(exc) == (
        "The query parameter [colour] is not one of [ids,expansions,tweet.fields,media.fields,"
        "poll.fields,place.fields,user.fields]"
    )


def test_path_parameter_may_not_be_in_query() -> None:
    with pytest.raises(ApiProblem):
        p.check_known({"id": "1"}, endpoint("GET", "/2/tweets/:id").params, path_params=1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5", "The `max_results` query parameter value [5] is not between 10 and 100"),
        ("101", "The `max_results` query parameter value [101] is not between 10 and 100"),
        ("ten", "The `max_results` query parameter value [ten] is not a valid integer"),
    ],
)
def test_max_results_bounds(raw: str, expected: str) -> None:
    with pytest.raises(ApiProblem) as exc:
        p.max_results({"max_results": raw}, 10, 100, 10)
    assert message(exc) == expected


def test_max_results_default_and_edges() -> None:
    assert p.max_results({}, 10, 100, 10) == 10
    assert p.max_results({"max_results": "100"}, 10, 100, 10) == 100
    assert p.max_results({"max_results": "5"}, 5, 100, 10) == 5


def test_ids() -> None:
    assert p.id_list({"ids": "3,1,3,2"}) == [3, 1, 2]
    with pytest.raises(ApiProblem) as exc:
        p.id_list({"ids": "1,x"})
    assert message(exc) == "The `ids` query parameter value [x] does not match ^[0-9]{1,19}$"
    with pytest.raises(ApiProblem) as exc:
        p.id_list({"ids": ",".join(str(i) for i in range(101))})
    assert "[101] is not between 1 and 100" in message(exc)
    with pytest.raises(ApiProblem):
        p.id_list({"ids": "9223372036854775808"})  # past int64
    with pytest.raises(ApiProblem):
        p.id_list({})


def test_usernames_deduplicate_case_insensitively() -> None:
    assert p.username_list({"usernames": "Alice,alice,bob"}) == ["Alice", "bob"]
    with pytest.raises(ApiProblem):
        p.username_list({"usernames": "no-dashes"})


@given(st.datetimes(min_value=datetime(2011, 1, 1), max_value=datetime(2100, 1, 1)))
def test_times_round_trip_in_x_format(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    text = render.format_time(moment)
    assert text.endswith("Z") and len(text) == 24
    assert p.parse_time({"start_time": text}, "start_time") == moment


@pytest.mark.parametrize(
    "raw",
    ["2024-01-01", "2024-01-01T00:00:00", "yesterday", "2024-13-01T00:00:00Z", "1704067200"],
)
def test_bad_times(raw: str) -> None:
    with pytest.raises(ApiProblem) as exc:
        p.parse_time({"start_time": raw}, "start_time")
    assert message(exc).startswith(f"Invalid 'start_time':'{raw}'.")


def test_offsets_and_fractions() -> None:
    got = p.parse_time({"end_time": "2024-01-01T02:00:00.123456789+02:00"}, "end_time")
    assert got == datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)


def test_id_window_from_times_and_ids() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    start, end = datetime(2024, 5, 30, tzinfo=UTC), datetime(2024, 5, 31, tzinfo=UTC)
    window = p.id_window(
        {"start_time": "2024-05-30T00:00:00Z", "end_time": "2024-05-31T00:00:00Z"},
        earliest=now - timedelta(days=7),
        default_start=now - timedelta(days=7),
        now=now,
    )
    assert window.lowest == lowest_id_at(start)
    assert window.highest == highest_id_before(end) + 1
    narrowed = p.id_window(
        {"since_id": str(window.lowest + 10), "until_id": str(window.lowest + 20)},
        earliest=None,
        default_start=None,
        now=now,
    )
    assert (narrowed.lowest, narrowed.highest) == (window.lowest + 11, window.lowest + 20)


def test_recent_window_refuses_old_start_and_future_end() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    week_ago = now - timedelta(days=7)
    with pytest.raises(ApiProblem) as exc:
        p.id_window(
            {"start_time": "2024-05-01T00:00:00Z"}, earliest=week_ago, default_start=None, now=now
        )
    assert "'start_time' must be on or after 2024-05-25T00:00:00.000Z" in message(exc)
    with pytest.raises(ApiProblem) as exc:
        p.id_window(
            {"end_time": "2024-06-01T00:00:00Z"}, earliest=week_ago, default_start=None, now=now
        )
    assert "minimum of 10 seconds prior to the request time" in message(exc)
    with pytest.raises(ApiProblem):
        p.id_window(
            {"start_time": "2024-05-31T00:00:00Z", "end_time": "2024-05-30T00:00:00Z"},
            earliest=week_ago,
            default_start=None,
            now=now,
        )


BINDING = pagination.Binding.of(b"key", "/2/tweets/search/recent", "q")


def test_bad_page_token() -> None:
    with pytest.raises(ApiProblem) as exc:
        page_tokens.page_token(BINDING, {"next_token": "garbage"}, "next_token")
    assert "[garbage] is not a valid pagination token" in message(exc)
    assert page_tokens.page_token(BINDING, {}, "next_token") is None


def test_choices() -> None:
    assert p.one_of({}, "sort_order", ("recency", "relevancy"), "recency") == "recency"
    with pytest.raises(ApiProblem) as exc:
        p.one_of({"granularity": "week"}, "granularity", p.GRANULARITIES, "hour")
    assert message(exc) == (
        "The `granularity` query parameter value [week] is not one of [minute,hour,day]"
    )
    assert p.exclude_list({"exclude": "retweets,replies"}) == {"retweets", "replies"}
    with pytest.raises(ApiProblem):
        p.exclude_list({"exclude": "quotes"})


# `id_list` takes a one-regex path for clean lists; whatever the input, it answers exactly what
# checking each value on its own answers (the same ids, or the same 400 naming the same value).


def one_by_one(raw: str, limit: int) -> list[int] | tuple[int, object]:
    try:
        values = p._bounded_list({"ids": raw}, "ids", 1, limit)
        return list(dict.fromkeys(p.parse_id(v, "ids") for v in values))
    except ApiProblem as exc:
        return (exc.status, exc.body)


def fast(raw: str, limit: int) -> list[int] | tuple[int, object]:
    try:
        return p.id_list({"ids": raw}, limit=limit)
    except ApiProblem as exc:
        return (exc.status, exc.body)


ID = st.one_of(
    st.integers(min_value=0, max_value=(1 << 64)).map(str),
    st.sampled_from(["", "0", "00012", "9223372036854775807", "9223372036854775808", "1e3"]),
    st.text(alphabet="0123456789 -+\\n,", max_size=6),
)


@given(values=st.lists(ID, min_size=0, max_size=8), limit=st.sampled_from([1, 3, 100]))
def test_fast_path_answers_like_the_checked_path(values: list[str], limit: int) -> None:
    raw = ",".join(values)
    assert fast(raw, limit) == one_by_one(raw, limit)
