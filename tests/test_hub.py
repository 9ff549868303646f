"""The in-process hub: ordering around snapshots, bounded queues, overflow."""

from __future__ import annotations

from server.hub import Hub


async def test_messages_during_the_snapshot_read_follow_the_snapshot() -> None:
    hub = Hub()
    sub = hub.subscribe()
    hub.publish("job:1", {"n": 0})  # before subscribing: not delivered
    sub.add("job:1")
    seq_at_snapshot = hub.seq("job:1")
    hub.publish("job:1", {"n": 1})  # published while the snapshot is being read
    sub.activate("job:1", {"type": "snapshot", "topic": "job:1", "seq": seq_at_snapshot})
    hub.publish("job:1", {"n": 2})
    got = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert [m.get("type", m.get("n")) for m in got] == ["snapshot", 1, 2]
    assert [m["seq"] for m in got] == [1, 2, 3]


async def test_held_messages_already_in_the_snapshot_are_dropped() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("t")
    hub.publish("t", {"n": 1})
    sub.activate("t", {"type": "snapshot", "topic": "t", "seq": hub.seq("t")})
    assert [m.get("type") for m in [sub.queue.get_nowait()]] == ["snapshot"]
    assert sub.queue.empty()


async def test_slow_subscriber_overflows_instead_of_blocking() -> None:
    hub = Hub()
    slow, fast = hub.subscribe(), hub.subscribe()
    for s in (slow, fast):
        s.add("t")
        s.activate("t", {"type": "snapshot", "seq": 0})
    for i in range(300):
        hub.publish("t", {"n": i})
        while not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.overflowed.is_set() and not fast.overflowed.is_set()
    slow.reset()
    assert slow.queue.empty() and not slow.overflowed.is_set()


async def test_closed_subscription_gets_nothing() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("t")
    sub.activate("t", {"type": "snapshot", "seq": 0})
    sub.close()
    hub.publish("t", {"n": 1})
    assert sub.queue.qsize() == 1  # only the snapshot
