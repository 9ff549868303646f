"""The analyzer worker process: loads the models once, analyses many interviews.

Messages in and out are the typed :mod:`analyzers.messages` (pickled on the process queues):
:data:`~analyzers.messages.ToWorker` in, :data:`~analyzers.messages.FromWorker` out.

Scheduling inside the worker, per batch of messages (the pool's :class:`Media` batches opened
in order): audio is fed to every interview's VAD
first (cheap, never dropped); final transcripts are computed next (never skipped); then the
video frames of the last second per interview (they arrive pre-sampled at the analysis rate;
older ones are skipped as stale and counted; those the interview's degradation level does not
analyse are dropped before decoding, uncounted); partial transcripts run last and only when no
new messages are waiting (and not at all for interviews whose level turns them off).
"""

from __future__ import annotations

import logging
import multiprocessing.queues
import os
import queue
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzers.messages import (
    Audio,
    Close,
    Context,
    Control,
    Degrade,
    Events,
    FromWorker,
    Media,
    Open,
    Ready,
    Signal,
    Stats,
    Stop,
    Stopped,
    ToWorker,
    Video,
)
from analyzers.pipeline import InterviewAnalysis
from analyzers.speech.asr import AsrConfig, AsrModels

logger = logging.getLogger(__name__)

MAX_BATCH_MESSAGES = 200
IDLE_WAIT_S = 0.05
STATS_EVERY_S = 2.0
VIDEO_BACKLOG_MAX_S = 1.0
"""Frames older than this (media time, behind the newest) are skipped as stale."""

WireEvents = list[dict[str, Any]]


def worker_main(
    in_q: multiprocessing.queues.Queue[ToWorker],
    out_q: multiprocessing.queues.Queue[FromWorker],
    asr_config: AsrConfig,
) -> None:
    """Entry point of a worker process (spawned)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    import cv2

    cv2.setNumThreads(1)  # once per process: mediapipe and CTranslate2 have their own threads
    parent = os.getppid()
    models = AsrModels(asr_config)
    models.preload([asr_config.language or "en"])  # fail here, not at the first interview
    out_q.put(Ready())
    interviews: dict[str, InterviewAnalysis] = {}
    skipped_frames = 0
    last_stats = time.monotonic()
    busy_s = 0.0
    while True:
        try:
            messages = [in_q.get(timeout=IDLE_WAIT_S)]
        except queue.Empty:
            messages = []
            if os.getppid() != parent:  # the server process died (e.g. SIGKILL): no orphans
                logger.warning("analyzer worker: parent process gone; exiting")
                return
        for _ in range(MAX_BATCH_MESSAGES):
            try:
                messages.append(in_q.get_nowait())
            except queue.Empty:
                break
        started = time.process_time()
        events: WireEvents = []
        video: dict[str, list[Video]] = {}
        for msg in unbatched(messages):
            if isinstance(msg, Stop):
                for analysis in interviews.values():
                    analysis.close()
                out_q.put(Stopped())
                return
            try:
                events += _apply(msg, interviews, models, asr_config, video)
            except Exception as exc:  # one interview's failure must not stop the others
                kind = _kind(msg)
                logger.exception("analysis of %s failed on %s", msg.interview_id, kind)
                events.append(_error(msg.interview_id, kind, exc))
        for iid, analysis in interviews.items():
            try:
                events += analysis.finals()
            except Exception as exc:
                logger.exception("final transcript of %s failed", iid)
                events.append(_error(iid, "asr", exc))
        for iid, frames in video.items():
            target = interviews.get(iid)
            if target is None:
                continue
            # Frames arrive already sampled at the analysis rate; analyse them all unless
            # the worker has fallen behind, then only the most recent second (stale frames
            # are skipped and counted).
            newest_t = frames[-1].t
            fresh = [m for m in frames if newest_t - m.t <= VIDEO_BACKLOG_MAX_S]
            skipped_frames += len(frames) - len(fresh)
            try:
                for msg in fresh:
                    if target.wants_video(msg.t):
                        events += target.push_video(msg.t, _rgb(msg.frame), msg.pose)
            except Exception as exc:
                logger.exception("video analysis of %s failed", iid)
                events.append(_error(iid, "vision", exc))
        if in_q.empty():
            for iid, analysis in interviews.items():
                try:
                    events += analysis.partial()
                except Exception as exc:
                    events.append(_error(iid, "asr", exc))
        busy_s += time.process_time() - started
        if events:
            out_q.put(Events(events))
        now = time.monotonic()
        if now - last_stats >= STATS_EVERY_S:
            asr_cpu_s = sum(a.asr_cpu_s for a in interviews.values())
            wall_s = now - last_stats
            out_q.put(Stats(len(interviews), skipped_frames, busy_s, wall_s, asr_cpu_s))
            last_stats, busy_s, skipped_frames = now, 0.0, 0


def _apply(
    msg: Control,
    interviews: dict[str, InterviewAnalysis],
    models: AsrModels,
    asr_config: AsrConfig,
    video: dict[str, list[Video]],
) -> WireEvents:
    """One message's effect; video frames are only collected (analysed after the finals)."""
    iid = msg.interview_id
    if isinstance(msg, Open):
        if iid in interviews:
            interviews[iid].close()
        interviews[iid] = InterviewAnalysis(iid, models, asr_config, msg.meta)
        return interviews[iid].opening_events()
    analysis = interviews.get(iid)
    if analysis is None:
        return []
    match msg:
        case Audio(t=t, samples=samples):
            return analysis.push_audio(t, samples)
        case Video():
            video.setdefault(iid, []).append(msg)
        case Context(context=context):
            return analysis.set_context(context)
        case Degrade(level=level):
            return analysis.set_level(level)
        case Signal(kind=kind, t=t, detail=detail):
            return analysis.browser_signal(kind, t, detail)
        case Close():
            events = analysis.finish()
            analysis.close()
            del interviews[iid]
            return events
    return []


def unbatched(received: list[ToWorker]) -> list[Control | Stop]:
    """The messages of ``received`` in order, :class:`Media` batches opened."""
    out: list[Control | Stop] = []
    for msg in received:
        if isinstance(msg, Media):
            out += msg.items
        else:
            out.append(msg)
    return out


def _kind(msg: Control) -> str:
    """The message's kind as AnalyzerError names the failing step ("audio", "open"…)."""
    return type(msg).__name__.lower()


def _rgb(frame: npt.NDArray[np.uint8] | bytes) -> npt.NDArray[np.uint8]:
    """Frames come as RGB arrays (same machine) or JPEG bytes (over Redis)."""
    if isinstance(frame, bytes):
        import cv2

        bgr = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError("undecodable JPEG frame")
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    return frame


def _error(iid: str, analyzer: str, exc: BaseException) -> dict[str, Any]:
    from analyzers.events import AnalyzerError

    return AnalyzerError(
        interview_id=iid, t=0.0, analyzer=analyzer, message=f"{type(exc).__name__}: {exc}"
    ).to_wire()
