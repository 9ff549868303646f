"""The analyzer worker process: loads the models once, analyses many interviews.

Messages in (tuples, picklable): ("open", iid, meta), ("audio", iid, t, samples),
("video", iid, t, rgb, pose), ("context", iid, context), ("signal", iid, kind, t, detail),
("close", iid), ("stop",). Out: ("events", [wire dicts]) and ("stats", {...}).

Scheduling inside the worker, per batch of messages: audio is fed to every interview's VAD
first (cheap, never dropped); final transcripts are computed next (never skipped); then the
video frames of the last second per interview (they arrive pre-sampled at the analysis rate;
older ones are skipped as stale and counted); partial transcripts run last and only when no
new messages are waiting.
"""

from __future__ import annotations

import logging
import multiprocessing.queues
import os
import queue
import time
from typing import Any

from analyzers.asr import AsrConfig, AsrModels
from analyzers.pipeline import InterviewAnalysis

logger = logging.getLogger(__name__)

MAX_BATCH_MESSAGES = 200
IDLE_WAIT_S = 0.05
STATS_EVERY_S = 2.0
VIDEO_BACKLOG_MAX_S = 1.0
"""Frames older than this (media time, behind the newest) are skipped as stale."""


def worker_main(
    in_q: multiprocessing.queues.Queue[Any],
    out_q: multiprocessing.queues.Queue[Any],
    asr_config: AsrConfig,
) -> None:
    """Entry point of a worker process (spawned)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    import cv2

    cv2.setNumThreads(1)  # once per process: mediapipe and CTranslate2 have their own threads
    parent = os.getppid()
    models = AsrModels(asr_config)
    models.preload([asr_config.language or "en"])  # fail here, not at the first interview
    out_q.put(("ready", {}))
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
        events: list[dict[str, Any]] = []
        video: dict[str, list[tuple[Any, ...]]] = {}
        for msg in messages:
            kind = msg[0]
            if kind == "stop":
                for analysis in interviews.values():
                    analysis.close()
                out_q.put(("stopped", {}))
                return
            iid = msg[1]
            try:
                if kind == "open":
                    if iid in interviews:
                        interviews[iid].close()
                    interviews[iid] = InterviewAnalysis(iid, models, asr_config, msg[2])
                    events += interviews[iid].opening_events()
                    continue
                found = interviews.get(iid)
                if found is None:
                    continue
                analysis = found
                if kind == "audio":
                    events += analysis.push_audio(msg[2], msg[3])
                elif kind == "video":
                    video.setdefault(iid, []).append(msg)
                elif kind == "context":
                    events += analysis.set_context(msg[2])
                elif kind == "signal":
                    events += analysis.browser_signal(msg[2], msg[3], msg[4])
                elif kind == "close":
                    events += analysis.finish()
                    analysis.close()
                    del interviews[iid]
            except Exception as exc:  # one interview's failure must not stop the others
                logger.exception("analysis of %s failed on %s", iid, kind)
                events.append(_error(iid, kind, exc))
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
            newest_t = frames[-1][2]
            fresh = [m for m in frames if newest_t - m[2] <= VIDEO_BACKLOG_MAX_S]
            skipped_frames += len(frames) - len(fresh)
            try:
                for msg in fresh:
                    events += target.push_video(msg[2], _rgb(msg[3]), msg[4])
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
            out_q.put(("events", events))
        now = time.monotonic()
        if now - last_stats >= STATS_EVERY_S:
            out_q.put(
                (
                    "stats",
                    {
                        "interviews": len(interviews),
                        "skipped_frames": skipped_frames,
                        "busy_s": busy_s,
                        "wall_s": now - last_stats,
                        "asr_cpu_s": sum(a.asr_cpu_s for a in interviews.values()),
                    },
                )
            )
            last_stats, busy_s, skipped_frames = now, 0.0, 0


def _rgb(frame: Any) -> Any:
    """Frames come as RGB arrays (same machine) or JPEG bytes (over Redis)."""
    if isinstance(frame, bytes):
        import cv2
        import numpy as np

        bgr = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError("undecodable JPEG frame")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return frame


def _error(iid: str, analyzer: str, exc: BaseException) -> dict[str, Any]:
    from analyzers.events import AnalyzerError

    return AnalyzerError(
        interview_id=iid, t=0.0, analyzer=analyzer, message=f"{type(exc).__name__}: {exc}"
    ).to_wire()
