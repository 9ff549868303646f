"""Screening: a job's requirements, and how well a résumé profile meets them.

Every criterion says what was required, what was found, and the résumé text that proves it,
so HR can check each point. The system never rejects anyone: candidates whose score reaches
the job's auto-invite threshold are invited, everyone else waits for a human.

Score (0–100, one decimal), shown to HR:

- must-haves are the minimum degree, the minimum years and every required skill and
  certificate; each counts equally. Nice-to-haves count by their weight (1–10).
- both kinds: ``score = 60 × (must-haves met / must-haves) + 40 × (nice weights met / nice weights)``
- only must-haves: ``score = 100 × (must-haves met / must-haves)``
- only nice-to-haves: ``score = 100 × (nice weights met / nice weights)``
- no requirements: ``score = 100`` (nothing to check).

``eligible`` means every must-have is met; a candidate is invited automatically only when
eligible and the score is at least the threshold (:func:`should_auto_invite`).

Matching a skill, certificate, keyword or major ignores case, full-width/half-width forms
(NFKC) and spacing; a Latin term matches whole words only ("R" is not found in "React",
"Java" is not found in "JavaScript"; a version may follow: "Python3"), a Chinese term
matches anywhere. A few explicit aliases match both ways (:data:`ALIASES`). Skills and
certificates are looked for in the extracted lists first (either list: résumés file "CET-6"
under both), then in the résumé's text, whose line is then the proof shown.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from server.resumes.profile import DEGREE_LABELS, Degree, Profile, Sourced

REQUIREMENT_KEYS = (
    "min_degree",
    "min_years",
    "required_skills",
    "required_certificates",
    "nice_to_have",
    "auto_invite_threshold",
)
NICE_KINDS = ("skill", "certificate", "keyword", "major", "degree", "years")
NICE_KEYS = ("kind", "value", "weight")
MAX_TERMS = 30
MAX_TERM_CHARS = 60
MAX_NICE_TO_HAVE = 30
MAX_YEARS = 50
MIN_WEIGHT = 1
MAX_WEIGHT = 10
DEFAULT_WEIGHT = 1
MAX_THRESHOLD = 100
MUST_SHARE_POINTS = 60
NICE_SHARE_POINTS = 40
MAX_SOURCE_IN_EXPLANATION_CHARS = 60

ALIASES: tuple[tuple[str, ...], ...] = (
    ("注册会计师", "CPA"),
    ("项目管理专业人士", "PMP"),
    ("英语六级", "大学英语六级", "CET-6"),
    ("英语四级", "大学英语四级", "CET-4"),
    ("法律职业资格", "法律职业资格证", "司法考试"),
    ("特许金融分析师", "CFA"),
    ("特许公认会计师", "ACCA"),
    ("雅思", "IELTS"),
    ("托福", "TOEFL"),
    ("机器学习", "Machine Learning"),
    ("JavaScript", "JS"),
)
"""Terms that mean the same thing; a requirement naming one also finds the others."""

MET = "✓"
UNMET = "✗"


class Criterion(TypedDict):
    kind: str
    """degree, years, skill, certificate, keyword or major."""
    must: bool
    required: Any
    """A degree key, a number of years, or the term as HR wrote it."""
    found: Any
    """The highest degree key, the profile's years, or the résumé words that matched; None."""
    met: bool
    weight: float
    """1 for a must-have (they count equally), the nice-to-have's weight otherwise."""
    source: str | None
    """The résumé text that proves it."""
    explanation: str
    """One line in the job's language, e.g. ``学历：本科 ≥ 本科 ✓``."""


# --- validation -----------------------------------------------------------------------------


def _err(field: str, message: str) -> dict[str, Any]:
    return {"row": None, "field": field, "message": message}


