"""Face presence, count, position and head pose for one live interview (runs in a worker process).

Observable behaviour only: how many faces are in the frame, where the main face is, and which way
the head points. Nothing here infers emotion, personality or identity.

Three mediapipe graphs, created once per instance (they are not shareable across streams and
expect increasing timestamps), all running on the calling thread (:mod:`analyzers.vision.solutions`):

* ``face_detection`` short-range (``model_selection=0``) finds the candidate on every frame;
  full-range (``model_selection=1``) recounts once a second (:data:`FULL_RANGE_EVERY_S`), on
  every frame while it last saw more than one face, and whenever the short-range one finds
  nobody. The short-range model is 3× cheaper but misses small faces, e.g. a second person
  beside the candidate at 320 px width; the count drives the extra-person flag, so the larger
  count wins.
* ``face_mesh`` (``max_num_faces=1``, ``refine_landmarks=False``) gives 468 landmarks of the main
  face (the largest detection) for head pose, run on a square crop of :data:`CROP_FACE_SIZES`
  face sizes around it. ``static_image_mode=True``: in tracking mode the same turned-head frame
  read yaw -15° after a frontal frame but -38° from a cold start (the landmark model depends on
  the region it is given, and tracking keeps feeding it its own), so each sample is measured on
  its own, which also makes results reproducible at 5 fps, where frames are 200 ms apart anyway.
  (Feeding it the region of the full-frame short-range detection instead, without the mesh's
  own detection on the crop, saves ~1.5 ms but read a 50° turn as 17–19° instead of 33–34°.)
  Without a detection the mesh runs on the whole frame, which still catches a face turned too
  far for the detector.
* The mesh's head pose is reused for frames less than :data:`MESH_EVERY_S` after it was
  measured (at 5 fps: the next three frames) while the face count is the same and the face box looks the
  same: a 24×24 grey thumbnail of the box, normalised to zero mean and unit standard deviation,
  differs from the one of the measured frame by at most :data:`MAX_APPEARANCE_CHANGE` (mean
  absolute difference). Calibrated on the astronaut face: frames of the load test's panning video
  differ by 0.06–0.24, Gaussian noise σ = 8 by 0.02–0.20 (the detection box jitters), 30 %
  darker by ≤ 0.09, while re-renders turned by 5/10/15/20/30/50° differ by 0.16–0.18/0.25–0.27/
  0.30–0.32/0.37–0.46/0.44–0.46/0.60–0.82. So a turn of 20° or more (looking away starts at 25°)
  is measured on the frame it happens, a smaller one at the latest three frames later; a noisier
  camera only means more meshes. Flags and gaze ratios work over seconds; on the load test's
  video the reused poses differ from per-frame ones by ≤ 0.8° yaw and ≤ 0.9° pitch, with the
  same facing-the-screen and looking-away verdicts on every frame.

* The face the detectors last found alone in the frame is followed for
  :data:`DETECT_EVERY_S` (at 5 fps: the next three frames) instead of detected again: a grey patch of
  its box, 32 px wide, is looked for within a quarter of a box around where it was
  (:mod:`analyzers.vision.tracking`), and where it matches (normalised correlation ≥
  :data:`MIN_FACE_MATCH`) the box moves with it and the count stays one. Calibrated on the
  astronaut at the analysis size (a 47 px face, ``tests/test_face_follow.py``): camera noise
  σ = 8, 30 % darker and pans of 6–11 px score 0.975–1.0 and the head tilted up 15° 0.94,
  while a head turned 20° / 30° scores 0.87 / 0.77, a hand over the mouth or the eyes 0.80 /
  0.65, an empty frame 0: each is detected on the frame it happens. A second person is
  counted by the next detection (at most one frame later; a small face only by the
  full-range recount, as before), and while there are two every frame is detected.

"Facing the screen" and "looking away" are measured from the candidate's own neutral pose
(:class:`NeutralPose`), not from the camera axis: a camera above a laptop screen sees a
candidate reading the question look 10–20° down. On the astronaut face re-rendered tilted by
±15° (a camera above or below the screen) a steady face reads as facing the screen on ≥ 90 %
of frames (the first two, before a pose is known, are measured from the camera axis); the
estimator reads 55–70 % of a pure tilt (−20° → −14°, +20° → +11° from the frontal reading),
an under-read that calibration absorbs since it compares the candidate with themselves.

CPU per analysed frame, measured with ``python -m loadtest.vision_bench`` (the load test's
astronaut video at 320×240, 5 fps paced, 150 frames, process CPU time of all threads, mean of 3
rounds; 2-core build machine, mediapipe 0.10.21; "contended" = a busy process per core): before
issue 14 (stock graphs with 2 executor threads each, mesh on every frame) 9.5 ms idle / 9.2 ms
contended, ≈ 4.7 % of a core at 5 fps; now 6.5 / 6.5 ms (−31 % / −29 %; mesh on half the
frames, no threads of its own), ≈ 3.3 % of a core. Of that, the calling thread alone saves
0.3–0.7 ms (more back to back: 8.35 → 7.28 ms unpaced), reusing the pose 2.5–2.7 ms; since
then following the face between detections took 6.12 / 5.73 ms to 5.19 / 4.91 ms (another
evening, ``--configs current,detect-every-sample``). Parts, back
to back on the calling thread: short-range detection ≈ 1.4 ms, full-range ≈ 4.0 ms, face mesh on
the crop (with its own detection) ≈ 3.3 ms, solvePnP ≈ 0.15 ms. Wall time per frame p50/p90: now
8.6/18 ms idle and 21/42 ms contended, before 9.5/16 and 22/54 ms. (With the mesh on every frame
the calling thread alone was slower under contention, p50 27 ms: one thread competes with the
busy processes for whole time slices, where the stock graphs' many short wake-ups were favoured
by the scheduler.)

Head pose: ``cv2.solvePnP`` of 14 rigid landmarks (nose, nose bridge, forehead, eye corners,
nostrils, cheek edges; no mouth or jaw, which move while speaking) against mediapipe's canonical
face model, with a pinhole camera of focal length = frame width. Yaw and pitch are measured
between the face's forward direction and the ray from the face to the camera, so a candidate who
faces the camera from the edge of the frame reads ~0°, and the result moves < 1° for focal lengths
0.8–1.5× the width. Accuracy on test images (640×480): a frontal photo reads yaw -1.5°, pitch
-4.6°; synthetic 3D re-renders of that face turned either way by 30/45/50/60° read |yaw| 21–22/
33/35/27–34°, i.e. large turns are under-read (the re-render is only 2.5-D) and saturate near
35°. Expect ±5–10° on real webcams (generic face model, unknown camera): the thresholds below
are coarse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from mediapipe.python.solutions import face_detection as mp_face_detection
from mediapipe.python.solutions import face_mesh as mp_face_mesh

from analyzers.events import FaceMetrics
from analyzers.vision import solutions as vision
from analyzers.vision.tracking import Patch, find_patch, take_patch

MIN_FACE_CONFIDENCE = 0.5
"""Detection score (0..1) from which a face is counted."""
FULL_RANGE_EVERY_S = 1.0
"""How often (media time) the slower full-range detector recounts faces."""
MIN_MESH_CONFIDENCE = 0.5
"""Face-mesh face-presence confidence (0..1)."""
LOOKING_AWAY_YAW_DEG = 25.0
LOOKING_AWAY_PITCH_DEG = 20.0
"""Looking away: the head turned this far from the candidate's neutral pose."""
FACING_YAW_DEG = 12.0
FACING_PITCH_DEG = 12.0
"""Facing the screen: the head within this of the candidate's neutral pose."""
NEUTRAL_POSE_SAMPLES = 15
"""Single-face samples (3 s at 5 fps) whose median head pose is the candidate's neutral pose."""
MIN_NEUTRAL_POSE_SAMPLES = 3
"""Before this many, deviations are measured from the camera axis."""
MAX_NEUTRAL_YAW_DEG = 20.0
MAX_NEUTRAL_PITCH_DEG = 25.0
"""Where a camera can sit relative to the screen the candidate looks at (beside a second
monitor, on top of a laptop lid, below a phone's face): a neutral pose beyond this is clamped,
so a candidate looking away during calibration cannot make looking away count as facing."""
CROP_FACE_SIZES = 2.0
"""Side of the square crop given to the face mesh, in face-box sizes (centred on the box)."""
MIN_CROP_PX = 16
"""Smaller crops are not worth a face-mesh pass."""
FOCAL_LENGTH_FRAME_WIDTHS = 1.0
"""Assumed focal length in frame widths (≈ 53° horizontal field of view)."""
MESH_EVERY_S = 0.75
"""A head pose measured by the face mesh is reused for later frames less than this (media
time) after it, while the face count is unchanged and the face looks the same: at 5 fps the mesh
runs on every 4th frame of a still face, and at once when the head turns 20° or more. 0 meshes
every frame. (0.35 until 2026-12-08, every 2nd frame; a turn of 10–15°, which may stay under
:data:`MAX_APPEARANCE_CHANGE`, is now measured at most 0.6 s after it happens instead of 0.2 s:
facing-the-screen shares are counted over whole answers and looking away starts at 25°.)"""
APPEARANCE_PX = 24
"""Side of the grey thumbnail of the face box that :func:`_appearance` compares."""
DETECT_EVERY_S = 0.75
"""While the detectors last found exactly one face, the short-range detector runs on samples at
least this far apart (media time): in between, that face's box is followed by finding a grey
patch of it again nearby (:mod:`analyzers.vision.tracking`). At 5 fps it runs on every 4th sample
of a candidate alone in the frame, and at once when the face is not found again. 0 runs it on
every sample. (0.35 until 2026-12-08: a second person is now counted by a detection at most
0.6 s after they appear, or by the full-range recount once a second; the extra-person flag
needs 2 s.)"""
TRACK_WIDTH_PX = 32
"""Width the face patch is scaled to for following it."""
TRACK_MARGIN = 0.25
"""How far the face patch is looked for around where it was, in face-box widths and heights."""
MIN_FACE_MATCH = 0.9
"""Lowest normalised correlation at which the face counts as found again (see
:class:`FaceAnalyzer` for the calibration)."""
MAX_APPEARANCE_CHANGE = 0.3
"""Largest mean difference (in the thumbnails' standard deviations) between the face box now
and when the reused head pose was measured; see the module docstring for the calibration."""

