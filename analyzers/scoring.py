"""Rolling scoring rules: per-answer evidence → per-dimension score suggestions (0..10).

Pure functions, no I/O. Scores are SUGGESTIONS for a human examiner (``suggestion=True``);
every score carries a plain-language reason (English and Chinese) and its evidence.

Rules, per answer (question) ``a``:

* **Content** (every competency the question is tagged with)::

      content = 10 × (0.6 × coverage + 0.2 × structure + 0.2 × completeness)

  - ``coverage``: share of the question's rubric key points covered (ContentMetrics), 0..1.
  - ``structure``: the better of the STAR share (situation/task/action/result found, of 4)
    and ordinal markers (first/second/finally/首先/其次…, 3 or more = 1.0).
  - ``completeness``: answer duration / time limit, full at half the time limit.
  - Very short answers (under 15 % of the time limit) are capped at 4.0.
* **Delivery** (how it was said, from DeliveryMetrics)::

      delivery = 10 × (0.5 × rate + 0.25 × fillers + 0.25 × pauses)

  - ``rate``: 1.0 inside the comfortable band (English 110–170 words/min, Chinese 180–300
    characters/min), falling linearly to 0 at 50 % below the band's low end or 50 % above
    its high end.
  - ``fillers``: 1 − filler_ratio / 0.15 (15 % filler words → 0).
  - ``pauses``: 1 − 0.25 × long pauses per minute (an answer counts as at least a minute).
* **Expression** (``"expression"``) uses delivery from every spoken answer: for a question
  tagged "expression" it is ``0.5 × content + 0.5 × delivery``; for other questions delivery
  alone; without delivery metrics, content alone (tagged questions only). The very-short cap
  applies to the expression score too.

Per dimension, the answer scores are averaged, weighted by answer duration (at least half the
time limit, so a skipped answer still counts). A dimension gets a score only when some answer
gives it evidence. :func:`overall` is the weighted mean over those dimensions with the job's
weights renormalised. Integrity flags (face missing, tab hidden, …) are reported separately and
NEVER lower a competency score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analyzers.events import ContentMetrics, DeliveryMetrics, Evidence, ScoreUpdate
from common.competencies import name_of

EXPRESSION = "expression"
"""The competency that also uses delivery metrics."""

W_COVERAGE = 0.6
W_STRUCTURE = 0.2
W_COMPLETENESS = 0.2
STAR_MARKERS: frozenset[str] = frozenset({"situation", "task", "action", "result"})
ORDINAL_FULL_MARKERS = 3
"""Distinct ordinal markers (first, second, …) for full structure marks."""
COMPLETE_TIME_SHARE = 0.5
"""Share of the time limit an answer must use for full completeness."""
VERY_SHORT_TIME_SHARE = 0.15
"""Answers shorter than this share of the time limit are "very short"."""
VERY_SHORT_CAP = 4.0
"""Highest content score (0..10) of a very short answer."""

RATE_BAND_WPM = (110.0, 170.0)
"""Comfortable English speaking rate, words per minute."""
RATE_BAND_CPM = (180.0, 300.0)
"""Comfortable Chinese speaking rate, characters per minute."""
RATE_FALLOFF_SHARE = 0.5
"""The rate score reaches 0 this far (as a share of the band edge) outside the band."""
FILLER_RATIO_ZERO = 0.15
"""Filler-word ratio at which the filler score reaches 0."""
LONG_PAUSE_COST_PER_MIN = 0.25
"""Pause score lost per long pause per minute."""
MIN_PAUSE_WINDOW_S = 60.0
"""Long pauses are counted per minute over at least this many seconds."""
W_RATE = 0.5
W_FILLERS = 0.25
W_PAUSES = 0.25
EXPRESSION_DELIVERY_SHARE = 0.5
"""Share of delivery in the expression score of a question tagged "expression"."""

MIN_WEIGHT_TIME_SHARE = 0.5
"""An answer weighs at least this share of its time limit (seconds) in the average."""
MAX_TRANSCRIPT_EVIDENCE = 8
"""Transcript spans attached to one score."""
REASON_SEPARATOR = " / "
"""Separates the English and Chinese reasons in ``ScoreUpdate.reason``."""


@dataclass(frozen=True, slots=True)
class TranscriptSpan:
    """Where a rubric keyword was heard."""

    keyword: str
    context: str
    """A few words around the keyword."""
    start_s: float
    end_s: float
    rubric_point: int | None = None
    written: bool = False
    """Quoted from a written answer (no media time to play back)."""


@dataclass(frozen=True, slots=True)
class AnswerEvidence:
    """Everything scoring knows about one answer."""

    question_index: int
    """0-based position in the plan."""
    competencies: tuple[str, ...]
    """Competency ids the question is tagged with."""
    content: ContentMetrics
    delivery: DeliveryMetrics | None
    duration_s: float
    time_limit_s: float
    spans: tuple[TranscriptSpan, ...] = ()
    """Transcript spans of the matched rubric keywords."""


@dataclass(frozen=True, slots=True)
class ContentParts:
    """The parts of a content score, each 0..1, and the score 0..10."""

    coverage: float
    structure: float
    completeness: float
    very_short: bool
    score: float


@dataclass(frozen=True, slots=True)
class DeliveryParts:
    """The parts of a delivery score, each 0..1, and the score 0..10."""

    rate: float
    fillers: float
    pauses: float
    score: float


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, x))


def structure_share(markers: Sequence[str]) -> float:
    """0..1: the better of the STAR share and the ordinal-marker share."""
    found = {m.strip().lower() for m in markers if m.strip()}
    star = len(found & STAR_MARKERS) / len(STAR_MARKERS)
    ordinal = min(1.0, len(found - STAR_MARKERS) / ORDINAL_FULL_MARKERS)
    return max(star, ordinal)


def content_parts(a: AnswerEvidence) -> ContentParts:
    """The content score of one answer (see the module docstring)."""
    coverage = _clamp(a.content.coverage)
    structure = structure_share(a.content.structure)
    if a.time_limit_s > 0:
        share = max(0.0, a.duration_s) / a.time_limit_s
        completeness = _clamp(share / COMPLETE_TIME_SHARE)
        very_short = share < VERY_SHORT_TIME_SHARE
    else:
        completeness, very_short = 1.0, False
    score = 10.0 * (W_COVERAGE * coverage + W_STRUCTURE * structure + W_COMPLETENESS * completeness)
    if very_short:
        score = min(score, VERY_SHORT_CAP)
    return ContentParts(coverage, structure, completeness, very_short, score)


def rate_score(rate: float, unit: str) -> float:
    """0..1: full inside the comfortable band for ``unit`` ("cpm" = Chinese, else words)."""
    lo, hi = RATE_BAND_CPM if unit.lower().startswith("c") else RATE_BAND_WPM
    if rate < lo:
        return _clamp(1.0 - (lo - rate) / (lo * RATE_FALLOFF_SHARE))
    if rate > hi:
        return _clamp(1.0 - (rate - hi) / (hi * RATE_FALLOFF_SHARE))
    return 1.0


def delivery_parts(d: DeliveryMetrics) -> DeliveryParts:
    """The delivery score of one answer (see the module docstring)."""
    rate = rate_score(d.speaking_rate, d.rate_unit)
    fillers = _clamp(1.0 - max(0.0, d.filler_ratio) / FILLER_RATIO_ZERO)
    minutes = max(d.window_s, MIN_PAUSE_WINDOW_S) / 60.0
    pauses = _clamp(1.0 - LONG_PAUSE_COST_PER_MIN * max(0, d.long_pauses) / minutes)
    score = 10.0 * (W_RATE * rate + W_FILLERS * fillers + W_PAUSES * pauses)
    return DeliveryParts(rate, fillers, pauses, score)


def answer_weight(a: AnswerEvidence) -> float:
    """Weight (seconds) of an answer in a dimension's average."""
    w = max(a.duration_s, MIN_WEIGHT_TIME_SHARE * a.time_limit_s)
    return w if w > 0 else 1.0


