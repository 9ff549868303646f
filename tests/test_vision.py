"""Face and posture analyzers on frames built at test time from a real photo (skimage astronaut)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from mediapipe.framework import calculator_pb2
from mediapipe.python.solutions import face_mesh as mp_face_mesh
from scipy.spatial import Delaunay
from skimage import data

from analyzers.events import FaceMetrics, PostureMetrics, from_wire
from analyzers.vision import solutions as vision
from analyzers.vision.face import (
    FACING_PITCH_DEG,
    LOOKING_AWAY_YAW_DEG,
    MAX_APPEARANCE_CHANGE,
    MAX_NEUTRAL_PITCH_DEG,
    MAX_NEUTRAL_YAW_DEG,
    MESH_EVERY_S,
    MIN_NEUTRAL_POSE_SAMPLES,
    NEUTRAL_POSE_SAMPLES,
    FaceAnalyzer,
    NeutralPose,
    _appearance,
    _Box,
    _difference,
)
from analyzers.vision.posture import PostureAnalyzer
from analyzers.vision.solutions import APPLICATION_THREAD_EXECUTOR, on_calling_thread

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 640, 480
GREY = 128
FACE_CROP = (slice(0, 300), slice(100, 350))
"""Rows and columns of the astronaut photo with her head and collar (face ≈ 175 px at 640×480)."""
TURN_DEG = 50.0
"""Yaw applied to the synthetic head turn (the estimator reads ≈ 35° at 640×480)."""


def fit(image: Frame, width: int, height: int) -> Frame:
    """``image`` scaled to fit, centred on a grey ``width``×``height`` canvas."""
    canvas = np.full((height, width, 3), GREY, np.uint8)
    scale = min(width / image.shape[1], height / image.shape[0])
    w, h = round(image.shape[1] * scale), round(image.shape[0] * scale)
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    y0, x0 = (height - h) // 2, (width - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = resized
    return canvas


def turn_head(image: Frame, yaw_deg: float, pitch_deg: float = 0.0) -> Frame:
    """Re-render the face in ``image`` turned by ``yaw_deg`` about the vertical axis, then
    tilted by ``pitch_deg`` about the horizontal one.

    Positive turns the face toward the image's right, as ``FaceMetrics.yaw_deg`` counts;
    positive pitch points it up (a camera below the screen sees a face looking at the screen
    pointing up).

    The face's 3D mesh (mediapipe face mesh, static mode) is rotated, its triangles are
    texture-mapped far to near with back faces culled (so the far cheek disappears, as in a real
    turn), over the photo with the original face in-painted away.
    """
    height, width = image.shape[:2]
    with mp_face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        faces = mesh.process(image).multi_face_landmarks
    assert faces, "no face mesh on the frontal image"
    src = np.array([(p.x * width, p.y * height, p.z * width) for p in faces[0].landmark])
    a, b = math.radians(yaw_deg), math.radians(pitch_deg)
    # mediapipe's z grows away from the camera: the nose (z < 0) moves right for a > 0, up for b > 0
    turn = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    tilt = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    rotation = tilt @ turn
    centre = src.mean(axis=0)
    dst = (src - centre) @ rotation.T + centre

    hull = cv2.convexHull(src[:, :2].astype(np.float32)).astype(np.int32)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    out = cv2.inpaint(image, cv2.dilate(mask, np.ones((9, 9), np.uint8)), 5, cv2.INPAINT_TELEA)
    triangles = Delaunay(src[:, :2]).simplices
    for tri in triangles[np.argsort(-dst[triangles, 2].mean(axis=1))]:
        s, d = src[tri, :2].astype(np.float32), dst[tri, :2].astype(np.float32)
        if np.cross(s[1] - s[0], s[2] - s[0]) * np.cross(d[1] - d[0], d[2] - d[0]) <= 0:
            continue  # turned away from the camera
        x, y, w, h = cv2.boundingRect(d)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            continue
        affine = cv2.getAffineTransform(s, d - np.float32([x, y]))
        patch = cv2.warpAffine(image, affine, (w, h), borderMode=cv2.BORDER_REFLECT)
        inside = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(inside, np.round(d - [x, y]).astype(np.int32), 1)
        sel = inside[y0 - y : y1 - y, x0 - x : x1 - x].astype(bool)
        out[y0:y1, x0:x1][sel] = patch[y0 - y : y1 - y, x0 - x : x1 - x][sel]
    return out


@pytest.fixture(scope="module")
def astronaut() -> Frame:
    return np.asarray(data.astronaut(), dtype=np.uint8)


@pytest.fixture(scope="module")
def face_frame(astronaut: Frame) -> Frame:
    return fit(astronaut[FACE_CROP], WIDTH, HEIGHT)


@pytest.fixture
def face() -> Iterator[FaceAnalyzer]:
    with FaceAnalyzer("iv-test") as analyzer:
        yield analyzer


@pytest.fixture
def posture() -> Iterator[PostureAnalyzer]:
    with PostureAnalyzer("iv-test") as analyzer:
        yield analyzer


@pytest.mark.parametrize("size", [(640, 480), (320, 240)])
def test_frontal_face(face: FaceAnalyzer, face_frame: Frame, size: tuple[int, int]) -> None:
    frame = cv2.resize(face_frame, size, interpolation=cv2.INTER_AREA)
    m = face.analyze(frame, 1.5, 2)
    assert (m.interview_id, m.t, m.question_index) == ("iv-test", 1.5, 2)
    assert m.faces == 1
    assert m.yaw_deg is not None and m.pitch_deg is not None
    assert abs(m.yaw_deg) < 20
    assert m.eye_contact or not m.looking_away
    assert m.center_x is not None and m.center_y is not None and m.size is not None
    assert 0.4 < m.center_x < 0.6 and 0.25 < m.center_y < 0.55
    assert 0.2 < m.size < 0.6
    assert from_wire(m.to_wire()) == m


@pytest.mark.parametrize("level", [0, GREY])
def test_blank_frame_has_no_face(face: FaceAnalyzer, level: int) -> None:
    m = face.analyze(np.full((HEIGHT, WIDTH, 3), level, np.uint8), 0.0, None)
    assert m == FaceMetrics(interview_id="iv-test", t=0.0, faces=0)


def test_face_disappears_then_returns(face: FaceAnalyzer, face_frame: Frame) -> None:
    blank = np.zeros_like(face_frame)
    counts = [
        face.analyze(f, i * 0.2, None).faces for i, f in enumerate([face_frame, blank, face_frame])
    ]
    assert counts == [1, 0, 1]


def test_two_faces_side_by_side(face: FaceAnalyzer, astronaut: Frame) -> None:
    half = fit(astronaut[FACE_CROP], WIDTH // 2, HEIGHT)
    assert face.analyze(np.hstack([half, half]), 0.0, None).faces >= 2


@pytest.mark.parametrize("turn_deg", [TURN_DEG, -TURN_DEG])
def test_turned_head_is_looking_away(
    face: FaceAnalyzer, face_frame: Frame, turn_deg: float
) -> None:
    turned = turn_head(face_frame, turn_deg)
    frontal = face.analyze(face_frame, 0.0, None)
    m = face.analyze(turned, 0.2, None)
    assert frontal.eye_contact and not frontal.looking_away
    assert m.faces == 1
    assert m.yaw_deg is not None
    assert abs(m.yaw_deg) > LOOKING_AWAY_YAW_DEG
    assert math.copysign(1, m.yaw_deg) == math.copysign(1, turn_deg)
    assert m.looking_away and not m.eye_contact
    assert face.analyze(face_frame, 0.4, None).eye_contact  # and back


def test_rejects_non_rgb_frames(face: FaceAnalyzer) -> None:
    with pytest.raises(ValueError):
        face.analyze(np.zeros((HEIGHT, WIDTH), np.uint8), 0.0, None)
    with pytest.raises(ValueError):
        face.analyze(np.zeros((HEIGHT, WIDTH, 3), np.float32), 0.0, None)  # type: ignore[arg-type]


def test_closed_analyzers_refuse_frames(face_frame: Frame) -> None:
    analyzers: list[FaceAnalyzer | PostureAnalyzer] = [FaceAnalyzer("a"), PostureAnalyzer("a")]
    for analyzer in analyzers:
        analyzer.close()
        analyzer.close()
        with pytest.raises(RuntimeError):
            analyzer.analyze(face_frame, 0.0, None)


def test_posture_head_and_shoulders(posture: PostureAnalyzer, astronaut: Frame) -> None:
    m = posture.analyze(fit(astronaut, WIDTH, HEIGHT), 3.0, 0)
    assert m.in_frame
    assert m.shoulders_level_deg is not None and abs(m.shoulders_level_deg) < 15
    assert m.lean is not None and abs(m.lean) < 0.5
    assert m.movement is None
    assert from_wire(m.to_wire()) == m


def test_posture_blank_frame(posture: PostureAnalyzer) -> None:
    m = posture.analyze(np.full((HEIGHT, WIDTH, 3), GREY, np.uint8), 0.0, None)
    assert m == PostureMetrics(interview_id="iv-test", t=0.0, in_frame=False)


def test_posture_movement(posture: PostureAnalyzer, astronaut: Frame) -> None:
    frame = fit(astronaut, WIDTH, HEIGHT)
    shifted = np.roll(frame, 48, axis=1)  # 48 px ≈ a quarter of her shoulder width
    first = posture.analyze(frame, 0.0, None)
    still = posture.analyze(frame, 0.2, None)
    moved = posture.analyze(shifted, 0.4, None)
    assert first.movement is None
    assert still.movement is not None and moved.movement is not None
    assert still.movement < 0.05
    assert moved.movement > still.movement + 0.1


def test_posture_signs_flip_in_a_mirror(astronaut: Frame) -> None:
    frame = fit(astronaut, WIDTH, HEIGHT)
    with PostureAnalyzer("a") as a, PostureAnalyzer("b") as b:
        m = a.analyze(frame, 0.0, None)
        mirrored = b.analyze(np.ascontiguousarray(frame[:, ::-1]), 0.0, None)
    assert m.shoulders_level_deg is not None and mirrored.shoulders_level_deg is not None
    assert m.lean is not None and mirrored.lean is not None
    # Her left shoulder (image right) sits lower in the photo; the head is right of the midpoint.
    assert m.shoulders_level_deg > 2 and mirrored.shoulders_level_deg < -2
    assert m.lean > 0.03 and mirrored.lean < -0.03


# -- CPU cuts of issue 14: graphs on the calling thread, head pose reused on a still face --------


def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_graphs_run_on_the_calling_thread(face_frame: Frame) -> None:
    before = _thread_count()
    with FaceAnalyzer("a") as face, PostureAnalyzer("a") as posture:
        assert _thread_count() == before
        face.analyze(face_frame, 0.0, None)
        posture.analyze(face_frame, 0.0, None)
        assert _thread_count() == before
    with FaceAnalyzer("b", stock_graphs=True), PostureAnalyzer("b", stock_graphs=True):
        assert _thread_count() > before  # mediapipe's own executor threads


def test_calling_thread_config_keeps_named_executors() -> None:
    config = calculator_pb2.CalculatorGraphConfig()
    config.num_threads = 4
    config.executor.add(name="", type="ThreadPoolExecutor")
    config.executor.add(name="io", type="ThreadPoolExecutor")
    on_calling_thread(config)
    assert [(e.name, e.type) for e in config.executor] == [
        ("io", "ThreadPoolExecutor"),
        ("", APPLICATION_THREAD_EXECUTOR),
    ]
    assert config.num_threads == 0


def test_calling_thread_graphs_give_the_same_results(face_frame: Frame, astronaut: Frame) -> None:
    """Same models, same single-threaded kernels: bit-identical metrics, frame after frame."""
    frames = [face_frame, turn_head(face_frame, TURN_DEG), np.zeros_like(face_frame), face_frame]
    body = fit(astronaut, WIDTH, HEIGHT)
    bodies = [body, np.roll(body, 24, axis=1), body]
    results = []
    for stock in (True, False):
        with (
            FaceAnalyzer("a", stock_graphs=stock, mesh_every_s=0) as face,
            PostureAnalyzer("a", stock_graphs=stock) as posture,
        ):
            results.append(
                (
                    [face.analyze(f, i * 0.2, None) for i, f in enumerate(frames)],
                    [posture.analyze(f, i * 0.5, None) for i, f in enumerate(bodies)],
                )
            )
    assert results[0] == results[1]


def test_head_pose_is_reused_for_a_still_face(face: FaceAnalyzer, face_frame: Frame) -> None:
    measured = face.analyze(face_frame, 0.0, None)
    for t in (0.2, 0.4, 0.6):
        reused = face.analyze(face_frame, t, None)
        assert (reused.yaw_deg, reused.pitch_deg) == (measured.yaw_deg, measured.pitch_deg)
        assert (reused.faces, reused.eye_contact, reused.looking_away) == (1, True, False)
    assert face.mesh_runs == 1
    face.analyze(face_frame, 0.8, None)  # MESH_EVERY_S after the measurement: measured again
    assert face.mesh_runs == 2
    face.analyze(face_frame, 0.2, None)  # media time went back (a new stream segment)
    assert face.mesh_runs == 3
    assert 0.6 < MESH_EVERY_S < 0.8  # at 5 fps: every 4th frame of a still face


@pytest.mark.parametrize("turn_deg", [20.0, -20.0, TURN_DEG])
def test_a_turned_head_is_measured_at_once(
    face: FaceAnalyzer, face_frame: Frame, turn_deg: float
) -> None:
    frontal = face.analyze(face_frame, 0.0, None)
    turned = face.analyze(turn_head(face_frame, turn_deg), 0.2, None)
    assert face.mesh_runs == 2
    assert turned.yaw_deg is not None and frontal.yaw_deg is not None
    assert math.copysign(1, turned.yaw_deg - frontal.yaw_deg) == math.copysign(1, turn_deg)


def test_head_pose_is_measured_again_when_the_face_count_changes(
    face: FaceAnalyzer, astronaut: Frame
) -> None:
    one = fit(astronaut[FACE_CROP], WIDTH, HEIGHT)
    half = fit(astronaut[FACE_CROP], WIDTH // 2, HEIGHT)
    face.analyze(one, 0.0, None)
    assert face.analyze(np.hstack([half, half]), 0.2, None).faces >= 2
    assert face.mesh_runs == 2


def test_without_reuse_every_frame_is_measured(face_frame: Frame) -> None:
    with FaceAnalyzer("a", mesh_every_s=0) as face:
        for i in range(3):
            face.analyze(face_frame, i * 0.2, None)
        assert face.mesh_runs == 3


def test_appearance_ignores_light_but_not_a_turn(face_frame: Frame) -> None:
    """The thresholds of the reuse rule, on the test face (640×480)."""
    with vision.FaceDetection(model_selection=0) as detector:

        def look(image: Frame) -> npt.NDArray[np.float32]:
            (detection,) = detector.process(image).detections
            found = _appearance(image, detection.location_data.relative_bounding_box)
            assert found is not None
            return found

        frontal = look(face_frame)
        darker = look((face_frame * 0.7).astype(np.uint8))
        noisy = np.random.default_rng(0).normal(0, 8, face_frame.shape)
        grainy = look(np.clip(face_frame + noisy, 0, 255).astype(np.uint8))
        assert _difference(frontal, darker) < MAX_APPEARANCE_CHANGE / 2
        assert _difference(frontal, grainy) < MAX_APPEARANCE_CHANGE  # the box jitters a little
        for deg in (20, -20):
            assert _difference(frontal, look(turn_head(face_frame, deg))) > MAX_APPEARANCE_CHANGE
    assert (
        _appearance(np.full((HEIGHT, WIDTH, 3), GREY, np.uint8), _Box(0.4, 0.4, 0.2, 0.2)) is None
    )


CAMERA_OFFSETS_DEG = (-15.0, 0.0, 15.0)
"""Where the camera sits relative to the screen the candidate looks at (±15°: above a laptop
screen, below a phone's face)."""
STEADY_FRAMES = 25
"""5 s at 5 fps."""
NOISE_SIGMA = 4.0
"""Camera noise added to every frame (8-bit levels)."""


def steady(frame: Frame, count: int, seed: int) -> Iterator[Frame]:
    """``frame`` ``count`` times with fresh camera noise each time."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        noisy = frame.astype(np.float32) + rng.normal(0.0, NOISE_SIGMA, frame.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("camera_deg", CAMERA_OFFSETS_DEG)
def test_a_steady_face_faces_the_screen_wherever_the_camera_sits(
    face_frame: Frame, camera_deg: float
) -> None:
    """The issue's target: ≥ 90 % facing the screen within ±15° of camera height. The face is
    re-rendered tilted by the camera's offset (a camera above the screen sees the face looking
    down). The estimator reads 55–70 % of a pure tilt on this face (−20° → −14°, +20° → +11°
    from the frontal reading), which calibration absorbs: it compares the candidate with
    themselves."""
    tilted = turn_head(face_frame, 0.0, camera_deg)
    with FaceAnalyzer("iv-camera", mesh_every_s=0) as face:
        samples = [
            face.analyze(frame, i * 0.2, 0)
            for i, frame in enumerate(steady(tilted, STEADY_FRAMES, 7))
        ]
        neutral = face.neutral
    assert all(m.faces == 1 and m.pitch_deg is not None for m in samples)
    facing = sum(m.facing_screen for m in samples) / len(samples)
    assert facing >= 0.9, [(m.yaw_deg, m.pitch_deg) for m in samples]
    assert not any(m.looking_away for m in samples)
    assert all(m.eye_contact == m.facing_screen for m in samples)  # the deprecated alias
    assert neutral.calibrated
    if camera_deg < 0:
        # what the old rule (within 12° of the camera axis) would have said: never facing
        assert all(abs(m.pitch_deg or 0) > FACING_PITCH_DEG for m in samples)
        assert neutral.pitch_deg < -FACING_PITCH_DEG


def test_looking_away_is_measured_from_the_candidates_own_pose(face_frame: Frame) -> None:
    camera_deg = -15.0
    tilted = turn_head(face_frame, 0.0, camera_deg)
    turned = turn_head(face_frame, TURN_DEG, camera_deg)
    with FaceAnalyzer("iv-away", mesh_every_s=0) as face:
        calibrating = [
            face.analyze(frame, i * 0.2, 0)
            for i, frame in enumerate(steady(tilted, NEUTRAL_POSE_SAMPLES, 3))
        ]
        # from the camera's axis until a few samples give the candidate's own pose
        assert all(m.facing_screen for m in calibrating[MIN_NEUTRAL_POSE_SAMPLES - 1 :])
        away = face.analyze(turned, 4.0, 0)
        back = face.analyze(tilted, 4.2, 0)
    assert away.looking_away and not away.facing_screen
    assert back.facing_screen and not back.looking_away


def test_a_neutral_pose_beyond_where_a_camera_can_sit_is_clamped() -> None:
    """A candidate looking far away while calibrating cannot make looking away the norm."""
    neutral = NeutralPose()
    for _ in range(NEUTRAL_POSE_SAMPLES):
        neutral.observe(60.0, -45.0)
    assert neutral.calibrated
    assert (neutral.yaw_deg, neutral.pitch_deg) == (MAX_NEUTRAL_YAW_DEG, -MAX_NEUTRAL_PITCH_DEG)
    d_yaw, _ = neutral.deviation(60.0, -45.0)
    assert d_yaw > LOOKING_AWAY_YAW_DEG  # still looking away
    neutral.observe(0.0, 0.0)  # calibrated: later samples do not move it
    assert neutral.yaw_deg == MAX_NEUTRAL_YAW_DEG
