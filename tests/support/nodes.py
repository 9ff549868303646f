"""Server processes of one deployment (roles, Redis, a shared data directory or a shared
database), for scale-out tests."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.process import CLI, stop_process
from tests.support.server import LOOPBACK, database_args, free_port

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Node:
    name: str
    base_url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
            return dict(json.loads(resp.read()))

    def children(self) -> list[int]:
        """Pids of this process's direct children (analyzer workers)."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL: a crash, nothing cleaned up."""
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT_S)


@contextmanager
def node_process(
    data_dir: Path,
    name: str,
    *args: str,
    port: int | None = None,
    public_url: str | None = None,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
) -> Iterator[Node]:
    """``interview-live serve`` with ``args`` (roles, Redis URL, workers) on loopback; its
    public URL is its own unless given (e.g. a proxy's); ``env`` adds variables. The store is
    ``database_url`` if given, else where this test run keeps ``data_dir``'s."""
    port = port or free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    log = data_dir / f"node-{name}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--data-dir",
                str(data_dir),
                *(["--database-url", database_url] if database_url else database_args(data_dir)),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--ice-host",
                LOOPBACK,
                "--node-name",
                name,
                "--public-url",
                public_url or base_url,
                *args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        node = Node(name, base_url, log, proc)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"node {name} exited: {log.read_text()[-3000:]}")
                try:
                    node.health()
                    break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"node {name} did not start")
                time.sleep(0.2)
            yield node
        finally:
            stop_process(proc, STOP_TIMEOUT_S)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
