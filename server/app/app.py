"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from aiohttp import web

from analyzers.speech.asr import AsrConfig
from analyzers.speech.asr_models import ModelConfigError, resolve_model_map
from media.peer import configure_ice_hosts
from server.api import (
    openapi,
    routes_audit,
    routes_candidate,
    routes_privacy,
    routes_reminders,
    routes_resumes,
    routes_review,
    routes_staff,
    routes_training,
    routes_webhooks,
    ws_staff,
)
from server.api.http import (
    SERVICES,
    TRUSTED_PROXY_NETWORKS,
    Handler,
    client_address_middleware,
    error_middleware,
)
from server.app import metrics, probes
from server.app.probes import LOOP_LAG
from server.app.roles import build_roles, load_probe, start_roles
from server.core.config import ConfigError, Settings
from server.core.metrics import Metrics
from server.core.services import Services
from server.hiring.questionbank import load_builtin
from server.interview import recording_files
from server.interview.progress import publish_status
from server.interview.recordings import recording_storage
from server.live.bus_redis import RedisHub
from server.live.hub import Hub
from server.live.looplag import LoopLagMonitor
from server.live.nodes import OVERLOAD_WINDOW_S, Admission, NodeRegistry
from server.live.streams import BusCipher
from server.outbound import webhooks
from server.resumes.candidates import CandidateStore
from server.resumes.intake import ParsePool
from server.security.access import EXPIRABLE
from server.security.fields import FieldCipher, load_keyring
from server.security.ratelimit import DatabaseLimits, RedisLimits
from server.storage.db import open_database
from server.storage.store import Store

logger = logging.getLogger(__name__)

WEB_DIR = Path(str(resources.files("web")))
"""The static pages (the ``web`` package, so an installed server has them too)."""
SHUTDOWN_SESSION_TIMEOUT_S = 5.0
EXPIRY_SWEEP_EVERY_S = 60.0


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
    " media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The same headers on every answer: pages, API, errors, WebSocket handshakes."""
    headers = response.headers
    headers.setdefault("X-Node", request.app[SERVICES].settings.node)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")


def _page(name: str) -> Handler:
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            WEB_DIR / name / "index.html", headers={"Cache-Control": "no-store"}
        )

    return handler


async def _root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/admin")


async def _expire_invitations(svc: Services) -> None:
    """Mark unanswered invitations expired as their links run out, so HR counts stay true."""
    while True:
        try:
            for change in await svc.store.expire_due(time.time(), EXPIRABLE):
                await publish_status(svc, change)
        except Exception:
            logger.exception("expiry sweep failed; retrying")
        await asyncio.sleep(EXPIRY_SWEEP_EVERY_S)


def asr_config(settings: Settings) -> AsrConfig:
    """Recognition settings with the per-language model map resolved and checked.

    Raises :class:`ConfigError` when a model cannot work (missing directory, damaged bundle,
    an English-only model mapped to Chinese…): a process must not start and transcribe
    garbage. The first call joins the bundled multilingual model (≈ 0.5 s, once per
    ``models_dir``); later calls only check its size.
    """
    try:
        resolved = resolve_model_map(settings.asr_model_map(), settings.model_dir)
    except ModelConfigError as exc:
        raise ConfigError(f"asr_models: {exc}") from None
    for language, info in resolved.items():
        logger.info(
            "speech model for %s: %s", language, f"{info.name} ({info.path})" if info else "none"
        )
    return AsrConfig(
        models=tuple((lang, info.path if info else "") for lang, info in resolved.items()),
        compute_type=settings.asr_compute_type,
        device=settings.asr_device,
        beam_size=settings.asr_beam_size,
        cpu_threads=settings.asr_threads,
        language=settings.asr_language or None,
        speculative_finals=settings.asr_speculative_finals,
    )


