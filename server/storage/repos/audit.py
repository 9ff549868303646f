"""The audit log (table ``events``): a hash chain, appended inside other repositories'
transactions too (:func:`append_event`), and verified page by page."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.storage.db import Connection, Row, dumps, loads
from server.storage.repos.base import Repository, epoch_s

AUDIT_GENESIS = "0" * 64
"""The ``prev_hash`` of the first chained audit event."""
AUDIT_VERIFY_PAGE_EVENTS = 5000
"""Audit events read per database call while verifying the chain."""


class AuditRepository(Repository):
    """Audit events: who did what, when, from where."""

    async def add_event(
        self,
        interview_id: str | None,
        org_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        ip: str | None = None,
    ) -> None:
        """Audit: who (``actor``), what (``kind``, ``data``), when, from where (``ip``)."""
        if ip is not None:
            data = {**data, "ip": ip}
        await self.db.transaction(
            lambda conn: append_event(conn, interview_id, org_id, kind, actor, data)
        )

    async def audit_events(
        self, org_id: str, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT id, interview_id, at, kind, actor, data, prev_hash, hash FROM events"
            " WHERE org_id=? AND id>? ORDER BY id LIMIT ?",
            org_id,
            after_id,
            limit,
        )
        return [{**dict(r), "data": loads(r["data"])} for r in rows]

    async def verify_audit_chain(self, page_events: int | None = None) -> dict[str, Any]:
        """Recompute the whole chain; the first event that does not match is reported.

        The log is read ``page_events`` events at a time (default
        :data:`AUDIT_VERIFY_PAGE_EVENTS`), each page in its own short call on the database
        thread so other database work runs in between; the hashing runs in a worker thread.
        """
        size = page_events or AUDIT_VERIFY_PAGE_EVENTS
        chain = AuditChainCheck()
        after_id = -1
        while True:
            rows = await self.db.fetchall(
                "SELECT id, interview_id, org_id, at, kind, actor, data, prev_hash, hash"
                " FROM events WHERE id>? ORDER BY id LIMIT ?",
                after_id,
                size,
            )
            if not rows:
                return chain.verdict()
            if (broken := await asyncio.to_thread(chain.feed, rows)) is not None:
                return broken
            after_id = rows[-1]["id"]

    async def events(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT at, kind, actor, data FROM events WHERE interview_id=? ORDER BY id",
            interview_id,
        )
        return [{**dict(r), "data": loads(r["data"])} for r in rows]


def _chain_break(event_id: int, reason: str, checked: int) -> dict[str, Any]:
    return {"ok": False, "first_bad_id": event_id, "reason": reason, "checked": checked}


@dataclass
class AuditChainCheck:
    """A chain verification fed one page of events at a time, in id order; the state carried
    from page to page is the previous event's hash and the counts."""

    prev: str | None = None
    """The hash of the last chained event seen; None before the first one."""
    checked: int = 0
    unchained: int = 0
    """Events written before the chain existed (only at the start of the log)."""

    def feed(self, rows: Sequence[Row]) -> dict[str, Any] | None:
        """Check the next page (CPU work: run it off the loop); the break, or None if intact."""
        for row in rows:
            if row["hash"] is None:  # written before the chain existed
                if self.prev is not None:
                    return _chain_break(row["id"], "event without hash", self.checked)
                self.unchained += 1
                continue
            expected_prev = self.prev if self.prev is not None else AUDIT_GENESIS
            if row["prev_hash"] != expected_prev:
                return _chain_break(row["id"], "an event before it was removed", self.checked)
            digest = audit_hash(
                row["prev_hash"],
                row["interview_id"],
                row["org_id"],
                row["at"],
                row["kind"],
                row["actor"],
                row["data"],
            )
            if digest != row["hash"]:
                return _chain_break(row["id"], "the event was changed", self.checked)
            self.prev, self.checked = row["hash"], self.checked + 1
        return None

    def verdict(self) -> dict[str, Any]:
        """The result once every page has been fed without a break."""
        return {"ok": True, "checked": self.checked, "unchained": self.unchained, "head": self.prev}


def audit_hash(
    prev: str, interview_id: str | None, org_id: str, at: float, kind: str, actor: str, data: str
) -> str:
    """SHA-256 over the previous hash and every field of an audit event."""
    canonical = json.dumps(
        [prev, interview_id, org_id, at, kind, actor, data],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


AUDIT_CHAIN_LOCK = "audit-chain"
"""The lock every append holds from reading the chain's head to its commit."""


def append_event(
    conn: Connection,
    interview_id: str | None,
    org_id: str,
    kind: str,
    actor: str,
    data: dict[str, Any],
) -> None:
    """Append to the audit log, chained to the previous event (call inside a transaction).

    The event is chained as the transaction's last step (``Connection.before_commit``): under
    the chain lock the head is read and the event inserted, then the transaction commits and
    the lock goes. Appends from concurrent transactions (several PostgreSQL connections or
    processes) so line up one after the other, each on the head the one before it committed:
    the chain does not fork, and ids grow in chain order. The lock is the last one a transaction
    takes, so one holding it never waits for another's rows (no deadlock).
    """
    at, body = epoch_s(), dumps(data)

    def chain() -> None:
        conn.lock(AUDIT_CHAIN_LOCK)
        last = conn.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        prev = last[0] if last is not None and last[0] else AUDIT_GENESIS
        conn.execute(
            "INSERT INTO events(interview_id, org_id, at, kind, actor, data, prev_hash, hash)"
            " VALUES(?,?,?,?,?,?,?,?)",
            (
                interview_id,
                org_id,
                at,
                kind,
                actor,
                body,
                prev,
                audit_hash(prev, interview_id, org_id, at, kind, actor, body),
            ),
        )

    conn.before_commit(chain)
