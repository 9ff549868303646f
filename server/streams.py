"""Redis Streams plumbing for work and results that must not be lost.

Entries are one field ``m``: msgpack ``{"v": WIRE_VERSION, ...}``. A :class:`StreamWriter`
never blocks its caller: entries wait in a bounded local buffer and one task appends them in
pipelined batches; while Redis is away it keeps them and retries (so a Redis restart loses
nothing that was handed to it), and when the buffer is full it drops the entries its policy
says may go. Consumers use consumer groups: read what was delivered to them but not yet
acknowledged first (after their own restart), then new entries; acknowledge after handling;
re-claim entries a dead consumer left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

WIRE_VERSION = 1
FIELD = b"m"
RETRY_S = 0.5
BATCH_MAX = 500
REDIS_ERRORS = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)
"""Redis is unreachable or restarting: retry later."""


class BadEntry(ValueError):
    """A stream entry that is not ours (wrong version, not msgpack)."""


def pack(body: dict[str, Any]) -> dict[Any, Any]:
    return {FIELD: msgpack.packb({"v": WIRE_VERSION, **body}, use_bin_type=True)}


def unpack(fields: dict[bytes, bytes]) -> dict[str, Any]:
    raw = fields.get(FIELD)
    if raw is None:
        raise BadEntry("no payload field")
    try:
        body = msgpack.unpackb(raw, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise BadEntry(f"not msgpack: {exc}") from None
    if not isinstance(body, dict) or body.get("v") != WIRE_VERSION:
        raise BadEntry("unknown payload version")
    return body


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists; reads start at the
    beginning so entries appended before the first consumer are not missed."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def is_nogroup(exc: BaseException) -> bool:
    """The group vanished (Redis restarted without persistence): recreate and go on."""
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


Entry = tuple[str, dict[str, Any]]
"""Stream key and body."""


class StreamWriter:
    """Appends entries to streams from a bounded local buffer, in order, surviving outages."""

    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        buffer_max: int,
        maxlen: int,
        droppable: Callable[[Entry], bool] = lambda entry: False,
    ) -> None:
        """``maxlen``: approximate length each stream is trimmed to (oldest entries go).
        ``droppable``: which entries may be dropped (oldest first) when the buffer is full;
        the others are kept even beyond ``buffer_max``."""
        self._redis = redis
        self._name = name
        self._buffer: deque[Entry] = deque()
        self._buffer_max = buffer_max
        self._maxlen = maxlen
        self._droppable = droppable
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0
        self.connected = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"stream-writer-{self._name}")

    async def aclose(self, flush_timeout_s: float = 2.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), flush_timeout_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, stream: str, body: dict[str, Any]) -> None:
        if len(self._buffer) >= self._buffer_max and self._drop_one():
            self.dropped += 1
        self._buffer.append((stream, body))
        self._idle.clear()
        self._wake.set()

    def _drop_one(self) -> bool:
        for i, entry in enumerate(self._buffer):
            if self._droppable(entry):
                del self._buffer[i]
                return True
        return False

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), BATCH_MAX))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for stream, body in batch:
                            pipe.xadd(stream, pack(body), maxlen=self._maxlen, approximate=True)
                        await pipe.execute()
                except REDIS_ERRORS as exc:
                    self._buffer.extendleft(reversed(batch))
                    if self.connected:
                        logger.warning(
                            "%s: Redis unavailable (%s); keeping entries", self._name, exc
                        )
                    self.connected = False
                    await asyncio.sleep(RETRY_S)
                    continue
                if not self.connected:
                    logger.info("%s: Redis back; %d entries appended", self._name, len(batch))
                self.connected = True
                self.written += len(batch)
            self._idle.set()


RawEntry = tuple[str, bytes, dict[bytes, bytes]]
"""Stream key, entry id, fields."""
RECLAIM_ROUNDS_MAX = 100


class GroupReader:
    """One consumer of a consumer group over a changing set of streams.

    A stream is first read from ``0`` (entries delivered to this consumer earlier and never
    acknowledged, e.g. before a crash or a Redis restart), then from ``>`` (new entries).
    """

    def __init__(
        self, redis: aioredis.Redis, group: str, consumer: str, block_ms: int, count: int
    ) -> None:
        self._redis = redis
        self.group = group
        self.consumer = consumer
        self._block_ms = block_ms
        self._count = count
        self._cursor: dict[str, str] = {}

    def add(self, stream: str) -> None:
        self._cursor.setdefault(stream, "0")

    def remove(self, stream: str) -> None:
        self._cursor.pop(stream, None)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self._cursor)

    def rewind(self) -> None:
        """After a reconnect: look at this consumer's unacknowledged entries again."""
        for stream in self._cursor:
            self._cursor[stream] = "0"

    async def read(self) -> list[RawEntry]:
        """The next entries (possibly none after ``block_ms``); raises Redis errors."""
        if not self._cursor:
            await asyncio.sleep(self._block_ms / 1000)
            return []
        backlog = any(c != ">" for c in self._cursor.values())
        try:
            streams: Any = dict(self._cursor)
            reply: Any = await self._redis.xreadgroup(
                self.group,
                self.consumer,
                streams,
                count=self._count,
                block=None if backlog else self._block_ms,
            )
        except ResponseError as exc:
            if not is_nogroup(exc):
                raise
            for stream in self._cursor:
                await ensure_group(self._redis, stream, self.group)
            self.rewind()
            return []
        out: list[RawEntry] = []
        got: dict[str, bytes] = {}
        for key, entries in reply or []:
            stream = key.decode() if isinstance(key, bytes) else key
            for entry_id, fields in entries:
                got[stream] = entry_id
                if fields:
                    out.append((stream, entry_id, fields))
                else:  # pending, but trimmed from the stream meanwhile: nothing to redo
                    await self._redis.xack(stream, self.group, entry_id)
        for stream, cursor in self._cursor.items():
            if cursor != ">":
                # pending entries are read after the last one seen, until none are left
                last = got.get(stream)
                self._cursor[stream] = last.decode() if last is not None else ">"
        if backlog and not out and all(c == ">" for c in self._cursor.values()):
            return await self.read()  # no backlog left: wait for new entries now
        return out

    async def ack(self, entries: list[RawEntry]) -> None:
        by_stream: dict[str, list[bytes]] = {}
        for stream, entry_id, _ in entries:
            by_stream.setdefault(stream, []).append(entry_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                pipe.xack(stream, self.group, *ids)
            await pipe.execute()

    async def reclaim(self, stream: str, min_idle_ms: int) -> list[RawEntry]:
        """Take over entries other consumers left unacknowledged for ``min_idle_ms``."""
        out: list[RawEntry] = []
        start: Any = "0-0"
        for _ in range(RECLAIM_ROUNDS_MAX):
            reply = await self._redis.xautoclaim(
                stream, self.group, self.consumer, min_idle_ms, start_id=start, count=self._count
            )
            start, entries = reply[0], reply[1]
            out += [(stream, eid, fields) for eid, fields in entries if fields]
            if start in (b"0-0", "0-0"):
                break
        return out


JSON_DEPTH_MAX = 32


def json_safe(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` becomes strict JSON (string keys, finite numbers, no bytes)."""
    if depth > JSON_DEPTH_MAX:
        return False
    if value is None or isinstance(value, bool | str | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(json_safe(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v, depth + 1) for k, v in value.items())
    return False


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
