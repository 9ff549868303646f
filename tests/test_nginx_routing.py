"""docs/deploy/nginx.conf for real: two media nodes (processes sharing one data directory) behind
nginx on loopback. Each interview sticks to one node whatever form carries its token; a whole
candidate join (control socket + WebRTC offer) works through nginx; when the node dies, the
interview moves to the other node and resumes from the shared database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from server.security.ratelimit import BAD_TOKENS_PER_ADDRESS
from tests.support.candidate import ScriptedCandidate
from tests.support.media import face_y4m, write_wav_s16_mono
from tests.support.metrics import scrape
from tests.support.nginx import NGINX_BIN, MediaNode, NginxProcess, media_nodes, nginx_process
from tests.support.process import run_demo
from tests.support.server import LOOPBACK, free_port

pytestmark = [
    pytest.mark.skipif(
        not NGINX_BIN.exists(),
        reason=f"{NGINX_BIN} missing (Debian nginx-light; `make system-deps` installs it)",
    ),
    pytest.mark.timeout(120),
]

NODE_NAMES = ("a", "b")
MIN_INVITATIONS = 6
MAX_INVITATIONS = 24
"""Invitations are added until both nodes own one (odds of needing more than 6: 1 in 32)."""
REPEATS = 3
HTTP_TIMEOUT_S = 10.0
WAIT_S = 30.0
POLL_S = 0.05
RESUME_TOLERANCE_S = 3.0
CONSENT = {"decision": "accept", "recording": True, "analysis": True}
TONE_HZ = 440
AUDIO_RATE_HZ = 48000


@dataclass
class Cluster:
    nginx: NginxProcess
    nodes: list[MediaNode]
    demo: dict[str, Any]
    http: aiohttp.ClientSession

    def node(self, name: str) -> MediaNode:
        return next(n for n in self.nodes if n.name == name)


@pytest.fixture
def media(tmp_path: Path) -> tuple[Path, Path]:
    """A small looping face video and a 1 s tone: content does not matter here."""
    t = np.arange(AUDIO_RATE_HZ) / AUDIO_RATE_HZ
    tone = (0.2 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
    return (
        face_y4m(tmp_path / "face.y4m", seconds=1.0, width=160, height=120),
        write_wav_s16_mono(tone, tmp_path / "tone.wav", AUDIO_RATE_HZ),
    )


@pytest.fixture
def processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[NginxProcess, list[MediaNode], dict[str, Any]]]:
    # as deployed: the nodes believe nginx's X-Forwarded-For (the node processes inherit this)
    monkeypatch.setenv("INTERVIEW_TRUSTED_PROXIES", f"{LOOPBACK}/32")
    data_dir = tmp_path / "data"
    nginx_port = free_port()
    public_url = f"http://{LOOPBACK}:{nginx_port}"
    demo = run_demo(data_dir, nginx_port)  # creates the schema before two nodes open it
    with (
        media_nodes(
            data_dir, NODE_NAMES, public_url=public_url, allowed_origin=public_url
        ) as nodes,
        nginx_process(
            [n.base_url.removeprefix("http://") for n in nodes], tmp_path / "nginx", nginx_port
        ) as nginx,
    ):
        yield nginx, nodes, demo


@pytest.fixture
async def cluster(
    processes: tuple[NginxProcess, list[MediaNode], dict[str, Any]],
) -> AsyncIterator[Cluster]:
    nginx, nodes, demo = processes
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        yield Cluster(nginx, nodes, demo, http)


async def fetch(
    c: Cluster, method: str, path: str, *, token: str | None = None, **kwargs: Any
) -> tuple[int, str, Any]:
    """(status, X-Node, JSON body or None) of one request through nginx."""
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with c.http.request(method, c.nginx.base_url + path, headers=headers, **kwargs) as r:
        body = await r.json() if r.content_type == "application/json" else None
        return r.status, r.headers.get("X-Node", ""), body


async def live_sessions(c: Cluster) -> dict[str, int]:
    """``live_sessions`` of each node still running, asked directly (not through nginx)."""
    out = {}
    for node in c.nodes:
        if node.proc.poll() is None:
            async with c.http.get(node.base_url + "/healthz") as r:
                out[node.name] = (await r.json())["live_sessions"]
    return out


async def wait_live_sessions(c: Cluster, expected: dict[str, int]) -> None:
    """Until the nodes' ``live_sessions`` are ``expected`` (a closed socket is released async)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            if await live_sessions(c) == expected:
                return
            await asyncio.sleep(POLL_S)


