"""Topic hub: publishes live events to dashboard subscribers.

The in-memory backend serves one process. Each subscriber has a bounded queue; when it
is full the subscriber is marked ``overflowed`` and stops receiving until it has been
resynchronised (the socket sends a fresh snapshot), so a slow viewer never slows the
publisher or other viewers and never silently misses a delta.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from typing import Any

SUBSCRIBER_QUEUE_MAX = 256


class Envelope(dict[str, Any]):
    """A published message with its JSON text computed once for every subscriber."""

    __slots__ = ("created", "text")

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message)
        self.created = time.perf_counter()
        """When it reached this process's hub (``perf_counter``): dashboard fan-out latency."""
        self.text = json.dumps(self, ensure_ascii=False, separators=(",", ":"))


LATEST_WINS: dict[str, tuple[str, ...]] = {
    # message type → fields that, with the topic, name its slot; a newer message replaces an
    # unsent older one in the same slot (dashboards want the current value, not the backlog)
    "face_metrics": (),
    "posture_metrics": (),
    "score_update": ("dimension",),
    "transcript_partial": (),
    "connection": (),
}
"""Everything else (snapshots, status changes, final transcripts, flags, errors) is never
dropped and carries a per-topic ``seq`` (+1 each) so a client can detect a gap; latest-wins
messages carry no ``seq``."""


class Subscription:
    """One subscriber's outbox over a set of topics: bounded, latest-wins for metrics."""

    def __init__(self, hub: Hub, max_queue: int = SUBSCRIBER_QUEUE_MAX) -> None:
        self._hub = hub
        self._max = max_queue
        self._order: deque[Any] = deque()
        """Messages, or slot keys whose latest message is in ``_latest``."""
        self._latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._ready = asyncio.Event()
        self.topics: set[str] = set()
        self.overflowed = asyncio.Event()
        self.replaced = 0
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, topic: str) -> None:
        """Start receiving ``topic``; its messages are held until :meth:`activate`."""
        self.topics.add(topic)
        self._pending.setdefault(topic, [])
        self._hub._subscribers[topic].add(self)

    def activate(self, topic: str, snapshot: dict[str, Any]) -> None:
        """Queue the snapshot, then the held messages newer than it, in order."""
        held = self._pending.pop(topic, [])
        self.deliver(snapshot)
        for message in held:
            if message.get("seq", 0) > snapshot.get("seq", 0):
                self.deliver(message)

    def remove(self, topic: str) -> None:
        self.topics.discard(topic)
        self._pending.pop(topic, None)
        subs = self._hub._subscribers.get(topic)
        if subs is not None:
            subs.discard(self)

    def deliver(self, message: dict[str, Any]) -> None:
        held = self._pending.get(message.get("topic", ""))
        if held is not None:
            held.append(message)  # bounded by the snapshot's short database read
            return
        if self.overflowed.is_set():
            return
        fields = LATEST_WINS.get(message.get("type", ""))
        if fields is not None:
            key = (message.get("topic"), message.get("type"), *(message.get(f) for f in fields))
            if key in self._latest:
                self._latest[key] = message
                self.replaced += 1
                return
            item: Any = key
            self._latest[key] = message
        else:
            item = message
        if len(self._order) >= self._max:
            self.overflowed.set()
            self._ready.set()
            return
        self._order.append(item)
        self._ready.set()

    def qsize(self) -> int:
        return len(self._order)

    def get_nowait(self) -> dict[str, Any]:
        item = self._order.popleft()
        if isinstance(item, tuple):
            return self._latest.pop(item)
        return item  # type: ignore[no-any-return]

    async def get(self) -> dict[str, Any] | None:
        """The next message, or ``None`` when the subscriber overflowed (resync needed)."""
        while not self._order and not self.overflowed.is_set():
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed.is_set():
            return None
        return self.get_nowait()

    def reset(self) -> None:
        """Drop everything queued (before fresh snapshots are sent)."""
        self._order.clear()
        self._latest.clear()
        self.overflowed.clear()

    def close(self) -> None:
        for topic in self.topics:
            subs = self._hub._subscribers.get(topic)
            if subs is not None:
                subs.discard(self)
                if not subs:
                    del self._hub._subscribers[topic]
        self.topics.clear()


class Hub:
    """In-process publish/subscribe with a sequence number per topic."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._seq: defaultdict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._last_seq: dict[str, int] = {}

    def subscribe(self) -> Subscription:
        return Subscription(self)

    def subscriptions(self) -> int:
        """Topic subscriptions of this process's sockets (one socket may hold several)."""
        return sum(len(subs) for subs in self._subscribers.values())

    def seq(self, topic: str) -> int:
        """The sequence number of the last message published on ``topic``."""
        return self._last_seq.get(topic, 0)

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        if message.get("type") in LATEST_WINS:
            body = {k: v for k, v in message.items() if k != "seq"}
            envelope = Envelope({**body, "topic": topic})
            for sub in tuple(self._subscribers.get(topic, ())):
                sub.deliver(envelope)
            return self.seq(topic)
        seq = next(self._seq[topic])
        self._last_seq[topic] = seq
        envelope = Envelope({**message, "topic": topic, "seq": seq})
        for sub in tuple(self._subscribers.get(topic, ())):
            sub.deliver(envelope)
        return seq
