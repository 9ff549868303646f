"""The analyzer pool's media batching: one queue item per flush, order kept, drops counted."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from analyzers import messages
from analyzers.pool import MEDIA_FLUSH_S, WORKER_MEDIA_BACKLOG_MAX, AnalyzerPool, _Worker
from analyzers.speech.asr import AsrConfig

META: dict[str, Any] = {"language": "en"}
CHUNK = np.zeros(1600, np.float32)
"""100 ms of 16 kHz audio."""
FRAME = np.zeros((4, 4, 3), np.uint8)


@pytest.fixture
def worker() -> Iterator[_Worker]:
    """A worker whose process is never started: the test reads its queue."""
    w = _Worker(0, AsrConfig())
    yield w
    w.in_q.close()
    w.in_q.join_thread()


def queued(worker: _Worker) -> list[Any]:
    items: list[Any] = []
    while True:
        try:
            items.append(worker.in_q.get(timeout=0.5))
        except queue.Empty:
            return items


async def started_pool(worker: _Worker, events: list[dict[str, Any]]) -> AnalyzerPool:
    pool = AnalyzerPool(1, AsrConfig())
    pool._workers = [worker]
    pool._loop = asyncio.get_running_loop()
    pool.open("iv_a", META, events.append)
    pool.open("iv_b", META, events.append)
    return pool


async def test_media_of_a_flush_interval_crosses_as_one_item_in_order(worker: _Worker) -> None:
    pool = await started_pool(worker, [])
    assert [type(m).__name__ for m in queued(worker)] == ["Open", "Open"]
    pool.push_audio("iv_a", 0.0, CHUNK)  # the first after a quiet spell goes at once
    pool.push_video("iv_b", 0.0, FRAME, True)
    pool.push_audio("iv_a", 0.1, CHUNK)
    pool.push_video("iv_a", 0.2, FRAME, False)
    first = worker.in_q.get(timeout=1.0)
    assert isinstance(first, messages.Media) and len(first.items) == 1
    assert worker.in_q.empty()  # the rest waits for the flush
    await asyncio.sleep(MEDIA_FLUSH_S * 3)
    (batch,) = queued(worker)
    assert isinstance(batch, messages.Media)
    assert [(type(m).__name__, m.interview_id, m.t) for m in batch.items] == [
        ("Video", "iv_b", 0.0),
        ("Audio", "iv_a", 0.1),
        ("Video", "iv_a", 0.2),
    ]
    assert pool._workers[0].offered == 2  # two items, whatever they held


async def test_a_control_message_follows_the_media_pushed_before_it(worker: _Worker) -> None:
    pool = await started_pool(worker, [])
    queued(worker)
    pool.push_audio("iv_a", 0.0, CHUNK)
    pool.push_audio("iv_a", 0.1, CHUNK)  # waits in the outbox
    pool.close("iv_a")  # the last audio must reach the worker before the close
    items = queued(worker)
    kinds = [type(m).__name__ for m in items]
    assert kinds == ["Media", "Media", "Close"]
    assert items[1].items[0].t == 0.1
    assert pool._workers[0].flush_timer is None  # nothing left to flush


async def test_a_worker_far_behind_loses_whole_flushes_counted_and_reported(
    worker: _Worker,
) -> None:
    events: list[dict[str, Any]] = []
    pool = await started_pool(worker, events)
    filler = messages.Media(())
    for _ in range(WORKER_MEDIA_BACKLOG_MAX):
        worker.in_q.put_nowait(filler)
    await asyncio.to_thread(lambda: None)  # let the feeder thread move them into the pipe
    pool.push_audio("iv_a", 0.0, CHUNK)
    pool.push_video("iv_b", 0.0, FRAME, True)
    await asyncio.sleep(MEDIA_FLUSH_S * 3)
    assert pool.dropped_audio_s == pytest.approx(0.1)
    assert pool.dropped_frames == 1
    (gap,) = [e for e in events if e["type"] == "analyzer_error"]
    assert gap["interview_id"] == "iv_a" and gap["gap_s"] == pytest.approx(0.1)
    assert all(m == filler for m in queued(worker)[2:])  # after the two Opens, nothing new
