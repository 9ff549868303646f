"""Redis Streams delivery with a real redis-server: nothing handed over is lost across a
Redis crash, a consumer crash or a duplicate delivery."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from loadtest.inprocess import make_job
from server.domain.models import Role
from server.live.results import RESULTS_STREAM, analysis_entry
from server.live.streams import BusCipher, GroupReader, StreamWriter, ensure_group, unpack
from server.security.keyring import MASTER_KEY_SIZE_BYTES, KeyRing
from tests.support.redis_server import redis_instance
from tests.support.server import running_server
from tests.test_api import invite, token_of

WAIT_S = 15.0
BUS = BusCipher(KeyRing({"k1": os.urandom(MASTER_KEY_SIZE_BYTES)}, "k1"))


async def _until(predicate: Any, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_writer_keeps_entries_while_redis_is_down() -> None:
    with redis_instance(durable=True) as server:
        redis = aioredis.Redis.from_url(server.url)
        writer = StreamWriter(redis, "test", buffer_max=1000, maxlen=10_000, cipher=BUS)
        writer.start()
        try:
            for i in range(50):
                writer.add("s", {"i": i})

            async def first_half() -> bool:
                return writer.written == 50

            await _until(first_half)
            server.stop(kill=True)  # a crash; the append-only file was fsynced per write
            for i in range(50, 100):
                writer.add("s", {"i": i})
            await asyncio.sleep(1.0)
            assert writer.pending == 50 and not writer.connected
            server.start()

            async def all_written() -> bool:
                return writer.written == 100

            await _until(all_written)
            entries = await redis.xrange("s")
            assert [unpack(BUS, "s", fields)["i"] for _, fields in entries] == list(range(100))
        finally:
            await writer.aclose()
            await redis.aclose()


async def test_writer_drops_only_what_its_policy_allows() -> None:
    with redis_instance() as server:
        redis = aioredis.Redis.from_url(server.url)
        server.stop()
        writer = StreamWriter(
            redis,
            "test",
            buffer_max=5,
            maxlen=1000,
            droppable=lambda e: e[1]["kind"] == "m",
            cipher=BUS,
        )
        writer.start()
        try:
            for i in range(10):
                writer.add("s", {"kind": "m", "i": i})
                writer.add("s", {"kind": "final", "i": i})
            await asyncio.sleep(0.2)
            server.start()

            async def drained() -> bool:
                return writer.pending == 0 and writer.connected

            await _until(drained)
            kinds = [unpack(BUS, "s", f)["kind"] for _, f in await redis.xrange("s")]
            assert kinds.count("final") == 10  # never dropped
            assert kinds.count("m") < 10 and writer.dropped == 10 - kinds.count("m")
        finally:
            await writer.aclose()
            await redis.aclose()


async def test_unacknowledged_entries_come_back_to_the_consumer_and_can_be_reclaimed() -> None:
    with redis_instance() as server:
        redis = aioredis.Redis.from_url(server.url)
        try:
            await ensure_group(redis, "w", "g")
            for i in range(10):
                await redis.xadd("w", {b"m": str(i).encode()})
            first = GroupReader(redis, "g", "node-a", block_ms=100, count=100)
            first.add("w")
            got = await first.read()
            assert len(got) == 10
            await first.ack(got[:4])
            # node-a restarts: its unacknowledged entries are read again, before anything new
            await redis.xadd("w", {b"m": b"10"})
            again = GroupReader(redis, "g", "node-a", block_ms=100, count=100)
            again.add("w")
            pending = await again.read()
            assert [f[b"m"] for _, _, f in pending] == [str(i).encode() for i in range(4, 10)]
            assert [f[b"m"] for _, _, f in await again.read()] == [b"10"]
            # node-a dies for good: node-b takes over what it left
            other = GroupReader(redis, "g", "node-b", block_ms=100, count=100)
            other.add("w")
            taken = await other.reclaim("w", min_idle_ms=0)
            assert [f[b"m"] for _, _, f in taken] == [
                *[str(i).encode() for i in range(4, 10)],
                b"10",
            ]
        finally:
            await redis.aclose()


async def test_results_survive_a_redis_crash_and_are_stored_once(tmp_path: Path) -> None:
    with redis_instance(durable=True) as server:
        async with running_server(
            tmp_path / "data", analysis_workers=0, redis_url=server.url
        ) as node:
            admin = await node.add_staff("admin", Role.ADMIN)
            job = await make_job(node, admin)
            inv = await invite(node, admin, job["id"], "Ada")
            iid = inv["interview_id"]
            redis = aioredis.Redis.from_url(server.url)
            # the server's own keys: a producer on another machine is given the same keys
            bus = BusCipher(node.svc.keyring)
            producer = StreamWriter(redis, "analyzer", buffer_max=1000, maxlen=10_000, cipher=bus)
            producer.start()

            def final(i: int) -> dict[str, Any]:
                event = {
                    "v": 1,
                    "type": "transcript_final",
                    "interview_id": iid,
                    "t": float(i),
                    "question_index": 0,
                    "text": f"sentence {i}",
                    "words": [],
                }
                return analysis_entry(event, f"analyzer-1:{i}")

            async def stored() -> int:
                events = await node.svc.store.analysis_events(iid, ["transcript_final"])
                return len(events)

            try:
                async with node.http.ws_connect(f"{node.base_url}/ws?token={admin}") as ws:
                    await ws.send_json({"type": "subscribe", "topic": f"job:{job['id']}"})
                    assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
                    assert (await ws.receive_json(timeout=5))["status"] == "invited"
                    for i in range(20):
                        producer.add(RESULTS_STREAM, final(i))
                    producer.add(RESULTS_STREAM, final(5))  # delivered twice: stored once

                    async def twenty() -> bool:
                        return await stored() == 20

                    await _until(twenty)
                    server.stop(kill=True)
                    for i in range(20, 40):
                        producer.add(RESULTS_STREAM, final(i))
                    # a status change while Redis is down: kept, published once it is back
                    await asyncio.wait_for(
                        node.call("GET", "/api/candidate/state", token=token_of(inv["url"])),
                        WAIT_S,
                    )
                    await asyncio.sleep(1.0)
                    server.start()

                    async def forty() -> bool:
                        return await stored() == 40

                    await _until(forty)
                    opened = await ws.receive_json(timeout=WAIT_S)
                    assert (opened["type"], opened["status"]) == ("status", "opened")
                texts = [
                    e["text"]
                    for e in await node.svc.store.analysis_events(iid, ["transcript_final"])
                ]
                assert sorted(texts, key=lambda t: int(t.split()[1])) == [
                    f"sentence {i}" for i in range(40)
                ]
            finally:
                await producer.aclose()
                await redis.aclose()
