"""The agreement's government_use term: which declared government end users are refused."""

from __future__ import annotations

from tollhouse.access.agreements import AgreementTerms
from tollhouse.access.government_use import refused_end_users

DECLARED = [("Ministry", False), ("Agency", True)]


def test_declared_and_approved_is_the_default_and_refuses_only_the_unapproved() -> None:
    policy = AgreementTerms(
        redistribution_post_ids_per_30_days=0, deletion_deadline_hours=24
    ).government_use
    assert policy == "declared_and_approved"
    refused = refused_end_users(policy, DECLARED)
    assert set(refused) == {"Ministry"} and "not approved" in refused["Ministry"]


def test_forbidden_refuses_every_declared_government_end_user_and_allowed_none() -> None:
    assert set(refused_end_users("forbidden", DECLARED)) == {"Ministry", "Agency"}
    assert refused_end_users("allowed", DECLARED) == {}
