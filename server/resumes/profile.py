"""A candidate's structured profile extracted from a résumé (the contract between intake,
screening, follow-up questions and the API).

Every extracted value keeps the résumé text it came from (``source``), so HR can check it.
Dates are ``"YYYY-MM"`` strings (``"YYYY"`` when only the year is known) or ``"present"``.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Degree(enum.IntEnum):
    """Education levels in order; the value compares (``Degree.MASTER > Degree.BACHELOR``)."""

    HIGH_SCHOOL = 1
    """高中 / 中专 / 职高, high school, secondary vocational."""
    ASSOCIATE = 2
    """大专 / 专科 / 高职, associate degree, college diploma."""
    BACHELOR = 3
    """本科 / 学士, bachelor."""
    MASTER = 4
    """硕士 / 研究生 (master level), master, MBA, MPA."""
    DOCTOR = 5
    """博士, PhD, doctorate."""

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Degree:
        """``"bachelor"`` → :attr:`BACHELOR`; raises ``ValueError`` for anything else."""
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(f"unknown degree {key!r}") from None


DEGREE_LABELS: dict[Degree, dict[str, str]] = {
    Degree.HIGH_SCHOOL: {"zh": "高中", "en": "high school"},
    Degree.ASSOCIATE: {"zh": "大专", "en": "associate"},
    Degree.BACHELOR: {"zh": "本科", "en": "bachelor"},
    Degree.MASTER: {"zh": "硕士", "en": "master"},
    Degree.DOCTOR: {"zh": "博士", "en": "doctor"},
}


@dataclass(frozen=True, slots=True)
class Sourced:
    """One extracted value and the résumé text it came from."""

    value: str
    source: str


@dataclass(frozen=True, slots=True)
class Education:
    degree: str | None
    """A :class:`Degree` key ("bachelor", ...) or None when no level was recognised."""
    degree_text: str | None
    """The words used in the résumé ("本科", "B.Sc.", ...)."""
    major: str | None
    school: str | None
    start: str | None
    end: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Experience:
    employer: str | None
    role: str | None
    start: str | None
    end: str | None
    """"YYYY-MM", "YYYY" or "present"."""
    months: int | None
    """Length of this job in whole months (None when a date is missing)."""
    source: str


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything extracted from one résumé."""

    language: str
    """"zh" or "en": the résumé's main language."""
    name: Sourced | None = None
    email: Sourced | None = None
    phone: Sourced | None = None
    education: tuple[Education, ...] = ()
    experience: tuple[Experience, ...] = ()
    experience_years: float = 0.0
    """Total working years, overlapping jobs counted once, one decimal."""
    skills: tuple[Sourced, ...] = ()
    certificates: tuple[Sourced, ...] = ()
    text: str = field(default="", repr=False)
    """The whole extracted text (screening searches it for keywords)."""

    @property
    def highest_degree(self) -> Degree | None:
        levels = [Degree.from_key(e.degree) for e in self.education if e.degree]
        return max(levels) if levels else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored and returned by the API (without the full text)."""
        highest = self.highest_degree
        return {
            "language": self.language,
            "name": self.name.value if self.name else None,
            "email": self.email.value if self.email else None,
            "phone": self.phone.value if self.phone else None,
            "education": [asdict(e) for e in self.education],
            "highest_degree": highest.key if highest else None,
            "experience": [asdict(e) for e in self.experience],
            "experience_years": self.experience_years,
            "skills": [s.value for s in self.skills],
            "certificates": [c.value for c in self.certificates],
            "sources": {
                **{k: v.source for k, v in self._singles().items() if v is not None},
                "skills": {s.value: s.source for s in self.skills},
                "certificates": {c.value: c.source for c in self.certificates},
            },
        }

    def _singles(self) -> dict[str, Sourced | None]:
        return {"name": self.name, "email": self.email, "phone": self.phone}

    @classmethod
    def from_dict(cls, data: dict[str, Any], text: str = "") -> Profile:
        sources = data.get("sources") or {}

        def single(key: str) -> Sourced | None:
            value = data.get(key)
            return Sourced(str(value), str(sources.get(key, ""))) if value else None

        def many(key: str) -> tuple[Sourced, ...]:
            found = sources.get(key) or {}
            return tuple(Sourced(str(v), str(found.get(v, ""))) for v in data.get(key) or [])

        return cls(
            language=str(data.get("language") or "en"),
            name=single("name"),
            email=single("email"),
            phone=single("phone"),
            education=tuple(Education(**e) for e in data.get("education") or []),
            experience=tuple(Experience(**e) for e in data.get("experience") or []),
            experience_years=float(data.get("experience_years") or 0.0),
            skills=many("skills"),
            certificates=many("certificates"),
            text=text,
        )
