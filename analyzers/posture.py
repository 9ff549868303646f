"""Upper-body posture for one live interview (runs in a worker process).

Observable behaviour only: whether head and shoulders are in the frame, how level the shoulders
are, how far the head is off the shoulder midpoint, and how much the upper body moves between
samples. Uses mediapipe pose with ``model_complexity=1`` (the only bundled model; 0 and 2 try to
download) in tracking mode, its graph on the calling thread (:mod:`analyzers.vision`), at the
pipeline's 2 fps.

CPU per analysed frame (``python -m loadtest.vision_bench``: the load test's astronaut video at
320×240, paced, 60 pose frames, process CPU time of all threads, mean of 3 rounds; 2-core build
machine, mediapipe 0.10.21): 19.7 ms idle / 19.8 ms contended (a busy process per core), ≈ 4 % of
a core at 2 fps; with the stock graph and its 2 executor threads, before issue 14, 20.5 / 19.7 ms
(back to back: 18.3 vs 19.5 ms). The model's XNNPACK kernels (already single-threaded) are ~3/4
of a perf profile, so neither the executor nor XNNPACK's zero-copy tensor I/O (tried: within
±1 %) moves it much; the rate does. Frame size hardly matters (mediapipe resizes internally).

Distances are measured in pixels and expressed in shoulder widths, so they do not depend on the
frame's aspect ratio or how close the candidate sits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from mediapipe.python.solutions import pose as mp_pose

from analyzers import vision
from analyzers.events import PostureMetrics
from analyzers.face import readonly_rgb

MIN_VISIBILITY = 0.5
"""Landmark visibility (0..1) from which a landmark counts as seen."""
MIN_POSE_CONFIDENCE = 0.5
"""Pose detection/tracking confidence (0..1)."""
MIN_SHOULDER_WIDTH_PX = 4.0
"""Below this shoulder distance (pixels) ratios in shoulder widths are meaningless."""

NOSE = 0
LEFT_EAR = 7
RIGHT_EAR = 8
LEFT_SHOULDER = 11
RIGHT_SHOULDER = 12
MOVEMENT_LANDMARKS = (NOSE, LEFT_EAR, RIGHT_EAR, LEFT_SHOULDER, RIGHT_SHOULDER)
"""Upper-body landmarks averaged for ``movement`` (elbows are often out of a webcam frame)."""

_Points = dict[int, tuple[float, float]]
"""Landmark index → (x, y) in pixels, for landmarks seen with enough visibility."""


class PostureAnalyzer:
    """Per-interview posture analyzer; call :meth:`analyze` with frames of one stream in order.

    Not thread-safe. ``close()`` releases the mediapipe graph (also on ``with`` exit).
    """

    def __init__(self, interview_id: str, *, stock_graphs: bool = False) -> None:
        """``stock_graphs``: mediapipe's stock pose solution, whose graph runs on executor
        threads of its own (the behaviour before issue 14; for benchmarks), instead of
        :class:`analyzers.vision.Pose` on the calling thread."""
        self.interview_id = interview_id
        pose = mp_pose.Pose if stock_graphs else vision.Pose
        self._pose: Any = pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=MIN_POSE_CONFIDENCE,
            min_tracking_confidence=MIN_POSE_CONFIDENCE,
        )
        self._previous: _Points | None = None
        self._closed = False

    def analyze(
        self, rgb: npt.NDArray[np.uint8], t: float, question_index: int | None
    ) -> PostureMetrics:
        """Measure one RGB frame (H×W×3 uint8) at media time ``t`` seconds.

        ``in_frame``: nose and both shoulders seen (visibility ≥ :data:`MIN_VISIBILITY`) and
        inside the image. ``shoulders_level_deg`` is positive when the shoulder on the image's
        right is lower; ``lean`` is positive when the nose is right of the shoulder midpoint (both
        in image terms). ``movement`` is None on the first frame and after a frame without a body.
        """
        if self._closed:
            raise RuntimeError("PostureAnalyzer is closed")
        frame = readonly_rgb(rgb)
        height, width = frame.shape[:2]
        result = self._pose.process(frame)
        if result.pose_landmarks is None:
            self._previous = None
            return PostureMetrics(
                interview_id=self.interview_id, t=t, question_index=question_index, in_frame=False
            )

        landmarks = result.pose_landmarks.landmark
        seen: _Points = {}
        inside: set[int] = set()
        for index in MOVEMENT_LANDMARKS:
            lm = landmarks[index]
            if lm.visibility >= MIN_VISIBILITY:
                seen[index] = (lm.x * width, lm.y * height)
                if 0.0 <= lm.x <= 1.0 and 0.0 <= lm.y <= 1.0:
                    inside.add(index)
        in_frame = {NOSE, LEFT_SHOULDER, RIGHT_SHOULDER} <= inside

        tilt = lean = movement = None
        shoulder_width = _shoulder_width(seen)
        if shoulder_width is not None:
            (ax, ay), (bx, by) = sorted((seen[LEFT_SHOULDER], seen[RIGHT_SHOULDER]))
            tilt = math.degrees(math.atan2(by - ay, bx - ax))  # from the image-left shoulder
            if NOSE in seen:
                lean = (seen[NOSE][0] - (ax + bx) / 2) / shoulder_width
            if self._previous is not None:
                movement = _movement(self._previous, seen, shoulder_width)
        self._previous = seen
        return PostureMetrics(
            interview_id=self.interview_id,
            t=t,
            question_index=question_index,
            in_frame=in_frame,
            shoulders_level_deg=tilt,
            lean=lean,
            movement=movement,
        )

    def close(self) -> None:
        """Release the mediapipe graph; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pose.close()

    def __enter__(self) -> PostureAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shoulder_width(points: _Points) -> float | None:
    if LEFT_SHOULDER not in points or RIGHT_SHOULDER not in points:
        return None
    width = math.dist(points[LEFT_SHOULDER], points[RIGHT_SHOULDER])
    return width if width >= MIN_SHOULDER_WIDTH_PX else None


def _movement(previous: _Points, current: _Points, shoulder_width: float) -> float | None:
    """Mean displacement of landmarks seen in both samples, in shoulder widths."""
    common = [i for i in MOVEMENT_LANDMARKS if i in previous and i in current]
    if not common:
        return None
    total = sum(math.dist(previous[i], current[i]) for i in common)
    return total / len(common) / shoulder_width
