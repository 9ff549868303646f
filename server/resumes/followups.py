"""Personalised follow-up questions built from a candidate's résumé profile.

Before an interview one or two questions are added to the structured section, each built
from a template in ``server/data/followups.json`` that fits what the résumé shows: the
industry and role of a job, the total years of experience, a notable skill or certificate.
The core questions of a job stay identical for every candidate; these are marked
``"personalised": true`` and carry a ``"basis"``: the résumé facts the question was built
from, for the examiner (and so that rankings can leave them out).

A template::

    {"id": "ecommerce-data-conversion", "kind": "industry", "priority": 80,
     "when": {"industry": [...], "role": [...], "skills": [...], "certificates": [...],
              "min_years": 1, "max_years": 3, "except_in": {"en": [...]}},
     "text": {"zh": "您在{employer}担任{role}{years}……", "en": "You worked as {role} at ..."},
     "competencies": ["data_driven", "logic"], "rubric": [...3 or 4 points...],
     "prep_s": 60, "answer_s": 180, "tags": ["ecommerce"]}

Conditions (all that are present must hold; within one list any keyword will do):

* ``industry``: a job whose employer or role matches; templates that use no job
  placeholder (``{employer}``, ``{role}``, ``{years}``) may instead match a skill or the
  résumé text.
* ``role``: a job whose role matches (the same job as ``industry`` when both are given).
* ``skills`` / ``certificates``: a listed skill or certificate (each list is searched
  first, then the other, since intake may file "CPA" under skills); ``except_in`` drops
  matches that are the interview's own language (English in an English interview).
* ``min_years`` (inclusive) / ``max_years`` (exclusive): total working years.

Keywords match case-insensitively; Chinese ones anywhere, Latin ones as whole words
(an optional plural ``s``; spaces and hyphens inside a keyword are optional).

Placeholders: ``{employer}``, ``{role}``, ``{years}`` (the length of that job) come from
the job the conditions matched, most recent first, then longest; ``{total_years}`` is the
whole career; ``{skill}``, ``{certificate}`` the matched skill or certificate;
``{school}``, ``{major}`` the highest degree. A template whose facts are missing is not
eligible. Facts are untrusted text from an uploaded file: control and format characters
and ``{}<>`` are removed and every value is cut to :data:`MAX_FACT_CHARS`.

Selection: see :func:`personalise`. Pure functions; the only I/O is reading the packaged
JSON once (:func:`load_templates`).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from common.competencies import BY_ID as COMPETENCIES
from common.localized import Localized
from common.text import is_cjk
from server.domain.models import Media, RubricPoint, Section
from server.hiring.questionbank import validate_question
from server.resumes.profile import Degree, Education, Experience, Profile, Sourced

MAX_FOLLOWUPS = 2
"""Most personalised questions one candidate gets."""
MAX_FACT_CHARS = 40
"""Longest résumé value substituted into a question or shown in its basis (characters)."""
SHORT_SKILL_CHARS = 24
"""A skill or certificate up to this long is quoted whole; a longer one by the matched
keyword ("熟练使用Python进行数据分析" → "Python")."""
MAX_MATCH_CHARS = 500
"""Characters of one résumé field that keyword matching looks at."""
MAX_TEXT_CHARS = 100_000
"""Characters of the whole résumé text that keyword matching looks at."""
SNIPPET_CONTEXT_CHARS = 12
"""Characters either side of a keyword quoted from the résumé text in a basis."""
MAX_SANE_MONTHS = 720
"""A job or career longer than this (60 years) is treated as an extraction error."""
DEFAULT_PREP_S = 60
DEFAULT_ANSWER_S = 180
RUBRIC_POINTS = (3, 4)
"""Fewest and most rubric points per template."""
MAX_KEYWORD_CHARS = 60
GENERIC_COMPETENCIES = ("logic", "expression")
"""Shown by any structured answer; the fallback when no template's own competencies are
in the job (see :func:`personalise`)."""
PERSONALISED_TAG = "personalised"
ID_HASH_CHARS = 8

PLACEHOLDERS = frozenset(
    {"employer", "role", "years", "total_years", "skill", "certificate", "school", "major"}
)
JOB_PLACEHOLDERS = frozenset({"employer", "role", "years"})
SCHOOL_PLACEHOLDERS = frozenset({"school", "major"})

_BANK_RESOURCE = ("data", "followups.json")
_TEMPLATE_FIELDS = frozenset(
    {"id", "kind", "priority", "when", "text", "competencies", "rubric"}
    | {"prep_s", "answer_s", "tags"}
)
_REQUIRED_FIELDS = ("id", "kind", "priority", "when", "text", "competencies", "rubric")
_WHEN_LISTS = ("industry", "role", "skills", "certificates")
_WHEN_FIELDS = frozenset({*_WHEN_LISTS, "min_years", "max_years", "except_in"})
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
_MISSING = frozenset(
    {"none", "null", "nil", "n/a", "na", "-", "--", "—", "无", "暂无", "未知", "unknown"}
    | {"undefined"}
)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_DROPPED_CHARS = frozenset("{}<>")
_MAX_COMBINING_RUN = 2


class Kind(enum.StrEnum):
    """What a template is mainly about; a candidate never gets two of the same kind."""

    INDUSTRY = "industry"
    ROLE = "role"
    SKILL = "skill"
    BAND = "band"
    """Experience band (fresh graduate, 1–3, 3–8, 8+ years)."""


INDUSTRY_WEIGHT = 6
SKILL_WEIGHT = 4
ROLE_WEIGHT = 2
YEARS_WEIGHT = 1
"""Specificity = the sum of the weights of a template's conditions, so skill + industry
(10) > industry (6) > skill (4) > role (2) > years band (1)."""


class TemplateError(RuntimeError):
    """The template library is invalid (a bug, not user input); ``problems`` lists all."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"follow-up templates are invalid: {'; '.join(self.problems)}")


