"""Analyzer role: take interviews from Redis, analyse them in local worker processes.

A node owns an interview while it holds its lease ``il:lease:<id>`` (renewed every second,
expires after ``LEASE_TTL_MS``). It reads the interview's work stream as consumer ``<node>``
of the group ``analyzers``, feeds the entries to its :class:`AnalyzerPool` and acknowledges
them; events come back from the pool and go to the results stream. Nodes with more room try
first, so interviews spread by load. When a node dies its leases expire; another node takes
the interview over, re-claims the entries the dead node had read but not acknowledged,
restarts the analysis from the last context and reports the gap.

Everything on the bus is sealed (:class:`server.live.streams.BusCipher`). A work entry that does not
open is skipped, counted and acknowledged like any malformed one; an interview whose stored
metadata is sealed with a master key this node lacks is not taken at all (the lease is given
back at once and the interview left to nodes that hold the key for ``REFUSED_RETRY_S``), so a
node started with the wrong keys cannot swallow interviews.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from analyzers.events import AnalyzerError
from analyzers.messages import Audio, Close, Context, Open, Signal, Video, Work
from analyzers.pool import AnalyzerPool
from server.live.analysis_remote import (
    ACTIVE_KEY,
    ALIVE_PREFIX,
    CONTEXT_PREFIX,
    META_PREFIX,
    WORK_GROUP,
    WORK_PREFIX,
    work_stream,
)
from server.live.bus_redis import stop_tasks
from server.live.results import RESULTS_MAXLEN, RESULTS_STREAM, analysis_entry, droppable
from server.live.streams import (
    REDIS_ERRORS,
    BadEntry,
    BusCipher,
    GroupReader,
    KeyMismatch,
    RawEntry,
    StreamWriter,
    as_text,
    check_shared_keys,
    decode,
    ensure_group,
    json_safe,
    unpack,
)
from server.live.work import work_message

logger = logging.getLogger(__name__)

LEASE_PREFIX = "il:lease:"
LEASE_TTL_MS = 5000
RENEW_EVERY_S = 1.0
SCAN_EVERY_S = 0.5
READ_BLOCK_MS = 100
READ_COUNT = 200
RESULTS_BUFFER_MAX = 20_000
HESITATE_PER_INTERVIEW_S = 0.05
"""Before claiming a new interview a node waits this per interview it already has, so the
least loaded node usually wins."""
REFUSED_RETRY_S = 30.0
"""An interview sealed with keys this node lacks is tried again after this long."""

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' or redis.call('sismember', KEYS[2], ARGV[3]) == 0 then
  redis.call('srem', KEYS[2], ARGV[3])
  redis.call('del', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
  return 1
end
return 2
"""
"""Release after a close: only if the media process has not reopened the interview (or when
``force``: its media process is gone); then the work stream and keys go too."""
_UNLEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass
class _Owned:
    opened: bool = False
    fresh: bool = False
    """Opened from the stored metadata and given no media yet: an ``open`` entry read now
    describes the same session, so there is nothing to restart."""
    orphan_since: float = 0.0


