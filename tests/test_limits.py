"""Guessing is slowed down: wrong passwords lock the account for a while, many logins or invalid
invitation links from one address are refused with 429 and Retry-After."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from loadtest.inprocess import make_job
from server.api import routes_staff
from server.domain.models import Role
from server.security.auth import hash_password
from server.security.ratelimit import (
    BAD_TOKENS_PER_ADDRESS,
    LOGIN_ATTEMPTS_PER_ADDRESS,
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_LOCKOUT_S,
    AttemptCounter,
    DatabaseLimits,
    Limits,
    WindowCounter,
    key_digest,
)
from server.storage.db import Database
from server.storage.store import Store
from tests.support.server import RunningServer, running_server, store_url
from tests.test_api import invite, token_of


def test_window_counter_forgets_old_attempts() -> None:
    counter = WindowCounter(limit=3, window_s=10.0)
    for t in (0.0, 1.0, 2.0):
        assert counter.blocked_for_s("k", t) == 0.0
        counter.add("k", t)
    assert counter.blocked_for_s("k", 3.0) == 7.0  # until the attempt at 0 s is 10 s old
    assert counter.blocked_for_s("k", 10.5) == 0.0
    assert counter.blocked_for_s("other", 3.0) == 0.0


async def _counts_like_the_window(limits: Limits) -> None:
    for _ in range(LOGIN_ATTEMPTS_PER_ADDRESS):
        assert await limits.login_attempts.hit("192.0.2.1") == 0.0
    refused = await limits.login_attempts.hit("192.0.2.1")  # refused, not counted
    assert 59.0 < refused <= 60.0
    assert await limits.login_attempts.blocked_for_s("192.0.2.2") == 0.0
    for n in range(1, LOGIN_FAILURES_PER_ACCOUNT + 1):
        wait_s = await limits.login_failures.add("clerk")
        assert (wait_s > LOGIN_LOCKOUT_S - 1) == (n == LOGIN_FAILURES_PER_ACCOUNT)
    await limits.login_failures.clear("clerk")
    assert await limits.login_failures.blocked_for_s("clerk") == 0.0
    await limits.aclose()


async def test_the_in_process_backend_counts_like_the_window() -> None:
    await _counts_like_the_window(Limits())  # what the Redis backend falls back on


async def test_the_database_backend_counts_like_the_window(database: Database) -> None:
    store = Store(database)
    await _counts_like_the_window(DatabaseLimits(store))  # no Redis: every process shares it
    # at most ``limit`` attempts are kept per key; every key's old ones are pruned
    for _ in range(3 * LOGIN_FAILURES_PER_ACCOUNT):
        await DatabaseLimits(store).login_failures.add("flood")
    counted = await database.fetchone(
        "SELECT COUNT(*) AS n FROM attempts WHERE kind=?", "login_account"
    )
    assert counted is not None and counted["n"] == LOGIN_FAILURES_PER_ACCOUNT
    assert await store.prune_attempts(time.time() + LOGIN_LOCKOUT_S + 1) > 0
    left = await database.fetchone("SELECT COUNT(*) AS n FROM attempts")
    assert left is not None and left["n"] == 0


async def test_processes_without_redis_share_the_lockout_through_their_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = {"database_url": store_url(tmp_path / "a"), "analysis_workers": 0}
    async with (
        running_server(tmp_path / "a", **shared) as a,
        running_server(tmp_path / "b", **shared) as b,
    ):
        await add_clerk(a)
        await guesses_lock_once([a, b], monkeypatch)
    # a restart keeps the lockout: it is in the database, not in the process
    async with running_server(tmp_path / "b", **shared) as again:
        right = {"username": "clerk", "password": CLERK_PASSWORD}
        async with again.http.post(again.base_url + "/api/auth/login", json=right) as r:
            assert r.status == 429


async def test_hostile_keys_are_kept_as_short_digests() -> None:
    counter = AttemptCounter("t", limit=1, window_s=60.0)
    for key in ("x" * 1_000_000, "\ud800", ""):
        await counter.add(key)
        assert await counter.blocked_for_s(key) > 0.0
    assert {len(key_digest(k)) for k in ("x" * 1_000_000, "\ud800", "")} == {32}
    assert key_digest("a") != key_digest("b")


async def test_wrong_passwords_lock_the_account_and_are_audited(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await add_clerk(srv)
        login = srv.base_url + "/api/auth/login"
        for _ in range(LOGIN_FAILURES_PER_ACCOUNT):
            async with srv.http.post(login, json={"username": "clerk", "password": "x"}) as r:
                assert r.status == 401
        async with srv.http.post(
            login, json={"username": "clerk", "password": CLERK_PASSWORD}
        ) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) > 60
            assert (await r.json())["error"] == "too_many_attempts"
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        assert any(e["kind"] == "account_locked" and e["actor"] == "clerk" for e in events)
        # another account is not affected
        async with srv.http.post(login, json={"username": "admin2", "password": "x"}) as r:
            assert r.status == 401


CONCURRENT_GUESSES = 20


CLERK_PASSWORD = "right-password-1"


async def add_clerk(srv: RunningServer) -> str:
    """An admin (its token is returned) and an HR user "clerk" with :data:`CLERK_PASSWORD`."""
    admin = await srv.add_staff("admin", Role.ADMIN)
    me = await srv.call("GET", "/api/me", token=admin)
    await srv.svc.store.create_user(
        me["org_id"], "clerk", hash_password(CLERK_PASSWORD), Role.HR, ""
    )
    return admin


def count_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Every password the login handler verifies appends to the returned list."""
    checks: list[None] = []
    verify = routes_staff.verify_password

    def counting(password: str, hashed: str) -> bool:
        checks.append(None)
        return verify(password, hashed)

    monkeypatch.setattr(routes_staff, "verify_password", counting)
    return checks


