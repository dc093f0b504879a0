"""The endpoint matcher: every template matches its own paths, nothing else matches."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.endpoints import ENDPOINTS, TEMPLATES, Endpoint, match_endpoint

segment = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#"),
    min_size=1,
    max_size=20,
)


def fill(template: str, value: str) -> str:
    return "/".join(value if p.startswith(":") else p for p in template.split("/"))


def test_static_templates_match_themselves_with_or_without_a_trailing_slash() -> None:
    for endpoint in ENDPOINTS:
        if ":" not in endpoint.template:
            assert match_endpoint(endpoint.method, endpoint.template) == endpoint
            assert match_endpoint(endpoint.method, endpoint.template + "/") == endpoint


@given(st.sampled_from([e for e in ENDPOINTS if ":" in e.template]), segment)
def test_parameterised_templates_match_any_single_segment(endpoint: Endpoint, value: str) -> None:
    found = match_endpoint(endpoint.method, fill(endpoint.template, value))
    assert found is not None
    # A static template wins where the value spells one (e.g. /2/users/by).
    if found != endpoint:
        assert ":" not in found.template
        assert found.template == fill(endpoint.template, value)


@given(st.lists(segment, min_size=0, max_size=6))
def test_unknown_paths_do_not_match(parts: list[str]) -> None:
    path = "/2/nope/" + "/".join(parts)
    assert match_endpoint("GET", path) is None


def test_methods_and_empty_parameters() -> None:
    assert match_endpoint("POST", "/2/tweets/1") is None
    assert match_endpoint("DELETE", "/2/tweets/search/stream/rules") is None
    assert match_endpoint("POST", "/2/tweets/search/stream/rules") is not None
    assert match_endpoint("GET", "/2/users/by/username/") is None
    assert match_endpoint("GET", "/2/users//tweets") is None
    assert match_endpoint("GET", "/2/users/1/likes") is None


def test_metering_flags() -> None:
    unmetered = {e.label for e in ENDPOINTS if not e.metered}
    assert unmetered == {
        "GET /2/usage/tweets",
        "GET /2/tweets/search/stream/rules",
        "POST /2/tweets/search/stream/rules",
        "POST /2/compliance/jobs",
        "GET /2/compliance/jobs",
        "GET /2/compliance/jobs/:id",
        "GET /2/tweets/compliance/stream",
        "GET /2/users/compliance/stream",
    }
    # GET and POST of the rules and of the compliance jobs endpoints share a template each.
    assert len(TEMPLATES) == len(ENDPOINTS) - 2
