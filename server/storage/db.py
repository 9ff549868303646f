"""SQLite access off the event loop: one connection, one worker thread, WAL journal.

Every public coroutine of :class:`Database` runs its SQL on the database thread,
so statements are serialised and the event loop never waits on disk.
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

T = TypeVar("T")

SCHEMA_VERSION = 1
PRIVATE_FILE_MODE = 0o600

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL, role TEXT NOT NULL, department TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS staff_tokens (
  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
  id TEXT PRIMARY KEY, org_id TEXT REFERENCES orgs(id), data TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), title TEXT NOT NULL,
  department TEXT NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS interviews (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), org_id TEXT NOT NULL,
  candidate TEXT NOT NULL, language TEXT NOT NULL, status TEXT NOT NULL, plan TEXT NOT NULL,
  nonce TEXT NOT NULL, expires_at REAL NOT NULL, flow TEXT, consent TEXT, device_check TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS interviews_job ON interviews(job_id, status);
CREATE TABLE IF NOT EXISTS answers (
  id TEXT PRIMARY KEY, interview_id TEXT NOT NULL REFERENCES interviews(id), idx INTEGER NOT NULL,
  question_id TEXT NOT NULL, status TEXT NOT NULL, started_at REAL, ended_at REAL,
  answer_used_s REAL NOT NULL DEFAULT 0, end_reason TEXT, scratchpad TEXT NOT NULL DEFAULT '',
  text_answer TEXT NOT NULL DEFAULT '', UNIQUE(interview_id, idx));
CREATE TABLE IF NOT EXISTS recordings (
  id TEXT PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers(id), interview_id TEXT NOT NULL,
  seq INTEGER NOT NULL, path TEXT NOT NULL, container TEXT NOT NULL, duration_s REAL NOT NULL,
  video_frames INTEGER NOT NULL, audio_packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
  created_at REAL NOT NULL, media_start_s REAL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, interview_id TEXT, org_id TEXT, at REAL NOT NULL,
  kind TEXT NOT NULL, actor TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS events_interview ON events(interview_id, id);
CREATE TABLE IF NOT EXISTS analysis_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, interview_id TEXT NOT NULL, type TEXT NOT NULL,
  question_index INTEGER, t REAL NOT NULL, data TEXT NOT NULL, created_at REAL NOT NULL,
  event_id TEXT);
CREATE INDEX IF NOT EXISTS analysis_interview ON analysis_events(interview_id, type, id);
CREATE TABLE IF NOT EXISTS reviews (
  interview_id TEXT NOT NULL REFERENCES interviews(id), reviewer_id TEXT NOT NULL,
  reviewer TEXT NOT NULL, dimension TEXT NOT NULL, value REAL NOT NULL, comment TEXT NOT NULL,
  created_at REAL NOT NULL, PRIMARY KEY (interview_id, reviewer_id, dimension));
CREATE TABLE IF NOT EXISTS decisions (
  interview_id TEXT NOT NULL REFERENCES interviews(id), reviewer_id TEXT NOT NULL,
  reviewer TEXT NOT NULL, recommendation TEXT NOT NULL, comment TEXT NOT NULL,
  created_at REAL NOT NULL, PRIMARY KEY (interview_id, reviewer_id));
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
  events TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL REFERENCES webhooks(id), event TEXT NOT NULL,
  payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL NOT NULL, last_status INTEGER, last_error TEXT,
  created_at REAL NOT NULL, delivered_at REAL);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, interview_id TEXT NOT NULL, kind TEXT NOT NULL,
  recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
  error TEXT, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE TABLE IF NOT EXISTS candidates (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, job_id TEXT NOT NULL REFERENCES jobs(id),
  batch_id TEXT, filename TEXT NOT NULL, file_path TEXT, file_sha256 TEXT NOT NULL,
  file_bytes INTEGER NOT NULL, profile TEXT NOT NULL, resume_text TEXT NOT NULL,
  match TEXT NOT NULL, score REAL NOT NULL, eligible INTEGER NOT NULL, status TEXT NOT NULL,
  interview_id TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
  UNIQUE(job_id, file_sha256));
CREATE INDEX IF NOT EXISTS candidates_job ON candidates(job_id, score);
CREATE TABLE IF NOT EXISTS training_courses (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, course TEXT NOT NULL,
  competency TEXT NOT NULL, level TEXT NOT NULL, link TEXT NOT NULL, description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS training_org ON training_courses(org_id, competency);
CREATE TABLE IF NOT EXISTS resume_batches (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, job_id TEXT NOT NULL, actor TEXT NOT NULL,
  total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL, result TEXT, created_at REAL NOT NULL, finished_at REAL);
"""


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring databases made by older versions up to the current schema (idempotent)."""
    for table, column in (
        ("analysis_events", "event_id"),
        ("events", "prev_hash"),
        ("events", "hash"),
        ("interviews", "owner"),
        ("interviews", "erased_at"),
        ("orgs", "settings"),
        ("recordings", "deleted_at"),
        ("resume_batches", "node"),
        ("candidates", "claimed_by"),
    ):
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
            except sqlite3.OperationalError as exc:  # another process migrated it just now
                if "duplicate column" not in str(exc):
                    raise
    # events re-delivered from the Redis results stream carry the same id: stored once
    conn.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS analysis_event_id ON analysis_events(event_id)"
        " WHERE event_id IS NOT NULL"
    )


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
        conn.executescript(SCHEMA)
        _migrate(conn)
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
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
