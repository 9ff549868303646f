"""Graceful degradation (``analyzers.degrade``): the controller over synthetic load reports
(explicit timestamps, no clock), each level's sampling in one interview's analysis (real
mediapipe), and a forced level in a real worker process: partials stop, face and posture thin
out, finals still arrive, and the change reaches a live-topic subscriber."""

from __future__ import annotations

import asyncio
import math
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from analyzers.degrade import (
    BACKLOG_HOT_S,
    LEVELS,
    MAX_LEVEL,
    STEP_DOWN_AFTER_MAX_S,
    STEP_DOWN_AFTER_S,
    DegradeController,
    Load,
)
from analyzers.messages import Degrade, Stats
from analyzers.pipeline import InterviewAnalysis
from analyzers.pool import AnalyzerPool, _Worker
from analyzers.speech.asr import AsrConfig
from analyzers.worker import unbatched
from server.core.services import Services
from server.live.analysis import AnalysisSink, interview_topic
from server.live.hub import Hub
from tests.support.checks import decode_audio, wer
from tests.support.media import speech_wav
from tests.test_pipeline import META, frames, models

REPORT_S = 2.0
"""The worker's report period (``analyzers.worker.STATS_EVERY_S``)."""
HOT = {"busy_ratio": 0.95, "backlog_s": 0.0, "skipped_frames": 0, "frames": 80}
COOL = {"busy_ratio": 0.3, "backlog_s": 0.0, "skipped_frames": 0, "frames": 80}
WARM = {"busy_ratio": 0.7, "backlog_s": 0.0, "skipped_frames": 0, "frames": 80}
"""Between the thresholds: the level holds."""

# -- the controller ---------------------------------------------------------------------------


class Reports:
    """Feeds one controller back-to-back reports, like a worker every 2 s."""

    def __init__(self) -> None:
        self.c = DegradeController()
        self.t = 0.0

    def feed(self, load: dict[str, Any], seconds: float) -> list[int]:
        """Reports covering ``seconds``; the levels changed to, in order."""
        changes = []
        for _ in range(round(seconds / REPORT_S)):
            self.t += REPORT_S
            new = self.c.observe(Load(self.t, REPORT_S, **load))
            if new is not None:
                changes.append(new)
        return changes


def test_levels_are_a_table_each_reducing_more() -> None:
    assert [lv.level for lv in LEVELS] == list(range(len(LEVELS)))
    full = LEVELS[0]
    assert full.partial_transcripts and full.face_every_s is None and not full.reduced
    assert full.posture_every_s == 0.5  # 2 fps, as before degradation existed
    for before, after in zip(LEVELS, LEVELS[1:], strict=False):
        assert set(before.reduced) < set(after.reduced)  # cumulative, one more thing each
        assert after.posture_every_s >= before.posture_every_s
        assert (after.face_every_s or 0.2) >= (before.face_every_s or 0.2)
    assert not LEVELS[1].partial_transcripts
    assert LEVELS[2].posture_every_s == 1.0
    assert LEVELS[3].face_every_s == 0.4


def test_a_cool_or_warm_worker_stays_at_full_analysis() -> None:
    r = Reports()
    assert r.feed(COOL, 60) == []
    assert r.feed(WARM, 60) == []
    assert r.c.level == 0


def test_sustained_heat_steps_up_one_level_per_report_to_the_top() -> None:
    r = Reports()
    assert r.feed(HOT, REPORT_S) == [1]  # hot for 2 s
    assert r.feed(HOT, 20) == list(range(2, MAX_LEVEL + 1))
    assert r.c.level == MAX_LEVEL and r.c.highest == MAX_LEVEL


def test_backlog_and_skipped_frames_count_as_heat() -> None:
    backlog = Reports()
    assert backlog.feed(COOL | {"backlog_s": BACKLOG_HOT_S}, REPORT_S) == [1]
    skipped = Reports()  # 8 interviews' 80 frames in 2 s, a tenth of them skipped
    assert skipped.feed(COOL | {"skipped_frames": 8}, REPORT_S) == [1]
    hiccup = Reports()  # a stale frame now and then is not heat, but not cool either
    assert hiccup.feed(COOL | {"skipped_frames": 3}, REPORT_S) == []
    hiccup.feed(HOT, REPORT_S)
    assert hiccup.feed(COOL | {"skipped_frames": 1}, 60) == [] and hiccup.c.level == 1
    starved = Reports()  # a worker starved of CPU is not busy, but behind
    assert starved.feed(WARM | {"backlog_s": 2.5}, REPORT_S) == [1]


