"""A candidate's clause and grade under the agreement version in force when its usage
happened."""

from __future__ import annotations

from dataclasses import dataclass

from tollhouse.compliance.findings.config import RulesConfig
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.sources import OrgFacts
from tollhouse.compliance.findings.terms import forbids, section


@dataclass(frozen=True, slots=True)
class Judged:
    clause: str
    version: str | None
    grade: Grade


def judge(candidate: Candidate, org: OrgFacts, config: RulesConfig) -> Judged:
    """Cite the section of the version in force; a version that did not forbid it yet (or no
    agreement at all) makes the finding an indicator, never a violation."""
    moment = candidate.used_at or candidate.period_start
    version = org.agreement.at(moment)
    if version is None:
        return Judged("no agreement in force", None, Grade.INDICATOR)
    if not forbids(candidate.rule, version.terms):
        return Judged(f"{version.version}: not a term of this version", version.version, Grade.INDICATOR)  # fmt: skip  # noqa: E501
    where = section(candidate.rule, version.terms, config.clause_section(candidate.rule))
    clause = f"{version.version} §{where}" if where else version.version
    if not version.accepted:
        clause += " (published, not accepted)"
    return Judged(clause, version.version, candidate.grade)
