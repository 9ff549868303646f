"""Outgoing webhooks for HR systems: HMAC-SHA256 signed, retried with back-off, logged.

Events are written to a delivery table first (so a restart loses none), then a dispatcher
task sends due deliveries; with several API processes on one database each due delivery is
claimed by one of them (``server.storage.repos.webhooks``), so a receiver gets it once. Each request carries::

    X-InterviewLive-Event: interview.completed
    X-InterviewLive-Delivery: <delivery id>
    X-InterviewLive-Timestamp: <unix seconds>
    X-InterviewLive-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A receiver recomputes the HMAC over the raw body and rejects old timestamps.

Targets are checked twice against :class:`server.security.netguard.NetGuard`: a URL whose host is an
internal IP address is refused when the hook is registered, and every delivery connects through
:func:`server.security.netguard.guarded_session`, which resolves host names at that moment and connects
only to checked addresses. Redirects are not followed. A refused delivery is a failed attempt
like an unreachable receiver: logged with the reason and retried with back-off (the DNS answer
may change; an operator who allows the network restarts the server and pending deliveries go
out), then marked failed after :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import aiohttp
from yarl import URL

from server.core.metrics import Metrics
from server.core.services import Services
from server.security.auth import new_id
from server.security.netguard import (
    NetGuard,
    blocked_reason,
    guarded_session,
    is_numeric_host,
    parse_address,
)
from server.storage.db import Row, dumps
from server.storage.repos.webhooks import payload_aad
from server.storage.store import Store

logger = logging.getLogger(__name__)

EVENTS = (
    "interview.completed",
    "report.ready",
    "decision.made",
    "reminder.requested",
    "candidate.invited",
    "training.recommended",
)
MAX_URL_CHARS = 2000
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 3600.0
DISPATCH_EVERY_S = 1.0
DISPATCH_BATCH = 20
REQUEST_TIMEOUT_S = 10.0
CLAIM_LEASE_S = 6 * REQUEST_TIMEOUT_S
"""How long a claimed delivery is this dispatcher's: far longer than one attempt can take
(the request times out first); a dispatcher that dies meanwhile delays it by this much."""
MAX_RESPONSE_NOTE_CHARS = 300
MAX_RESPONSE_NOTE_BYTES = 4 * MAX_RESPONSE_NOTE_CHARS
"""Most of a failed response's body read for the delivery log (UTF-8: up to 4 bytes a char)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def url_problem(url: object, guard: NetGuard) -> str | None:
    """Why ``url`` cannot be a webhook target, or None. Host names are resolved (and checked)
    at each delivery, not here: their DNS answers may change."""
    return malformed_url(url) or refused_url(str(url), guard)


