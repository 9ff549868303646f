"""A still body is measured by the pose model once a second, not on every posture sample
(issue 14): the reuse follows the face, and a body that leans, slumps, shifts or leaves the
frame is measured on the sample it happens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from skimage import data

from analyzers.events import FaceMetrics, PostureMetrics
from analyzers.vision.face import FaceAnalyzer
from analyzers.vision.posture import MIN_BODY_MATCH, REMEASURE_EVERY_S, PostureAnalyzer
from tests.test_vision import fit

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 320, 240
"""The analysis size the server sends (the whole astronaut photo: head, shoulders, chest)."""
SAMPLE_S = 0.5
"""The pipeline's posture rate at full analysis (2 fps)."""


@pytest.fixture(scope="module")
def body() -> Frame:
    return fit(np.asarray(data.astronaut(), dtype=np.uint8), WIDTH, HEIGHT)


@pytest.fixture
def face() -> Iterator[FaceAnalyzer]:
    with FaceAnalyzer("iv-test") as analyzer:
        yield analyzer


@pytest.fixture
def posture() -> Iterator[PostureAnalyzer]:
    with PostureAnalyzer("iv-test") as analyzer:
        yield analyzer


def anchor_of(frame: Frame) -> tuple[float, float, float]:
    """(x, y, height) of the face in ``frame``, in pixels."""
    with FaceAnalyzer("anchor") as face:
        m = face.analyze(frame, 0.0, None)
    assert m.faces == 1 and m.center_x and m.center_y and m.size
    return m.center_x * WIDTH, m.center_y * HEIGHT, m.size * HEIGHT


def lean(frame: Frame, deg: float) -> Frame:
    """The whole candidate turned by ``deg`` in the image plane about the face's centre."""
    x, y, _ = anchor_of(frame)
    rotation = cv2.getRotationMatrix2D((x, y), deg, 1.0)
    return cv2.warpAffine(frame, rotation, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE)


def below_the_chin(frame: Frame, dx_faces: float, dy_faces: float) -> Frame:
    """The body under the chin moved by (dx, dy) face heights, the head where it was."""
    x, y, size = anchor_of(frame)
    cut, dx, dy = int(y + 0.6 * size), int(dx_faces * size), int(dy_faces * size)
    out = frame.copy()
    out[cut + dy :] = np.roll(frame[cut : HEIGHT - dy], dx, axis=1)
    return out


def shifted(frame: Frame, dx: int, dy: int) -> Frame:
    """The whole picture moved by (dx, dy) pixels, the edges repeated."""
    move = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, move, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE)


def sample(
    face: FaceAnalyzer, posture: PostureAnalyzer, frame: Frame, t: float
) -> tuple[FaceMetrics, PostureMetrics]:
    """One posture sample as the pipeline takes it: the face first, then the body."""
    seen = face.analyze(frame, t, None)
    return seen, posture.analyze(frame, t, None, seen)


def test_a_still_body_is_measured_every_two_seconds(
    face: FaceAnalyzer, posture: PostureAnalyzer, body: Frame
) -> None:
    samples = [sample(face, posture, body, i * SAMPLE_S)[1] for i in range(6)]
    assert posture.pose_runs == 2  # at 0 and 2.0 s; 0.5, 1.0, 1.5 and 2.5 s reuse them
    first, reused = samples[0], samples[1]
    assert reused.in_frame and first.in_frame
    assert reused.shoulders_level_deg == pytest.approx(first.shoulders_level_deg, abs=1e-6)
    assert reused.lean == pytest.approx(first.lean, abs=1e-6)
    assert reused.movement is not None and reused.movement < 0.01
    assert 4 * SAMPLE_S == REMEASURE_EVERY_S