def test_heat_shorter_than_the_step_up_time_does_nothing() -> None:
    c = DegradeController()
    assert c.observe(Load(1.0, 1.0, **HOT)) is None  # 1 s of heat
    assert c.observe(Load(2.0, 1.0, **WARM)) is None  # broken by a warm second
    assert c.observe(Load(3.0, 1.0, **HOT)) is None
    assert c.observe(Load(4.0, 1.0, **HOT)) == 1  # 2 s in a row


def test_a_report_spanning_the_last_change_is_not_counted() -> None:
    c = DegradeController()
    assert c.observe(Load(2.0, 2.0, **HOT)) == 1
    # a late report whose period began well before the change: the old level's load
    assert c.observe(Load(3.0, 2.0, **HOT)) is None
    assert c.observe(Load(5.0, 2.0, **HOT)) == 2


def test_recovery_steps_down_after_ten_cool_seconds_per_level() -> None:
    r = Reports()
    r.feed(HOT, 3 * REPORT_S)
    assert r.c.level == 3
    assert r.feed(COOL, STEP_DOWN_AFTER_S - REPORT_S) == []
    assert r.feed(COOL, REPORT_S) == [2]
    assert r.feed(WARM, 30) == []  # in between: holds, and the cool clock starts again
    assert r.feed(COOL, STEP_DOWN_AFTER_S) == [1]
    assert r.feed(COOL, STEP_DOWN_AFTER_S) == [0]
    assert r.feed(COOL, 60) == [] and r.c.level == 0


def test_a_rebound_doubles_the_step_down_wait_and_calm_resets_it() -> None:
    r = Reports()
    r.feed(HOT, REPORT_S)
    r.feed(COOL, STEP_DOWN_AFTER_S)
    assert r.c.level == 0
    assert r.feed(HOT, REPORT_S) == [1]  # right after stepping down: a rebound
    assert r.feed(COOL, STEP_DOWN_AFTER_S) == []
    assert r.feed(COOL, STEP_DOWN_AFTER_S) == [0]  # 20 s now
    for _ in range(5):  # flapping keeps doubling, up to the cap
        r.feed(HOT, REPORT_S)
        r.feed(COOL, STEP_DOWN_AFTER_MAX_S)
    assert r.c.level == 0
    r.feed(HOT, REPORT_S)
    assert r.feed(COOL, STEP_DOWN_AFTER_MAX_S) == [0]
    r.feed(COOL, 60)  # long calm: the next step up is not a rebound
    assert r.feed(HOT, REPORT_S) == [1]
    assert r.feed(COOL, STEP_DOWN_AFTER_S) == [0]


def test_a_worker_without_interviews_is_back_to_full_at_once() -> None:
    r = Reports()
    r.feed(HOT, 3 * REPORT_S)
    assert r.c.reset(r.t) == 0 and r.c.level == 0
    assert r.c.reset(r.t) is None
    assert r.c.highest == 3


# -- one interview's analysis per level (real mediapipe) ---------------------------------------

FPS = 5.0


@pytest.fixture
def analysis() -> Iterator[InterviewAnalysis]:
    a = InterviewAnalysis("iv_degrade", models(), AsrConfig(), META)
    a.set_context({"question_index": 0, "phase": "answer"})
    yield a
    a.close()


def play(a: InterviewAnalysis, script: list[tuple[str, float]], t0: float = 0.0) -> list[dict]:
    """``(frame name, seconds)`` at 5 fps, as the worker feeds them (frames the level does
    not want are not pushed); every event."""
    events: list[dict[str, Any]] = []
    t = t0
    for name, seconds in script:
        for _ in range(round(seconds * FPS)):
            if a.wants_video(t):
                events += a.push_video(t, frames()[name], True)
            t = round(t + 1 / FPS, 6)
    return events


def counts(events: list[dict[str, Any]]) -> tuple[int, int]:
    return (
        sum(e["type"] == "face_metrics" for e in events),
        sum(e["type"] == "posture_metrics" for e in events),
    )


@pytest.mark.parametrize(
    ("level", "face", "posture"), [(0, 50, 20), (1, 50, 20), (2, 50, 10), (3, 25, 10), (4, 25, 0)]
)
def test_each_level_samples_face_and_posture_at_its_rate(
    analysis: InterviewAnalysis, level: int, face: int, posture: int
) -> None:
    analysis.set_level(level)
    # 10 s of a face plainly in frame: at level 4 posture has nothing to decide
    assert counts(play(analysis, [("face", 10.0)])) == (face, posture)


