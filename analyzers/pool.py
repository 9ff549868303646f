"""Analyzer worker processes, owned by the server process.

Each interview is pinned to one worker (its VAD, ASR and tracking state live there).
Sending never blocks the event loop: every worker has a bounded input queue; when it is
full, video frames are dropped and counted, audio is dropped, counted *and reported* as an
``AnalyzerError`` so the gap is visible. A reader thread per worker posts results back to
the loop. A worker that dies is restarted and its interviews reopened; each gets an
``AnalyzerError`` describing the gap.

Each worker's load reports feed its :class:`analyzers.degrade.DegradeController`; when the
level changes, every interview pinned to the worker is told (a ``Degrade`` message), and
its analysis reports the change on the interview's events (``analysis_degraded``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import multiprocessing
import multiprocessing.queues
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzers import messages
from analyzers.degrade import DegradeController, Load, level, new_slot
from analyzers.events import AnalyzerError
from analyzers.speech.asr import AsrConfig
from analyzers.worker import worker_main

logger = logging.getLogger(__name__)

MEDIA_FLUSH_S = 0.05
"""A worker's audio and video go out together (one :class:`analyzers.messages.Media` queue
item) at most this often; the first after a quieter spell goes at once. Every queue item wakes
the queue's feeder thread and the worker whatever its size (``python -m loadtest.ipc_bench
--batch 4``: 0.78 ms of the sender's and 0.27 ms of the worker's CPU per frame sent one by
one, 0.20 + 0.06 ms in fours), and a worker gets ≈ 60 media messages a second at 4
interviews (audio in 100 ms chunks, frames at 5 fps). At 8 candidates the server's CPU outside
speech recognition fell from 63.2 to 58.2 % of a core (docs/benchmarks.md)."""
WORKER_MEDIA_BACKLOG_MAX = 100
"""Media items waiting per worker before new media is dropped (one item per flush, so
≈ 5 s of media while the worker is behind)."""
WORKER_CONTROL_HEADROOM = 200
"""Extra room so control messages (open/context/close) are never refused or waited for."""
WORKER_START_TIMEOUT_S = 60.0
READER_POLL_S = 0.5
OVERFLOW_REPORT_EVERY_S = 5.0
WORKER_ENVIRONMENT: dict[str, str] = {"OPENBLAS_NUM_THREADS": "1"}
"""Set for the worker processes unless the operator set it: numpy's BLAS (mel spectrograms,
resampling) runs in the calling thread. A worker is one core's worth of work, and OpenBLAS's
extra thread per worker spent ≈ 1.5 % of a core waiting between small products at 8
candidates (docs/benchmarks.md, CPU budget)."""

WORKER_PIPE_BYTES = 1 << 20
"""Capacity asked for the pipe under each worker's input queue (Linux; capped by
``/proc/sys/fs/pipe-max-size``, 1 MiB by default). With the default 64 KiB a 320×240 RGB frame
(230 KB pickled) crossed in four writes, each waking the worker for one read: 0.72–0.75 ms of
the worker's CPU per frame against 0.24–0.28 ms through 1 MiB
(``python -m loadtest.ipc_bench``, docs/benchmarks.md)."""

EventSink = Callable[[dict[str, Any]], None]


def grow_pipe(q: multiprocessing.queues.Queue[Any], size_bytes: int = WORKER_PIPE_BYTES) -> int:
    """Ask for a ``size_bytes`` pipe under ``q`` (or the largest the system allows); returns
    the capacity it has (unchanged where the platform has no ``F_SETPIPE_SZ``)."""
    fd = q._writer.fileno()  # type: ignore[attr-defined]
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    get_size = getattr(fcntl, "F_GETPIPE_SZ", None)
    if set_size is None or get_size is None:
        return 0
    try:
        fcntl.fcntl(fd, set_size, size_bytes)
    except OSError:  # above pipe-max-size for an unprivileged process: take the maximum
        with contextlib.suppress(OSError, ValueError):
            with open("/proc/sys/fs/pipe-max-size", encoding="ascii") as f:
                fcntl.fcntl(fd, set_size, min(size_bytes, int(f.read())))
    return int(fcntl.fcntl(fd, get_size))


@dataclass
class _Pinned:
    worker: int
    meta: dict[str, Any]
    sink: EventSink
    context: dict[str, Any] | None = None
    level: int = 0
    """The degradation level last sent for the interview."""
    frame_t: float | None = None
    """Media time of the last frame sent (for a level's reduced face rate)."""
    dropped_audio_s: float = 0.0
    dropped_video: int = 0
    last_report: float = 0.0


@dataclass
class WorkerStats:
    interviews: int = 0
    busy_ratio: float = 0.0
    skipped_frames: int = 0
    asr_cpu_s: float = 0.0
    restarts: int = 0
    queued: int = 0
    """Messages waiting for the worker when the stats were read."""
    backlog_s: float = 0.0
    """Input waiting at the latest report, in seconds of the rate it arrives at."""
    level: int = 0
    """The worker's degradation level (``analyzers.degrade``; 0 = full analysis)."""
    highest_level: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Worker:
    def __init__(self, index: int, asr: AsrConfig) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.index = index
        self.in_q: multiprocessing.queues.Queue[messages.ToWorker] = ctx.Queue(
            WORKER_MEDIA_BACKLOG_MAX + WORKER_CONTROL_HEADROOM
        )
        grow_pipe(self.in_q)
        self.out_q: multiprocessing.queues.Queue[messages.FromWorker] = ctx.Queue()
        self.process = ctx.Process(
            target=worker_main,
            args=(self.in_q, self.out_q, asr),
            name=f"analyzer-{index}",
            daemon=True,
        )
        self.ready = threading.Event()
        self.stopping = False
        self.reader: threading.Thread | None = None
        self.stats = WorkerStats()
        self.degrade = DegradeController()
        self.offered = 0
        """Media items for it since its previous load report (queued or refused)."""
        self.frames_offered = 0
        """Video frames in them."""
        self.outbox: list[messages.Audio | messages.Video] = []
        """Media waiting for the next flush (:data:`MEDIA_FLUSH_S`)."""
        self.last_flush = 0.0
        self.flush_timer: asyncio.TimerHandle | None = None


class AnalyzerPool:
    """N analyzer processes; routes each interview's media to its worker."""

    def __init__(
        self, workers: int, asr: AsrConfig, on_final_latency: Callable[[float], None] | None = None
    ) -> None:
        """``on_final_latency``: called on the loop with each final transcript's latency (its
        ``latency_s``: utterance end detected → final), e.g. a histogram's ``observe``."""
        if workers < 1:
            raise ValueError("at least one analyzer worker is needed")
        self._asr = asr
        self._on_final_latency = on_final_latency
        self.dropped_audio_s = 0.0
        """Audio not analysed because its worker's queue was full, since start."""
        self.dropped_frames = 0
        """Video frames not analysed because their worker's queue was full, since start."""
        self.stale_frames = 0
        """Frames the workers skipped as stale (behind, newer ones waiting), since start."""
        self._count = workers
        self._workers: list[_Worker] = []
        self._pinned: dict[str, _Pinned] = {}
        self._sinks: dict[str, EventSink] = {}
        """Outlive ``close`` so the worker's last events (flushes, closed flags) arrive."""
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._workers = [self._spawn(i) for i in range(self._count)]
        await asyncio.gather(
            *(asyncio.to_thread(w.ready.wait, WORKER_START_TIMEOUT_S) for w in self._workers)
        )
        if not all(w.ready.is_set() for w in self._workers):
            raise RuntimeError("analyzer workers did not start (model load failed?)")

    def _spawn(self, index: int) -> _Worker:
        worker = _Worker(index, self._asr)
        for name, value in WORKER_ENVIRONMENT.items():
            os.environ.setdefault(name, value)  # a spawned process inherits os.environ
        worker.process.start()
        worker.reader = threading.Thread(
            target=self._read, args=(worker,), name=f"analyzer-{index}-reader", daemon=True
        )
        worker.reader.start()
        return worker

    async def aclose(self) -> None:
        for w in self._workers:
            w.stopping = True
            if w.flush_timer is not None:
                w.flush_timer.cancel()
            with contextlib.suppress(queue.Full, ValueError):
                w.in_q.put_nowait(messages.Stop())
        for w in self._workers:
            await asyncio.to_thread(w.process.join, 5.0)
            if w.process.is_alive():
                w.process.kill()
                await asyncio.to_thread(w.process.join, 5.0)
            if w.reader is not None:
                await asyncio.to_thread(w.reader.join, 2 * READER_POLL_S)
        self._workers = []

    # -- interviews -----------------------------------------------------------------------

    def open(self, interview_id: str, meta: dict[str, Any], sink: EventSink) -> None:
        """Pin an interview to the least loaded worker and start analysing it."""
        load = [0] * len(self._workers)
        for p in self._pinned.values():
            load[p.worker] += 1
        index = min(range(len(load)), key=load.__getitem__)
        pinned = self._pinned[interview_id] = _Pinned(index, meta, sink)
        self._sinks[interview_id] = sink
        self._send(messages.Open(interview_id, meta), critical=True)
        self._send_level(interview_id, pinned, self._workers[index].degrade.level)

    def close(self, interview_id: str) -> None:
        if interview_id in self._pinned:
            self._send(messages.Close(interview_id), critical=True)
            del self._pinned[interview_id]

    def forget(self, interview_id: str) -> None:
        """Stop delivering late events of a closed interview."""
        if interview_id not in self._pinned:
            self._sinks.pop(interview_id, None)

    def set_context(self, interview_id: str, context: dict[str, Any]) -> None:
        pinned = self._pinned.get(interview_id)
        if pinned is not None:
            pinned.context = context
            self._send(messages.Context(interview_id, context), critical=True)

    def push_audio(self, interview_id: str, t: float, samples: npt.NDArray[np.float32]) -> None:
        """Queue audio for the interview's worker (on the loop; sent with the next flush)."""
        message = messages.Audio(interview_id, t, samples)
        if not self._send(message):
            self._dropped(message)

    def push_video(
        self, interview_id: str, t: float, rgb: npt.NDArray[np.uint8] | bytes, pose: bool
    ) -> None:
        """``rgb``: an RGB frame, or JPEG bytes (decoded in the worker). At a degradation
        level with a reduced face rate only the frames starting a face slot are sent."""
        pinned = self._pinned.get(interview_id)
        if pinned is None:
            return
        every_s = level(pinned.level).face_every_s
        if every_s is not None and not new_slot(pinned.frame_t, t, every_s):
            return
        message = messages.Video(interview_id, t, rgb, pose)
        if self._send(message):
            pinned.frame_t = t
        else:
            self._dropped(message)

    def browser_signal(self, interview_id: str, kind: str, t: float, detail: str) -> None:
        self._send(messages.Signal(interview_id, kind, t, detail), critical=True)

    def stats(self) -> list[WorkerStats]:
        for w in self._workers:
            with contextlib.suppress(NotImplementedError, OSError):
                w.stats.queued = w.in_q.qsize()
        return [w.stats for w in self._workers]

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, message: messages.Control, critical: bool = False) -> bool:
        """Media (not ``critical``) waits in the worker's outbox for the next flush; a control
        message goes at once, after the media pushed before it."""
        interview_id = message.interview_id
        pinned = self._pinned.get(interview_id)
        if pinned is None or not self._workers:
            return False
        worker = self._workers[pinned.worker]
        if not critical:
            assert isinstance(message, messages.Audio | messages.Video)
            worker.outbox.append(message)
            self._schedule_flush(worker)
            return True
        self._flush(worker)
        try:
            worker.in_q.put_nowait(message)
        except (queue.Full, ValueError):
            logger.error("analyzer %d refused a control message for %s", worker.index, interview_id)
            return False
        return True

    def _schedule_flush(self, worker: _Worker) -> None:
        if worker.flush_timer is not None:
            return
        wait_s = worker.last_flush + MEDIA_FLUSH_S - time.monotonic()
        if wait_s <= 0 or self._loop is None:
            self._flush(worker)
        else:
            worker.flush_timer = self._loop.call_later(wait_s, self._flush, worker)

    def _flush(self, worker: _Worker) -> None:
        """Send the worker's outbox as one item, or drop it (counted) while the worker is
        :data:`WORKER_MEDIA_BACKLOG_MAX` items behind."""
        if worker.flush_timer is not None:
            worker.flush_timer.cancel()
            worker.flush_timer = None
        batch, worker.outbox = worker.outbox, []
        if not batch:
            return
        worker.last_flush = time.monotonic()
        worker.offered += 1
        worker.frames_offered += sum(isinstance(m, messages.Video) for m in batch)
        try:
            if worker.in_q.qsize() >= WORKER_MEDIA_BACKLOG_MAX:
                raise queue.Full
            worker.in_q.put_nowait(messages.Media(tuple(batch)))
        except (queue.Full, ValueError):
            for message in batch:
                self._dropped(message)

    def _dropped(self, message: messages.Audio | messages.Video) -> None:
        """Count media its worker did not take; a gap in the audio is reported."""
        pinned = self._pinned.get(message.interview_id)
        if isinstance(message, messages.Video):
            self.dropped_frames += 1
            if pinned is not None:
                pinned.dropped_video += 1
            return
        if pinned is None:
            return  # closed meanwhile: its audio is no longer wanted
        seconds = len(message.samples) / 16_000
        self.dropped_audio_s += seconds
        pinned.dropped_audio_s += seconds
        self._report_overflow(message.interview_id, pinned, message.t)

    def _report_overflow(self, interview_id: str, pinned: _Pinned, t: float) -> None:
        now = time.monotonic()
        if now - pinned.last_report < OVERFLOW_REPORT_EVERY_S:
            return
        pinned.last_report = now
        gap, pinned.dropped_audio_s = pinned.dropped_audio_s, 0.0
        pinned.sink(
            AnalyzerError(
                interview_id=interview_id,
                t=t,
                analyzer="asr",
                message=f"analysis is behind; {gap:.1f} s of audio were not analysed",
                gap_s=round(gap, 2),
            ).to_wire()
        )

    def _read(self, worker: _Worker) -> None:
        """Reader thread: worker results → the event loop; notices a dead worker."""
        while True:
            try:
                message = worker.out_q.get(timeout=READER_POLL_S)
            except queue.Empty:
                if worker.stopping:
                    return
                if not worker.process.is_alive():
                    self._post(self._restart, worker.index)
                    return
                continue
            except (EOFError, OSError, ValueError):
                return
            match message:
                case messages.Ready():
                    worker.ready.set()
                case messages.Events(events=events):
                    self._post(self._dispatch, events)
                case messages.Stats():
                    self._post(self._on_stats, worker, message)
                case messages.Stopped():
                    return

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(fn, *args)

    def _on_stats(self, worker: _Worker, report: messages.Stats) -> None:
        """A worker's load report (on the loop): its stats, then its degradation level."""
        if worker not in self._workers:
            return  # replaced or stopped meanwhile
        stats = worker.stats
        stats.interviews = report.interviews
        stats.busy_ratio = report.busy_s / max(report.wall_s, 1e-6)
        stats.skipped_frames += report.skipped_frames
        self.stale_frames += report.skipped_frames
        stats.asr_cpu_s = report.asr_cpu_s
        arrivals_per_s, worker.offered = worker.offered / max(report.wall_s, 1e-6), 0
        frames, worker.frames_offered = worker.frames_offered, 0
        with contextlib.suppress(NotImplementedError, OSError):
            stats.queued = worker.in_q.qsize()
        stats.backlog_s = stats.queued / arrivals_per_s if arrivals_per_s > 0 else 0.0
        now = time.monotonic()
        if any(p.worker == worker.index for p in self._pinned.values()):
            load = Load(
                now,
                report.wall_s,
                stats.busy_ratio,
                stats.backlog_s,
                report.skipped_frames,
                frames,
            )
            new = worker.degrade.observe(load)
        else:
            new = worker.degrade.reset(now)
        stats.level, stats.highest_level = worker.degrade.level, worker.degrade.highest
        if new is not None:
            logger.warning(
                "analyzer %d: busy %.2f, %.1f s of input waiting, %d stale frames skipped: "
                "analysis level %d (%s)",
                worker.index,
                stats.busy_ratio,
                stats.backlog_s,
                report.skipped_frames,
                new,
                level(new).meaning,
            )
            self._set_level(worker.index, new)

    def _set_level(self, index: int, new: int) -> None:
        """Run every interview pinned to worker ``index`` at degradation level ``new``."""
        for iid, pinned in self._pinned.items():
            if pinned.worker == index:
                self._send_level(iid, pinned, new)

    def _send_level(self, interview_id: str, pinned: _Pinned, new: int) -> None:
        if new != pinned.level:
            pinned.level = new
            self._send(messages.Degrade(interview_id, new), critical=True)

    def ready(self) -> bool:
        """Every worker process started (its models loaded) and still running."""
        return bool(self._workers) and all(
            w.ready.is_set() and w.process.is_alive() for w in self._workers
        )

    def _dispatch(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if self._on_final_latency is not None and event.get("type") == "transcript_final":
                self._on_final_latency(float(event.get("latency_s") or 0.0))
            sink = self._sinks.get(event.get("interview_id", ""))
            if sink is not None:
                try:
                    sink(event)
                except Exception:
                    logger.exception("event sink failed")

    def _restart(self, index: int) -> None:
        old = self._workers[index]
        if old.stopping:
            return
        logger.error("analyzer worker %d died (exit %s); restarting", index, old.process.exitcode)
        if old.flush_timer is not None:
            old.flush_timer.cancel()  # its outbox is lost with the process (the gap is reported)
        worker = self._spawn(index)
        worker.stats.restarts = old.stats.restarts + 1
        worker.degrade = old.degrade
        self._workers[index] = worker
        for iid, pinned in self._pinned.items():
            if pinned.worker != index:
                continue
            self._send(messages.Open(iid, pinned.meta), critical=True)
            if pinned.context is not None:
                self._send(messages.Context(iid, pinned.context), critical=True)
            if pinned.level:  # the new process starts at full analysis
                self._send(messages.Degrade(iid, pinned.level), critical=True)
            pinned.sink(
                AnalyzerError(
                    interview_id=iid,
                    t=0.0,
                    analyzer="worker",
                    message="the analyzer process crashed and was restarted; "
                    "analysis resumes, earlier in-progress speech may be missing",
                ).to_wire()
            )
