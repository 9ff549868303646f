"""The in-process server of :mod:`loadtest.inprocess` with the models the test run unpacked once,
on SQLite (the default) or, with ``pytest --database=postgresql``, on a PostgreSQL database of
the test cluster (one per data directory, so a restarted server finds its data again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loadtest.inprocess import LOOPBACK, RunningServer, free_port
from loadtest.inprocess import running_server as _running_server

if TYPE_CHECKING:
    from loadtest.postgres import PostgresCluster

__all__ = [
    "LOOPBACK",
    "TEST_MODELS_DIR",
    "RunningServer",
    "ServerDatabases",
    "database_args",
    "free_port",
    "running_server",
    "store_url",
]

TEST_MODELS_DIR = Path(__file__).resolve().parents[2] / ".test-artifacts" / "models"
"""Bundled models unpacked once for the whole test run."""


class ServerDatabases:
    """Where the test servers keep their store: None = SQLite in their data directory."""

    cluster: PostgresCluster | None = None
    _urls: dict[Path, str] = {}

    @classmethod
    def url_for(cls, data_dir: Path) -> str | None:
        if cls.cluster is None:
            return None
        key = data_dir.resolve()
        if key not in cls._urls:
            cls._urls[key] = cls.cluster.new_database()
        return cls._urls[key]


def database_args(data_dir: Path) -> list[str]:
    """The ``interview-live`` option that puts a server process's store where the in-process
    servers of this run keep theirs (none: SQLite in its data directory)."""
    url = ServerDatabases.url_for(data_dir)
    return ["--database-url", url] if url else []


def store_url(data_dir: Path) -> str:
    """The database a test server on ``data_dir`` keeps its store in."""
    return ServerDatabases.url_for(data_dir) or f"sqlite:///{data_dir / 'interview.sqlite3'}"


@asynccontextmanager
async def running_server(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    overrides.setdefault("models_dir", TEST_MODELS_DIR)
    overrides.setdefault("database_url", ServerDatabases.url_for(data_dir))
    async with _running_server(data_dir, **overrides) as server:
        yield server
