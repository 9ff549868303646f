"""A real, throwaway PostgreSQL cluster for tests and load tests: ``initdb`` into a temporary
directory, ``pg_ctl start`` on a loopback port, one fresh database per test (or run), and
stopped (its files removed) at the end. As root (CI), the cluster runs as the ``postgres``
user that Debian's package creates: ``initdb`` refuses to run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from loadtest.inprocess import LOOPBACK, free_port

START_TIMEOUT_S = 30
MAX_CONNECTIONS = 300
"""Enough for the race tests' processes, each with a pool."""
SERVER_OPTIONS = (
    f"-c listen_addresses={LOOPBACK} -c max_connections={MAX_CONNECTIONS}"
    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB"
)
"""Durability is not under test: a throwaway cluster skips the disk flushes."""
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, or Debian's versioned directory."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return versions[-1].parent


class PostgresCluster:
    """One cluster on one port; :meth:`new_database` gives each test its own database."""

    def __init__(self, root: Path) -> None:
        self._bin = _bin_dir()
        self._root = root
        self._data = root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self._root, SUPERUSER)
        self._run(
            "initdb",
            "-D",
            str(self._data),
            "--auth=trust",
            f"--username={SUPERUSER}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-D",
            str(self._data),
            "-l",
            str(self._root / "server.log"),
            "-o",
            f"-p {self.port} -k {self._root} {SERVER_OPTIONS}",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self._data))

    @property
    def pid(self) -> int:
        """The postmaster's process id (its children are the connections' backends)."""
        return int((self._data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="il-pg-"))
    cluster = PostgresCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        except RuntimeError:
            pass  # never started
        shutil.rmtree(root, ignore_errors=True)
