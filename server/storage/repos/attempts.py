"""Attempt counters in the database (table ``attempts``): a sliding window per counter key,
one row per counted attempt, shared by every process on the database. Used when no Redis is
configured (``server.security.ratelimit.DatabaseLimits``); the same rules as the Redis
script there: an attempt counts for ``window_s``, at most ``limit`` are kept per key, and
the wait is the time until the oldest kept one leaves the window.

Counting is serialised per key (``Connection.lock``: an advisory lock on PostgreSQL, the
write lock on SQLite), so racing attempts in several processes cannot all pass a check made
before any of them was counted. Times are this machine's clock (machines of a deployment
keep theirs in step, as invitation expiry already needs)."""

from __future__ import annotations

import time

from server.storage.db import Connection, Row
from server.storage.repos.base import Repository

IN_WINDOW = "SELECT COUNT(*), MIN(at) FROM attempts WHERE kind=? AND digest=? AND at > ?"
"""How many attempts of a key are within the window, and the oldest of them."""


def _wait_s(row: Row | None, limit: int, window_s: float, now: float) -> float:
    """The wait :data:`IN_WINDOW`'s row means: until the oldest attempt leaves the window."""
    assert row is not None  # an aggregate always has a row
    count, oldest = row
    if count < limit:
        return 0.0
    return max(0.0, float(oldest) + window_s - now)


class AttemptRepository(Repository):
    """Counted attempts per (kind, digest of the key)."""

    async def attempts_wait(self, kind: str, digest: str, limit: int, window_s: float) -> float:
        """Seconds until an attempt is allowed again (0.0: allowed now); counts nothing."""

        now = time.time()
        row = await self.db.fetchone(IN_WINDOW, kind, digest, now - window_s)
        return _wait_s(row, limit, window_s, now)

    async def attempts_add(self, kind: str, digest: str, limit: int, window_s: float) -> float:
        """Count an attempt; returns the wait that applies from now on."""
        return await self.db.transaction(
            lambda conn: self._count(conn, kind, digest, limit, window_s, check_first=False)
        )

    async def attempts_hit(self, kind: str, digest: str, limit: int, window_s: float) -> float:
        """Check and count in one step: the wait when blocked (not counted), else 0.0
        (counted)."""
        return await self.db.transaction(
            lambda conn: self._count(conn, kind, digest, limit, window_s, check_first=True)
        )

    @staticmethod
    def _count(
        conn: Connection,
        kind: str,
        digest: str,
        limit: int,
        window_s: float,
        *,
        check_first: bool,
    ) -> float:
        conn.lock(f"attempts/{kind}/{digest}")
        now = time.time()

        def wait_s() -> float:
            row = conn.execute(IN_WINDOW, (kind, digest, now - window_s)).fetchone()
            return _wait_s(row, limit, window_s, now)

        if check_first and (wait := wait_s()):
            return wait
        conn.execute(
            "INSERT INTO attempts(kind, digest, at, expires_at) VALUES(?,?,?,?)",
            (kind, digest, now, now + window_s),
        )
        # keep the newest ``limit`` attempts of the key, and none older than the window
        conn.execute(
            "DELETE FROM attempts WHERE kind=? AND digest=? AND (at <= ? OR at < (SELECT at"
            " FROM attempts WHERE kind=? AND digest=? ORDER BY at DESC LIMIT 1 OFFSET ?))",
            (kind, digest, now - window_s, kind, digest, limit - 1),
        )
        return 0.0 if check_first else wait_s()

    async def attempts_clear(self, kind: str, digest: str) -> None:
        await self.db.execute("DELETE FROM attempts WHERE kind=? AND digest=?", kind, digest)

    async def prune_attempts(self, now_s: float) -> int:
        """Remove the attempts whose window has passed (every key); returns how many."""
        return await self.db.execute("DELETE FROM attempts WHERE expires_at <= ?", now_s)