def validate_requirements(raw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Normalised requirements and every problem found (empty list when valid).

    ``None`` means no requirements; missing keys get their defaults (null or []). A term or a
    nice-to-have given again (in any letter case, spacing or hyphenation) counts once, as
    first written.
    """
    errors: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "min_degree": None,
        "min_years": None,
        "required_skills": [],
        "required_certificates": [],
        "nice_to_have": [],
        "auto_invite_threshold": None,
    }
    if raw is None:
        return out, errors
    if not isinstance(raw, Mapping):
        errors.append(_err("requirements", "must be an object"))
        return out, errors
    for key in raw:
        if key not in REQUIREMENT_KEYS:
            errors.append(
                _err(
                    f"requirements.{key}",
                    f"unknown key; expected one of {', '.join(REQUIREMENT_KEYS)}",
                )
            )
    if raw.get("min_degree") is not None:
        out["min_degree"] = _degree(raw["min_degree"], "requirements.min_degree", errors)
    if raw.get("min_years") is not None:
        out["min_years"] = _number(raw["min_years"], 0, MAX_YEARS, "requirements.min_years", errors)
    for key in ("required_skills", "required_certificates"):
        out[key] = _terms(raw.get(key), f"requirements.{key}", errors)
    out["nice_to_have"] = _nice_to_have(raw.get("nice_to_have"), errors)
    if raw.get("auto_invite_threshold") is not None:
        out["auto_invite_threshold"] = _number(
            raw["auto_invite_threshold"],
            0,
            MAX_THRESHOLD,
            "requirements.auto_invite_threshold",
            errors,
        )
    return out, errors


def _degree(value: Any, field: str, errors: list[dict[str, Any]]) -> str | None:
    if isinstance(value, str):
        try:
            return Degree.from_key(value.strip()).key
        except ValueError:
            pass
    errors.append(_err(field, f"must be one of {', '.join(d.key for d in Degree)}"))
    return None


def _number(
    value: Any, low: int, high: int, field: str, errors: list[dict[str, Any]]
) -> int | float | None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    ):
        return value
    errors.append(_err(field, f"must be a number from {low} to {high}"))
    return None


def _term(value: Any, field: str, errors: list[dict[str, Any]]) -> str | None:
    if not isinstance(value, str):
        errors.append(_err(field, "must be a string"))
        return None
    term = " ".join(value.split())
    if not term:
        errors.append(_err(field, "must not be empty"))
    elif len(term) > MAX_TERM_CHARS:
        errors.append(_err(field, f"must be at most {MAX_TERM_CHARS} characters"))
    elif not any(ch.isalnum() for ch in term):
        errors.append(_err(field, "must contain a letter or a digit"))
    else:
        return term
    return None


def _terms(raw: Any, field: str, errors: list[dict[str, Any]]) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_err(field, "must be a list of strings"))
        return []
    terms: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        term = _term(item, f"{field}[{i}]", errors)
        if term is not None and _key(term) not in seen:
            seen.add(_key(term))
            terms.append(term)
    if len(terms) > MAX_TERMS:
        errors.append(_err(field, f"at most {MAX_TERMS} entries (got {len(terms)})"))
    return terms


def _nice_to_have(raw: Any, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    field = "requirements.nice_to_have"
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_err(field, "must be a list of {kind, value, weight} objects"))
        return []
    if len(raw) > MAX_NICE_TO_HAVE:
        errors.append(_err(field, f"at most {MAX_NICE_TO_HAVE} entries (got {len(raw)})"))
    result: list[dict[str, Any]] = []
    seen: set[tuple[str, object]] = set()
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            errors.append(_err(where, "must be an object with kind, value and weight"))
            continue
        for key in item:
            if key not in NICE_KEYS:
                errors.append(
                    _err(f"{where}.{key}", f"unknown key; expected one of {', '.join(NICE_KEYS)}")
                )
        kind = item.get("kind")
        if kind not in NICE_KINDS:
            errors.append(_err(f"{where}.kind", f"must be one of {', '.join(NICE_KINDS)}"))
            continue
        value: Any
        if kind == "degree":
            value = _degree(item.get("value"), f"{where}.value", errors)
        elif kind == "years":
            value = _number(item.get("value"), 0, MAX_YEARS, f"{where}.value", errors)
        else:
            value = _term(item.get("value"), f"{where}.value", errors)
        weight = _number(
            item.get("weight", DEFAULT_WEIGHT), MIN_WEIGHT, MAX_WEIGHT, f"{where}.weight", errors
        )
        if value is None or weight is None:
            continue
        identity = (kind, _key(value) if isinstance(value, str) else value)
        if identity in seen:  # counted once, as the first one (like the required terms)
            continue
        seen.add(identity)
        result.append({"kind": kind, "value": value, "weight": weight})
    return result


# --- matching -------------------------------------------------------------------------------


def match(profile: Profile, requirements: Mapping[str, Any], language: str) -> dict[str, Any]:
    """How well ``profile`` meets ``requirements`` (the output of :func:`validate_requirements`):
    ``{"score": 0..100, "eligible": bool, "criteria": [Criterion, ...]}`` (JSON-ready).

    ``language`` is the job's language ("zh", "zh-CN" or "en"); explanations use it.
    """
    zh = language.lower().startswith("zh")
    places = _Places.of(profile)
    criteria: list[Criterion] = []
    if requirements.get("min_degree") is not None:
        criteria.append(_degree_criterion(profile, requirements["min_degree"], True, 1, zh))
    if requirements.get("min_years") is not None:
        criteria.append(_years_criterion(profile, requirements["min_years"], True, 1, zh))
    for term in requirements.get("required_skills") or ():
        criteria.append(_term_criterion(places, "skill", term, True, 1, zh))
    for term in requirements.get("required_certificates") or ():
        criteria.append(_term_criterion(places, "certificate", term, True, 1, zh))
    for nice in requirements.get("nice_to_have") or ():
        kind, value, weight = nice["kind"], nice["value"], nice["weight"]
        if kind == "degree":
            criteria.append(_degree_criterion(profile, value, False, weight, zh))
        elif kind == "years":
            criteria.append(_years_criterion(profile, value, False, weight, zh))
        else:
            criteria.append(_term_criterion(places, kind, value, False, weight, zh))
    must = [c for c in criteria if c["must"]]
    nice_list = [c for c in criteria if not c["must"]]
    return {
        "score": _score(must, nice_list),
        "eligible": all(c["met"] for c in must),
        "criteria": criteria,
    }


def should_auto_invite(result: Mapping[str, Any], requirements: Mapping[str, Any]) -> bool:
    """Invite without a human only when every must-have is met and the score reaches the
    threshold; a null threshold never invites. Nothing here ever rejects a candidate."""
    threshold = requirements.get("auto_invite_threshold")
    return bool(result["eligible"]) and threshold is not None and result["score"] >= threshold


def _score(must: list[Criterion], nice: list[Criterion]) -> float:
    must_share = sum(c["met"] for c in must) / len(must) if must else None
    nice_weight = sum(c["weight"] for c in nice)
    nice_share = sum(c["weight"] for c in nice if c["met"]) / nice_weight if nice else None
    if must_share is not None and nice_share is not None:
        score = MUST_SHARE_POINTS * must_share + NICE_SHARE_POINTS * nice_share
    elif must_share is not None:
        score = 100 * must_share
    elif nice_share is not None:
        score = 100 * nice_share
    else:
        score = 100.0
    return round(score, 1)


def _degree_criterion(
    profile: Profile, required_key: str, must: bool, weight: float, zh: bool
) -> Criterion:
    required = Degree.from_key(required_key)
    highest = profile.highest_degree
    met = highest is not None and highest >= required
    lang = "zh" if zh else "en"
    head = "学历：" if zh else "degree: "
    if highest is None:
        source = None
        explanation = f"{head}{'未找到' if zh else 'not found'} {UNMET}"
    else:
        source = next(
            (
                e.source
                for e in profile.education
                if e.degree and Degree.from_key(e.degree) == highest
            ),
            None,
        )
        op, mark = ("≥", MET) if met else ("<", UNMET)
        found_label, required_label = DEGREE_LABELS[highest][lang], DEGREE_LABELS[required][lang]
        explanation = f"{head}{found_label} {op} {required_label} {mark}"
    return {
        "kind": "degree",
        "must": must,
        "required": required.key,
        "found": highest.key if highest else None,
        "met": met,
        "weight": weight,
        "source": source or None,
        "explanation": explanation,
    }


def _years_criterion(
    profile: Profile, required: float, must: bool, weight: float, zh: bool
) -> Criterion:
    found = profile.experience_years
    met = found >= required
    op, mark = ("≥", MET) if met else ("<", UNMET)
    if zh:
        explanation = f"工作年限：{_num(found)} 年 {op} {_num(required)} 年 {mark}"
    else:
        explanation = f"experience: {_years_en(found)} {op} {_years_en(required)} {mark}"
    return {
        "kind": "years",
        "must": must,
        "required": required,
        "found": found,
        "met": met,
        "weight": weight,
        "source": "\n".join(e.source for e in profile.experience if e.source) or None,
        "explanation": explanation,
    }


def _num(value: float) -> str:
    return f"{value:g}"


def _years_en(value: float) -> str:
    return f"{_num(value)} {'year' if value == 1 else 'years'}"


def _term_criterion(
    places: _Places, kind: str, term: str, must: bool, weight: float, zh: bool
) -> Criterion:
    hit = _find(term, places.where(kind))
    if hit is None:
        explanation = f"{term}：未找到 {UNMET}" if zh else f"{term}: not found {UNMET}"
    else:
        shown = _shorten(hit.source)
        explanation = (
            f"{term}：已找到 {MET} （{shown}）" if zh else f"{term}: found {MET} ({shown})"
        )
    return {
        "kind": kind,
        "must": must,
        "required": term,
        "found": hit.value if hit else None,
        "met": hit is not None,
        "weight": weight,
        "source": hit.source if hit else None,
        "explanation": explanation,
    }


def _shorten(source: str) -> str:
    flat = " ".join(source.split())
    if len(flat) <= MAX_SOURCE_IN_EXPLANATION_CHARS:
        return flat
    return flat[: MAX_SOURCE_IN_EXPLANATION_CHARS - 1] + "…"


# --- text search ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    """One piece of résumé text to search, folded once."""

    text: str
    source: str
    folded: str
    index: tuple[int, ...]
    """For each character of ``folded``, the position in ``text`` it came from."""

    @classmethod
    def of(cls, text: str, source: str) -> _Place:
        folded, index = _fold(text)
        return cls(text, source or text, folded, index)


@dataclass(frozen=True, slots=True)
class _Places:
    """Where each kind of term is looked for, in order of preference."""

    skills: tuple[_Place, ...]
    certificates: tuple[_Place, ...]
    majors: tuple[_Place, ...]
    lines: tuple[_Place, ...]

    @classmethod
    def of(cls, profile: Profile) -> _Places:
        return cls(
            skills=tuple(_Place.of(s.value, s.source) for s in profile.skills),
            certificates=tuple(_Place.of(c.value, c.source) for c in profile.certificates),
            majors=tuple(_Place.of(e.major, e.source) for e in profile.education if e.major),
            lines=tuple(
                _Place.of(line.strip(), line.strip())
                for line in profile.text.splitlines()
                if line.strip()
            ),
        )

    def where(self, kind: str) -> tuple[_Place, ...]:
        # the extracted lists first, then the whole text: a skill named only in a job
        # description still counts (and its line is shown as the proof)
        if kind == "skill":
            return self.skills + self.certificates + self.lines
        if kind == "certificate":
            return self.certificates + self.skills + self.lines
        if kind == "major":
            return self.majors + self.lines
        return self.skills + self.certificates + self.majors + self.lines


def _find(term: str, places: tuple[_Place, ...]) -> Sourced | None:
    """The words of the first place (in order of preference) holding ``term`` or one of its
    aliases, as written, and that place's source."""
    patterns = [_pattern(candidate) for candidate in _with_aliases(term)]
    for place in places:
        for pattern in patterns:
            m = pattern.search(place.folded)
            if m:
                found = place.text[place.index[m.start()] : place.index[m.end() - 1] + 1]
                return Sourced(found, place.source)
    return None


def _with_aliases(term: str) -> Iterator[str]:
    yield term
    key = _key(term)
    for group in ALIASES:
        if any(_key(alias) == key for alias in group):
            yield from (alias for alias in group if _key(alias) != key)


def _fold(text: str) -> tuple[str, tuple[int, ...]]:
    """NFKC + casefold, one character at a time so every folded character maps back."""
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).casefold()
        parts.append(folded)
        index.extend([i] * len(folded))
    return "".join(parts), tuple(index)