# Rigid landmarks of mediapipe's face mesh and their coordinates in its canonical face model
# (mediapipe/modules/face_geometry/data/canonical_face_model.obj; centimetres, x toward the
# image's right, y up, z toward the camera). 263/362/358/454 mirror 33/133/129/234.
_CANONICAL_CM: dict[int, tuple[float, float, float]] = {
    1: (0.0, -1.126865, 7.475604),  # nose tip
    4: (0.0, -0.463170, 7.586580),  # nose, above the tip
    6: (0.0, 2.473255, 5.788627),  # nose bridge
    168: (0.0, 3.271027, 5.236015),  # between the eyes
    151: (0.0, 6.545390, 5.027311),  # forehead
    10: (0.0, 8.261778, 4.481535),  # top of the forehead
    33: (-4.445859, 2.663991, 3.173422),  # eye, outer corner (image left)
    133: (-1.856432, 2.585245, 3.757904),  # eye, inner corner (image left)
    129: (-1.785794, -0.978284, 4.850470),  # nostril (image left)
    234: (-7.664182, 0.673132, -2.435867),  # face edge at the ear (image left)
    263: (4.445859, 2.663991, 3.173422),
    362: (1.856432, 2.585245, 3.757904),
    358: (1.785794, -0.978284, 4.850470),
    454: (7.664182, 0.673132, -2.435867),
}
_POSE_LANDMARKS = tuple(_CANONICAL_CM)
# Camera coordinates for solvePnP: x right, y down, z away from the camera.
_MODEL_POINTS = np.array(
    [(x, -y, -z) for x, y, z in (_CANONICAL_CM[i] for i in _POSE_LANDMARKS)], dtype=np.float64
)
_NO_DISTORTION = np.zeros(4)
_FACE_FORWARD = np.array([0.0, 0.0, -1.0])
"""The face's forward direction in model coordinates (toward the camera when frontal)."""


