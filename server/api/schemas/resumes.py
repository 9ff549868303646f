"""Résumé candidates, upload batches and screening settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from server.api.schemas.common import INTEGRAL, Model, Out, StrictModel
from server.resumes import followups, screening

DegreeKey = Literal["high_school", "associate", "bachelor", "master", "doctor"]
LETTER_OR_DIGIT = r"[\p{L}\p{N}]"
"""A letter or digit of any script (Unicode categories L and N: ``str.isalnum``), in the
ECMA-262 spelling JSON Schema patterns use (read with the ``u`` flag, as JSON Schema asks);
pydantic's engine reads it the same way."""
Term = Annotated[
    str,
    Field(
        pattern=LETTER_OR_DIGIT,
        max_length=screening.MAX_TERM_CHARS,
        description="a skill or certificate (with a letter or digit); white space is collapsed;"
        " given again in any letter case it counts once",
    ),
]


class Match(Out):
    score: float
    eligible: bool
    criteria: list[dict[str, Any]]


class Candidate(Out):
    candidate_id: str
    job_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    education: list[dict[str, Any]] = []
    highest_degree: str | None = None
    experience: list[dict[str, Any]] = []
    experience_years: float | None = None
    skills: list[str] = []
    certificates: list[str] = []
    sources: dict[str, Any] = {}
    match: Match | None = None
    status: Literal["waiting", "inviting", "invited", "not_selected"]
    interview_id: str | None = None


class FileError(Out):
    file: str
    error: str
    message: str


class ResumeBatch(Out):
    batch_id: str
    candidates: list[Candidate] = []
    errors: list[FileError] = []


Years = Annotated[float, Field(ge=0, le=screening.MAX_YEARS)]
TERM_KINDS = ("skill", "certificate", "keyword", "major")
_VALUE_OF_KIND: dict[str, TypeAdapter[Any]] = {
    **dict.fromkeys(TERM_KINDS, TypeAdapter(Term)),
    "degree": TypeAdapter(DegreeKey),
    "years": TypeAdapter(Years),
}


def _when_kind(kinds: tuple[str, ...], value: dict[str, Any]) -> dict[str, Any]:
    kind = {"properties": {"kind": {"enum": list(kinds)}}, "required": ["kind"]}
    return {"if": kind, "then": {"properties": {"value": value}}}


NICE_VALUE_RULES: dict[str, Any] = {
    "allOf": [
        _when_kind(TERM_KINDS, TypeAdapter(Term).json_schema()),
        _when_kind(("degree",), TypeAdapter(DegreeKey).json_schema()),
        _when_kind(("years",), TypeAdapter(Years).json_schema()),
    ]
}


class NiceToHave(StrictModel):
    """A weighted nice-to-have; ``kind`` says what ``value`` is (a term, a degree key or
    years). One given again (the same kind and value, in any letter case) counts once, as the
    first one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=NICE_VALUE_RULES)
    kind: Literal["skill", "certificate", "keyword", "major", "degree", "years"]
    value: Any
    weight: Annotated[float, Field(ge=screening.MIN_WEIGHT, le=screening.MAX_WEIGHT)] = (
        screening.DEFAULT_WEIGHT
    )

    @field_validator("value")
    @classmethod
    def _value_of_kind(cls, value: Any, info: ValidationInfo) -> Any:
        adapter = _VALUE_OF_KIND.get(info.data.get("kind", ""))
        if adapter is None:  # the kind itself is wrong (reported on its own)
            return value
        try:
            return adapter.validate_python(value, strict=True)
        except ValidationError as exc:
            raise ValueError(exc.errors(include_url=False)[0]["msg"]) from None


class Requirements(StrictModel):
    min_degree: DegreeKey | None = None
    min_years: Annotated[float, Field(ge=0, le=screening.MAX_YEARS)] | None = None
    required_skills: Annotated[list[Term], Field(max_length=screening.MAX_TERMS)] | None = None
    required_certificates: Annotated[list[Term], Field(max_length=screening.MAX_TERMS)] | None = (
        None
    )
    nice_to_have: (
        Annotated[list[NiceToHave], Field(max_length=screening.MAX_NICE_TO_HAVE)] | None
    ) = None
    auto_invite_threshold: Annotated[float, Field(ge=0, le=screening.MAX_THRESHOLD)] | None = None


class FollowupSettings(StrictModel):
    count: Annotated[int, Field(ge=0, le=followups.MAX_FOLLOWUPS), INTEGRAL] = 2
    in_ranking: bool = False


class ScreeningIn(StrictModel):
    """What a résumé must show and how many personalised follow-up questions to ask."""

    requirements: Requirements | None = None
    followups: FollowupSettings | None = None


class Screening(Out):
    requirements: dict[str, Any]
    followups: dict[str, Any]


class ScreeningChanged(Screening):
    rematched: int
    invited: int
    failed: int


class CandidateStatusIn(Model):
    status: Literal["waiting", "not_selected"]
