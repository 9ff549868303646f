"""Outgoing webhooks for HR systems: HMAC-SHA256 signed, retried with back-off, logged.

Events are written to a delivery table first (so a restart loses none), then a dispatcher
task sends due deliveries. Each request carries::

    X-InterviewLive-Event: interview.completed
    X-InterviewLive-Delivery: <delivery id>
    X-InterviewLive-Timestamp: <unix seconds>
    X-InterviewLive-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A receiver recomputes the HMAC over the raw body and rejects old timestamps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import time
from typing import Any
from urllib.parse import urlparse

import aiohttp

from server.auth import new_id
from server.db import dumps, loads
from server.http import Services

logger = logging.getLogger(__name__)

EVENTS = ("interview.completed", "report.ready", "decision.made", "reminder.requested")
MAX_URL_CHARS = 2000
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 3600.0
DISPATCH_EVERY_S = 1.0
DISPATCH_BATCH = 20
REQUEST_TIMEOUT_S = 10.0
MAX_RESPONSE_NOTE_CHARS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def validate_hook(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    errors = []
    url = data.get("url")
    parsed = urlparse(url) if isinstance(url, str) and len(url) <= MAX_URL_CHARS else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors.append({"row": None, "field": "url", "message": "an http(s) URL is required"})
    events = data.get("events", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        errors.append({"row": None, "field": "events", "message": f"a list from {list(EVENTS)}"})
    secret = data.get("secret") or secrets.token_urlsafe(32)
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
        errors.append({"row": None, "field": "secret", "message": "16..200 characters"})
    return {"url": url, "events": events, "secret": secret}, errors


async def create_hook(svc: Services, org_id: str, hook: dict[str, Any]) -> dict[str, Any]:
    hook_id = new_id("wh")
    await svc.db.execute(
        "INSERT INTO webhooks(id, org_id, url, secret, events, created_at) VALUES(?,?,?,?,?,?)",
        hook_id,
        org_id,
        hook["url"],
        hook["secret"],
        dumps(hook["events"]),
        time.time(),
    )
    return {"id": hook_id, **hook}


async def list_hooks(svc: Services, org_id: str) -> list[dict[str, Any]]:
    rows = await svc.db.fetchall(
        "SELECT id, url, events, active, created_at FROM webhooks WHERE org_id=? ORDER BY created_at",
        org_id,
    )
    return [{**dict(r), "events": loads(r["events"]), "active": bool(r["active"])} for r in rows]


async def deliveries(svc: Services, org_id: str, hook_id: str) -> list[dict[str, Any]] | None:
    owner = await svc.db.fetchone("SELECT org_id FROM webhooks WHERE id=?", hook_id)
    if owner is None or owner["org_id"] != org_id:
        return None
    rows = await svc.db.fetchall(
        "SELECT id, event, status, attempts, next_attempt_at, last_status, last_error, created_at,"
        " delivered_at FROM webhook_deliveries WHERE webhook_id=? ORDER BY created_at DESC LIMIT 500",
        hook_id,
    )
    return [dict(r) for r in rows]


async def deactivate(svc: Services, org_id: str, hook_id: str) -> bool:
    changed = await svc.db.execute(
        "UPDATE webhooks SET active=0 WHERE id=? AND org_id=?", hook_id, org_id
    )
    return changed > 0


async def emit(svc: Services, org_id: str, event: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for every active hook of the org that wants it; returns how many."""
    payload = {"event": event, "id": new_id("evt"), "created_at": time.time(), "data": data}

    def work(conn: sqlite3.Connection) -> int:
        hooks = conn.execute(
            "SELECT id, events FROM webhooks WHERE org_id=? AND active=1", (org_id,)
        ).fetchall()
        n = 0
        now = time.time()
        for hook in hooks:
            if event not in loads(hook["events"]):
                continue
            conn.execute(
                "INSERT INTO webhook_deliveries(id, webhook_id, event, payload, status,"
                " next_attempt_at, created_at) VALUES(?,?,?,?,?,?,?)",
                (new_id("dlv"), hook["id"], event, dumps(payload), "pending", now, now),
            )
            n += 1
        return n

    return await svc.db.transaction(work)


async def dispatch_forever(svc: Services) -> None:
    """The dispatcher task: send due deliveries, reschedule failures with back-off."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            try:
                await dispatch_due(svc, http)
            except Exception:
                logger.exception("webhook dispatch failed; retrying")
            await asyncio.sleep(DISPATCH_EVERY_S)


async def dispatch_due(svc: Services, http: aiohttp.ClientSession) -> int:
    rows = await svc.db.fetchall(
        "SELECT d.id, d.event, d.payload, d.attempts, w.url, w.secret FROM webhook_deliveries d"
        " JOIN webhooks w ON w.id = d.webhook_id"
        " WHERE d.status='pending' AND d.next_attempt_at <= ? AND w.active=1"
        " ORDER BY d.next_attempt_at LIMIT ?",
        time.time(),
        DISPATCH_BATCH,
    )
    for row in rows:
        body = row["payload"].encode()
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
            async with http.post(row["url"], data=body, headers=headers) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    error = (await resp.text())[:MAX_RESPONSE_NOTE_CHARS]
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_RESPONSE_NOTE_CHARS]
        attempts = row["attempts"] + 1
        if status is not None and 200 <= status < 300:
            await svc.db.execute(
                "UPDATE webhook_deliveries SET status='delivered', attempts=?, last_status=?,"
                " last_error=NULL, delivered_at=? WHERE id=?",
                attempts,
                status,
                time.time(),
                row["id"],
            )
        else:
            final = attempts >= MAX_ATTEMPTS
            delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S**attempts)
            await svc.db.execute(
                "UPDATE webhook_deliveries SET status=?, attempts=?, last_status=?, last_error=?,"
                " next_attempt_at=? WHERE id=?",
                "failed" if final else "pending",
                attempts,
                status,
                error,
                time.time() + delay,
                row["id"],
            )
    return len(rows)


def payload_of(raw: bytes) -> Any:
    return json.loads(raw)
