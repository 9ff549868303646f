"""Run the load test against a split deployment on this machine (all on loopback).

Starts ``redis-server`` (append-only), seeds a data directory, starts ``--media`` media+API
processes and one analyzer process with ``--analyzer-workers`` workers, then runs
``interview-live-loadtest`` with every media node as a target and every process sampled for
CPU/RSS; stops everything afterwards. The store is the shared SQLite data directory, or with
``--database postgresql`` a throwaway PostgreSQL cluster on loopback (``initdb``, as the tests
do). With ``--metrics-json`` every node's ``/metrics`` is scraped during the run. Extra
arguments go to the load test::

    python -m loadtest.cluster --media 2 --analyzer-workers 2 --database postgresql \\
        --metrics-json pg-metrics.json -- --candidates 8 --duration 60 --json split-pg.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from loadtest.postgres import postgres_cluster
from loadtest.scrape import MetricsWatch
from loadtest.target import LOOPBACK, SERVER_CLI, free_port, seed_demo, wait_healthy

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def _database(kind: str) -> Iterator[tuple[str, int | None]]:
    """``("", None)`` (the data directory's SQLite) or a fresh PostgreSQL database's URL and
    the pid of its server (sampled for CPU with the rest)."""
    if kind == "sqlite":
        yield "", None
        return
    with postgres_cluster() as cluster:
        yield cluster.new_database(), cluster.pid


@contextlib.contextmanager
def _workdir(keep: bool) -> Iterator[str]:
    if keep:
        yield tempfile.mkdtemp(prefix="il-cluster-")
    else:
        with tempfile.TemporaryDirectory(prefix="il-cluster-") as tmp:
            yield tmp


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.cluster", description=__doc__)
    p.add_argument("--media", type=int, default=2, help="media+API processes")
    p.add_argument("--media-workers", type=int, default=1, help="(remote analysis switch) ≥ 1")
    p.add_argument("--analyzer-workers", type=int, default=2, help="workers of the analyzer node")
    p.add_argument("--max-live-sessions", type=int, default=16, help="per media process")
    p.add_argument(
        "--api-process",
        action="store_true",
        help="dashboards and staff API in their own process (media processes: --role media)",
    )
    p.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the shared store: the data directory's SQLite, or a throwaway PostgreSQL cluster",
    )
    p.add_argument("--metrics-json", help="scrape every node's /metrics during the run into this")
    p.add_argument("loadtest_args", nargs=argparse.REMAINDER, help="after --: load-test options")
    args = p.parse_args(argv)
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise SystemExit("redis-server is not installed")
    extra = [a for a in args.loadtest_args if a != "--"]
    keep = os.environ.get("IL_CLUSTER_KEEP_LOGS") == "1"  # for diagnosis
    with (
        _workdir(keep) as tmp,
        _database(args.database) as (database_url, database_pid),
        _processes() as procs,
    ):
        data = Path(tmp) / "data"
        logs = Path(tmp)
        redis_port = free_port()
        procs.append(
            subprocess.Popen(
                [redis_bin, "--port", str(redis_port), "--bind", LOOPBACK, "--dir", tmp]
                + ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        redis_url = f"redis://{LOOPBACK}:{redis_port}/0"
        ports = [free_port() for _ in range(args.media)]
        demo = seed_demo(data, ports[0], database_url)
        store = ["--database-url", database_url] if database_url else []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        urls = []
        nodes: dict[str, str] = {}

        def serve(name: str, port: int, *role_args: str) -> tuple[str, subprocess.Popen[bytes]]:
            url = f"http://{LOOPBACK}:{port}"
            log = (logs / f"{name}.log").open("wb")
            proc = subprocess.Popen(
                [
                    *SERVER_CLI,
                    "serve",
                    "--data-dir",
                    str(data),
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(port),
                ]
                + ["--ice-host", LOOPBACK, "--redis-url", redis_url, "--node-name", name]
                + ["--public-url", url, *store, *role_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            procs.append(proc)
            nodes[name] = url
            return url, proc

        analyzer_url, analyzer = serve(
            "analyzer-1",
            free_port(),
            "--role",
            "analyzer",
            "--analysis-workers",
            str(args.analyzer_workers),
            "--max-live-sessions",
            "64",
        )
        wait_healthy(
            analyzer_url, analyzer, START_TIMEOUT_S
        )  # the first loads the models; the shared DB exists
        staff_url = ""
        if args.api_process:
            staff_url, api = serve("api-1", free_port(), "--role", "api")
            wait_healthy(staff_url, api, START_TIMEOUT_S)
        for i, port in enumerate(ports):
            url, proc = serve(
                f"media-{i + 1}",
                port,
                "--role",
                "media" if args.api_process else "media,api",
                "--analysis-workers",
                str(args.media_workers),
                "--max-live-sessions",
                str(args.max_live_sessions),
            )
            wait_healthy(url, proc, START_TIMEOUT_S)
            urls.append(url)
        print(
            f"cluster: analyzer {analyzer_url}, media {' '.join(urls)}"
            + (f", api {staff_url}" if staff_url else "")
            + f"; logs in {logs}",
            file=sys.stderr,
            flush=True,
        )
        cmd = [sys.executable, "-m", "loadtest.run"]
        for url in urls:
            cmd += ["--target", url]
        for pid in [p.pid for p in procs] + ([database_pid] if database_pid else []):
            cmd += ["--server-pid", str(pid)]
        if staff_url:
            cmd += ["--staff-target", staff_url]
        cmd += ["--username", demo["admin"]["username"], "--password", demo["admin"]["password"]]
        if not args.metrics_json:
            return subprocess.run([*cmd, *extra], check=False).returncode
        watch = MetricsWatch(nodes)
        watch.start()
        try:
            code = subprocess.run([*cmd, *extra], check=False).returncode
        finally:
            scraped = watch.stop()
        Path(args.metrics_json).write_text(json.dumps(scraped, indent=1))
        print(
            f"metrics: peak sessions {scraped['sessions_peak']:.0f}, ASR finals "
            + ", ".join(f"{n} {h['count']:.0f}" for n, h in scraped["asr_final_latency"].items()),
            file=sys.stderr,
        )
        return code


if __name__ == "__main__":
    sys.exit(main())