def create_app(settings: Settings) -> web.Application:
    """Build the app for this process's roles; resources open and close with the app."""
    settings = settings.with_secret()
    roles = set(settings.roles)
    impairment = settings.receive_impairment()
    if impairment is not None:
        logger.warning("TEST ONLY: received media is impaired: %s", impairment.settings())
    instruments = Metrics()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            # outermost: counts the status the client gets, whatever the layers below did
            metrics.http_metrics_middleware(instruments),
            # everything after it (limits, audit, consent records) sees the client's address
            client_address_middleware(settings.trusted_proxies),
            error_middleware,
        ],
    )
    db = open_database(settings.db_url)
    app[TRUSTED_PROXY_NETWORKS] = tuple(ip_network(n) for n in settings.trusted_proxies)
    lag = app[LOOP_LAG] = LoopLagMonitor(instruments.event_loop_lag.observe)
    hub: Hub = RedisHub(settings.redis_url) if settings.redis_url else Hub()
    keyring = load_keyring(settings)
    bus = BusCipher(keyring)  # seals everything this process puts into Redis streams
    asr_models = settings.asr_model_map()  # once: it may inspect a model directory
    asr = None
    if "analyzer" in roles and settings.analysis_workers:
        asr = asr_config(settings)  # a model that cannot work stops the start here
    parts = build_roles(settings, roles, asr, bus, instruments)
    admission = Admission(settings, lambda: lag.recent_p95_ms(OVERLOAD_WINDOW_S))
    store = Store(db, FieldCipher(keyring))
    svc = app[SERVICES] = Services(
        settings=settings,
        db=db,
        store=store,
        hub=hub,
        # shared by every process: in Redis when there is one, else in the database
        limits=RedisLimits(settings.redis_url) if settings.redis_url else DatabaseLimits(store),
        keyring=keyring,
        candidates=CandidateStore(db, FieldCipher(keyring), settings.node),
        intake=ParsePool(),
        admission=admission,
        registry=NodeRegistry(settings, load_probe(roles, admission, parts), settings.redis_url),
        recordings=recording_storage(settings, keyring, store, instruments),
        bank=load_builtin(),
        analyzers=parts.analyzers,
        analyzer_node=parts.analyzer_node,
        results_writer=parts.results_writer,
        asr=asr,
        asr_models=asr_models,
        metrics=instruments,
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        configure_ice_hosts(settings.ice_hosts)
        if roles & {"media", "api"}:  # media nodes write recordings, API nodes play and delete
            await asyncio.to_thread(recording_files.prepare_root, settings.recordings_root)
        await svc.db.open()
        # media nodes keep what they record (uploads, the spool's sweep); API nodes only read
        await svc.recordings.start(svc.sessions.keys if "media" in roles else None)
        if isinstance(svc.hub, RedisHub):
            await svc.hub.start()
        closers = await start_roles(svc, roles, parts, bus)
        await svc.registry.start()
        tasks = []
        if "api" in roles:
            await svc.candidates.interrupt_unfinished()
            tasks = [
                asyncio.create_task(_expire_invitations(svc), name="expiry-sweeper"),
                asyncio.create_task(webhooks.dispatch_forever(svc), name="webhook-dispatcher"),
                asyncio.create_task(routes_privacy.retention_forever(svc), name="retention"),
            ]
        app[LOOP_LAG].start()
        yield
        await app[LOOP_LAG].aclose()
        await svc.registry.aclose()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sessions = list(svc.sessions.values())
        svc.sessions.clear()
        if sessions:
            await asyncio.wait_for(
                asyncio.gather(
                    *(s.kick("server_shutdown") for s in sessions), return_exceptions=True
                ),
                SHUTDOWN_SESSION_TIMEOUT_S,
            )
        for owned in list(svc.background):
            owned.cancel()
        if svc.background:
            await asyncio.gather(*svc.background, return_exceptions=True)
        for sink in list(svc.analysis_sinks.values()):
            await sink.aclose()
        for close in reversed(closers):
            await close()
        await svc.recordings.aclose()
        if isinstance(svc.hub, RedisHub):
            await svc.hub.aclose()
        await svc.limits.aclose()
        await svc.intake.aclose()
        await svc.db.close()

    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(lifecycle)
    if "api" in roles:
        for table in STAFF_ROUTES:
            app.add_routes(table)
        app.router.add_get("/", _root)
        app.router.add_get("/admin", _page("admin"))
        app.router.add_get("/examiner", _page("examiner"))
    if "media" in roles:
        for table in CANDIDATE_ROUTES:
            app.add_routes(table)
        app.router.add_get("/i/{token}", _page("candidate"))
    probes.install(app)
    metrics.install(app, svc, lag)
    app.router.add_static("/static/", WEB_DIR, follow_symlinks=False)
    if "api" in roles:
        app[openapi.OPENAPI_DOC_KEY] = openapi.build_document(app.router.routes())
    return app


STAFF_ROUTES = (
    openapi.routes,
    routes_staff.routes,
    routes_review.routes,
    routes_webhooks.routes,
    routes_reminders.routes,
    routes_audit.routes,
    routes_privacy.routes,
    routes_training.routes,
    routes_resumes.routes,
    ws_staff.routes,
)
"""Route tables of the API role (REST, staff socket)."""
CANDIDATE_ROUTES = (routes_candidate.routes,)
"""Route tables of the media role (the candidate's REST calls and control socket)."""


def api_document() -> dict[str, Any]:
    """The OpenAPI document of a server with every role (no server needed)."""
    router = web.Application().router
    for table in (*STAFF_ROUTES, *CANDIDATE_ROUTES):
        router.add_routes(table)
    return openapi.build_document(router.routes())
