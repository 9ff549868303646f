"""Numbered schema migrations: ``PRAGMA user_version`` on SQLite, table ``schema_version`` on
PostgreSQL.

The SQLite migrations are the ``NNNN_name.sql`` files of :mod:`server.storage.migrations`; the
PostgreSQL ones, those of :mod:`server.storage.migrations.postgresql`, in step with them: the
same numbers and names, and the same tables, columns and indexes once both are at the latest
version (``tests/test_schemas.py``). PostgreSQL's first migration is the schema as SQLite's
first four left it; their later numbers hold only a comment on PostgreSQL (rebuilds that only an
old SQLite file needed). A new migration is written twice, one file in each folder.

A SQLite
database at version *n* gets migrations *n+1* … latest, in order; each one runs inside its own
``BEGIN IMMEDIATE`` … ``COMMIT`` that also sets ``user_version`` to its number, so a failing
migration leaves the database exactly as it was (rows, schema and version).

Foreign keys are switched off while a migration runs (SQLite's procedure for rebuilding a
table: create the new table, copy, drop the old one, rename) and the migration fails if it
leaves foreign-key violations that were not there before it.

A database made before numbered migrations (``user_version`` 0 with tables in it) is adopted
by migration 1: the columns the old start-up check appended are added where missing, then
``0001_initial.sql`` (all ``IF NOT EXISTS``) creates whatever else is missing.

Several processes may open one database: the version is read again under the write lock
(on PostgreSQL an advisory lock), so a migration another process applied meanwhile is skipped.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "server.storage.migrations"
POSTGRES_MIGRATIONS_PACKAGE = "server.storage.migrations.postgresql"
POSTGRES_MIGRATION_LOCK = 0x1F_2E_3D_4C
"""The advisory lock PostgreSQL migrations hold (one migrating process at a time)."""
MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

LEGACY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("analysis_events", "event_id"),
    ("events", "prev_hash"),
    ("events", "hash"),
    ("interviews", "owner"),
    ("interviews", "erased_at"),
    ("orgs", "settings"),
    ("recordings", "deleted_at"),
    ("resume_batches", "node"),
    ("candidates", "claimed_by"),
)
"""Columns the code before numbered migrations appended (as TEXT) to tables made by older
versions; migration 1 adds the ones a pre-migration database lacks, in this order."""


class MigrationError(RuntimeError):
    """The database cannot be brought to the schema this code expects."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change."""

    version: int
    """The ``user_version`` the database has once this migration is applied (1, 2, …)."""
    name: str
    sql: str
    """SQL statements separated by semicolons; no BEGIN/COMMIT (the runner owns those)."""

    def statements(self) -> list[str]:
        """The script split into complete statements (semicolons inside literals are kept)."""
        out: list[str] = []
        pending = ""
        *pieces, tail = self.sql.split(";")
        for piece in pieces:
            pending += piece + ";"
            if sqlite3.complete_statement(pending):
                if _strip_comments(pending).strip(" \t\r\n;"):
                    out.append(pending.strip())
                pending = ""
        if _strip_comments(pending + tail).strip():
            raise MigrationError(f"migration {self.version} ends inside a statement")
        return out


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


@cache
def migrations(package: str = MIGRATIONS_PACKAGE) -> tuple[Migration, ...]:
    """The packaged migrations in order; their numbers must run 1, 2, 3 … without a gap."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = MIGRATION_FILE.match(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations must be numbered 1..n without gaps: {numbers}")
    return tuple(found)


def latest_version() -> int:
    """The schema version this code expects."""
    return len(migrations())


def user_version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def migrate(conn: sqlite3.Connection, steps: Sequence[Migration] | None = None) -> list[int]:
    """Apply the migrations the database lacks (``steps``: the packaged ones unless given);
    returns the versions applied. ``conn`` must be in autocommit mode
    (``isolation_level=None``) and outside a transaction."""
    steps = migrations() if steps is None else tuple(steps)
    if conn.in_transaction:
        raise MigrationError("migrate() needs a connection outside a transaction")
    current = user_version(conn)
    if current > len(steps):
        raise MigrationError(
            f"the database is at schema version {current}, newer than this code ({len(steps)})"
        )
    applied = []
    for step in steps[current:]:
        if _apply(conn, step):
            applied.append(step.version)
    if applied:
        logger.info("database migrated to schema version %d (applied %s)", applied[-1], applied)
    return applied


def _apply(conn: sqlite3.Connection, step: Migration) -> bool:
    """Run one migration in its own transaction; False if another process already had."""
    (foreign_keys,) = conn.execute("PRAGMA foreign_keys").fetchone()
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set it before
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            if version >= step.version:
                conn.execute("ROLLBACK")
                return False
            if version != step.version - 1:
                raise MigrationError(
                    f"migration {step.version} needs schema version {step.version - 1},"
                    f" the database is at {version}"
                )
            violations_before = _foreign_key_violations(conn)
            if step.version == 1:
                _adopt_pre_migration_tables(conn)
            for statement in step.statements():
                conn.execute(statement)
            new_violations = _foreign_key_violations(conn) - violations_before
            if new_violations:
                raise MigrationError(
                    f"migration {step.version} ({step.name}) breaks foreign keys:"
                    f" {dict(new_violations)}"
                )
            conn.execute(f"PRAGMA user_version={step.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    logger.info("applied migration %04d_%s", step.version, step.name)
    return True


def _foreign_key_violations(conn: sqlite3.Connection) -> Counter[tuple[str, str]]:
    """Rows whose foreign key has no parent, counted per (table, parent table)."""
    return Counter((row[0], row[2]) for row in conn.execute("PRAGMA foreign_key_check"))


def _adopt_pre_migration_tables(conn: sqlite3.Connection) -> None:
    """Give tables of a pre-migration database the columns the old start-up check added."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables:
        logger.info("adopting a database made before numbered migrations")
    for table, column in LEGACY_COLUMNS:
        if table not in tables:
            continue  # created by 0001_initial.sql with every column
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def postgres_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version of a PostgreSQL database (0: no schema yet)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


def migrate_postgres(
    conn: psycopg.Connection[Any], steps: Sequence[Migration] | None = None
) -> list[int]:
    """Apply the PostgreSQL migrations the database lacks, each in its own transaction under
    an advisory lock (DDL is transactional there: a failing one leaves nothing behind);
    returns the versions applied. ``conn`` must be in autocommit mode."""
    steps = migrations(POSTGRES_MIGRATIONS_PACKAGE) if steps is None else tuple(steps)
    applied = []
    for step in steps:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (POSTGRES_MIGRATION_LOCK,))
            version = postgres_version(conn)
            if version > len(steps):
                raise MigrationError(
                    f"the database is at schema version {version}, newer than this code"
                    f" ({len(steps)})"
                )
            if version >= step.version:
                continue
            for statement in step.statements():
                conn.execute(statement.encode())  # bytes: no placeholders in a migration
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version(version) VALUES(%s)", (step.version,))
        applied.append(step.version)
        logger.info("applied migration %04d_%s (postgresql)", step.version, step.name)
    if applied:
        logger.info("database migrated to schema version %d (applied %s)", applied[-1], applied)
    return applied