async def node_of(c: Cluster, token: str) -> str:
    """The node every form of this token reaches (asserts they all agree); consents on the way.

    Error responses carry no ``X-Node`` and neither does a WebSocket handshake, so the socket's
    node is the one whose ``/healthz`` counts the session it opened.
    """
    seen: list[tuple[str, str]] = []
    for _ in range(REPEATS):
        status, node, state = await fetch(c, "GET", "/api/candidate/state", token=token)
        assert status == 200, state
        seen.append(("bearer", node))
    status, node, _ = await fetch(c, "GET", f"/i/{token}")
    assert status == 200, status
    seen.append(("page", node))
    if state["status"] == "opened":
        status, node, body = await fetch(
            c, "POST", "/api/candidate/consent", token=token, json=CONSENT
        )
        assert status == 200, body
        seen.append(("consent", node))
    # the control socket as a browser opens it: ?token= and Origin = the public origin
    ws_url = f"{c.nginx.base_url}/ws/candidate?token={token}".replace("http", "ws", 1)
    before = await live_sessions(c)
    async with c.http.ws_connect(ws_url, origin=c.nginx.base_url) as ws:
        first = await ws.receive_json(timeout=WAIT_S)
        assert first["type"] == "state", first
        during = await live_sessions(c)
    opened = [n for n in NODE_NAMES if during[n] == before[n] + 1]
    assert len(opened) == 1, (before, during)
    seen.append(("socket", opened[0]))
    await wait_live_sessions(c, before)
    nodes = {n for _, n in seen}
    assert len(nodes) == 1 and nodes <= set(NODE_NAMES), f"{token[:20]}…: {seen}"
    return nodes.pop()


async def admin_token(c: Cluster) -> str:
    status, _, body = await fetch(c, "POST", "/api/auth/login", json=c.demo["admin"])
    assert status == 200, body
    return str(body["token"])


async def invite(c: Cluster, admin: str) -> str:
    status, _, body = await fetch(
        c,
        "POST",
        f"/api/jobs/{c.demo['job_id']}/invitations",
        token=admin,
        json={"name": "Routing Test", "email": "routing@example.com", "language": "en"},
    )
    assert status == 201, body
    assert body["url"].startswith(c.nginx.base_url + "/i/"), body["url"]  # --public-url
    return str(body["url"]).rsplit("/i/", 1)[1]


async def test_each_interview_sticks_to_one_node_and_staff_requests_are_spread(
    cluster: Cluster,
) -> None:
    c = cluster
    tokens = [inv["url"].rsplit("/i/", 1)[1] for inv in c.demo["invitations"]]
    admin = await admin_token(c)
    owners: dict[str, str] = {}
    while len(owners) < MAX_INVITATIONS:
        if len(tokens) <= len(owners):
            tokens.append(await invite(c, admin))
        token = tokens[len(owners)]
        owners[token] = await node_of(c, token)
        if len(owners) >= MIN_INVITATIONS and set(owners.values()) == set(NODE_NAMES):
            break
    assert set(owners.values()) == set(NODE_NAMES), f"one node got all: {owners}"
    # a second pass: nothing moved
    for token, node in owners.items():
        assert await node_of(c, token) == node
    # staff requests carry no interview id: round-robin over the nodes
    staff_nodes = [(await fetch(c, "GET", "/api/me", token=admin))[1] for _ in range(4)]
    assert set(staff_nodes) == set(NODE_NAMES), staff_nodes
    # the staff live socket passes through as well (upgrade headers, Origin, staff ?token=)
    ws_url = f"{c.nginx.base_url}/ws?token={admin}".replace("http", "ws", 1)
    async with c.http.ws_connect(ws_url, origin=c.nginx.base_url) as ws:
        await ws.send_json({"type": "subscribe", "topic": f"job:{c.demo['job_id']}"})
        snapshot = await ws.receive_json(timeout=WAIT_S)
        assert snapshot["type"] == "snapshot", snapshot
    assert await live_sessions(c) == {"a": 0, "b": 0}


