"""The template library of personalised follow-up questions (``server/data/followups.json``).

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

Placeholders are listed in :data:`PLACEHOLDERS` (filled by :mod:`server.resumes.followups`).
A template is validated as a bank question would be, every placeholder filled by a fact of
:data:`MAX_FACT_CHARS` characters. The only I/O is reading the packaged JSON once
(:func:`load_templates`).
"""

from __future__ import annotations

import enum
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from common.competencies import BY_ID as COMPETENCIES
from common.localized import Localized
from server.domain.models import Media, RubricPoint, Section
from server.hiring.questionbank import validate_question

MAX_FACT_CHARS = 40
"""Longest résumé value substituted into a question or shown in its basis (characters)."""
DEFAULT_PREP_S = 60
DEFAULT_ANSWER_S = 180
RUBRIC_POINTS = (3, 4)
"""Fewest and most rubric points per template."""
MAX_KEYWORD_CHARS = 60
PERSONALISED_TAG = "personalised"

PLACEHOLDERS = frozenset(
    {"employer", "role", "years", "total_years", "skill", "certificate", "school", "major"}
)
"""Placeholders a template text may use."""

_BANK_RESOURCE = ("data", "followups.json")
_TEMPLATE_FIELDS = frozenset(
    {"id", "kind", "priority", "when", "text", "competencies", "rubric"}
    | {"prep_s", "answer_s", "tags"}
)
_REQUIRED_FIELDS = ("id", "kind", "priority", "when", "text", "competencies", "rubric")
_WHEN_LISTS = ("industry", "role", "skills", "certificates")
_WHEN_FIELDS = frozenset({*_WHEN_LISTS, "min_years", "max_years", "except_in"})
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
"""A ``{name}`` placeholder in a template text."""


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
        items = tuple(dict.fromkeys(match_form(w) for w in words))
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
    head = r"(?<![a-z0-9])" if is_ascii_alnum(word[0]) else ""
    tail = ""
    if is_ascii_alnum(word[-1]):
        plural = "(?:s|es)?" if word[-1].isalpha() else ""
        tail = plural + r"(?![a-z0-9])"
    return head + "".join(parts) + tail


def match_form(text: str) -> str:
    """How text and keywords are compared: NFKC, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def is_ascii_alnum(ch: str) -> bool:
    """An ASCII letter or digit."""
    return ch.isascii() and ch.isalnum()


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
        names = set(PLACEHOLDER_RE.findall(value))
        problems.extend(
            f"text.{lang}: unknown placeholder {{{n}}}; known: {', '.join(sorted(PLACEHOLDERS))}"
            for n in sorted(names - PLACEHOLDERS)
        )
        if "{" in PLACEHOLDER_RE.sub("", value) or "}" in PLACEHOLDER_RE.sub("", value):
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
    return {k: PLACEHOLDER_RE.sub(filler, v) if isinstance(v, str) else v for k, v in text.items()}
