"""GET /2/tweets is served by a plain route in front of the documented one (bench/gateway.py):
it stays in the OpenAPI document, answers lookups as before, and other methods still get the
405 Problem — never an answer the edge did not limit or meter."""

from __future__ import annotations

from tests.api.conftest import Api


def test_lookup_still_documented(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert paths["/2/tweets"]["get"]["summary"] == "Look up posts by id"


def test_other_methods_are_refused_as_before(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    assert api.client.get(f"/2/tweets?ids={post_id}").status_code == 200
    for method in ("HEAD", "POST", "PUT", "DELETE"):
        response = api.client.request(method, f"/2/tweets?ids={post_id}")
        assert response.status_code == 405, method
        assert "x-rate-limit-remaining" not in response.headers
        if method != "HEAD":
            assert response.json()["title"] == "Method Not Allowed"
