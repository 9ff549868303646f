"""Several media nodes behind the real docs/deploy/nginx.conf, all on loopback.

The example config is run as written except for what a test must change: the node addresses,
the listen address and the log/temp/pid paths (all inside a temp dir, nothing in /etc or /var).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.nodes import node_process
from tests.support.server import LOOPBACK

NGINX_BIN = Path("/usr/sbin/nginx")
EXAMPLE_CONF = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"
NGINX_START_TIMEOUT_S = 10.0
NGINX_STOP_TIMEOUT_S = 10.0
POLL_S = 0.1

_UPSTREAM_SERVER = re.compile(r"^([ \t]*)server[ \t]+\S+:\d+(?P<params>[^;\n]*);[ \t]*\n", re.M)
_LISTEN = re.compile(r"^([ \t]*)listen[ \t][^;\n]*;[ \t]*\n", re.M)
_LOG = re.compile(r"^([ \t]*)(?P<kind>error_log|access_log)[ \t]+\S+(?P<rest>[^;\n]*);", re.M)
_DROP = re.compile(r"^[ \t]*(?:pid|user)[ \t][^;\n]*;[ \t]*\n", re.M)
_HTTP_OPEN = re.compile(r"^http[ \t]*\{[ \t]*\n", re.M)
_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_config(
    template: str, *, listen_port: int, upstreams: Sequence[str], prefix: Path
) -> str:
    """The example config with our node addresses, a loopback listen and paths in ``prefix``.

    Every substitution must match, so a change to the example that this does not understand
    fails the test instead of silently testing something else.
    """
    servers = list(_UPSTREAM_SERVER.finditer(template))
    if not servers:
        raise ValueError("no `server <addr>:<port> ...;` line in the upstream block")
    indent, params = servers[0].group(1), servers[0].group("params")
    first_at = servers[0].start()
    out = _UPSTREAM_SERVER.sub(lambda m: "@@NODES@@\n" if m.start() == first_at else "", template)
    out = out.replace("@@NODES@@\n", "".join(f"{indent}server {a}{params};\n" for a in upstreams))

    listens = list(_LISTEN.finditer(out))
    if not listens:
        raise ValueError("no `listen` line")
    first = listens[0]
    out = (
        out[: first.start()]
        + f"{first.group(1)}listen {LOOPBACK}:{listen_port};\n"
        + _LISTEN.sub("", out[first.end() :])
    )

    def log_line(m: re.Match[str]) -> str:
        path = prefix / f"{m.group('kind')}.log"
        return f"{m.group(1)}{m.group('kind')} {path}{m.group('rest')};"

    out, n_logs = _LOG.subn(log_line, out)
    if n_logs < 2:
        raise ValueError("expected an error_log and an access_log line")
    out = _DROP.sub("", out)
    temp = "".join(f"    {d}_temp_path {prefix / 'temp' / d};\n" for d in _TEMP_DIRS)
    out, n_http = _HTTP_OPEN.subn(lambda m: m.group(0) + temp, out)
    if n_http != 1:
        raise ValueError("no top-level `http {` block")
    if os.geteuid() == 0:
        out = "user root;\n" + out  # workers keep access to the temp dir (mode 0700)
    return out


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Until ``url`` answers with any HTTP status; fails early if the process exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s} s")
        time.sleep(POLL_S)


def _stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


@dataclass
class MediaNode:
    """One ``interview-live serve`` process."""

    name: str
    base_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: the node dies without closing anything, like a crashed process."""
        self.proc.kill()
        self.proc.wait()


@contextmanager
def media_nodes(
    data_dir: Path, names: Sequence[str], *, public_url: str, allowed_origin: str
) -> Iterator[list[MediaNode]]:
    """Start one node per name on free loopback ports, all sharing ``data_dir``."""
    with ExitStack() as stack:
        nodes = []
        for name in names:
            node = stack.enter_context(
                node_process(
                    data_dir,
                    name,
                    "--analysis-workers",
                    "0",
                    public_url=public_url,
                    env={"INTERVIEW_ALLOWED_ORIGINS": allowed_origin},
                )
            )
            nodes.append(MediaNode(name, node.base_url, node.proc, node.log))
        yield nodes


@dataclass
class NginxProcess:
    base_url: str
    prefix: Path

    def logs(self) -> str:
        """The tail of nginx's error and access logs (for failure messages)."""
        parts = []
        for name in ("error_log.log", "access_log.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text()[-4000:]}")
        return "\n".join(parts)


@contextmanager
def nginx_process(upstreams: Sequence[str], prefix: Path, port: int) -> Iterator[NginxProcess]:
    """nginx in the foreground with the example config on ``LOOPBACK:port``."""
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_config(
            EXAMPLE_CONF.read_text(), listen_port=port, upstreams=upstreams, prefix=prefix
        )
    )
    cmd = [str(NGINX_BIN), "-c", str(conf), "-p", str(prefix)]
    global_directives = ["-g", f"daemon off; pid {prefix / 'nginx.pid'};"]
    check = subprocess.run(
        [*cmd, "-t", *global_directives], capture_output=True, text=True, timeout=10
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
    stderr_log = prefix / "stderr.log"
    base_url = f"http://{LOOPBACK}:{port}"
    with stderr_log.open("wb") as err:
        proc = subprocess.Popen([*cmd, *global_directives], stdout=err, stderr=subprocess.STDOUT)
        try:
            _wait_http(base_url + "/healthz", proc, stderr_log, NGINX_START_TIMEOUT_S)
            yield NginxProcess(base_url, prefix)
        finally:
            _stop(proc, NGINX_STOP_TIMEOUT_S)  # SIGTERM = fast shutdown, drops open sockets
