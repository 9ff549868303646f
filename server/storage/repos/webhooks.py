"""Webhooks and their delivery log (tables ``webhooks``, ``webhook_deliveries``): a
delivery is written before it is sent, so a restart loses none; its payload is sealed and
cleared once delivered.

Several API processes may dispatch from one database: a dispatcher claims one due delivery
at a time (``FOR UPDATE … SKIP LOCKED`` on PostgreSQL; SQLite's single writer on SQLite) by
moving its next attempt a lease ahead, so no other process sends it meanwhile; its outcome
is recorded only if nobody else took the delivery over after the lease ran out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.security.auth import new_id
from server.storage.db import Connection, Row, dumps, loads
from server.storage.repos.base import Repository, epoch_s

DELIVERY_LOG_ROWS_MAX = 500
"""Most recent deliveries listed for one hook."""


def payload_aad(delivery_id: str) -> str:
    return f"webhook_deliveries/{delivery_id}/payload"


class WebhookRepository(Repository):
    """Registered hooks of an org and the deliveries queued for them."""

    async def create_hook(self, org_id: str, url: str, secret: str, events: Sequence[str]) -> str:
        hook_id = new_id("wh")
        await self.db.execute(
            "INSERT INTO webhooks(id, org_id, url, secret, events, created_at) VALUES(?,?,?,?,?,?)",
            hook_id,
            org_id,
            url,
            secret,
            dumps(list(events)),
            epoch_s(),
        )
        return hook_id

    async def list_hooks(self, org_id: str) -> list[dict[str, Any]]:
        """The org's hooks without their secrets (``events`` a list, ``active`` a bool)."""
        rows = await self.db.fetchall(
            "SELECT id, url, events, active, created_at FROM webhooks WHERE org_id=?"
            " ORDER BY created_at",
            org_id,
        )
        return [
            {**dict(r), "events": loads(r["events"]), "active": bool(r["active"])} for r in rows
        ]

    async def hook_org(self, hook_id: str) -> str | None:
        """The org a hook belongs to, or None if there is no such hook."""
        row = await self.db.fetchone("SELECT org_id FROM webhooks WHERE id=?", hook_id)
        return None if row is None else str(row["org_id"])

    async def hook_deliveries(self, hook_id: str) -> list[dict[str, Any]]:
        """The hook's latest deliveries, newest first (without payloads)."""
        rows = await self.db.fetchall(
            "SELECT id, event, status, attempts, next_attempt_at, last_status, last_error,"
            " created_at, delivered_at FROM webhook_deliveries WHERE webhook_id=?"
            " ORDER BY created_at DESC LIMIT ?",
            hook_id,
            DELIVERY_LOG_ROWS_MAX,
        )
        return [dict(r) for r in rows]

    async def deactivate_hook(self, org_id: str, hook_id: str) -> bool:
        changed = await self.db.execute(
            "UPDATE webhooks SET active=0 WHERE id=? AND org_id=?", hook_id, org_id
        )
        return changed > 0

    async def queue_deliveries(self, org_id: str, event: str, body: str) -> int:
        """One pending delivery of ``body`` per active hook of the org that wants ``event``,
        due now; returns how many."""
        fields = self.fields

        def work(conn: Connection) -> int:
            hooks = conn.execute(
                "SELECT id, events FROM webhooks WHERE org_id=? AND active=1", (org_id,)
            ).fetchall()
            n = 0
            now = epoch_s()
            for hook in hooks:
                if event not in loads(hook["events"]):
                    continue
                delivery_id = new_id("dlv")
                conn.execute(
                    "INSERT INTO webhook_deliveries(id, webhook_id, event, payload, status,"
                    " next_attempt_at, created_at) VALUES(?,?,?,?,?,?,?)",
                    (
                        delivery_id,
                        hook["id"],
                        event,
                        fields.seal(body, payload_aad(delivery_id)),
                        "pending",
                        now,
                        now,
                    ),
                )
                n += 1
            return n

        return await self.db.transaction(work)

    async def claim_due_delivery(self, now_s: float, lease_s: float) -> Row | None:
        """The pending delivery due longest ago (to an active hook), with the hook's URL and
        secret (the payload still sealed: see :func:`payload_aad`), or None when none is due.

        Claimed for ``lease_s``: its next attempt moves to ``now_s + lease_s``, so other
        dispatchers skip it until this one records the outcome, or, if this process dies
        first, until the lease runs out and another one sends it."""

        def work(conn: Connection) -> Row | None:
            row: Row | None = conn.execute(
                "SELECT d.id, d.event, d.payload, d.attempts, w.url, w.secret"
                " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
                " WHERE d.status='pending' AND d.next_attempt_at <= ? AND w.active=1"
                " ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
                (now_s,),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at=? WHERE id=?",
                    (now_s + lease_s, row["id"]),
                )
            return row

        return await self.db.transaction(work)

    async def delivery_succeeded(self, delivery_id: str, attempts: int, status: int) -> bool:
        """Delivered at attempt ``attempts``: the payload is not kept (personal data). False
        (nothing recorded) when another dispatcher took the delivery over meanwhile."""
        changed = await self.db.execute(
            "UPDATE webhook_deliveries SET status='delivered', attempts=?, last_status=?,"
            " last_error=NULL, delivered_at=?, payload='' WHERE id=? AND attempts=?",
            attempts,
            status,
            epoch_s(),
            delivery_id,
            attempts - 1,
        )
        return changed > 0

    async def delivery_failed(
        self,
        delivery_id: str,
        attempts: int,
        status: int | None,
        error: str,
        *,
        retry_at_s: float,
        final: bool,
    ) -> bool:
        """Attempt ``attempts`` failed: retried at ``retry_at_s`` unless ``final``. False
        (nothing recorded) when another dispatcher took the delivery over meanwhile."""
        changed = await self.db.execute(
            "UPDATE webhook_deliveries SET status=?, attempts=?, last_status=?, last_error=?,"
            " next_attempt_at=? WHERE id=? AND attempts=?",
            "failed" if final else "pending",
            attempts,
            status,
            error,
            retry_at_s,
            delivery_id,
            attempts - 1,
        )
        return changed > 0
