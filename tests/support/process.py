"""The real server as a subprocess (`interview-live serve`), for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.server import LOOPBACK, database_args, free_port

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
CLI = [sys.executable, "-m", "server.app.cli"]


@dataclass
class ServerProcess:
    base_url: str
    data_dir: Path
    demo: dict[str, Any]
    log: Path


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM a child that still runs, SIGKILL it after ``timeout_s``, and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)


def run_demo(
    data_dir: Path, port: int, database_url: str | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """``interview-live demo --json`` (its store: ``database_url`` if given, else where this test
    run keeps ``data_dir``'s; ``env`` adds variables, e.g. the deployment's keys)."""
    out = subprocess.run(
        [
            *CLI,
            "demo",
            "--data-dir",
            str(data_dir),
            *(["--database-url", database_url] if database_url else database_args(data_dir)),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    return dict(json.loads(out.stdout))


@contextmanager
def server_process(data_dir: Path) -> Iterator[ServerProcess]:
    """Seed demo data, start ``interview-live serve`` on loopback, stop it afterwards."""
    port = free_port()
    demo = run_demo(data_dir, port)
    log = data_dir / "server.log"
    base_url = f"http://{LOOPBACK}:{port}"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--data-dir",
                str(data_dir),
                *database_args(data_dir),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--ice-host",
                LOOPBACK,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(base_url + "/healthz", timeout=1) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not start")
                time.sleep(0.2)
            yield ServerProcess(base_url, data_dir, demo, log)
        finally:
            stop_process(proc)
