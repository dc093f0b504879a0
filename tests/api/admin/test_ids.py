"""Ids in the admin API: validated once at the edge (400, never 500), and stored 64-bit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.api.admin.test_access import Admin, admin  # noqa: F401 (the fixture)


def test_an_end_user_id_no_column_can_hold_is_a_400(admin: Admin) -> None:  # noqa: F811
    for value in ("9223372036854775808", "99999999999999999999", "0", "-5", "1e3"):
        refused = admin.post(f"/endusers/{value}/approve")
        assert refused.status_code == 400, (value, refused.text)
        body = refused.json()
        assert body["type"].endswith("/invalid-request")
        assert "end_user_id" in body["errors"][0]["message"]


def test_an_end_user_id_past_32_bits_is_an_unknown_end_user(admin: Admin) -> None:  # noqa: F811
    for value in ("2147483648", "9223372036854775807"):
        missing = admin.post(f"/endusers/{value}/approve")
        assert missing.status_code == 404, (value, missing.text)
        assert f"no end user with id {value}" in missing.json()["detail"]


def test_a_deletion_id_out_of_range_is_a_400(admin: Admin) -> None:  # noqa: F811
    for value in ("9999999999999999999", "99999999999999999999", 2**64, "0", True, 1.5):
        refused = admin.post("/posts", {"deletions": [value]})
        assert refused.status_code == 400, (value, refused.text)
        assert "not a post id" in refused.json()["errors"][0]["message"]
    assert admin.post("/posts", {"deletions": ["9223372036854775807"]}).status_code == 200


def test_every_id_column_is_64_bit(engine: Engine) -> None:
    inspector = sa.inspect(engine)
    narrow = []
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            name = column["name"]
            if name == "id" or name.endswith("_id"):
                type_ = column["type"]
                if isinstance(type_, sa.Integer) and not (
                    isinstance(type_, sa.BigInteger) or engine.dialect.name == "sqlite"
                ):
                    narrow.append(f"{table}.{name}")
    assert narrow == []
