"""Attempt limits against guessing: login (per account and per address) and invitation tokens
(per address); and the per-connection message budget of a WebSocket.

Three backends behind one interface (:class:`Limits`, whose counters are awaited):

- :class:`Limits` counts in this process only (bounded: the least recently used keys are
  forgotten beyond ``KEYS_MAX``); what the Redis backend falls back on.
- Without Redis: :class:`DatabaseLimits` keeps the counters in the store's database
  (``server.storage.repos.attempts``), so every process on one database (several embedded
  processes behind nginx, or on one PostgreSQL) shares them, and a restart keeps a lockout.
- With Redis: :class:`RedisLimits` shares the login lockout and the per-address counters
  between every process using the same Redis, so N processes allow the numbers below, not N
  times them. Each counter is a sliding window kept as a sorted set ``il:rl:<kind>:<digest>``
  (one member per attempt, scored by time), updated by one Lua script so "prune, check, count,
  set TTL" is atomic; the key expires one window after its last attempt, so Redis memory stays
  bounded. The script reads Redis ``TIME``: every process uses that one clock, whatever the
  clocks of the machines say. Keys name a digest of the address or username, never the text.

Redis unreachable or slow: every call is bounded by ``REDIS_TIMEOUT_S``; a failed call is
answered from this process's own counter (always kept too), and for ``REDIS_RETRY_S`` after a
failure Redis is not asked at all. So logins are answered, never 500 and never hung, and the
limits hold per process (fail-open to local limits) until Redis is back; a warning is logged at
most once per ``WARN_EVERY_S``.

:class:`TokenBucket` limits one WebSocket's messages; it stays in its connection's process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from server.live.bus_redis import bounded

if TYPE_CHECKING:
    from server.storage.repos.attempts import AttemptRepository

logger = logging.getLogger(__name__)

KEYS_MAX = 100_000

LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_LOCKOUT_S = 15 * 60.0
"""After this many wrong passwords within the lockout time an account is locked that long."""
LOGIN_ATTEMPTS_PER_ADDRESS = 30
LOGIN_ADDRESS_WINDOW_S = 60.0
BAD_TOKENS_PER_ADDRESS = 30
BAD_TOKEN_WINDOW_S = 60.0

KEY_PREFIX = "il:rl:"
KEY_DIGEST_BYTES = 16
"""Counter keys hold a 128-bit digest of the address or username: a hostile username cannot
make a huge key (in Redis or in this process)."""
REDIS_TIMEOUT_S = 0.25
"""Longest wait for one Redis call (loopback or LAN round trips take about a millisecond)."""
REDIS_RETRY_S = 5.0
"""After a failed Redis call, counters use this process only for this long before retrying."""
WARN_EVERY_S = 60.0
DATABASE_PRUNE_EVERY_S = 60.0
"""How often a process removes the attempts of every key whose window has passed."""


class WindowCounter:
    """How many events each key had within the last ``window_s`` seconds (this process)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            if len(self._events) > KEYS_MAX:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def add(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        events = self._recent(key, now)
        events.append(now)
        while len(events) > self.limit:
            events.popleft()

    def blocked_for_s(self, key: str, now: float | None = None) -> float:
        """0 when allowed; else seconds until the oldest counted event leaves the window."""
        now = time.monotonic() if now is None else now
        events = self._recent(key, now)
        if len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window_s - now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)


def key_digest(key: str) -> str:
    """A short fixed-size name for an address or username (any text, even lone surrogates)."""
    raw = key.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=KEY_DIGEST_BYTES).hexdigest()