def test_reduced_levels_raise_the_flags_full_analysis_raises() -> None:
    script = [("face", 2.0), ("shifted", 5.0), ("face", 3.0), ("blank", 4.0), ("face", 2.0)]
    flags = {}
    posture = {}
    for level in (0, 3, 4):
        a = InterviewAnalysis(f"iv_l{level}", models(), AsrConfig(), META)
        try:
            a.set_context({"question_index": 0, "phase": "answer"})
            a.set_level(level)
            events = play(a, script)
            events += a.finish()
        finally:
            a.close()
        flags[level] = [
            (e["flag"], e["start_s"], e["end_s"]) for e in events if e["type"] == "flag"
        ]
        posture[level] = counts(events)[1]
    kinds = {(kind, start) for kind, start, _ in flags[0]}
    assert {("out_of_frame", 10.0), ("face_missing", 10.0)} <= kinds, flags[0]
    # the same flags from the same moments; an end known to a face sample (0.4 s)
    assert [(k, s) for k, s, _ in flags[3]] == [(k, s) for k, s, _ in flags[0]]
    for (_, _, end3), (_, _, end0) in zip(flags[3], flags[0], strict=True):
        assert (end3 is None) == (end0 is None)
        assert end3 is None or end0 <= end3 <= end0 + 0.4 + 1e-6
    # level 4 skips posture only where it cannot matter: exactly level 3's flags
    assert flags[4] == flags[3]
    assert 0 < posture[4] < posture[3]  # analysed only while the face was gone or at the edge


def test_a_level_change_is_an_event_once_and_the_end_restores_full(
    analysis: InterviewAnalysis,
) -> None:
    play(analysis, [("face", 1.0)])
    (event,) = analysis.set_level(2)
    assert event["type"] == "analysis_degraded" and event["v"] == 1
    assert event["level"] == 2 and event["reason"] == "server_load"
    assert event["reduced"] == ("partial_transcripts", "posture_rate")
    assert event["t"] == pytest.approx(0.8)  # media time, not the wall clock
    assert analysis.set_level(2) == []  # no change, no event
    assert analysis.partial() == []
    ended = [e for e in analysis.finish() if e["type"] == "analysis_degraded"]
    assert [e["level"] for e in ended] == [0]


# -- the pool: load reports → controller → every interview on the worker ---------------------


def test_the_pool_tells_every_interview_on_a_hot_worker_and_new_ones_too() -> None:
    pool = AnalyzerPool(1, AsrConfig())
    worker = _Worker(0, AsrConfig())  # its process is never started: the queue is read here
    pool._workers = [worker]
    sent: list[Any] = []

    def drain() -> list[Any]:
        while True:
            try:
                sent.extend(unbatched([worker.in_q.get(timeout=0.5)]))
            except queue.Empty:
                return sent

    try:
        pool.open("iv_a", META, lambda e: None)
        pool._on_stats(
            worker, Stats(interviews=1, skipped_frames=0, busy_s=1.9, wall_s=2.0, asr_cpu_s=0.0)
        )
        assert pool.stats()[0].level == 1 and pool.stats()[0].busy_ratio == pytest.approx(0.95)
        pool.open("iv_b", META, lambda e: None)  # joins the hot worker at its level
        drain()
        assert [type(m).__name__ for m in sent] == ["Open", "Degrade", "Open", "Degrade"]
        assert {(m.interview_id, m.level) for m in sent if isinstance(m, Degrade)} == {
            ("iv_a", 1),
            ("iv_b", 1),
        }
        # from level 3 (face at 2.5 fps) half the frames never cross to the worker
        pool._set_level(0, 3)
        frame = np.zeros((4, 4, 3), np.uint8)
        for i in range(10):
            pool.push_video("iv_a", 0.2 * i, frame, True)
        sent.clear()
        drain()
        assert [(type(m).__name__, m.level) for m in sent[:2]] == [("Degrade", 3)] * 2
        assert [round(m.t, 1) for m in sent[2:]] == [0.0, 0.4, 0.8, 1.2, 1.6]
        pool.close("iv_a")
        pool.close("iv_b")
        pool._on_stats(
            worker, Stats(interviews=0, skipped_frames=0, busy_s=0.0, wall_s=2.0, asr_cpu_s=0.0)
        )
        assert pool.stats()[0].level == 0 and pool.stats()[0].highest_level == 1
    finally:
        worker.in_q.close()
        worker.in_q.join_thread()


# -- a real worker process, forced to a level ------------------------------------------------

SENTENCE = (
    "I have worked in public service for five years and I enjoy helping people "
    "solve their problems in the city."
)
CHUNK = 1600
"""100 ms of 16 kHz audio."""
PACE_S = 0.05
"""Wall seconds per 100 ms of media pushed: twice real time."""