class NeutralPose:
    """The head pose of a candidate looking at their screen, from the camera's point of view.

    A webcam sits above a laptop screen or below a phone's face, and a candidate reading the
    question looks slightly down: "towards the camera" is not "towards the screen". The median
    yaw and pitch of the first :data:`NEUTRAL_POSE_SAMPLES` single-face samples (the start of
    the self-introduction) is taken as this candidate's neutral pose, clamped to where a camera
    can sit; "facing the screen" and "looking away" are measured from it.
    """

    def __init__(self) -> None:
        self._yaws: list[float] = []
        self._pitches: list[float] = []
        self.yaw_deg = 0.0
        self.pitch_deg = 0.0

    @property
    def calibrated(self) -> bool:
        """The neutral pose is final."""
        return len(self._yaws) >= NEUTRAL_POSE_SAMPLES

    @property
    def measured(self) -> bool:
        """Deviations are measured from this candidate's pose (before: the camera axis)."""
        return len(self._yaws) >= MIN_NEUTRAL_POSE_SAMPLES

    def observe(self, yaw_deg: float, pitch_deg: float) -> None:
        """A single-face sample's head pose (ignored once calibrated)."""
        if self.calibrated:
            return
        self._yaws.append(yaw_deg)
        self._pitches.append(pitch_deg)
        if len(self._yaws) >= MIN_NEUTRAL_POSE_SAMPLES:
            yaw, pitch = float(np.median(self._yaws)), float(np.median(self._pitches))
            self.yaw_deg = max(-MAX_NEUTRAL_YAW_DEG, min(MAX_NEUTRAL_YAW_DEG, yaw))
            self.pitch_deg = max(-MAX_NEUTRAL_PITCH_DEG, min(MAX_NEUTRAL_PITCH_DEG, pitch))

    def deviation(self, yaw_deg: float, pitch_deg: float) -> tuple[float, float]:
        """(yaw, pitch) in degrees from the neutral pose."""
        return yaw_deg - self.yaw_deg, pitch_deg - self.pitch_deg


