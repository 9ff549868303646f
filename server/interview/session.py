"""InterviewSession: the one place that wires one live candidate's pieces together.

A session lives while the candidate's control socket is open. It owns the WebRTC peer,
the answer recorder, the timer task and the interview's flow state; it persists every
transition so a dropped connection or a server restart resumes at the same question
with the remaining time kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from analyzers.flags import BROWSER_SIGNALS
from media.fanout import AnalysisFanout
from media.impair import ImpairConfig
from media.peer import LivePeer
from media.recorder import VIDEO_WAIT_S, AnswerRecorder
from server.domain.interviews import Interview
from server.domain.models import InterviewMode, Status, interview_mode
from server.interview import flow
from server.interview.candidate_view import candidate_state, current_view
from server.interview.flow import FlowState, Phase
from server.interview.recording_files import (
    FOLDER_MODE,
    RecordingFiles,
    adopted_info,
    left_behind,
    segment_name,
    stored_name,
)
from server.interview.written import WrittenScoring
from server.security.turn import IceConfig
from server.storage.store import StatusChange, Store, Superseded

if TYPE_CHECKING:
    from analyzers.pool import EventSink
    from server.live.backend import AnalysisBackend

logger = logging.getLogger(__name__)

NEW_PEER_MEDIA_GAP_S = 1.0
"""Media-time gap inserted when a new peer connection replaces an old one."""
QUALITY_EVERY_S = 5.0
TICK_S = 0.25
"""How often the timer checks for phase deadlines."""
TICK_MESSAGE_EVERY_S = 1.0
FLOW_SAVE_EVERY_S = 1.0
"""How much running time a server crash may cost the candidate at most."""
MAX_TEXT_CHARS = 20_000
ADOPT_AFTER_S = 5.0
"""How long after it starts a session adopts the unfinished segments a crashed process left
in its interview's folder (a live process that lost the candidate registers its own by then)."""
WRITTEN_SCORING_TIMEOUT_S = 10.0
"""Longest a written answer's scoring may hold the session (normally milliseconds)."""

MEDIA_KINDS = {
    InterviewMode.VIDEO: frozenset({"audio", "video"}),
    InterviewMode.AUDIO: frozenset({"audio"}),
    InterviewMode.TEXT: frozenset[str](),
}
"""What a peer connection may carry in each mode (audio-only never receives the camera)."""

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AnalysisLink:
    """How a session reaches live analysis: the backend, the interview's metadata, the sink."""

    backend: AnalysisBackend
    meta: dict[str, Any]
    sink: EventSink


Publish = Callable[[StatusChange], Awaitable[None]]


def steps_of(plan: list[dict[str, Any]]) -> list[flow.Step]:
    return [flow.Step(q["question"]["prep_s"], q["question"]["answer_s"]) for q in plan]


def restored_flow(saved: dict[str, Any] | None) -> FlowState | None:
    """The saved flow, paused at the moment it was last saved (crash-safe resume)."""
    if saved is None:
        return None
    state = FlowState.from_dict(saved)
    return flow.pause(state, state.as_of_s)


