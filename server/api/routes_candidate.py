"""Candidate endpoints: state, consent, device check, signalling and the control socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from common.text import zh_or_en
from media.peer import SdpError
from server.api.contract import operation, read_body
from server.api.guards import candidate_interview, check_origin
from server.api.http import ApiError, json_response, read_object, services
from server.api.schemas.candidate import (
    Answer,
    CandidateState,
    ConsentIn,
    DeviceCheckIn,
    OfferIn,
    Ping,
    UploadTest,
)
from server.core.config import MAX_UPLOAD_TEST_BYTES
from server.core.services import Services
from server.domain.interviews import Interview
from server.domain.models import InterviewMode, Status, allowed_modes, interview_mode
from server.interview.candidate_view import CONSENT_TEXT_VERSION, candidate_state
from server.interview.progress import publish_status
from server.interview.recording_files import RecordingFiles
from server.interview.session import AnalysisLink, InterviewSession
from server.interview.written import WrittenScoring
from server.live.analysis import SINK_LINGER_S, AnalysisSink, interview_topic
from server.outbound import webhooks
from server.security.encrypted_media import recording_adopter, recording_opener
from server.security.ratelimit import TokenBucket
from server.security.turn import IceConfig
from server.storage.store import StatusChange

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

DEVICES_NEEDED: dict[InterviewMode, tuple[str, ...]] = {
    InterviewMode.VIDEO: ("camera", "microphone", "webrtc"),
    InterviewMode.AUDIO: ("microphone", "webrtc"),
    InterviewMode.TEXT: (),
}
"""Device-check results that must be true per mode (a written interview needs only the page)."""
CONTROL_MAX_MSG_BYTES = 64 * 1024
CONTROL_HEARTBEAT_S = 20.0
CONTROL_SEND_QUEUE_MAX = 64
"""Messages waiting for a slow candidate socket; ticks are dropped first, then the socket closes."""


def _publisher(svc: Services):  # type: ignore[no-untyped-def]
    async def publish(change: StatusChange) -> None:
        await publish_status(svc, change)

    return publish


async def _state(request: web.Request, interview: Interview) -> dict[str, Any]:
    svc = services(request)
    session = svc.sessions.get(interview.id)
    current = await session.current() if session is not None else None
    state = await candidate_state(
        interview, svc.store, current=current, ice=IceConfig.from_settings(svc.settings)
    )
    state["alternates"] = _alternates(svc)
    return state


def _alternates(svc: Services) -> list[str]:
    """Other media processes with room, most room first (the page's fallback)."""
    return [n.url for n in svc.registry.peers("media") if n.room > 0]


@routes.get("/api/candidate/state")
@operation("Candidate: interview state", auth="candidate", response=CandidateState)
async def state(request: web.Request) -> web.Response:
    interview = await candidate_interview(request)
    svc = services(request)
    if interview.status == Status.INVITED:
        change = await svc.store.set_status(interview.id, Status.OPENED, "candidate")
        if change is not None:
            await publish_status(svc, change)
        interview = await svc.store.get_interview(interview.id)
    return json_response(await _state(request, interview))


@routes.post("/api/candidate/consent")
@operation(
    "Candidate: accept or decline (separate consents)",
    auth="candidate",
    body=ConsentIn,
    response=CandidateState,
    invalid=("invalid_consent", "the consent is invalid"),
    refusals=((409, "The organisation does not offer the chosen mode (mode_not_allowed)"),),
)
async def consent(request: web.Request) -> web.Response:
    interview = await candidate_interview(request)
    body = await read_body(request, ConsentIn)
    decision, recording, analysis = body.decision, body.recording, body.analysis
    svc = services(request)
    mode = _consented_mode(
        InterviewMode(body.mode), allowed_modes(await svc.store.org_settings(interview.org_id))
    )
    if decision == "accept":
        _check_consents(mode, recording, analysis)
    record = {
        "decision": decision,
        "mode": mode.value,
        "face_processing": decision == "accept" and mode is InterviewMode.VIDEO,
        "recording": recording,
        "analysis": analysis,
        "text_version": (body.text_version or CONSENT_TEXT_VERSION)[:40],
        "at": time.time(),
        "ip": request.remote or "",
        "user_agent": request.headers.get("User-Agent", "")[:300],
    }
    new = Status.CONSENTED if decision == "accept" else Status.DECLINED
    change = await svc.store.set_status(
        interview.id,
        new,
        "candidate",
        fields={"consent": record},
        allow_from=frozenset({Status.INVITED, Status.OPENED}),
    )
    if change is not None:
        await publish_status(svc, change)
    return json_response(await _state(request, await svc.store.get_interview(interview.id)))


def _consented_mode(mode: InterviewMode, allowed: list[InterviewMode]) -> InterviewMode:
    if mode not in allowed:
        raise ApiError(
            409, "mode_not_allowed", f"this organisation does not offer {mode.value} interviews"
        )
    return mode


def _check_consents(mode: InterviewMode, recording: bool, analysis: bool) -> None:
    """What an accepted consent must include in each mode (every mode: a human decides)."""
    if mode is InterviewMode.VIDEO and not (recording and analysis):
        raise ApiError(
            422, "consent_incomplete", "both consents are needed to take the video interview"
        )
    if mode is InterviewMode.AUDIO and not recording:
        raise ApiError(
            422, "consent_incomplete", "an audio interview records the voice: consent is needed"
        )
    if mode is InterviewMode.TEXT and recording:
        raise ApiError(400, "bad_request", "nothing is recorded in a written interview")


@routes.get("/api/candidate/ping")
@operation("Candidate: round-trip time probe", auth="candidate", response=Ping)
async def ping(request: web.Request) -> web.Response:
    await candidate_interview(request)
    return json_response({"server_time": time.time()})


@routes.post("/api/candidate/upload-test")
@operation(
    "Candidate: upload throughput probe (at most 4 MB)",
    auth="candidate",
    raw_body="application/octet-stream",
    response=UploadTest,
)
async def upload_test(request: web.Request) -> web.Response:
    await candidate_interview(request)
    started = time.perf_counter()
    received = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        received += len(chunk)
        if received > MAX_UPLOAD_TEST_BYTES:
            raise ApiError(413, "too_large", f"at most {MAX_UPLOAD_TEST_BYTES} bytes")
    return json_response(
        {"bytes": received, "server_ms": round((time.perf_counter() - started) * 1000, 1)}
    )


@routes.post("/api/candidate/device-check")
@operation(
    "Candidate: device check result",
    auth="candidate",
    body=DeviceCheckIn,
    response=CandidateState,
    invalid=("invalid_device_check", "the device check is invalid"),
    refusals=((409, "A device the interview's mode needs does not work (device_check_failed)"),),
)
async def device_check(request: web.Request) -> web.Response:
    interview = await candidate_interview(request)
    body = await read_body(request, DeviceCheckIn)
    result: dict[str, Any] = {"at": time.time(), **body.model_dump()}
    mode = interview_mode(interview) or InterviewMode.VIDEO
    needed = DEVICES_NEEDED[mode]
    if not all(result[key] for key in needed):
        raise ApiError(
            409, "device_check_failed", f"{' and '.join(needed)} must work for a {mode} interview"
        )
    svc = services(request)
    if interview.status in (Status.DEVICE_CHECKED, Status.IN_PROGRESS):
        return json_response(await _state(request, interview))
    change = await svc.store.set_status(
        interview.id,
        Status.DEVICE_CHECKED,
        "candidate",
        fields={"device_check": result},
        allow_from=frozenset({Status.CONSENTED}),
    )
    if change is not None:
        await publish_status(svc, change)
    return json_response(await _state(request, await svc.store.get_interview(interview.id)))


@routes.post("/api/candidate/offer")
@operation(
    "Candidate: WebRTC offer -> answer (the control socket must be open)",
    auth="candidate",
    body=OfferIn,
    response=Answer,
    refusals=(
        (
            409,
            "The interview is not ready for media (not_ready, text_only), the control socket "
            "is not open (no_control_socket) or the session closed (session_closed)",
        ),
    ),
)
async def offer(request: web.Request) -> web.Response:
    interview = await candidate_interview(request)
    body = await read_object(request)
    if body.get("type") != "offer" or not isinstance(body.get("sdp"), str):
        raise ApiError(400, "bad_sdp", 'body must be {"type": "offer", "sdp": "..."}')
    if interview.status not in (Status.CONSENTED, Status.DEVICE_CHECKED, Status.IN_PROGRESS):
        raise ApiError(409, "not_ready", f"the interview is {interview.status.value}")
    if interview_mode(interview) is InterviewMode.TEXT:
        raise ApiError(409, "text_only", "this interview is answered in writing: no media")
    svc = services(request)
    session = svc.sessions.get(interview.id)
    if session is None:
        raise ApiError(409, "no_control_socket", "open the control socket before the offer")
    refusal = svc.admission.admit(interview.id, svc.registry)
    if refusal is not None:
        raise ApiError(
            503,
            "busy",
            refusal.message,
            headers={"Retry-After": str(int(refusal.retry_after_s))},
            extra={"retry_after_s": refusal.retry_after_s, "alternate": refusal.alternate},
        )
    try:
        answer = await session.accept_offer(body["sdp"])
    except SdpError as exc:
        raise ApiError(400, "bad_sdp", str(exc)) from None
    except (ConnectionResetError, TimeoutError):
        raise ApiError(409, "session_closed", "the session closed; reconnect") from None
    return json_response({"type": "answer", "sdp": answer})


# -- control socket ------------------------------------------------------------------------


class Channel:
    """The candidate's control socket with a bounded send queue and one writer task."""

    def __init__(self, ws: web.WebSocketResponse, name: str) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(CONTROL_SEND_QUEUE_MAX)
        self.writer = asyncio.create_task(self._write(), name=f"candidate-ws-{name}")

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            if message.get("type") == "tick":
                return  # the next tick carries the same information
            await self.close()  # too slow for state changes: the page reconnects and resyncs

    async def _write(self) -> None:
        while (message := await self.queue.get()) is not None:
            try:
                await self.ws.send_str(json.dumps(message, ensure_ascii=False))
            except (ConnectionResetError, RuntimeError):
                return

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.writer), 2.0)
        self.writer.cancel()
        await self.ws.close(code=code, message=message)


