"""TURN relay credentials (``server.security.turn``): the TURN REST API scheme coturn's
``use-auth-secret`` checks, their lifetime, the ``--turn-url`` / ``--turn-secret`` settings,
and what the candidate's page receives (never the secret)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import pytest

from loadtest.inprocess import make_job
from server.app import cli
from server.core.config import ConfigError, load_settings
from server.domain.interviews import Interview
from server.domain.models import Role, Status
from server.interview.candidate_view import remaining_length_s
from server.security.netguard import INTERNAL_NETWORKS
from server.security.turn import (
    TURN_CREDENTIAL_MARGIN_S,
    TURN_CREDENTIAL_MAX_S,
    IceConfig,
    credential_lifetime_s,
    mint,
)
from tests.support.server import RunningServer, running_server
from tests.test_api import invite, token_of

SECRET = "correct-horse-battery-staple-42"
TURN_URLS = ("turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp")
SLACK_S = 5
"""Seconds a request may take between minting and the test's own clock reading."""


def expected_password(secret: str, username: str) -> str:
    """The TURN REST API password, computed here independently of the module."""
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


# -- the credential ----------------------------------------------------------------------------


def test_known_answer() -> None:
    pair = mint(SECRET, "iv_3f2a", lifetime_s=3600, now_s=1_700_000_000.9)
    assert pair.username == "1700003600:iv_3f2a"
    assert pair.expires_at_s == 1_700_003_600
    assert pair.credential == expected_password(SECRET, "1700003600:iv_3f2a")
    # and a literal, from `printf %s 1700003600:iv_3f2a | openssl dgst -sha1 -hmac "$SECRET" -binary | base64`
    assert pair.credential == "8UjtGQfUyWmMYycuyesUiO2VCK0="
    assert SECRET not in repr(pair) and pair.credential not in repr(pair)


def test_the_tag_cannot_break_the_username() -> None:
    pair = mint(SECRET, "a:b c/é" + "x" * 100, lifetime_s=60, now_s=0)
    expiry, tag = pair.username.split(":", 1)
    assert expiry == "60" and ":" not in tag and len(tag) <= 64
    assert pair.credential == expected_password(SECRET, pair.username)
    with pytest.raises(ValueError):
        mint("", "iv", lifetime_s=60, now_s=0)
    with pytest.raises(ValueError):
        mint(SECRET, "iv", lifetime_s=0, now_s=0)


@pytest.mark.parametrize("remaining_s", [0.0, 1.0, 600.0, 5400.5, -3.0, float("nan")])
def test_lifetime_is_what_is_left_plus_the_margin(remaining_s: float) -> None:
    lifetime = credential_lifetime_s(remaining_s)
    left = remaining_s if remaining_s == remaining_s and remaining_s > 0 else 0.0
    assert left + TURN_CREDENTIAL_MARGIN_S <= lifetime < left + TURN_CREDENTIAL_MARGIN_S + 1


def test_lifetime_has_a_ceiling() -> None:
    assert credential_lifetime_s(10 * 24 * 3600) == TURN_CREDENTIAL_MAX_S


def test_page_gets_static_servers_and_one_minted_turn_entry() -> None:
    ice = IceConfig(("stun:stun.example.com:3478",), TURN_URLS, SECRET)
    servers = ice.for_page("iv_1", remaining_interview_s=900, now_s=1_000_000)
    assert servers[0] == {"urls": "stun:stun.example.com:3478"}
    turn = servers[1]
    assert turn["urls"] == list(TURN_URLS)
    assert turn["username"] == f"{1_000_000 + 900 + TURN_CREDENTIAL_MARGIN_S}:iv_1"
    assert turn["credential"] == expected_password(SECRET, turn["username"])
    assert SECRET not in json.dumps(servers) and SECRET not in repr(ice)
    assert IceConfig(("stun:s:1",)).for_page("iv", 1, 0) == [{"urls": "stun:s:1"}]


