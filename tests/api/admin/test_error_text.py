"""Admin API refusals: bounded, in words, naming the field, with no library internals."""

from __future__ import annotations

from tests.api.admin.test_access import Admin, admin  # noqa: F401 (the fixture)
from tollhouse.api import problems


def test_a_huge_name_gets_a_small_400(admin: Admin) -> None:  # noqa: F811
    # As large as the admin body limit lets through (a 10 MB body is a 413 before parsing).
    name = "n" * 900_000
    refused = admin.post("/orgs", {"name": name, "plan": "pro"})
    assert refused.status_code == 400
    assert len(refused.content) < 3 * problems.MAX_TEXT
    error = refused.json()["errors"][0]
    assert "`name`" in error["message"]
    assert error["parameters"]["name"][0].endswith("(900000 characters)")


def test_bad_json_says_so(admin: Admin) -> None:  # noqa: F811
    refused = admin.client.post(
        "/admin/v1/orgs",
        headers={**admin.headers, "Content-Type": "application/json"},
        content=b'{"name": "Acme", "plan": ',
    )
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert message.startswith("The body is not valid JSON"), message
    assert "`1`" not in message


def test_a_missing_field_is_named(admin: Admin) -> None:  # noqa: F811
    refused = admin.post("/orgs", {"name": "Acme"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "The `plan` field is required"


def test_bad_agreement_terms_name_the_field_without_pydantic_text(admin: Admin) -> None:  # noqa: F811
    refused = admin.post(
        "/agreements",
        {
            "version": "2027-01",
            "text": "Terms.",
            "terms": {
                "redistribution_post_ids_per_30_days": 1,
                "deletion_deadline_hours": 0,
                "government_use": "sometimes",
                "colour": "red",
            },
        },
    )
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert "`deletion_deadline_hours`" in message
    assert "`government_use`" in message
    assert "`colour` is not a term" in message
    for internal in ("pydantic", "errors.pydantic.dev", "validation error", "input_value"):
        assert internal not in message, message


def test_bad_json_to_the_ingest_route_says_so_too(admin: Admin) -> None:  # noqa: F811
    refused = admin.client.post(
        "/admin/v1/posts",
        headers={**admin.headers, "Content-Type": "application/json"},
        content=b'{"data": [',
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"].startswith("The body is not valid JSON")