class InterviewSession:
    """One candidate's live interview on this process."""

    def __init__(
        self,
        interview: Interview,
        store: Store,
        send: Send,
        close: Callable[[], Awaitable[None]],
        publish: Publish,
        files: RecordingFiles,
        ice_servers: tuple[str, ...],
        analysis: AnalysisLink | None = None,
        page_ice: IceConfig | None = None,
        publish_live: Callable[[dict[str, Any]], object] | None = None,
        alternates: Callable[[], list[str]] | None = None,
        written: WrittenScoring | None = None,
        receive_impairment: ImpairConfig | None = None,
    ) -> None:
        """``ice_servers``: this process's own STUN/TURN URLs; ``page_ice``: what the page's
        ``state`` messages carry (TURN credentials minted per message);
        ``files``: where answer files go and how they are created (encrypting, in
        production) and adopted (a segment a crashed process left unfinished);
        ``written``: scoring of written answers (text-only interviews with analysis consent);
        ``receive_impairment``: tests and benchmarks only (``media.impair``)."""
        self.interview_id: str = interview.id
        self.owner = f"{interview.id}:{uuid.uuid4().hex}"
        """This session's claim on the interview (see :meth:`Store.claim_interview`)."""
        self._superseded = False
        self._alternates = alternates
        self._closing: asyncio.Task[None] | None = None
        self.job_id: str = interview.job_id
        self.status = interview.status
        self.mode = interview_mode(interview) or InterviewMode.VIDEO
        self._org_id: str = interview.org_id
        self._written = written
        self.plan: list[dict[str, Any]] = interview.plan
        self.steps = steps_of(self.plan)
        self.flow: FlowState | None = restored_flow(interview.flow)
        self._store = store
        self._send = send
        self._close_channel = close
        self._publish = publish
        self._files = files
        self._recordings_dir = files.root / self.interview_id
        self._own_segments: set[str] = set()
        """Names of the segment files this session started."""
        self._ice_servers = ice_servers
        self._receive_impairment = receive_impairment
        self._page_ice = page_ice
        self._lock = asyncio.Lock()
        self._peer: LivePeer | None = None
        self._recorder = AnswerRecorder(
            request_keyframe=self._request_keyframe,
            open_file=files.create,
            # an audio-only interview has no key frame to wait for
            video_wait_s=0.0 if self.mode is InterviewMode.AUDIO else VIDEO_WAIT_S,
        )
        self._segment_index: int | None = None
        self._answer_ids: dict[int, str] = {}
        self._timer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._analysis = analysis
        self._publish_live = publish_live
        self._connections = 0
        """Peer connections accepted in this session (more than one = reconnects)."""
        self._media_clock_s = 0.0
        """Latest analysis media time; each new peer continues after it (RTP restarts at 0)."""
        self._media_offset_s = 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._analysis is not None:
            link = self._analysis
            link.backend.open(self.interview_id, link.meta, link.sink)
            if self.flow is not None and self.flow.phase is Phase.ANSWER:
                self._set_context(self.flow.index, "answer")
        self._timer = asyncio.create_task(self._run_timer(), name=f"timer-{self.interview_id}")
        self._timer.add_done_callback(_log_failure)  # a dead clock must not go unnoticed
        if self._publish_live is not None:
            self._own_task(self._report_quality(), f"quality-{self.interview_id}")
        if self._files.adopt is not None:
            self._own_task(self._adopt_left_behind(), f"adopt-{self.interview_id}")

    def _own_task(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _adopt_left_behind(self) -> None:
        """Register the segments a crashed process left in this interview's folder (its
        candidate is now here), finalised so they play: the answer keeps what was recorded
        before the crash. Waits :data:`ADOPT_AFTER_S` first: a process that lost the
        candidate but lives closes and registers its own segment within a second or so."""
        assert self._files.adopt is not None
        await asyncio.sleep(ADOPT_AFTER_S)
        if self._superseded or self._closed:
            return
        known = {
            PurePosixPath(r.path).name for r in await self._store.recordings(self.interview_id)
        }
        known |= self._own_segments
        found = await asyncio.to_thread(left_behind, self._recordings_dir, known, ADOPT_AFTER_S)
        for index, path in found:
            if not 0 <= index < len(self.plan):
                continue
            try:
                probed = await asyncio.to_thread(self._files.adopt, path)
            except Exception:
                logger.exception("cannot adopt the recording %s left behind", path)
                continue
            if probed is None:
                continue
            stored = stored_name(self.interview_id, path.name)
            await self._store.add_recording(
                await self._answer_id(index), self.interview_id, adopted_info(stored, probed)
            )
            self._segment_kept(stored)
            logger.warning(
                "adopted recording %s (%.1f s) that a crashed process left unfinished",
                path.name,
                probed.duration_s,
            )

    async def aclose(self) -> None:
        """Pause the clock, keep what was recorded, release the peer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        # A state change in flight (a lost connection saving the answer's file, the clock
        # ending an answer) finishes first: cancelled, what it was saving would be lost.
        async with self._lock:
            tasks = [t for t in (self._timer, *self._tasks) if t is not None]
            for task in tasks:
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            await self._pause()
            peer, self._peer = self._peer, None
        if peer is not None:
            await peer.aclose()
        await self._recorder.aclose()
        if self._analysis is not None:
            self._analysis.backend.close(self.interview_id)

    async def kick(self, reason: str) -> None:
        """End this session from outside (link opened elsewhere, invitation revoked)."""
        await self._send({"type": reason})
        await self.aclose()
        await self._close_channel()

    # -- candidate actions ----------------------------------------------------------------

    async def accept_offer(self, sdp: str) -> str:
        """Replace any previous peer with a new one answering ``sdp``."""
        if self.mode is InterviewMode.TEXT:
            raise ValueError("a written interview has no media connection")
        async with self._lock:
            old, self._peer = self._peer, None
            await self._pause()
        if old is not None:
            await old.aclose()
        fanout = None
        if self._analysis is not None:
            self._media_offset_s = self._media_clock_s + NEW_PEER_MEDIA_GAP_S
            fanout = AnalysisFanout(
                self._audio_to_analysis, self._video_to_analysis, name=f"fanout-{self.interview_id}"
            )
        peer = LivePeer(
            self._ice_servers,
            on_frame=self._recorder.on_frame,
            on_state=self._peer_state_changed,
            name=f"peer-{self.interview_id}",
            fanout=fanout,
            kinds=MEDIA_KINDS[self.mode],
            receive_impairment=self._receive_impairment,
            on_media_gap=self._media_gap,
        )
        try:
            answer = await peer.accept(sdp)
        except BaseException:
            with contextlib.suppress(Exception):  # a broken offer may break closing too
                await peer.aclose()
            raise
        async with self._lock:
            if self._closed:
                await peer.aclose()
                raise ConnectionResetError("session closed")
            self._peer = peer
            self._connections += 1
        return answer

    async def start_interview(self) -> None:
        async with self._lock:
            change = await self._store.set_status(
                self.interview_id,
                Status.IN_PROGRESS,
                "candidate",
                allow_from=frozenset({Status.DEVICE_CHECKED, Status.IN_PROGRESS}),
            )
            self.status = Status.IN_PROGRESS
            if self.flow is None:
                self.flow, transitions = flow.start(self.steps, time.time())
                await self._apply(transitions)
                await self._save_flow()
            await self._maybe_resume()
        if change is not None:
            await self._publish(change)
        await self.send_state()

    async def start_answer(self) -> None:
        await self._act(flow.start_answer)

    async def finish_answer(self) -> None:
        await self._act(flow.finish_answer)

    async def save_text(self, field: str, index: Any, text: Any) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(text, str):
            raise ValueError("index must be an integer and text a string")
        if not 0 <= index < len(self.plan):
            raise ValueError("no such question")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
        if self.flow is None or index > self.flow.index:
            raise ValueError("that question has not started yet")
        if field == "text_answer" and self.flow.index != index:
            raise ValueError("the answer time for that question is over")
        if field == "text_answer" and self.flow.phase is not Phase.ANSWER:
            raise ValueError("write the answer once the answer time has started")
        await self._answer_id(index)
        await self._store.save_answer_text(self.interview_id, index, field, text)
        await self._send({"type": "saved", "field": field, "index": index})

    async def _act(
        self, action: Callable[[FlowState, list[flow.Step], float], tuple[FlowState, list[Any]]]
    ) -> None:
        async with self._lock:
            if self.flow is None or self.status is not Status.IN_PROGRESS:
                raise ValueError("the interview has not started")
            self.flow, transitions = action(self.flow, self.steps, time.time())
            await self._apply(transitions)
            await self._save_flow()
        await self.send_state()

    # -- media ----------------------------------------------------------------------------

    def _audio_to_analysis(self, t: float, samples: npt.NDArray[np.float32]) -> None:
        assert self._analysis is not None
        t += self._media_offset_s
        self._media_clock_s = max(self._media_clock_s, t + len(samples) / 16_000)
        self._analysis.backend.push_audio(self.interview_id, t, samples)

    def _video_to_analysis(self, t: float, rgb: npt.NDArray[np.uint8]) -> None:
        assert self._analysis is not None
        t += self._media_offset_s
        self._media_clock_s = max(self._media_clock_s, t)
        self._analysis.backend.push_video(self.interview_id, t, rgb, True)

    def _media_gap(self, gap_s: float) -> None:
        """No media arrived for ``gap_s`` (the network, not the candidate): examiners see it as a
        network gap, stored with the analysis events when there is analysis."""
        event: dict[str, Any] = {
            "type": "network_gap",
            "interview_id": self.interview_id,
            "t": round(self._media_clock_s, 3),
            "question_index": self.flow.index if self.flow is not None else None,
            "duration_s": round(gap_s, 2),
            "event_id": f"gap-{uuid.uuid4().hex}",
        }
        if self._analysis is not None:
            self._analysis.sink(event)
        elif self._publish_live is not None:
            self._publish_live(event)

    def _set_context(self, index: int | None, phase: str) -> None:
        if self._analysis is not None:
            self._analysis.backend.set_context(
                self.interview_id, {"question_index": index, "phase": phase}
            )

    def browser_signal(self, kind: Any, detail: Any) -> None:
        """Tab hidden, window blur, full screen left, paste: evidence for integrity flags."""
        if not isinstance(kind, str) or kind not in BROWSER_SIGNALS:
            raise ValueError(f"unknown signal {str(kind)[:40]!r}")
        if self._analysis is not None:
            self._analysis.backend.browser_signal(self.interview_id, kind, 0.0, str(detail)[:200])

    async def _report_quality(self) -> None:
        """Connection quality for examiners: received fps, packet loss, jitter, reconnects."""
        assert self._publish_live is not None
        previous: dict[str, float | int] | None = None
        previous_peer: LivePeer | None = None
        while True:
            await asyncio.sleep(QUALITY_EVERY_S)
            peer = self._peer
            if peer is None or peer.state != "connected":
                previous = None
                continue
            now = await peer.quality()
            if previous is not None and peer is previous_peer:
                got = int(now["packets_received"]) - int(previous["packets_received"])
                lost = int(now["packets_lost"]) - int(previous["packets_lost"])
                self._publish_live(
                    {
                        "type": "connection",
                        "interview_id": self.interview_id,
                        "state": peer.state,
                        "video_fps": round(
                            (int(now["video_frames"]) - int(previous["video_frames"]))
                            / QUALITY_EVERY_S,
                            1,
                        ),
                        "packet_loss_pct": round(100 * lost / max(1, got + lost), 2),
                        "audio_jitter_ms": now["audio_jitter_ms"],
                        "audio_concealed_s": now["audio_concealed_s"],
                        "audio_fec_packets": now["audio_fec_packets"],
                        "audio_gaps": now["audio_gaps"],
                        "video_frames_damaged": now["video_frames_damaged"],
                        "video_frames_not_decoded": now["video_frames_not_decoded"],
                        "reconnects": max(0, self._connections - 1),
                    }
                )
            previous, previous_peer = now, peer

    def _request_keyframe(self) -> None:
        if self._peer is not None:
            self._peer.request_keyframe()

    def _peer_state_changed(self, state: str) -> None:
        if self._closed:
            return
        task = asyncio.create_task(
            self._on_peer_state(state), name=f"peer-state-{self.interview_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _on_peer_state(self, state: str) -> None:
        async with self._lock:
            if self._closed:
                return
            if state == "connected":
                await self._maybe_resume()
            elif state in ("failed", "closed", "disconnected"):
                await self._pause()
        await self.send_state()

    @property
    def media_connected(self) -> bool:
        return self._peer is not None and self._peer.state == "connected"

    @property
    def _clock_may_run(self) -> bool:
        """Media interviews run while media arrives; a written one while its socket is open."""
        return self.mode is InterviewMode.TEXT or self.media_connected

    async def resume_written(self) -> None:
        """A written interview continues as soon as the candidate's socket is back.

        Its clock stood still while the socket was away, so the pause is recorded (audited
        event ``written_resumed``) and examiners see the reconnect count and paused time, as
        they see reconnects of a media connection."""
        if self.mode is not InterviewMode.TEXT:
            return
        async with self._lock:
            resuming = self.flow is not None and self.status is Status.IN_PROGRESS
            paused_s = time.time() - self.flow.as_of_s if self.flow is not None else 0.0
            index = self.flow.index if self.flow is not None else None
            await self._maybe_resume()
        if not resuming:
            return
        await self._store.add_event(
            self.interview_id,
            self._org_id,
            "written_resumed",
            "candidate",
            {"paused_s": round(max(0.0, paused_s), 1), "question_index": index},
        )
        resumes = [
            e for e in await self._store.events(self.interview_id) if e["kind"] == "written_resumed"
        ]
        if self._publish_live is not None:
            self._publish_live(
                {
                    "type": "connection",
                    "interview_id": self.interview_id,
                    "state": "connected",
                    "mode": self.mode.value,
                    "video_fps": 0.0,
                    "packet_loss_pct": 0.0,
                    "audio_jitter_ms": 0.0,
                    "reconnects": len(resumes),
                    "paused_s_total": round(sum(e["data"]["paused_s"] for e in resumes), 1),
                }
            )

    # -- timer and transitions ------------------------------------------------------------

    async def _maybe_resume(self) -> None:
        """Run the clock once the interview is on and its media is connected (if it has any)."""
        if self.flow is None or self.flow.running or not self._clock_may_run:
            return
        if self.status is not Status.IN_PROGRESS:
            return
        self.flow, transitions = flow.resume(self.flow, self.steps, time.time())
        await self._apply(transitions)
        await self._save_flow()

    async def _pause(self) -> None:
        if self.flow is None or not self.flow.running:
            return
        self.flow = flow.pause(self.flow, time.time())
        await self._stop_segment()
        await self._save_flow()

    async def _run_timer(self) -> None:
        last_message = last_save = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            changed = False
            async with self._lock:
                if self.flow is not None and self.flow.running:
                    self.flow, transitions = flow.advance(self.flow, self.steps, time.time())
                    if transitions:
                        await self._apply(transitions)
                        await self._save_flow()
                        changed = True
                        last_save = now
                    elif now - last_save >= FLOW_SAVE_EVERY_S:
                        await self._save_flow()
                        last_save = now
            if changed:
                await self.send_state()
            elif now - last_message >= TICK_MESSAGE_EVERY_S and self.flow is not None:
                last_message = now
                await self._send({"type": "tick", **self._current_timing()})

    async def _apply(self, transitions: list[flow.Transition]) -> None:
        for t in transitions:
            if isinstance(t, flow.AnswerStarted):
                self._set_context(t.index, "answer")
                answer_id = await self._answer_id(t.index)
                await self._store.answer_started(answer_id, time.time())
                self._start_segment(t.index)
            elif isinstance(t, flow.AnswerEnded):
                self._set_context(None, "between")
                await self._stop_segment()
                answer_id = await self._answer_id(t.index)
                await self._store.answer_ended(answer_id, time.time(), t.used_s, t.reason.value)
                if self._written is not None:
                    await self._score_written(t.index)
            elif isinstance(t, flow.Completed):
                change = await self._store.set_status(
                    self.interview_id, Status.COMPLETED, "candidate"
                )
                self.status = Status.COMPLETED
                if change is not None:
                    await self._publish(change)

    async def _score_written(self, index: int) -> None:
        """Score a finished written answer; a failure is reported, never stops the clock."""
        assert self._written is not None
        try:
            async with asyncio.timeout(WRITTEN_SCORING_TIMEOUT_S):
                await self._written.answer_ended(index)
        except Exception as exc:  # the interview goes on; the examiner sees the gap
            logger.exception("scoring written answer %d of %s failed", index, self.interview_id)
            self._written.report_failure(index, exc)

    async def _answer_id(self, index: int) -> str:
        if index not in self._answer_ids:
            q = self.plan[index]["question"]
            answer = await self._store.ensure_answer(self.interview_id, index, q["id"])
            self._answer_ids[index] = answer.id
        return self._answer_ids[index]

    def _start_segment(self, index: int) -> None:
        if not self.media_connected:
            return
        self._recordings_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        name = segment_name(index, time.time())
        self._own_segments.add(name)
        self._recorder.start_segment(self._recordings_dir / name, self._media_offset_s)
        self._segment_index = index

    async def _stop_segment(self) -> None:
        index, self._segment_index = self._segment_index, None
        if index is None:
            return
        info = await self._recorder.stop_segment()
        if info is None:
            return
        answer_id = await self._answer_id(index)
        stored = stored_name(self.interview_id, info.path.name)
        await self._store.add_recording(
            answer_id,
            self.interview_id,
            {
                "path": stored,
                "container": info.path.suffix.lstrip("."),
                "duration_s": info.duration_s,
                "video_frames": info.video_frames,
                "audio_packets": info.audio_packets,
                "bytes": info.bytes,
                # on the analysis media clock, so transcript word times map into this file
                "media_start_s": round(info.started_media_s + self._media_offset_s, 3),
            },
        )
        self._segment_kept(stored)

    def _segment_kept(self, stored: str) -> None:
        """A segment is closed and registered: the storage may take it (an upload)."""
        if self._files.finished is not None:
            self._files.finished(stored)

    async def _save_flow(self) -> None:
        if self.flow is None:
            return
        now = time.time()
        snapshot = FlowState(
            index=self.flow.index,
            phase=self.flow.phase,
            remaining_s=flow.remaining(self.flow, now),
            running=self.flow.running,
            as_of_s=now,
            answer_started_s=self.flow.answer_started_s,
        )
        self.flow = snapshot
        if self._superseded:
            return
        try:
            await self._store.save_flow(self.interview_id, snapshot.to_dict(), self.owner)
        except Superseded:
            # the candidate continues on a newer session (another tab or process): stop here
            logger.warning("session %s superseded; closing it", self.owner)
            self._superseded = True
            self._closing = asyncio.create_task(
                self._close_superseded(), name=f"superseded-{self.owner}"
            )

    async def _close_superseded(self) -> None:
        await self._send({"type": "replaced"})
        await self._close_channel()

    # -- messages to the candidate --------------------------------------------------------

    def _current_timing(self) -> dict[str, Any]:
        assert self.flow is not None
        return {
            "index": self.flow.index,
            "phase": self.flow.phase.value,
            "paused": not self.flow.running,
            "remaining_s": round(flow.remaining(self.flow, time.time()), 2),
        }

    async def current(self) -> dict[str, Any] | None:
        """The candidate's view of the current question, or ``None`` before/after."""
        if self.flow is None:
            return None
        if self.flow.phase is not Phase.DONE:
            await self._answer_id(self.flow.index)
        answers = await self._store.answers(self.interview_id)
        return current_view(self.flow, self.plan, answers, time.time())

    async def send_state(self) -> None:
        interview = await self._store.get_interview(self.interview_id)
        state = await candidate_state(
            interview, self._store, current=await self.current(), ice=self._page_ice
        )
        if self._alternates is not None:
            state["alternates"] = self._alternates()  # where to go if this process dies
        await self._send({"type": "state", **state})
        if self.status is Status.COMPLETED:
            await self._send({"type": "completed"})


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("session task %s failed", task.get_name(), exc_info=task.exception())
