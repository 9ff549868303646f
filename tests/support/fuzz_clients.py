"""Clients for the fuzzers: a candidate who joined an interview, WebSockets that record
everything the server says (and how it closed), and a real WebRTC offer to mutate.

All of it runs on the :class:`tests.support.fuzz_server.ServerThread` loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.fuzz_server import CLIENT_TIMEOUT, REQUEST_TIMEOUT_S, ServerThread
from tests.support.server import RunningServer
from tests.test_api import token_of

REPLY_TIMEOUT_S = 5.0
"""How long the server may take to answer one frame (or close) before it counts as a hang."""
MESSAGES_KEPT = 256


async def invite(srv: RunningServer, admin: str, job_id: str, name: str = "Ada") -> str:
    """A new interview of ``job_id``; returns the candidate's invitation token."""
    created = await srv.call(
        "POST",
        f"/api/jobs/{job_id}/invitations",
        token=admin,
        json={"name": name, "email": "ada@example.com"},
        expect=201,
    )
    return token_of(created["url"])


DEVICE_CHECK = {"camera": True, "microphone": True, "webrtc": True, "rtt_ms": 1, "upload_kbps": 1e4}


async def consent(srv: RunningServer, token: str, *, device_check: bool = False) -> None:
    """Open the link and accept both consents (the control socket needs ``consented``);
    with ``device_check`` also pass the device check (``start_interview`` needs it)."""
    headers = {"Authorization": f"Bearer {token}"}
    steps: list[tuple[str, str, Any]] = [
        ("GET", "/api/candidate/state", None),
        (
            "POST",
            "/api/candidate/consent",
            {"decision": "accept", "recording": True, "analysis": True},
        ),
    ]
    if device_check:
        steps.append(("POST", "/api/candidate/device-check", DEVICE_CHECK))
    for method, path, body in steps:
        async with srv.http.request(
            method, srv.base_url + path, headers=headers, json=body, timeout=CLIENT_TIMEOUT
        ) as resp:
            assert resp.status == 200, f"{method} {path}: {resp.status} {await resp.text()}"


@dataclass
class Setup:
    """An admin token and a job, created once per fuzz module."""

    admin: str
    job: dict[str, Any]


def setup(server: ServerThread) -> Setup:
    admin = server.add_staff("admin", Role.ADMIN)
    return Setup(admin, server.run(make_job(server.server, admin)))


class RawText(bytes):
    """A text frame with these exact payload bytes (possibly not UTF-8)."""


Frame = str | bytes
"""``str``: a text frame; ``bytes``: a binary frame; :class:`RawText`: raw text frame."""


@dataclass
class Exchange:
    """What the server did after some frames: messages it sent, and its close code if it
    closed the socket."""

    messages: list[Any] = field(default_factory=list)
    close_code: int | None = None

    @property
    def types(self) -> list[Any]:
        return [m.get("type") if isinstance(m, dict) else None for m in self.messages]


class Socket:
    """A WebSocket client that queues every server message (and notes the close code)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(MESSAGES_KEPT)
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.sent = 0
        """Frames sent so far."""
        self.completed = False
        """The server said ``completed`` (the interview is over; its link opens no socket)."""
        self._reader = asyncio.create_task(self._read(), name="fuzz-ws-reader")

    @classmethod
    async def open(cls, srv: RunningServer, path: str) -> Socket:
        url = (srv.base_url + path).replace("http", "ws", 1)
        ws = await srv.http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5.0))
        return cls(ws)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    data = {"type": "<not JSON>", "raw": msg.data[:200]}
                if isinstance(data, dict) and data.get("type") == "completed":
                    self.completed = True
            else:
                data = {"type": f"<{msg.type.name} frame>"}
            with contextlib.suppress(asyncio.QueueFull):
                self.inbox.put_nowait(data)
        self.close_code = self.ws.close_code
        self.closed.set()

    async def next(self, timeout_s: float = REPLY_TIMEOUT_S) -> Any:
        """The next message, or None once the socket is closed."""
        get = asyncio.ensure_future(self.inbox.get())
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            done, _ = await asyncio.wait(
                {get, closed}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed.cancel()
        if get in done:
            return get.result()
        get.cancel()
        if closed in done:
            return None
        raise TimeoutError(f"the server sent nothing within {timeout_s} s")

    async def wait_for(self, kind: str, timeout_s: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.next(timeout_s)
                assert message is not None, f"socket closed ({self.close_code}) before {kind!r}"
                if isinstance(message, dict) and message.get("type") == kind:
                    return message

    def drain(self) -> None:
        while not self.inbox.empty():
            self.inbox.get_nowait()

    async def exchange(self, frames: list[Frame], probe: str, pongs: int = 1) -> Exchange:
        """Send ``frames`` then the ``probe`` frame; collect what comes back until the
        ``pongs``-th ``pong`` (the reply to the probe when ``frames`` hold ``pongs - 1``
        pings) or the close. The server handles a socket's frames in order, so answers to
        ``frames`` arrive before the probe's pong."""
        self.drain()
        out = Exchange()
        try:
            for frame in [*frames, probe]:
                self.sent += 1
                if isinstance(frame, RawText):
                    await self.ws.send_frame(bytes(frame), aiohttp.WSMsgType.TEXT)
                elif isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
        except (ConnectionResetError, aiohttp.ClientConnectionError):
            pass  # the server closed it mid-way; the close code tells why
        while True:
            message = await self.next()
            if message is None:
                out.close_code = self.close_code
                return out
            out.messages.append(message)
            if isinstance(message, dict) and message.get("type") == "pong":
                pongs -= 1
                if pongs == 0:
                    return out

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), REQUEST_TIMEOUT_S)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def control_socket(srv: RunningServer, token: str) -> Socket:
    """The candidate's control socket, after its first ``state`` message (the session
    exists then, so offers are taken)."""
    sock = await Socket.open(srv, f"/ws/candidate?token={token}")
    await sock.wait_for("state")
    return sock


async def real_offer() -> str:
    """A browser-like offer: one video and one audio transceiver, loopback ICE candidates."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("video", direction="sendonly")
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()
