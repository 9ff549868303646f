"""A scripted candidate: a real aiortc peer streaming files through the real candidate API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from tests.support.tracks import LoopingAudioTrack, LoopingVideoTrack

CONNECT_TIMEOUT_S = 15.0


class ScriptedCandidate:
    """Walks consent → device check → interview like the browser page does."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        token: str,
        video: Path | None,
        audio: Path | None,
        mode: str = "video",
    ) -> None:
        """``mode``: video (camera + microphone), audio (microphone only) or text (no media)."""
        self.mode = mode
        self.http = http
        self.base_url = base_url
        self.token = token
        self.video = video
        self.audio = audio
        self.pc: RTCPeerConnection | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.last_state: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tracks: list[MediaStreamTrack] = []

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, self.base_url + path, headers=headers, **kwargs) as r:
            body = await r.json(content_type=None)
            if r.status >= 400:
                raise AssertionError(f"{method} {path}: {r.status} {body}")
            return body

    async def consent(self, analysis: bool = True) -> dict[str, Any]:
        await self.api("GET", "/api/candidate/state")
        body = {
            "decision": "accept",
            "mode": self.mode,
            "recording": self.mode != "text",
            "analysis": analysis,
        }
        return dict(await self.api("POST", "/api/candidate/consent", json=body))

    async def connect_socket(self) -> None:
        """Open the control socket and wait for the session's first state message."""
        self.ws = await self.http.ws_connect(
            f"{self.base_url}/ws/candidate?token={self.token}".replace("http", "ws", 1)
        )
        self._reader = asyncio.create_task(self._read(self.ws), name="candidate-reader")
        # the server takes offers once the session exists, which its first state message shows
        await self.wait_for(lambda m: m.get("type") == "state", CONNECT_TIMEOUT_S)

    async def connect(self) -> None:
        """Open the control socket, then a new peer connection (also used to resume)."""
        await self.connect_socket()
        if self.mode == "text":
            return  # a written interview has no media connection
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        if self.mode == "video":
            assert self.video is not None
            video = LoopingVideoTrack(self.video)
            self._tracks.append(video)
            pc.addTransceiver(video, direction="sendonly")
        assert self.audio is not None
        audio = LoopingAudioTrack(self.audio)
        self._tracks.append(audio)
        pc.addTransceiver(audio, direction="sendonly")
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState == "connected":
                connected.set()

        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.api(
            "POST",
            "/api/candidate/offer",
            json={"type": "offer", "sdp": pc.localDescription.sdp},
        )
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(connected.wait(), CONNECT_TIMEOUT_S)

    async def device_check(self) -> None:
        await self.api(
            "POST",
            "/api/candidate/device-check",
            json={
                "camera": self.mode == "video",
                "microphone": self.mode != "text",
                "webrtc": self.mode != "text",
                "rtt_ms": 1,
                "upload_kbps": 9e4,
            },
        )

    async def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(message))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if data.get("type") == "state":
                    self.last_state = data
                await self.messages.put(data)

    def drain(self) -> None:
        """Forget messages received so far (the next ones are fresh)."""
        while not self.messages.empty():
            self.messages.get_nowait()

    async def wait_for(self, predicate: Any, timeout_s: float = 30.0) -> dict[str, Any]:
        """The first server message (state/tick/...) for which ``predicate`` is true."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.messages.get()
                if predicate(message):
                    return message

    async def wait_phase(self, index: int, phase: str, timeout_s: float = 30.0) -> dict[str, Any]:
        def match(m: dict[str, Any]) -> bool:
            cur = m.get("current") if m.get("type") == "state" else None
            return bool(
                cur and cur["index"] == index and cur["phase"] == phase and not cur["paused"]
            )

        return await self.wait_for(match, timeout_s)

    async def begin_first_answer(self) -> None:
        """Consent, media, device check and the interview's start, then the first answer (its
        preparation time skipped), as a candidate goes through the page."""
        await self.consent()
        await self.connect()
        await self.device_check()
        await self.send({"type": "start_interview"})
        await self.wait_phase(0, "prep")
        await self.send({"type": "start_answer"})
        await self.wait_phase(0, "answer")

    async def disconnect(self) -> None:
        """Drop everything abruptly, as a closed tab does."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.pc is not None:
            await self.pc.close()
        for track in self._tracks:
            track.stop()
        self._tracks = []
        self.ws = self.pc = self._reader = None
        self.messages = asyncio.Queue()
