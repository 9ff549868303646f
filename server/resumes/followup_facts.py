"""A candidate's résumé facts as personalised follow-up questions use them.

Placeholders: ``{employer}``, ``{role}``, ``{years}`` (the length of a job) come from a job,
most recent first, then longest; ``{total_years}`` is the whole career; ``{skill}``,
``{certificate}`` a skill or certificate; ``{school}``, ``{major}`` the highest degree. Facts
are untrusted text from an uploaded file: control and format characters and ``{}<>`` are
removed and every value is cut to
:data:`~server.resumes.followup_templates.MAX_FACT_CHARS`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from common.localized import Localized
from server.resumes.followup_templates import MAX_FACT_CHARS, match_form
from server.resumes.profile import Degree, Education, Experience, Profile, Sourced

MAX_MATCH_CHARS = 500
"""Characters of one résumé field that keyword matching looks at."""
MAX_TEXT_CHARS = 100_000
"""Characters of the whole résumé text that keyword matching looks at."""
MAX_SANE_MONTHS = 720
"""A job or career longer than this (60 years) is treated as an extraction error."""
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
_MISSING = frozenset(
    {"none", "null", "nil", "n/a", "na", "-", "--", "—", "无", "暂无", "未知", "unknown"}
    | {"undefined"}
)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_DROPPED_CHARS = frozenset("{}<>")
_MAX_COMBINING_RUN = 2


def _plain(value: object, limit: int = MAX_MATCH_CHARS) -> str:
    """Untrusted résumé text made safe to show: control, format, private-use and
    unassigned characters and ``{}<>`` removed, runs of combining marks capped, whitespace
    collapsed. Looks at the first ``limit`` characters only."""
    if not isinstance(value, str):
        return ""
    out: list[str] = []
    marks = 0
    for ch in unicodedata.normalize("NFC", value[: limit * 2])[:limit]:
        category = unicodedata.category(ch)
        if ch.isspace():
            out.append(" ")
            marks = 0
        elif category in _DROPPED_CATEGORIES or ch in _DROPPED_CHARS:
            continue
        elif category in ("Mn", "Me"):
            marks += 1
            if marks <= _MAX_COMBINING_RUN:
                out.append(ch)
        else:
            marks = 0
            out.append(ch)
    return " ".join("".join(out).split())


def shorten(text: str, limit: int = MAX_FACT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fact(value: object) -> str | None:
    """A résumé value fit to substitute, or None when missing."""
    text = _plain(value)
    if not text or text.casefold() in _MISSING:
        return None
    return shorten(text)


@dataclass(frozen=True, slots=True)
class _Job:
    employer: str | None
    role: str | None
    months: int | None
    dates: Localized | None
    search: str
    """Employer and role in match form."""
    role_search: str

    def provides(self, names: Iterable[str]) -> bool:
        have = {"employer": self.employer, "role": self.role, "years": self.months}
        return all(have[n] is not None for n in names)

    def basis(self) -> Localized:
        zh = [self.dates.zh] if self.dates else []
        en = [self.dates.en] if self.dates else []
        rest = [v for v in (self.employer, self.role) if v]
        return Localized(" ".join(zh + rest), " ".join(en + rest))


@dataclass(frozen=True, slots=True)
class Item:
    """One skill or certificate."""

    key: str
    """Identity across templates ("skills:2"), so two questions never rest on one item."""
    value: str
    plain: str
    search: str


@dataclass(frozen=True, slots=True)
class _School:
    school: str | None
    major: str | None

    def provides(self, names: Iterable[str]) -> bool:
        have = {"school": self.school, "major": self.major}
        return all(have[n] is not None for n in names)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a candidate's questions may rest on, made safe to quote."""

    jobs: tuple[_Job, ...]
    """Most recent first, then longest."""
    skills: tuple[Item, ...]
    certificates: tuple[Item, ...]
    schools: tuple[_School, ...]
    """Highest degree first, then most recent."""
    years: float | None
    """Total working years, None when the value is not believable."""
    text: str
    text_search: str


def facts_of(profile: Profile) -> Facts:
    """The facts of one profile."""
    jobs = sorted(
        enumerate(profile.experience),
        key=lambda ij: _job_order(ij[1]),
        reverse=True,
    )
    schools = sorted(profile.education, key=_school_order, reverse=True)
    text = _plain(profile.text, MAX_TEXT_CHARS)
    return Facts(
        jobs=tuple(_job(e) for _, e in jobs),
        skills=_items("skills", profile.skills),
        certificates=_items("certificates", profile.certificates),
        schools=tuple(_School(_fact(e.school), _fact(e.major)) for e in schools),
        years=_years_value(profile.experience_years),
        text=text,
        text_search=match_form(text),
    )


def _job(e: Experience) -> _Job:
    months = e.months
    if (
        isinstance(months, bool)
        or not isinstance(months, int)
        or not 0 <= months <= MAX_SANE_MONTHS
    ):
        months = None
    return _Job(
        employer=_fact(e.employer),
        role=_fact(e.role),
        months=months,
        dates=_dates(e.start, e.end),
        search=match_form(f"{_plain(e.employer)} {_plain(e.role)}"),
        role_search=match_form(_plain(e.role)),
    )


def _items(kind: str, values: Sequence[Sourced]) -> tuple[Item, ...]:
    out: list[Item] = []
    for i, item in enumerate(values):
        value = _fact(getattr(item, "value", None))
        if value is not None:
            plain = _plain(item.value)
            out.append(Item(f"{kind}:{i}", value, plain, match_form(plain)))
    return tuple(out)


def _years_value(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    years = float(value)
    if not math.isfinite(years) or not 0 <= years <= MAX_SANE_MONTHS / 12:
        return None
    return years


def _date_key(value: object) -> tuple[int, int]:
    if value == "present":
        return (9999, 12)
    match = _DATE_RE.match(value) if isinstance(value, str) else None
    if not match:
        return (0, 0)
    return (int(match.group(1)), int(match.group(2) or 0))


def _job_order(e: Experience) -> tuple[tuple[int, int], tuple[int, int], int]:
    start = _date_key(e.start)
    end = _date_key(e.end) if e.end else start
    months = e.months if isinstance(e.months, int) and not isinstance(e.months, bool) else 0
    return (end, start, months)


def _school_order(e: Education) -> tuple[int, tuple[int, int]]:
    try:
        level = int(Degree.from_key(e.degree)) if isinstance(e.degree, str) else 0
    except ValueError:
        level = 0
    return (level, _date_key(e.end))


def _date_text(value: object) -> Localized | None:
    if value == "present":
        return Localized("至今", "present")
    match = _DATE_RE.match(value) if isinstance(value, str) else None
    if match:
        text = match.group(1) + (f".{int(match.group(2)):02d}" if match.group(2) else "")
        return Localized(text, text)
    other = _fact(value)
    return Localized(other, other) if other else None


def _dates(start: object, end: object) -> Localized | None:
    first, last = _date_text(start), _date_text(end)
    if first is None and last is None:
        return None
    unknown = Localized("?", "?")
    a, b = first or unknown, last or unknown
    return Localized(f"{a.zh}–{b.zh}", f"{a.en}–{b.en}")


def years_text(years: float) -> Localized:
    """A number of years as a question says it (``3年`` / ``3 years``)."""
    if years < 1:
        return Localized("不到1年", "less than a year")
    n = int(years + 0.5)
    return Localized(f"{n}年", f"{n} year" if n == 1 else f"{n} years")
