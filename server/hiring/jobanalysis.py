"""Job analysis: suggest a weighted competency model and bank questions from a job description.

HR pastes a job description (Chinese or English); :func:`analyze` matches it against the
keyword lexicon in ``server/data/competency_lexicon.json`` and returns suggested competencies
with weights and the bank questions that cover them. HR edits the suggestion before saving
the job, so this is a deterministic heuristic, not a model.

Pure and synchronous (no I/O except loading the lexicon once). A 20,000-character
description takes milliseconds, but it is CPU work: the HTTP handler should run it in an
executor rather than on the event loop.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from common.competencies import BY_ID, CATALOGUE, name_of
from common.localized import Localized
from common.text import CJK_RE, has_cjk
from server.domain.models import SECTION_ORDER, Competency, Media, Question, Section

Language = Literal["zh", "en"]

MAX_DESCRIPTION_CHARS = 20_000
"""Longest accepted job description, in characters."""

LEXICON_PATH = Path(__file__).parents[1] / "data" / "competency_lexicon.json"

ZH_SHARE_THRESHOLD = 0.3
"""Minimum share of CJK characters among (CJK characters + Latin words) for ``"zh"``."""

MIN_RELATIVE_SCORE = 0.1
"""Competencies scoring below this fraction of the top score are not suggested."""

MIN_WEIGHT_HUNDREDTHS = 5
"""Smallest suggested weight, in hundredths (0.05)."""

COVERAGE_DECAY = 0.5
"""After a question covers a competency, that competency counts this much less for the next pick."""

MISSING_LANGUAGE_FACTOR = 0.5
"""Score factor for a question without text in the description's language."""

