from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from loadtest.postgres import PostgresCluster, postgres_cluster
from server.storage.db import Database, open_database
from tests.support.server import TEST_MODELS_DIR, RunningServer, ServerDatabases, running_server

# Server subprocesses unpack the bundled multilingual model once for the whole run, not
# once per data directory.
os.environ.setdefault("INTERVIEW_MODELS_DIR", str(TEST_MODELS_DIR))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the store of the servers the API tests start (the store tests run on both)",
    )


@pytest.fixture(scope="session", autouse=True)
def server_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--database=postgresql``, the test servers keep their store in the test cluster."""
    if request.config.getoption("database") != "postgresql":
        yield
        return
    ServerDatabases.cluster = request.getfixturevalue("postgres")
    try:
        yield
    finally:
        ServerDatabases.cluster = None


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server without live analysis (fast start)."""
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        yield srv


@pytest.fixture
async def analysis_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with one analyzer worker process (real Whisper and mediapipe)."""
    async with running_server(tmp_path / "data", analysis_workers=1) as srv:
        yield srv


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on a loopback port, started for the first test that asks
    and stopped at the end of the run."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty database's URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interview.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The store's database, opened (migrated), on SQLite and on PostgreSQL."""
    db = open_database(database_url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
