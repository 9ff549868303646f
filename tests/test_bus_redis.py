"""Live events cross nodes over a real Redis: a viewer on one node sees a candidate on another."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.redis_server import redis_server
from tests.support.server import running_server
from tests.test_api import token_of


async def test_viewer_on_another_node_sees_status_and_analysis(tmp_path: Path) -> None:
    with redis_server() as url:
        data = tmp_path / "data"  # both nodes share the database, as in a real deployment
        async with (
            running_server(data, analysis_workers=0, redis_url=url) as a,
            running_server(data, analysis_workers=0, redis_url=url) as b,
        ):
            admin = await a.add_staff("admin", Role.ADMIN)
            job = await make_job(a, admin)
            async with b.http.ws_connect(f"{b.base_url}/ws?token={admin}") as ws:
                await ws.send_json({"type": "subscribe", "topic": f"job:{job['id']}"})
                snapshot = await ws.receive_json(timeout=5)
                assert snapshot["type"] == "snapshot"
                # an invitation and a candidate opening the link, both handled by node A
                inv = await a.call(
                    "POST",
                    f"/api/jobs/{job['id']}/invitations",
                    token=admin,
                    json={"name": "Zoe", "email": "z@example.com"},
                    expect=201,
                )
                invited = await ws.receive_json(timeout=2)
                await a.call("GET", "/api/candidate/state", token=token_of(inv["url"]))
                opened = await ws.receive_json(timeout=2)
                assert (invited["status"], opened["status"]) == ("invited", "opened")
                assert opened["seq"] == invited["seq"] + 1 > snapshot["seq"]
                assert opened["counts"]["opened"] == 1
                # an analysis event published on A reaches B's interview subscriber
                topic = f"interview:{inv['interview_id']}"
                await ws.send_json({"type": "subscribe", "topic": topic})
                assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
                a.svc.hub.publish(topic, {"type": "transcript_final", "text": "hello from A"})
                a.svc.hub.publish(topic, {"type": "face_metrics", "faces": 1})
                final = await ws.receive_json(timeout=2)
                face = await ws.receive_json(timeout=2)
                assert final["text"] == "hello from A" and final["seq"] >= 1
                assert face["type"] == "face_metrics" and "seq" not in face


async def test_listener_reconnects_after_its_connection_drops(tmp_path: Path) -> None:
    with redis_server() as url:
        async with running_server(tmp_path / "data", analysis_workers=0, redis_url=url) as node:
            admin = await node.add_staff("admin", Role.ADMIN)
            job = await make_job(node, admin)
            hub = node.svc.hub
            async with node.http.ws_connect(f"{node.base_url}/ws?token={admin}") as ws:
                await ws.send_json({"type": "subscribe", "topic": f"job:{job['id']}"})
                await ws.receive_json(timeout=5)
                hub.publish(f"job:{job['id']}", {"type": "status", "status": "x1"})
                assert (await ws.receive_json(timeout=2))["status"] == "x1"
                await hub._redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
                await asyncio.sleep(1.0)  # the listener reconnects
                hub.publish(f"job:{job['id']}", {"type": "status", "status": "x2"})
                assert (await ws.receive_json(timeout=5))["status"] == "x2"
