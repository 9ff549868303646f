"""Fuzz the candidate control socket ``/ws/candidate`` and the staff socket ``/ws``.

Each example sends a few frames: random JSON, JSON objects of the right shape with wrong
field types, unknown message types, text that is not JSON, deeply nested JSON, binary frames,
text frames that are not UTF-8 and frames over the socket's size limit; then a ``ping``.
The server handles a socket's frames in order, so everything it says about the frames arrives
before the ``pong``. It must:

- answer ``{"type": "error", ...}`` to every frame it cannot use (never "internal error"),
  and send nothing but the message types of the protocol;
- or close the socket with a proper code: 1009 for an oversized frame, 1007 for a text frame
  that is not UTF-8 (never 1006/1011, which mean the handler died);
- keep serving: ``GET /healthz`` answers after every example and a closed socket can be
  reopened.

Binary frames get no answer (the handlers skip them); the probe shows the socket still works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from server.api.routes_candidate import CONTROL_MAX_MSG_BYTES
from server.api.ws_staff import STAFF_MAX_MSG_BYTES
from server.security.ratelimit import SOCKET_BURST
from tests.support import fuzz_clients
from tests.support.fuzz_clients import Exchange, Frame, RawText, Socket
from tests.support.fuzz_server import ServerThread, fuzz_settings

CANDIDATE_EXAMPLES = 300
STAFF_EXAMPLES = 300
PROBE = json.dumps({"type": "ping"})
FRAMES_PER_SOCKET = SOCKET_BURST - 5
"""Frames sent on one socket before the fuzzer opens a new one (the server allows a burst of
``SOCKET_BURST`` messages, then closes the socket as a flood)."""
CLOSE_CODES = {"oversize": 1009, "not_utf8": 1007}
"""Why the server may close the socket → the close code it must use."""

CANDIDATE_SAYS = {"state", "tick", "saved", "completed", "replaced", "error", "pong"}
CANDIDATE_SENDS = [
    "start_interview",
    "start_answer",
    "finish_answer",
    "scratchpad",
    "text_answer",
    "signal",
    "ping",
]
SIGNAL_KINDS = [
    "tab_hidden",
    "tab_visible",
    "blur",
    "focus",
    "fullscreen_exit",
    "fullscreen_enter",
    "paste",
]
STAFF_SAYS = {"snapshot", "error", "pong", "status", "resync"}
STAFF_SENDS = ["subscribe", "resync", "ping"]


# -- frames ----------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def frames(kinds: list[str], fields: dict[str, st.SearchStrategy[Any]], limit: int) -> Any:
    """Frames for a socket whose client messages are ``kinds`` with ``fields``."""
    message = st.fixed_dictionaries(
        {"type": st.sampled_from(kinds) | JSON},
        optional={name: strategy | JSON for name, strategy in fields.items()},
    ).map(json.dumps)
    one = st.one_of(
        message,
        message,
        JSON.map(json.dumps),
        st.text(max_size=50),
        st.builds(_nested, st.integers(10, limit // 3), st.sampled_from(["list", "object"])),
        st.binary(max_size=100),
        st.binary(min_size=1, max_size=50).map(lambda b: RawText(b"\xff" + b)),  # not UTF-8
        st.integers(1, 20_000).map(lambda extra: "x" * (limit + extra)),  # over the limit
    )
    return st.lists(one, min_size=1, max_size=4)


def _expectations(frame: Frame, limit: int) -> tuple[str, int]:
    """What ``frame`` calls for: "answer" (may be anything of the protocol), "error",
    "nothing" (binary), or a close reason; and how many pongs it asks for."""
    if isinstance(frame, RawText):
        try:
            text = bytes(frame).decode("utf-8")
        except UnicodeDecodeError:
            return "not_utf8", 0
        frame = text
    if isinstance(frame, bytes):
        return "nothing", 0
    if len(frame.encode()) > limit:
        return "oversize", 0
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return "error", 0
    if not isinstance(message, dict):
        return "error", 0
    if message.get("type") == "ping":
        return "answer", 1
    return "answer", 0


def check_exchange(kind: str, sent: list[Frame], got: Exchange, says: set[str], limit: int) -> None:
    """The oracle: answers, or a clean close, as the frames call for."""
    errors_due = 0
    for frame in sent:
        expect, _ = _expectations(frame, limit)
        if expect in CLOSE_CODES:
            assert got.close_code == CLOSE_CODES[expect], (
                f"{kind}: frame {_short(frame)} should close with {CLOSE_CODES[expect]}, "
                f"got {got.close_code} after {got.messages}"
            )
            return
        errors_due += expect == "error"
    assert got.close_code is None, f"{kind}: closed ({got.close_code}) after {got.messages}"
    unknown = [m for m in got.messages if not isinstance(m, dict) or m.get("type") not in says]
    assert not unknown, f"{kind}: messages outside the protocol: {unknown}"
    internal = [m for m in got.messages if m.get("message") == "internal error"]
    assert not internal, f"{kind}: the server hit an unexpected error on {_shorts(sent)}"
    errors = sum(1 for m in got.messages if m.get("type") == "error")
    assert errors >= errors_due, f"{kind}: {errors_due} bad frames, {errors} errors: {got}"


def _short(frame: Frame) -> str:
    text = repr(frame)
    return text if len(text) < 120 else f"{text[:100]}... ({len(frame)} long)"


def _shorts(frames: list[Frame]) -> list[str]:
    return [_short(f) for f in frames]


# -- sockets -----------------------------------------------------------------------------------


@dataclass
class Sockets:
    server: ServerThread
    admin: str
    job_id: str
    candidate_token: str
    candidate: Socket | None = None
    staff: Socket | None = None
    interviews: int = 1

    def new_interview(self) -> None:
        """A fresh interview for the candidate socket (the fuzzer may finish one)."""
        srv = self.server.server
        self.candidate_token = self.server.run(fuzz_clients.invite(srv, self.admin, self.job_id))
        self.server.run(fuzz_clients.consent(srv, self.candidate_token, device_check=True))
        self.interviews += 1

    def _fresh(self, sock: Socket | None, frames: int) -> bool:
        """Whether ``sock`` can take ``frames`` more within the server's per-socket message
        budget (a fresh socket gets a full one), so the rate limit never hides a fuzz result."""
        if sock is None or sock.closed.is_set() or sock.sent + frames > FRAMES_PER_SOCKET:
            if sock is not None:
                self.server.run(sock.aclose())
            return False
        return True

    def open_candidate(self, frames: int) -> Socket:
        if self.candidate is not None and self.candidate.completed:
            self.server.run(self.candidate.aclose())
            self.new_interview()
            self.candidate = None
        if not self._fresh(self.candidate, frames):
            self.candidate = self.server.run(
                fuzz_clients.control_socket(self.server.server, self.candidate_token)
            )
        assert self.candidate is not None
        return self.candidate

    def open_staff(self, frames: int) -> Socket:
        if not self._fresh(self.staff, frames):
            self.staff = self.server.run(Socket.open(self.server.server, f"/ws?token={self.admin}"))
        assert self.staff is not None
        return self.staff

    def send(self, socket: Socket, sent: list[Frame], limit: int) -> Exchange:
        pongs = 1 + sum(_expectations(f, limit)[1] for f in sent)
        got = self.server.run(socket.exchange(sent, PROBE, pongs=pongs))
        self.server.assert_healthy()
        return got


@pytest.fixture(scope="module")
def sockets(fuzz_server: ServerThread) -> Iterator[Sockets]:
    base = fuzz_clients.setup(fuzz_server)
    srv = fuzz_server.server
    token = fuzz_server.run(fuzz_clients.invite(srv, base.admin, base.job["id"]))
    fuzz_server.run(fuzz_clients.consent(srv, token, device_check=True))
    sockets = Sockets(fuzz_server, base.admin, base.job["id"], token)
    yield sockets
    for sock in (sockets.candidate, sockets.staff):
        if sock is not None:
            fuzz_server.run(sock.aclose())


CANDIDATE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "index": st.integers(-2, 10),
    "text": st.text(max_size=100),
    "kind": st.sampled_from(SIGNAL_KINDS),
    "detail": st.text(max_size=30),
}


@given(sent=frames(CANDIDATE_SENDS, CANDIDATE_FIELDS, CONTROL_MAX_MSG_BYTES))
@fuzz_settings(CANDIDATE_EXAMPLES)
def test_candidate_control_socket(sockets: Sockets, sent: list[Frame]) -> None:
    note(f"frames: {_shorts(sent)}")
    sock = sockets.open_candidate(len(sent) + 1)
    got = sockets.send(sock, sent, CONTROL_MAX_MSG_BYTES)
    check_exchange("candidate socket", sent, got, CANDIDATE_SAYS, CONTROL_MAX_MSG_BYTES)


@given(data=st.data())
@fuzz_settings(STAFF_EXAMPLES)
def test_staff_socket(sockets: Sockets, data: st.DataObject) -> None:
    topics = st.one_of(
        st.text(max_size=30),
        st.sampled_from(["job:", "org:", "interview:"]).flatmap(
            lambda kind: st.text(max_size=30).map(lambda ident: kind + ident)
        ),
        st.just(f"job:{sockets.job_id}"),
        st.just("x" * 101),
    )
    sent = data.draw(frames(STAFF_SENDS, {"topic": topics}, STAFF_MAX_MSG_BYTES), label="frames")
    note(f"frames: {_shorts(sent)}")
    sock = sockets.open_staff(len(sent) + 1)
    got = sockets.send(sock, sent, STAFF_MAX_MSG_BYTES)
    check_exchange("staff socket", sent, got, STAFF_SAYS, STAFF_MAX_MSG_BYTES)