class AttemptCounter:
    """Attempts per key within a sliding window of ``window_s``; blocked at ``limit``.

    This backend counts in this process; :class:`RedisCounter` shares the count. All waits are
    seconds until the oldest counted attempt leaves the window (0.0: allowed)."""

    def __init__(self, kind: str, limit: int, window_s: float) -> None:
        self.kind = kind
        self.limit = limit
        self.window_s = window_s
        self.local = WindowCounter(limit, window_s)

    async def blocked_for_s(self, key: str) -> float:
        return self.local.blocked_for_s(key_digest(key))

    async def add(self, key: str) -> float:
        """Count an attempt; returns the wait that applies from now on."""
        digest = key_digest(key)
        self.local.add(digest)
        return self.local.blocked_for_s(digest)

    async def hit(self, key: str) -> float:
        """Check and count in one step: the wait when blocked (not counted), else 0.0 (counted).
        Concurrent attempts cannot all pass a check made before any of them is counted."""
        return self._local_hit(key_digest(key))

    async def clear(self, key: str) -> None:
        self.local.clear(key_digest(key))

    def _local_hit(self, digest: str) -> float:
        wait_s = self.local.blocked_for_s(digest)
        if not wait_s:
            self.local.add(digest)
        return wait_s


class Limits:
    """The attempt counters, one per kind of attempt (this process only)."""

    def __init__(self) -> None:
        self.login_failures = self.counter(
            "login_account", LOGIN_FAILURES_PER_ACCOUNT, LOGIN_LOCKOUT_S
        )
        self.login_attempts = self.counter(
            "login_address", LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_ADDRESS_WINDOW_S
        )
        self.bad_tokens = self.counter("bad_token", BAD_TOKENS_PER_ADDRESS, BAD_TOKEN_WINDOW_S)

    def counter(self, kind: str, limit: int, window_s: float) -> AttemptCounter:
        return AttemptCounter(kind, limit, window_s)

    async def aclose(self) -> None:
        """Nothing to release in this backend."""


class DatabaseCounter(AttemptCounter):
    """Counts in the database every process of the deployment shares (no local count: a
    process that cannot reach its database answers nothing anyway)."""

    def __init__(self, kind: str, limit: int, window_s: float, limits: DatabaseLimits) -> None:
        super().__init__(kind, limit, window_s)
        self._limits = limits

    async def blocked_for_s(self, key: str) -> float:
        store = self._limits.store
        return await store.attempts_wait(self.kind, key_digest(key), self.limit, self.window_s)

    async def add(self, key: str) -> float:
        await self._limits.prune_now_and_then()
        store = self._limits.store
        return await store.attempts_add(self.kind, key_digest(key), self.limit, self.window_s)

    async def hit(self, key: str) -> float:
        await self._limits.prune_now_and_then()
        store = self._limits.store
        return await store.attempts_hit(self.kind, key_digest(key), self.limit, self.window_s)

    async def clear(self, key: str) -> None:
        await self._limits.store.attempts_clear(self.kind, key_digest(key))


class DatabaseLimits(Limits):
    """The counters in the store's database (deployments without Redis)."""

    def __init__(self, store: AttemptRepository) -> None:
        self.store = store
        self._pruned_at = float("-inf")
        super().__init__()

    def counter(self, kind: str, limit: int, window_s: float) -> AttemptCounter:
        return DatabaseCounter(kind, limit, window_s, self)

    async def prune_now_and_then(self) -> None:
        """Remove every key's attempts older than their window, at most once per
        ``DATABASE_PRUNE_EVERY_S`` (a key's own old attempts go whenever it is counted)."""
        now = time.monotonic()
        if now - self._pruned_at >= DATABASE_PRUNE_EVERY_S:
            self._pruned_at = now
            await self.store.prune_attempts(time.time())


# KEYS[1] the counter; ARGV: op ("check" | "add" | "hit"), limit, window (µs), a unique member.
# Returns the wait in µs (0: allowed). Times are Redis TIME in µs (exact in a Lua double).
# Redis >= 5 replicates scripts by effects, so TIME before writes is allowed (streams need 5).
WINDOW_SCRIPT = """
local key, op = KEYS[1], ARGV[1]
local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local function wait()
  if redis.call('ZCARD', key) < limit then return 0 end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(0, tonumber(oldest[2]) + window - now)
end
if op == 'check' then return wait() end
if op == 'hit' then
  local w = wait()
  if w > 0 then return w end
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
redis.call('PEXPIRE', key, math.ceil(window / 1000))
if op == 'hit' then return 0 end
return wait()
"""


