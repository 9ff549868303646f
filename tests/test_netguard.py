"""Webhook targets may not reach internal addresses (SSRF): classification, registration,
delivery through a real receiver on loopback, and redirects."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from server.core.config import ConfigError, load_settings
from server.domain.models import Role
from server.outbound import webhooks
from server.security.netguard import ALLOW_SETTING, NetGuard, internal_kind
from tests.support.server import LOOPBACK, RunningServer, free_port, running_server

WAIT_S = 15.0
POLL_S = 0.1
LOOPBACK_ALLOWED = ("127.0.0.1/32", "::1/128")
"""``localhost`` resolves to 127.0.0.1 and, on some hosts, ::1: every address must be allowed."""


def guard(*networks: str) -> NetGuard:
    return NetGuard(tuple(ipaddress.ip_network(n) for n in networks))


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
        ("8.8.8.8", None),
        ("100.128.0.1", None),  # just outside 100.64/10
        ("172.32.0.1", None),  # just outside 172.16/12
        ("::ffff:8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_internal_addresses_are_classified(address: str, kind: str | None) -> None:
    assert internal_kind(ipaddress.ip_address(address)) == kind


def test_allowlist_admits_only_its_networks() -> None:
    strict, lenient = guard(), guard("10.20.0.0/16", "127.0.0.1/32")
    for address in ("10.20.3.4", "127.0.0.1", "::ffff:127.0.0.1"):
        ip = ipaddress.ip_address(address)
        assert strict.refusal(ip) is not None and lenient.refusal(ip) is None
    for address in ("10.21.0.1", "127.0.0.2", "169.254.169.254", "::1"):
        assert lenient.refusal(ipaddress.ip_address(address)) is not None
    assert strict.refusal(ipaddress.ip_address("93.184.216.34")) is None
    reason = strict.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), "intranet.example")
    assert reason == (
        "intranet.example resolves to ::ffff:127.0.0.1: target address ::ffff:127.0.0.1"
        f" is internal (loopback); allow it with {ALLOW_SETTING}"
    )


def test_allowlist_setting() -> None:
    env = {ALLOW_SETTING: "10.20.0.0/16, 127.0.0.1/32"}
    settings = load_settings(env=env)
    assert settings.webhook_allow_networks == ("10.20.0.0/16", "127.0.0.1/32")
    assert NetGuard.from_settings(settings).refusal(ipaddress.ip_address("10.20.9.9")) is None
    for bad in ("10.20.0.1/16", "intranet"):
        with pytest.raises(ConfigError, match="webhook_allow_networks"):
            load_settings(env={ALLOW_SETTING: bad})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hr.example.com/hook", None),
        ("http://localhost:8080/hook", None),  # a name: checked when delivering
        ("http://93.184.216.34/hook", None),
        ("ftp://hr.example.com/hook", "an http(s) URL is required"),
        ("http:///hook", "an http(s) URL is required"),
        ("https://user:pw@hr.example.com/hook", "user name or password"),
        ("https://user@hr.example.com/hook", "user name or password"),
        ("http://127.0.0.1:6379/", ALLOW_SETTING),
        ("http://169.254.169.254/latest/meta-data/", ALLOW_SETTING),
        ("http://[::ffff:10.0.0.1]/", ALLOW_SETTING),
        ("http://[fe80::1%25eth0]/", ALLOW_SETTING),
        ("http://127.1/", "four decimal numbers"),
        ("http://2130706433/", "four decimal numbers"),
        ("http://0x7f.0.0.1/", "four decimal numbers"),
    ],
)
def test_registration_checks_the_url(url: str, problem: str | None) -> None:
    found = webhooks.url_problem(url, guard())
    assert found is None if problem is None else problem in (found or ""), found


def test_registration_accepts_an_allowed_internal_literal() -> None:
    intranet = guard("10.20.0.0/16")
    assert webhooks.url_problem("http://10.20.1.5:8443/hr", intranet) is None
    assert webhooks.url_problem("http://10.21.1.5:8443/hr", intranet) is not None


# -- through the API and a real receiver -------------------------------------------------------


class Receiver:
    """An HR system on one loopback address; ``reply`` answers each request."""

    def __init__(self, reply: Callable[[], web.Response] = lambda: web.Response(status=204)):
        self.requests: list[web.Request] = []
        self._reply = reply

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests.append(request)
        return self._reply()


@asynccontextmanager
async def receiving(receiver: Receiver, host: str = LOOPBACK) -> AsyncIterator[int]:
    """Serve ``receiver`` on ``host``; yields the port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, host, port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def hook_with_event(srv: RunningServer, url: str) -> tuple[str, str]:
    """Register ``url`` as an admin (the API validates it), queue one event; (token, hook id)."""
    admin = await srv.add_staff("admin", Role.ADMIN)
    hook = await srv.call("POST", "/api/webhooks", token=admin, json={"url": url}, expect=201)
    org_id = (await srv.call("GET", "/api/me", token=admin))["org_id"]
    assert await webhooks.emit(srv.svc, org_id, "report.ready", {"interview_id": "iv_1"}) == 1
    return admin, hook["id"]


