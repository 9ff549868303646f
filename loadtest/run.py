"""``interview-live-loadtest``: synthetic candidates and viewers against a real server.

Each candidate is a real aiortc client that joins through an invitation link and the same
signalling path as the browser, streaming pre-encoded face video (VP8) and speech (Opus)
paced in real time. One staff viewer per candidate subscribes to ``interview:<id>`` and
timestamps every event. Without ``--target`` the tool starts its own server process
(embedded defaults) in a temporary directory, which also lets it measure CPU and memory.
With several ``--target`` URLs (nodes of one deployment) staff calls go to the first and
candidates are spread over all of them; a candidate answered ``503 busy`` follows the
``alternate`` node or retries after ``retry_after_s``. A time series is sampled every second;
``--json OUT.json`` also writes ``OUT.md`` and ``OUT-*.png`` (:mod:`loadtest.report`).
Everything binds to loopback and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from rapidfuzz import fuzz

from analyzers.text import to_simplified
from loadtest.packets import EncodedMedia, PacedPackets, audio_track, encode_media, video_track
from loadtest.report import DASHBOARD_WINDOW_S, machine_info, realtime, write_report
from loadtest.synth import face_y4m, read_wav_s16_mono, speech_wav, write_wav_s16_mono
from media.peer import configure_ice_hosts

LOOPBACK = "127.0.0.1"
SENTENCES = (
    "I have worked in public service for five years and I enjoy helping people solve their problems.",
    "First I would listen to the residents and then I would explain the new policy in simple words.",
    "When there is an emergency I first make sure everyone is safe and then I report to my manager.",
    "Finally I would write a short summary for the team and check the results one month later.",
)
MANDARIN_SENTENCES = (
    "各位考官好，我叫张伟，在区政府办公室工作了三年。",
    "如果遇到突发汛情，我会第一时间赶到现场，组织人员转移群众。",
    "如果群众对处理结果不满意，我会先耐心倾听，了解他的具体诉求。",
    "我认为团队合作非常重要，大家分工协作，会议最后顺利召开。",
)
"""The Chinese run's answer (``--language zh``), spoken by :mod:`loadtest.synth_zh`."""
LANGUAGES = ("en", "zh")
PAUSE_S = 1.5
WARMUP_S = 8.0
"""Measurements start after this (connection set-up, model warm-up)."""
CONNECT_TIMEOUT_S = 20.0
FINAL_SETTLE_S = 3.0
"""Sentences ending this close to the end of the run are not timed (their final may be late)."""
LINGER_S = 1.0
"""After a candidate hangs up, its viewer keeps listening this long for the last events."""
DRAIN_TIMEOUT_S = 30.0
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
MAX_ADMISSION_ATTEMPTS = 500
MAX_REDIRECTS_IN_ROW = 3
"""Consecutive redirects followed without waiting; then the candidate waits where it is."""
MIN_RETRY_WAIT_S = 1.0
MAX_RETRY_WAIT_S = 60.0
MAX_ERRORS_KEPT = 20
"""Analyzer error events kept per candidate (all are counted)."""
MAX_TARGETS = 64
MAX_FINAL_TEXTS_KEPT = 500


# -- media ----------------------------------------------------------------------------------


def sentences(language: str) -> tuple[str, ...]:
    return MANDARIN_SENTENCES if language == "zh" else SENTENCES


def build_media(cache: Path, language: str = "en") -> EncodedMedia:
    """The looped answer (the language's sentences with pauses) and face video, encoded."""
    cache.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] = []
    ends: list[float] = []
    rate = 48_000
    for i, sentence in enumerate(sentences(language)):
        if language == "zh":
            from loadtest.synth_zh import mandarin_wav

            wav = mandarin_wav(sentence, cache / f"zh{i}.wav", trailing_silence_s=0.0)
        else:
            wav = speech_wav(sentence, cache / f"s{i}.wav", trailing_silence_s=0.0)
        pcm, rate = read_wav_s16_mono(wav)
        parts.append(pcm)
        ends.append(sum(len(p) for p in parts) / rate)
        parts.append(np.zeros(int(PAUSE_S * rate), dtype=np.int16))
    answer = write_wav_s16_mono(np.concatenate(parts), cache / f"answer-{language}.wav", rate)
    return encode_media(face_y4m(cache / "face.y4m", seconds=4.0), answer, ends)