@routes.get("/ws/candidate")
async def control_socket(request: web.Request) -> web.WebSocketResponse:
    interview = await candidate_interview(request, allow_query=True)
    svc = services(request)
    check_origin(request, "interview socket")
    if interview.status not in (
        Status.CONSENTED,
        Status.DEVICE_CHECKED,
        Status.IN_PROGRESS,
    ):
        raise ApiError(409, "not_ready", f"the interview is {interview.status.value}")
    ws = web.WebSocketResponse(heartbeat=CONTROL_HEARTBEAT_S, max_msg_size=CONTROL_MAX_MSG_BYTES)
    await ws.prepare(request)
    iid = interview.id
    old = svc.sessions.pop(iid, None)
    if old is not None:
        await old.kick("replaced")
    channel = Channel(ws, iid)
    interview = await svc.store.get_interview(iid)  # after the old session saved its state
    analysis, written = await _analysis(svc, interview)
    session = InterviewSession(
        interview,
        svc.store,
        send=channel.send,
        close=channel.close,
        publish=_publisher(svc),
        files=RecordingFiles(
            svc.recordings.root,
            create=recording_opener(svc.keyring),
            adopt=recording_adopter(svc.keyring),
            finished=svc.recordings.segment_finished,
        ),
        ice_servers=svc.settings.ice_servers,
        page_ice=IceConfig.from_settings(svc.settings),
        analysis=analysis,
        publish_live=lambda message: svc.hub.publish(interview_topic(iid), message),
        alternates=lambda: _alternates(svc),
        written=written,
        receive_impairment=svc.settings.receive_impairment(),
    )
    await svc.store.claim_interview(iid, session.owner)
    svc.sessions[iid] = session
    session.start()
    try:
        await session.resume_written()
        await session.send_state()
        bucket = TokenBucket()
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            if not bucket.take():  # a page never sends this much; a script might
                await channel.send({"type": "error", "message": "too many messages"})
                break
            await _handle(session, channel, msg.data)
    finally:
        if svc.sessions.get(iid) is session:
            del svc.sessions[iid]
            svc.admission.release(iid)
        await session.aclose()
        await channel.close()
        if analysis is not None or written is not None:
            _retire_sink(svc, iid)
        if session.status is Status.COMPLETED:
            _own(svc, _announce_report(svc, interview), f"report-ready-{iid}")
    return ws


