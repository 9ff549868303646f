"""Résumé candidates, upload batches and screening settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from server.api.schemas.common import Int, Model, Out, StrictModel
from server.resumes import followups, screening

DegreeKey = Literal["high_school", "associate", "bachelor", "master", "doctor"]
Term = Annotated[
    str,
    Field(
        pattern=r"[^\W_]",
        max_length=screening.MAX_TERM_CHARS,
        description="a skill or certificate; white space is collapsed",
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


class NiceToHave(StrictModel):
    kind: Literal["skill", "certificate", "keyword", "major", "degree", "years"]
    value: Any
    weight: Annotated[float, Field(ge=screening.MIN_WEIGHT, le=screening.MAX_WEIGHT)] = (
        screening.DEFAULT_WEIGHT
    )


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
    count: Annotated[Int, Field(ge=0, le=followups.MAX_FOLLOWUPS)] = 2
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
