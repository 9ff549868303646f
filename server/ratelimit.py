"""Attempt limits against guessing: login (per account and per address) and invitation tokens
(per address).

Counters live in this process (bounded: the least recently used keys are forgotten beyond
``KEYS_MAX``); with several processes each enforces its own limits, so a deployment of N
processes allows at most N times the numbers below.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

KEYS_MAX = 100_000

LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_LOCKOUT_S = 15 * 60.0
"""After this many wrong passwords within the lockout time an account is locked that long."""
LOGIN_ATTEMPTS_PER_ADDRESS = 30
LOGIN_ADDRESS_WINDOW_S = 60.0
BAD_TOKENS_PER_ADDRESS = 30
BAD_TOKEN_WINDOW_S = 60.0


class WindowCounter:
    """How many events each key had within the last ``window_s`` seconds."""

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


class Limits:
    """The process's counters (one per kind of attempt)."""

    def __init__(self) -> None:
        self.login_failures = WindowCounter(LOGIN_FAILURES_PER_ACCOUNT, LOGIN_LOCKOUT_S)
        self.login_attempts = WindowCounter(LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_ADDRESS_WINDOW_S)
        self.bad_tokens = WindowCounter(BAD_TOKENS_PER_ADDRESS, BAD_TOKEN_WINDOW_S)


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