# -- server ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One deployment: node base URLs (the first serves staff calls) and pids to sample."""

    base_urls: tuple[str, ...]
    username: str
    password: str
    pids: tuple[int, ...] = ()
    staff_url: str = ""
    """Where staff calls and viewers go when it is not the first node (a dashboard process)."""
    process: subprocess.Popen[bytes] | None = None
    log: Any = None


def spawn_server(data_dir: Path, workers: int | None) -> Target:
    port = _free_port()
    cli = [sys.executable, "-m", "server.app.cli"]
    common = ["--data-dir", str(data_dir), "--host", LOOPBACK, "--port", str(port)]
    demo = json.loads(
        subprocess.run(
            [*cli, "demo", *common, "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    extra = ["--analysis-workers", str(workers)] if workers is not None else []
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [*cli, "serve", *common, "--ice-host", LOOPBACK, *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + 60
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(f"server exited; see {data_dir / 'server.log'}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                break
        time.sleep(0.3)
    else:
        proc.kill()
        proc.wait()
        log.close()
        raise TimeoutError("server did not start")
    return Target(
        (base,),
        demo["admin"]["username"],
        demo["admin"]["password"],
        (proc.pid,),
        process=proc,
        log=log,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def process_tree_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MiB) of a process and its children, from /proc."""
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    cpu = rss = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            rss += int(fields[21]) * page / 2**20
    return cpu, rss


def _usages(pids: Sequence[int]) -> list[tuple[float, float]]:
    return [process_tree_usage(pid) for pid in pids]


# -- admission control -----------------------------------------------------------------------


@dataclass(frozen=True)
class Busy:
    """A ``503 busy`` answer to the offer: the node is full."""

    message: str
    retry_after_s: float
    alternate: str | None
    """Base URL of a node with room, if the server knows one."""


def parse_busy(status: int, body: Any) -> Busy | None:
    """The admission refusal in an error answer, or None for any other error."""
    if status != 503 or not isinstance(body, dict) or body.get("error") != "busy":
        return None
    retry = body.get("retry_after_s")
    retry_s = MIN_RETRY_WAIT_S
    if isinstance(retry, int | float) and not isinstance(retry, bool) and math.isfinite(retry):
        retry_s = float(retry)
    alternate = body.get("alternate")
    if not (isinstance(alternate, str) and alternate.startswith(("http://", "https://"))):
        alternate = None
    return Busy(
        str(body.get("message", ""))[:200],
        retry_s,
        alternate.rstrip("/") if alternate else None,
    )


@dataclass(frozen=True)
class NextStep:
    """What a candidate refused as busy does next."""

    action: Literal["redirect", "retry", "give_up"]
    base_url: str = ""
    wait_s: float = 0.0


def plan_admission(
    busy: Busy, base_url: str, attempt: int, redirects_in_row: int, now_s: float, deadline_s: float
) -> NextStep:
    """Follow ``alternate`` at once (a few times in a row at most), else wait ``retry_after_s``
    (clamped) and retry; give up when the attempts run out or the wait would pass the deadline."""
    if attempt >= MAX_ADMISSION_ATTEMPTS or now_s >= deadline_s:
        return NextStep("give_up")
    here = base_url.rstrip("/")
    if busy.alternate and busy.alternate != here and redirects_in_row < MAX_REDIRECTS_IN_ROW:
        return NextStep("redirect", base_url=busy.alternate)
    wait_s = min(MAX_RETRY_WAIT_S, max(MIN_RETRY_WAIT_S, busy.retry_after_s))
    if now_s + wait_s >= deadline_s:
        return NextStep("give_up")
    return NextStep("retry", base_url=here, wait_s=wait_s)


# -- candidates and viewers ------------------------------------------------------------------


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
    latencies: list[tuple[float, float]] = field(default_factory=list)
    """(sentence end, its final's arrival − sentence end), resolved as finals arrive."""
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
        elif kind == "connection" and isinstance(event.get("video_fps"), int | float):
            self.received_fps.append((now, float(event["video_fps"])))
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
        return _count(times, now - FPS_WINDOW_S, now) / FPS_WINDOW_S

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


class HttpError(RuntimeError):
    """An HTTP error answer; ``body`` is its decoded JSON."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path}: {status} {body}")
        self.status, self.body = status, body


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.token = http, base, ""

    async def __call__(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        tok = token if token is not None else self.token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        async with self.http.request(method, self.base + path, headers=headers, **kw) as r:
            body = await r.json(content_type=None)
            if r.status >= 400:
                raise HttpError(method, path, r.status, body)
            return body


async def make_job(api: Api, language: str = "en") -> str:
    """A three-question job in ``language`` whose rubric point the answer covers."""
    zh = language == "zh"
    rubric = (
        {"zh": "转移群众", "keywords": {"zh": ["转移", "群众"]}}
        if zh
        else {"en": "listen", "keywords": {"en": ["listen", "residents"]}}
    )
    ids = []
    for section, media in (
        ("self_intro", "video"),
        ("structured", "video"),
        ("professional", "text"),
    ):
        q = await api(
            "POST",
            "/api/questions",
            json={
                "section": section,
                "text": {"zh": "压力测试题目"} if zh else {"en": "Load test question"},
                "competencies": ["expression"],
                "rubric": [rubric],
                "prep_s": 0,
                "answer_s": 3600,
                "media": media,
            },
        )
        ids.append(q["id"])
    job = await api(
        "POST",
        "/api/jobs",
        json={
            "title": "压力测试岗" if zh else "Load test",
            "department": "Load",
            "language": "zh-CN" if zh else "en",
            "competencies": [{"id": "expression", "weight": 1.0}],
            "plan": [
                {"section": s, "questions": [i]}
                for s, i in zip(("self_intro", "structured", "professional"), ids, strict=True)
            ],
        },
    )
    return str(job["id"])


class CandidateLink:
    """A candidate's control socket and peer connection on its current node."""

    def __init__(
        self, http: aiohttp.ClientSession, token: str, media: EncodedMedia, run: CandidateRun
    ) -> None:
        self.http, self.token, self.media, self.run = http, token, media, run
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.pc: RTCPeerConnection | None = None
        self.audio: PacedPackets | None = None
        self.connected = asyncio.Event()

    def api(self) -> Api:
        return Api(self.http, self.run.base_url)

    @property
    def socket_open(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def join(self) -> None:
        """State, consent (idempotent) and the control socket, up to the session's first state."""
        api = self.api()
        await api("GET", "/api/candidate/state", token=self.token)
        await api(
            "POST",
            "/api/candidate/consent",
            token=self.token,
            json={"decision": "accept", "recording": True, "analysis": True},
        )
        ws_url = f"{self.run.base_url}/ws/candidate?token={self.token}".replace("http", "ws", 1)
        self.ws = await self.http.ws_connect(ws_url)
        # the server takes the offer once its session exists: its first state shows that
        first = await asyncio.wait_for(self.ws.receive_json(), CONNECT_TIMEOUT_S)
        if first.get("type") != "state":
            raise RuntimeError(f"unexpected first message {first.get('type')}: {first}")
        self.reader = asyncio.create_task(_drain(self.ws), name=f"candidate-ws-{self.run.index}")

    async def offer(self) -> dict[str, Any]:
        """Offer from a fresh peer connection; the answer, or HttpError (503 when busy)."""
        await self.close_peer()
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = audio_track(self.media)
        pc.addTransceiver(video_track(self.media), direction="sendonly")
        pc.addTransceiver(self.audio, direction="sendonly")
        connected = self.connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState == "connected":
                connected.set()

        await pc.setLocalDescription(await pc.createOffer())
        answer: dict[str, Any] = await self.api()(
            "POST",
            "/api/candidate/offer",
            token=self.token,
            json={"type": "offer", "sdp": pc.localDescription.sdp},
        )
        return answer

    async def connect(self, answer: dict[str, Any]) -> None:
        assert self.pc is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT_S)

    async def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_json(message)

    async def close_peer(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await pc.close()

    async def close_socket(self) -> None:
        reader, self.reader = self.reader, None
        ws, self.ws = self.ws, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if ws is not None:
            await ws.close()

    async def aclose(self) -> None:
        await self.close_peer()
        await self.close_socket()


async def admit(
    link: CandidateLink, run: CandidateRun, stop: asyncio.Event, deadline: float
) -> dict[str, Any] | None:
    """Join and offer until admitted (the answer); None, with ``run.refused`` set, if never."""
    redirects_in_row = 0
    for attempt in range(1, MAX_ADMISSION_ATTEMPTS + 1):
        if not link.socket_open:
            await link.close_socket()
            await link.join()
        try:
            return await link.offer()
        except HttpError as exc:
            busy = parse_busy(exc.status, exc.body)
            if busy is None:
                raise
        await link.close_peer()
        step = plan_admission(busy, run.base_url, attempt, redirects_in_row, time.time(), deadline)
        if step.action == "redirect":
            run.redirected += 1
            redirects_in_row += 1
            await link.close_socket()
            run.base_url = step.base_url
            continue
        if step.action == "retry":
            redirects_in_row = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), step.wait_s)
            if not stop.is_set():
                continue
        run.refused = f"busy after {attempt} attempts: {busy.message}"[:200]
        return None
    run.refused = f"busy after {MAX_ADMISSION_ATTEMPTS} attempts"
    return None


async def run_candidate(
    staff: Api,
    job_id: str,
    media: EncodedMedia,
    run: CandidateRun,
    stop: asyncio.Event,
    meter: DashboardMeter,
    deadline: float,
) -> None:
    """Invite, get admitted, stream until ``stop``; a failure lands in ``run``, never raises."""
    viewer: asyncio.Task[None] | None = None
    link: CandidateLink | None = None
    try:
        inv = await staff(
            "POST",
            f"/api/jobs/{job_id}/invitations",
            json={"name": f"Synthetic {run.index}", "email": f"c{run.index}@example.com"},
        )
        run.interview_id = inv["interview_id"]
        run.invited.set()
        token = inv["url"].rsplit("/i/", 1)[1]
        viewer = asyncio.create_task(view(staff, run, meter), name=f"viewer-{run.index}")
        link = CandidateLink(staff.http, token, media, run)
        answer = await admit(link, run, stop, deadline)
        if answer is None:
            return
        run.admitted = True
        run.audio = link.audio
        try:
            await link.connect(answer)
        except TimeoutError:
            run.refused = "peer connection did not connect"
            return
        run.connected_at = time.time()
        await link.api()(
            "POST",
            "/api/candidate/device-check",
            token=token,
            json={"camera": True, "microphone": True, "webrtc": True},
        )
        await link.send({"type": "start_interview"})
        await link.send({"type": "start_answer"})
        await stop.wait()
    except Exception as exc:  # reported per candidate; the run goes on
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if run.connected_at is None:
            run.refused = run.refused or reason
        else:
            run.error = reason
    finally:
        if link is not None:
            await link.aclose()
        if viewer is not None:
            await asyncio.sleep(LINGER_S)
            viewer.cancel()
            await asyncio.gather(viewer, return_exceptions=True)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def view(api: Api, run: CandidateRun, meter: DashboardMeter) -> None:
    """A staff viewer of one interview: timestamps every event it receives."""
    async with api.http.ws_connect(f"{api.base}/ws?token={api.token}") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"interview:{run.interview_id}"})
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                now = time.time()
                event = json.loads(msg.data)
                if isinstance(event, dict):
                    run.record(now, event)
                    if isinstance(event.get("server_ts"), int | float):
                        meter.add(now, event["server_ts"])


async def extra_viewer(api: Api, run: CandidateRun, meter: DashboardMeter) -> None:
    """A further dashboard viewer of one interview: keeps only event → screen latencies."""
    await run.invited.wait()
    async with api.http.ws_connect(f"{api.base}/ws?token={api.token}") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"interview:{run.interview_id}"})
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                now = time.time()
                event = json.loads(msg.data)
                if isinstance(event, dict) and isinstance(event.get("server_ts"), int | float):
                    meter.add(now, event["server_ts"])


# -- sampling and progress -------------------------------------------------------------------


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
            usages = await asyncio.to_thread(_usages, self.pids)
            for series, (cpu_s, rss_mb) in zip(self.processes, usages, strict=True):
                series.add(now - self.origin, cpu_s, rss_mb)
        p95 = _pct(self.latencies_s, 0.95)
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
            before = _skipped(self.first[index])
            after = _skipped(last)
            if before is not None and after is not None:
                total = (total or 0) + max(0, after - before)
        return total


def _skipped(health: dict[str, Any]) -> int | None:
    analyzers = health.get("analyzers")
    if not isinstance(analyzers, list) or not analyzers:
        return None
    return sum(int(a.get("skipped_frames", 0)) for a in analyzers if isinstance(a, dict))


# -- metrics --------------------------------------------------------------------------------


def _pct(values: Sequence[float] | np.ndarray, q: float) -> float | None:
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q * 100, method="nearest"))