# --------------------------------------------------------------------------- keywords


@dataclass(frozen=True, slots=True)
class Keywords:
    """Keywords in preference order, each compiled to a case-insensitive pattern."""

    words: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, words: Iterable[str]) -> Keywords:
        items = tuple(dict.fromkeys(_match_form(w) for w in words))
        return cls(items, tuple(re.compile(_keyword_pattern(w)) for w in items))

    def find(self, text: str) -> re.Match[str] | None:
        """The match of the first keyword (in list order) found in match-form ``text``."""
        for pattern in self.patterns:
            found = pattern.search(text)
            if found:
                return found
        return None


def _keyword_pattern(word: str) -> str:
    parts = [r"[\s_\-]*" if ch in " -" else re.escape(ch) for ch in word]
    head = r"(?<![a-z0-9])" if _is_ascii_alnum(word[0]) else ""
    tail = ""
    if _is_ascii_alnum(word[-1]):
        plural = "(?:s|es)?" if word[-1].isalpha() else ""
        tail = plural + r"(?![a-z0-9])"
    return head + "".join(parts) + tail


def _match_form(text: str) -> str:
    """How text and keywords are compared: NFKC, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _is_ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class Conditions:
    industry: Keywords | None = None
    role: Keywords | None = None
    skills: Keywords | None = None
    certificates: Keywords | None = None
    min_years: float | None = None
    """Inclusive."""
    max_years: float | None = None
    """Exclusive."""
    except_in: Mapping[str, Keywords] | None = None
    """Interview language → skills/certificates that do not count in that language."""


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    kind: Kind
    priority: int
    """Breaks ties between equally specific templates (higher first, then by id)."""
    when: Conditions
    text: Localized
    competencies: tuple[str, ...]
    rubric: tuple[RubricPoint, ...]
    prep_s: int
    answer_s: int
    tags: tuple[str, ...]
    placeholders: frozenset[str]

    @property
    def specificity(self) -> int:
        w = self.when
        return (
            (INDUSTRY_WEIGHT if w.industry else 0)
            + (SKILL_WEIGHT if w.skills or w.certificates else 0)
            + (ROLE_WEIGHT if w.role else 0)
            + (YEARS_WEIGHT if w.min_years is not None or w.max_years is not None else 0)
        )


@functools.cache
def load_templates() -> tuple[Template, ...]:
    """The packaged template library (cached); raises :class:`TemplateError` if invalid."""
    ref = resources.files("server")
    for part in _BANK_RESOURCE:
        ref = ref.joinpath(part)
    return parse_templates(json.loads(ref.read_text(encoding="utf-8")))


def parse_templates(items: object) -> tuple[Template, ...]:
    """Validate a template library (the JSON list); raises :class:`TemplateError` listing
    every problem, naming the template and field."""
    if not isinstance(items, list) or not items:
        raise TemplateError(["the library must be a non-empty JSON list of templates"])
    problems: list[str] = []
    templates: list[Template] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        label = f"[{index}]"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label = f"[{index}] {item['id']}"
            if item["id"] in seen:
                problems.append(f"{label}: duplicate id")
            seen.add(item["id"])
        found: list[str] = []
        template = _parse_template(item, found)
        problems.extend(f"{label}: {p}" for p in found)
        if template is not None:
            templates.append(template)
    if problems:
        raise TemplateError(problems)
    return tuple(templates)


def _parse_template(item: object, problems: list[str]) -> Template | None:
    if not isinstance(item, dict):
        problems.append("must be an object")
        return None
    problems.extend(f"{k}: unknown field" for k in item if k not in _TEMPLATE_FIELDS)
    problems.extend(f"{k}: is required" for k in _REQUIRED_FIELDS if k not in item)
    if problems:
        return None
    tid = item["id"]
    if not isinstance(tid, str) or not _ID_RE.match(tid):
        problems.append("id: must be 2–41 lowercase letters, digits or '-'")
    try:
        kind = Kind(item["kind"])
    except ValueError:
        problems.append(f"kind: must be one of {', '.join(k.value for k in Kind)}")
        return None
    priority = item["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        problems.append("priority: must be a whole number from 0 to 100")
    when = _parse_when(item["when"], problems)
    text = item["text"]
    placeholders = _check_text(text, problems)
    competencies = item["competencies"]
    if isinstance(competencies, list):
        problems.extend(
            f"competencies: unknown competency {c!r}" for c in competencies if c not in COMPETENCIES
        )
    _check_rubric(item["rubric"], problems)
    if when is not None and placeholders is not None:
        _check_consistency(kind, when, placeholders, problems)
    # The shape and size limits a bank question must meet, with every placeholder filled
    # by a fact of the longest allowed length.
    sample = {
        "section": Section.STRUCTURED.value,
        "text": _sample_text(text),
        "competencies": competencies,
        "rubric": item["rubric"],
        "prep_s": item.get("prep_s", DEFAULT_PREP_S),
        "answer_s": item.get("answer_s", DEFAULT_ANSWER_S),
        "media": Media.VIDEO.value,
        "tags": [PERSONALISED_TAG, kind.value, *(item.get("tags") or [])],
    }
    data, errors = validate_question(sample, None)
    problems.extend(f"{e.field}: {e.message}" for e in errors)
    if problems or data is None or when is None or placeholders is None:
        return None
    return Template(
        id=tid,
        kind=kind,
        priority=priority,
        when=when,
        text=Localized.from_dict(text),
        competencies=tuple(data["competencies"]),
        rubric=tuple(RubricPoint.from_dict(p) for p in data["rubric"]),
        prep_s=data["prep_s"],
        answer_s=data["answer_s"],
        tags=tuple(tag for tag in data["tags"] if tag not in (PERSONALISED_TAG, kind.value)),
        placeholders=placeholders,
    )


def _parse_when(when: object, problems: list[str]) -> Conditions | None:
    if not isinstance(when, dict):
        problems.append("when: must be an object")
        return None
    problems.extend(f"when.{k}: unknown condition" for k in when if k not in _WHEN_FIELDS)
    lists: dict[str, Keywords | None] = {}
    for key in _WHEN_LISTS:
        lists[key] = _parse_keywords(when.get(key), f"when.{key}", problems)
    years: dict[str, float | None] = {}
    for key in ("min_years", "max_years"):
        value = when.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60
        ):
            problems.append(f"when.{key}: must be a number of years from 0 to 60")
            value = None
        years[key] = None if value is None else float(value)
    low, high = years["min_years"], years["max_years"]
    if low is not None and high is not None and low >= high:
        problems.append("when: min_years must be less than max_years")
    except_in: dict[str, Keywords] = {}
    raw_except = when.get("except_in")
    if raw_except is not None:
        if not isinstance(raw_except, dict):
            problems.append("when.except_in: must map a language (zh, en) to keywords")
        else:
            for lang, words in raw_except.items():
                parsed = _parse_keywords(words, f"when.except_in.{lang}", problems)
                if lang not in ("zh", "en"):
                    problems.append(f"when.except_in.{lang}: unknown language; use zh or en")
                elif parsed is not None:
                    except_in[lang] = parsed
        if not (lists["skills"] or lists["certificates"]):
            problems.append("when.except_in: needs a skills or certificates condition")
    if not any(lists.values()) and low is None and high is None:
        problems.append("when: needs at least one condition")
    return Conditions(
        industry=lists["industry"],
        role=lists["role"],
        skills=lists["skills"],
        certificates=lists["certificates"],
        min_years=low,
        max_years=high,
        except_in=except_in or None,
    )


def _parse_keywords(value: object, field: str, problems: list[str]) -> Keywords | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        problems.append(f"{field}: must be a non-empty list of keywords")
        return None
    bad = [
        w
        for w in value
        if not isinstance(w, str) or not w.strip() or len(w) > MAX_KEYWORD_CHARS or w != w.strip()
    ]
    if bad:
        problems.append(f"{field}: bad keywords {bad!r} (non-empty, trimmed, ≤{MAX_KEYWORD_CHARS})")
        return None
    return Keywords.of(value)


def _check_text(text: object, problems: list[str]) -> frozenset[str] | None:
    if not isinstance(text, dict) or set(text) != {"zh", "en"}:
        problems.append("text: needs exactly zh and en")
        return None
    before = len(problems)
    found: dict[str, set[str]] = {}
    for lang in ("zh", "en"):
        value = text[lang]
        if not isinstance(value, str) or not value.strip():
            problems.append(f"text.{lang}: must be a non-empty string")
            return None
        names = set(_PLACEHOLDER_RE.findall(value))
        problems.extend(
            f"text.{lang}: unknown placeholder {{{n}}}; known: {', '.join(sorted(PLACEHOLDERS))}"
            for n in sorted(names - PLACEHOLDERS)
        )
        if "{" in _PLACEHOLDER_RE.sub("", value) or "}" in _PLACEHOLDER_RE.sub("", value):
            problems.append(f"text.{lang}: has an unmatched brace")
        found[lang] = names
    if found["zh"] != found["en"]:
        problems.append("text: zh and en must use the same placeholders")
    if not found["zh"]:
        problems.append("text: must use at least one résumé placeholder (or it is not personal)")
    return frozenset(found["zh"]) if len(problems) == before else None


def _check_rubric(rubric: object, problems: list[str]) -> None:
    low, high = RUBRIC_POINTS
    if not isinstance(rubric, list) or not low <= len(rubric) <= high:
        problems.append(f"rubric: needs {low} to {high} points")
        return
    for i, point in enumerate(rubric):
        keywords = point.get("keywords") if isinstance(point, dict) else None
        if not isinstance(keywords, dict) or not all(keywords.get(lang) for lang in ("zh", "en")):
            problems.append(f"rubric[{i}].keywords: needs keywords in zh and en")
        if not isinstance(point, dict) or not (point.get("zh") and point.get("en")):
            problems.append(f"rubric[{i}]: needs text in zh and en")


def _check_consistency(
    kind: Kind, when: Conditions, placeholders: frozenset[str], problems: list[str]
) -> None:
    if "skill" in placeholders and not when.skills:
        problems.append("text: {skill} needs a when.skills condition")
    if "certificate" in placeholders and not when.certificates:
        problems.append("text: {certificate} needs a when.certificates condition")
    has_years = when.min_years is not None or when.max_years is not None
    required = {
        Kind.INDUSTRY: when.industry is not None,
        Kind.ROLE: when.role is not None,
        Kind.SKILL: when.skills is not None or when.certificates is not None,
        Kind.BAND: has_years
        and not (when.industry or when.role or when.skills or when.certificates),
    }
    if not required[kind]:
        problems.append(f"kind: a {kind.value} template needs the matching when condition")


def _sample_text(text: object) -> object:
    if not isinstance(text, dict):
        return text
    filler = "X" * MAX_FACT_CHARS
    return {k: _PLACEHOLDER_RE.sub(filler, v) if isinstance(v, str) else v for k, v in text.items()}


# --------------------------------------------------------------------------- candidate facts


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


def _cut(text: str, limit: int = MAX_FACT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fact(value: object) -> str | None:
    """A résumé value fit to substitute, or None when missing."""
    text = _plain(value)
    if not text or text.casefold() in _MISSING:
        return None
    return _cut(text)


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
class _Item:
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
class _Facts:
    jobs: tuple[_Job, ...]
    """Most recent first, then longest."""
    skills: tuple[_Item, ...]
    certificates: tuple[_Item, ...]
    schools: tuple[_School, ...]
    """Highest degree first, then most recent."""
    years: float | None
    """Total working years, None when the value is not believable."""
    text: str
    text_search: str


def _facts(profile: Profile) -> _Facts:
    jobs = sorted(
        enumerate(profile.experience),
        key=lambda ij: _job_order(ij[1]),
        reverse=True,
    )
    schools = sorted(profile.education, key=_school_order, reverse=True)
    text = _plain(profile.text, MAX_TEXT_CHARS)
    return _Facts(
        jobs=tuple(_job(e) for _, e in jobs),
        skills=_items("skills", profile.skills),
        certificates=_items("certificates", profile.certificates),
        schools=tuple(_School(_fact(e.school), _fact(e.major)) for e in schools),
        years=_years_value(profile.experience_years),
        text=text,
        text_search=_match_form(text),
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
        search=_match_form(f"{_plain(e.employer)} {_plain(e.role)}"),
        role_search=_match_form(_plain(e.role)),
    )


def _items(kind: str, values: Sequence[Sourced]) -> tuple[_Item, ...]:
    out: list[_Item] = []
    for i, item in enumerate(values):
        value = _fact(getattr(item, "value", None))
        if value is not None:
            plain = _plain(item.value)
            out.append(_Item(f"{kind}:{i}", value, plain, _match_form(plain)))
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


def _years_text(years: float) -> Localized:
    if years < 1:
        return Localized("不到1年", "less than a year")
    n = int(years + 0.5)
    return Localized(f"{n}年", f"{n} year" if n == 1 else f"{n} years")


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class _Match:
    template: Template
    values: Mapping[str, Localized]
    basis: tuple[Localized, ...]
    items: frozenset[str]
    """Keys of the skills/certificates used."""


def _language(language: str) -> str:
    if isinstance(language, str) and language.lower().startswith("zh"):
        return "zh"
    if isinstance(language, str) and language.lower().startswith("en"):
        return "en"
    raise ValueError(f"unknown interview language {language!r}; use zh, zh-CN or en")


def _find_item(
    keywords: Keywords, pools: Sequence[tuple[_Item, ...]], excluded: Keywords | None
) -> tuple[_Item, str] | None:
    """The first item matching the earliest keyword, and how to quote it."""
    for pattern in keywords.patterns:
        for pool in pools:
            for item in pool:
                found = pattern.search(item.search)
                if not found or (excluded and excluded.find(item.search)):
                    continue
                if len(item.value) <= SHORT_SKILL_CHARS:
                    return item, item.value
                same = len(item.search) == len(item.plain)
                quoted = (item.plain if same else item.search)[found.start() : found.end()]
                return item, _cut(quoted)
    return None


def _snippet(facts: _Facts, found: re.Match[str]) -> str:
    source = facts.text if len(facts.text) == len(facts.text_search) else facts.text_search
    start = max(0, found.start() - SNIPPET_CONTEXT_CHARS)
    end = min(len(source), found.end() + SNIPPET_CONTEXT_CHARS)
    text = source[start:end].strip()
    return ("…" if start else "") + text + ("…" if end < len(source) else "")


def _match(template: Template, facts: _Facts, language: str) -> _Match | None:
    when = template.when
    values: dict[str, Localized] = {}
    basis: list[Localized] = []
    items: set[str] = set()
    excluded = (when.except_in or {}).get(language)

    if when.min_years is not None or when.max_years is not None:
        if facts.years is None:
            return None
        if when.min_years is not None and facts.years < when.min_years:
            return None
        if when.max_years is not None and facts.years >= when.max_years:
            return None
    if "total_years" in template.placeholders:
        if not facts.years:
            return None
        values["total_years"] = _years_text(facts.years)

    for name, keywords, pools in (
        ("skill", when.skills, (facts.skills, facts.certificates)),
        ("certificate", when.certificates, (facts.certificates, facts.skills)),
    ):
        if keywords is None:
            continue
        picked = _find_item(keywords, pools, excluded)
        if picked is None:
            return None
        item, quoted = picked
        values[name] = Localized(quoted, quoted)
        items.add(item.key)
        label = (
            ("证书", "Certificate") if item.key.startswith("certificates") else ("技能", "Skill")
        )
        basis.append(Localized(f"{label[0]}：{item.value}", f"{label[1]}: {item.value}"))

    job_basis = _match_job(template, facts, values)
    if job_basis is None:
        return None
    basis[:0] = job_basis

    needed = template.placeholders & SCHOOL_PLACEHOLDERS
    if needed:
        school = next((s for s in facts.schools if s.provides(needed)), None)
        if school is None:
            return None
        for name in sorted(needed):
            fact = school.school if name == "school" else school.major
            values[name] = Localized(fact or "", fact or "")
        words = " ".join(v for v in (school.school, school.major) if v)
        basis.append(Localized(f"教育：{words}", f"Education: {words}"))

    banded = when.min_years is not None or when.max_years is not None
    if (banded or "total_years" in template.placeholders) and facts.years is not None:
        span = _years_text(facts.years) if facts.years else Localized("无", "none")
        basis.append(Localized(f"工作年限：{span.zh}", f"Work experience: {span.en}"))
    return _Match(template, values, tuple(basis), frozenset(items))


def _match_job(
    template: Template, facts: _Facts, values: dict[str, Localized]
) -> list[Localized] | None:
    """Fill the job placeholders; the basis lines used, or None if not eligible."""
    when = template.when
    needed = template.placeholders & JOB_PLACEHOLDERS
    if not (when.industry or when.role or needed):
        return []
    jobs = [
        j
        for j in facts.jobs
        if (when.industry is None or when.industry.find(j.search))
        and (when.role is None or when.role.find(j.role_search))
    ]
    usable = [j for j in jobs if j.provides(needed)]
    if usable:
        job = usable[0]
        for name in sorted(needed):
            if name == "years":
                values[name] = _years_text((job.months or 0) / 12)
            else:
                fact = job.employer if name == "employer" else job.role
                values[name] = Localized(fact or "", fact or "")
        line = job.basis()
        return [line] if line.zh else []
    if needed or when.role or when.industry is None:
        return None
    # No job in the industry: a template without job facts may rest on a skill or the text.
    for item in facts.skills:
        if when.industry.find(item.search):
            return [Localized(f"技能：{item.value}", f"Skill: {item.value}")]
    found = when.industry.find(facts.text_search)
    if found is None:
        return None
    quote = _snippet(facts, found)
    return [Localized(f"原文“{quote}”", f"text “{quote}”")]


# --------------------------------------------------------------------------- output


def _render(text: str, values: Mapping[str, str], zh: bool) -> str:
    """Fill placeholders in one pass (a value is never expanded again); in Chinese text a
    space separates a substituted Latin word from the Chinese around it."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for found in _PLACEHOLDER_RE.finditer(text):
        pieces.append((text[pos : found.start()], False))
        pieces.append((values[found.group(1)], True))
        pos = found.end()
    pieces.append((text[pos:], False))
    out = ""
    last_was_value = False
    for piece, is_value in pieces:
        if not piece:
            continue
        if zh and out and (is_value or last_was_value) and _needs_space(out[-1], piece[0]):
            out += " "
        out += piece
        last_was_value = is_value
    return out


