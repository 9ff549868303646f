"""A real coturn (``turnserver``, Debian package ``coturn``) on a loopback port with shared-secret
(TURN REST API) credentials, as ``docs/deploy/coturn.conf`` runs it, minus TLS; stopped after."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import stop_process
from tests.support.server import LOOPBACK, free_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
REALM = "test"


@dataclass
class Coturn:
    port: int
    log: Path
    secret: str

    @property
    def tcp_url(self) -> str:
        """The relay as a candidate's page reaches it when UDP is blocked."""
        return f"turn:{LOOPBACK}:{self.port}?transport=tcp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def coturn(work_dir: Path, secret: str, port: int | None = None) -> Iterator[Coturn]:
    """``turnserver`` listening on 127.0.0.1:``port`` (TCP and UDP, no TLS), relaying from
    127.0.0.1 to loopback peers (the server's ICE address in tests; never in production)."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError(
            "turnserver is not installed (make system-deps, or apt-get install coturn)"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = work_dir / f"coturn-{port}.log"
    args = [
        binary,
        "-n",  # no configuration file: everything is on this line
        f"--listening-port={port}",
        f"--listening-ip={LOOPBACK}",
        f"--relay-ip={LOOPBACK}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={REALM}",
        "--allow-loopback-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--no-tcp-relay",
        "--no-multicast-peers",
        "--fingerprint",
        f"--log-file={log}",  # stdout would be block-buffered and lost at SIGTERM
        "--simple-log",
        "--no-stdout-log",
        "--verbose",  # one line per allocation and refusal, with the username
        f"--pidfile={work_dir / f'coturn-{port}.pid'}",
        f"--db={work_dir / f'coturn-{port}.sqlite'}",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(proc, port, log)
        yield Coturn(port, log, secret)
    finally:
        stop_process(proc, STOP_TIMEOUT_S)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
                raise TimeoutError(f"turnserver did not listen on {port}") from None
            time.sleep(0.1)
