"""schemathesis against a real `tollhouse serve`: every data and admin operation of
`/openapi.json`, a few generated cases each, must pass the conformance checks — no 5xx, only
documented status codes and content types, and bodies that match the documented schemas.

The key's plan has generous rate limits and no monthly cap, so the run is never throttled into
429s. The two streams are left out: their 200 is a response that does not end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import issue_token
from tests.api.sample_corpus import build
from tests.conftest import LiveServer, scratch_database
from tests.processes import clean_env
from tollhouse.api.app import create_app
from tollhouse.db import create_engine
from tollhouse.settings import load_settings

ADMIN_TOKEN = "fuzz-operator-token-0123456789abcdef"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Fuzzed:
    def __init__(self, server: LiveServer, key: str) -> None:
        self.server = server
        self.key = key


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    for url in scratch_database("sqlite", directory):
        engine = create_engine(url)
        build(engine)
        key = issue_token(engine)
        engine.dispose()
        env = clean_env(database_url=url, admin_token=ADMIN_TOKEN, spool_dir=directory / "spool")
        server = LiveServer(env).start()
        try:
            yield Fuzzed(server, key)
        finally:
            server.stop()


def _document() -> dict[str, Any]:
    # The document does not depend on the database; an app that is never started builds it
    # (the test below checks the server serves the same one).
    document: dict[str, Any] = create_app(load_settings(database_url="sqlite://")).openapi()
    return document


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path_regex=r"/stream$")


def test_the_server_serves_the_fuzzed_document(fuzzed: Fuzzed) -> None:
    served = httpx.get(fuzzed.server.base_url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,  # the same cases on every run: a finding is reproducible, never flaky
)
def test_operation_conforms_to_its_openapi_description(
    case: schemathesis.Case[Any], fuzzed: Fuzzed
) -> None:
    token = fuzzed.key if case.path.startswith("/2/") else ADMIN_TOKEN
    case.call_and_validate(
        base_url=fuzzed.server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=30,
    )
