"""The rules, one module each: `RULE` (its id) and `evaluate(ctx) -> Iterable[Candidate]`."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Protocol, cast

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate
from tollhouse.compliance.findings.rules import (
    deletion_late,
    deletion_no_notice_consumed,
    government_indicator,
    government_undeclared_end_user,
    harvest_bulk_coverage,
    keys_service_bureau,
    keys_shared,
    redistribution_canary,
    redistribution_id_containment,
    surveillance_indicator,
    use_case_mismatch,
    use_case_undeclared,
    volume_limit_saturation,
    volume_over_entitlement,
    volume_split_across_apps,
)


class Rule(Protocol):
    RULE: str

    def evaluate(self, ctx: EvaluationContext) -> Iterable[Candidate]: ...


_MODULES: tuple[ModuleType, ...] = (
    volume_over_entitlement,
    volume_limit_saturation,
    volume_split_across_apps,
    use_case_undeclared,
    use_case_mismatch,
    government_undeclared_end_user,
    government_indicator,
    harvest_bulk_coverage,
    keys_shared,
    keys_service_bureau,
    redistribution_id_containment,
    redistribution_canary,
    deletion_late,
    deletion_no_notice_consumed,
    surveillance_indicator,
)
RULES: tuple[Rule, ...] = tuple(cast(Rule, m) for m in _MODULES)
