"""Admission control across two nodes sharing a database and a real Redis: a full node
refuses a new live session with 503 and names a node with room; a candidate already live
there is never refused (reconnects keep their slot)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.candidate import ScriptedCandidate
from tests.support.media import face_y4m, speech_wav
from tests.support.redis_server import redis_server
from tests.support.server import RunningServer, running_server
from tests.test_api import invite, token_of

REGISTRY_WAIT_S = 5.0


async def _invite(srv: RunningServer, admin: str, job_id: str, name: str) -> str:
    return token_of((await invite(srv, admin, job_id, name))["url"])


async def _offer(srv: RunningServer, token: str) -> tuple[int, dict[str, Any]]:
    """Open the control socket and send an offer; returns the answer's status and body."""
    cand = ScriptedCandidate(srv.http, srv.base_url, token, Path("-"), Path("-"))
    await cand.consent()
    ws = await srv.http.ws_connect(
        f"{srv.base_url}/ws/candidate?token={token}".replace("http", "ws", 1)
    )
    try:
        assert (await ws.receive_json(timeout=5))["type"] == "state"
        async with srv.http.post(
            srv.base_url + "/api/candidate/offer",
            headers={"Authorization": f"Bearer {token}"},
            json={"type": "offer", "sdp": "v=0"},
        ) as resp:
            return resp.status, await resp.json()
    finally:
        await ws.close()


async def _until_peer_seen(srv: RunningServer, url: str) -> None:
    for _ in range(int(REGISTRY_WAIT_S / 0.1)):
        if any(n.url == url for n in srv.svc.registry.peers("media")):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never appeared in the registry")


async def test_full_node_refuses_and_names_a_node_with_room(tmp_path: Path) -> None:
    video = face_y4m(tmp_path / "face.y4m", seconds=2.0)
    audio = speech_wav("Hello, I am ready.", tmp_path / "hello.wav")
    data = tmp_path / "data"
    with redis_server() as url:
        one = {"analysis_workers": 0, "redis_url": url, "max_live_sessions": 1}
        async with (
            running_server(data, node_name="a", **one) as a,
            running_server(data, node_name="b", **one) as b,
        ):
            admin = await a.add_staff("admin", Role.ADMIN)
            job = await make_job(a, admin)
            tokens = [await _invite(a, admin, job["id"], n) for n in ("ann", "bob", "cai")]
            await _until_peer_seen(a, b.base_url)
            first = ScriptedCandidate(a.http, a.base_url, tokens[0], video, audio)
            await first.consent()
            await first.connect()  # takes a's only slot
            try:
                status, body = await _offer(a, tokens[1])
                assert status == 503, body
                assert body["error"] == "busy" and body["retry_after_s"] > 0
                assert body["alternate"] == b.base_url
                state = await a.call("GET", "/api/candidate/state", token=tokens[1])
                assert state["alternates"] == [b.base_url]
                # the same candidate reconnecting on a keeps its slot
                await first.disconnect()
                first = ScriptedCandidate(a.http, a.base_url, tokens[0], video, audio)
                await first.connect()
                # sent to b, the second candidate gets in there
                second = ScriptedCandidate(b.http, b.base_url, tokens[1], video, audio)
                await second.connect()
                try:
                    for _ in range(int(REGISTRY_WAIT_S / 0.1)):  # b reports itself full
                        if not a.svc.registry.peers("media")[0].room:
                            break
                        await asyncio.sleep(0.1)
                    # both full: refused without an alternate, and counted
                    status, body = await _offer(a, tokens[2])
                    assert (status, body["alternate"]) == (503, None), body
                    health = await a.call("GET", "/healthz")
                    assert health["admission"] == {"live": 1, "capacity": 1, "refused": 2}
                finally:
                    await second.disconnect()
            finally:
                await first.disconnect()


def test_a_lagging_event_loop_refuses_new_sessions_but_keeps_admitted_ones() -> None:
    from server.core.config import load_settings
    from server.live.nodes import Admission, NodeRegistry

    settings = load_settings(env={}, max_live_sessions=8)
    lag_ms = [5.0]
    admission = Admission(settings, lambda: lag_ms[0])
    registry = NodeRegistry(settings, admission.load)
    assert admission.admit("i1", registry) is None
    lag_ms[0] = 250.0
    refusal = admission.admit("i2", registry)
    assert refusal is not None and "overloaded" in refusal.message and refusal.alternate is None
    assert admission.admit("i1", registry) is None  # a reconnect keeps its slot
    lag_ms[0] = 20.0
    assert admission.admit("i2", registry) is None
    assert admission.load() == (2, 8) and admission.refused == 1


async def test_a_newer_session_on_another_node_supersedes_the_old_one(tmp_path: Path) -> None:
    video = face_y4m(tmp_path / "face.y4m", seconds=2.0)
    audio = speech_wav("Hello, I am ready.", tmp_path / "hello.wav")
    data = tmp_path / "data"
    async with (
        running_server(data, analysis_workers=0) as a,
        running_server(data, analysis_workers=0) as b,
    ):
        admin = await a.add_staff("admin", Role.ADMIN)
        job = await make_job(a, admin)
        token = await _invite(a, admin, job["id"], "dan")
        old = ScriptedCandidate(a.http, a.base_url, token, video, audio)
        await old.consent()
        await old.connect()
        await old.device_check()
        await old.send({"type": "start_interview"})
        await old.wait_phase(0, "prep")
        # the candidate's network moves it to node b while node a still runs its session
        new = ScriptedCandidate(b.http, b.base_url, token, video, audio)
        await new.connect()
        try:
            replaced = await old.wait_for(lambda m: m.get("type") == "replaced", timeout_s=5)
            assert replaced["type"] == "replaced"
            for _ in range(50):  # a's session is gone within its next save
                if not a.svc.sessions:
                    break
                await asyncio.sleep(0.1)
            assert not a.svc.sessions and len(b.svc.sessions) == 1
            await new.send({"type": "start_answer"})
            state = await new.wait_phase(0, "answer")
            assert state["current"]["index"] == 0
        finally:
            await new.disconnect()
            await old.disconnect()