def _count(times: Sequence[float], t0: float, t1: float) -> int:
    """Sorted ``times`` within [t0, t1]."""
    return bisect.bisect_right(times, t1) - bisect.bisect_left(times, t0)


def _match_units(text: str) -> str:
    """Text compared for :func:`transcript_match`: lower-case Simplified characters and
    Latin/digit words (single-spaced), no punctuation."""
    units = re.findall(r"[\u3400-\u9fff]|[a-z0-9']+", to_simplified(text).lower())
    return "".join(u if len(u) == 1 and not u.isascii() else f" {u} " for u in units).strip()


def transcript_match(finals: Sequence[str], script: Sequence[str]) -> float | None:
    """Mean similarity (0..1) of each final to the part of the spoken script it best aligns
    with (rapidfuzz ``partial_ratio`` over :func:`_match_units`; the script is taken twice
    because the answer loops), weighted by the final's length; None without finals."""
    reference = _match_units(" ".join([*script, *script]))
    scored = [
        (len(u), fuzz.partial_ratio(u, reference) / 100) for f in finals if (u := _match_units(f))
    ]
    total = sum(n for n, _ in scored)
    return round(sum(n * r for n, r in scored) / total, 3) if total else None


def analysed_rate(
    counts: Sequence[tuple[float, int]], times: Sequence[float], t0: float, t1: float
) -> float:
    """Frames analysed per second of wall time in [t0, t1], from the server's running count
    in the events that arrived then; without counts (an older server), events received."""
    inside = [(t, n) for t, n in counts if t0 <= t <= t1]
    if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
    return _count(times, t0, t1) / max(1e-6, t1 - t0)