def _key(term: str) -> str:
    """Identity of a term for de-duplication and aliases: folded, without spaces or hyphens."""
    return _SEPARATORS.sub("", _fold(term)[0])


_SEPARATORS = re.compile(r"[\s\-]+")
_LATIN = "0-9a-z\u00c0-\u024f"


def _is_latin(ch: str) -> bool:
    return bool(re.fullmatch(f"[{_LATIN}]", ch))


def _is_east_asian(ch: str) -> bool:
    """Han, kana, Hangul and their punctuation: scripts written without spaces between words."""
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"


@functools.lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str]:
    """A regex over folded text: spaces and hyphens optional, whole Latin words."""
    pieces = [p for p in _SEPARATORS.split(_fold(term)[0]) if p]
    if not pieces:
        return re.compile(r"(?!)")  # nothing to look for: never matches
    body = r"[\s\-]*".join(_piece(p) for p in pieces)
    first, last = pieces[0][0], pieces[-1][-1]
    before = f"(?<![{_LATIN}])(?<![{_LATIN}]&)" if _is_latin(first) else ""
    if not _is_latin(last):
        after = ""
    elif last.isdigit():
        after = f"(?![{_LATIN}])"
    else:  # a version may follow a word ("python3"), another word may not; nor "++", "#", "&d"
        after = f"(?![a-z\u00c0-\u024f]|\\+\\+|#|&[{_LATIN}])"
    return re.compile(before + body + after)


def _piece(piece: str) -> str:
    """One space-free part of a term; Chinese text may carry stray spaces between characters."""
    out = re.escape(piece[0])
    for prev, ch in itertools.pairwise(piece):
        out += (r"\s*" if _is_east_asian(prev) or _is_east_asian(ch) else "") + re.escape(ch)
    return out
