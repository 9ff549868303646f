"""Automated scoring of written answers, for interviews taken in the text-only mode.

A written interview records nothing and sends no media to the analyzers. When the candidate
consented to analysis, each finished answer's text is scored with the same rubric-coverage,
structure and completeness rules as a spoken answer's transcript (no delivery metrics: nothing
was said), and every dimension is rescored over all finished written answers. The scoring is
stateless — it reads the stored answers each time — so a reconnect or a restart loses nothing.

Event times (``t``) are on a "writing clock": the answer time used by the answers up to and
including the one scored, so they grow through the interview like media times do.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from analyzers.content import analyze_answer
from analyzers.events import AnalyzerError
from analyzers.scoring import AnswerEvidence, TranscriptSpan, counts_in_scores, score_dimensions
from server.domain.answers import Answer

CONTEXT_CHARS = 60
"""Characters of the written answer quoted on each side of a matched keyword."""


def score_written(
    interview_id: str, meta: dict[str, Any], answers: Sequence[Answer], index: int
) -> list[dict[str, Any]]:
    """Content metrics of answer ``index`` and the dimension scores over every ended answer.

    ``answers``: the stored answers (``idx``, ``text_answer``, ``answer_used_s``, ``ended_at``);
    ``meta``: ``language``, ``questions`` (plan question dicts), ``competencies`` [[id, w]].
    """
    questions: list[dict[str, Any]] = list(meta.get("questions") or [])
    language = str(meta.get("language") or "en")
    clock_s = 0.0
    evidence: list[AnswerEvidence] = []
    scored: dict[str, Any] | None = None
    for row in sorted(answers, key=lambda r: r.idx):
        idx = row.idx
        if row.ended_at is None or not 0 <= idx < len(questions):
            continue
        question = questions[idx]
        used_s = max(0.0, float(row.answer_used_s or 0.0))
        clock_s += used_s
        text = row.text_answer or ""
        content = analyze_answer(
            question,
            text,
            language=language,
            time_used_s=used_s,
            interview_id=interview_id,
            t=round(clock_s, 3),
            question_index=idx,
        )
        evidence.append(
            AnswerEvidence(
                question_index=idx,
                competencies=tuple(question.get("competencies") or ()),
                content=content,
                delivery=None,
                duration_s=used_s,
                time_limit_s=float(question.get("answer_s") or 0.0),
                spans=tuple(_spans(text, content.matches, clock_s)),
            )
        )
        if not counts_in_scores(question):
            evidence.pop()
        if idx == index:
            scored = content.to_wire()
    if scored is None:
        return []
    competencies = [(str(c), float(w)) for c, w in meta.get("competencies") or []]
    scores = score_dimensions(evidence, competencies, interview_id, round(clock_s, 3))
    return [scored, *(s.to_wire() for s in scores)]


def _spans(text: str, matches: tuple[tuple[int, str], ...], t: float) -> list[TranscriptSpan]:
    """Where in the written answer each matched keyword stands (quoted for the examiner)."""
    spans = []
    for point, phrase in matches:
        found = re.search(re.escape(phrase), text, re.IGNORECASE)
        if found is None:  # matched after normalisation (stemming, full-width): quote the start
            context = text[: 2 * CONTEXT_CHARS]
        else:
            start = max(0, found.start() - CONTEXT_CHARS)
            context = text[start : found.end() + CONTEXT_CHARS]
        spans.append(TranscriptSpan(phrase, " ".join(context.split()), t, t, point, written=True))
    return spans


class WrittenScoring:
    """Scores a text-mode interview's answers as they end; events go to the analysis sink."""

    def __init__(
        self,
        interview_id: str,
        meta: dict[str, Any],
        answers: Callable[[], Awaitable[list[Answer]]],
        sink: Callable[[dict[str, Any]], None],
    ) -> None:
        """``answers``: coroutine function returning the interview's stored answers."""
        self.interview_id = interview_id
        self._meta = meta
        self._answers = answers
        self._sink = sink

    def report_failure(self, index: int, exc: BaseException) -> None:
        """Tell the examiner that this answer could not be scored (an ``analyzer_error``)."""
        self._sink(
            AnalyzerError(
                interview_id=self.interview_id,
                t=0.0,
                question_index=index,
                analyzer="written",
                message=f"the written answer could not be scored ({type(exc).__name__})",
                recoverable=True,
            ).to_wire()
        )

    async def answer_ended(self, index: int) -> None:
        rows = await self._answers()
        events = await asyncio.to_thread(score_written, self.interview_id, self._meta, rows, index)
        for event in events:
            self._sink(event)
