"""The database off the event loop, behind one contract with two backends.

* :class:`SQLiteDatabase` (the embedded default): one connection on one worker thread, WAL
  journal; every statement is serialised and a transaction is ``BEGIN IMMEDIATE`` … ``COMMIT``
  (one writer at a time).
* :class:`PostgresDatabase` (several processes or machines sharing one store): a small pool of
  connections, each call on one of as many worker threads; transactions run concurrently
  (READ COMMITTED), so the repositories say which rows they lock.

The repositories write one SQL dialect that both backends run: ``?`` placeholders,
``INSERT … ON CONFLICT … DO NOTHING/DO UPDATE``, ``IS NOT DISTINCT FROM``, and
``SELECT … FOR UPDATE`` for a row a transaction reads and then changes, ``FOR UPDATE OF t
SKIP LOCKED`` for a queue several processes take rows from (SQLite drops either clause: its
write lock, taken at BEGIN, already covers every row). A transaction callback gets a
:class:`Connection`; ``Connection.lock`` serialises transactions on a name (a PostgreSQL
advisory lock; nothing to do on SQLite) and ``Connection.before_commit`` runs work as the
transaction's last step (how the audit chain is appended, see ``repos.audit``).

Every public coroutine runs its SQL on a database thread, so the event loop never waits on
the database. Opening a database brings its schema up to date (:mod:`server.storage.migrate`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from server.storage.errors import Busy
from server.storage.migrate import migrate, migrate_postgres

T = TypeVar("T")

logger = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite statement waits for another process's lock (several processes share one
data directory; at start they all switch it to WAL and migrate it at once)."""
SQLITE_WAL_RETRY_S = 0.05
POSTGRES_POOL_CONNECTIONS = 4
"""Connections (and database threads) per process on PostgreSQL."""
POSTGRES_CONNECT_TIMEOUT_S = 10.0
TRANSACTION_ATTEMPTS = 3
"""A PostgreSQL transaction that lost a deadlock or a serialisation conflict is run again
(its callback only reads and writes through the connection, so running it again is safe)."""
NO_LIMIT = 2**63 - 1
"""A ``LIMIT`` both dialects read as "every row" (SQLite's -1 is an error on PostgreSQL)."""
SQLITE_URL_PREFIX = "sqlite:///"
POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")


