"""What the load test observes while it runs: each candidate's events as its viewer received
them, event → viewer latencies, the per-second time series with its progress line, and the
nodes' health."""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import aiohttp
import numpy as np

from loadtest.candidate.packets import PacedPackets
from loadtest.report import DASHBOARD_WINDOW_S
from loadtest.target import Api, HttpError, usages

SAMPLE_EVERY_S = 1.0
FPS_WINDOW_S = 5.0
"""Analysed fps in the time series counts events over this trailing window."""
RECEIVED_FPS_MAX_AGE_S = 12.0
"""The server reports received fps every 5 s; older reports are stale."""
HEALTH_EVERY_S = 1.0
HEALTH_TIMEOUT_S = 5.0
PLAIN_PROGRESS_EVERY_S = 10.0
"""Without a terminal, the progress line is printed this often."""
PROGRESS_BAR_CHARS = 20
MAX_ERRORS_KEPT = 20
"""Analyzer error events kept per candidate (all are counted)."""
MAX_FINAL_TEXTS_KEPT = 500


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float | None:
    """The nearest-rank ``q`` quantile (``q`` in 0..1); None without values."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q * 100, method="nearest"))


def count_between(times: Sequence[float], t0: float, t1: float) -> int:
    """Sorted ``times`` within [t0, t1]."""
    return bisect.bisect_right(times, t1) - bisect.bisect_left(times, t0)


@dataclass
class CandidateRun:
    """One synthetic candidate: where it streams and what its viewer received (arrival times)."""

    index: int
    base_url: str
    interview_id: str = ""
    admitted: bool = False
    connected_at: float | None = None
    refused: str | None = None
    """Why the candidate never streamed (never admitted, or the connection failed)."""
    error: str | None = None
    """A failure after the candidate started streaming."""
    redirected: int = 0
    audio: PacedPackets | None = None
    sent: list[PacedPackets] = field(default_factory=list)
    """Every track the candidate streamed (one pair per connection)."""
    invited: asyncio.Event = field(default_factory=asyncio.Event)
    face_times: array[float] = field(default_factory=lambda: array("d"))
    face_one_times: array[float] = field(default_factory=lambda: array("d"))
    """Face metrics that saw exactly one face."""
    pose_times: array[float] = field(default_factory=lambda: array("d"))
    face_counts: list[tuple[float, int]] = field(default_factory=list)
    """(arrival, the event's ``frames_analyzed``): dashboards keep only the latest face event
    when several arrive at once, so analysed frames are counted by the server's counter."""
    pose_counts: list[tuple[float, int]] = field(default_factory=list)
    final_times: array[float] = field(default_factory=lambda: array("d"))
    final_texts: list[str] = field(default_factory=list)
    """The first MAX_FINAL_TEXTS_KEPT final transcripts, to check what the server heard."""
    received_fps: list[tuple[float, float]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    dropped_audio_s: float = 0.0
    media_loss: dict[str, float] = field(default_factory=dict)
    """The server's latest counts of the audio it made up for lost packets, of the video
    frames it kept from analysis after losses and of reconnections (``connection`` events)."""
    latencies: list[tuple[float, float]] = field(default_factory=list)
    """(sentence end, its final's arrival − sentence end), resolved as finals arrive."""
    levels: list[tuple[float, int]] = field(default_factory=list)
    """(arrival, analysis level) of every ``analysis_degraded`` event (0: full analysis)."""
    resolved_marks: int = 0

    def record(self, now: float, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "face_metrics":
            self.face_times.append(now)
            if event.get("faces") == 1:
                self.face_one_times.append(now)
            if isinstance(event.get("frames_analyzed"), int):
                self.face_counts.append((now, event["frames_analyzed"]))
        elif kind == "posture_metrics":
            self.pose_times.append(now)
            if isinstance(event.get("samples_analyzed"), int):
                self.pose_counts.append((now, event["samples_analyzed"]))
        elif kind == "transcript_final":
            self.final_times.append(now)
            if len(self.final_texts) < MAX_FINAL_TEXTS_KEPT:
                self.final_texts.append(str(event.get("text") or ""))
        elif kind == "analysis_degraded" and isinstance(event.get("level"), int):
            self.levels.append((now, event["level"]))
        elif kind == "snapshot" and isinstance(event.get("degraded"), dict):
            level = event["degraded"].get("level")  # a resync: the level in force
            if isinstance(level, int) and (not self.levels or self.levels[-1][1] != level):
                self.levels.append((now, level))
        elif kind == "connection" and isinstance(event.get("video_fps"), int | float):
            self.received_fps.append((now, float(event["video_fps"])))
            self.media_loss = {
                key: event[key]
                for key in (
                    "audio_concealed_s",
                    "audio_fec_packets",
                    "audio_gaps",
                    "video_frames_damaged",
                    "video_frames_not_decoded",
                    "reconnects",
                )
                if isinstance(event.get(key), int | float)
            }
        elif kind == "analyzer_error":
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(event)
            gap = event.get("gap_s")
            if isinstance(gap, int | float):
                self.dropped_audio_s += float(gap)

    def resolve_latencies(self) -> list[tuple[float, float]]:
        """Time sentences whose final has arrived since the last call (each sentence once)."""
        marks = self.audio.mark_times if self.audio is not None else []
        new = []
        while self.resolved_marks < len(marks):
            mark = marks[self.resolved_marks]
            i = bisect.bisect_left(self.final_times, mark)
            if i == len(self.final_times):
                break
            new.append((mark, self.final_times[i] - mark))
            self.resolved_marks += 1
        self.latencies += new
        return new

    def rate(self, times: Sequence[float], now: float) -> float | None:
        """Events per second over the trailing window, once streaming that long."""
        if self.connected_at is None or now - self.connected_at < FPS_WINDOW_S:
            return None
        return count_between(times, now - FPS_WINDOW_S, now) / FPS_WINDOW_S

    def received_now(self, now: float) -> float | None:
        if not self.received_fps or now - self.received_fps[-1][0] > RECEIVED_FPS_MAX_AGE_S:
            return None
        return self.received_fps[-1][1]


class DashboardMeter:
    """Event → viewer latency of every event on every viewer socket, in arrival order."""

    def __init__(self) -> None:
        self.times: array[float] = array("d")
        self.ms: array[float] = array("d")
        self._window_start = 0

    def add(self, now: float, server_ts: float) -> None:
        self.times.append(now)
        self.ms.append((now - server_ts) * 1000)

    def window(self) -> tuple[int, float, float, float] | None:
        """(count, p50, p95, max ms) of the latencies since the previous call."""
        start, self._window_start = self._window_start, len(self.ms)
        if start == self._window_start:
            return None
        values = np.array(self.ms[start : self._window_start])
        p50, p95 = np.percentile(values, [50, 95], method="nearest")
        return (
            len(values),
            round(float(p50), 1),
            round(float(p95), 1),
            round(float(values.max()), 1),
        )

    def between(self, t0: float, t1: float) -> np.ndarray:
        times = np.array(self.times)
        return np.array(self.ms)[(times >= t0) & (times <= t1)]


class Progress:
    """One status line on stderr: redrawn in place on a terminal, else printed every 10 s."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self._stream = stream
        self._tty = not quiet and stream.isatty()
        self._plain = not quiet and not self._tty
        self._last_plain = -math.inf
        self._width = 0

    def show(self, text: str, now: float) -> None:
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self._stream.flush()
        elif self._plain and now - self._last_plain >= PLAIN_PROGRESS_EVERY_S:
            self._last_plain = now
            print(text, file=self._stream, flush=True)

    def close(self) -> None:
        if self._tty and self._width:
            print(file=self._stream, flush=True)
            self._width = 0


def progress_text(
    elapsed_s: float,
    total_s: float,
    n: int,
    connected: int,
    refused: int,
    face_fps_min: float | None,
    asr_p95_s: float | None,
) -> str:
    done = min(1.0, elapsed_s / total_s) if total_s > 0 else 1.0
    face = "—" if face_fps_min is None else f"{face_fps_min:.1f}"
    asr = "—" if asr_p95_s is None else f"{asr_p95_s:.2f}"
    return (
        f"[{'#' * int(done * PROGRESS_BAR_CHARS):<{PROGRESS_BAR_CHARS}}] "
        f"{elapsed_s:4.0f}/{total_s:.0f} s | connected {connected}/{n} refused {refused} "
        f"| face min {face} fps | ASR final p95 {asr} s"
    )


@dataclass
class ProcessSeries:
    """CPU % (between samples) and RSS of one process tree over time."""

    pid: int
    samples: list[list[float]] = field(default_factory=list)
    """[s since start, CPU %, RSS MiB]."""
    last: tuple[float, float] | None = None

    def add(self, t_s: float, cpu_s: float, rss_mb: float) -> None:
        if self.last is not None and t_s > self.last[0]:
            cpu = max(0.0, 100 * (cpu_s - self.last[1]) / (t_s - self.last[0]))
            self.samples.append([round(t_s, 2), round(cpu, 1), round(rss_mb, 1)])
        self.last = (t_s, cpu_s)


class Recorder:
    """Samples the run every second into the time series and redraws the progress line."""

    def __init__(
        self,
        runs: Sequence[CandidateRun],
        meter: DashboardMeter,
        pids: Sequence[int],
        origin: float,
        planned_s: float,
        progress: Progress,
    ) -> None:
        self.runs, self.meter, self.origin, self.planned_s = runs, meter, origin, planned_s
        self.pids = tuple(pids)
        self.progress = progress
        self.measure_from: float | None = None
        self.t_s: list[float] = []
        self.connected: list[int] = []
        self.refused: list[int] = []
        self.face: list[list[float | None]] = [[] for _ in runs]
        self.pose: list[list[float | None]] = [[] for _ in runs]
        self.received: list[list[float | None]] = [[] for _ in runs]
        self.asr_finals: list[list[float]] = []
        """[sentence end s since start, candidate, latency s]."""
        self.dashboard: list[list[float]] = []
        """[window end s since start, count, p50, p95, max ms]."""
        self.processes = [ProcessSeries(pid) for pid in self.pids]
        self.latencies_s: list[float] = []
        self._next_window = origin + DASHBOARD_WINDOW_S

    async def run(self, until: float) -> None:
        for tick in range(1, int((until - self.origin) / SAMPLE_EVERY_S) + 1):
            await asyncio.sleep(max(0.0, self.origin + tick * SAMPLE_EVERY_S - time.time()))
            await self.sample(time.time())

    async def sample(self, now: float) -> None:
        t = round(now - self.origin, 2)
        self.t_s.append(t)
        self.connected.append(sum(1 for r in self.runs if r.connected_at is not None))
        self.refused.append(sum(1 for r in self.runs if r.refused))
        face_now = []
        for i, run in enumerate(self.runs):
            face = run.rate(run.face_times, now)
            self.face[i].append(None if face is None else round(face, 2))
            pose = run.rate(run.pose_times, now)
            self.pose[i].append(None if pose is None else round(pose, 2))
            self.received[i].append(run.received_now(now))
            if face is not None:
                face_now.append(face)
            for mark, latency in run.resolve_latencies():
                self.asr_finals.append([round(mark - self.origin, 2), run.index, round(latency, 3)])
                self.latencies_s.append(latency)
        if now >= self._next_window:
            self._next_window += DASHBOARD_WINDOW_S
            window = self.meter.window()
            if window is not None:
                self.dashboard.append([t, *window])
        if self.pids:
            tree_usages = await asyncio.to_thread(usages, self.pids)
            for series, (cpu_s, rss_mb) in zip(self.processes, tree_usages, strict=True):
                series.add(now - self.origin, cpu_s, rss_mb)
        p95 = percentile(self.latencies_s, 0.95)
        self.progress.show(
            progress_text(
                now - self.origin,
                self.planned_s,
                len(self.runs),
                self.connected[-1],
                self.refused[-1],
                min(face_now, default=None),
                p95,
            ),
            now,
        )

    def series(self, t1: float) -> dict[str, Any]:
        return {
            "t_s": self.t_s,
            "measure_from_s": None
            if self.measure_from is None
            else round(self.measure_from - self.origin, 2),
            "measure_to_s": round(t1 - self.origin, 2),
            "connected": self.connected,
            "refused": self.refused,
            "candidates": [
                {
                    "index": run.index,
                    "face_fps": self.face[i],
                    "pose_fps": self.pose[i],
                    "received_fps": self.received[i],
                    "analysis_levels": [
                        [round(t - self.origin, 2), level] for t, level in run.levels
                    ],
                }
                for i, run in enumerate(self.runs)
            ],
            "asr_finals": self.asr_finals,
            "dashboard": self.dashboard,
        }


class HealthPoller:
    """Polls ``/healthz`` of every node: event-loop lag and analyzer statistics."""

    def __init__(self, apis: Sequence[Api], origin: float) -> None:
        self.apis, self.origin = apis, origin
        self.loop_lag: list[list[float]] = []
        """[s since start, node index (in ``nodes``), loop lag p95 ms]."""
        self.first: dict[int, dict[str, Any]] = {}
        self.last: dict[int, dict[str, Any]] = {}
        self.levels: list[list[Any]] = []
        """[s since start, node index, then per analyzer worker: its degradation level, busy
        ratio and backlog (s) at its latest load report]."""

    async def run(self, until: float) -> None:
        for _ in range(int((until - self.origin) / HEALTH_EVERY_S) + 1):
            if time.time() >= until:
                return
            await self.poll()
            await asyncio.sleep(HEALTH_EVERY_S)

    async def poll(self) -> None:
        await asyncio.gather(*(self._one(i, api) for i, api in enumerate(self.apis)))

    async def _one(self, index: int, api: Api) -> None:
        try:
            health = await api(
                "GET", "/healthz", timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)
            )
        except (aiohttp.ClientError, HttpError, TimeoutError, ValueError):
            return
        if not isinstance(health, dict):
            return
        self.first.setdefault(index, health)
        self.last[index] = health
        lag = (health.get("loop_lag") or {}).get("p95_ms")
        if isinstance(lag, int | float):
            self.loop_lag.append([round(time.time() - self.origin, 2), index, float(lag)])
        analyzers = health.get("analyzers")
        if isinstance(analyzers, list) and analyzers:
            workers = [a for a in analyzers if isinstance(a, dict)]
            self.levels.append(
                [
                    round(time.time() - self.origin, 2),
                    index,
                    [a.get("level") for a in workers],
                    [_rounded(a.get("busy_ratio"), 2) for a in workers],
                    [_rounded(a.get("backlog_s"), 2) for a in workers],
                ]
            )

    def nodes(self) -> list[dict[str, Any]]:
        """Per node at the end: its name, live sessions and admission numbers."""
        return [
            {
                "url": api.base,
                "node": self.last.get(i, {}).get("node"),
                "live_sessions": self.last.get(i, {}).get("live_sessions"),
                "admission": self.last.get(i, {}).get("admission"),
            }
            for i, api in enumerate(self.apis)
        ]

    def skipped_frames(self) -> int | None:
        """Video frames the analyzers skipped during the run, all nodes."""
        total: int | None = None
        for index, last in self.last.items():
            before = _skipped_frames(self.first[index])
            after = _skipped_frames(last)
            if before is not None and after is not None:
                total = (total or 0) + max(0, after - before)
        return total


def _rounded(value: Any, digits: int) -> float | None:
    return round(float(value), digits) if isinstance(value, int | float) else None


def _skipped_frames(health: dict[str, Any]) -> int | None:
    analyzers = health.get("analyzers")
    if not isinstance(analyzers, list) or not analyzers:
        return None
    return sum(int(a.get("skipped_frames", 0)) for a in analyzers if isinstance(a, dict))