REPORT_SETTLE_S = 3.0
"""Time for the analyzer's last events (final transcript, scores) after the interview ends."""
REPORT_WAIT_MAX_S = 30.0


async def _announce_report(svc: Services, interview: Interview) -> None:
    """Webhook ``report.ready`` once the last analysis results are stored."""
    await asyncio.sleep(REPORT_SETTLE_S)
    sink = svc.analysis_sinks.get(interview.id)
    if sink is not None:
        await sink.wait_drained(REPORT_WAIT_MAX_S)
    await webhooks.emit(
        svc,
        interview.org_id,
        "report.ready",
        {
            "interview_id": interview.id,
            "job_id": interview.job_id,
            "report_url": f"{svc.settings.base_url}/api/interviews/{interview.id}/report",
        },
    )


def _own(svc: Services, coro: Any, name: str) -> None:
    task = asyncio.create_task(coro, name=name)
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


async def _analysis(
    svc: Services, interview: Interview
) -> tuple[AnalysisLink | None, WrittenScoring | None]:
    """How this interview is analysed, when the server runs analyzers and consent allows:
    live media analysis, or (text-only mode) scoring of the written answers."""
    consent = interview.consent or {}
    if svc.analyzers is None or not consent.get("analysis"):
        return None, None
    job = await svc.store.get_job(interview.job_id)
    iid = interview.id
    sink = svc.analysis_sinks.get(iid)
    if sink is None:
        sink = svc.analysis_sinks[iid] = AnalysisSink(svc, iid)
    meta = {
        "language": zh_or_en(str(interview.language)),
        "answer_languages": list(job.answer_languages),
        "competencies": [[c["id"], c["weight"]] for c in job.competencies],
        "questions": [item["question"] for item in interview.plan],
        "flag_thresholds": dict(svc.settings.flag_thresholds),
    }
    if interview_mode(interview) is InterviewMode.TEXT:
        return None, WrittenScoring(iid, meta, lambda: svc.store.answers(iid), sink)
    return AnalysisLink(svc.analyzers, meta, sink), None


