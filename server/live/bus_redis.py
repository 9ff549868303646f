"""The hub over Redis pub/sub: live events reach viewers on every node.

Same interface as :class:`server.live.hub.Hub`. ``publish`` stays synchronous and cheap: it queues
the message for one publisher task, which numbers never-dropped messages with a Redis counter
per topic (so every node sees the same ``seq``) and publishes msgpack on ``il:t:<topic>``. One
listener task per node receives every topic and delivers to that node's subscribers, exactly
as the in-memory hub does. Redis going away: publishing retries with back-off (latest-wins
metrics queued meanwhile are dropped first), the listener reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import msgpack
import redis.asyncio as aioredis

from server.live.hub import LATEST_WINS, Envelope, Hub

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "il:t:"
SEQ_PREFIX = "il:seq:"
WIRE_VERSION = 1
OUTBOX_MAX = 10_000
"""Messages waiting for Redis; beyond this, latest-wins metrics are dropped (never others)."""
RETRY_S = 0.5
CLOSE_TIMEOUT_S = 5.0
STOP_RETRY_S = 0.5


async def bounded(awaitable: Any, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Await a shutdown step, giving up after ``timeout_s`` (shutdown must never hang)."""
    try:
        await asyncio.wait_for(awaitable, timeout_s)
    except (TimeoutError, aioredis.RedisError, OSError):
        logger.warning("a shutdown step did not finish in %.0f s; going on", timeout_s)


async def stop_tasks(*tasks: asyncio.Task[Any], timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Cancel ``tasks`` and wait until they end, giving up after ``timeout_s``. A task is
    cancelled again every :data:`STOP_RETRY_S` while it runs: a cancellation that arrives
    inside redis-py's blocking read can come out as a connection error (redis/redis-py#2028),
    which a loop that retries on connection errors then takes for an outage."""
    pending = {task for task in tasks if not task.done()}
    deadline = asyncio.get_running_loop().time() + timeout_s
    while pending:
        left_s = deadline - asyncio.get_running_loop().time()
        if left_s <= 0:
            names = ", ".join(sorted(task.get_name() for task in pending))
            logger.warning("tasks did not stop in %.0f s; going on: %s", timeout_s, names)
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(STOP_RETRY_S, left_s))


class RedisHub(Hub):
    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis = aioredis.Redis.from_url(url)
        self._outbox: deque[tuple[str, dict[str, Any]]] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self._listening = asyncio.Event()

    @property
    def outbox_size(self) -> int:
        """Messages waiting to be published to Redis."""
        return len(self._outbox)

    async def start(self) -> None:
        await self._redis.ping()
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-hub-listener"),
            asyncio.create_task(self._publish_loop(), name="redis-hub-publisher"),
        ]
        await asyncio.wait_for(self._listening.wait(), 10.0)

    async def aclose(self) -> None:
        """Stop within ``CLOSE_TIMEOUT_S`` even when Redis (or a half-dead socket) hangs."""
        await stop_tasks(*self._tasks)
        await bounded(self._redis.aclose())

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        if len(self._outbox) >= OUTBOX_MAX and message.get("type") in LATEST_WINS:
            self.dropped += 1
            return self.seq(topic)
        self._outbox.append((topic, message))
        self._wake.set()
        return self.seq(topic)

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                # hold publications until this node listens again: its own viewers miss nothing
                await self._listening.wait()
                topic, message = self._outbox[0]
                try:
                    seq = None
                    if message.get("type") not in LATEST_WINS:
                        seq = int(await self._redis.incr(SEQ_PREFIX + topic))
                    body = {k: v for k, v in message.items() if k != "seq"}
                    payload = msgpack.packb(
                        {"v": WIRE_VERSION, "topic": topic, "seq": seq, "message": body},
                        use_bin_type=True,
                    )
                    await self._redis.publish(CHANNEL_PREFIX + topic, payload)
                except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                    logger.warning("Redis unavailable; retrying publication")
                    await asyncio.sleep(RETRY_S)
                    continue
                self._outbox.popleft()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                    self._listening.set()
                    async for raw in pubsub.listen():
                        if raw.get("type") == "pmessage":
                            self._receive(raw["data"])
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                self._listening.clear()
                logger.warning("Redis pub/sub lost; reconnecting")
                await asyncio.sleep(RETRY_S)

    def _receive(self, data: bytes) -> None:
        try:
            payload = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.UnpackException):
            logger.warning("dropping an unreadable bus message")
            return
        if not isinstance(payload, dict) or payload.get("v") != WIRE_VERSION:
            return
        topic, seq, message = payload.get("topic"), payload.get("seq"), payload.get("message")
        if not isinstance(topic, str) or not isinstance(message, dict):
            return
        body = {**message, "topic": topic}
        if isinstance(seq, int):
            body["seq"] = seq
            self._last_seq[topic] = max(seq, self._last_seq.get(topic, 0))
        envelope = Envelope(body)
        for sub in tuple(self._subscribers.get(topic, ())):
            sub.deliver(envelope)
