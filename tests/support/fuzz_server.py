"""Harness for the fuzzers in ``tests/fuzz``: a real server on its own event-loop thread.

Hypothesis (and schemathesis on top of it) drives synchronous test functions, so the server
cannot share the test's event loop. :class:`ServerThread` runs :func:`running_server` on a
private loop in a daemon thread; tests hand it coroutines with :meth:`ServerThread.run`
(bounded by a timeout, so a hung server fails the example instead of the whole run) or talk to
``base_url`` with a synchronous client. Everything stays on loopback.

Example counts are sized for CI (the whole fuzz suite in under a minute on 2 cores);
``FUZZ_EXAMPLES=5000`` gives every fuzzer that many examples instead (schemathesis: per
operation and generation mode) and keeps Hypothesis' example database in ``.hypothesis/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from hypothesis import HealthCheck, settings

from server.domain.models import Role
from tests.support.server import RunningServer, running_server

T = TypeVar("T")

FUZZ_EXAMPLES_ENV = "FUZZ_EXAMPLES"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 20.0
"""Longest one example's work on the server loop may take before it counts as a hang."""
REQUEST_TIMEOUT_S = 10.0
"""Longest one HTTP request or WebSocket exchange may take."""
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)


def examples(ci: int) -> int:
    """``ci`` examples, or ``$FUZZ_EXAMPLES`` when set (a longer local run)."""
    raw = os.environ.get(FUZZ_EXAMPLES_ENV, "").strip()
    return int(raw) if raw else ci


def fuzz_settings(ci_examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for one fuzzer: bounded, no wall-clock deadline (each request has
    its own timeout instead), and no example database under CI (nothing written into the repo
    unless ``FUZZ_EXAMPLES`` asks for a local run)."""
    local = bool(os.environ.get(FUZZ_EXAMPLES_ENV, "").strip())
    options: dict[str, Any] = {
        "max_examples": examples(ci_examples),
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    }
    if not local:
        options["database"] = None
    options.update(overrides)
    return settings(**options)


class ServerThread:
    """:func:`running_server` on a private event loop in a background thread."""

    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        self._data_dir = data_dir
        self._overrides = {"analysis_workers": 0, **overrides}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fuzz-server", daemon=True)
        self._context: contextlib.AbstractAsyncContextManager[RunningServer] | None = None
        self.srv: RunningServer | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        # whatever the server left running (peer connections mid-handshake): cancel, then wait
        leftovers = asyncio.all_tasks(self._loop)
        for task in leftovers:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._context = running_server(self._data_dir, **self._overrides)
        self.srv = self.run(self._context.__aenter__(), START_TIMEOUT_S)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._context is not None:
                self.run(self._context.__aexit__(None, None, None), STOP_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT_S)

    @property
    def server(self) -> RunningServer:
        assert self.srv is not None, "the server is not running"
        return self.srv

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = CALL_TIMEOUT_S) -> T:
        """Run ``coro`` on the server's loop; a hang fails with ``TimeoutError``."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer from the server loop within {timeout_s} s") from None

    # -- helpers run on the server loop -------------------------------------------------------

    def add_staff(self, username: str, role: Role) -> str:
        return self.run(self.server.add_staff(username, role))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`RunningServer.call` (asserts ``expect`` or a 2xx/3xx status)."""
        return self.run(self.server.call(method, path, **kwargs))

    def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[int, str, bytes]:
        """One request with a timeout: status, content type and raw body, whatever they are."""

        headers = dict(kwargs.pop("headers", {}))
        if "json" in kwargs:
            kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
            headers.setdefault("Content-Type", "application/json")
        if isinstance(kwargs.get("data"), bytes):
            # a stream: aiohttp warns about (big) bytes bodies that it would copy on the loop
            kwargs["data"] = io.BytesIO(kwargs["data"])
        if token:
            headers["Authorization"] = f"Bearer {token}"

        async def go() -> tuple[int, str, bytes]:
            async with self.server.http.request(
                method, self.base_url + path, headers=headers, timeout=CLIENT_TIMEOUT, **kwargs
            ) as resp:
                return resp.status, resp.content_type, await resp.read()

        return self.run(go())

    def assert_healthy(self) -> None:
        """The server still answers (``GET /healthz`` within the request timeout)."""
        status, _, body = self.request("GET", "/healthz")
        assert status == 200, f"/healthz answered {status}: {body[:300]!r}"
