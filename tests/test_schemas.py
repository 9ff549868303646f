"""The two backends' schemas stay in step: the same numbered migrations, and once migrated the
same tables, columns (in order, with matching types and NOT NULL), keys and indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from loadtest.postgres import PostgresCluster
from server.storage.db import SQLiteDatabase
from server.storage.migrate import (
    MIGRATIONS_PACKAGE,
    POSTGRES_MIGRATIONS_PACKAGE,
    latest_version,
    migrate,
    migrate_postgres,
    migrations,
    postgres_version,
)

SQLITE_TYPES = {"TEXT": "text", "REAL": "double precision", "INTEGER": "bigint"}
"""A SQLite column type → the PostgreSQL type its migrations give the column."""
PG_BOOKKEEPING = {"schema_version"}

Schema = dict[str, Any]


def sqlite_schema(path: Path) -> Schema:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        schema: Schema = {}
        for table in sorted(tables):
            columns = [
                (name, SQLITE_TYPES[kind], bool(notnull) or pk > 0)
                for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")
            ]
            indexes = set()
            for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
                indexes.add((cols, bool(unique), origin, name if origin == "c" else "", partial))
            if any(pk for *_, pk in conn.execute(f"PRAGMA table_info({table})")) and not any(
                i[2] == "pk" for i in indexes
            ):  # an INTEGER PRIMARY KEY is the rowid: no index of its own
                pk_cols = tuple(
                    r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[5] > 0
                )
                indexes.add((pk_cols, True, "pk", "", 0))
            schema[table] = {"columns": columns, "indexes": indexes}
        return schema
    finally:
        conn.close()


PG_INDEXES = """
SELECT t.relname, i.relname, ix.indisunique, ix.indisprimary, ix.indpred IS NOT NULL,
  EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid),
  array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)
FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'
"""


def postgres_schema(url: str) -> Schema:
    with psycopg.connect(url) as conn:
        schema: Schema = {}
        for table, column, kind, nullable in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema='public' ORDER BY table_name, ordinal_position"
        ):
            if table in PG_BOOKKEEPING:
                continue
            entry = schema.setdefault(table, {"columns": [], "indexes": set()})
            entry["columns"].append((column, kind, nullable == "NO"))
        for table, name, unique, primary, partial, constraint, cols in conn.execute(PG_INDEXES):
            if table in PG_BOOKKEEPING:
                continue
            origin = "pk" if primary else "u" if constraint else "c"
            schema[table]["indexes"].add(
                (tuple(cols), unique, origin, name if origin == "c" else "", int(partial))
            )
        return schema


def test_the_migrations_are_numbered_and_named_alike() -> None:
    sqlite_steps = [(m.version, m.name) for m in migrations(MIGRATIONS_PACKAGE)]
    assert sqlite_steps == [(m.version, m.name) for m in migrations(POSTGRES_MIGRATIONS_PACKAGE)]


async def test_both_backends_have_the_same_schema(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    db = SQLiteDatabase(tmp_path / "interview.sqlite3")
    await db.open()
    await db.close()
    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        assert migrate_postgres(conn) == list(range(1, latest_version() + 1))
        assert migrate_postgres(conn) == []  # already there: nothing runs twice
        assert postgres_version(conn) == latest_version()
    expected = sqlite_schema(tmp_path / "interview.sqlite3")
    actual = postgres_schema(url)
    assert sorted(actual) == sorted(expected)
    for table, shape in expected.items():
        assert actual[table]["columns"] == shape["columns"], table
        assert actual[table]["indexes"] == shape["indexes"], table


RECORDING_PATHS = {
    "rec_abs": (
        "iv_a",
        "/srv/data/recordings/iv_a/00-1700000000000.webm",
        "iv_a/00-1700000000000.webm",
    ),
    "rec_rel": ("iv_a", "data/recordings/iv_a/01-1.webm", "iv_a/01-1.webm"),
    "rec_done": ("iv_a", "iv_a/02-1.webm", "iv_a/02-1.webm"),
    "rec_other": ("iv_b", "/elsewhere/iv_a/03.webm", "/elsewhere/iv_a/03.webm"),
    "rec_prefix": ("iv_b", "/srv/x/iv_bb/04.webm", "/srv/x/iv_bb/04.webm"),
}
"""id → (interview, path before migration 5, path after): the server's own names become
relative to the recordings folder; a path not under the interview's folder is left alone."""
RECORDING_INSERT = (
    "INSERT INTO recordings(id, answer_id, interview_id, seq, path, container, duration_s,"
    " video_frames, audio_packets, bytes, created_at) VALUES({0},'ans',{0},0,{0},'webm',1,1,1,1,0)"
)


async def test_recording_paths_become_relative_on_both_backends(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    path = tmp_path / "interview.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, migrations(MIGRATIONS_PACKAGE)[:4])
        for rec_id, (interview_id, before, _) in RECORDING_PATHS.items():
            conn.execute(RECORDING_INSERT.format("?"), (rec_id, interview_id, before))
        assert migrate(conn) == [5, *range(6, latest_version() + 1)]
        sqlite_after = dict(conn.execute("SELECT id, path FROM recordings").fetchall())
    finally:
        conn.close()
    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as pg:
        migrate_postgres(pg, migrations(POSTGRES_MIGRATIONS_PACKAGE)[:4])
        pg.execute("SET session_replication_role = replica")  # no parent rows needed
        for rec_id, (interview_id, before, _) in RECORDING_PATHS.items():
            pg.execute(RECORDING_INSERT.format("%s").encode(), (rec_id, interview_id, before))
        pg.execute("SET session_replication_role = DEFAULT")
        migrate_postgres(pg)
        postgres_after = dict(pg.execute("SELECT id, path FROM recordings").fetchall())
    expected = {rec_id: after for rec_id, (_, _, after) in RECORDING_PATHS.items()}
    assert sqlite_after == expected
    assert postgres_after == expected