def test_the_reused_body_moves_with_the_face(
    face: FaceAnalyzer, posture: PostureAnalyzer, body: Frame
) -> None:
    first = sample(face, posture, body, 0.0)[1]
    moved = sample(face, posture, shifted(body, 12, 0), SAMPLE_S)[1]
    assert posture.pose_runs == 1
    with FaceAnalyzer("b") as face_b, PostureAnalyzer("b", remeasure_every_s=0) as every:
        sample(face_b, every, body, 0.0)
        measured = sample(face_b, every, shifted(body, 12, 0), SAMPLE_S)[1]
    assert moved.in_frame and measured.in_frame
    assert moved.lean == pytest.approx(first.lean, abs=1e-6)
    # 12 px is ≈ 0.1 shoulder widths here: the reused body moved as far as the measured one
    assert moved.movement is not None and measured.movement is not None
    assert moved.movement == pytest.approx(measured.movement, abs=0.04)
    assert moved.movement > 0.05


@pytest.mark.parametrize(
    "change",
    ["lean 5°", "lean -10°", "slump 0.2", "shift 0.2"],
)
def test_a_body_that_moves_under_a_still_head_is_measured_at_once(
    face: FaceAnalyzer, posture: PostureAnalyzer, body: Frame, change: str
) -> None:
    kind, amount = change.split()
    frame = {
        "lean": lambda: lean(body, float(amount.rstrip("°"))),
        "slump": lambda: below_the_chin(body, 0.0, float(amount)),
        "shift": lambda: below_the_chin(body, float(amount), 0.0),
    }[kind]()
    sample(face, posture, body, 0.0)
    sample(face, posture, frame, SAMPLE_S)
    assert posture.pose_runs == 2


def test_a_body_leaving_the_frame_is_measured_until_it_settles(
    face: FaceAnalyzer, posture: PostureAnalyzer, body: Frame
) -> None:
    low = shifted(body, 0, 160)  # sinking in the chair: the shoulders below the frame
    frames = [body, low, low, low]
    reusing = [sample(face, posture, f, i * SAMPLE_S)[1] for i, f in enumerate(frames)]
    with FaceAnalyzer("b") as face_b, PostureAnalyzer("b", remeasure_every_s=0) as every:
        measuring = [sample(face_b, every, f, i * SAMPLE_S)[1] for i, f in enumerate(frames)]
    # the jump and the sample after it are measured (tracking lags a jump by a sample)
    assert posture.pose_runs == 3
    assert [m.in_frame for m in reusing] == [m.in_frame for m in measuring]
    assert reusing[0].in_frame and not reusing[2].in_frame and not reusing[3].in_frame


def test_with_two_faces_every_sample_is_measured(
    posture: PostureAnalyzer, face: FaceAnalyzer, body: Frame
) -> None:
    two = replace(face.analyze(body, 0.0, None), faces=2)
    for i in range(3):
        posture.analyze(body, i * SAMPLE_S, None, two)
    assert posture.pose_runs == 3


def test_without_reuse_every_sample_is_measured(face: FaceAnalyzer, body: Frame) -> None:
    with PostureAnalyzer("a", remeasure_every_s=0) as posture:
        for i in range(3):
            sample(face, posture, body, i * SAMPLE_S)
        assert posture.pose_runs == 3


def test_the_match_ignores_noise_light_and_a_pan_but_not_a_posture(body: Frame) -> None:
    """The threshold of the reuse rule, on the test body (320×240): whether the second sample
    reused the first one's body."""

    def reused(frame: Frame) -> bool:
        with PostureAnalyzer("a") as posture:
            posture.analyze(body, 0.0, None)
            posture.analyze(frame, SAMPLE_S, None)
            return posture.pose_runs == 1

    noise = np.random.default_rng(0).normal(0, 8, body.shape)
    same = {
        "noise": np.clip(body + noise, 0, 255).astype(np.uint8),
        "darker": (body * 0.7).astype(np.uint8),
        "pan": shifted(body, 6, 0),
        "pan diagonally": shifted(body, -20, 10),
    }
    changed = {
        "lean 3°": lean(body, 3.0),
        "lean -5°": lean(body, -5.0),
        "slump": below_the_chin(body, 0.0, 0.2),
        "shift": below_the_chin(body, 0.1, 0.0),
    }
    assert {name: reused(frame) for name, frame in same.items()} == dict.fromkeys(same, True)
    assert {name: reused(frame) for name, frame in changed.items()} == dict.fromkeys(changed, False)
    assert 0.9 < MIN_BODY_MATCH < 0.975  # between a leaning body and the load test's pan
