"""The OpenAPI document describes what the handlers parse: every parameter an endpoint accepts
is documented with a typed schema, and every documented parameter is accepted."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tollhouse.api import problems
from tollhouse.api.app import create_app
from tollhouse.api.dispatch import template_of
from tollhouse.api.openapi import COMPONENTS
from tollhouse.endpoints import ENDPOINTS, Endpoint
from tollhouse.settings import load_settings


def _operation(document: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    path = "/".join(f"{{{s[1:]}}}" if s[:1] == ":" else s for s in endpoint.template.split("/"))
    assert template_of(path) == endpoint.template
    operation: dict[str, Any] = document["paths"][path][endpoint.method.lower()]
    return operation


def _path_for(endpoint: Endpoint, api: Api) -> str:
    values = {":id": "1", ":username": "nobody_here"}
    return "/".join(values.get(s, s) for s in endpoint.template.split("/"))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.label)
def test_documented_parameters_are_the_endpoint_table(api: Api, endpoint: Endpoint) -> None:
    document = api.client.get("/openapi.json").json()
    operation = _operation(document, endpoint)
    names = [p["name"] for p in operation["parameters"]]
    assert names == list(endpoint.params)
    for parameter in operation["parameters"]:
        schema = parameter["schema"]
        # Typed: never a bare string — a pattern, enum, format, bound or a non-string type.
        assert schema != {"type": "string"}, parameter["name"]
        if parameter["in"] == "path":
            assert parameter["required"] is True
    assert operation["security"] == [{"BearerToken": []}]
    assert {"200", "400", "401", "403", "429"} <= set(operation["responses"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.label)
def test_the_parser_accepts_exactly_the_documented_query_parameters(
    api: Api, endpoint: Endpoint
) -> None:
    document = api.client.get("/openapi.json").json()
    query = [p["name"] for p in _operation(document, endpoint)["parameters"] if p["in"] == "query"]
    path = _path_for(endpoint, api)
    unknown = api.client.request(endpoint.method, path, params={"not_documented": "1"})
    assert unknown.status_code == 400
    message = unknown.json()["errors"][0]["message"]
    assert message == (
        f"The query parameter [not_documented] is not one of [{','.join(endpoint.params)}]"
    )
    for name in query:
        # "!" is a bad value for every parameter that could open a stream, so no request here
        # hangs; whatever the answer, it must not call the parameter unknown.
        answer = api.client.request(endpoint.method, path, params={name: "!"})
        assert "is not one of [" not in answer.text.split(name)[0], (name, answer.text)
        assert f"The query parameter [{name}]" not in answer.text


def test_both_apis_have_security_schemes_and_problem_responses(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {**schemes["BearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["OperatorToken"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/admin/"):
                assert operation["security"] == [{"OperatorToken": []}], (method, path)
                assert "422" not in operation["responses"]
                assert {"400", "401"} <= set(operation["responses"])
            problem = operation["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
            if method in ("post", "put", "patch") and "{" not in path:
                assert "requestBody" in operation or path.endswith(
                    ("/suspend", "/resume", "/finalize")
                ), path
            if "requestBody" in operation:
                assert "413" in operation["responses"], path


def test_post_rules_documents_its_body(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    operation = document["paths"]["/2/tweets/search/stream/rules"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert [set(choice["required"]) for choice in body["oneOf"]] == [{"add"}, {"delete"}]


def test_the_x_envelope_and_its_objects_are_described(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"Tweet", "User", "Problem", "Includes", "ResourceError"} <= set(schemas)
    ok = document["paths"]["/2/tweets"]["get"]["responses"]["200"]["content"]["application/json"]
    envelope = ok["schema"]["properties"]
    assert set(envelope) == {"data", "includes", "meta", "errors"}
    assert envelope["data"]["items"] == {"$ref": "#/components/schemas/Tweet"}
    search = document["paths"]["/2/tweets/search/all"]["get"]["parameters"]
    max_results = next(p for p in search if p["name"] == "max_results")["schema"]
    assert (max_results["minimum"], max_results["maximum"]) == (10, 500)


def test_405_names_the_allowed_methods_on_both_paths(api: Api) -> None:
    # /2/: the direct dispatch has no handler for DELETE and hands it to FastAPI.
    x_api = api.client.delete("/2/tweets/search/stream/rules")
    assert x_api.status_code == 405
    assert x_api.headers["allow"] == "GET, POST"
    assert x_api.json()["title"] == "Method Not Allowed"


def test_405_on_the_admin_api_names_the_allowed_methods(database_url: str) -> None:
    settings = load_settings(database_url=database_url, admin_token="op-token")
    with TestClient(create_app(settings)) as client:
        answer = client.delete("/admin/v1/orgs", headers={"Authorization": "Bearer op-token"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"


PROBLEM_BODIES = [
    problems.unauthorized(),
    problems.not_found_route(),
    problems.method_not_allowed(),
    problems.invalid_request("bad", {"ids": ["x"]}),
    problems.not_found("no such organisation"),
    problems.conflict("taken"),
    problems.client_forbidden("client-not-enrolled", "no", "pro"),
    problems.too_many_requests({}),
    problems.usage_capped({}),
    problems.metering_unavailable(),
    problems.query_timed_out(),
    problems.limits_unavailable(),
    problems.internal_error(),
    problems.too_many_connections(),
    problems.rules_cap("too many"),
    problems.payload_too_large(1024),
]


@pytest.mark.parametrize("problem", PROBLEM_BODIES, ids=lambda p: f"{p.status}-{p.body['title']}")
def test_every_problem_body_matches_the_documented_problem(problem: problems.ApiProblem) -> None:
    # The document's "#/components/schemas/…" references resolve against a root that carries
    # the components beside the schema.
    schema = {**COMPONENTS["Problem"], "components": {"schemas": COMPONENTS}}
    jsonschema_rs.validate(schema, problem.body)


def test_resource_errors_match_the_documented_resource_error() -> None:
    error = problems.resource_error("resource-not-found", "tweet", "ids", "1", "Could not find")
    jsonschema_rs.validate(COMPONENTS["ResourceError"], error)
