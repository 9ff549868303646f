"""The synthetic candidate: what it says, the job it applies to, and a real aiortc client that
joins through its invitation, gets admitted (following ``503 busy`` answers) and streams while a
staff viewer of its interview timestamps every event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from loadtest.candidate.impair import ImpairedSender, Impairment, install
from loadtest.candidate.packets import (
    VIDEO_LAYERS,
    EncodedMedia,
    PacedPackets,
    audio_track,
    encode_media,
    send_video_layers,
    video_track,
)
from loadtest.candidate.synth import face_y4m, read_wav_s16_mono, speech_wav, write_wav_s16_mono
from loadtest.sampling import CandidateRun, DashboardMeter
from loadtest.target import Api, HttpError

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
"""The Chinese run's answer (``--language zh``), spoken by :mod:`loadtest.candidate.synth_zh`."""
LANGUAGES = ("en", "zh")
PAUSE_S = 1.5
CONNECT_TIMEOUT_S = 20.0
LINGER_S = 1.0
"""After a candidate hangs up, its viewer keeps listening this long for the last events."""
MAX_ADMISSION_ATTEMPTS = 500
MAX_REDIRECTS_IN_ROW = 3
"""Consecutive redirects followed without waiting; then the candidate waits where it is."""
MIN_RETRY_WAIT_S = 1.0
MAX_RETRY_WAIT_S = 60.0
MAX_FLAGS_KEPT = 500
"""Flag starts a viewer counts per candidate; later ones are ignored (``FlagLog.events``
still counts every flag event)."""


def sentences(language: str) -> tuple[str, ...]:
    """What the candidate says in ``language``."""
    return MANDARIN_SENTENCES if language == "zh" else SENTENCES


def build_media(
    cache: Path,
    language: str = "en",
    expected_loss_percent: float = 0.0,
    video_layers: int = VIDEO_LAYERS,
) -> EncodedMedia:
    """The looped answer (the language's sentences with pauses) and face video, encoded
    (``expected_loss_percent``, ``video_layers``: see :func:`loadtest.candidate.packets.encode_media`)."""
    cache.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] = []
    ends: list[float] = []
    rate = 48_000
    for i, sentence in enumerate(sentences(language)):
        if language == "zh":
            from loadtest.candidate.synth_zh import mandarin_wav

            wav = mandarin_wav(sentence, cache / f"zh{i}.wav", trailing_silence_s=0.0)
        else:
            wav = speech_wav(sentence, cache / f"s{i}.wav", trailing_silence_s=0.0)
        pcm, rate = read_wav_s16_mono(wav)
        parts.append(pcm)
        ends.append(sum(len(p) for p in parts) / rate)
        parts.append(np.zeros(int(PAUSE_S * rate), dtype=np.int16))
    answer = write_wav_s16_mono(np.concatenate(parts), cache / f"answer-{language}.wav", rate)
    face = face_y4m(cache / "face.y4m", seconds=4.0)
    return encode_media(face, answer, ends, expected_loss_percent, video_layers)


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