# -- the interview's remaining length ----------------------------------------------------------


def _interview(flow: dict[str, Any] | None) -> Interview:
    plan = [
        {"question": {"prep_s": 20, "answer_s": 90}},
        {"question": {"prep_s": 30, "answer_s": 120}},
    ]
    return Interview(
        id="iv_1",
        job_id="job_1",
        org_id="org_1",
        candidate={},
        language="en",
        status=Status.IN_PROGRESS if flow else Status.DEVICE_CHECKED,
        plan=plan,
        nonce="n",
        expires_at=0.0,
        flow=flow,
        consent=None,
        device_check=None,
        created_at=0.0,
        updated_at=0.0,
        erased_at=None,
    )


def test_remaining_length_follows_the_flow() -> None:
    assert remaining_length_s(_interview(None), None) == 260
    running = {"index": 0}
    assert (
        remaining_length_s(_interview(running), {"index": 0, "phase": "prep", "remaining_s": 5})
        == 245
    )
    assert (
        remaining_length_s(_interview(running), {"index": 0, "phase": "answer", "remaining_s": 40})
        == 190
    )
    assert (
        remaining_length_s(_interview(running), {"index": 1, "phase": "answer", "remaining_s": 7})
        == 7
    )
    assert remaining_length_s(_interview(running), None) == 0  # done


# -- settings ----------------------------------------------------------------------------------


def test_turn_settings_from_the_environment_and_the_command_line() -> None:
    env = {"INTERVIEW_TURN_URLS": ",".join(TURN_URLS), "INTERVIEW_TURN_SECRET": SECRET}
    settings = load_settings(env=env)
    assert settings.turn_urls == TURN_URLS and settings.turn_secret == SECRET
    assert SECRET not in repr(settings)
    assert load_settings(env={}, turn_urls=("turn:[2001:db8::1]",), turn_secret=SECRET).turn_urls
    assert load_settings(env={}, turn_urls=("turn:10.0.0.5:3478",), turn_secret=SECRET).turn_urls


@pytest.mark.parametrize(
    ("urls", "secret", "message"),
    [
        (("turn://turn.example.com:3478",), SECRET, "is not a TURN URL like"),
        (("stun:turn.example.com:3478",), SECRET, "is not a TURN URL like"),
        (("turn:turn.example.com:3478?transport=sctp",), SECRET, "is not a TURN URL like"),
        (("turn:turn.example.com:99999",), SECRET, "is not a port"),
        (("turn:[12345::ab::1]",), SECRET, "is not an IPv6 address"),
        (("turns:turn.example.com:443?transport=udp",), SECRET, "TURN over TLS"),
        (("turn:turn.example.com",), "", "turn_secret"),
        ((), SECRET, "without turn_urls"),
        (("turn:turn.example.com",), "short", "at least 16 characters"),
    ],
)
def test_bad_turn_settings_are_refused_clearly(
    urls: tuple[str, ...], secret: str, message: str
) -> None:
    with pytest.raises(ConfigError, match="turn_") as info:
        load_settings(env={}, turn_urls=urls, turn_secret=secret)
    assert message in str(info.value)
    if len(secret) > 5:
        assert secret not in str(info.value)


def test_the_command_line_names_the_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "--turn-url", "turn:relay.example.com:3478?transport=carrier-pigeon"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "turn_urls" in err and "carrier-pigeon" in err
    with pytest.raises(SystemExit):
        cli.main(["serve", "--turn-url", TURN_URLS[0], "--turn-secret", "tiny"])
    assert "at least 16 characters" in capsys.readouterr().err


# -- what the candidate's page receives --------------------------------------------------------


async def test_candidate_state_carries_fresh_credentials_and_never_the_secret(
    tmp_path: Path,
) -> None:
    async with running_server(
        tmp_path / "data",
        analysis_workers=0,
        ice_servers=("stun:stun.example.com:3478",),
        turn_urls=TURN_URLS,
        turn_secret=SECRET,
    ) as srv:
        await _check_candidate_state(srv)