@dataclass(frozen=True, slots=True)
class _Box:
    """A face box in frame fractions, like mediapipe's ``relative_bounding_box``."""

    xmin: float
    ymin: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class _Track:
    """The face the detectors last found alone in the frame, to be followed until it is due
    to be detected again."""

    t: float
    box: _Box
    patch: Patch


@dataclass(frozen=True, slots=True)
class _Measured:
    """The latest face-mesh head pose and what the face looked like then."""

    t: float
    faces: int
    look: npt.NDArray[np.float32]
    yaw: float
    pitch: float


class FaceAnalyzer(vision.GraphOwner):
    """Per-interview face analyzer; call :meth:`analyze` with frames of one stream in order.

    Not thread-safe. ``close()`` releases the mediapipe graphs (also on ``with`` exit).
    """

    def __init__(
        self,
        interview_id: str,
        *,
        stock_graphs: bool = False,
        mesh_every_s: float = MESH_EVERY_S,
        detect_every_s: float = DETECT_EVERY_S,
    ) -> None:
        """``stock_graphs``: build mediapipe's stock solutions, whose graphs run on executor
        threads of their own, instead of the :mod:`analyzers.vision.solutions` ones that run on the
        calling thread; with ``mesh_every_s=0`` (mesh on every frame) that is the analyzer as it
        was before issue 14, for benchmarks."""
        self.interview_id = interview_id
        self._mesh_every_s = mesh_every_s
        self._last_mesh: _Measured | None = None
        self._detect_every_s = detect_every_s
        self._track: _Track | None = None
        self.detector_runs = 0
        """Short-range detector passes so far (samples whose face was detected, not followed)."""
        self.neutral = NeutralPose()
        self.mesh_runs = 0
        """Face-mesh passes so far (frames whose head pose was measured, not reused)."""
        detection = mp_face_detection.FaceDetection if stock_graphs else vision.FaceDetection
        mesh = mp_face_mesh.FaceMesh if stock_graphs else vision.FaceMesh
        self._detector: Any = detection(
            model_selection=1, min_detection_confidence=MIN_FACE_CONFIDENCE
        )
        self._near_detector: Any = detection(
            model_selection=0, min_detection_confidence=MIN_FACE_CONFIDENCE
        )
        self._full_count = 0
        self._full_count_t = -1e9
        self._mesh: Any = mesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=MIN_MESH_CONFIDENCE,
        )
        super().__init__(self._detector, self._near_detector, self._mesh)

    def analyze(
        self, rgb: npt.NDArray[np.uint8], t: float, question_index: int | None
    ) -> FaceMetrics:
        """Measure one RGB frame (H×W×3 uint8) at media time ``t`` seconds.

        ``faces`` counts detections with score ≥ :data:`MIN_FACE_CONFIDENCE`, and is 1 when the
        detector finds none but the face mesh does (a head turned far to the side). The main face
        is the largest detection: its box gives centre and size, and its crop the head pose. Yaw
        is positive when the face points toward the image's right, pitch when it points up.
        """
        self._check_open()
        frame = readonly_rgb(rgb)
        height, width = frame.shape[:2]

        # The short-range detector (≈2 ms) finds the candidate in front of the camera, unless
        # the face it last found alone is found again nearby (≈0.1 ms, DETECT_EVERY_S); the
        # full-range one (≈6 ms, also finds small or second faces) runs once a second, on
        # every frame while it last saw more than one face, and whenever the short-range one
        # finds nobody.
        followed = self._followed(frame, t)
        boxes = followed or self._detected(frame)
        due = t - self._full_count_t >= FULL_RANGE_EVERY_S or t < self._full_count_t
        if not boxes or self._full_count > 1 or due:
            full = self._boxes(self._detector, frame)
            self._full_count, self._full_count_t = len(full), t
            if len(full) > len(boxes):
                boxes = full
        if followed is None or len(boxes) != 1:
            self._track = self._track_of(frame, boxes, t)
        count = len(boxes)
        center_x = center_y = size = yaw = pitch = None
        mesh_face = False  # the mesh found a face the detectors missed (counted as one)
        if boxes:
            box = max(boxes, key=lambda b: b.width * b.height)
            center_x = _unit(box.xmin + box.width / 2)
            center_y = _unit(box.ymin + box.height / 2)
            size = _unit(box.height)
            pose = self._pose_of(frame, box, count, t)
            if pose is not None:
                yaw, pitch = pose
        else:
            self._last_mesh = None
            points = self._landmarks(frame)
            if points is not None:
                mesh_face = True
                (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
                center_x = _unit((left + right) / 2 / width)
                center_y = _unit((top + bottom) / 2 / height)
                size = _unit((bottom - top) / height)
                pose = head_pose(points, width, height)
                if pose is not None:
                    yaw, pitch = pose

        looking_away = facing = False
        if yaw is not None and pitch is not None:
            if count <= 1:
                self.neutral.observe(yaw, pitch)
            d_yaw, d_pitch = self.neutral.deviation(yaw, pitch)
            looking_away = (
                abs(d_yaw) > LOOKING_AWAY_YAW_DEG or abs(d_pitch) > LOOKING_AWAY_PITCH_DEG
            )
            facing = abs(d_yaw) < FACING_YAW_DEG and abs(d_pitch) < FACING_PITCH_DEG
        return FaceMetrics(
            interview_id=self.interview_id,
            t=t,
            question_index=question_index,
            faces=count or (1 if mesh_face else 0),
            yaw_deg=yaw,
            pitch_deg=pitch,
            looking_away=looking_away,
            facing_screen=facing,
            eye_contact=facing,
            neutral_yaw_deg=round(self.neutral.yaw_deg, 1) if self.neutral.measured else None,
            neutral_pitch_deg=round(self.neutral.pitch_deg, 1) if self.neutral.measured else None,
            center_x=center_x,
            center_y=center_y,
            size=size,
        )

    def _followed(self, frame: npt.NDArray[np.uint8], t: float) -> list[Any] | None:
        """The box of the face last detected alone, moved as far as its patch moved, if it was
        detected less than ``detect_every_s`` ago and is found again nearby; else None."""
        track = self._track
        if track is None or not 0.0 <= t - track.t < self._detect_every_s:
            return None
        moved = find_patch(frame, track.patch, TRACK_MARGIN, MIN_FACE_MATCH)
        if moved is None:
            self._track = None
            return None
        height, width = frame.shape[:2]
        box = track.box
        dx, dy = moved[0] / width, moved[1] / height
        return [_Box(box.xmin + dx, box.ymin + dy, box.width, box.height)]

    def _detected(self, frame: npt.NDArray[np.uint8]) -> list[Any]:
        self.detector_runs += 1
        return self._boxes(self._near_detector, frame)

    def _track_of(self, frame: npt.NDArray[np.uint8], boxes: list[Any], t: float) -> _Track | None:
        """What follows a face found alone in the frame (None for none or several faces)."""
        if self._detect_every_s <= 0 or len(boxes) != 1:
            return None
        height, width = frame.shape[:2]
        b = boxes[0]
        box = _Box(b.xmin, b.ymin, b.width, b.height)
        corners = (
            box.xmin * width,
            box.ymin * height,
            (box.xmin + box.width) * width,
            (box.ymin + box.height) * height,
        )
        patch = take_patch(frame, corners, TRACK_WIDTH_PX)
        return None if patch is None else _Track(t, box, patch)

    def _pose_of(
        self, frame: npt.NDArray[np.uint8], box: Any, faces: int, t: float
    ) -> tuple[float, float] | None:
        """Head pose (yaw, pitch) of the face in ``box``: the face mesh on a crop around it, or
        the pose measured less than ``mesh_every_s`` ago if the face count is the same and the
        face looks the same (:func:`_appearance`)."""
        look = _appearance(frame, box) if self._mesh_every_s > 0 else None
        last = self._last_mesh
        if (
            last is not None
            and look is not None
            and 0.0 <= t - last.t < self._mesh_every_s
            and last.faces == faces
            and _difference(last.look, look) <= MAX_APPEARANCE_CHANGE
        ):
            return last.yaw, last.pitch
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = _crop_around(box, width, height)
        points = self._landmarks(frame[y0:y1, x0:x1], _POSE_LANDMARKS)
        pose = None if points is None else _solve_pose(points + (x0, y0), width, height)
        self._last_mesh = None if pose is None or look is None else _Measured(t, faces, look, *pose)
        return pose

    def _landmarks(
        self, image: npt.NDArray[np.uint8], indices: Sequence[int] | None = None
    ) -> npt.NDArray[np.float64] | None:
        """Face-mesh landmarks (pixels of ``image``) of the face in ``image``, or None: all 468,
        or those of ``indices`` in that order (reading 468 protobuf messages costs ~0.1 ms)."""
        if image.shape[0] < MIN_CROP_PX or image.shape[1] < MIN_CROP_PX:
            return None
        self.mesh_runs += 1
        faces = self._mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
        if not faces:
            return None
        h, w = image.shape[:2]
        landmarks = faces[0].landmark
        chosen = landmarks if indices is None else [landmarks[i] for i in indices]
        return np.array([(p.x * w, p.y * h) for p in chosen], dtype=np.float64)

    @staticmethod
    def _boxes(detector: Any, frame: npt.NDArray[np.uint8]) -> list[Any]:
        detections = detector.process(frame).detections or []
        return [
            d.location_data.relative_bounding_box
            for d in detections
            if d.score and d.score[0] >= MIN_FACE_CONFIDENCE
        ]


def head_pose(
    points: npt.NDArray[np.float64], width: int, height: int
) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees of a face mesh relative to the face-to-camera ray, or None.

    ``points`` are the 468 face-mesh landmarks in pixels of a ``width``×``height`` frame.
    """
    return _solve_pose(points[list(_POSE_LANDMARKS)], width, height)


def _solve_pose(
    pose_points: npt.NDArray[np.float64], width: int, height: int
) -> tuple[float, float] | None:
    """:func:`head_pose` from the :data:`_POSE_LANDMARKS` alone (in that order)."""
    image_points = np.ascontiguousarray(pose_points, dtype=np.float64)
    focal = FOCAL_LENGTH_FRAME_WIDTHS * width
    camera = np.array(
        [[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]], dtype=np.float64
    )
    ok, rvec, tvec = cv2.solvePnP(
        _MODEL_POINTS, image_points, camera, _NO_DISTORTION, flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    forward = rotation @ _FACE_FORWARD
    to_camera = -np.asarray(tvec, dtype=np.float64).ravel()
    if to_camera[2] >= 0:  # degenerate fit: the face would be behind the camera
        return None
    yaw = _yaw(forward) - _yaw(to_camera)
    pitch = _pitch(forward) - _pitch(to_camera)
    return math.degrees(yaw), math.degrees(pitch)


def _appearance(frame: npt.NDArray[np.uint8], box: Any) -> npt.NDArray[np.float32] | None:
    """The face box as an APPEARANCE_PX² grey thumbnail with zero mean and unit standard
    deviation (None for a box of less than 2×2 pixels or without contrast): it changes when the
    head turns or something covers the face, hardly when the face moves or the light dims."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, round(box.xmin * width)), max(0, round(box.ymin * height))
    x1 = min(width, round((box.xmin + box.width) * width))
    y1 = min(height, round((box.ymin + box.height) * height))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(grey, (APPEARANCE_PX, APPEARANCE_PX), interpolation=cv2.INTER_AREA)
    look = thumb.astype(np.float32)
    look -= look.mean()
    std = float(look.std())
    if std < 1.0:
        return None
    look /= std
    return look


def _difference(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean absolute difference of two :func:`_appearance` thumbnails."""
    return float(np.abs(a - b).mean())


def _crop_around(box: Any, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel bounds (x0, y0, x1, y1) of a square of CROP_FACE_SIZES face sizes around ``box``."""
    side = CROP_FACE_SIZES * max(box.width * width, box.height * height)
    cx = (box.xmin + box.width / 2) * width
    cy = (box.ymin + box.height / 2) * height
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
    return x0, y0, x1, y1


def _yaw(v: npt.NDArray[np.float64]) -> float:
    """Horizontal angle (radians) of a camera-space direction pointing back at the camera."""
    return math.atan2(float(v[0]), float(-v[2]))


def _pitch(v: npt.NDArray[np.float64]) -> float:
    """Vertical angle (radians), positive upward (camera y points down)."""
    return math.atan2(float(-v[1]), math.hypot(float(v[0]), float(v[2])))


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def readonly_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A read-only, contiguous view of an H×W×3 uint8 frame (mediapipe then avoids a copy)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
    frame = np.ascontiguousarray(rgb).view()
    frame.flags.writeable = False
    return frame