async def test_join_through_nginx_then_failover_resumes_on_the_other_node(
    cluster: Cluster, media: tuple[Path, Path]
) -> None:
    c = cluster
    token = c.demo["invitations"][0]["url"].rsplit("/i/", 1)[1]
    home = await node_of(c, token)  # consents too
    other = next(n for n in NODE_NAMES if n != home)

    # b. a whole join through nginx: socket and offer must meet on one node (else 409)
    cand = ScriptedCandidate(c.http, c.nginx.base_url, token, *media)
    try:
        await cand.connect()
        await cand.device_check()
        await cand.send({"type": "start_interview"})
        started = await cand.wait_phase(0, "prep", WAIT_S)
        assert started["status"] == "in_progress"
        assert await live_sessions(c) == {home: 1, other: 0}

        # c. the node dies with the candidate connected
        c.node(home).kill()
    finally:
        await cand.disconnect()

    status, node, body = await fetch(c, "GET", "/api/candidate/state", token=token)
    assert (status, node) == (200, other), (status, node, body, c.nginx.logs())
    assert body["status"] == "in_progress"
    # the page reconnects: nginx sends socket and offer to the surviving node, which resumes
    again = ScriptedCandidate(c.http, c.nginx.base_url, token, *media)
    try:
        await again.connect()
        assert again.last_state["status"] == "in_progress"
        assert again.last_state["current"]["index"] == 0
        resumed = await again.wait_phase(0, "prep", WAIT_S)  # the clock runs again
        # the time left was kept (the node saved it at most a second before it died)
        assert resumed["current"]["remaining_s"] == pytest.approx(
            started["current"]["remaining_s"], abs=RESUME_TOLERANCE_S
        )
        assert await live_sessions(c) == {other: 1}
        for _ in range(REPEATS):
            status, node, _ = await fetch(c, "GET", "/api/candidate/state", token=token)
            assert (status, node) == (200, other)
    finally:
        await again.disconnect()


async def test_metrics_are_not_served_on_the_public_origin(cluster: Cluster) -> None:
    c = cluster
    assert (await fetch(c, "GET", "/metrics"))[0] == 404
    assert (await fetch(c, "GET", "/readyz"))[0] == 200
    for node in c.nodes:  # the operator's Prometheus scrapes each node on its own address
        scraped = await scrape(c.http, node.base_url)
        assert scraped.value("interview_live_node", node=node.name) == 1


async def test_the_nodes_tell_clients_behind_nginx_apart(cluster: Cluster) -> None:
    """nginx appends the client's address to X-Forwarded-For; the nodes trust nginx
    (INTERVIEW_TRUSTED_PROXIES) and count invalid links per client, not for nginx as a whole.

    Every client here is on loopback, which is also nginx's address, so each names itself with
    an X-Forwarded-For that nginx extends (``<ours>, 127.0.0.1``): the node skips the trusted
    hop and takes ours."""
    c = cluster
    good = c.demo["invitations"][0]["url"].rsplit("/i/", 1)[1]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")  # same interview:
    # the same node, whose own counters (no Redis here) must see both clients

    async def state(token: str, client: str) -> tuple[int, str]:
        status, node, _ = await fetch(
            c, "GET", "/api/candidate/state", token=token, headers={"X-Forwarded-For": client}
        )
        return status, node

    answers = [await state(forged, "198.51.100.1") for _ in range(BAD_TOKENS_PER_ADDRESS)]
    assert {status for status, _ in answers} == {401}, answers
    assert (await state(good, "198.51.100.1"))[0] == 429
    status, node = await state(good, "198.51.100.2")
    assert status == 200, c.nginx.logs()  # one client's guessing does not block the others
    assert node in NODE_NAMES