async def make_job(
    api: Api,
    language: str = "en",
    *,
    title: str | None = None,
    prep_s: int = 0,
    answer_s: int = 3600,
) -> str:
    """A three-question job in ``language`` (self-introduction and a structured question
    answered on video, a professional one in text) whose rubric point the load test's answer
    covers; each question ``prep_s`` + ``answer_s``."""
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
                "prep_s": prep_s,
                "answer_s": answer_s,
                "media": media,
            },
        )
        ids.append(q["id"])
    job = await api(
        "POST",
        "/api/jobs",
        json={
            "title": title or ("压力测试岗" if zh else "Load test"),
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
        self,
        http: aiohttp.ClientSession,
        token: str,
        media: EncodedMedia,
        run: CandidateRun,
        impair: Impairment | None = None,
    ) -> None:
        self.http, self.token, self.media, self.run = http, token, media, run
        self.impair = impair
        """The impaired uplink (:mod:`loadtest.candidate.impair`), shared by this candidate's peers."""
        self.impaired: list[ImpairedSender] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.pc: RTCPeerConnection | None = None
        self.audio: PacedPackets | None = None
        self.connected = asyncio.Event()
        self.clock_running = asyncio.Event()
        """Set while the server's last state or tick shows the question clock running (it runs
        once the server's side of the media connection is up, which need not be when ours is)."""

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
        self.reader = asyncio.create_task(
            _follow_clock(self.ws, self.clock_running), name=f"candidate-ws-{self.run.index}"
        )

    async def offer(self) -> dict[str, Any]:
        """Offer from a fresh peer connection; the answer, or HttpError (503 when busy)."""
        await self.close_peer()
        send_video_layers(self.media.video_layers)
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = audio_track(self.media)
        video = video_track(self.media)
        self.run.sent += [video, self.audio]
        pc.addTransceiver(video, direction="sendonly")
        pc.addTransceiver(self.audio, direction="sendonly")
        if self.impair is not None:
            self.impaired = install((t.sender.transport for t in pc.getTransceivers()), self.impair)
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
        for sender in self.impaired:
            sender.cancel()
        self.impaired = []
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
    impair: Impairment | None = None,
    flags: FlagLog | None = None,
) -> None:
    """Invite, get admitted, stream until ``stop`` (through ``impair``'s uplink, if given); a
    failure lands in ``run``, never raises."""
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
        viewer = asyncio.create_task(view(staff, run, meter, flags), name=f"viewer-{run.index}")
        link = CandidateLink(staff.http, token, media, run, impair)
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
        # as the page does: the start button is enabled once the clock runs (a start while
        # paused would leave the question in its prep time, unrecorded)
        await asyncio.wait_for(link.clock_running.wait(), CONNECT_TIMEOUT_S)
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


async def _follow_clock(ws: aiohttp.ClientWebSocketResponse, running: asyncio.Event) -> None:
    """Read the candidate socket's messages until it closes; ``running`` follows whether the
    last state or tick shows the question clock running."""
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        body = json.loads(message.data)
        if body.get("type") == "state":
            current = body.get("current")
            paused = current.get("paused", True) if isinstance(current, dict) else True
        elif body.get("type") == "tick":
            paused = body.get("paused", True)
        else:
            continue
        if paused:
            running.clear()
        else:
            running.set()


@dataclass
class FlagLog:
    """The integrity flags a candidate's viewer saw: starts (``end_s`` None) by type."""

    started: dict[str, int] = field(default_factory=dict)
    events: int = 0

    def add(self, event: dict[str, Any]) -> None:
        self.events += 1
        if event.get("end_s") is None and sum(self.started.values()) < MAX_FLAGS_KEPT:
            kind = str(event.get("flag"))[:40]
            self.started[kind] = self.started.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"raised": sum(self.started.values()), "by_type": dict(self.started)}


async def _watch(
    api: Api,
    run: CandidateRun,
    meter: DashboardMeter,
    record: bool,
    flags: FlagLog | None = None,
) -> None:
    """Subscribe to the candidate's interview and time every event: each one's event → viewer
    latency into ``meter`` and, with ``record``, the event into ``run``."""
    async with api.http.ws_connect(f"{api.base}/ws?token={api.token}") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"interview:{run.interview_id}"})
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            now = time.time()
            event = json.loads(msg.data)
            if not isinstance(event, dict):
                continue
            if record:
                run.record(now, event)
                if flags is not None and event.get("type") == "flag":
                    flags.add(event)
            if isinstance(event.get("server_ts"), int | float):
                meter.add(now, event["server_ts"])


async def view(
    api: Api, run: CandidateRun, meter: DashboardMeter, flags: FlagLog | None = None
) -> None:
    """A staff viewer of one interview: timestamps every event it receives (flags into
    ``flags``)."""
    await _watch(api, run, meter, record=True, flags=flags)


async def extra_viewer(api: Api, run: CandidateRun, meter: DashboardMeter) -> None:
    """A further dashboard viewer of one interview: keeps only event → screen latencies."""
    await run.invited.wait()
    await _watch(api, run, meter, record=False)
