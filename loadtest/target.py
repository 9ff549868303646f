"""The server under test: server processes started on loopback (demo data, health wait, stop),
CPU and memory of process trees, and the JSON API client the load test talks through."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

LOOPBACK = "127.0.0.1"
SERVER_CLI = [sys.executable, "-m", "server.app.cli"]
DEMO_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0
START_POLL_S = 0.3
HEALTH_PROBE_TIMEOUT_S = 1.0
STOP_TIMEOUT_S = 20.0


@dataclass
class Target:
    """One deployment: node base URLs (the first serves staff calls) and pids to sample."""

    base_urls: tuple[str, ...]
    username: str
    password: str
    pids: tuple[int, ...] = ()
    staff_url: str = ""
    """Where staff calls and viewers go when it is not the first node (a dashboard process)."""
    process: subprocess.Popen[bytes] | None = None
    log: Any = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def seed_demo(data_dir: Path, port: int, database_url: str = "") -> dict[str, Any]:
    """``interview-live demo --json`` into ``data_dir`` (and ``database_url`` when given): the
    demo accounts (``["admin"]``)."""
    run = subprocess.run(
        [*SERVER_CLI, "demo", "--data-dir", str(data_dir), "--host", LOOPBACK]
        + (["--database-url", database_url] if database_url else [])
        + ["--port", str(port), "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
    )
    demo: dict[str, Any] = json.loads(run.stdout)
    return demo


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Until ``url/healthz`` answers; RuntimeError if ``proc`` exits, TimeoutError if late."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/healthz", timeout=HEALTH_PROBE_TIMEOUT_S):
                return
        time.sleep(START_POLL_S)
    raise TimeoutError(f"{url} did not start")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``timeout_s``."""
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout_s)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def spawn_server(data_dir: Path, workers: int | None) -> Target:
    """A server with the demo data in ``data_dir``, on a free loopback port, once healthy."""
    port = free_port()
    demo = seed_demo(data_dir, port)
    extra = ["--analysis-workers", str(workers)] if workers is not None else []
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [*SERVER_CLI, "serve", "--data-dir", str(data_dir), "--host", LOOPBACK]
        + ["--port", str(port), "--ice-host", LOOPBACK, *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{LOOPBACK}:{port}"
    try:
        wait_healthy(base, proc, START_TIMEOUT_S)
    except (RuntimeError, TimeoutError) as exc:
        proc.kill()
        proc.wait()
        log.close()
        raise type(exc)(f"{exc}; see {data_dir / 'server.log'}") from None
    return Target(
        (base,),
        demo["admin"]["username"],
        demo["admin"]["password"],
        (proc.pid,),
        process=proc,
        log=log,
    )


def release(target: Target) -> None:
    """Stop the server the load test started (if any) and close its log."""
    if target.process is not None:
        stop(target.process)
    if target.log is not None:
        target.log.close()


def process_tree_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MiB) of a process and its children, from /proc."""
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    cpu = rss = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            rss += int(fields[21]) * page / 2**20
    return cpu, rss


def usages(pids: Sequence[int]) -> list[tuple[float, float]]:
    """:func:`process_tree_usage` of each pid."""
    return [process_tree_usage(pid) for pid in pids]


class HttpError(RuntimeError):
    """An HTTP error answer; ``body`` is its decoded JSON."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path}: {status} {body}")
        self.status, self.body = status, body


class Api:
    """JSON calls to one node, as staff (``token``) or with a candidate's token."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.token = http, base, ""

    async def __call__(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        tok = token if token is not None else self.token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        async with self.http.request(method, self.base + path, headers=headers, **kw) as r:
            body = await r.json(content_type=None)
            if r.status >= 400:
                raise HttpError(method, path, r.status, body)
            return body
