"""The operator's admin API under /admin/v1/ (operator token only; licensee keys never pass)."""

from tollhouse.api.routes.admin.routes import router

__all__ = ["router"]
