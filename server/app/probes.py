"""Probes for orchestrators and load balancers: ``/healthz`` (alive) and ``/readyz`` (ready).

``/healthz`` answers 200 while the process serves (with its load, as the load test reads it).
``/readyz`` answers 200 only when this process can do its work: the database answers, Redis
answers (when configured), a process with the media or API role can keep recordings (the
recordings folder, perhaps a shared mount, takes a probe file; an object store's bucket
answers), and a process with the analyzer role has its worker processes up with their models
loaded (a media process analysing remotely: its bus connection is up).
Otherwise 503 with the checks that failed, so an orchestrator holds traffic back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from server.api.http import SERVICES
from server.core.services import Services
from server.live.looplag import LoopLagMonitor

LOOP_LAG = web.AppKey("loop_lag", LoopLagMonitor)
READY_CHECK_TIMEOUT_S = 2.0
"""A dependency that takes longer than this to answer is not ready."""
OK = "ok"


async def health(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    analyzers = [] if svc.analyzers is None else [asdict(s) for s in svc.analyzers.stats()]
    return web.json_response(
        {
            "ok": True,
            "node": svc.settings.node,
            "roles": list(svc.settings.roles),
            "live_sessions": len(svc.sessions),
            "admission": {
                "live": len(svc.admission.admitted),
                "capacity": svc.settings.max_live_sessions,
                "refused": svc.admission.refused,
            },
            "loop_lag": request.app[LOOP_LAG].snapshot(),
            "analyzers": analyzers,
        }
    )


async def ready(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    checks = await readiness(svc)
    failed = [name for name, result in checks.items() if result != OK]
    body: dict[str, Any] = {"ready": not failed, "node": svc.settings.node, "checks": checks}
    if failed:
        body["failed"] = failed
    return web.json_response(body, status=503 if failed else 200)


async def readiness(svc: Services) -> dict[str, str]:
    """Each check this process needs: ``ok`` or what is wrong (no addresses, no secrets)."""
    checks = {"database": await _answers(svc.db.ping())}
    if svc.settings.redis_url:
        checks["redis"] = await _answers(svc.registry.ping())
    if {"media", "api"} & set(svc.settings.roles):
        checks["recordings"] = await _answers(svc.recordings.ready())
    if svc.analyzers is not None:
        local = "analyzer" in svc.settings.roles
        if svc.analyzers.ready():
            result = OK
        else:
            result = "workers not running" if local else "analysis bus disconnected"
        checks["models" if local else "analysis"] = result
    return checks


async def _answers(call: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(call, READY_CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {READY_CHECK_TIMEOUT_S:g} s"
    except Exception as exc:  # closed, refused, reset…: not ready, whatever the cause
        return f"unreachable ({type(exc).__name__})"
    return OK


def install(app: web.Application) -> None:
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
