"""Node registry and admission control.

Every process writes its load to Redis once a second (``il:node:<name>``, a hash that expires
unless refreshed, listed in the set ``il:nodes``) and reads everyone else's in the same round
trip, so request handlers decide from a snapshot at most a second old without waiting for
Redis. Without Redis the registry knows only this process.

Admission: a media process takes a new live session only while it runs fewer than
``max_live_sessions`` (the measured real-time capacity) and, when analysis runs on separate
analyzer nodes, while they have room. A refused candidate is told to retry, and where another
media node has room, sent there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from server.core.config import Settings
from server.live.bus_redis import bounded, stop_tasks

logger = logging.getLogger(__name__)

NODE_PREFIX = "il:node:"
NODES_KEY = "il:nodes"
HEARTBEAT_S = 1.0
NODE_TTL_MS = 3000
"""A node that missed about three heartbeats is gone (crashed or stopped)."""
BUSY_RETRY_AFTER_S = 3.0
OVERLOAD_LOOP_LAG_MS = 100.0
"""A media process whose event loop lags this much (p95 over ``OVERLOAD_WINDOW_S``) is
already falling behind: it takes no new live session whatever its count."""
OVERLOAD_WINDOW_S = 10.0
REFUSAL_REASONS = ("full", "overloaded", "analyzers_full")
"""Why a new live session was refused: this process is at ``max_live_sessions``, its event
loop lags, or every analyzer node is full."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    url: str
    roles: tuple[str, ...]
    live: int
    capacity: int
    """Live sessions (media) or interviews (analyzer) this node takes."""
    updated: float

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.live)


LoadProbe = Callable[[], tuple[int, int]]
"""Returns (in use, capacity) of this process's main resource."""


class NodeRegistry:
    """This node's heartbeat and a snapshot of the other nodes."""

    def __init__(self, settings: Settings, probe: LoadProbe, redis_url: str = "") -> None:
        self._settings = settings
        self._probe = probe
        self._redis = aioredis.Redis.from_url(redis_url) if redis_url else None
        self._peers: tuple[NodeInfo, ...] = ()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._settings.node

    def me(self) -> NodeInfo:
        live, capacity = self._probe()
        return NodeInfo(
            self.name, self._settings.base_url, self._settings.roles, live, capacity, time.time()
        )

    def peers(self, role: str) -> tuple[NodeInfo, ...]:
        """Other live nodes with ``role``, most room first."""
        own_url = self._settings.base_url
        # behind one reverse proxy every node has the proxy's URL: no use as an alternate
        found = [
            n
            for n in self._peers
            if role in n.roles and n.name != self.name and n.url.rstrip("/") != own_url
        ]
        return tuple(sorted(found, key=lambda n: (-n.room, n.name)))

    async def ping(self) -> None:
        """One round trip to Redis (readiness); raises when it cannot be reached. Without
        Redis there is nothing to reach."""
        if self._redis is not None:
            await self._redis.ping()

    async def start(self) -> None:
        if self._redis is None:
            return
        await self._beat()
        self._task = asyncio.create_task(self._run(), name="node-registry")

    async def aclose(self) -> None:
        if self._task is not None:
            await stop_tasks(self._task)
        if self._redis is not None:
            await bounded(self._redis.srem(NODES_KEY, self.name))
            await bounded(self._redis.delete(NODE_PREFIX + self.name))
            await bounded(self._redis.aclose())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._beat()
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("node registry: Redis unavailable (%s)", exc)

    async def _beat(self) -> None:
        assert self._redis is not None
        me = self.me()
        key = NODE_PREFIX + me.name
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(
                key,
                mapping={
                    "url": me.url,
                    "roles": ",".join(me.roles),
                    "live": me.live,
                    "capacity": me.capacity,
                    "updated": me.updated,
                },
            )
            pipe.pexpire(key, NODE_TTL_MS)
            pipe.sadd(NODES_KEY, me.name)
            pipe.smembers(NODES_KEY)
            names = (await pipe.execute())[-1]
        names = sorted(n.decode() for n in names)
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(NODE_PREFIX + name)
            rows = await pipe.execute()
        peers, gone = [], []
        for name, row in zip(names, rows, strict=True):
            info = _parse(name, row)
            if info is None:
                gone.append(name)
            else:
                peers.append(info)
        if gone:
            await self._redis.srem(NODES_KEY, *gone)
        self._peers = tuple(peers)


def _parse(name: str, row: dict[bytes, bytes]) -> NodeInfo | None:
    if not row:
        return None
    try:
        fields: dict[str, Any] = {k.decode(): v.decode() for k, v in row.items()}
        return NodeInfo(
            name=name,
            url=fields["url"],
            roles=tuple(r for r in fields["roles"].split(",") if r),
            live=int(fields["live"]),
            capacity=int(fields["capacity"]),
            updated=float(fields["updated"]),
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        logger.warning("node registry: unreadable entry for %s", name)
        return None


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    retry_after_s: float
    alternate: str | None


class Admission:
    """Which interviews hold a live slot on this media process."""

    def __init__(self, settings: Settings, loop_lag_ms: Callable[[], float] = lambda: 0.0) -> None:
        """``loop_lag_ms``: the event loop's recent lag (p95), an early sign of overload."""
        self._max = settings.max_live_sessions
        self._loop_lag_ms = loop_lag_ms
        self._remote_analysis = "analyzer" not in settings.roles
        self.admitted: set[str] = set()
        self.admissions = 0
        """Live slots granted since start (a reconnect keeping its slot is not counted)."""
        self.refusals: dict[str, int] = dict.fromkeys(REFUSAL_REASONS, 0)
        """Refused new live sessions since start, by reason."""

    @property
    def refused(self) -> int:
        return sum(self.refusals.values())

    def load(self) -> tuple[int, int]:
        return len(self.admitted), self._max

    def admit(self, interview_id: str, registry: NodeRegistry) -> Refusal | None:
        """Take a slot for ``interview_id`` (idempotent), or say why not and where to go."""
        if interview_id in self.admitted:
            return None
        alternates = [n for n in registry.peers("media") if n.room > 0]
        full = len(self.admitted) >= self._max
        lag_ms = self._loop_lag_ms()
        if full or lag_ms > OVERLOAD_LOOP_LAG_MS:
            self.refusals["full" if full else "overloaded"] += 1
            return Refusal(
                f"this server is full ({self._max} live interviews)"
                if full
                else f"this server is overloaded (event loop {lag_ms:.0f} ms behind)",
                BUSY_RETRY_AFTER_S,
                alternates[0].url if alternates else None,
            )
        if self._remote_analysis:
            analyzers = registry.peers("analyzer")
            if analyzers and sum(n.room for n in analyzers) <= 0:
                self.refusals["analyzers_full"] += 1
                return Refusal("the analysis servers are full", BUSY_RETRY_AFTER_S, None)
        self.admitted.add(interview_id)
        self.admissions += 1
        return None

    def release(self, interview_id: str) -> None:
        self.admitted.discard(interview_id)
