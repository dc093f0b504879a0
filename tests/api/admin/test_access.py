"""The admin API: operator-only, X-Problem errors, the same operations as the CLI, audited."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tollhouse.access.service import AccessService, onboard
from tollhouse.api.app import create_app
from tollhouse.errors import ConfigurationError
from tollhouse.settings import load_settings

ADMIN_TOKEN = "operator-secret-for-tests"


class Admin:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Tollhouse-Actor": "alice"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get("/admin/v1" + path, headers=self.headers, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post("/admin/v1" + path, headers=self.headers, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch("/admin/v1" + path, headers=self.headers, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put("/admin/v1" + path, headers=self.headers, json=body)


@pytest.fixture
def admin(database_url: str) -> Iterator[Admin]:
    app = create_app(load_settings(database_url=database_url, admin_token=ADMIN_TOKEN))
    AccessService(app.state.tollhouse.engine).install_defaults("tests")
    with TestClient(app) as client:
        yield Admin(client)


def test_onboarding_through_the_admin_api(admin: Admin) -> None:
    created = admin.post("/orgs", {"name": "Acme", "plan": "pro", "billing_day": 15})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["billing_day"] == 15
    assert admin.post("/orgs/Acme/accept-agreement", {"accepted_by": "Jane"}).status_code == 201
    app = admin.post("/apps", {"org": "Acme", "name": "acme-app", "use_cases": ["display"]})
    assert app.status_code == 201
    key = admin.post("/apps/acme-app/keys").json()["data"]
    assert set(key) == {"id", "app", "token"}
    # The licensee's key now works on the data API.
    data = admin.client.get(
        "/2/users/by/username/nobody", headers={"Authorization": f"Bearer {key['token']}"}
    )
    assert data.status_code not in (401, 403), data.text
    shown = admin.get("/orgs/Acme").json()["data"]
    assert shown["agreement_accepted"] and shown["apps"][0]["name"] == "acme-app"
    assert shown["keys"][0]["id"] == key["id"]
    assert key["token"] not in repr(shown)
    end_user = admin.post(
        "/endusers", {"org": "Acme", "name": "Ministry", "sector": "government", "country": "FR"}
    ).json()["data"]
    approved = admin.post(f"/endusers/{end_user['id']}/approve").json()["data"]
    assert approved["approved"] and approved["approved_by"] == "admin-api:alice"
    trail = admin.get("/audit", limit=50).json()["data"]
    assert {e["action"] for e in trail} >= {
        "org.create", "org.accept_agreement", "app.create", "key.create", "end_user.approve",
    }  # fmt: skip
    assert all(e["actor"] == "admin-api:alice" for e in trail if e["action"] != "plan.load"
               and e["action"] != "agreement.publish")  # fmt: skip
    assert key["token"] not in repr(trail)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer dev-admin-token"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
    ],
)
def test_admin_needs_the_operator_token(admin: Admin, headers: dict[str, str]) -> None:
    response = admin.client.get("/admin/v1/orgs", headers=headers)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_a_licensee_key_never_reaches_admin(admin: Admin) -> None:
    service = AccessService(admin.client.app.state.tollhouse.engine)  # type: ignore[attr-defined]
    done = onboard(service, "Acme", "pro", ["acme-app"])
    token, key_id = done.keys[0].token, done.keys[0].id
    attempts = [
        ("GET", "/admin/v1/orgs"),
        ("POST", "/admin/v1/orgs"),
        ("POST", f"/admin/v1/keys/{key_id}/revoke"),
    ]
    for method, path in attempts:
        response = admin.client.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, json={"bad": "body"}
        )
        assert response.status_code == 401, (method, path)
    assert [k.status for k in service.list_keys("acme-app")] == ["active"]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert "title" in body and "type" in body
    return body


def test_refusals_are_x_problems(admin: Admin) -> None:
    admin.post("/orgs", {"name": "Acme", "plan": "basic"})
    assert "no plan named" in problem(admin.post("/orgs", {"name": "B", "plan": "gold"}), 404)["detail"]  # fmt: skip  # noqa: E501
    assert "already exists" in problem(admin.post("/orgs", {"name": "Acme", "plan": "pro"}), 409)["detail"]  # fmt: skip  # noqa: E501
    problem(admin.get("/orgs/Nope"), 404)
    problem(admin.post("/orgs", {"name": "C", "plan": "pro", "billing_day": 31}), 400)
    problem(admin.post("/orgs", {"name": "C", "plan": "pro", "extra": 1}), 400)
    problem(admin.post("/orgs", {"plan": "pro"}), 400)
    problem(admin.post("/endusers", {"org": "Acme", "name": "X", "sector": "army", "country": "GB"}), 400)  # fmt: skip  # noqa: E501
    admin.post("/apps", {"org": "Acme", "name": "one"})
    admin.post("/apps", {"org": "Acme", "name": "two"})
    assert "allows" in problem(admin.post("/apps", {"org": "Acme", "name": "three"}), 409)["detail"]  # fmt: skip  # noqa: E501
    problem(admin.patch("/orgs/Acme", {"plan": "free"}), 409)
    problem(admin.post("/keys/AAAAAAAAAA/revoke"), 404)
    problem(admin.post("/orgs/Acme/suspend", {"reason": ""}), 400)
    problem(admin.put("/plans", {"toml": "[plans.x"}), 400)
    problem(admin.post("/agreements", {"version": "v9", "text": "t", "terms": {"bogus": 1}}), 400)
    assert admin.client.post("/admin/v1/orgs", headers=admin.headers, content=b"{not json").status_code == 400  # fmt: skip  # noqa: E501


def test_key_rotation_and_revocation(admin: Admin) -> None:
    admin.post("/orgs", {"name": "Acme", "plan": "pro"})
    admin.post("/apps", {"org": "Acme", "name": "acme-app"})
    key = admin.post("/apps/acme-app/keys").json()["data"]
    rotated = admin.post(f"/keys/{key['id']}/rotate", {"grace_seconds": 60}).json()["data"]
    assert rotated["replaces"] == key["id"] and rotated["token"] != key["token"]
    revoked = admin.post(f"/keys/{key['id']}/revoke").json()["data"]
    assert revoked["status"] == "revoked"
    listed = admin.get("/apps/acme-app/keys").json()["data"]
    assert {k["id"]: k["status"] for k in listed} == {key["id"]: "revoked", rotated["id"]: "active"}


def test_plans_and_agreement(admin: Admin) -> None:
    plans = admin.get("/plans").json()["data"]
    assert [p["name"] for p in plans] == ["free", "basic", "pro", "enterprise"]
    book = "[plans.startup]\nmonthly_fee='99.50'\nmax_apps=2\nendpoints=['/2/tweets']\n"
    assert admin.put("/plans", {"toml": book}).json()["data"]["changed"] == ["startup"]
    assert admin.post("/orgs", {"name": "S", "plan": "startup"}).status_code == 201
    current = admin.get("/agreement").json()["data"]
    terms = current["terms"]
    published = admin.post("/agreements", {"version": "2027-01", "text": "New.", "terms": terms})
    assert published.status_code == 201
    assert admin.get("/orgs/S").json()["data"]["agreement_current"] == "2027-01"


def test_no_token_reaches_the_logs(admin: Admin, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin.post("/orgs", {"name": "Acme", "plan": "pro"})
    admin.post("/apps", {"org": "Acme", "name": "acme-app"})
    token = admin.post("/apps/acme-app/keys").json()["data"]["token"]
    admin.client.get("/2/tweets/1", headers={"Authorization": f"Bearer {token}"})
    admin.client.get("/2/tweets/1", headers={"Authorization": f"Bearer {token[:-1]}Z"})
    assert token not in caplog.text and ADMIN_TOKEN not in caplog.text
    assert token[-20:] not in caplog.text


def test_production_refuses_the_default_admin_token() -> None:
    for token in ("", "dev-admin-token"):
        with pytest.raises(ConfigurationError, match="ADMIN_TOKEN"):
            load_settings(environment="production", admin_token=token)
    strong = "s3cret-" + "x" * 25
    assert load_settings(environment="production", admin_token=strong).admin_token == strong
