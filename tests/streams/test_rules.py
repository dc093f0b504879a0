"""The rule service on SQLite and PostgreSQL: validation, duplicates, caps, deletes, dry runs."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tollhouse.streams.errors import RulesCapExceeded
from tollhouse.streams.rules import NewRule, add_rules, delete_rules, list_rules


def test_add_list_and_delete(engine: Engine) -> None:
    with engine.begin() as conn:
        added = add_rules(
            conn, "1", [NewRule("cat", "cats"), NewRule("from:alice")], max_rules=5, max_length=50
        )
        add_rules(conn, "2", [NewRule("cat")], max_rules=5, max_length=50)
    assert [r.value for r in added.created] == ["cat", "from:alice"] and not added.errors
    with engine.connect() as conn:
        mine = list_rules(conn, "1")
        assert [(r.value, r.tag) for r in mine] == [("cat", "cats"), ("from:alice", None)]
        assert list_rules(conn, "1", [mine[1].id]) == [mine[1]]
        assert list_rules(conn, "1", [list_rules(conn, "2")[0].id]) == []  # not its rule
    with engine.begin() as conn:
        gone = delete_rules(conn, "1", ids=[mine[0].id, 12345], values=["from:alice", "nope"])
    assert {r.id for r in gone.deleted} == {mine[0].id, mine[1].id}
    assert [e.value for e in gone.errors] == ["12345", "nope"]
    with engine.connect() as conn:
        assert list_rules(conn, "1") == []
        assert len(list_rules(conn, "2")) == 1


def test_invalid_rules_create_nothing_and_duplicates_are_skipped(engine: Engine) -> None:
    with engine.begin() as conn:
        bad = add_rules(
            conn,
            "1",
            [NewRule("ok"), NewRule("(unclosed"), NewRule("x" * 30)],
            max_rules=10,
            max_length=20,
        )
        assert bad.created == [] and len(bad.invalid) == 2
        assert all(e.details for e in bad.invalid)
        first = add_rules(conn, "1", [NewRule("cat")], max_rules=10, max_length=20)
        again = add_rules(
            conn, "1", [NewRule("cat"), NewRule("dog"), NewRule("dog")], max_rules=10, max_length=20
        )
    assert [r.value for r in again.created] == ["dog"]
    assert [(e.kind, e.value, e.id) for e in again.errors] == [
        ("duplicate", "cat", first.created[0].id),
        ("duplicate", "dog", None),
    ]


def test_a_rule_of_negations_alone_would_be_the_firehose_and_is_invalid(engine: Engine) -> None:
    with engine.begin() as conn:
        bad = add_rules(
            conn,
            "1",
            [NewRule("-zzzz"), NewRule("lang:en"), NewRule("cat -zzzz")],
            max_rules=10,
            max_length=50,
        )
    assert bad.created == []
    assert [(e.value, e.details) for e in bad.invalid] == [
        (
            "-zzzz",
            (
                "Rules must contain a non-negation term (at position 1)",
                "Rules must contain at least one positive, non-stopword clause (at position 1)",
            ),
        ),
        (
            "lang:en",
            ("Rules must contain at least one positive, non-stopword clause (at position 1)",),
        ),
    ]


def test_rule_count_is_capped_and_dry_runs_change_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        dry = add_rules(
            conn, "1", [NewRule("a"), NewRule("b")], max_rules=2, max_length=20, dry_run=True
        )
        assert len(dry.created) == 2 and list_rules(conn, "1") == []
        add_rules(conn, "1", [NewRule("a"), NewRule("b")], max_rules=2, max_length=20)
        with pytest.raises(RulesCapExceeded):
            add_rules(conn, "1", [NewRule("c")], max_rules=2, max_length=20)
        # A duplicate of a held rule does not count against the cap.
        assert (
            add_rules(conn, "1", [NewRule("a")], max_rules=2, max_length=20).errors[0].kind
            == "duplicate"
        )
        held = list_rules(conn, "1")
        dry_delete = delete_rules(conn, "1", ids=[held[0].id], dry_run=True)
        assert dry_delete.deleted == [held[0]] and list_rules(conn, "1") == held
