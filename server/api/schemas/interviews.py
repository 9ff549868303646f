"""Invitations, interviews, reviews and decisions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from server.api.schemas.common import (
    INTEGRAL,
    NON_BLANK,
    NOT_VISIBLE,
    Localized,
    Model,
    Out,
    StrictModel,
)
from server.domain.models import InterviewMode, Status

_ADDRESS_CHAR = f"[^@{NOT_VISIBLE}]"
EMAIL_PATTERN = f"^{_ADDRESS_CHAR}{{1,64}}@{_ADDRESS_CHAR}{{1,255}}\\.{_ADDRESS_CHAR}{{1,63}}$"
PHONE_PATTERN = r"^[0-9+\-() ]*$"
MAX_INVITATION_HOURS = 8760
MAX_COMMENT_CHARS = 2000


class CandidateIn(Model):
    """One candidate to invite (a JSON body or a row of a bulk CSV). ``group`` is optional,
    only for the fairness view."""

    name: Annotated[str, Field(pattern=NON_BLANK, max_length=200)]
    email: Annotated[str, Field(pattern=EMAIL_PATTERN)]
    phone: Annotated[str, Field(pattern=PHONE_PATTERN, max_length=40)] | None = None
    language: Literal["", "zh-CN", "en"] | None = None
    group: Annotated[str, Field(max_length=60)] | None = None


class InvitationIn(CandidateIn):
    """One candidate to invite, and for how long the link works (default: the server's)."""

    expires_in_hours: Annotated[int, Field(ge=1, le=MAX_INVITATION_HOURS), INTEGRAL] | None = None


class Invitation(Out):
    interview_id: str
    url: str
    expires_at: int
    name: str
    email: str


class BulkInvitations(Out):
    created: list[Invitation]


class InterviewSummary(Out):
    interview_id: str
    job_id: str
    status: Status
    name: str
    email: str
    language: str
    mode: InterviewMode | None
    expires_at: float
    created_at: float
    updated_at: float


class Answer(Out):
    index: int
    answer_id: str
    section: str
    question: Localized
    status: str
    started_at: float | None = None
    ended_at: float | None = None
    answer_used_s: float = 0
    scratchpad: str = ""
    text_answer: str = ""
    recordings: list[dict[str, Any]] = []
    recording_urls: list[str] | None = Field(
        default=None, description="Only for roles allowed to see video"
    )


class Interview(InterviewSummary):
    questions_total: int
    live: bool
    current: dict[str, Any] | None = None
    consent: dict[str, Any] | None = None
    device_check: dict[str, Any] | None = None
    answers: list[Answer]


Comment = Annotated[str, Field(max_length=MAX_COMMENT_CHARS)]


class ReviewIn(Model):
    """A human override of one dimension's score; the comment says why."""

    dimension: Annotated[str, Field(description="a competency id of the job's model")]
    value: Annotated[float, Field(ge=0, le=10)]
    comment: Annotated[Comment, Field(pattern=NON_BLANK)]


class DecisionIn(Model):
    """A human recommendation (the final decision is always a person's)."""

    recommendation: Literal["advance", "hold", "reject"]
    comment: Comment = ""


class RemindersIn(StrictModel):
    """Which pending interviews to remind (all pending when omitted)."""

    interview_ids: Annotated[list[str], Field(max_length=5000)] | None = None
