"""Numbered schema migrations (server/storage/migrate.py): a database made by the code before
them (tests/fixtures/db) is brought up to date without losing a row or changing a value
other than the declared conversions; a fresh database ends with the same schema; migrating
twice changes nothing; a failing migration leaves the database as it was."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from server.storage.db import SQLiteDatabase
from server.storage.migrate import (
    Migration,
    MigrationError,
    latest_version,
    migrate,
    migrations,
    user_version,
)
from server.storage.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "db" / "pre-migrations.sqlite3"
"""A database made by the code before numbered migrations (see its README)."""
DROPPED_TABLES = {"meta"}
"""Tables the migrations remove (0004: ``PRAGMA user_version`` replaces ``meta``)."""
NEW_TABLES = {"attempts"}
"""Tables the migrations add (0006: attempt counters without Redis), empty after migrating."""
DROPPED_COLUMNS = {("recordings", "deleted_at")}
"""Columns the migrations remove (0003: never written)."""
REAL_COLUMNS = {("interviews", "erased_at")}
"""Columns the old code stored as TEXT that the migrations convert to REAL (0002)."""
RELATIVE_PATH_COLUMNS = {("recordings", "path")}
"""Absolute file paths the migrations make relative to the recordings folder (0005)."""
CONVERSION_TOLERANCE_S = 1e-6
"""How far a converted time may be from Python's reading of the old text (seconds)."""
MIGRATING_THREADS = 4


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    return [r[0] for r in rows]