class Row(Protocol):
    """A result row: by column name or position, ``keys()`` in column order, iterable over
    the values (``sqlite3.Row`` is one; so is :class:`PgRow`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Cursor(Protocol):
    """What :meth:`Connection.execute` returns."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(ABC):
    """The connection a transaction callback (or a one-statement call) runs its SQL on."""

    def __init__(self) -> None:
        self._before_commit: list[Callable[[], None]] = []

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement (``?`` placeholders); fetch rows (each a :class:`Row`) from the
        cursor."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def lock(self, name: str) -> None:
        """Hold a lock on ``name`` until the transaction ends: transactions taking it run one
        after the other."""

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` inside the transaction, after its callback returned, just before COMMIT
        (in the order registered)."""
        self._before_commit.append(fn)

    def _run_before_commit(self) -> None:
        while self._before_commit:
            self._before_commit.pop(0)()


class Database(ABC):
    """The store's database: open it, then run SQL and transactions off the event loop."""

    backend: str
    """``sqlite`` or ``postgresql``."""
    thread_name_prefix: str
    """The name prefix of the database threads (what runs there is off the event loop)."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=self.thread_name_prefix
        )

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    @abstractmethod
    async def close(self) -> None: ...

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    @abstractmethod
    def _transaction_sync(self, fn: Callable[[Connection], T]) -> T: ...

    @abstractmethod
    def _statement_sync(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on a connection outside a transaction (each statement commits by itself)."""

    async def transaction(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in one transaction on a database thread; an exception rolls it back."""
        return await self.run(self._transaction_sync, fn)

    async def fetchone(self, sql: str, *params: Any) -> Row | None:
        row: Row | None = await self.run(
            self._statement_sync, lambda conn: conn.execute(sql, params).fetchone()
        )
        return row

    async def fetchall(self, sql: str, *params: Any) -> list[Row]:
        rows: list[Row] = await self.run(
            self._statement_sync, lambda conn: conn.execute(sql, params).fetchall()
        )
        return rows

    async def execute(self, sql: str, *params: Any) -> int:
        """Execute one statement; returns the number of changed rows."""
        return await self.run(self._statement_sync, lambda conn: conn.execute(sql, params).rowcount)

    async def ping(self) -> None:
        """One trivial query on a database thread (readiness); raises when it is unreachable."""
        await self.fetchone("SELECT 1")


def open_database(url: str) -> Database:
    """The database a URL names: ``sqlite:///path`` or ``postgresql://…`` (not opened yet)."""
    if url.startswith(SQLITE_URL_PREFIX):
        return SQLiteDatabase(Path(url.removeprefix(SQLITE_URL_PREFIX)))
    if url.startswith(POSTGRES_URL_PREFIXES):
        return PostgresDatabase(url)
    raise ValueError("a database URL starts with sqlite:/// or postgresql://")


# -- SQLite ------------------------------------------------------------------------------------

_FOR_UPDATE = re.compile(r"\s+FOR UPDATE(\s+OF\s+\w+)?(\s+SKIP LOCKED)?$")


@lru_cache(maxsize=1024)
def sqlite_sql(sql: str) -> str:
    """The statement as SQLite runs it: a trailing ``FOR UPDATE [OF t] [SKIP LOCKED]`` is
    dropped."""
    return _FOR_UPDATE.sub("", sql)


class SQLiteConnection(Connection):
    def __init__(self, raw: sqlite3.Connection) -> None:
        super().__init__()
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sqlite_sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.executemany(sqlite_sql(sql), rows)

    def lock(self, name: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE took the database's one write lock."""


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, retried while other processes hold the new file's lock:
    changing the journal mode may answer "database is locked" at once instead of waiting for
    the busy timeout (seen with 20 processes opening one fresh database together)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(SQLITE_WAL_RETRY_S)


class SQLiteDatabase(Database):
    """A single SQLite connection used from one dedicated thread."""

    backend = "sqlite"
    thread_name_prefix = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__(threads=1)
        self._path = path
        self._conn: SQLiteConnection | None = None

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        await self.run(self._open_sync)

    def _open_sync(self) -> None:
        # owner-only: SQLite gives its -wal and -shm files the database file's permissions
        os.close(os.open(self._path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE))
        os.chmod(self._path, PRIVATE_FILE_MODE)
        conn = sqlite3.connect(
            self._path,
            check_same_thread=False,
            isolation_level=None,
            timeout=SQLITE_BUSY_TIMEOUT_S,
        )
        conn.row_factory = sqlite3.Row
        _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = SQLiteConnection(conn)

    async def close(self) -> None:
        if self._conn is not None:
            await self.run(self._conn.raw.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    @property
    def conn(self) -> sqlite3.Connection:
        """The raw connection; only for functions running on the database thread."""
        return self._connection().raw

    def _connection(self) -> SQLiteConnection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    def _statement_sync(self, fn: Callable[[Connection], T]) -> T:
        try:
            return fn(self._connection())
        except sqlite3.OperationalError as exc:
            if _sqlite_busy(exc):
                raise Busy(str(exc)) from exc
            raise

    def _transaction_sync(self, fn: Callable[[Connection], T]) -> T:
        conn = self._connection()
        try:
            conn.raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _sqlite_busy(exc):
                raise Busy(str(exc)) from exc
            raise
        try:
            result = fn(conn)
            conn._run_before_commit()
        except BaseException:
            conn._before_commit.clear()
            conn.raw.execute("ROLLBACK")
            raise
        conn.raw.execute("COMMIT")
        return result


def _sqlite_busy(exc: sqlite3.OperationalError) -> bool:
    """``database is locked`` (another process writes) is transient; anything else is not."""
    return "locked" in str(exc) or "busy" in str(exc)


# -- PostgreSQL --------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """The statement as psycopg takes it: ``?`` → ``%s`` and ``%`` → ``%%`` outside quotes."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        if ch == "%":
            out.append("%%")
            continue
        out.append(ch)
    return "".join(out)


def lock_key(name: str) -> int:
    """The advisory-lock number for a name (stable across processes and versions)."""
    return zlib.crc32(f"interview-live/{name}".encode())


class PgRow:
    """A PostgreSQL result row shaped like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str, /) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"


def pg_row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    """A psycopg row factory making :class:`PgRow` (column names shared by a result's rows)."""
    index = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: PgRow(index, values)


class PostgresConnection(Connection):
    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        super().__init__()
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(postgres_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(postgres_sql(sql), [tuple(r) for r in rows])

    def lock(self, name: str) -> None:
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),))


class PostgresDatabase(Database):
    """A pool of :data:`POSTGRES_POOL_CONNECTIONS` connections, one call per database thread."""

    backend = "postgresql"
    thread_name_prefix = "postgres"

    def __init__(self, url: str, connections: int = POSTGRES_POOL_CONNECTIONS) -> None:
        super().__init__(threads=connections)
        self._url = url
        self._connections = connections
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None

    async def open(self) -> None:
        await self.run(self._open_sync)

    def _open_sync(self) -> None:
        with psycopg.connect(
            self._url, autocommit=True, connect_timeout=int(POSTGRES_CONNECT_TIMEOUT_S)
        ) as conn:
            migrate_postgres(conn)
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._url,
            min_size=self._connections,
            max_size=self._connections,
            kwargs={"autocommit": True, "row_factory": pg_row_factory},
            open=False,
            name="interview-live",
        )
        pool.open(wait=True, timeout=POSTGRES_CONNECT_TIMEOUT_S)
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self.run(self._pool.close)
            self._pool = None
        self._executor.shutdown(wait=True)

    def _checkout(self) -> ConnectionPool[psycopg.Connection[Any]]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    def _statement_sync(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self._checkout().connection() as raw:
                return fn(PostgresConnection(raw))
        except psycopg.OperationalError as exc:
            raise Busy(str(exc)) from exc

    def _transaction_sync(self, fn: Callable[[Connection], T]) -> T:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                with self._checkout().connection() as raw, raw.transaction():
                    conn = PostgresConnection(raw)
                    result = fn(conn)
                    conn._run_before_commit()
                return result
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as exc:
                if attempt == TRANSACTION_ATTEMPTS:
                    raise Busy(str(exc)) from exc
                logger.info("transaction ran into %s; running it again", type(exc).__name__)
            except psycopg.OperationalError as exc:
                raise Busy(str(exc)) from exc
        raise AssertionError("unreachable")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None