_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_SEPARATOR_RE = re.compile(r"[\s\-]+")
_SECTION_RANK = {section: i for i, section in enumerate(SECTION_ORDER)}
_CATALOGUE_RANK = {info.id: i for i, info in enumerate(CATALOGUE)}


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True, slots=True)
class LexiconTerm:
    """One keyword of the lexicon, compiled for matching."""

    keyword: str
    """The keyword as written in the lexicon."""
    competency: str | None
    """Catalogue competency id, or ``None`` for an ``ignore`` term (matched, scores nothing)."""
    weight: float
    """Entry weight (0 for ignore terms)."""
    pattern: re.Pattern[str]
    """Substring pattern for CJK keywords, word-bounded for Latin ones; case-insensitive."""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The parsed keyword lexicon plus the fallback model used when nothing matches."""

    version: int
    terms: tuple[LexiconTerm, ...]
    fallback: tuple[tuple[str, int], ...]
    """``(competency id, weight in hundredths)``, largest first; the hundredths sum to 100."""


def _compile_keyword(keyword: str) -> re.Pattern[str]:
    """CJK keywords match as substrings; Latin keywords on word boundaries, where a space or
    hyphen matches any run of spaces/hyphens, a plural ``s``/``es`` is allowed and a trailing
    ``*`` matches any word ending."""
    if has_cjk(keyword):
        return re.compile(re.escape(keyword), re.IGNORECASE)
    prefix = keyword.endswith("*")
    stem = keyword.rstrip("*").strip()
    body = r"[\s\-]+".join(re.escape(part) for part in _SEPARATOR_RE.split(stem))
    if prefix:
        body += r"[a-z]*"
    elif stem[-1:].isalpha():
        body += r"(?:e?s)?"
    return re.compile(rf"(?<![0-9a-z]){body}(?![0-9a-z])", re.IGNORECASE)


def _pattern_key(keyword: str) -> str:
    """Keywords with the same key match the same text (``on-call`` = ``On call``)."""
    return " ".join(_SEPARATOR_RE.split(keyword.casefold().strip()))


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: expected a list of non-empty strings")
    return [unicodedata.normalize("NFKC", v).strip() for v in value]


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """Validate and compile lexicon JSON data. Errors name the offending entry."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("lexicon.version: expected a positive integer")

    terms: list[LexiconTerm] = []
    seen: dict[tuple[str | None, str], str] = {}

    def add(keyword: str, competency: str | None, weight: float, where: str) -> None:
        key = (competency, _pattern_key(keyword))
        if key in seen:
            if seen[key] == where:  # the same word in the zh and en lists of one entry
                return
            raise ValueError(f"{where}: keyword {keyword!r} already listed in {seen[key]}")
        seen[key] = where
        terms.append(LexiconTerm(keyword, competency, weight, _compile_keyword(keyword)))

    ignore = data.get("ignore", {})
    if not isinstance(ignore, Mapping):
        raise ValueError("lexicon.ignore: expected an object with zh/en lists")
    for lang in ("zh", "en"):
        for kw in _str_list(ignore.get(lang, []), f"lexicon.ignore.{lang}"):
            add(kw, None, 0.0, "lexicon.ignore")

    entries = data.get("entries")
    if not isinstance(entries, list) or not entries:
        raise ValueError("lexicon.entries: expected a non-empty list")
    for i, entry in enumerate(entries):
        where = f"lexicon.entries[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected an object")
        competency = entry.get("competency")
        if competency not in BY_ID:
            raise ValueError(f"{where}.competency: unknown competency id {competency!r}")
        weight = entry.get("weight")
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
            raise ValueError(f"{where}.weight: expected a positive number")
        keywords = _str_list(entry.get("zh", []), f"{where}.zh")
        keywords += _str_list(entry.get("en", []), f"{where}.en")
        if not keywords:
            raise ValueError(f"{where}: no keywords")
        for kw in keywords:
            add(kw, str(competency), float(weight), where)

    fallback = data.get("fallback")
    if not isinstance(fallback, Mapping) or not fallback:
        raise ValueError("lexicon.fallback: expected an object of competency id -> weight")
    hundredths: list[tuple[str, int]] = []
    for cid, w in fallback.items():
        if cid not in BY_ID:
            raise ValueError(f"lexicon.fallback: unknown competency id {cid!r}")
        if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
            raise ValueError(f"lexicon.fallback.{cid}: expected a positive number")
        hundredths.append((str(cid), round(float(w) * 100)))
    if sum(h for _, h in hundredths) != 100:
        raise ValueError("lexicon.fallback: weights must sum to 1.00")
    hundredths.sort(key=lambda item: (-item[1], _CATALOGUE_RANK[item[0]]))
    return Lexicon(version=version, terms=tuple(terms), fallback=tuple(hundredths))


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and validate a lexicon file."""
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a JSON object")
    return parse_lexicon(data)


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, loaded once per process."""
    return load_lexicon(LEXICON_PATH)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SuggestedCompetency:
    """A competency the description points to."""

    id: str
    name: Localized
    weight: float
    """Rounded to 2 decimals; the weights of one analysis sum to 1.00."""
    matched: tuple[str, ...]
    """Keywords found, as written in the description (first occurrence), most frequent and
    strongest first; empty on fallback."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name.to_dict(),
            "weight": self.weight,
            "matched": list(self.matched),
        }

    def to_competency(self) -> Competency:
        return Competency(id=self.id, name=self.name, weight=self.weight)


@dataclass(frozen=True, slots=True)
class SuggestedQuestion:
    """A bank question suggested for the plan."""

    question: Question
    reason: str
    """Why it was picked, in the description's language: the competencies it covers
    and/or the plan rule it satisfies."""

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question.to_dict(), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class JobAnalysis:
    """The suggestion returned by ``POST /api/jobs/analyze``."""

    language: Language
    """Detected language of the description."""
    competencies: tuple[SuggestedCompetency, ...]
    """Largest weight first."""
    questions: tuple[SuggestedQuestion, ...]
    """In plan order: self_intro, structured, professional."""
    fallback: bool
    """True when no keyword matched and ``competencies`` is the lexicon's default model."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "fallback": self.fallback,
            "competencies": [c.to_dict() for c in self.competencies],
            "questions": [q.to_dict() for q in self.questions],
        }


# --------------------------------------------------------------------------- analysis


def detect_language(text: str) -> Language:
    """``"zh"`` when CJK characters make up at least ``ZH_SHARE_THRESHOLD`` of
    CJK characters + Latin words (a Chinese character carries about a word), else ``"en"``."""
    cjk = len(CJK_RE.findall(text))
    if cjk == 0:
        return "en"
    words = len(_LATIN_WORD_RE.findall(text))
    return "zh" if cjk / (cjk + words) >= ZH_SHARE_THRESHOLD else "en"


def _validate(description: object, max_competencies: int, max_questions: int) -> None:
    if not isinstance(description, str):
        raise ValueError(f"description must be a string, got {type(description).__name__}")
    if not description.strip():
        raise ValueError("description must not be empty")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValueError(
            f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION_CHARS}"
        )
    if max_competencies < 1:
        raise ValueError("max_competencies must be at least 1")
    if max_questions < 3:
        raise ValueError("max_questions must be at least 3 (self_intro, structured, professional)")


