"""Every X API route is served by a plain route in front of its documented APIRoute
(api/routes/plain.py): endpoints stay in the OpenAPI document, answer as before, and other
methods still get the 405 Problem — never an answer the edge did not limit or meter."""

from __future__ import annotations

from tests.api.conftest import Api

from tollhouse.api.endpoints import ENDPOINTS


def _path(template: str) -> str:
    return "/".join("{" + s[1:] + "}" if s.startswith(":") else s for s in template.split("/"))


def test_every_endpoint_stays_documented(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for endpoint in ENDPOINTS:
        assert endpoint.method.lower() in paths[_path(endpoint.template)], endpoint.label


def test_requests_are_served_by_the_plain_front(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    user = api.corpus.users[api.corpus.posts[post_id].author_id]
    for url in (
        f"/2/tweets?ids={post_id}",
        f"/2/tweets/{post_id}",
        "/2/tweets/search/recent?query=the",
        f"/2/users/{user.id}",
        f"/2/users/by/username/{user.username}",
        f"/2/users/{user.id}/tweets",
    ):
        assert api.client.get(url).status_code == 200, url
        assert api.recorder.last is not None
        # A plain route's endpoint is its method-checking wrapper, not the APIRoute's handler.
        assert api.recorder.last["endpoint"].__qualname__.endswith("plain"), url


def test_other_methods_are_refused_as_before(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    user_id = api.corpus.posts[post_id].author_id
    for url in (f"/2/tweets?ids={post_id}", f"/2/tweets/{post_id}", f"/2/users/{user_id}"):
        assert api.client.get(url).status_code == 200, url
        for method in ("HEAD", "POST", "PUT", "DELETE"):
            response = api.client.request(method, url)
            assert response.status_code == 405, (method, url)
            assert "x-rate-limit-remaining" not in response.headers
            if method != "HEAD":
                assert response.json()["title"] == "Method Not Allowed"