def candidate_metrics(
    run: CandidateRun, t0: float, t1: float, script: Sequence[str] = SENTENCES
) -> dict[str, Any]:
    window = max(1e-6, t1 - t0)
    run.resolve_latencies()
    face = _count(run.face_times, t0, t1)
    last_mark = t1 - FINAL_SETTLE_S
    marks = [m for m in (run.audio.mark_times if run.audio else []) if t0 <= m <= last_mark]
    latencies = [(m, lat) for m, lat in run.latencies if t0 <= m <= last_mark]
    growth = None
    if len(latencies) >= 3:
        xs = np.array([m for m, _ in latencies]) / 60.0
        ys = np.array([lat for _, lat in latencies])
        growth = float(np.polyfit(xs - xs[0], ys, 1)[0])
    received = [fps for r, fps in run.received_fps if t0 <= r <= t1]
    return {
        "index": run.index,
        "target": run.base_url,
        "interview_id": run.interview_id,
        "admitted": run.admitted,
        "refused": run.refused,
        "error": run.error,
        "redirected": run.redirected,
        "face_fps": analysed_rate(run.face_counts, run.face_times, t0, t1),
        "pose_fps": analysed_rate(run.pose_counts, run.pose_times, t0, t1),
        # face events that reached the viewer (coalesced when they come in bursts)
        "face_updates_fps": face / window,
        "received_fps": round(sum(received) / len(received), 2) if received else None,
        "finals": len(run.final_times),
        "transcript_match": transcript_match(run.final_texts, script),
        "sentences": len(marks),
        "final_latencies_s": [round(lat, 3) for _, lat in latencies],
        "lag_growth_s_per_min": growth,
        "faces_seen": _count(run.face_one_times, t0, t1) / max(1, face),
        "dropped_audio_s": round(run.dropped_audio_s, 2),
        "analyzer_errors": run.errors,
        "analyzer_error_count": run.error_count,
    }