@dataclass(slots=True)
class _Hits:
    count: int
    first: int
    """Offset of the first occurrence."""
    surface: str
    """The first occurrence as written in the description."""


def _match(text: str, lexicon: Lexicon) -> dict[LexiconTerm, _Hits]:
    """Occurrences per scoring term. Overlapping matches resolve to the longest (then
    earliest) span; on one span, each competency counts its strongest term once."""
    by_span: dict[tuple[int, int], list[LexiconTerm]] = {}
    for term in lexicon.terms:
        for m in term.pattern.finditer(text):
            if m.end() > m.start():
                by_span.setdefault((m.start(), m.end()), []).append(term)
    taken = bytearray(len(text))
    hits: dict[LexiconTerm, _Hits] = {}
    for start, end in sorted(by_span, key=lambda span: (span[0] - span[1], span[0])):
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        strongest: dict[str, LexiconTerm] = {}  # one term per competency per span
        for term in by_span[(start, end)]:
            if term.competency is not None and (
                term.competency not in strongest or term.weight > strongest[term.competency].weight
            ):
                strongest[term.competency] = term
        for term in strongest.values():
            h = hits.get(term)
            if h is None:
                hits[term] = _Hits(1, start, text[start:end])
            else:
                h.count += 1
                if start < h.first:
                    h.first, h.surface = start, text[start:end]
    return hits


def _to_hundredths(scores: Sequence[float]) -> list[int]:
    """Scores (largest first) to integer hundredths summing to 100, non-increasing, each at
    least ``MIN_WEIGHT_HUNDREDTHS``: largest-remainder rounding (the rounding fix goes to the
    largest remainders, which keeps the order), then the floor is paid for by the largest."""
    total = math.fsum(scores)
    raw = [s / total * 100 for s in scores]
    out = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in by_remainder[: 100 - sum(out)]:
        out[i] += 1
    out = [max(h, MIN_WEIGHT_HUNDREDTHS) for h in out]
    while sum(out) > 100:
        top = max(out)
        last_top = max(i for i, h in enumerate(out) if h == top)
        out[last_top] -= 1
    return out


def _suggest_competencies(
    text: str, lexicon: Lexicon, max_competencies: int
) -> tuple[tuple[SuggestedCompetency, ...], bool]:
    """Score = sum over matched keywords of entry weight * (1 + ln(occurrences)); the top
    ``max_competencies`` scoring at least ``MIN_RELATIVE_SCORE`` of the best are kept."""
    by_competency: dict[str, list[tuple[LexiconTerm, _Hits]]] = {}
    for term, h in _match(text, lexicon).items():
        assert term.competency is not None
        by_competency.setdefault(term.competency, []).append((term, h))
    if not by_competency:
        kept = lexicon.fallback[:max_competencies]
        hundredths = _to_hundredths([float(h) for _, h in kept])
        return (
            tuple(
                SuggestedCompetency(cid, name_of(cid), h / 100, ())
                for (cid, _), h in zip(kept, hundredths, strict=True)
            ),
            True,
        )
    scored: list[tuple[float, str, tuple[str, ...]]] = []
    for cid, found in by_competency.items():
        score = math.fsum(term.weight * (1 + math.log(h.count)) for term, h in found)
        found.sort(key=lambda item: (-item[1].count, -item[0].weight, item[1].first))
        matched = dict.fromkeys(h.surface for _, h in found)  # ordered, without repeats
        scored.append((score, cid, tuple(matched)))
    scored.sort(key=lambda item: (-item[0], _CATALOGUE_RANK[item[1]]))
    top_score = scored[0][0]
    chosen = [s for s in scored if s[0] >= MIN_RELATIVE_SCORE * top_score][:max_competencies]
    hundredths = _to_hundredths([score for score, _, _ in chosen])
    return (
        tuple(
            SuggestedCompetency(cid, name_of(cid), h / 100, matched)
            for (_, cid, matched), h in zip(chosen, hundredths, strict=True)
        ),
        False,
    )


_REQUIRED_REASON: dict[str, dict[Language, str]] = {
    "self_intro": {
        "zh": "每场面试以一道自我介绍开场",
        "en": "Every plan opens with one self-introduction question",
    },
    "structured": {
        "zh": "结构化环节至少需要一道题",
        "en": "The structured section needs at least one question",
    },
    "professional": {
        "zh": "专业环节至少需要一道题",
        "en": "The professional section needs at least one question",
    },
    "professional_text": {
        "zh": "专业环节至少需要一道文字作答题",
        "en": "The professional section needs at least one text-answer question",
    },
}


