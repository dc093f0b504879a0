"""Government use, end to end through a real server: the agreement's `government_use` term
(`declared_and_approved`, the default) refuses a declared government end user until it is
approved; a name never declared is served and recorded as undeclared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from tests.waiting import wait_until
from tollhouse.access.service import AccessService, onboard
from tollhouse.db import create_engine, usage_database_url
from tollhouse.metering.models import usage_events

PATH = "/2/users/by/username/nobody"
ADMIN = "operator-secret-for-government-use-tests"


def test_an_unapproved_government_end_user_is_refused_until_approved(
    database_url: str, live_server: Callable[..., Any]
) -> None:
    engine = create_engine(database_url)
    key = onboard(AccessService(engine), "Acme", "pro", ["acme-app"]).keys[0]
    engine.dispose()
    server = live_server(database_url=database_url, admin_token=ADMIN, metering_mode="strict")
    admin = httpx.Client(
        base_url=server.base_url + "/admin/v1", headers={"Authorization": f"Bearer {ADMIN}"}
    )

    def ask(end_user: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key.token}"}
        if end_user is not None:
            headers["X-End-User"] = end_user
        return httpx.get(server.base_url + PATH, headers=headers)

    assert ask("Ministry of Stuff").status_code == 200  # not declared: served
    declared = admin.post(
        "/endusers",
        json={"org": "Acme", "name": "Ministry of Stuff", "sector": "government", "country": "FR"},
    )
    assert declared.status_code == 201, declared.text
    shop = {"org": "Acme", "name": "Corner Shop", "sector": "commercial", "country": "FR"}
    assert admin.post("/endusers", json=shop).status_code == 201

    wait_until(lambda: ask("Ministry of Stuff").status_code == 403, "the new end user is seen")
    refused = ask("Ministry of Stuff").json()
    assert refused["type"] == "https://api.twitter.com/2/problems/client-forbidden"
    assert refused["title"] == "Client Forbidden" and refused["status"] == 403
    assert refused["reason"] == "end-user-not-approved"
    assert "[Ministry of Stuff]" in refused["detail"]
    assert "declared_and_approved" in refused["detail"] and "not approved" in refused["detail"]
    # Other names, no name, and a declared commercial end user are all served meanwhile.
    for other in (None, "Corner Shop", "Somebody Else", "ministry of stuff"):
        assert ask(other).status_code == 200, other

    approved = admin.post(f"/endusers/{declared.json()['data']['id']}/approve")
    assert approved.status_code == 200, approved.text
    wait_until(lambda: ask("Ministry of Stuff").status_code == 200, "the approval is seen")

    # The undeclared name is recorded with its name and no end user id; the declared one with
    # its id (the findings weigh the difference).
    usage = create_engine(usage_database_url(database_url))

    def recorded() -> dict[str, set[Any]]:
        with usage.connect() as conn:
            rows = conn.execute(
                sa.select(usage_events.c.end_user, usage_events.c.end_user_id).where(
                    usage_events.c.end_user.is_not(None)
                )
            ).all()
        seen: dict[str, set[Any]] = {}
        for name, end_user_id in rows:
            seen.setdefault(name, set()).add(end_user_id)
        return seen

    try:
        wait_until(
            lambda: {"Somebody Else", "Ministry of Stuff"} <= set(recorded()),
            "the usage events are stored",
        )
        seen = recorded()
        assert seen["Somebody Else"] == {None}
        assert declared.json()["data"]["id"] in seen["Ministry of Stuff"]
    finally:
        usage.dispose()
        admin.close()
