"""Analysis results on the server side: persist what must not be lost, publish everything.

Analyzer events arrive on the event loop from the worker pool. Per interview, an
:class:`AnalysisSink` keeps them in order in a bounded queue and one task writes the durable
ones (final transcripts, flags, scores, answer metrics, errors) to the store, then publishes
every event on the ``interview:<id>`` topic. When the queue is full, frequent metrics (face,
posture, partials) are dropped first; durable events are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from analyzers.speech.asr_models import TRANSCRIPTION_UNAVAILABLE, hears
from analyzers.text import join_texts
from common.text import base_language
from server.core.services import Services
from server.domain.interviews import Interview

logger = logging.getLogger(__name__)

DURABLE_TYPES = frozenset(
    {
        "transcript_final",
        "flag",
        "score_update",
        "content_metrics",
        "delivery_metrics",
        "analyzer_error",
        "analysis_degraded",
        "network_gap",
    }
)
SINK_SOFT_LIMIT = 2000
"""Queued events above which non-durable ones are dropped."""
SINK_LINGER_S = 60.0
"""A closed interview's sink keeps accepting late events (the worker's last words)."""


def interview_topic(interview_id: str) -> str:
    return f"interview:{interview_id}"


class AnalysisSink:
    """Ordered persistence + publication of one interview's analysis events."""

    def __init__(self, svc: Services, interview_id: str) -> None:
        self._svc = svc
        self.interview_id = interview_id
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.dropped = 0
        self._task = asyncio.create_task(self._run(), name=f"analysis-sink-{interview_id}")

    def __call__(self, event: dict[str, Any]) -> None:
        if len(self._queue) >= SINK_SOFT_LIMIT and event.get("type") not in DURABLE_TYPES:
            self.dropped += 1
            return
        event["server_ts"] = time.time()  # arrival from the analyzer: dashboard latency starts here
        self._queue.append(event)
        self._drained.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 200))]
                durable = [e for e in batch if e.get("type") in DURABLE_TYPES]
                if durable:
                    try:
                        await self._svc.store.add_analysis_events(durable)
                    except Exception:
                        logger.exception("could not store analysis events; retrying")
                        self._queue.extendleft(reversed(batch))
                        await asyncio.sleep(1.0)
                        break
                topic = interview_topic(self.interview_id)
                for event in batch:
                    self._svc.hub.publish(topic, {**event, "kind": "analysis"})
            if not self._queue:
                self._drained.set()

    async def wait_drained(self, timeout_s: float) -> bool:
        """Wait until everything received so far is stored and published."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        """Flush what is queued, then stop."""
        for _ in range(50):
            if not self._queue:
                break
            self._wake.set()
            await asyncio.sleep(0.05)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def analysis_summary(svc: Services, interview_id: str) -> dict[str, Any]:
    """Transcripts per answer, latest scores, merged flags, errors and network gaps (no media
    arrived: the network, not the candidate), from the store."""
    events = await svc.store.analysis_events(
        interview_id, ["transcript_final", "score_update", "flag", "analyzer_error", "network_gap"]
    )
    transcripts: dict[int, list[dict[str, Any]]] = {}
    scores: dict[str, dict[str, Any]] = {}
    flags: dict[tuple[str, float], dict[str, Any]] = {}
    errors = []
    gaps = []
    for e in events:
        kind = e["type"]
        if kind == "transcript_final" and e.get("question_index") is not None:
            transcripts.setdefault(int(e["question_index"]), []).append(e)
        elif kind == "score_update":
            scores[e["dimension"]] = e
        elif kind == "flag":
            key = (e["flag"], round(float(e["start_s"]), 3))
            merged = flags.setdefault(key, {**e})
            if e.get("end_s") is not None:
                merged["end_s"] = e["end_s"]
        elif kind == "analyzer_error":
            errors.append({k: e.get(k) for k in ("analyzer", "message", "t", "gap_s")})
        elif kind == "network_gap":
            gaps.append({k: e.get(k) for k in ("t", "duration_s", "question_index")})
    return {
        "transcripts": transcripts,
        "scores": [
            {
                "dimension": s["dimension"],
                "value": s["value"],
                "reason": s["reason"],
                "evidence": s.get("evidence", []),
                "suggestion": True,
                "t": s["t"],
            }
            for s in scores.values()
        ],
        "flags": [
            {
                "type": f["flag"],
                "start_s": f["start_s"],
                "end_s": f.get("end_s"),
                "question_index": f.get("question_index"),
                "evidence": f.get("evidence", []),
            }
            for f in flags.values()
        ],
        "analyzer_errors": errors,
        "network_gaps": gaps,
    }


async def analysis_level(svc: Services, interview_id: str) -> dict[str, Any] | None:
    """The interview's latest ``analysis_degraded`` event (its live analysis level under
    load, ``analyzers.degrade``), or None when it never changed."""
    events = await svc.store.analysis_events(interview_id, ["analysis_degraded"])
    return events[-1] if events else None


UNAVAILABLE_MESSAGE = {
    "en": "Transcription is unavailable for this language: transcript-based scores are not "
    "applicable (an operator can map a speech model to it, see docs/models.md).",
    "zh": "该语言暂无语音转写模型：基于转写的评分不适用（管理员可为其配置模型，见 docs/models.md）。",
}


def transcription_status(
    svc: Services, interview: Interview, summary: dict[str, Any]
) -> dict[str, Any]:
    """Whether this interview's speech is transcribed: ``{"available", "language", "message"}``.

    Unavailable when this process's settings map no model to the language, or when the
    analyzer that ran the interview said so (its settings may differ in a cluster).
    """
    language = base_language(str(interview.language)) or "en"
    said_so = any(
        str(e.get("message") or "").startswith(TRANSCRIPTION_UNAVAILABLE)
        for e in summary["analyzer_errors"]
    )
    available = hears(language, svc.asr_models) and not said_so
    return {
        "available": available,
        "language": language,
        "message": None if available else UNAVAILABLE_MESSAGE,
    }


def answer_transcript(finals: list[dict[str, Any]], default_language: str) -> dict[str, str]:
    """An answer's ``transcript`` (its finals joined) and ``language``: the one most of its
    text was recognised in, else ``default_language`` (the interview's)."""
    weight: dict[str, int] = {}
    for f in finals:
        lang = base_language(str(f.get("language") or ""))
        if lang:
            weight[lang] = weight.get(lang, 0) + len(str(f.get("text") or ""))
    return {
        "transcript": join_texts(f["text"] for f in finals),
        "language": max(weight, key=lambda k: weight[k])
        if weight
        else base_language(default_language) or "en",
    }
