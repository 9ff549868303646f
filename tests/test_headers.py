"""Security headers on every answer: pages, API results, errors and WebSocket handshakes."""

from __future__ import annotations

from pathlib import Path

from server.models import Role
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
    from server.accesslog import redact

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
    assert {"interview.sqlite3", "interview.sqlite3-wal", "master-keys.json", "recordings"} <= set(
        modes
    )
    for name in ("interview.sqlite3", "interview.sqlite3-wal", "master-keys.json", "recordings"):
        assert modes[name] & 0o077 == 0, (name, oct(modes[name]))


def _modes(folder: Path) -> dict[str, int]:
    import stat

    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
