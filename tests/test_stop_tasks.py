"""Shutdown of the Redis-backed loops never hangs: ``stop_tasks`` stops a loop whose first
cancellation came out as a connection error (as redis-py's blocking reads can do), and gives
up on one that never stops, within its bound."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.asyncio as aioredis

from server.live.bus_redis import STOP_RETRY_S, stop_tasks
from server.live.streams import REDIS_ERRORS


async def _retrying_loop(swallowed: list[int]) -> None:
    """The shape of our Redis loops: retry on connection errors. The blocking read turns the
    first cancellation into a connection error, as redis/redis-py#2028 describes."""
    while True:
        try:
            try:
                await asyncio.sleep(3600)  # a blocking XREADGROUP
            except asyncio.CancelledError:
                if not swallowed:
                    swallowed.append(1)
                    raise aioredis.ConnectionError("Connection closed by server.") from None
                raise
        except REDIS_ERRORS:
            await asyncio.sleep(0.05)  # "Redis unavailable; retrying"


async def test_a_loop_whose_cancellation_became_a_connection_error_still_stops() -> None:
    swallowed: list[int] = []
    task = asyncio.create_task(_retrying_loop(swallowed), name="reader")
    await asyncio.sleep(0.01)
    t0 = time.monotonic()
    await stop_tasks(task, timeout_s=5.0)
    assert task.cancelled() and swallowed == [1]
    assert time.monotonic() - t0 < 2 * STOP_RETRY_S + 0.5


async def test_a_task_that_never_stops_is_given_up_on_after_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0.01)
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="server.live.bus_redis"):
        await stop_tasks(task, timeout_s=1.2)
    assert 1.2 <= time.monotonic() - t0 < 2.0
    assert not task.done()
    assert any("stubborn" in r.getMessage() for r in caplog.records)
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1.0)
    assert task.done()


async def test_finished_tasks_are_left_alone() -> None:
    async def done() -> int:
        return 1

    task = asyncio.create_task(done())
    await task
    await stop_tasks(task)
    assert task.result() == 1
