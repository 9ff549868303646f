"""Attempt limits shared through a real Redis: several processes count together, windows slide
by Redis time, keys stay small and expire, and a dead or hung Redis leaves logins answered
from each process's own counters."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from loadtest.inprocess import make_job
from server.security.ratelimit import (
    BAD_TOKENS_PER_ADDRESS,
    LOGIN_ATTEMPTS_PER_ADDRESS,
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_LOCKOUT_S,
    REDIS_TIMEOUT_S,
    RedisLimits,
)
from tests.support.redis_server import redis_instance, redis_server
from tests.support.server import RunningServer, running_server
from tests.test_api import invite, token_of
from tests.test_limits import (
    CLERK_PASSWORD,
    add_clerk,
    guesses_lock_once,
)

TEST_BOUND_S = 60.0
"""No test here may hang: each runs inside this timeout."""

CALL_TIMEOUT_S = 10.0
"""The Redis call bound where a test is about sharing, not about a slow Redis: on a loaded CI
machine a call (60 connections opened at once in the race) can outlast the production bound,
and a timed-out call is counted locally, which is not what those tests check."""


@asynccontextmanager
async def two_processes(
    url: str, timeout_s: float = CALL_TIMEOUT_S, **kwargs: Any
) -> AsyncIterator[tuple[RedisLimits, RedisLimits]]:
    """Two backends with their own Redis clients and local counters, as two processes have."""
    a, b = RedisLimits(url, timeout_s, **kwargs), RedisLimits(url, timeout_s, **kwargs)
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


@asynccontextmanager
async def inspector(url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_processes_share_the_account_lockout() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with two_processes(url) as (a, b), inspector(url) as redis:
                for limits in (a, a, a, b):
                    assert await limits.login_failures.add("clerk") == 0.0
                wait_s = await b.login_failures.add("clerk")  # the 5th, counted on B
                assert LOGIN_LOCKOUT_S - 5 < wait_s <= LOGIN_LOCKOUT_S
                for limits in (a, b):
                    locked_s = await limits.login_failures.blocked_for_s("clerk")
                    assert LOGIN_LOCKOUT_S - 5 < locked_s <= LOGIN_LOCKOUT_S
                    assert await limits.login_failures.blocked_for_s("someone-else") == 0.0
                # namespaced, digest-named, expiring with the window
                keys = await redis.keys("il:rl:*")
                assert len(keys) == 1
                assert keys[0].startswith(b"il:rl:login_account:") and len(keys[0]) == 20 + 32
                ttl_ms = await redis.pttl(keys[0])
                assert (LOGIN_LOCKOUT_S - 5) * 1000 < ttl_ms <= LOGIN_LOCKOUT_S * 1000
                # a successful login on one process clears the lockout for all
                await a.login_failures.clear("clerk")
                assert await b.login_failures.blocked_for_s("clerk") == 0.0
                assert await redis.keys("il:rl:*") == []


async def test_racing_attempts_from_two_processes_cannot_overrun_the_limit() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with two_processes(url) as (a, b):
                tries = 2 * LOGIN_ATTEMPTS_PER_ADDRESS
                waits = await asyncio.gather(
                    *((a if i % 2 else b).login_attempts.hit("203.0.113.9") for i in range(tries))
                )
                assert sum(1 for w in waits if w == 0.0) == LOGIN_ATTEMPTS_PER_ADDRESS
                assert all(0.0 < w <= 60.0 for w in waits if w)


async def test_invalid_tokens_are_counted_across_processes_per_address() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with two_processes(url) as (a, b):
                half = BAD_TOKENS_PER_ADDRESS // 2
                for limits, n in ((a, half), (b, BAD_TOKENS_PER_ADDRESS - half)):
                    for _ in range(n):
                        await limits.bad_tokens.add("198.51.100.7")
                for limits in (a, b):
                    assert 55.0 < await limits.bad_tokens.blocked_for_s("198.51.100.7") <= 60.0
                    assert await limits.bad_tokens.blocked_for_s("198.51.100.8") == 0.0


async def test_the_window_slides_and_the_key_expires() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with two_processes(url) as (a, b), inspector(url) as redis:
                window_s = 0.6
                on_a, on_b = a.counter("t", 3, window_s), b.counter("t", 3, window_s)
                t0 = time.monotonic()
                await on_a.add("k")
                await on_a.add("k")
                t1 = time.monotonic()  # both counted (by Redis time) before this
                await asyncio.sleep(0.3)
                wait_s = await on_b.add("k")  # the 3rd: blocked until the 1st is 0.6 s old
                elapsed = time.monotonic() - t0
                assert window_s - elapsed - 0.05 < wait_s <= window_s - 0.3 + 0.01
                assert await on_b.hit("k") > 0.0  # refused and not counted
                await asyncio.sleep(t1 + window_s + 0.03 - time.monotonic())
                assert await on_a.blocked_for_s("k") == 0.0  # the first two left the window
                assert await on_a.hit("k") == 0.0  # counted: 2 in the window again
                assert await on_b.blocked_for_s("k") == 0.0
                await asyncio.sleep(window_s + 0.1)
                assert await redis.keys("il:rl:*") == []  # expired with its last attempt


async def test_hostile_keys_stay_small() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with two_processes(url) as (a, _b), inspector(url) as redis:
                for name in ("x" * 1_000_000, "\ud800lone-surrogate", "", "a:b*?[]"):
                    await a.login_failures.add(name)
                    assert await a.login_failures.blocked_for_s(name) == 0.0
                keys = await redis.keys("il:rl:*")
                assert len(keys) == 4 and {len(k) for k in keys} == {20 + 32}


async def test_redis_killed_and_back_falls_back_to_local_counts() -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_instance() as srv:
            async with two_processes(srv.url, REDIS_TIMEOUT_S, retry_s=0.2) as (a, b):
                for limits in (a, a, b):
                    await limits.login_failures.add("clerk")
                await asyncio.to_thread(srv.stop, True)
                t0 = time.monotonic()
                # A counted 2 itself: 3 more there lock it; B (1 counted) stays open
                assert await a.login_failures.add("clerk") == 0.0
                assert await a.login_failures.add("clerk") == 0.0
                assert await a.login_failures.add("clerk") > LOGIN_LOCKOUT_S - 5
                assert await a.login_failures.blocked_for_s("clerk") > 0.0
                assert await b.login_failures.blocked_for_s("clerk") == 0.0
                assert await b.login_attempts.hit("192.0.2.1") == 0.0
                assert time.monotonic() - t0 < 2.0
                await asyncio.to_thread(srv.start)  # empty: nothing was persisted
                await asyncio.sleep(0.3)  # past retry_s: Redis is asked again
                for limits in (a, a, a, a, b):
                    await limits.login_failures.add("dave")
                assert await b.login_failures.blocked_for_s("dave") > LOGIN_LOCKOUT_S - 5


async def test_a_hung_redis_is_bounded_and_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="server.security.ratelimit")
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            async with (
                two_processes(url, REDIS_TIMEOUT_S, retry_s=0.0) as (a, _b),
                inspector(url) as redis,
            ):
                for _ in range(LOGIN_FAILURES_PER_ACCOUNT - 1):
                    await a.login_failures.add("clerk")
                await redis.execute_command("CLIENT", "PAUSE", 3000, "ALL")
                t0 = time.monotonic()
                wait_s = await a.login_failures.add("clerk")  # answered by A's own count
                first_s = time.monotonic() - t0
                assert wait_s > LOGIN_LOCKOUT_S - 5
                assert await a.login_failures.blocked_for_s("clerk") > 0.0
                await a.login_failures.clear("clerk")
                total_s = time.monotonic() - t0
                assert REDIS_TIMEOUT_S * 0.9 < first_s < REDIS_TIMEOUT_S + 0.5
                assert total_s < 3 * (REDIS_TIMEOUT_S + 0.5)  # every call tried, each bounded
                warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
                assert len(warnings) == 1


# -- the same through HTTP: two server processes (apps) sharing one Redis --------------------


async def _wrong_password(srv: RunningServer, username: str) -> int:
    async with srv.http.post(
        srv.base_url + "/api/auth/login", json={"username": username, "password": "wrong"}
    ) as r:
        return r.status


async def test_two_apps_share_the_lockout_and_the_invalid_link_limit(tmp_path: Path) -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            data = tmp_path / "data"  # one database, as in a real deployment
            async with (
                running_server(data, analysis_workers=0, redis_url=url) as a,
                running_server(data, analysis_workers=0, redis_url=url) as b,
            ):
                admin = await add_clerk(a)
                statuses = [await _wrong_password(a, "clerk") for _ in range(3)]
                statuses += [await _wrong_password(b, "clerk") for _ in range(2)]
                assert statuses == [401] * LOGIN_FAILURES_PER_ACCOUNT
                for srv in (a, b):
                    async with srv.http.post(
                        srv.base_url + "/api/auth/login",
                        json={"username": "clerk", "password": CLERK_PASSWORD},
                    ) as r:
                        assert r.status == 429 and int(r.headers["Retry-After"]) > 60
                        assert (await r.json())["error"] == "too_many_attempts"
                events = (await a.call("GET", "/api/audit", token=admin))["events"]
                assert any(e["kind"] == "account_locked" and e["actor"] == "clerk" for e in events)

                job = await make_job(a, admin)
                good = token_of((await invite(a, admin, job["id"], "Ann"))["url"])
                forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
                half = BAD_TOKENS_PER_ADDRESS // 2
                for srv, n in ((a, half), (b, BAD_TOKENS_PER_ADDRESS - half)):
                    for _ in range(n):
                        await srv.call("GET", "/api/candidate/state", token=forged, expect=401)
                for srv in (a, b):
                    async with srv.http.get(
                        srv.base_url + "/api/candidate/state",
                        headers={"Authorization": f"Bearer {good}"},
                    ) as r:
                        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1


async def test_logins_are_answered_while_redis_is_down(tmp_path: Path) -> None:
    async with asyncio.timeout(TEST_BOUND_S):
        with redis_instance() as redis_srv:
            async with running_server(
                tmp_path / "data", analysis_workers=0, redis_url=redis_srv.url
            ) as srv:
                await add_clerk(srv)
                assert await _wrong_password(srv, "clerk") == 401
                await asyncio.to_thread(redis_srv.stop, True)
                t0 = time.monotonic()
                data = await srv.call(
                    "POST",
                    "/api/auth/login",
                    json={"username": "clerk", "password": CLERK_PASSWORD},
                )
                assert data["role"] == "hr"
                statuses = [
                    await _wrong_password(srv, "clerk") for _ in range(LOGIN_FAILURES_PER_ACCOUNT)
                ]
                assert statuses == [401] * LOGIN_FAILURES_PER_ACCOUNT
                async with srv.http.post(
                    srv.base_url + "/api/auth/login",
                    json={"username": "clerk", "password": CLERK_PASSWORD},
                ) as r:
                    assert r.status == 429  # this process's own count still locks
                assert time.monotonic() - t0 < 10.0
                await asyncio.to_thread(redis_srv.start)  # a quick, clean shutdown


async def test_concurrent_wrong_passwords_on_two_apps_cannot_overrun_the_lockout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    async with asyncio.timeout(TEST_BOUND_S):
        with redis_server() as url:
            data = tmp_path / "data"
            async with (
                running_server(data, analysis_workers=0, redis_url=url) as a,
                running_server(data, analysis_workers=0, redis_url=url) as b,
            ):
                await add_clerk(a)
                await guesses_lock_once([a, b], monkeypatch)
                for srv in (a, b):
                    async with srv.http.post(
                        srv.base_url + "/api/auth/login",
                        json={"username": "clerk", "password": CLERK_PASSWORD},
                    ) as r:
                        assert r.status == 429
