"""Face presence, count, position and head pose for one live interview (runs in a worker process).

Observable behaviour only: how many faces are in the frame, where the main face is, and which way
the head points. Nothing here infers emotion, personality or identity.

Two mediapipe solutions, created once per instance (their graphs are not shareable across streams
and expect increasing timestamps):

* ``face_detection`` full-range (``model_selection=1``) counts faces. The short-range model is 3×
  cheaper but misses small faces, e.g. a second person beside the candidate at 320 px width; the
  count drives the extra-person flag, so robustness wins.
* ``face_mesh`` (``max_num_faces=1``, ``refine_landmarks=False``) gives 468 landmarks of the main
  face (the largest detection) for head pose, run on a square crop of :data:`CROP_FACE_SIZES`
  face sizes around it. ``static_image_mode=True``: in tracking mode the same turned-head frame
  read yaw -15° after a frontal frame but -38° from a cold start (the landmark model depends on
  the region it is given, and tracking keeps feeding it its own), so each sample is measured on
  its own, which also makes results reproducible at 5 fps, where frames are 200 ms apart anyway.
  Without a detection the mesh runs on the whole frame, which still catches a face turned too
  far for the detector.

Measured on one core of the 2-core build machine (mediapipe 0.10.21, astronaut photo, 60 frames;
mediapipe resizes internally, so 320×240 and 640×480 cost the same): p50 10.0 ms, p90 10.4 ms per
analysed frame with one or two faces (full-range detection ≈ 5–6 ms, face mesh on the crop ≈
3.7 ms, solvePnP < 0.1 ms), 7 ms on an empty frame; ≈ 5 % of a core at 5 fps. Tracking-mode mesh
would save ~1.6 ms; short-range detection would save ~3.5 ms.

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
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from mediapipe.python.solutions import face_detection as mp_face_detection
from mediapipe.python.solutions import face_mesh as mp_face_mesh

from analyzers.events import FaceMetrics

MIN_FACE_CONFIDENCE = 0.5
"""Detection score (0..1) from which a face is counted."""
FULL_RANGE_EVERY_S = 1.0
"""How often (media time) the slower full-range detector recounts faces."""
MIN_MESH_CONFIDENCE = 0.5
"""Face-mesh face-presence confidence (0..1)."""
LOOKING_AWAY_YAW_DEG = 25.0
LOOKING_AWAY_PITCH_DEG = 20.0
EYE_CONTACT_YAW_DEG = 12.0
EYE_CONTACT_PITCH_DEG = 12.0
CROP_FACE_SIZES = 2.0
"""Side of the square crop given to the face mesh, in face-box sizes (centred on the box)."""
MIN_CROP_PX = 16
"""Smaller crops are not worth a face-mesh pass."""
FOCAL_LENGTH_FRAME_WIDTHS = 1.0
"""Assumed focal length in frame widths (≈ 53° horizontal field of view)."""

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


class FaceAnalyzer:
    """Per-interview face analyzer; call :meth:`analyze` with frames of one stream in order.

    Not thread-safe. ``close()`` releases the mediapipe graphs (also on ``with`` exit).
    """

    def __init__(self, interview_id: str) -> None:
        self.interview_id = interview_id
        self._detector: Any = mp_face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=MIN_FACE_CONFIDENCE
        )
        self._near_detector: Any = mp_face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=MIN_FACE_CONFIDENCE
        )
        self._full_count = 0
        self._full_count_t = -1e9
        self._mesh: Any = mp_face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=MIN_MESH_CONFIDENCE,
        )
        self._closed = False

    def analyze(
        self, rgb: npt.NDArray[np.uint8], t: float, question_index: int | None
    ) -> FaceMetrics:
        """Measure one RGB frame (H×W×3 uint8) at media time ``t`` seconds.

        ``faces`` counts detections with score ≥ :data:`MIN_FACE_CONFIDENCE`, and is 1 when the
        detector finds none but the face mesh does (a head turned far to the side). The main face
        is the largest detection: its box gives centre and size, and its crop the head pose. Yaw
        is positive when the face points toward the image's right, pitch when it points up.
        """
        if self._closed:
            raise RuntimeError("FaceAnalyzer is closed")
        frame = readonly_rgb(rgb)
        height, width = frame.shape[:2]

        # The short-range detector (≈2 ms) finds the candidate in front of the camera; the
        # full-range one (≈6 ms, also finds small or second faces) runs once a second, on
        # every frame while it last saw more than one face, and whenever the short-range one
        # finds nobody.
        boxes = self._boxes(self._near_detector, frame)
        due = t - self._full_count_t >= FULL_RANGE_EVERY_S or t < self._full_count_t
        if not boxes or self._full_count > 1 or due:
            full = self._boxes(self._detector, frame)
            self._full_count, self._full_count_t = len(full), t
            if len(full) > len(boxes):
                boxes = full
        count = len(boxes)
        center_x = center_y = size = None
        if boxes:
            box = max(boxes, key=lambda b: b.width * b.height)
            center_x = _unit(box.xmin + box.width / 2)
            center_y = _unit(box.ymin + box.height / 2)
            size = _unit(box.height)
            x0, y0, x1, y1 = _crop_around(box, width, height)
            points = self._landmarks(frame[y0:y1, x0:x1])
            if points is not None:
                points += (x0, y0)
        else:
            points = self._landmarks(frame)
            if points is not None:
                (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
                center_x = _unit((left + right) / 2 / width)
                center_y = _unit((top + bottom) / 2 / height)
                size = _unit((bottom - top) / height)

        yaw = pitch = None
        if points is not None:
            pose = head_pose(points, width, height)
            if pose is not None:
                yaw, pitch = pose
        looking_away = (
            yaw is not None
            and pitch is not None
            and (abs(yaw) > LOOKING_AWAY_YAW_DEG or abs(pitch) > LOOKING_AWAY_PITCH_DEG)
        )
        eye_contact = (
            yaw is not None
            and pitch is not None
            and abs(yaw) < EYE_CONTACT_YAW_DEG
            and abs(pitch) < EYE_CONTACT_PITCH_DEG
        )
        return FaceMetrics(
            interview_id=self.interview_id,
            t=t,
            question_index=question_index,
            faces=count or (1 if points is not None else 0),
            yaw_deg=yaw,
            pitch_deg=pitch,
            looking_away=looking_away,
            eye_contact=eye_contact,
            center_x=center_x,
            center_y=center_y,
            size=size,
        )

    def _landmarks(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64] | None:
        """Face-mesh landmarks (468×2, pixels of ``image``) of the face in ``image``, or None."""
        if image.shape[0] < MIN_CROP_PX or image.shape[1] < MIN_CROP_PX:
            return None
        faces = self._mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
        if not faces:
            return None
        h, w = image.shape[:2]
        return np.array([(p.x * w, p.y * h) for p in faces[0].landmark], dtype=np.float64)

    @staticmethod
    def _boxes(detector: Any, frame: npt.NDArray[np.uint8]) -> list[Any]:
        detections = detector.process(frame).detections or []
        return [
            d.location_data.relative_bounding_box
            for d in detections
            if d.score and d.score[0] >= MIN_FACE_CONFIDENCE
        ]

    def close(self) -> None:
        """Release the mediapipe graphs; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._detector.close()
        self._near_detector.close()
        self._mesh.close()

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def head_pose(
    points: npt.NDArray[np.float64], width: int, height: int
) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees of a face mesh relative to the face-to-camera ray, or None.

    ``points`` are the 468 face-mesh landmarks in pixels of a ``width``×``height`` frame.
    """
    image_points = np.ascontiguousarray(points[list(_POSE_LANDMARKS)], dtype=np.float64)
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
