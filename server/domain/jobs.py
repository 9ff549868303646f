"""A job as the store hands it out: title and department (columns) plus the settings kept in
the job's JSON ``data`` (description, language, competencies, plan, examiners, screening).

A plain frozen record (change one with :func:`dataclasses.replace`); ``to_dict`` gives the
shape the REST API shows (the columns around the ``data`` keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DATA_FIELDS = (
    "description",
    "language",
    "answer_languages",
    "competencies",
    "plan",
    "examiners",
    "screening",
)
"""The ``data`` keys a :class:`Job` has a field for (any other key is kept in ``extra``)."""


@dataclass(frozen=True, slots=True)
class Job:
    """A job of an org: what candidates are asked (``plan``), how answers are weighed
    (``competencies``), who examines it and how résumés are screened for it."""

    id: str
    org_id: str
    title: str
    department: str
    created_at: float
    updated_at: float
    description: str = ""
    language: str = "zh-CN"
    """The interview language: ``zh-CN`` or ``en``."""
    answer_languages: tuple[str, ...] = ()
    """Languages an answer may be given in besides the interview's own (``zh``, ``en``)."""
    competencies: list[dict[str, Any]] = field(default_factory=list)
    """``{"id", "name": {"zh", "en"}, "weight"}`` per competency."""
    plan: list[dict[str, Any]] = field(default_factory=list)
    """``{"section", "questions": [question id, …]}`` per section, in running order."""
    examiners: tuple[str, ...] | None = None
    """User ids of the examiners assigned to the job (``None``: never assigned)."""
    screening: dict[str, Any] | None = None
    """Résumé screening settings as stored (``requirements``, ``followups``); ``None``: never
    set (see :func:`server.resumes.intake.screening_of` for the defaults)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Any other ``data`` key, kept as stored."""
    data_order: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The ``data`` keys in their stored order, which ``to_dict`` keeps (the JSON a job had
    before it was a record; a key missing from it follows in the fields' order)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], data: Mapping[str, Any] | None) -> Job:
        """From a ``jobs`` row and its ``data`` column, already parsed."""
        data = data or {}
        examiners = data.get("examiners")
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            title=row["title"],
            department=row["department"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            description=data.get("description", ""),
            language=data.get("language", "zh-CN"),
            answer_languages=tuple(data.get("answer_languages") or ()),
            competencies=list(data.get("competencies") or []),
            plan=list(data.get("plan") or []),
            examiners=None if examiners is None else tuple(examiners),
            screening=data.get("screening"),
            extra={k: v for k, v in data.items() if k not in DATA_FIELDS},
            data_order=tuple(data),
        )

    def to_dict(self) -> dict[str, Any]:
        """The job as the API shows it (``examiners`` and ``screening`` only once set)."""
        data: dict[str, Any] = {
            "description": self.description,
            "language": self.language,
            "answer_languages": list(self.answer_languages),
            "competencies": self.competencies,
            "plan": self.plan,
        }
        if self.examiners is not None:
            data["examiners"] = list(self.examiners)
        if self.screening is not None:
            data["screening"] = self.screening
        data.update(self.extra)
        ordered = {k: data[k] for k in self.data_order if k in data}
        return {
            "id": self.id,
            "org_id": self.org_id,
            "title": self.title,
            "department": self.department,
            **ordered,
            **data,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
