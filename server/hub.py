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
from collections import defaultdict
from typing import Any

SUBSCRIBER_QUEUE_MAX = 256


class Envelope(dict[str, Any]):
    """A published message with its JSON text computed once for every subscriber."""

    __slots__ = ("text",)

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message)
        self.text = json.dumps(self, ensure_ascii=False, separators=(",", ":"))


class Subscription:
    """One subscriber's view of a set of topics."""

    def __init__(self, hub: Hub, max_queue: int = SUBSCRIBER_QUEUE_MAX) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        self.topics: set[str] = set()
        self.overflowed = asyncio.Event()
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
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()

    def reset(self) -> None:
        """Drop everything queued (before fresh snapshots are sent)."""
        while not self.queue.empty():
            self.queue.get_nowait()
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

    def seq(self, topic: str) -> int:
        """The sequence number of the last message published on ``topic``."""
        return self._last_seq.get(topic, 0)

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        seq = next(self._seq[topic])
        self._last_seq[topic] = seq
        envelope = Envelope({**message, "topic": topic, "seq": seq})
        for sub in tuple(self._subscribers.get(topic, ())):
            sub.deliver(envelope)
        return seq