async def first_attempt(srv: RunningServer, admin: str, hook_id: str) -> dict[str, Any]:
    """The delivery log entry once the dispatcher has tried it at least once."""
    path = f"/api/webhooks/{hook_id}/deliveries"
    async with asyncio.timeout(WAIT_S):
        while True:
            log = await srv.call("GET", path, token=admin)
            if log and log[0]["attempts"] >= 1:
                return dict(log[0])
            await asyncio.sleep(POLL_S)


async def test_registration_refuses_internal_literals(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    # well-formed URLs the egress policy refuses: 403, the reason in errors
    for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/", "http://[::1]/"):
        body = await server.call(
            "POST", "/api/webhooks", token=admin, json={"url": url}, expect=403
        )
        (error,) = body["errors"]
        assert error["field"] == "url" and ALLOW_SETTING in error["message"], body
    # URLs the document does not allow: 422, the reason in errors too
    for url in ("http://u:p@x.example/", "http://127.1/", "http://0x7f.0.0.1/", "http://0/"):
        body = await server.call(
            "POST", "/api/webhooks", token=admin, json={"url": url}, expect=422
        )
        assert [e["field"] for e in body["errors"]] == ["url"], body
    assert await server.call("GET", "/api/webhooks", token=admin) == []


async def test_name_resolving_to_loopback_is_refused_at_delivery(tmp_path: Path) -> None:
    receiver = Receiver()
    async with receiving(receiver) as port:
        url = f"http://localhost:{port}/hook"
        async with running_server(tmp_path / "strict", analysis_workers=0) as srv:
            admin, hook_id = await hook_with_event(srv, url)
            entry = await first_attempt(srv, admin, hook_id)
        assert receiver.requests == []
        assert entry["status"] == "pending" and entry["last_status"] is None  # retried later
        assert entry["last_error"].startswith("localhost resolves to ")
        assert "is internal (loopback)" in entry["last_error"]
        assert entry["last_error"].endswith(f"allow it with {ALLOW_SETTING}")

        async with running_server(
            tmp_path / "allowed", analysis_workers=0, webhook_allow_networks=LOOPBACK_ALLOWED
        ) as srv:
            admin, hook_id = await hook_with_event(srv, url)
            entry = await first_attempt(srv, admin, hook_id)
        assert (entry["status"], entry["last_status"], entry["last_error"]) == (
            "delivered",
            204,
            None,
        )
        assert len(receiver.requests) == 1
        assert receiver.requests[0].headers["X-InterviewLive-Event"] == "report.ready"


async def test_stored_internal_literal_is_refused_at_delivery(server: RunningServer) -> None:
    """A hook saved before the guard existed (or written to the database directly) still
    reaches nothing: the socket factory checks every address actually connected to."""
    receiver = Receiver()
    async with receiving(receiver) as port:
        admin = await server.add_staff("admin", Role.ADMIN)
        org_id = (await server.call("GET", "/api/me", token=admin))["org_id"]
        hook = await webhooks.create_hook(
            server.svc,
            org_id,
            {"url": f"http://{LOOPBACK}:{port}/", "secret": "s" * 32, "events": ["report.ready"]},
        )
        await webhooks.emit(server.svc, org_id, "report.ready", {})
        entry = await first_attempt(server, admin, hook["id"])
    assert receiver.requests == []
    assert entry["last_error"] == (
        f"target address {LOOPBACK} is internal (loopback); allow it with {ALLOW_SETTING}"
    )


async def test_redirects_are_not_followed(tmp_path: Path) -> None:
    inside = Receiver()
    async with receiving(inside, "127.0.0.2") as inside_port:
        target = f"http://127.0.0.2:{inside_port}/"

        def redirect() -> web.Response:
            return web.Response(status=302, headers={"Location": target})

        allowed = Receiver(redirect)
        async with (
            receiving(allowed) as port,
            running_server(
                tmp_path / "data", analysis_workers=0, webhook_allow_networks=("127.0.0.1/32",)
            ) as srv,
        ):
            admin, hook_id = await hook_with_event(srv, f"http://{LOOPBACK}:{port}/hook")
            entry = await first_attempt(srv, admin, hook_id)
    assert len(allowed.requests) == 1 and inside.requests == []
    assert (entry["status"], entry["last_status"]) == ("pending", 302)
    assert entry["last_error"] == f"redirect to {target!r} not followed; register the final URL"
