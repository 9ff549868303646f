"""The in-process hub: ordering around snapshots, bounded queues, overflow."""

from __future__ import annotations

from server.live.hub import Hub


async def test_messages_during_the_snapshot_read_follow_the_snapshot() -> None:
    hub = Hub()
    sub = hub.subscribe()
    hub.publish("job:1", {"n": 0})  # before subscribing: not delivered
    sub.add("job:1")
    seq_at_snapshot = hub.seq("job:1")
    hub.publish("job:1", {"n": 1})  # published while the snapshot is being read
    sub.activate("job:1", {"type": "snapshot", "topic": "job:1", "seq": seq_at_snapshot})
    hub.publish("job:1", {"n": 2})
    got = [sub.get_nowait() for _ in range(sub.qsize())]
    assert [m.get("type", m.get("n")) for m in got] == ["snapshot", 1, 2]
    assert [m["seq"] for m in got] == [1, 2, 3]


async def test_held_messages_already_in_the_snapshot_are_dropped() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("t")
    hub.publish("t", {"n": 1})
    sub.activate("t", {"type": "snapshot", "topic": "t", "seq": hub.seq("t")})
    assert [m.get("type") for m in [sub.get_nowait()]] == ["snapshot"]
    assert sub.qsize() == 0


async def test_slow_subscriber_overflows_instead_of_blocking() -> None:
    hub = Hub()
    slow, fast = hub.subscribe(), hub.subscribe()
    for s in (slow, fast):
        s.add("t")
        s.activate("t", {"type": "snapshot", "seq": 0})
    for i in range(300):
        hub.publish("t", {"n": i})
        while fast.qsize():
            fast.get_nowait()
    assert slow.overflowed.is_set() and not fast.overflowed.is_set()
    slow.reset()
    assert slow.qsize() == 0 and not slow.overflowed.is_set()


async def test_closed_subscription_gets_nothing() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("t")
    sub.activate("t", {"type": "snapshot", "seq": 0})
    sub.close()
    hub.publish("t", {"n": 1})
    assert sub.qsize() == 1  # only the snapshot


async def test_metrics_are_latest_wins_and_finals_are_kept() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("interview:1")
    sub.activate("interview:1", {"type": "snapshot", "seq": 0})
    for i in range(50):
        hub.publish("interview:1", {"type": "face_metrics", "faces": i})
        hub.publish("interview:1", {"type": "score_update", "dimension": "logic", "value": i})
        hub.publish("interview:1", {"type": "score_update", "dimension": "expression", "value": i})
        if i % 10 == 0:
            hub.publish("interview:1", {"type": "transcript_final", "text": f"t{i}"})
    got = [sub.get_nowait() for _ in range(sub.qsize())]
    kinds = [(m["type"], m.get("faces", m.get("value", m.get("text")))) for m in got]
    assert kinds == [
        ("snapshot", None),
        ("face_metrics", 49),
        ("score_update", 49),
        ("score_update", 49),
        *[("transcript_final", f"t{i}") for i in range(0, 50, 10)],
    ]
    assert not sub.overflowed.is_set() and sub.replaced == 3 * 49
    # only never-dropped messages are numbered, so a client sees a gap only when one is lost
    assert [m.get("seq") for m in got[1:]] == [None, None, None, 1, 2, 3, 4, 5]


async def test_get_returns_none_on_overflow() -> None:
    hub = Hub()
    sub = hub.subscribe()
    sub.add("t")
    sub.activate("t", {"type": "snapshot", "seq": 0})
    for i in range(300):
        hub.publish("t", {"type": "transcript_final", "text": str(i)})
    assert sub.overflowed.is_set()
    assert await sub.get() is None
