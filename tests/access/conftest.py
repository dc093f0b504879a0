from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tollhouse.access.service import AccessService


@pytest.fixture
def service(engine: Engine) -> AccessService:
    """The access service with the shipped plans and agreement loaded (both backends)."""
    svc = AccessService(engine)
    svc.install_defaults("tests")
    return svc