@dataclass(slots=True)
class _Contribution:
    answer: AnswerEvidence
    score: float
    content: ContentParts | None
    delivery: DeliveryParts | None


def _contribution(a: AnswerEvidence, dimension: str) -> _Contribution | None:
    tagged = dimension in a.competencies
    content = content_parts(a) if tagged else None
    if dimension != EXPRESSION:
        return _Contribution(a, content.score, content, None) if content else None
    delivery = delivery_parts(a.delivery) if a.delivery is not None else None
    if content and delivery:
        share = EXPRESSION_DELIVERY_SHARE
        score = (1 - share) * content.score + share * delivery.score
    elif content:
        score = content.score
    elif delivery:
        score = delivery.score
    else:
        return None
    if _very_short(a):
        score = min(score, VERY_SHORT_CAP)
    return _Contribution(a, score, content, delivery)


def _very_short(a: AnswerEvidence) -> bool:
    return a.time_limit_s > 0 and a.duration_s < VERY_SHORT_TIME_SHARE * a.time_limit_s


def _unique_weights(competencies: Sequence[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for cid, weight in competencies:
        out.setdefault(cid, max(0.0, float(weight)))
    return out


def counts_in_scores(question: dict[str, Any]) -> bool:
    """Personalised (résumé-based) questions differ between candidates, so their answers stay
    out of the dimension scores used to rank candidates, unless HR opted them in; examiners
    still get their transcript and content metrics."""
    return not question.get("personalised") or bool(question.get("in_ranking"))


def score_dimensions(
    answers: Sequence[AnswerEvidence],
    competencies: Sequence[tuple[str, float]],
    interview_id: str,
    t: float,
) -> list[ScoreUpdate]:
    """One ScoreUpdate per competency of the job that has evidence, in the job's order."""
    out: list[ScoreUpdate] = []
    for dim in _unique_weights(competencies):
        contribs = [c for a in answers if (c := _contribution(a, dim)) is not None]
        if not contribs:
            continue
        weights = [answer_weight(c.answer) for c in contribs]
        value = sum(w * c.score for w, c in zip(weights, contribs, strict=True)) / sum(weights)
        value = round(_clamp(value, 0.0, 10.0), 1)
        out.append(
            ScoreUpdate(
                interview_id=interview_id,
                t=t,
                dimension=dim,
                value=value,
                reason=_reason(dim, value, contribs, weights),
                evidence=_evidence(contribs),
                suggestion=True,
            )
        )
    return out


def overall(scores: Sequence[ScoreUpdate], competencies: Sequence[tuple[str, float]]) -> float:
    """Weighted mean (0..10, rounded to 0.1) of the scored dimensions, weights renormalised
    over the dimensions that have a score. ValueError when none has (or all weigh 0)."""
    weights = _unique_weights(competencies)
    latest = {s.dimension: s.value for s in scores if s.dimension in weights}
    total_w = sum(weights[d] for d in latest)
    if total_w <= 0:
        raise ValueError("no weighted dimension has a score")
    return round(_clamp(sum(weights[d] * v for d, v in latest.items()) / total_w, 0.0, 10.0), 1)


def split_reason(reason: str) -> tuple[str, str]:
    """(English, Chinese) halves of a ``ScoreUpdate.reason``."""
    en, _, zh = reason.partition(REASON_SEPARATOR)
    return en, zh or en


# -- explanations -----------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _wmean(values: Sequence[float], weights: Sequence[float]) -> float:
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def _reason(dim: str, value: float, contribs: list[_Contribution], weights: list[float]) -> str:
    name = name_of(dim)
    qs_en = ", ".join(f"Q{c.answer.question_index + 1}" for c in contribs)
    qs_zh = "、".join(f"第{c.answer.question_index + 1}题" for c in contribs)
    n = len(contribs)
    en = [f"{name.en.replace(REASON_SEPARATOR, '/')}: {value:.1f}/10 from {n} answer"]
    en.append(f"{'s' if n > 1 else ''} ({qs_en})")
    zh = [f"{name.zh}：{value:.1f}/10，依据{n}道题（{qs_zh}）"]
    parts_en: list[str] = []
    parts_zh: list[str] = []
    with_content = [(c.content, w) for c, w in zip(contribs, weights, strict=True) if c.content]
    if with_content:
        ws = [w for _, w in with_content]
        cov = _wmean([p.coverage for p, _ in with_content], ws)
        struct = _wmean([p.structure for p, _ in with_content], ws)
        comp = _wmean([p.completeness for p, _ in with_content], ws)
        where_en = where_zh = ""
        if len(with_content) < n:  # expression: content only from questions tagged with it
            idx = [c.answer.question_index + 1 for c in contribs if c.content]
            where_en = "content of " + ", ".join(f"Q{i}" for i in idx) + ": "
            where_zh = "、".join(f"第{i}题" for i in idx) + "内容："
        parts_en.append(
            f"{where_en}key points covered {_pct(cov)}, structure {_pct(struct)}, "
            f"completeness {_pct(comp)}"
        )
        parts_zh.append(f"{where_zh}要点覆盖{_pct(cov)}，结构{_pct(struct)}，完整度{_pct(comp)}")
        short = sum(1 for p, _ in with_content if p.very_short)
        if short:
            parts_en.append(f"{short} very short answer(s) capped at {VERY_SHORT_CAP:g}")
            parts_zh.append(f"{short}道题作答过短，上限{VERY_SHORT_CAP:g}分")
    with_delivery = [
        (c.delivery, c.answer.delivery, w)
        for c, w in zip(contribs, weights, strict=True)
        if c.delivery and c.answer.delivery
    ]
    if with_delivery:
        ws = [w for _, _, w in with_delivery]
        dscore = _wmean([p.score for p, _, _ in with_delivery], ws)
        fill = _wmean([d.filler_ratio for _, d, _ in with_delivery], ws)
        pauses = sum(d.long_pauses for _, d, _ in with_delivery)
        units = {d.rate_unit for _, d, _ in with_delivery}
        rate_en = rate_zh = ""
        if len(units) == 1:  # a mean over words and characters per minute means nothing
            rate = _wmean([d.speaking_rate for _, d, _ in with_delivery], ws)
            unit = units.pop()
            unit_zh = "字/分" if unit.lower().startswith("c") else "词/分"
            rate_en = f"speaking rate {rate:.0f} {unit}, "
            rate_zh = f"语速{rate:.0f}{unit_zh}，"
        parts_en.append(
            f"delivery {dscore:.1f}/10 ({rate_en}fillers {_pct(fill)}, {pauses} long pause(s))"
        )
        parts_zh.append(
            f"表达流畅度{dscore:.1f}/10（{rate_zh}口头禅{_pct(fill)}，长停顿{pauses}次）"
        )
    en_text = "".join(en) + ": " + "; ".join(parts_en) + "."
    zh_text = "".join(zh) + "：" + "；".join(parts_zh) + "。"
    return en_text + REASON_SEPARATOR + zh_text


def _evidence(contribs: list[_Contribution]) -> tuple[Evidence, ...]:
    spans: list[Evidence] = []
    metrics: list[Evidence] = []
    for c in contribs:
        a = c.answer
        q = f"Q{a.question_index + 1}"
        metrics.append(Evidence(kind="metric", detail=f"{q} answer score", value=round(c.score, 2)))
        if c.content:
            p = c.content
            metrics += [
                Evidence(kind="metric", detail=f"{q} key-point coverage", value=p.coverage),
                Evidence(kind="metric", detail=f"{q} structure", value=p.structure),
                Evidence(
                    kind="metric",
                    detail=f"{q} answer time {a.duration_s:.0f} s of {a.time_limit_s:.0f} s",
                    value=p.completeness,
                ),
            ]
            for s in a.spans:
                spans.append(
                    Evidence(
                        kind="written" if s.written else "transcript",
                        detail=f"{q} “{s.keyword}”: {s.context}",
                        start_s=None if s.written else s.start_s,
                        end_s=None if s.written else s.end_s,
                    )
                )
        if c.delivery and a.delivery:
            d = a.delivery
            metrics += [
                Evidence(
                    kind="metric",
                    detail=f"{q} speaking rate ({d.rate_unit})",
                    value=d.speaking_rate,
                ),
                Evidence(kind="metric", detail=f"{q} filler ratio", value=d.filler_ratio),
                Evidence(kind="metric", detail=f"{q} long pauses", value=float(d.long_pauses)),
            ]
    return tuple(spans[:MAX_TRANSCRIPT_EVIDENCE]) + tuple(metrics)
