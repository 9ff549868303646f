"""Results over Redis Streams: analysis events and status changes that must not be lost.

Producers (analyzer nodes, media processes) append to ``il:results``; every API process is a
consumer of the group ``persist``. Each entry is handled once by one of them: durable analysis
events are stored (idempotently by ``event_id``, because an entry is re-delivered when Redis
or the consumer restarted before the acknowledgement), then everything is published to the
live hub, then acknowledged. Entries left unacknowledged by a consumer that died are re-claimed
by the others. Entries are sealed (:class:`server.live.streams.BusCipher`); one that does not open
(another process's keys, modified, written by an older version) is skipped, counted and
acknowledged like any malformed entry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from server.core.services import Services
from server.live.analysis import DURABLE_TYPES, interview_topic
from server.live.bus_redis import bounded, stop_tasks
from server.live.streams import (
    REDIS_ERRORS,
    BadEntry,
    BusCipher,
    GroupReader,
    RawEntry,
    check_shared_keys,
    ensure_group,
    finite,
    json_safe,
    unpack,
)
from server.storage.errors import Busy

logger = logging.getLogger(__name__)

RESULTS_STREAM = "il:results"
RESULTS_GROUP = "persist"
RESULTS_MAXLEN = 200_000
"""Approximate entries kept in the stream (oldest trimmed; hours of a busy deployment)."""
READ_BLOCK_MS = 1000
READ_COUNT = 500
RECLAIM_EVERY_S = 10.0
RECLAIM_IDLE_MS = 30_000
"""An entry unacknowledged this long belongs to a consumer that is gone."""
STORE_RETRY_S = 1.0
STORE_ATTEMPTS = 10


def analysis_entry(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"kind": "analysis", "event_id": event_id, "event": event}


def status_entry(topics: list[str], message: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "status", "topics": topics, "message": message}


def droppable(entry: tuple[str, dict[str, Any]]) -> bool:
    """Live-only metrics may be dropped when a producer's buffer is full; nothing else."""
    body = entry[1]
    return body.get("kind") == "analysis" and body["event"].get("type") not in DURABLE_TYPES


class ResultsConsumer:
    """Stores and publishes what producers appended to the results stream."""

    def __init__(self, svc: Services, redis_url: str, consumer: str, cipher: BusCipher) -> None:
        self._svc = svc
        self._cipher = cipher
        self._redis = aioredis.Redis.from_url(redis_url)
        self._reader = GroupReader(self._redis, RESULTS_GROUP, consumer, READ_BLOCK_MS, READ_COUNT)
        self._reader.add(RESULTS_STREAM)
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.bad = 0

    async def start(self) -> None:
        await check_shared_keys(self._redis, self._cipher)
        await ensure_group(self._redis, RESULTS_STREAM, RESULTS_GROUP)
        self._task = asyncio.create_task(self._run(), name="results-consumer")

    async def aclose(self) -> None:
        if self._task is not None:
            await stop_tasks(self._task)
        await bounded(self._redis.aclose())

    async def _run(self) -> None:
        last_reclaim = time.monotonic()
        down = False
        while True:
            try:
                entries = await self._reader.read()
                if time.monotonic() - last_reclaim > RECLAIM_EVERY_S:
                    last_reclaim = time.monotonic()
                    entries += await self._reader.reclaim(RESULTS_STREAM, RECLAIM_IDLE_MS)
                if down:
                    logger.info("results stream: Redis back")
                    down = False
                if entries:
                    await self._handle(entries)
                    await self._reader.ack(entries)
            except REDIS_ERRORS as exc:
                if not down:
                    logger.warning("results stream: Redis unavailable (%s); retrying", exc)
                down = True
                self._reader.rewind()  # whatever was read but not acknowledged comes again
                await asyncio.sleep(0.5)

    async def _handle(self, entries: list[RawEntry]) -> None:
        events: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        for stream, _entry_id, fields in entries:
            try:
                body = unpack(self._cipher, stream, fields)
                if body.get("kind") == "analysis":
                    events.append(_checked_event(body))
                elif body.get("kind") == "status":
                    statuses.append(_checked_status(body))
                else:
                    raise BadEntry(f"unknown kind {str(body.get('kind'))[:40]!r}")
            except BadEntry as exc:
                self.bad += 1
                logger.warning("results stream: skipping an unreadable entry (%s)", exc)
        durable = [e for e in events if e["type"] in DURABLE_TYPES]
        if durable:
            await self._store(durable)
        hub = self._svc.hub
        for event in events:
            hub.publish(interview_topic(event["interview_id"]), {**event, "kind": "analysis"})
        for status in statuses:
            for topic in status["topics"]:
                hub.publish(topic, dict(status["message"]))
        self.handled += len(entries)

    async def _store(self, durable: list[dict[str, Any]]) -> None:
        """Store a batch; a busy database is retried, an event it refuses is skipped."""
        for _ in range(STORE_ATTEMPTS):
            try:
                await self._svc.store.add_analysis_events(durable)
                return
            except Busy:  # locked by another process, a lost deadlock: transient
                logger.warning("database busy; retrying the analysis results")
                await asyncio.sleep(STORE_RETRY_S)
            except Exception:
                break
        for event in durable:  # one by one: keep what can be kept
            try:
                await self._svc.store.add_analysis_events([event])
            except Exception:
                self.bad += 1
                logger.exception("could not store an analysis event; skipped")


def _checked_event(body: dict[str, Any]) -> dict[str, Any]:
    event = body.get("event")
    if not isinstance(event, dict) or not json_safe(event):
        raise BadEntry("analysis event is not a JSON object")
    if not isinstance(event.get("interview_id"), str) or not isinstance(event.get("type"), str):
        raise BadEntry("analysis event without interview_id or type")
    index = event.get("question_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise BadEntry("question_index must be a whole number")
    if "t" in event and not finite(event["t"]):
        raise BadEntry("t must be a number")
    if not isinstance(body.get("event_id"), str):
        raise BadEntry("analysis entry without event_id")
    return {**event, "event_id": body["event_id"]}


def _checked_status(body: dict[str, Any]) -> dict[str, Any]:
    topics, message = body.get("topics"), body.get("message")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise BadEntry("status topics must be strings")
    if not isinstance(message, dict) or not json_safe(message):
        raise BadEntry("status message is not a JSON object")
    return body
