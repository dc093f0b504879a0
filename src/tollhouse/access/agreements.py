"""Developer agreement versions: the text plus machine-readable terms compliance can check."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tollhouse.errors import InvalidInput

GovernmentUse = Literal["forbidden", "declared_and_approved", "allowed"]


class AgreementTerms(BaseModel):
    """The machine-readable part of an agreement version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prohibited_uses: tuple[str, ...] = ()
    redistribution_post_ids_per_30_days: int = Field(ge=0)
    deletion_deadline_hours: int = Field(ge=1)
    government_use: GovernmentUse = "declared_and_approved"
    # The section of the text each compliance rule family (or rule id) enforces, e.g.
    # {"surveillance": "2"}: findings cite it. A version without it cites compliance's defaults.
    clauses: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgreementDraft:
    version: str
    text: str
    terms: AgreementTerms


def parse_terms(data: Any) -> AgreementTerms:
    """`data` as agreement terms; InvalidInput names each field that is wrong and why."""
    try:
        return AgreementTerms.model_validate(data)
    except ValidationError as exc:
        reasons = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "terms"
            if err["type"] == "missing":
                reasons.append(f"`{field}` is required")
            elif err["type"] == "extra_forbidden":
                reasons.append(f"`{field}` is not a term")
            else:
                reasons.append(f"`{field}`: {err['msg'].removeprefix('Value error, ')}")
        raise InvalidInput(f"agreement terms are invalid: {'; '.join(reasons)}") from None


def parse_agreement(text: str) -> AgreementDraft:
    """Parse an agreement TOML (`version`, `text`, `[terms]`); InvalidInput names what is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"agreement file is not valid TOML: {exc}") from exc
    version, body = data.get("version"), data.get("text")
    if not isinstance(version, str) or not version.strip() or len(version) > 40:
        raise InvalidInput("agreement needs a `version` string of 1-40 characters")
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("agreement needs a non-empty `text`")
    terms = parse_terms(data.get("terms", {}))
    return AgreementDraft(version.strip(), body.strip(), terms)


def load_agreement(path: Path) -> AgreementDraft:
    try:
        return parse_agreement(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc


def default_agreement() -> AgreementDraft:
    """The agreement shipped with Tollhouse (`agreement.toml` beside this module)."""
    text = resources.files("tollhouse.access").joinpath("agreement.toml").read_text("utf-8")
    return parse_agreement(text)