def slot(t: float, every_s: float) -> int:
    """The sampling slot of media time ``t`` (as ``analyzers.pipeline`` counts them)."""
    return math.floor(t / every_s + 1e-6)


class _Held(DegradeController):
    """A controller that never changes the level on its own (the test sets it)."""

    def observe(self, load: Load) -> int | None:
        return None

    def reset(self, t_s: float) -> int | None:
        return None


class _Store:
    """The store's one method the sink uses (the database is a boundary)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def add_analysis_events(self, events: list[dict[str, Any]]) -> None:
        self.events += events


class _Services:
    def __init__(self) -> None:
        self.hub = Hub()
        self.store = _Store()


@pytest.mark.timeout(180)
async def test_a_forced_level_stops_partials_and_thins_video_but_finals_arrive(
    tmp_path: Path,
) -> None:
    audio = decode_audio(speech_wav(SENTENCE, tmp_path / "s.wav", trailing_silence_s=1.5))
    iid = "iv_forced"
    svc = _Services()
    sub = svc.hub.subscribe()
    sub.add(interview_topic(iid))
    sub.activate(interview_topic(iid), {"type": "snapshot", "seq": 0})
    sink = AnalysisSink(cast(Services, svc), iid)
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def tee(event: dict[str, Any]) -> None:
        received.append(dict(event))
        sink(event)
        arrived.set()

    async def until(found: Any) -> dict[str, Any]:
        async with asyncio.timeout(60):
            while True:
                hit = next((e for e in received if found(e)), None)
                if hit is not None:
                    return hit
                arrived.clear()
                await arrived.wait()

    pool = AnalyzerPool(1, AsrConfig())
    await pool.start()
    pool._workers[0].degrade = _Held()  # a busy test machine must not move the level
    try:
        pool.open(iid, META, tee)
        pool.set_context(iid, {"question_index": 0, "phase": "answer"})

        async def speak(t0: float) -> list[dict[str, Any]]:
            """The sentence with a face at 5 fps from media time ``t0``; the events of it
            once its final has arrived."""
            for i in range(0, len(audio), CHUNK):
                t = t0 + i / 16_000
                pool.push_audio(iid, t, audio[i : i + CHUNK])
                if i // CHUNK % 2 == 0:
                    pool.push_video(iid, t, frames()["face"], True)
                await asyncio.sleep(PACE_S)
            await until(lambda e: e["type"] == "transcript_final" and e["t"] >= t0)
            return [e for e in received if t0 <= e.get("t", -1) < t0 + 90]

        full = await speak(0.0)
        pool._set_level(0, 3)
        await until(lambda e: e["type"] == "analysis_degraded" and e["level"] == 3)
        reduced = await speak(100.0)
    finally:
        await pool.aclose()

    def of(events: list[dict[str, Any]], kind: str) -> list[float]:
        return [e["t"] for e in events if e["type"] == kind]

    # finals arrive at both levels, and hear the sentence
    for events in (full, reduced):
        finals = [e["text"] for e in events if e["type"] == "transcript_final"]
        assert finals and wer(SENTENCE, " ".join(finals)) <= 0.25, finals
    # partials ran at full analysis and stop at level 3
    assert of(full, "transcript_partial")
    assert of(reduced, "transcript_partial") == []
    # face: 5 fps → one per 0.4 s slot; posture: 2 fps → one per 1 s slot
    duration_s = len(audio) / 16_000
    face_full, face_reduced = of(full, "face_metrics"), of(reduced, "face_metrics")
    pose_full, pose_reduced = of(full, "posture_metrics"), of(reduced, "posture_metrics")
    assert len({slot(t, 0.4) for t in face_reduced}) == len(face_reduced)
    assert len({slot(t, 1.0) for t in pose_reduced}) == len(pose_reduced)
    assert len(face_reduced) <= duration_s * 2.5 + 1 < len(face_full)
    assert len(pose_reduced) <= duration_s + 1 < len(pose_full)
    assert len(face_reduced) >= duration_s * 1.5  # thinned, not stopped
    # the change reached the live topic (numbered, never dropped) and the store
    await sink.wait_drained(10)
    published = []
    while sub.qsize():
        published.append(sub.get_nowait())
    (live,) = [m for m in published if m.get("type") == "analysis_degraded"]
    assert live["level"] == 3 and live["kind"] == "analysis" and live["seq"] > 0
    assert [e["level"] for e in svc.store.events if e["type"] == "analysis_degraded"] == [3]
    await sink.aclose()