class AnalyzerNode:
    """Claims interviews, feeds the local pool, forwards its events to the results stream."""

    def __init__(
        self, redis_url: str, name: str, pool: AnalyzerPool, capacity: int, cipher: BusCipher
    ) -> None:
        self._redis = aioredis.Redis.from_url(redis_url)
        self._name = name
        self._pool = pool
        self.capacity = capacity
        self._cipher = cipher
        self._owned: dict[str, _Owned] = {}
        self._refused: dict[str, float] = {}
        """Interviews sealed with keys this node lacks, and when they were last tried."""
        self._reader = GroupReader(self._redis, WORK_GROUP, name, READ_BLOCK_MS, READ_COUNT)
        self._results = StreamWriter(
            self._redis,
            "analysis-results",
            RESULTS_BUFFER_MAX,
            RESULTS_MAXLEN,
            droppable,
            cipher=cipher,
        )
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._unlease = self._redis.register_script(_UNLEASE)
        self._ids = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self.takeovers = 0
        self.bad = 0
        """Work entries (and stored metadata or context) skipped as malformed or unopenable."""

    def load(self) -> tuple[int, int]:
        return len(self._owned), self.capacity

    @property
    def results(self) -> StreamWriter:
        """The writer of this node's analysis events to the results stream."""
        return self._results

    async def start(self) -> None:
        await self._redis.ping()
        await check_shared_keys(self._redis, self._cipher)
        self._results.start()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="analyzer-node-claim"),
            asyncio.create_task(self._read_loop(), name="analyzer-node-read"),
        ]

    async def aclose(self) -> None:
        await stop_tasks(*self._tasks)
        for iid in list(self._owned):
            self._pool.close(iid)
        await asyncio.sleep(0.5)  # the workers' last events
        await self._results.aclose()
        with contextlib.suppress(*REDIS_ERRORS):
            for iid in list(self._owned):
                await self._redis.delete(LEASE_PREFIX + iid)
        await self._redis.aclose()

    # -- events out -------------------------------------------------------------------------

    def _sink(self, event: dict[str, Any]) -> None:
        event["server_ts"] = time.time()
        eid = f"{self._name}:{time.time_ns()}:{next(self._ids)}"
        self._results.add(RESULTS_STREAM, analysis_entry(event, eid))

    def _report(self, iid: str, message: str, analyzer: str = "worker") -> None:
        self._sink(
            AnalyzerError(interview_id=iid, t=0.0, analyzer=analyzer, message=message).to_wire()
        )

    # -- leases -------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        last_renew = 0.0
        while True:
            try:
                if time.monotonic() - last_renew >= RENEW_EVERY_S:
                    last_renew = time.monotonic()
                    await self._renew_all()
                await self._claim_new()
            except REDIS_ERRORS as exc:
                logger.warning("analyzer node: Redis unavailable (%s)", exc)
            await asyncio.sleep(SCAN_EVERY_S)

    async def _claim_new(self) -> None:
        if len(self._owned) >= self.capacity:
            return
        active = {as_text(m) for m in await self._redis.smembers(ACTIVE_KEY)}
        now = time.monotonic()
        self._refused = {
            iid: t
            for iid, t in self._refused.items()
            if iid in active and now - t < REFUSED_RETRY_S
        }
        candidates = sorted(active - set(self._owned) - set(self._refused))
        if not candidates:
            return
        await asyncio.sleep(HESITATE_PER_INTERVIEW_S * len(self._owned))
        for iid in candidates:
            if len(self._owned) >= self.capacity:
                return
            got = await self._redis.set(LEASE_PREFIX + iid, self._name, nx=True, px=LEASE_TTL_MS)
            if got:
                await self._adopt(iid)

    async def _adopt(self, iid: str) -> None:
        stream = work_stream(iid)
        try:
            meta = await self._stored(META_PREFIX + iid, "meta")
            context = (
                await self._stored(CONTEXT_PREFIX + iid, "context") if meta is not None else None
            )
        except KeyMismatch:  # logged once by the cipher; a node with the right keys takes it
            self._refused[iid] = time.monotonic()
            await self._unlease(keys=[LEASE_PREFIX + iid], args=[self._name])
            return
        await ensure_group(self._redis, stream, WORK_GROUP)
        owned = self._owned[iid] = _Owned()
        consumers = await self._redis.xinfo_consumers(stream, WORK_GROUP)
        others = [c["name"] for c in consumers if as_text(c["name"]) != self._name]
        if meta is not None:
            self._open(iid, owned, meta, fresh=True)
            if context is not None:
                self._pool.set_context(iid, context)
        self._reader.add(stream)
        if others:
            # another node had this interview and is gone: take what it read but never finished
            self.takeovers += 1
            entries = await self._reader.reclaim(stream, 0)
            for other in others:
                await self._redis.xgroup_delconsumer(stream, WORK_GROUP, other)
            self._report(
                iid,
                "the analyzer node handling this interview stopped; another node took over "
                "and re-read the unfinished media; speech in progress may be missing",
            )
            await self._handle(entries)
            await self._reader.ack(entries)
        logger.info("analyzer node %s: took interview %s", self._name, iid)

    async def _stored(self, key: str, field: str) -> dict[str, Any] | None:
        """The metadata or context stored under ``key``; None when absent or unreadable
        (counted). Raises :class:`KeyMismatch` when sealed with keys this node lacks."""
        raw = await self._redis.get(key)
        if raw is None:
            return None
        try:
            if not isinstance(raw, bytes):
                raise BadEntry("not bytes")
            body = decode(self._cipher.open(key, raw))
            value = body.get(field)
            if not isinstance(value, dict) or not json_safe(value):
                raise BadEntry(f"stored {field} is not a JSON object")
            return value
        except KeyMismatch:
            raise
        except BadEntry as exc:
            self.bad += 1
            logger.warning("analyzer node: ignoring the stored %s of %s (%s)", field, key, exc)
            return None

    def _open(self, iid: str, owned: _Owned, meta: dict[str, Any], fresh: bool = False) -> None:
        self._pool.open(iid, meta, self._sink)
        owned.opened, owned.fresh = True, fresh

    async def _renew_all(self) -> None:
        if not self._owned:
            return
        ids = list(self._owned)
        async with self._redis.pipeline(transaction=False) as pipe:
            for iid in ids:
                await self._renew(
                    keys=[LEASE_PREFIX + iid], args=[self._name, LEASE_TTL_MS], client=pipe
                )
                pipe.exists(ALIVE_PREFIX + iid)
            replies = await pipe.execute()
        now = time.monotonic()
        for i, iid in enumerate(ids):
            kept, alive = replies[2 * i], replies[2 * i + 1]
            owned = self._owned.get(iid)
            if owned is None:
                continue
            if not kept:
                logger.warning("analyzer node %s: lost the lease of %s", self._name, iid)
                self._drop(iid)
            elif not alive and owned.opened:
                # its media process stopped refreshing it: finish what we have, let it go
                owned.orphan_since = owned.orphan_since or now
                self._pool.close(iid)
                owned.opened = False
                await self._finish(iid, force=True)
            else:
                owned.orphan_since = 0.0

    def _drop(self, iid: str) -> None:
        owned = self._owned.pop(iid, None)
        if owned is not None and owned.opened:
            self._pool.close(iid)
        self._reader.remove(work_stream(iid))

    async def _finish(self, iid: str, force: bool = False) -> None:
        result = await self._release(
            keys=[
                LEASE_PREFIX + iid,
                ACTIVE_KEY,
                META_PREFIX + iid,
                CONTEXT_PREFIX + iid,
                work_stream(iid),
            ],
            args=[self._name, "1" if force else "0", iid],
        )
        if result != 2:  # released (or no longer ours); 2 = reopened meanwhile: keep reading
            self._owned.pop(iid, None)
            self._reader.remove(work_stream(iid))

    # -- work ---------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            try:
                entries = await self._reader.read()
                if entries:
                    closed = await self._handle(entries)
                    await self._reader.ack(entries)
                    for iid in closed:
                        await self._finish(iid)
            except REDIS_ERRORS as exc:
                logger.warning("analyzer node: Redis unavailable (%s); retrying", exc)
                self._reader.rewind()
                await asyncio.sleep(0.5)

    async def _handle(self, entries: list[RawEntry]) -> list[str]:
        """Feed entries to the pool in order; returns interviews whose close was read.

        Opening (AEAD over JPEG frames and audio) and decoding run in a worker thread, one
        call per read; the pool is fed on the event loop."""
        owned_now = set(self._owned)
        opened = await asyncio.to_thread(_open_entries, self._cipher, entries, owned_now)
        closed: list[str] = []
        for iid, message in opened:
            owned = self._owned.get(iid)
            if owned is None:
                continue
            if isinstance(message, BadEntry):
                self.bad += 1
                logger.warning("analyzer node: skipping a bad work entry of %s (%s)", iid, message)
                continue
            if isinstance(message, Open):
                if owned.fresh:  # adoption already opened this session's analysis
                    owned.fresh = False
                    continue
                if owned.opened:
                    # a new session (e.g. resumed on another media node after a crash)
                    # starts a new media clock: finish the old analysis, start afresh
                    self._pool.close(iid)
                self._open(iid, owned, message.meta)
                if iid in closed:
                    closed.remove(iid)
                continue
            if not owned.opened:
                continue
            owned.fresh = False
            self._feed(message)
            if isinstance(message, Close):
                owned.opened = False
                closed.append(iid)
        return closed

    def _feed(self, message: Work) -> None:
        """Hand one message of an opened interview to the pool."""
        pool, iid = self._pool, message.interview_id
        match message:
            case Audio(t=t, samples=samples):
                pool.push_audio(iid, t, samples)
            case Video(t=t, frame=frame, pose=pose):
                pool.push_video(iid, t, frame, pose)
            case Context(context=context):
                pool.set_context(iid, context)
            case Signal(kind=kind, t=t, detail=detail):
                pool.browser_signal(iid, kind, t, detail)
            case Close():
                pool.close(iid)


def _open_entries(
    cipher: BusCipher, entries: list[RawEntry], owned: set[str]
) -> list[tuple[str, Work | BadEntry]]:
    """(interview id, its checked message or the BadEntry) for the entries of owned
    interviews, in order. Runs in a worker thread."""
    out: list[tuple[str, Work | BadEntry]] = []
    for stream, _entry_id, fields in entries:
        iid = stream.removeprefix(WORK_PREFIX)
        if iid not in owned:
            continue
        try:
            out.append((iid, work_message(iid, unpack(cipher, stream, fields))))
        except BadEntry as exc:
            out.append((iid, exc))
    return out
