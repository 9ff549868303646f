"""Behind a reverse proxy: with ``trusted_proxies`` (``INTERVIEW_TRUSTED_PROXIES``) the
per-address limits, consent records and audit see the client named by ``X-Forwarded-For``;
without it, or from a peer that is not a trusted proxy, the header changes nothing.

Every request here comes from 127.0.0.1, so with ``127.0.0.1/32`` trusted the test client plays
the proxy and chooses the forwarded addresses itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from loadtest.inprocess import make_job
from server.api.http import client_address
from server.core.config import ConfigError, load_settings
from server.domain.models import Role
from server.security.ratelimit import BAD_TOKENS_PER_ADDRESS, LOGIN_ATTEMPTS_PER_ADDRESS
from tests.support.server import RunningServer, running_server
from tests.test_api import invite, token_of

XFF = "X-Forwarded-For"
PROXY = "127.0.0.1/32"
CLIENT_A = "198.51.100.1"
CLIENT_B = "198.51.100.2"
CONSENT = {"decision": "accept", "recording": True, "analysis": True}


def networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# -- the address rule ------------------------------------------------------------------------

TRUSTED = networks(PROXY, "10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        # a peer that is not a trusted proxy: the header is the client's own claim
        ("203.0.113.9", [CLIENT_A], "203.0.113.9"),
        ("10.0.0.2.evil", [CLIENT_A], "10.0.0.2.evil"),
        ("", [CLIENT_A], ""),
        # a trusted peer: its last entry is the client
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [CLIENT_A], CLIENT_A),
        ("127.0.0.1", [f" {CLIENT_A} "], CLIENT_A),
        # chains: skip trusted proxies from the right, stop at the first address that is not
        ("127.0.0.1", [f"{CLIENT_A}, 10.0.0.2"], CLIENT_A),
        ("127.0.0.1", [f"{CLIENT_A},10.0.0.3,10.0.0.2"], CLIENT_A),
        ("127.0.0.1", [f"203.0.113.66, {CLIENT_A}, 10.0.0.2"], CLIENT_A),  # forged left part
        ("127.0.0.1", [f"10.0.0.9, {CLIENT_A}"], CLIENT_A),  # a forged "proxy" on the left
        ("127.0.0.1", ["203.0.113.66", f"{CLIENT_A}, 10.0.0.2"], CLIENT_A),  # two header lines
        ("127.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # all proxies: the furthest
        ("127.0.0.1", ["127.0.0.1"], "127.0.0.1"),
        # address forms: IPv6, ports, IPv4-mapped, normalised text
        ("127.0.0.1", ["2001:db8::1"], "2001:db8::1"),
        ("127.0.0.1", ["2001:DB8:0::0001"], "2001:db8::1"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("127.0.0.1", ["[2001:db8::1]"], "2001:db8::1"),
        ("127.0.0.1", [f"{CLIENT_A}:4711"], CLIENT_A),
        ("127.0.0.1", [f"::ffff:{CLIENT_A}"], CLIENT_A),
        ("::ffff:127.0.0.1", [CLIENT_A], CLIENT_A),
        ("::1", [CLIENT_A], "::1"),  # not in the trusted list
        ("fd00::5", [f"{CLIENT_A}, fd00::7"], CLIENT_A),
        # malformed entries are never used: the walk stops there (the proxy's address stays)
        ("127.0.0.1", ["not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", ["unknown"], "127.0.0.1"),
        ("127.0.0.1", [""], "127.0.0.1"),
        ("127.0.0.1", [" , ,"], "127.0.0.1"),
        ("127.0.0.1", [f"{CLIENT_A},"], "127.0.0.1"),
        ("127.0.0.1", [f"{CLIENT_A}, garbage"], "127.0.0.1"),
        ("127.0.0.1", [f"{CLIENT_A}, garbage, 10.0.0.2"], "10.0.0.2"),
        ("127.0.0.1", [f"garbage, {CLIENT_A}"], CLIENT_A),  # left of the client: not read
        ("127.0.0.1", ["198.51.100.0/24"], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1"], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1]x"], "127.0.0.1"),
        ("127.0.0.1", [f"{CLIENT_A}:http"], "127.0.0.1"),
        ("127.0.0.1", [f"{CLIENT_A}:４７"], "127.0.0.1"),  # non-ASCII digits
        ("127.0.0.1", ["١٩٨.51.100.1"], "127.0.0.1"),
        ("127.0.0.1", ["\ud800"], "127.0.0.1"),
        ("127.0.0.1", ["x" * 100_000], "127.0.0.1"),
        ("127.0.0.1", [", ".join(["10.0.0.1"] * 5000)], "10.0.0.1"),
    ],
)
def test_the_client_is_the_first_untrusted_address_from_the_right(
    peer: str, header: list[str], expected: str
) -> None:
    assert client_address(peer, header, TRUSTED) == expected


def test_nobody_is_trusted_by_default() -> None:
    assert load_settings(env={}).trusted_proxies == ()
    assert client_address("127.0.0.1", [CLIENT_A], ()) == "127.0.0.1"


def test_trusted_proxies_setting_is_parsed_and_checked() -> None:
    env = {"INTERVIEW_TRUSTED_PROXIES": " 127.0.0.1/32, 10.0.0.0/8,fd00::/8 ,"}
    assert load_settings(env=env).trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "fd00::/8")
    for bad in ("nginx", "10.0.0.1/8", "10.0.0.0/33"):
        with pytest.raises(ConfigError, match="trusted_proxies"):
            load_settings(env={"INTERVIEW_TRUSTED_PROXIES": bad})
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_settings(env={}, trusted_proxies=("everyone",))


# -- through the server ----------------------------------------------------------------------


async def _ready_invitation(srv: RunningServer) -> tuple[str, str, str, str]:
    """(admin token, interview id, its valid invitation token, a forged one naming it)."""
    admin = await srv.add_staff("admin", Role.ADMIN)
    job = await make_job(srv, admin)
    invitation = await invite(srv, admin, job["id"], "Ann")
    good = token_of(invitation["url"])
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    return admin, invitation["interview_id"], good, forged


async def _state(srv: RunningServer, token: str, forwarded_for: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for is not None:
        headers[XFF] = forwarded_for
    async with srv.http.get(srv.base_url + "/api/candidate/state", headers=headers) as r:
        return r.status


async def _bad_tokens(srv: RunningServer, forged: str, forwarded_for: list[str]) -> None:
    statuses = [await _state(srv, forged, xff) for xff in forwarded_for]
    assert statuses == [401] * len(forwarded_for)


async def test_a_forged_header_changes_nothing_without_trusted_proxies(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        _, _, good, forged = await _ready_invitation(srv)
        # an attacker inventing a new address for every guess is still one address
        await _bad_tokens(srv, forged, [f"203.0.113.{i}" for i in range(BAD_TOKENS_PER_ADDRESS)])
        assert await _state(srv, good, CLIENT_B) == 429
        assert await _state(srv, good, None) == 429


async def test_clients_behind_a_trusted_proxy_have_their_own_limits(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, trusted_proxies=(PROXY,)
    ) as srv:
        admin, interview_id, good, forged = await _ready_invitation(srv)
        await _bad_tokens(srv, forged, [CLIENT_A] * BAD_TOKENS_PER_ADDRESS)
        assert await _state(srv, good, CLIENT_A) == 429
        assert await _state(srv, good, CLIENT_B) == 200  # B's link still works
        assert await _state(srv, good, None) == 200  # and the proxy itself is not blocked

        # the consent record names the client, not the proxy
        async with srv.http.post(
            srv.base_url + "/api/candidate/consent",
            json=CONSENT,
            headers={"Authorization": f"Bearer {good}", XFF: CLIENT_B},
        ) as r:
            assert r.status == 200
        interview = await srv.svc.store.get_interview(interview_id)
        assert interview.consent is not None and interview.consent["ip"] == CLIENT_B

        # WebSocket handlers see the client too: A is refused at the handshake, B gets in
        ws_url = f"{srv.base_url}/ws/candidate?token={good}".replace("http", "ws", 1)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with srv.http.ws_connect(ws_url, origin=srv.base_url, headers={XFF: CLIENT_A}):
                pass
        assert refused.value.status == 429
        async with srv.http.ws_connect(ws_url, origin=srv.base_url, headers={XFF: CLIENT_B}) as ws:
            first = await ws.receive_json(timeout=10)
            assert first["type"] == "state"

        # the audit log records the client's address
        await srv.call(
            "POST",
            "/api/users",
            token=admin,
            json={"username": "clerk", "password": "right-password-1", "role": "hr"},
            headers={XFF: CLIENT_A},
            expect=201,
        )
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        created = [e for e in events if e["kind"] == "user_created"]
        assert [e["data"]["ip"] for e in created] == [CLIENT_A]


async def test_login_attempts_are_counted_per_client_behind_the_proxy(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, trusted_proxies=(PROXY,)
    ) as srv:
        login = srv.base_url + "/api/auth/login"

        async def attempt(n: int, forwarded_for: str) -> int:
            body: dict[str, Any] = {"username": f"nobody-{n}", "password": "x"}
            async with srv.http.post(login, json=body, headers={XFF: forwarded_for}) as r:
                return r.status

        statuses = await asyncio.gather(
            *(attempt(n, CLIENT_A) for n in range(LOGIN_ATTEMPTS_PER_ADDRESS))
        )
        assert statuses == [401] * LOGIN_ATTEMPTS_PER_ADDRESS
        assert await attempt(-1, CLIENT_A) == 429
        assert await attempt(-2, CLIENT_B) == 401


async def test_a_chain_of_proxies_names_the_first_untrusted_address(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, trusted_proxies=(PROXY, "10.0.0.0/8")
    ) as srv:
        _, _, good, forged = await _ready_invitation(srv)
        # the client forges the left part differently every time; two proxies append
        await _bad_tokens(
            srv,
            forged,
            [f"203.0.113.{i}, {CLIENT_A}, 10.1.2.3" for i in range(BAD_TOKENS_PER_ADDRESS)],
        )
        assert await _state(srv, good, CLIENT_A) == 429
        assert await _state(srv, good, f"{CLIENT_A}, 10.9.9.9") == 429
        assert await _state(srv, good, f"{CLIENT_A}, 10.9.9.9, 10.1.2.3") == 429
        assert await _state(srv, good, f"{CLIENT_B}, 10.1.2.3") == 200
        assert await _state(srv, good, f"{CLIENT_A}, {CLIENT_B}") == 200  # B is the client


async def test_garbage_headers_fall_back_to_the_proxy_address(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, trusted_proxies=(PROXY,)
    ) as srv:
        _, _, good, forged = await _ready_invitation(srv)
        garbage = ["", ",", "unknown", "not-an-ip", f"{CLIENT_A}, junk", "[::1", "1.2.3.4/8"]
        garbage += ["x" * 4000, "%00", "1.2.3.4:port", "::ffff:999.1.1.1"]
        assert all([await _state(srv, good, g) == 200 for g in garbage])  # answered normally
        rounds = -(-BAD_TOKENS_PER_ADDRESS // len(garbage))
        await _bad_tokens(srv, forged, (garbage * rounds)[:BAD_TOKENS_PER_ADDRESS])
        # all of them were counted on the proxy's own address ...
        assert await _state(srv, good, None) == 429
        assert await _state(srv, good, "garbage") == 429
        # ... and a well-formed client address behind the proxy is not affected
        assert await _state(srv, good, CLIENT_B) == 200