def malformed_url(url: object) -> str | None:
    """What is wrong with ``url`` as a webhook URL itself, or None."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return "an http(s) URL is required"
    try:
        parsed = URL(url)  # the parser aiohttp delivers with: the same host, the same port
        host = parsed.host
    except (ValueError, TypeError):
        return "an http(s) URL is required"
    if parsed.scheme not in ("http", "https") or not host:
        return "an http(s) URL is required"
    if parsed.user is not None or parsed.password is not None or "@" in parsed.raw_authority:
        return "the URL may not contain a user name or password; sign requests with the secret"
    if parse_address(host) is None and is_numeric_host(host):
        return f"write the IPv4 address {host!r} as four decimal numbers (e.g. 192.0.2.10)"
    return None


def refused_url(url: str, guard: NetGuard) -> str | None:
    """Why the egress guard refuses the well-formed ``url`` (its host is an internal address
    the operator has not allowed), or None."""
    host = URL(url).host
    address = parse_address(host) if host else None
    return None if address is None else guard.refusal(address)


def validate_hook(
    data: dict[str, Any], guard: NetGuard
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The hook, the problems of the request itself, and the egress guard's refusal of its
    URL (both lists empty when it may be registered)."""
    errors, refusals = [], []
    url = data.get("url")
    if (problem := malformed_url(url)) is not None:
        errors.append({"row": None, "field": "url", "message": problem})
    elif (reason := refused_url(str(url), guard)) is not None:
        refusals.append({"row": None, "field": "url", "message": reason})
    events = data.get("events", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        errors.append({"row": None, "field": "events", "message": f"a list from {list(EVENTS)}"})
    secret = data.get("secret") or secrets.token_urlsafe(32)
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
        errors.append({"row": None, "field": "secret", "message": "16..200 characters"})
    return {"url": url, "events": events, "secret": secret}, errors, refusals


async def create_hook(svc: Services, org_id: str, hook: dict[str, Any]) -> dict[str, Any]:
    hook_id = await svc.store.create_hook(org_id, hook["url"], hook["secret"], hook["events"])
    return {"id": hook_id, **hook}


async def list_hooks(svc: Services, org_id: str) -> list[dict[str, Any]]:
    return await svc.store.list_hooks(org_id)


async def deliveries(svc: Services, org_id: str, hook_id: str) -> list[dict[str, Any]] | None:
    if await svc.store.hook_org(hook_id) != org_id:
        return None
    return await svc.store.hook_deliveries(hook_id)


async def deactivate(svc: Services, org_id: str, hook_id: str) -> bool:
    return await svc.store.deactivate_hook(org_id, hook_id)


async def emit(svc: Services, org_id: str, event: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for every active hook of the org that wants it; returns how many."""
    payload = {"event": event, "id": new_id("evt"), "created_at": time.time(), "data": data}
    return await svc.store.queue_deliveries(org_id, event, dumps(payload))


async def dispatch_forever(svc: Services) -> None:
    """The dispatcher task: send due deliveries, reschedule failures with back-off."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with guarded_session(NetGuard.from_settings(svc.settings), timeout=timeout) as http:
        while True:
            try:
                await dispatch_due(svc.store, svc.metrics, http)
            except Exception:
                logger.exception("webhook dispatch failed; retrying")
            await asyncio.sleep(DISPATCH_EVERY_S)


async def dispatch_due(
    store: Store, metrics: Metrics, http: aiohttp.ClientSession, limit: int = DISPATCH_BATCH
) -> int:
    """Send up to ``limit`` due deliveries, one claimed at a time (other processes dispatching
    from the same database never get the same one), with ``http`` (a
    :func:`server.security.netguard.guarded_session`); returns how many were attempted."""
    sent = 0
    while sent < limit:
        row = await store.claim_due_delivery(time.time(), CLAIM_LEASE_S)
        if row is None:
            break
        await _attempt(store, metrics, http, row)
        sent += 1
    return sent


async def _attempt(store: Store, metrics: Metrics, http: aiohttp.ClientSession, row: Row) -> None:
    body = store.fields.open(row["payload"], payload_aad(row["id"])).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-InterviewLive-Event": row["event"],
        "X-InterviewLive-Delivery": row["id"],
        "X-InterviewLive-Timestamp": timestamp,
        "X-InterviewLive-Signature": sign(row["secret"], timestamp, body),
    }
    status: int | None = None
    error = ""
    try:
        # a redirect is not followed: it could lead anywhere, e.g. to an internal address
        async with http.post(row["url"], data=body, headers=headers, allow_redirects=False) as resp:
            status = resp.status
            if 300 <= status < 400:
                location = resp.headers.get("Location", "")
                error = f"redirect to {location!r} not followed; register the final URL"
            elif not 200 <= status < 300:
                note = await resp.content.read(MAX_RESPONSE_NOTE_BYTES)  # not all of it
                error = note.decode("utf-8", errors="replace")
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = blocked_reason(exc) or f"{type(exc).__name__}: {exc}"
    error = error[:MAX_RESPONSE_NOTE_CHARS]
    attempts = row["attempts"] + 1
    if status is not None and 200 <= status < 300:
        recorded = await store.delivery_succeeded(row["id"], attempts, status)
        metrics.webhook_attempts.labels("delivered").inc()
    else:
        metrics.webhook_attempts.labels("failed").inc()
        if attempts >= MAX_ATTEMPTS:
            metrics.webhook_gave_up.inc()
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S**attempts)
        recorded = await store.delivery_failed(
            row["id"],
            attempts,
            status,
            error,
            retry_at_s=time.time() + delay,
            final=attempts >= MAX_ATTEMPTS,
        )
    if not recorded:
        logger.warning(
            "webhook delivery %s: attempt %d outlived its %.0f s claim and another dispatcher "
            "took it over; its outcome is not recorded",
            row["id"],
            attempts,
            CLAIM_LEASE_S,
        )


def payload_of(raw: bytes) -> Any:
    return json.loads(raw)