def _retire_sink(svc: Services, interview_id: str) -> None:
    """Keep the sink a while for the worker's last events, then close it."""

    async def retire() -> None:
        await asyncio.sleep(SINK_LINGER_S)
        if interview_id in svc.sessions:
            return  # the candidate is back; the sink lives on
        if svc.analyzers is not None:
            svc.analyzers.forget(interview_id)
        sink = svc.analysis_sinks.pop(interview_id, None)
        if sink is not None:
            await sink.aclose()

    _own(svc, retire(), f"retire-sink-{interview_id}")


async def _handle(session: InterviewSession, channel: Channel, raw: str) -> None:
    try:
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise ValueError("a message must be a JSON object")
        kind = message.get("type")
        if kind == "ping":
            await channel.send({"type": "pong", "server_time": time.time()})
        elif kind == "start_interview":
            await session.start_interview()
        elif kind == "start_answer":
            await session.start_answer()
        elif kind == "finish_answer":
            await session.finish_answer()
        elif kind in ("scratchpad", "text_answer"):
            await session.save_text(kind, message.get("index"), message.get("text"))
        elif kind == "signal":
            session.browser_signal(message.get("kind"), message.get("detail", ""))
        else:
            raise ValueError(f"unknown message type {kind!r}")
    except (ValueError, json.JSONDecodeError) as exc:
        await channel.send({"type": "error", "message": str(exc)[:200]})
    except RecursionError:
        await channel.send(
            {"type": "error", "message": "a message must be JSON (nested too deeply)"}
        )
    except Exception as exc:  # the socket stays up; the candidate sees a message
        from server.storage.store import Conflict

        if isinstance(exc, Conflict):
            await channel.send({"type": "error", "message": str(exc)})
        else:
            logger.exception("control message failed")
            await channel.send({"type": "error", "message": "internal error"})