async def concurrent_wrong_passwords(servers: list[RunningServer], username: str) -> list[int]:
    """``CONCURRENT_GUESSES`` wrong-password logins at once, spread over ``servers``."""

    async def guess(srv: RunningServer) -> int:
        async with srv.http.post(
            srv.base_url + "/api/auth/login", json={"username": username, "password": "wrong"}
        ) as r:
            return r.status

    return list(
        await asyncio.gather(*(guess(servers[i % len(servers)]) for i in range(CONCURRENT_GUESSES)))
    )


async def guesses_lock_once(servers: list[RunningServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent wrong passwords for "clerk" (see :func:`add_clerk`) spread over ``servers``:
    each is counted before its (slow) password check, so only
    :data:`LOGIN_FAILURES_PER_ACCOUNT` are ever checked, the rest refused."""
    checks = count_password_checks(monkeypatch)
    statuses = await concurrent_wrong_passwords(servers, "clerk")
    assert sorted(statuses) == [401] * LOGIN_FAILURES_PER_ACCOUNT + [429] * (
        CONCURRENT_GUESSES - LOGIN_FAILURES_PER_ACCOUNT
    )
    assert len(checks) == LOGIN_FAILURES_PER_ACCOUNT


async def test_concurrent_wrong_passwords_cannot_overrun_the_lockout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await add_clerk(srv)
        await guesses_lock_once([srv], monkeypatch)
        async with srv.http.post(
            srv.base_url + "/api/auth/login",
            json={"username": "clerk", "password": CLERK_PASSWORD},
        ) as r:
            assert r.status == 429
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        locked = [e for e in events if e["kind"] == "account_locked" and e["actor"] == "clerk"]
        assert 1 <= len(locked) <= LOGIN_FAILURES_PER_ACCOUNT


async def test_a_right_password_clears_the_count(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await add_clerk(srv)
        login = srv.base_url + "/api/auth/login"
        right = {"username": "clerk", "password": CLERK_PASSWORD}
        for _ in range(3):
            for _ in range(LOGIN_FAILURES_PER_ACCOUNT - 1):
                async with srv.http.post(login, json={**right, "password": "x"}) as r:
                    assert r.status == 401
            async with srv.http.post(login, json=right) as r:
                assert r.status == 200
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        assert not any(e["kind"] == "account_locked" for e in events)


async def test_invalid_invitation_links_are_rate_limited_per_address(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        job = await make_job(srv, admin)
        inv = await invite(srv, admin, job["id"], "Ann")
        good = token_of(inv["url"])
        forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        for _ in range(BAD_TOKENS_PER_ADDRESS):
            await srv.call("GET", "/api/candidate/state", token=forged, expect=401)
        async with srv.http.get(
            srv.base_url + "/api/candidate/state", headers={"Authorization": f"Bearer {good}"}
        ) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    import time

    from server.security.ratelimit import TokenBucket

    bucket = TokenBucket(rate_per_s=10.0, burst=5)
    t0 = time.monotonic() + 1.0  # full after a second anyway
    assert all(bucket.take(t0) for _ in range(5))
    assert not bucket.take(t0)
    assert bucket.take(t0 + 0.15) and not bucket.take(t0 + 0.15)  # one more per 0.1 s at 10/s


async def test_a_flooding_staff_socket_is_closed(tmp_path: Path) -> None:
    import aiohttp

    from server.security.ratelimit import SOCKET_BURST

    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        async with srv.http.ws_connect(f"{srv.base_url}/ws?token={admin}") as ws:
            for _ in range(SOCKET_BURST * 3):
                if ws.closed:
                    break
                await ws.send_json({"type": "ping"})
            closed = None
            for _ in range(SOCKET_BURST * 4):  # bounded: replies, then the close
                msg = await ws.receive(timeout=5)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    closed = ws.close_code
                    break
            assert closed == aiohttp.WSCloseCode.POLICY_VIOLATION
        async with srv.http.get(srv.base_url + "/healthz") as resp:
            assert resp.status == 200


def test_non_ascii_digits_in_signed_links_are_refused_not_crashing() -> None:
    # "²".isdigit() is True but int("²") raises: found by the API fuzzer (was a 500)
    from server.security.auth import check_signed_path, parse_invitation_token

    assert check_signed_path(b"k", "/api/recordings/r", "²", "u", "sig", 0.0) is False
    assert parse_invitation_token(b"k", "iv.²³.nonce.sig") is None
