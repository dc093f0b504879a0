"""The operator's admin API under /admin/v1/ (operator token only; licensee keys never pass).

One module a resource: `access` (plans, agreements, orgs, apps, keys, end users, audit),
`usage`, `metrics`, `posts`, `findings` (compliance findings and canaries); `schemas` holds
the request bodies, `auth` the operator check.
"""

from fastapi import APIRouter

from tollhouse.api.routes.admin import access, findings, metrics, posts, usage

# In the order they are registered (and listed in OpenAPI).
routers: tuple[APIRouter, ...] = (
    access.router,
    usage.router,
    metrics.router,
    posts.router,
    findings.router,
)

__all__ = ["routers"]