def _reason(
    question: Question,
    competencies: Sequence[SuggestedCompetency],
    language: Language,
    rule: str | None,
) -> str:
    covered = [c for c in competencies if c.id in question.competencies]
    parts: list[str] = []
    if covered:
        names = [c.name.pick(language) for c in covered]
        parts.append(
            "考察：" + "、".join(names) if language == "zh" else "Covers: " + ", ".join(names)
        )
    if rule is not None:
        parts.append(_REQUIRED_REASON[rule][language])
    return ("；" if language == "zh" else "; ").join(parts)


def _suggest_questions(
    bank: Sequence[Question],
    competencies: Sequence[SuggestedCompetency],
    language: Language,
    max_questions: int,
) -> tuple[SuggestedQuestion, ...]:
    remaining = {c.id: c.weight for c in competencies}
    candidates: dict[str, Question] = {}
    for question in bank:
        candidates.setdefault(question.id, question)

    def has_language(q: Question) -> bool:
        return bool(q.text.zh if language == "zh" else q.text.en)

    def rank(q: Question) -> tuple[float, bool, int, str]:
        gain = math.fsum(remaining.get(c, 0.0) for c in set(q.competencies))
        if not has_language(q):
            gain *= MISSING_LANGUAGE_FACTOR
        return (-round(gain, 9), not has_language(q), _SECTION_RANK[q.section], q.id)

    picked: list[tuple[Question, str | None]] = []

    def take(q: Question, rule: str | None) -> None:
        picked.append((q, rule))
        del candidates[q.id]
        for cid in set(q.competencies):
            if cid in remaining:
                remaining[cid] *= COVERAGE_DECAY

    def best(pool: Sequence[Question]) -> Question | None:
        return min(pool, key=rank, default=None)

    def section_pool(section: Section, media: Media | None = None) -> list[Question]:
        return [
            q
            for q in candidates.values()
            if q.section is section and (media is None or q.media is media)
        ]

    # Plan rules first: one self-intro, >= 1 structured, >= 1 professional (a text one if any).
    # The rule is named in the reason when the question covers no suggested competency,
    # and always for the self-intro and the text-answer question.
    def take_best(pool: Sequence[Question], rule: str, always: bool) -> None:
        q = best(pool)
        if q is not None:
            take(q, rule if always or rank(q)[0] == 0 else None)

    take_best(section_pool(Section.SELF_INTRO), "self_intro", always=True)
    take_best(section_pool(Section.STRUCTURED), "structured", always=False)
    if section_pool(Section.PROFESSIONAL, Media.TEXT):
        take_best(section_pool(Section.PROFESSIONAL, Media.TEXT), "professional_text", always=True)
    else:
        take_best(section_pool(Section.PROFESSIONAL), "professional", always=False)

    # Then the best coverage gain, re-ranked after every pick so coverage spreads out.
    while len(picked) < max_questions:
        nxt = best([c for c in candidates.values() if c.section is not Section.SELF_INTRO])
        if nxt is None or rank(nxt)[0] == 0:
            break
        take(nxt, None)

    ordered = sorted(
        enumerate(picked), key=lambda item: (_SECTION_RANK[item[1][0].section], item[0])
    )
    return tuple(
        SuggestedQuestion(q, _reason(q, competencies, language, rule)) for _, (q, rule) in ordered
    )


def analyze(
    description: str,
    bank: Sequence[Question],
    *,
    max_competencies: int = 5,
    max_questions: int = 8,
    lexicon: Lexicon | None = None,
) -> JobAnalysis:
    """Suggest a competency model and questions for a job description.

    Raises ``ValueError`` when the description is not a non-empty string of at most
    ``MAX_DESCRIPTION_CHARS`` characters, or the limits are out of range.
    """
    _validate(description, max_competencies, max_questions)
    text = unicodedata.normalize("NFKC", description)
    language = detect_language(text)
    competencies, fallback = _suggest_competencies(
        text, lexicon or default_lexicon(), max_competencies
    )
    questions = _suggest_questions(bank, competencies, language, max_questions)
    return JobAnalysis(
        language=language, competencies=competencies, questions=questions, fallback=fallback
    )
