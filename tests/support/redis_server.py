"""A real redis-server on a loopback port, started and stopped (and restarted) by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import LOOPBACK, free_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class RedisServer:
    """redis-server on one port; ``durable`` keeps an append-only file fsynced per write, so
    a restart keeps streams, consumer groups and their pending entries (production setting)."""

    def __init__(self, data_dir: Path, durable: bool) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self._binary = binary
        self._dir = data_dir
        self._durable = durable
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
            if self._durable
            else ["--appendonly", "no", "--save", ""]
        )
        self._proc = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--dir",
                str(self._dir),
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (clean shutdown) or SIGKILL (crash: only what was fsynced survives)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, down_s: float = 0.0, kill: bool = False) -> None:
        self.stop(kill=kill)
        time.sleep(down_s)
        self.start()


@contextmanager
def redis_instance(durable: bool = False) -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="il-redis-") as tmp:
        server = RedisServer(Path(tmp), durable)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def redis_server() -> Iterator[str]:
    """Yields a ``redis://`` URL; the server keeps nothing on disk."""
    with redis_instance() as server:
        yield server.url
