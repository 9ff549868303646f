"""Security headers on every answer: pages, API results, errors and WebSocket handshakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.domain.models import Role
from tests.support.server import running_server

EXPECTED = ("X-Node", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy")


async def test_errors_pages_and_sockets_carry_the_security_headers(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        for path, status in (
            ("/api/jobs", 401),  # an error raised by a handler
            ("/api/nothing-here", 404),  # no route
            ("/admin", 200),
            ("/i/not-a-token", 200),
        ):
            async with srv.http.get(srv.base_url + path) as resp:
                assert resp.status == status, path
                for header in EXPECTED:
                    assert resp.headers.get(header), (path, header)
                if path.startswith("/api/"):
                    assert resp.headers["Cache-Control"] == "no-store"
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        admin = await srv.add_staff("admin", Role.ADMIN)
        async with srv.http.ws_connect(f"{srv.base_url}/ws?token={admin}") as ws:
            assert ws._response.headers.get("X-Node") == srv.svc.settings.node


def test_access_log_lines_carry_no_tokens() -> None:
    from server.api.accesslog import redact

    assert redact("/ws/candidate?token=iv1.123.abc.sig") == "/ws/candidate?token=***"
    assert redact("/api/recordings/r1?exp=1&sub=u&sig=xyz") == (
        "/api/recordings/r1?exp=***&sub=***&sig=***"
    )
    assert redact("/i/iv1.123.abc.sig") == "/i/***"
    assert redact("/api/jobs") == "/api/jobs"


async def test_database_and_recordings_are_private_to_the_server_user(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        await srv.call("GET", "/api/me", token=admin)
        modes = _modes(srv.svc.settings.data_dir)
        on_sqlite = srv.svc.db.backend == "sqlite"  # else the store is in PostgreSQL: no file
    files = ("interview.sqlite3", "interview.sqlite3-wal") if on_sqlite else ()
    assert {*files, "master-keys.json", "recordings"} <= set(modes)
    for name in (*files, "master-keys.json", "recordings"):
        assert modes[name] & 0o077 == 0, (name, oct(modes[name]))


def _modes(folder: Path) -> dict[str, int]:
    import stat

    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_access_log_names_the_client_behind_a_trusted_proxy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging
    from ipaddress import ip_network
    from unittest import mock

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from server.api.accesslog import RedactingAccessLogger
    from server.api.http import TRUSTED_PROXY_NETWORKS

    def line(peer: str, trusted: tuple[str, ...]) -> str:
        app = web.Application()
        app[TRUSTED_PROXY_NETWORKS] = tuple(ip_network(n) for n in trusted)
        transport = mock.Mock()  # the socket the request came in on
        transport.get_extra_info.return_value = (peer, 50000)
        request = make_mocked_request(
            "GET",
            "/i/iv.1.n.sig",
            headers={"X-Forwarded-For": "203.0.113.9"},
            app=app,
            transport=transport,
        )
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="test.access"):
            RedactingAccessLogger(logging.getLogger("test.access"), "").log(
                request, web.Response(), 0.01
            )
        return caplog.text

    assert "203.0.113.9" in line("127.0.0.1", ("127.0.0.1/32",))
    assert "/i/***" in line("127.0.0.1", ("127.0.0.1/32",))
    untrusted = line("198.51.100.7", ("127.0.0.1/32",))
    assert "198.51.100.7" in untrusted and "203.0.113.9" not in untrusted
