"""The face found alone in the frame is followed between detections (issue 14): the short-range
detector runs on every 4th sample of a candidate alone in the frame, and at once when the face
turns, is covered, leaves or moves far."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from analyzers.vision import solutions as vision
from analyzers.vision.face import (
    DETECT_EVERY_S,
    MIN_FACE_MATCH,
    TRACK_MARGIN,
    TRACK_WIDTH_PX,
    FaceAnalyzer,
)
from analyzers.vision.tracking import Patch, locate, take_patch
from tests import test_posture_reuse as still
from tests.test_posture_reuse import HEIGHT, WIDTH, Frame, shifted
from tests.test_vision import fit, turn_head

SAMPLE_S = 0.2
"""The pipeline's face rate at full analysis (5 fps)."""
SKIN = (200, 170, 150)

body = still.body  # the fixtures: the astronaut at the analysis size, a face analyzer
face = still.face


def face_box(frame: Frame) -> tuple[float, float, float, float]:
    """The face the short-range detector finds in ``frame``: (x0, y0, x1, y1) in pixels."""
    with vision.FaceDetection(model_selection=0) as detector:
        (detection,) = detector.process(frame).detections
    b = detection.location_data.relative_bounding_box
    return b.xmin * WIDTH, b.ymin * HEIGHT, (b.xmin + b.width) * WIDTH, (b.ymin + b.height) * HEIGHT


def covered(frame: Frame, top: float, bottom: float) -> Frame:
    """``frame`` with a hand (a skin-coloured block) over the face from ``top`` to ``bottom``
    (fractions of the face's height)."""
    x0, y0, x1, y1 = (round(v) for v in face_box(frame))
    out = frame.copy()
    out[y0 + round(top * (y1 - y0)) : y0 + round(bottom * (y1 - y0)), x0:x1] = SKIN
    return out


def test_a_face_alone_is_detected_on_every_fourth_sample(face: FaceAnalyzer, body: Frame) -> None:
    results = [face.analyze(body, i * SAMPLE_S, None) for i in range(10)]
    assert face.detector_runs == 3  # samples 0, 4 and 8
    first = results[0]
    assert first.center_x is not None and first.size is not None
    for seen in results[1:]:
        assert seen.faces == 1 and seen.looking_away is False
        assert seen.center_x is not None and seen.center_y is not None
        assert abs(seen.center_x - first.center_x) * WIDTH < 1.5
        assert seen.size == first.size
    assert 3 * SAMPLE_S < DETECT_EVERY_S < 4 * SAMPLE_S  # at 5 fps: every 4th sample


def test_the_followed_box_moves_with_the_face(face: FaceAnalyzer, body: Frame) -> None:
    face.analyze(body, 0.0, None)
    moved = shifted(body, 8, 4)
    followed = face.analyze(moved, SAMPLE_S, None)
    assert face.detector_runs == 1
    with FaceAnalyzer("fresh") as fresh:
        detected = fresh.analyze(moved, 0.0, None)
    assert followed.center_x is not None and detected.center_x is not None
    assert followed.center_y is not None and detected.center_y is not None
    # the patch is 32 px wide for a 47 px face: found to about a pixel and a half
    assert abs(followed.center_x - detected.center_x) * WIDTH <= 3.0
    assert abs(followed.center_y - detected.center_y) * HEIGHT <= 3.0


@pytest.mark.parametrize("change", ["turned 20°", "hand over the mouth", "gone", "moved far"])
def test_a_face_that_changes_is_detected_at_once(
    face: FaceAnalyzer, body: Frame, change: str
) -> None:
    frame = {
        "turned 20°": lambda: turn_head(body, 20.0),
        "hand over the mouth": lambda: covered(body, 0.4, 1.0),
        "gone": lambda: np.full_like(body, 128),
        "moved far": lambda: shifted(body, 40, 0),
    }[change]()
    face.analyze(body, 0.0, None)
    seen = face.analyze(frame, SAMPLE_S, None)
    assert face.detector_runs == 2
    assert seen.faces == (0 if change == "gone" else 1)


def test_with_two_faces_every_sample_is_detected(face: FaceAnalyzer, body: Frame) -> None:
    half = fit(np.asarray(data.astronaut(), dtype=np.uint8), WIDTH // 2, HEIGHT)
    two = np.hstack([half, half])
    for i in range(3):
        assert face.analyze(two, i * SAMPLE_S, None).faces == 2
    assert face.detector_runs == 3


def test_without_following_every_sample_is_detected(body: Frame) -> None:
    with FaceAnalyzer("a", detect_every_s=0) as face:
        for i in range(3):
            face.analyze(body, i * SAMPLE_S, None)
        assert face.detector_runs == 3


def test_the_match_ignores_noise_light_and_a_pan_but_not_a_turn_or_a_hand(body: Frame) -> None:
    """The threshold of the rule, on the test face (47 px at 320×240)."""
    patch = take_patch(body, face_box(body), TRACK_WIDTH_PX)
    assert isinstance(patch, Patch)

    def score(frame: Frame) -> float:
        found = locate(frame, patch, TRACK_MARGIN)
        return -1.0 if found is None else found[2]

    noise = np.random.default_rng(0).normal(0, 8, body.shape)
    same = {
        "noise": np.clip(body + noise, 0, 255).astype(np.uint8),
        "darker": (body * 0.7).astype(np.uint8),
        "pan": shifted(body, 6, 0),
        "pan diagonally": shifted(body, 10, 4),
        "head tilted up 15°": turn_head(body, 0.0, 15.0),
    }
    changed = {
        "turned 20°": turn_head(body, 20.0),
        "turned -30°": turn_head(body, -30.0),
        "hand over the mouth": covered(body, 0.4, 1.0),
        "hand over the eyes": covered(body, 0.0, 0.5),
        "gone": np.full_like(body, 128),
    }
    same_scores = {name: round(score(frame), 3) for name, frame in same.items()}
    changed_scores = {name: round(score(frame), 3) for name, frame in changed.items()}
    assert min(same_scores.values()) >= MIN_FACE_MATCH + 0.03, same_scores
    assert max(changed_scores.values()) < MIN_FACE_MATCH, changed_scores


def test_a_patch_too_small_or_flat_is_not_followed() -> None:
    flat = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    assert take_patch(flat, (100, 100, 150, 150), TRACK_WIDTH_PX) is None
    noisy = np.random.default_rng(1).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    assert take_patch(noisy, (100, 100, 105, 150), TRACK_WIDTH_PX) is None  # 5 px wide
    assert take_patch(cv2.GaussianBlur(noisy, (0, 0), 3), (100, 100, 150, 150), 32) is not None
