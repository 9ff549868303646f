"""Typed analysis work: the pool's messages pickle for the worker queues, and their Redis form
(``server.live.work``) is wire version 1 exactly as media and analyzer nodes exchange it."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from analyzers.messages import Audio, Close, Context, Events, Open, Signal, Stats, Stop, Video
from server.live.streams import BadEntry, decode, encode
from server.live.work import stored_body, work_body, work_message

IID = "iv_work"
SAMPLES = np.array([0.0, 0.5, -1.0, 0.999], dtype=np.float32)


def test_messages_survive_the_process_queue() -> None:
    for message in (
        Open(IID, {"language": "en"}),
        Context(IID, {"question_index": 1, "phase": "answer"}),
        Video(IID, 1.5, b"\xff\xd8jpeg", True),
        Signal(IID, "paste", 2.0, "12 chars"),
        Close(IID),
        Stop(),
        Events([{"type": "flag", "interview_id": IID}]),
        Stats(interviews=2, skipped_frames=3, busy_s=0.5, wall_s=2.0, asr_cpu_s=0.25),
    ):
        assert pickle.loads(pickle.dumps(message)) == message
    audio = pickle.loads(pickle.dumps(Audio(IID, 0.25, SAMPLES)))
    assert audio.t == 0.25 and np.array_equal(audio.samples, SAMPLES)


def test_work_bodies_are_wire_version_1() -> None:
    pcm = np.array([0, 16383, -32767, 32734], dtype="<i2").tobytes()  # × 32767, truncated
    expected: list[tuple[Any, dict[str, Any]]] = [
        (Open(IID, {"language": "en"}), {"k": "open", "meta": {"language": "en"}}),
        (Context(IID, {"phase": "prep"}), {"k": "context", "context": {"phase": "prep"}}),
        (Audio(IID, 3, SAMPLES), {"k": "audio", "t": 3.0, "pcm": pcm}),
        (Video(IID, 4, b"jpeg", False), {"k": "video", "t": 4.0, "jpeg": b"jpeg", "pose": False}),
        (
            Signal(IID, "tab_hidden", 5, "x"),
            {"k": "signal", "kind": "tab_hidden", "t": 5.0, "detail": "x"},
        ),
        (Close(IID), {"k": "close"}),
    ]
    for message, body in expected:
        assert work_body(message) == body
        assert decode(encode(body)) == {"v": 1, **body}
    assert stored_body(Open(IID, {"a": 1})) == {"meta": {"a": 1}}
    assert stored_body(Context(IID, {"b": 2})) == {"context": {"b": 2}}


def test_work_round_trips_and_frames_travel_as_jpeg() -> None:
    for message in (
        Open(IID, {"language": "zh"}),
        Context(IID, {"question_index": None}),
        Signal(IID, "blur", 1.0, ""),
        Close(IID),
    ):
        assert work_message(IID, work_body(message)) == message
    audio = work_message(IID, work_body(Audio(IID, 1.0, SAMPLES)))
    assert isinstance(audio, Audio) and audio.samples.dtype == np.float32
    assert np.allclose(audio.samples, SAMPLES, atol=1 / 16_384)
    frame = np.full((24, 32, 3), 128, dtype=np.uint8)
    video = work_message(IID, work_body(Video(IID, 2, frame, True)))
    assert isinstance(video, Video) and video.t == 2.0 and video.pose is True
    assert isinstance(video.frame, bytes) and video.frame.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"k": "nope"},
        {"k": ["open"]},
        {"k": "open", "meta": "not a dict"},
        {"k": "context", "context": {"nan": float("nan")}},
        {"k": "audio", "t": 1.0, "pcm": b"odd"},
        {"k": "audio", "t": float("inf"), "pcm": b""},
        {"k": "video", "t": True, "jpeg": b"", "pose": True},
        {"k": "video", "t": 1.0, "jpeg": b"", "pose": 1},
        {"k": "signal", "t": 1.0, "kind": 3, "detail": ""},
    ],
)
def test_malformed_work_is_a_bad_entry(body: dict[str, Any]) -> None:
    with pytest.raises(BadEntry):
        work_message(IID, body)