def _indexes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(index, table) of every index, the automatic ones of keys and UNIQUE included."""
    return conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='index'").fetchall()


def _rows(conn: sqlite3.Connection, table: str) -> dict[int, dict[str, Any]]:
    """Every row of ``table`` by rowid, as {column: value}."""
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    return {
        row[0]: dict(zip(columns, row[1:], strict=True))
        for row in conn.execute(f"SELECT rowid, * FROM {table}")
    }


def _schema(conn: sqlite3.Connection) -> dict[str, Any]:
    """Tables with their columns (name, type, not null, default, key) and indexes, comparable
    between databases whose CREATE statements were written differently."""
    out: dict[str, Any] = {}
    for table in _tables(conn):
        columns = [tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info({table})")]
        indexes = sorted(
            (
                r[1] if not r[1].startswith("sqlite_autoindex") else "auto",
                r[2],
                r[4],
                tuple(c[2] for c in conn.execute(f"PRAGMA index_info({r[1]})")),
            )
            for r in conn.execute(f"PRAGMA index_list({table})")
        )
        foreign_keys = sorted(
            tuple(r[2:5]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")
        )
        out[table] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign_keys}
    return out


@pytest.fixture
def legacy_db(tmp_path: Path) -> Path:
    """A writable copy of the pre-migration fixture."""
    path = tmp_path / "interview.sqlite3"
    shutil.copyfile(FIXTURE, path)
    return path


def test_the_fixture_is_a_pre_migration_database() -> None:
    assert FIXTURE.stat().st_size < 1_000_000
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro&immutable=1", uri=True)
    try:
        assert user_version(conn) == 0
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            "1",
        )
        empty = [t for t in _tables(conn) if not conn.execute(f"SELECT 1 FROM {t}").fetchone()]
        assert not empty, f"fill these tables in the fixture: {empty}"
        (erased,) = conn.execute(
            "SELECT COUNT(*) FROM interviews WHERE typeof(erased_at)='text'"
        ).fetchone()
        assert erased >= 1
    finally:
        conn.close()


async def test_the_fixture_is_migrated_without_losing_anything(legacy_db: Path) -> None:
    before = _connect(legacy_db)
    old = {t: _rows(before, t) for t in _tables(before)}
    old_indexes = {name for name, table in _indexes(before) if table not in DROPPED_TABLES}
    before.close()

    db = SQLiteDatabase(legacy_db)
    await db.open()
    try:
        conn = db.conn
        assert user_version(conn) == latest_version()
        assert set(_tables(conn)) == set(old) - DROPPED_TABLES | NEW_TABLES
        assert all(not _rows(conn, table) for table in NEW_TABLES)
        for table in set(_tables(conn)) - NEW_TABLES:
            new = _rows(conn, table)
            assert new.keys() == old[table].keys(), table  # same rows (rowids kept)
            for rowid, row in new.items():
                was = old[table][rowid]
                kept = {c for c in was if (table, c) not in DROPPED_COLUMNS}
                assert set(row) == kept, table
                for column, value in row.items():
                    if (table, column) in REAL_COLUMNS and was[column] is not None:
                        assert value == pytest.approx(
                            float(was[column]), abs=CONVERSION_TOLERANCE_S
                        )
                    elif (table, column) in RELATIVE_PATH_COLUMNS:
                        assert was[column].startswith("/"), was[column]
                        relative = f"{was['interview_id']}/{Path(was[column]).name}"
                        assert value == relative, (table, column, rowid)
                    else:
                        assert value == was[column], (table, column, rowid)
        for table, column in REAL_COLUMNS:
            declared = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({table})")}
            assert declared[column] == "REAL"
            kinds = {r[0] for r in conn.execute(f"SELECT DISTINCT typeof({column}) FROM {table}")}
            assert kinds == {"real", "null"}, (table, column, kinds)
        assert {name for name, table in _indexes(conn) if table not in NEW_TABLES} == old_indexes
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1

        # the store reads the migrated rows (unsealed columns; the fixture's keys are not kept)
        store = Store(db)
        audit = await store.verify_audit_chain()
        assert audit["ok"] and audit["checked"] == len(old["events"]), audit
        org = await store.first_org()
        assert org is not None
        assert (await store.org_settings(org["id"]))["retention"]
        (job,) = await store.list_jobs(org["id"])
        counts = await store.status_counts(job.id)
        assert sum(counts.values()) == len(old["interviews"])
        recorded = {r["interview_id"] for r in old["recordings"].values()}
        for interview_id in recorded:
            assert len(await store.recordings(interview_id)) >= 1
            assert await store.decisions(interview_id)
    finally:
        await db.close()


async def test_a_fresh_database_gets_the_latest_schema(tmp_path: Path, legacy_db: Path) -> None:
    db = SQLiteDatabase(tmp_path / "fresh" / "interview.sqlite3")
    await db.open()
    try:
        assert user_version(db.conn) == latest_version() == len(migrations())
        fresh = _schema(db.conn)
    finally:
        await db.close()
    migrated = _connect(legacy_db)
    try:
        migrate(migrated)
        assert fresh == _schema(migrated)  # both paths end in the same schema
    finally:
        migrated.close()


async def test_times_are_stored_as_numbers_in_a_fresh_database(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "interview.sqlite3")
    await db.open()
    try:
        store = Store(db)
        org_id = await store.create_org("Org")
        job_id = await store.create_job(org_id, {"title": "Clerk", "department": "Office"})
        job = await store.get_job(job_id)
        (iid,) = await store.create_interviews(
            job, [], [{"name": "Wang Fang"}], expires_at=2e9, nonces=["n"], actor="hr"
        )
        await store.erase_personal_data(iid)
        row = await db.fetchone("SELECT erased_at, typeof(erased_at) AS kind FROM interviews")
        assert row is not None and row["kind"] == "real"
        assert (await store.get_interview(iid)).erased_at == row["erased_at"]
    finally:
        await db.close()


def test_migration_1_is_the_schema_the_old_code_made(legacy_db: Path) -> None:
    fresh = sqlite3.connect(":memory:", isolation_level=None)
    old = sqlite3.connect(legacy_db)
    try:
        assert migrate(fresh, migrations()[:1]) == [1]
        assert _schema(fresh) == _schema(old)
    finally:
        fresh.close()
        old.close()


async def test_migrating_twice_is_a_no_op(legacy_db: Path) -> None:
    conn = _connect(legacy_db)
    try:
        assert migrate(conn) == list(range(1, latest_version() + 1))
        dump = list(conn.iterdump())
        assert migrate(conn) == []
        assert list(conn.iterdump()) == dump
    finally:
        conn.close()
    db = SQLiteDatabase(legacy_db)  # and opening it again changes nothing either
    await db.open()
    try:
        assert user_version(db.conn) == latest_version()
        assert list(db.conn.iterdump()) == dump
    finally:
        await db.close()


def test_a_failing_migration_rolls_back(legacy_db: Path) -> None:
    conn = _connect(legacy_db)
    try:
        before = {t: _rows(conn, t) for t in _tables(conn)}
        first, second = migrations()[:2]
        broken = Migration(2, second.name, second.sql + "\nINSERT INTO no_such_table VALUES(1);")
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            migrate(conn, [first, broken])
        assert user_version(conn) == 1  # migration 1 committed, migration 2 not at all
        assert not conn.in_transaction
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert "interviews_new" not in _tables(conn)
        declared = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(interviews)")}
        assert declared["erased_at"] == "TEXT"
        assert {t: _rows(conn, t) for t in _tables(conn)} == before

        assert migrate(conn) == list(range(2, latest_version() + 1))  # the real one then runs
    finally:
        conn.close()


def test_a_migration_that_orphans_rows_is_rolled_back(legacy_db: Path) -> None:
    conn = _connect(legacy_db)
    try:
        migrate(conn)
        version = latest_version()
        orphaning = Migration(version + 1, "orphans", "DELETE FROM interviews;")
        with pytest.raises(MigrationError, match="breaks foreign keys"):
            migrate(conn, [*migrations(), orphaning])
        assert user_version(conn) == version
        assert conn.execute("SELECT COUNT(*) FROM interviews").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_failing_first_migration_leaves_an_empty_database(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "new.sqlite3")
    try:
        broken = Migration(1, "broken", "CREATE TABLE a(x);\nCREATE TABLE a(x);")
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            migrate(conn, [broken])
        assert user_version(conn) == 0
        assert _tables(conn) == []
    finally:
        conn.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={latest_version() + 1}")
    conn.close()
    db = SQLiteDatabase(path)
    try:
        with pytest.raises(MigrationError, match="newer than this code"):
            await db.open()
    finally:
        await db.close()


def test_an_older_pre_migration_database_gets_the_columns_it_lacks(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "older.sqlite3")
    try:
        conn.executescript(
            "CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL);"
            "INSERT INTO orgs VALUES ('org_1', 'Old Org', 1.5);"
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, interview_id TEXT,"
            " org_id TEXT, at REAL NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL DEFAULT '',"
            " data TEXT NOT NULL DEFAULT '{}');"
            "INSERT INTO events(org_id, at, kind) VALUES ('org_1', 2.5, 'login');"
        )
        migrate(conn)
        assert user_version(conn) == latest_version()
        assert _rows(conn, "orgs") == {
            1: {"id": "org_1", "name": "Old Org", "created_at": 1.5, "settings": None}
        }
        (event,) = _rows(conn, "events").values()
        assert event["kind"] == "login" and event["hash"] is None
        fresh = sqlite3.connect(":memory:", isolation_level=None)
        migrate(fresh)
        assert _schema(conn) == _schema(fresh)
        fresh.close()
    finally:
        conn.close()


def test_processes_opening_one_database_together_migrate_it_once(legacy_db: Path) -> None:
    applied: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(MIGRATING_THREADS)

    def open_and_migrate() -> None:
        conn = _connect(legacy_db)
        try:
            start.wait()
            applied.append(migrate(conn))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=open_and_migrate) for _ in range(MIGRATING_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(v for versions in applied for v in versions) == list(
        range(1, latest_version() + 1)
    )


def test_statements_are_split_outside_literals_and_comments() -> None:
    step = Migration(
        9,
        "split",
        "-- a comment; with a semicolon\nCREATE TABLE t(x TEXT DEFAULT 'a;b');\n"
        "INSERT INTO t VALUES('c;d'); -- trailing\n",
    )
    assert step.statements() == [
        "-- a comment; with a semicolon\nCREATE TABLE t(x TEXT DEFAULT 'a;b');",
        "INSERT INTO t VALUES('c;d');",
    ]
    with pytest.raises(MigrationError, match="ends inside a statement"):
        Migration(9, "cut", "CREATE TABLE t(x);\nINSERT INTO t VALUES(1)").statements()
