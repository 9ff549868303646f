"""Redis Streams plumbing for work and results that must not be lost.

Entries are one field ``m``: msgpack ``{"v": WIRE_VERSION, ...}`` sealed by a :class:`BusCipher`
(AEAD bound to the stream's name), so Redis and its AOF/RDB files only ever hold ciphertext;
consumers open it and treat what does not open like any other bad entry. A :class:`StreamWriter`
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
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from server.live.bus_redis import stop_tasks
from server.security.keyring import (
    NONCE_SIZE_BYTES,
    TAG_SIZE_BYTES,
    CryptoError,
    DerivedKey,
    KeyRing,
    TamperedError,
    derive_key,
    pack_keyed_prefix,
    unpack_keyed_prefix,
)

logger = logging.getLogger(__name__)

WIRE_VERSION = 1
FIELD = b"m"
RETRY_S = 0.5
BATCH_MAX = 500
REDIS_ERRORS = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)
"""Redis is unreachable or restarting: retry later."""


class BadEntry(ValueError):
    """A stream entry that is not ours (does not open, wrong version, not msgpack)."""


class KeyMismatch(BadEntry):
    """Sealed with a master key this process does not hold (unknown id, or another key under
    the same id): the processes on the bus were not given the same keys."""


# -- sealing -------------------------------------------------------------------------------------

BUS_PURPOSE = b"il-bus-v1"
"""HKDF purpose of the bus keys (derived from each master key; no per-entry data key)."""
BUS_MAGIC = b"ILBE"
BUS_FORMAT_VERSION = 1
SALT_SIZE_BYTES = 16
SEALS_PER_SALT_MAX = 2**30
"""A writer derives a new key (new random salt) after this many entries: random 96-bit nonces
stay far below the 2**32 messages per key NIST allows (collision odds ~2**-37 per key)."""
DERIVED_KEYS_MAX = 256
"""Keys a reader keeps (one per writer salt seen; each process makes one per start)."""
REPORTED_MAX = 32
"""Distinct foreign keys logged (each once); the rest are only counted as bad entries."""
KEY_ADVICE = "give every process the same INTERVIEW_MASTER_KEYS"


@dataclass(frozen=True, slots=True)
class _Sealer:
    key: DerivedKey
    header: bytes


class BusCipher:
    """Seals bus payloads with the process's :class:`KeyRing`; opens what other processes sealed.

        Format (big-endian): ``"ILBE" | version 1 | algorithm code (1 AES-256-GCM, 2 SM4-GCM) |
        key id length | key id | key check (8) | salt (16) | nonce (12) | ciphertext | tag (16)``;
        the AEAD's associated data is the header (everything before the nonce) followed by the
        Redis key the payload is stored under, so an entry copied to another stream does not open.
        The key is HKDF(master key, purpose ``il-bus-v1``, salt): derived once per writer salt,
        then one AEAD call per entry. Entries sealed with an older master key open while that key
        is in the ring. ``seal`` and ``open`` are thread-safe: big payloads (JPEG frames) are sealed
    and opened in worker threads, off the event loop.
    """

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring
        self._lock = threading.Lock()
        self._sealer: _Sealer | None = None
        self._seals = 0
        self._readers: dict[tuple[str, int, bytes], DerivedKey] = {}
        self._reported: set[tuple[str, bytes]] = set()

    def current_check(self) -> tuple[str, bytes]:
        """The current key id and its check value (not secret), for :func:`check_shared_keys`."""
        sealer = self._current()
        return sealer.key.key_id, sealer.key.check

    def _current(self) -> _Sealer:
        ring = self._keyring
        with self._lock:
            sealer = self._sealer
            if (
                sealer is None
                or sealer.key.key_id != ring.current_id
                or sealer.key.algorithm != ring.algorithm
                or self._seals >= SEALS_PER_SALT_MAX
            ):
                salt = os.urandom(SALT_SIZE_BYTES)
                key = derive_key(ring, ring.current_id, BUS_PURPOSE, salt=salt)
                prefix = pack_keyed_prefix(
                    BUS_MAGIC, BUS_FORMAT_VERSION, key.code, key.key_id, key.check
                )
                sealer = self._sealer = _Sealer(key, prefix + salt)
                self._seals = 0
            self._seals += 1
        return sealer

    def seal(self, where: str, payload: bytes) -> bytes:
        """``payload`` sealed for the Redis key ``where`` (a stream or a string key)."""
        sealer = self._current()
        nonce = os.urandom(NONCE_SIZE_BYTES)
        aad = sealer.header + where.encode()
        return sealer.header + nonce + sealer.key.encrypt(nonce, payload, aad)

    def open(self, where: str, blob: bytes) -> bytes:
        """The payload of ``blob`` read from the Redis key ``where``; raises :class:`BadEntry`
        (:class:`KeyMismatch` for a key this process lacks, logged once per key)."""
        if not isinstance(blob, bytes) or blob[: len(BUS_MAGIC)] != BUS_MAGIC:
            raise BadEntry("not sealed (written by an older version, or not ours)")
        try:
            prefix = unpack_keyed_prefix(blob, BUS_FORMAT_VERSION, "sealed entry")
            end = prefix.end + SALT_SIZE_BYTES
            if len(blob) < end + NONCE_SIZE_BYTES + TAG_SIZE_BYTES:
                raise BadEntry("sealed entry is truncated")
            key_id = prefix.key_id("sealed entry")
        except CryptoError as exc:
            raise BadEntry(str(exc)) from None
        key = self._key(key_id, prefix.code, prefix.check, blob[prefix.end : end])
        header = blob[:end]
        nonce = blob[end : end + NONCE_SIZE_BYTES]
        try:
            return key.decrypt(nonce, blob[end + NONCE_SIZE_BYTES :], header + where.encode())
        except TamperedError:
            raise BadEntry(
                "sealed entry failed authentication (modified, or copied from another stream)"
            ) from None

    def _key(self, key_id: str, code: int, check: bytes, salt: bytes) -> DerivedKey:
        if key_id not in self._keyring.key_ids:
            self._report(
                key_id,
                b"",
                f"message bus: entry sealed with unknown key {key_id!r}: {KEY_ADVICE} "
                f"(this process holds {', '.join(self._keyring.key_ids)})",
            )
            raise KeyMismatch(f"sealed with unknown key {key_id!r}")
        with self._lock:  # open() runs in worker threads too
            cached = self._readers.get((key_id, code, salt))
        if cached is not None:
            return cached
        try:
            key = derive_key(self._keyring, key_id, BUS_PURPOSE, algorithm=code, salt=salt)
        except CryptoError as exc:  # an algorithm this build lacks
            raise BadEntry(f"sealed entry: {exc}") from None
        if key.check != check:
            self._report(
                key_id,
                check,
                f"message bus: entry sealed with another key named {key_id!r} than this "
                f"process holds: {KEY_ADVICE} (a key file created in each data directory "
                "differs between machines)",
            )
            raise KeyMismatch(f"sealed with another key named {key_id!r}")
        with self._lock:
            if len(self._readers) >= DERIVED_KEYS_MAX:
                del self._readers[next(iter(self._readers))]
            self._readers[(key_id, code, salt)] = key
        return key

    def _report(self, key_id: str, check: bytes, message: str) -> None:
        with self._lock:
            new = (key_id, check) not in self._reported and len(self._reported) < REPORTED_MAX
            if new:
                self._reported.add((key_id, check))
        if new:
            logger.error("%s", message)


def encode(body: dict[str, Any]) -> bytes:
    """A body as the msgpack payload (before sealing)."""
    raw: bytes = msgpack.packb({"v": WIRE_VERSION, **body}, use_bin_type=True)
    return raw


def decode(raw: bytes) -> dict[str, Any]:
    """An opened payload as a body; raises :class:`BadEntry`."""
    try:
        body = msgpack.unpackb(raw, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise BadEntry(f"not msgpack: {exc}") from None
    if not isinstance(body, dict) or body.get("v") != WIRE_VERSION:
        raise BadEntry("unknown payload version")
    return body


def pack(cipher: BusCipher, stream: str, body: dict[str, Any]) -> dict[Any, Any]:
    """The fields of a stream entry: ``body`` sealed for ``stream``."""
    return {FIELD: cipher.seal(stream, encode(body))}


def unpack(cipher: BusCipher, stream: str, fields: dict[bytes, bytes]) -> dict[str, Any]:
    """The body of an entry read from ``stream``; raises :class:`BadEntry`."""
    raw = fields.get(FIELD)
    if raw is None:
        raise BadEntry("no payload field")
    return decode(cipher.open(stream, raw))


KEY_CHECK_PREFIX = "il:keycheck:"
KEY_CHECK_TTL_S = 86_400


async def check_shared_keys(redis: aioredis.Redis, cipher: BusCipher) -> bool:
    """At start: compare this process's current master key with the one other processes
    announced under the same id (the first to start records it for a day); logs an error and
    returns False when they differ. Check values are not secret."""
    key_id, check = cipher.current_check()
    name = KEY_CHECK_PREFIX + key_id
    await redis.set(name, check, nx=True, ex=KEY_CHECK_TTL_S)
    stored = await redis.get(name)
    if stored is None or stored == check:
        return True
    logger.error(
        "message bus: another process holds a different master key named %r: %s; entries "
        "sealed by one cannot be read by the other (if the keys were replaced on purpose, "
        "delete the Redis key %s)",
        key_id,
        KEY_ADVICE,
        name,
    )
    return False


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
        *,
        cipher: BusCipher,
    ) -> None:
        """``maxlen``: approximate length each stream is trimmed to (oldest entries go).
        ``droppable``: which entries may be dropped (oldest first) when the buffer is full;
        the others are kept even beyond ``buffer_max``. ``cipher`` seals each entry as it
        is appended (the local buffer holds plain bodies)."""
        self._redis = redis
        self._cipher = cipher
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
            await stop_tasks(self._task)

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

    @property
    def name(self) -> str:
        return self._name

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), BATCH_MAX))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for stream, body in batch:
                            fields = pack(self._cipher, stream, body)
                            pipe.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
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


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far a consumer group is behind on some streams (summed)."""

    lag: int = 0
    """Entries not yet delivered to the group."""
    pending: int = 0
    """Entries delivered to a consumer and not acknowledged yet."""


async def group_backlog(redis: aioredis.Redis, streams: list[str], group: str) -> Backlog:
    """``group``'s backlog on ``streams``, in one round trip. A stream without the group yet
    counts all its entries as lag; so does one whose lag Redis cannot tell (entries were
    trimmed before the group read them). Raises Redis errors."""
    if not streams:
        return Backlog()
    async with redis.pipeline(transaction=False) as pipe:
        for stream in streams:
            pipe.xinfo_groups(stream)
            pipe.xlen(stream)
        replies = await pipe.execute(raise_on_error=False)
    lag = pending = 0
    for groups, length in zip(replies[::2], replies[1::2], strict=True):
        if isinstance(length, BaseException):
            raise length
        if isinstance(groups, ResponseError):  # no such stream (yet, or any more)
            continue
        if isinstance(groups, BaseException):
            raise groups
        found = [g for g in groups if as_text(g.get("name")) == group]
        behind = found[0].get("lag") if found else None
        lag += int(behind) if behind is not None else int(length)
        pending += int(found[0].get("pending") or 0) if found else 0
    return Backlog(lag, pending)


def as_text(value: Any) -> str:
    """A Redis reply value (bytes, or already text) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


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
