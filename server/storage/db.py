"""SQLite access off the event loop: one connection, one worker thread, WAL journal.

Every public coroutine of :class:`Database` runs its SQL on the database thread,
so statements are serialised and the event loop never waits on disk. Opening the database
brings its schema up to date (:mod:`server.storage.migrate`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from server.storage.migrate import migrate

T = TypeVar("T")

PRIVATE_FILE_MODE = 0o600


class Database:
    """A single SQLite connection used from one dedicated thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        await self.run(self._open_sync)

    def _open_sync(self) -> None:
        # owner-only: SQLite gives its -wal and -shm files the database file's permissions
        os.close(os.open(self._path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE))
        os.chmod(self._path, PRIVATE_FILE_MODE)
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self.run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection; only for functions running on the database thread."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` inside BEGIN IMMEDIATE … COMMIT on the database thread."""

        def work() -> T:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self.run(work)

    async def ping(self) -> None:
        """One trivial query on the database thread (readiness); raises when it is closed."""
        await self.run(lambda: self.conn.execute("SELECT 1").fetchone())

    async def fetchone(self, sql: str, *params: Any) -> sqlite3.Row | None:
        return await self.run(lambda: self.conn.execute(sql, params).fetchone())

    async def fetchall(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        return await self.run(lambda: self.conn.execute(sql, params).fetchall())

    async def execute(self, sql: str, *params: Any) -> int:
        """Execute one statement; returns the number of changed rows."""
        return await self.run(lambda: self.conn.execute(sql, params).rowcount)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None