def _needs_space(before: str, after: str) -> bool:
    return (_is_ascii_letter(before) and (is_cjk(after) or _is_ascii_alnum(after))) or (
        is_cjk(before) and _is_ascii_letter(after)
    )


def _question(found: _Match, competencies: tuple[str, ...]) -> dict[str, Any]:
    t = found.template
    zh_values = {k: v.zh for k, v in found.values.items()}
    en_values = {k: v.en for k, v in found.values.items()}
    basis = Localized(
        "简历：" + "；".join(b.zh for b in found.basis),
        "Résumé: " + "; ".join(b.en for b in found.basis),
    )
    facts = json.dumps({"values": zh_values, "basis": basis.zh}, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(facts.encode("utf-8")).hexdigest()[:ID_HASH_CHARS]
    tags = list(dict.fromkeys((PERSONALISED_TAG, t.kind.value, *t.tags)))
    return {
        "id": f"fu-{t.id}-{digest}",
        "section": Section.STRUCTURED.value,
        "text": {
            "zh": _render(t.text.zh, zh_values, zh=True),
            "en": _render(t.text.en, en_values, zh=False),
        },
        "competencies": list(competencies),
        "rubric": [p.to_dict() for p in t.rubric],
        "prep_s": t.prep_s,
        "answer_s": t.answer_s,
        "media": Media.VIDEO.value,
        "tags": tags,
        "builtin": False,
        "personalised": True,
        "basis": {"zh": basis.zh, "en": basis.en},
    }


def _job_competency_ids(job: Mapping[str, Any]) -> frozenset[str] | None:
    raw = job.get("competencies") if isinstance(job, Mapping) else None
    if not isinstance(raw, list):
        return None
    ids = frozenset(c["id"] for c in raw if isinstance(c, Mapping) and isinstance(c.get("id"), str))
    return ids or None


def build(template: Template, profile: Profile, language: str) -> dict[str, Any] | None:
    """The question one template makes for this candidate, or None when not eligible
    (no job filtering and no selection: for previews and tests)."""
    found = _match(template, _facts(profile), _language(language))
    return None if found is None else _question(found, template.competencies)


def personalise(
    profile: Profile, job: Mapping[str, Any], language: str, count: int = MAX_FOLLOWUPS
) -> list[dict[str, Any]]:
    """Up to ``count`` personalised structured questions for one candidate.

    ``language`` is the interview language ("zh", "zh-CN" or "en"); both texts are filled,
    it decides which skills count (``except_in``). Returns ``Question.to_dict()``-shaped
    dicts plus ``"personalised": True`` and ``"basis": {"zh", "en"}``; ``[]`` when the
    résumé offers nothing to build on.

    Selection:

    1. A template is eligible when its conditions hold and every placeholder has a fact.
    2. Job competencies: with ``job["competencies"]`` given, only templates whose
       competencies intersect it, each question keeping just the shared ids. If no
       eligible template intersects, the eligible ones are used on
       :data:`GENERIC_COMPETENCIES` present in the job; if the job has none, ``[]``.
       A job without competencies does not filter.
    3. Ranked by specificity (skill + industry > industry > skill > role > years band),
       then ``priority``, then id. Picked in that order, skipping a template of a kind
       already picked or resting on a skill/certificate already used.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_FOLLOWUPS:
        raise ValueError(f"count must be 0 to {MAX_FOLLOWUPS}")
    lang = _language(language)
    if count == 0:
        return []
    facts = _facts(profile)
    matches = [m for t in load_templates() if (m := _match(t, facts, lang)) is not None]

    wanted = _job_competency_ids(job)
    pool: list[tuple[_Match, tuple[str, ...]]]
    if wanted is None:
        pool = [(m, m.template.competencies) for m in matches]
    else:
        pool = [
            (m, shared)
            for m in matches
            if (shared := tuple(c for c in m.template.competencies if c in wanted))
        ]
        if not pool:
            generic = tuple(c for c in GENERIC_COMPETENCIES if c in wanted)
            if not generic:
                return []
            pool = [(m, generic) for m in matches]

    pool.sort(
        key=lambda mc: (-mc[0].template.specificity, -mc[0].template.priority, mc[0].template.id)
    )
    out: list[dict[str, Any]] = []
    kinds: set[Kind] = set()
    used: set[str] = set()
    for found, competencies in pool:
        if len(out) >= count:
            break
        if found.template.kind in kinds or found.items & used:
            continue
        kinds.add(found.template.kind)
        used |= found.items
        out.append(_question(found, competencies))
    return out
