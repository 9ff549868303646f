"""The staff live socket ``/ws``: subscribe to topics, get a snapshot then deltas.

The handler owns the read loop; one writer task per connection drains the
subscription's bounded queue. A connection that falls behind is resynchronised with
fresh snapshots instead of slowing the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from server.api.guards import check_job_access, check_origin, staff_user
from server.api.http import ApiError, services
from server.core.services import Services
from server.domain.models import Role, StaffUser
from server.live.analysis import analysis_level, analysis_summary
from server.live.hub import Envelope, Subscription
from server.security.ratelimit import TokenBucket
from server.storage.store import NotFound

routes = web.RouteTableDef()

STAFF_MAX_MSG_BYTES = 16 * 1024
STAFF_HEARTBEAT_S = 20.0
MAX_TOPICS_PER_SOCKET = 500


async def _snapshot(svc: Services, user: StaffUser, topic: str) -> dict[str, Any]:
    kind, _, ident = topic.partition(":")
    seq = svc.hub.seq(topic)
    if kind == "job":
        job = await svc.store.get_job(ident)
        check_job_access(user, job)
        return {
            "type": "snapshot",
            "topic": topic,
            "seq": seq,
            "job_id": job.id,
            "counts": await svc.store.status_counts(job.id),
        }
    if kind == "interview":
        if user.role == Role.DEPARTMENT_VIEWER:  # live scores and flags are not theirs to see
            raise ApiError(403, "forbidden", "department viewers do not see live analysis")
        interview = await svc.store.get_interview(ident)
        check_job_access(user, await svc.store.get_job(interview.job_id))
        summary = await analysis_summary(svc, ident)
        finals = await svc.store.analysis_events(ident, ["transcript_final"])
        return {
            "type": "snapshot",
            "topic": topic,
            "seq": seq,
            "interview_id": ident,
            "status": interview.status.value,
            "transcript": finals,
            "scores": summary["scores"],
            "flags": summary["flags"],
            "degraded": await analysis_level(svc, ident),
        }
    if kind == "org" and ident == user.org_id and user.role in (Role.ADMIN, Role.HR):
        jobs = {}
        for job in await svc.store.list_jobs(ident):  # admin/hr: every job of the org
            jobs[job.id] = await svc.store.status_counts(job.id)
        return {"type": "snapshot", "topic": topic, "seq": seq, "jobs": jobs}
    raise ApiError(403, "forbidden", f"no access to topic {topic}")


@routes.get("/ws")
async def staff_socket(request: web.Request) -> web.WebSocketResponse:
    user = await staff_user(request, allow_query=True)
    svc = services(request)
    check_origin(request, "live socket")
    ws = web.WebSocketResponse(heartbeat=STAFF_HEARTBEAT_S, max_msg_size=STAFF_MAX_MSG_BYTES)
    await ws.prepare(request)
    sub = svc.hub.subscribe()
    writer = asyncio.create_task(_write(ws, sub, svc, user), name="staff-ws-writer")
    bucket = TokenBucket()
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            if not bucket.take():
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many messages")
                break
            reply = await _handle(svc, user, sub, msg.data)
            if reply is not None:
                sub.deliver(reply)
    finally:
        sub.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _handle(
    svc: Services, user: StaffUser, sub: Subscription, raw: str
) -> dict[str, Any] | None:
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return {"type": "error", "message": "messages must be JSON"}
    if not isinstance(message, dict):
        return {"type": "error", "message": "messages must be JSON objects"}
    kind = message.get("type")
    if kind == "ping":
        return {"type": "pong"}
    if kind not in ("subscribe", "resync"):
        return {"type": "error", "message": f"unknown message type {kind!r}"}
    topic = message.get("topic")
    if not isinstance(topic, str) or len(topic) > 100:
        return {"type": "error", "message": "topic must be a string like job:<id>"}
    if kind == "subscribe" and len(sub.topics) >= MAX_TOPICS_PER_SOCKET:
        return {"type": "error", "message": "too many topics on one socket"}
    sub.add(topic)  # hold live messages from now on, so none falls between them and the snapshot
    try:
        snapshot = await _snapshot(svc, user, topic)
    except (ApiError, NotFound):
        sub.remove(topic)
        return {"type": "error", "topic": topic, "message": f"no access to topic {topic}"}
    sub.activate(topic, snapshot)
    return None


async def _write(
    ws: web.WebSocketResponse, sub: Subscription, svc: Services, user: StaffUser
) -> None:
    while not ws.closed:
        message = await sub.get()
        if message is None:  # fell behind: fresh snapshots instead of the missed deltas
            svc.metrics.dashboard_resyncs.inc()
            sub.reset()
            for topic in sorted(sub.topics):
                sub.remove(topic)
                sub.add(topic)
                with contextlib.suppress(ApiError, NotFound):
                    sub.activate(topic, await _snapshot(svc, user, topic))
            continue
        if isinstance(message, Envelope):
            await ws.send_str(message.text)
            svc.metrics.dashboard_fanout.observe(time.perf_counter() - message.created)
        else:  # snapshots and replies to this socket: not fan-out
            await ws.send_str(json.dumps(message))
