"""Government use as the agreement's `government_use` term rules it: which of an organisation's
declared end users may not be served, and why.

`declared_and_approved` (the default) serves a declared government end user only once an
operator approved it; `forbidden` serves no declared government end user; `allowed` serves
all. A name the organisation never declared is served (and metering records it as undeclared,
for the findings to weigh): refusing it would only teach licensees not to send the header.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tollhouse.access.agreements import GovernmentUse


def refused_end_users(
    policy: GovernmentUse, government_end_users: Iterable[tuple[str, bool]]
) -> Mapping[str, str]:
    """{name: why it is refused} for declared government end users given as (name, approved)."""
    if policy == "allowed":
        return {}
    refused = {}
    for name, approved in government_end_users:
        if policy == "forbidden":
            refused[name] = "the developer agreement forbids serving government end users"
        elif not approved:
            refused[name] = (
                "it is a declared government end user that is not approved yet; the developer "
                "agreement (government_use = declared_and_approved) requires an operator's "
                "approval before it is served"
            )
    return refused