async def _check_candidate_state(srv: RunningServer) -> None:
    admin = await srv.add_staff("admin", Role.ADMIN)
    job = await make_job(srv, admin)
    inv = await invite(srv, admin, job["id"], "Relay Candidate")
    token = token_of(inv["url"])
    interview = await srv.svc.store.get_interview(inv["interview_id"])
    length_s = sum(i["question"]["prep_s"] + i["question"]["answer_s"] for i in interview.plan)

    def check(state: dict[str, Any], before_s: float) -> dict[str, Any]:
        assert SECRET not in json.dumps(state)
        stun, turn = state["ice_servers"]
        assert stun == {"urls": "stun:stun.example.com:3478"}
        assert turn["urls"] == list(TURN_URLS)
        expiry, tag = turn["username"].split(":")
        assert tag == inv["interview_id"]
        lifetime = int(expiry) - before_s
        assert length_s + TURN_CREDENTIAL_MARGIN_S - SLACK_S <= lifetime
        assert lifetime <= length_s + TURN_CREDENTIAL_MARGIN_S + 1
        assert turn["credential"] == expected_password(SECRET, turn["username"])
        return dict(turn)

    before = time.time()
    first = check(await srv.call("GET", "/api/candidate/state", token=token), before)
    consent = {"decision": "accept", "recording": True, "analysis": True}
    before = time.time()
    check(await srv.call("POST", "/api/candidate/consent", token=token, json=consent), before)
    # the control socket's state messages carry them too (the page takes them from there)
    ws = await srv.http.ws_connect(
        f"{srv.base_url}/ws/candidate?token={token}".replace("http", "ws", 1)
    )
    try:
        before = time.time()
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "state"
        check(message, before)
    finally:
        await ws.close()
    # a later fetch mints a new pair (a resumed page never reuses an old one)
    await asyncio.sleep(1.05)
    again = check(await srv.call("GET", "/api/candidate/state", token=token), time.time() - 1)
    assert again["username"] != first["username"]
    # staff never see credentials or the secret in the interview's detail
    detail = await srv.call("GET", f"/api/interviews/{inv['interview_id']}", token=admin)
    assert SECRET not in json.dumps(detail) and "credential" not in json.dumps(detail)


# -- the deployment's relay configuration ------------------------------------------------------

COTURN_CONF = Path(__file__).resolve().parents[1] / "docs/deploy/coturn.conf"


def _conf() -> list[tuple[str, str]]:
    out = []
    for line in COTURN_CONF.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def test_the_coturn_example_uses_shared_secret_credentials_and_tls_on_443() -> None:
    conf = _conf()
    keys = {k for k, _ in conf}
    values = dict(conf)
    assert {"use-auth-secret", "static-auth-secret", "realm", "min-port", "max-port"} <= keys
    assert {"no-multicast-peers", "no-cli", "no-tcp-relay", "fingerprint"} <= keys
    assert values["tls-listening-port"] == "443"
    assert "allow-loopback-peers" not in keys and "lt-cred-mech" not in keys
    assert len(values["static-auth-secret"]) >= 16 and "CHANGE-ME" in values["static-auth-secret"]
    assert 1024 < int(values["min-port"]) < int(values["max-port"]) < 65536


def test_the_coturn_example_relays_into_no_internal_network() -> None:
    """Every range the webhook guard calls internal is denied to relayed peers, as a whole."""
    denied = []
    for key, value in _conf():
        if key == "denied-peer-ip":
            low, _, high = value.partition("-")
            denied.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    for network, kind in INTERNAL_NETWORKS:
        first, last = network[0], network[-1]
        assert any(
            lo.version == first.version and lo <= first and last <= hi  # type: ignore[operator]
            for lo, hi in denied
        ), (str(network), kind)
    allowed = [v for k, v in _conf() if k == "allowed-peer-ip"]
    assert allowed, "the media nodes' address must be allowed again"
