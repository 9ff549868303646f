"""Domain types shared by the API, the store and the interview flow.

Everything here is plain data (frozen dataclasses) plus ``to_dict`` / ``from_dict``
helpers that define the JSON shape used by the REST API and by the store.
Validation that needs to report *every* problem lives in ``server.validation``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from common.localized import Localized

if TYPE_CHECKING:
    from server.domain.interviews import Interview


class Section(enum.StrEnum):
    """The three sections of the interview plan, in the order they run."""

    SELF_INTRO = "self_intro"
    STRUCTURED = "structured"
    PROFESSIONAL = "professional"


SECTION_ORDER: tuple[Section, ...] = (Section.SELF_INTRO, Section.STRUCTURED, Section.PROFESSIONAL)


class Media(enum.StrEnum):
    """How a question is answered. Camera and microphone stream for every question;
    ``text`` questions are answered in a text box on top of that."""

    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


class InterviewMode(enum.StrEnum):
    """How the candidate takes the interview, chosen at consent among the modes the org allows.

    ``video`` (camera + microphone) is the default; ``audio`` (microphone only, no face
    processing) and ``text`` (written answers, nothing recorded) are the alternatives an org
    may enable so that face processing is never mandatory (PIPL Art. 29).
    """

    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


ALTERNATIVE_MODES: tuple[InterviewMode, ...] = (InterviewMode.AUDIO, InterviewMode.TEXT)


def interview_mode(interview: Interview) -> InterviewMode | None:
    """The mode the candidate consented to (``None`` before an accepted consent).

    Consent records written before modes existed carry no mode: they were video interviews.
    """
    consent = interview.consent or {}
    if consent.get("decision") != "accept":
        return None
    try:
        return InterviewMode(consent.get("mode") or InterviewMode.VIDEO)
    except ValueError:
        return InterviewMode.VIDEO


def allowed_modes(org_settings: Mapping[str, Any]) -> list[InterviewMode]:
    """Video first, then the alternatives the org enabled."""
    enabled = org_settings.get("alternatives") or {}
    return [InterviewMode.VIDEO, *(m for m in ALTERNATIVE_MODES if enabled.get(m.value) is True)]


def personalised_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """How a plan item is shown to staff: personalised (résumé-based) or not, on what basis,
    and whether its answer counts in the rankings."""
    question = item.get("question") or {}
    return {
        "personalised": bool(item.get("personalised") or question.get("personalised")),
        "basis": question.get("basis"),
        "in_ranking": bool(question.get("in_ranking")) or not question.get("personalised"),
    }


class Status(enum.StrEnum):
    """Interview status, in lifecycle order (``declined``/``expired``/``revoked`` end it early)."""

    INVITED = "invited"
    OPENED = "opened"
    CONSENTED = "consented"
    DEVICE_CHECKED = "device_checked"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    REVOKED = "revoked"


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.DECLINED, Status.EXPIRED, Status.REVOKED})


class Role(enum.StrEnum):
    """Staff roles. ``department_viewer`` is scoped to one department."""

    ADMIN = "admin"
    HR = "hr"
    EXAMINER = "examiner"
    DEPARTMENT_VIEWER = "department_viewer"


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A logged-in staff member: who they are, where and in which role (no credentials)."""

    id: str
    org_id: str
    username: str
    role: Role
    department: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StaffUser:
        """From a ``users`` row (any further columns, the password hash too, are left out)."""
        return cls(
            row["id"], row["org_id"], row["username"], Role(row["role"]), row["department"] or ""
        )

    def to_public(self) -> dict[str, str]:
        """The fields the API shows of a staff member."""
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role.value,
            "department": self.department,
            "org_id": self.org_id,
        }


LANGUAGES = ("zh", "en")
"""Languages a question text or rubric point may carry (zh = Simplified Chinese)."""


@dataclass(frozen=True, slots=True)
class RubricPoint:
    """One key point a good answer covers, with optional match keywords per language."""

    text: Localized
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.text.to_dict()
        if self.keywords:
            out["keywords"] = {k: list(v) for k, v in self.keywords.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RubricPoint:
        kw = data.get("keywords") or {}
        return cls(
            text=Localized.from_dict(data),
            keywords={str(k): tuple(str(w) for w in v) for k, v in kw.items()},
        )


@dataclass(frozen=True, slots=True)
class Question:
    """A question in the bank or in a job's plan."""

    id: str
    section: Section
    text: Localized
    competencies: tuple[str, ...]
    rubric: tuple[RubricPoint, ...]
    prep_s: int
    answer_s: int
    media: Media
    tags: tuple[str, ...] = ()
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section.value,
            "text": self.text.to_dict(),
            "competencies": list(self.competencies),
            "rubric": [p.to_dict() for p in self.rubric],
            "prep_s": self.prep_s,
            "answer_s": self.answer_s,
            "media": self.media.value,
            "tags": list(self.tags),
            "builtin": self.builtin,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        """Build from already-validated data (see ``server.validation``)."""
        return cls(
            id=str(data["id"]),
            section=Section(data["section"]),
            text=Localized.from_dict(data["text"]),
            competencies=tuple(data["competencies"]),
            rubric=tuple(RubricPoint.from_dict(p) for p in data["rubric"]),
            prep_s=int(data["prep_s"]),
            answer_s=int(data["answer_s"]),
            media=Media(data["media"]),
            tags=tuple(data.get("tags") or ()),
            builtin=bool(data.get("builtin", False)),
        )


@dataclass(frozen=True, slots=True)
class Competency:
    """A weighted dimension of a job's competency model."""

    id: str
    name: Localized
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name.to_dict(), "weight": self.weight}