class SharedWindows:
    """The Redis side of :class:`RedisLimits`: one client, the script, bounded calls and the
    fallback state (when Redis last failed, when that was last logged)."""

    def __init__(
        self, url: str, timeout_s: float = REDIS_TIMEOUT_S, retry_s: float = REDIS_RETRY_S
    ) -> None:
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),  # one reconnect (after a Redis restart), no back-off
        )
        self._script = self._redis.register_script(WINDOW_SCRIPT)
        self._failed_at: float | None = None
        self._warned_at: float | None = None

    async def run(
        self, op: str, kind: str, digest: str, limit: int, window_s: float
    ) -> float | None:
        """The wait in seconds from Redis, or None when Redis did not answer in time."""
        args: list[str | int] = [op, limit, round(window_s * 1_000_000), secrets.token_hex(8)]
        key = KEY_PREFIX + kind + ":" + digest
        reply = await self._call(lambda: self._script(keys=[key], args=args))
        return None if reply is None else int(reply) / 1_000_000

    async def delete(self, kind: str, digest: str) -> None:
        await self._call(lambda: self._redis.delete(KEY_PREFIX + kind + ":" + digest))

    async def _call(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """The command's reply, or None when Redis failed (now or within ``retry_s``)."""
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < self.retry_s:
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await command()
        except (TimeoutError, aioredis.RedisError, OSError) as exc:
            self._failed_at = now = time.monotonic()
            if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                logger.warning(
                    "attempt limits: Redis unavailable (%s); counting in this process only",
                    type(exc).__name__,
                )
            return None
        if self._failed_at is not None:
            self._failed_at = None
            logger.info("attempt limits: shared over Redis again")
        return reply

    async def aclose(self) -> None:
        await bounded(self._redis.aclose())


class RedisCounter(AttemptCounter):
    """Counts in Redis (shared by every process) and, always, in this process too: when Redis
    fails, the local count (this process's own attempts) answers instead."""

    def __init__(self, kind: str, limit: int, window_s: float, shared: SharedWindows) -> None:
        super().__init__(kind, limit, window_s)
        self._shared = shared

    async def _run(self, op: str, digest: str) -> float | None:
        return await self._shared.run(op, self.kind, digest, self.limit, self.window_s)

    async def blocked_for_s(self, key: str) -> float:
        digest = key_digest(key)
        wait_s = await self._run("check", digest)
        return self.local.blocked_for_s(digest) if wait_s is None else wait_s

    async def add(self, key: str) -> float:
        digest = key_digest(key)
        self.local.add(digest)
        wait_s = await self._run("add", digest)
        return self.local.blocked_for_s(digest) if wait_s is None else wait_s

    async def hit(self, key: str) -> float:
        digest = key_digest(key)
        wait_s = await self._run("hit", digest)
        if wait_s is None:
            return self._local_hit(digest)
        if not wait_s:
            self.local.add(digest)
        return wait_s

    async def clear(self, key: str) -> None:
        digest = key_digest(key)
        self.local.clear(digest)
        await self._shared.delete(self.kind, digest)


class RedisLimits(Limits):
    """The same counters, shared through Redis by every process of a deployment."""

    def __init__(
        self, url: str, timeout_s: float = REDIS_TIMEOUT_S, retry_s: float = REDIS_RETRY_S
    ) -> None:
        self.shared = SharedWindows(url, timeout_s, retry_s)
        super().__init__()

    def counter(self, kind: str, limit: int, window_s: float) -> AttemptCounter:
        return RedisCounter(kind, limit, window_s, self.shared)

    async def aclose(self) -> None:
        await self.shared.aclose()


SOCKET_MESSAGES_PER_S = 20.0
SOCKET_BURST = 60
"""Client messages a WebSocket may send: a burst, then this steady rate (the page sends a
few per second at most: typing saves, pings, signals)."""


class TokenBucket:
    """Allows ``burst`` events at once and ``rate_per_s`` on average."""

    def __init__(self, rate_per_s: float = SOCKET_MESSAGES_PER_S, burst: int = SOCKET_BURST):
        self._rate = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