def rss_growth_percent(processes: list[dict[str, Any]]) -> float | None:
    """Growth of the summed RSS from the first fifth of the run to its last tenth (medians),
    in percent; the soak criterion (≤ 5 % over 30 minutes)."""
    series = [p["samples"] for p in processes if len(p.get("samples") or []) >= 10]
    if not series:
        return None
    n = min(len(s) for s in series)
    totals = [sum(s[i][2] for s in series) for i in range(n)]
    head = sorted(totals[: max(1, n // 5)])
    tail = sorted(totals[-max(1, n // 10) :])
    base, end = head[len(head) // 2], tail[len(tail) // 2]
    return round(100 * (end - base) / base, 2) if base > 0 else None


def process_summary(
    series: ProcessSeries, before: tuple[float, float], after: tuple[float, float], wall_s: float
) -> dict[str, Any]:
    """CPU % over the measured span, RSS at its end and at most, and the samples."""
    return {
        "pid": series.pid,
        "cpu_percent": round(100 * max(0.0, after[0] - before[0]) / max(1e-6, wall_s), 1),
        "rss_mb": round(after[1], 1),
        "rss_max_mb": round(max([after[1], *(s[2] for s in series.samples)]), 1),
        "samples": series.samples,
    }


async def measure(
    args: argparse.Namespace, target: Target, media: EncodedMedia, n: int
) -> dict[str, Any]:
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)  # hundreds of viewer sockets
    async with aiohttp.ClientSession(connector=connector) as http:
        staff = Api(http, target.staff_url or target.base_urls[0])
        staff.token = (
            await staff(
                "POST",
                "/api/auth/login",
                json={"username": target.username, "password": target.password},
            )
        )["token"]
        job_id = await make_job(staff, args.language)
        runs = [CandidateRun(i, target.base_urls[i % len(target.base_urls)]) for i in range(n)]
        meter = DashboardMeter()
        origin = time.time()
        planned_s = n / args.ramp + args.duration
        deadline = origin + planned_s
        recorder = Recorder(
            runs, meter, target.pids, origin, planned_s, Progress(sys.stderr, args.quiet)
        )
        # a URL may be repeated to weight it; a separate dashboard process is polled too
        nodes = list(
            dict.fromkeys([*target.base_urls, *([target.staff_url] if target.staff_url else [])])
        )
        health = HealthPoller([Api(http, base) for base in nodes], origin)
        background = [
            asyncio.create_task(recorder.run(deadline + DRAIN_TIMEOUT_S), name="load-recorder"),
            asyncio.create_task(health.run(deadline + DRAIN_TIMEOUT_S), name="load-health"),
        ]
        tasks: list[asyncio.Task[None]] = []
        viewers: list[asyncio.Task[None]] = []
        try:
            for run in runs:
                tasks.append(
                    asyncio.create_task(
                        run_candidate(staff, job_id, media, run, stop, meter, deadline),
                        name=f"candidate-{run.index}",
                    )
                )
                await asyncio.sleep(1.0 / args.ramp)
            viewers = [
                asyncio.create_task(
                    extra_viewer(staff, runs[i % n], meter), name=f"extra-viewer-{i}"
                )
                for i in range(args.viewers)
            ]
            start = time.time()
            t_measure = recorder.measure_from = start + WARMUP_S
            usage0 = await asyncio.to_thread(_usages, target.pids)
            await asyncio.sleep(max(0.0, start + args.duration - time.time()))
            t1 = time.time()
            usage1 = await asyncio.to_thread(_usages, target.pids)
            await health.poll()
        finally:
            stop.set()
            for task in [*background, *viewers]:
                task.cancel()
            await asyncio.gather(*background, *viewers, return_exceptions=True)
            recorder.progress.close()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    per = [candidate_metrics(r, t_measure, t1, sentences(args.language)) for r in runs]
    ok = [p for p in per if not p["refused"]]
    lat = [x for p in ok for x in p["final_latencies_s"]]
    dash = meter.between(t_measure, t1)
    growths = [p["lag_growth_s_per_min"] for p in ok if p["lag_growth_s_per_min"] is not None]
    lags = [lag for t, _, lag in health.loop_lag if t_measure - origin <= t <= t1 - origin]
    processes = [
        process_summary(s, u0, u1, t1 - start)
        for s, u0, u1 in zip(recorder.processes, usage0, usage1, strict=True)
    ]
    received = [p["received_fps"] for p in ok if p["received_fps"] is not None]
    summary: dict[str, Any] = {
        "candidates": n,
        "viewers": n + args.viewers,
        "targets": list(target.base_urls),
        "refused": sum(1 for p in per if p["refused"]),
        "redirected": sum(p["redirected"] for p in per),
        "face_fps_min": round(min((p["face_fps"] for p in ok), default=0.0), 2),
        "pose_fps_min": round(min((p["pose_fps"] for p in ok), default=0.0), 2),
        "received_fps_min": min(received, default=None),
        "asr_final_latency_p50_s": _pct(lat, 0.5),
        "asr_final_latency_p95_s": _pct(lat, 0.95),
        "asr_final_latency_max_s": max(lat) if lat else None,
        "asr_lag_growth_s_per_min": round(max(growths), 3) if growths else None,
        "dashboard_latency_p50_ms": _round(_pct(dash, 0.5)),
        "dashboard_latency_p95_ms": _round(_pct(dash, 0.95)),
        "loop_lag_p95_ms": max(lags) if lags else None,
        "cpu_percent": round(sum(p["cpu_percent"] for p in processes), 1) if processes else None,
        "rss_mb": round(sum(p["rss_mb"] for p in processes), 1) if processes else None,
        "rss_growth_percent": rss_growth_percent(processes),
        "processes": processes,
        "dropped_frames": health.skipped_frames(),
        "dropped_audio_s": round(sum(p["dropped_audio_s"] for p in per), 2),
        "language": args.language,
        "transcript_match_min": min(
            (p["transcript_match"] for p in ok if p["transcript_match"] is not None), default=None
        ),
        "sentences_heard_share": round(
            sum(len(p["final_latencies_s"]) for p in ok) / max(1, sum(p["sentences"] for p in ok)),
            3,
        ),
        "analyzers": health.last.get(0, {}).get("analyzers"),
        "nodes": health.nodes(),
    }
    summary["realtime"] = realtime(summary)
    summary["series"] = recorder.series(t1) | {"loop_lag": health.loop_lag}
    summary["details"] = per
    return summary


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def compact(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without per-candidate details, runs and time series (for printing)."""
    out = {k: v for k, v in summary.items() if k not in ("details", "runs", "series")}
    if "processes" in out:
        out["processes"] = [
            {k: v for k, v in p.items() if k != "samples"} for p in out["processes"]
        ]
    return out


# -- entry point ----------------------------------------------------------------------------


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    configure_ice_hosts([LOOPBACK])  # synthetic candidates announce loopback only
    cache = Path(args.cache)
    media = await asyncio.to_thread(build_media, cache, args.language)
    results = []
    counts = [args.candidates]
    if args.capacity:
        counts = list(range(args.capacity_start, args.candidates + 1, args.capacity_step))
    best = 0
    summary: dict[str, Any] = {}
    for n in counts:
        with contextlib.ExitStack() as stack:
            if args.target:
                target = Target(
                    tuple(url.rstrip("/") for url in args.target),
                    args.username,
                    args.password,
                    tuple(args.server_pid or ()),
                    staff_url=(args.staff_target or "").rstrip("/"),
                )
            else:
                data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="il-load-")))
                target = spawn_server(data_dir, args.analysis_workers)
            try:
                summary = await measure(args, target, media, n)
            finally:
                if target.process is not None:
                    target.process.terminate()
                    try:
                        target.process.wait(20)
                    except subprocess.TimeoutExpired:
                        target.process.kill()
                        target.process.wait()
                if target.log is not None:
                    target.log.close()
        results.append({k: v for k, v in summary.items() if k != "details"})
        print(json.dumps(compact(summary)), file=sys.stderr)
        if summary["realtime"]:
            best = n
        elif args.capacity:
            break
    out = dict(summary)
    if args.capacity:
        out["max_realtime_candidates"] = best
        out["runs"] = results
    out["machine"] = machine_info()
    return out


def command_line(argv: Sequence[str]) -> str:
    """The command as typed, with the password hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
        elif arg == "--password":
            shown.append(arg)
            hide_next = True
        elif arg.startswith("--password="):
            shown.append("--password=***")
        else:
            shown.append(arg)
    return shlex.join(["interview-live-loadtest", *shown])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="interview-live-loadtest", description=__doc__)
    p.add_argument(
        "--target",
        action="append",
        help="server base URL; repeat for the nodes of one deployment (default: start one locally)",
    )
    p.add_argument(
        "--staff-target",
        help="with --target: staff calls and viewers go to this URL (a dashboard/API process)",
    )
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="")
    p.add_argument(
        "--server-pid",
        type=int,
        action="append",
        help="with --target: a server process to sample for CPU/RSS (with its children); repeat",
    )
    p.add_argument(
        "--language",
        choices=LANGUAGES,
        default="en",
        help="the job's and the spoken answer's language (zh: Mandarin, Kokoro test voice)",
    )
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--ramp", type=float, default=2.0, help="candidates started per second")
    p.add_argument(
        "--viewers",
        type=int,
        default=0,
        help="extra dashboard viewers (besides one per candidate), spread over interviews",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds of streaming")
    p.add_argument("--analysis-workers", type=int, help="analyzer processes of the spawned server")
    p.add_argument(
        "--capacity", action="store_true", help="increase candidates until real time fails"
    )
    p.add_argument("--capacity-start", type=int, default=2)
    p.add_argument("--capacity-step", type=int, default=2)
    p.add_argument(
        "--json", dest="json_out", help="write the results here, with OUT.md and OUT-*.png"
    )
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "il-loadtest-media"))
    p.add_argument("--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    if not 1 <= args.candidates <= 200 or not 5 <= args.duration <= 7200:
        p.error("candidates must be 1..200 and duration 5..7200 s")
    if not 0 <= args.viewers <= 5000:
        p.error("viewers must be 0..5000")
    if not 0.01 <= args.ramp <= 100:
        p.error("ramp must be 0.01..100 candidates per second")
    if args.target:
        if len(args.target) > MAX_TARGETS:
            p.error(f"at most {MAX_TARGETS} targets")
        if not all(t.startswith(("http://", "https://")) for t in args.target):
            p.error("--target must be an http:// or https:// base URL")
    if args.server_pid:
        if not args.target:
            p.error("--server-pid needs --target (a spawned server is sampled anyway)")
        if len(args.server_pid) > MAX_TARGETS or min(args.server_pid) <= 0:
            p.error(f"--server-pid: 1..{MAX_TARGETS} positive process ids")
    result = asyncio.run(amain(args))
    result["command"] = command_line(sys.argv[1:] if argv is None else argv)
    text = json.dumps(result, indent=2, default=str)
    if args.json_out:
        json_path = Path(args.json_out)
        json_path.write_text(text)
        written = write_report(result, json_path)
        print(f"report: {written['md']}", file=sys.stderr)
    print(json.dumps(compact(result), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
