"""Operator authentication and the access service for admin requests."""

from __future__ import annotations

import hmac

from fastapi import Request

from tollhouse.access.revocation import notifier_from_settings
from tollhouse.access.service import AccessService
from tollhouse.api import problems
from tollhouse.api.edge import bearer_token, directory_for
from tollhouse.api.state import app_state

ACTOR_HEADER = "x-tollhouse-actor"


def require_operator(request: Request) -> str:
    """Check the operator token; return the actor name recorded in the audit trail.

    A licensee key (or anything else) is refused with the same 401 and is never looked up: the
    admin API compares only against the configured operator token, in constant time.
    """
    expected = app_state(request).settings.admin_token
    token = bearer_token(request.scope)
    if not expected or token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise problems.unauthorized()
    actor = request.headers.get(ACTOR_HEADER, "").strip()[:100]
    return f"admin-api:{actor}" if actor else "admin-api"


def access_service(request: Request) -> AccessService:
    """The access service, wired to flush this process's key cache and notify the others."""
    state = app_state(request)
    service = AccessService(state.engine)
    service.on_change.append(directory_for(request.app).flush)
    notifier = notifier_from_settings(state.settings)
    if notifier is not None:
        service.on_change.append(notifier)
    return service
