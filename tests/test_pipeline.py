"""One interview's analysis (real mediapipe + Whisper) from frame sequences to debounced flags,
and the worker pool surviving a crashed analyzer process."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import pickle
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from skimage import data

from analyzers import messages
from analyzers.pipeline import InterviewAnalysis
from analyzers.pool import WORKER_ENVIRONMENT, AnalyzerPool, _Worker
from analyzers.speech.asr import AsrConfig, AsrModels
from tests.support.checks import decode_audio, wer
from tests.support.media import speech_wav
from tests.test_vision import FACE_CROP, HEIGHT, TURN_DEG, WIDTH, Frame, fit, turn_head

FPS = 5.0
QUESTION = {
    "id": "q1",
    "section": "structured",
    "text": {"en": "How would you handle a complaint?"},
    "competencies": ["communication"],
    "rubric": [{"en": "listen", "keywords": {"en": ["listen"]}}],
    "prep_s": 0,
    "answer_s": 120,
    "media": "video",
}
META = {"language": "en", "competencies": [["communication", 1.0]], "questions": [QUESTION]}


@functools.cache
def models() -> AsrModels:
    return AsrModels(AsrConfig())


@functools.cache
def frames() -> dict[str, Frame]:
    photo = np.asarray(data.astronaut(), dtype=np.uint8)
    face = fit(photo[FACE_CROP], WIDTH, HEIGHT)
    half = fit(photo[FACE_CROP], WIDTH // 2, HEIGHT)
    shifted = np.full_like(face, 128)
    shifted[:, : WIDTH // 5] = face[:, -WIDTH // 5 :]  # only a sliver at the left edge
    return {
        "face": face,
        "blank": np.zeros_like(face),
        "two": np.hstack([half, half]),
        "turned": turn_head(face, TURN_DEG),
        "shifted": shifted,
    }


@pytest.fixture
def analysis() -> Iterator[InterviewAnalysis]:
    a = InterviewAnalysis("iv_pipe", models(), AsrConfig(), META)
    a.set_context({"question_index": 0, "phase": "answer"})
    yield a
    a.close()


def play(
    a: InterviewAnalysis, script: list[tuple[str, float]], t0: float = 0.0
) -> list[dict[str, Any]]:
    """Feed ``(frame name, seconds)`` runs at 5 fps; returns the flag events."""
    events: list[dict[str, Any]] = []
    t = t0
    for name, seconds in script:
        for _ in range(round(seconds * FPS)):
            events += a.push_video(t, frames()[name], True)
            t += 1 / FPS
    return [e for e in events if e["type"] == "flag"]


def starts(flags: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in flags if f["flag"] == kind and f["end_s"] is None]


def test_steady_face_raises_no_flag(analysis: InterviewAnalysis) -> None:
    assert play(analysis, [("face", 8.0)]) == []


def test_face_missing_only_after_the_debounce(analysis: InterviewAnalysis) -> None:
    assert (
        starts(play(analysis, [("face", 2.0), ("blank", 2.4), ("face", 2.0)]), "face_missing") == []
    )
    flags = play(analysis, [("blank", 4.0), ("face", 2.0)], t0=10.0)
    (start,) = starts(flags, "face_missing")
    assert start["start_s"] == pytest.approx(10.0, abs=0.01)
    assert start["t"] >= 13.0 - 1e-6  # not before the 3 s debounce
    ends = [f for f in flags if f["flag"] == "face_missing" and f["end_s"] is not None]
    assert ends and ends[0]["end_s"] == pytest.approx(14.0, abs=0.3)


def test_extra_person(analysis: InterviewAnalysis) -> None:
    assert (
        starts(play(analysis, [("face", 1.0), ("two", 1.6), ("face", 1.0)]), "extra_person") == []
    )
    assert starts(play(analysis, [("two", 3.0)], t0=10.0), "extra_person")


def test_looking_away_needs_most_of_the_window(analysis: InterviewAnalysis) -> None:
    glance = play(analysis, [("face", 3.0), ("turned", 3.0), ("face", 4.0)])
    assert starts(glance, "looking_away") == []
    away = play(analysis, [("face", 2.0), ("turned", 7.0)], t0=20.0)
    assert starts(away, "looking_away")


def test_out_of_frame(analysis: InterviewAnalysis) -> None:
    flags = play(analysis, [("face", 1.0), ("shifted", 5.0)])
    assert starts(flags, "out_of_frame") or starts(flags, "face_missing"), flags


def test_speech_through_the_pipeline_scores_with_evidence(
    tmp_path: Path, analysis: InterviewAnalysis
) -> None:
    text = "First I would listen carefully to the resident and then I would explain the rules."
    audio = decode_audio(speech_wav(text, tmp_path / "s.wav", trailing_silence_s=1.0))
    events: list[dict[str, Any]] = []
    step = 1600
    for i in range(0, len(audio), step):
        events += analysis.push_audio(i / 16_000, audio[i : i + step])
        events += analysis.finals()
    events += analysis.set_context({"question_index": None, "phase": "between"})
    finals = [e for e in events if e["type"] == "transcript_final"]
    assert finals and wer(text, " ".join(f["text"] for f in finals)) <= 0.15
    content = [e for e in events if e["type"] == "content_metrics"][-1]
    assert content["coverage"] == 1.0 and list(content["covered"]) == [0]
    score = [e for e in events if e["type"] == "score_update"][-1]
    assert score["dimension"] == "communication" and 0 < score["value"] <= 10
    assert any(ev["kind"] == "transcript" and "listen" in ev["detail"] for ev in score["evidence"])


async def test_workers_run_numpy_blas_in_the_calling_thread() -> None:
    preset = os.environ.get("OPENBLAS_NUM_THREADS")
    pool = AnalyzerPool(1, AsrConfig())
    await pool.start()
    try:
        pid = pool._workers[0].process.pid
        environ = (await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)).split(b"\0")
        expected = preset or WORKER_ENVIRONMENT["OPENBLAS_NUM_THREADS"]
        assert f"OPENBLAS_NUM_THREADS={expected}".encode() in environ
        if preset is None:
            assert expected == "1"
    finally:
        await pool.aclose()


def test_a_frame_crosses_to_the_worker_in_one_write() -> None:
    """The worker's input pipe holds a whole pickled analysis frame (Linux's 64 KiB default
    split it into four writes and as many wake-ups of the worker)."""
    worker = _Worker(0, AsrConfig())
    try:
        capacity = fcntl.fcntl(worker.in_q._writer.fileno(), fcntl.F_GETPIPE_SZ)  # type: ignore[attr-defined]
        frame = np.zeros((240, 320, 3), np.uint8)
        pickled = len(pickle.dumps(messages.Video("iv", 0.0, frame, pose=True)))
        assert capacity >= pickled > 64 * 1024
    finally:
        worker.in_q.close()
        worker.out_q.close()


async def test_crashed_worker_is_restarted_and_reports_the_gap(tmp_path: Path) -> None:
    pool = AnalyzerPool(1, AsrConfig())
    await pool.start()
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def sink(event: dict[str, Any]) -> None:
        received.append(event)
        arrived.set()

    async def until(kind: str) -> dict[str, Any]:
        async with asyncio.timeout(60):
            while True:
                found = next((e for e in received if e["type"] == kind), None)
                if found is not None:
                    return found
                arrived.clear()
                await arrived.wait()

    try:
        pool.open("iv_crash", META, sink)
        pool.set_context("iv_crash", {"question_index": 0, "phase": "answer"})
        old_pid = pool._workers[0].process.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        error = await until("analyzer_error")
        assert "restarted" in error["message"]
        # analysis goes on in the new process
        text = "I have worked in public service for five years and I enjoy helping people."
        audio = decode_audio(speech_wav(text, tmp_path / "after.wav", trailing_silence_s=1.5))
        assert await asyncio.to_thread(pool._workers[0].ready.wait, 60)
        for i in range(0, len(audio), 1600):
            pool.push_audio("iv_crash", 100 + i / 16_000, audio[i : i + 1600])
            await asyncio.sleep(0.01)
        final = await until("transcript_final")
        assert wer(text, final["text"]) <= 0.2
        assert pool.stats()[0].restarts == 1
    finally:
        await pool.aclose()


def test_gaze_ratios_over_the_last_ten_seconds(analysis: InterviewAnalysis) -> None:
    metrics = []
    for i in range(int(4 * FPS)):
        name = "face" if i < 2 * FPS else "turned"
        metrics += [
            e
            for e in analysis.push_video(i / FPS, frames()[name], True)
            if e["type"] == "face_metrics"
        ]
    last = metrics[-1]
    assert last["looking_away_ratio"] == pytest.approx(0.5, abs=0.1)
    assert last["eye_contact_ratio"] == pytest.approx(0.5, abs=0.1)
    assert last["ratio_window_s"] == pytest.approx(3.8, abs=0.01)
    # every event says how many frames were analysed (dashboards keep only the latest)
    assert [m["frames_analyzed"] for m in metrics] == list(range(1, len(metrics) + 1))
