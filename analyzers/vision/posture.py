"""Upper-body posture for one live interview (runs in a worker process).

Observable behaviour only: whether head and shoulders are in the frame, how level the shoulders
are, how far the head is off the shoulder midpoint, and how much the upper body moves between
samples. Uses mediapipe pose with ``model_complexity=1`` (the only bundled model; 0 and 2 try to
download) in tracking mode, its graph on the calling thread (:mod:`analyzers.vision.solutions`), at the
pipeline's 2 fps.

The pose model runs on every 4th sample of a candidate holding still (see
:class:`PostureAnalyzer`). CPU per pose-model pass (``python -m loadtest.vision_bench``: the load
test's astronaut video at 320×240, paced, 60 pose frames, process CPU time of all threads, mean of
3 rounds; 2-core build machine, mediapipe 0.10.21): 19.7 ms idle / 19.8 ms contended (a busy
process per core), ≈ 4 % of a core at 2 fps (≈ 1 % for a still candidate); with the stock graph and its 2 executor threads, before issue 14, 20.5 / 19.7 ms
(back to back: 18.3 vs 19.5 ms). The model's XNNPACK kernels (already single-threaded) are ~3/4
of a perf profile, so neither the executor nor XNNPACK's zero-copy tensor I/O (tried: within
±1 %) moves it much; the rate does. Frame size hardly matters (mediapipe resizes internally).

Distances are measured in pixels and expressed in shoulder widths, so they do not depend on the
frame's aspect ratio or how close the candidate sits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from mediapipe.python.solutions import pose as mp_pose

from analyzers.events import FaceMetrics, PostureMetrics
from analyzers.vision import solutions as vision
from analyzers.vision.face import readonly_rgb
from analyzers.vision.tracking import Patch, find_patch, take_patch

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

REMEASURE_EVERY_S = 2.0
"""A body measured by the pose model is reused for later samples less than this (media time)
after it while the upper body is found unchanged (:data:`MIN_BODY_MATCH`): at the pipeline's
2 fps the model runs on every 4th sample of a still candidate, and at once when they move.
0 runs the model on every sample. (1.0 until 2026-12-08, every 2nd sample; what the template
misses, a lean under 3° or a shift under a tenth of a face, is now measured at most 1.5 s
later instead of 0.5 s.)"""
TEMPLATE_MARGIN_SHOULDERS = 0.3
"""The upper-body template: the box around the nose, ears and shoulders, grown by this many
shoulder widths on every side (and clipped to the frame)."""
TEMPLATE_WIDTH_PX = 48
"""Width the template is scaled to, so that finding it costs the same at any frame size."""
SEARCH_MARGIN = 0.25
"""How far the template is looked for around where it was, in template widths and heights."""
MIN_BODY_MATCH = 0.95
"""Lowest normalised correlation (``cv2.TM_CCOEFF_NORMED``) at which the upper body counts as
the same, moved; see :class:`PostureAnalyzer` for the calibration."""
MAX_SETTLED_MOVEMENT = 0.15
"""A body that moved more than this (shoulder widths) since the previous sample is not reused:
the pose model's tracking and smoothing lag a jump by a sample (seen sinking 160 px at 320×240:
still "in frame" on the jump, out on the next), so the next sample is measured too. The load
test's pan moves 0.03–0.07 a sample."""

_Points = dict[int, tuple[float, float]]
"""Landmark index → (x, y) in pixels, for landmarks seen with enough visibility."""


@dataclass(frozen=True, slots=True)
class _Body:
    """The latest body the pose model measured and what its upper body looked like."""

    t: float
    seen: _Points
    patch: Patch
    """The upper body (nose, ears, shoulders and a margin)."""


class PostureAnalyzer(vision.GraphOwner):
    """Per-interview posture analyzer; call :meth:`analyze` with frames of one stream in order.

    A candidate holding still is measured every 2 s instead of on every sample: the body
    measured less than :data:`REMEASURE_EVERY_S` ago is reused, moved as far as a grey template
    of its upper body (nose, ears, shoulders and a margin) moved, while that template is found
    unchanged nearby (normalised correlation ≥ :data:`MIN_BODY_MATCH`). Not while the face
    analyzer sees more than one face. Calibrated on the astronaut photo at the analysis size
    (``tests/test_posture_reuse.py``): camera noise σ = 8, 30 % darker and pans of 6–20 px
    score 0.987–0.989, frames of the load test's panning video 0.4 s apart ≥ 0.975, while
    leaning by 3 / 5 / 10° scores 0.94 / 0.89 / 0.76, the body under a still head slumping or
    shifting by a tenth of a face 0.94–0.95 and by a fifth 0.85–0.86, sinking 70 px 0.44 — all
    measured on the sample they happen. Out of frame, the product's use of posture, needs the
    body to move, so it is never read from a stale body.

    Not thread-safe. ``close()`` releases the mediapipe graph (also on ``with`` exit).
    """

    def __init__(
        self,
        interview_id: str,
        *,
        stock_graphs: bool = False,
        remeasure_every_s: float = REMEASURE_EVERY_S,
    ) -> None:
        """``stock_graphs``: mediapipe's stock pose solution, whose graph runs on executor
        threads of its own (the behaviour before issue 14; for benchmarks), instead of
        :class:`analyzers.vision.Pose` on the calling thread; ``remeasure_every_s=0`` runs the
        model on every sample."""
        self.interview_id = interview_id
        self._remeasure_every_s = remeasure_every_s
        self._last_body: _Body | None = None
        self.pose_runs = 0
        """Pose-model passes so far (samples measured, not reused)."""
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
        super().__init__(self._pose)

    def analyze(
        self,
        rgb: npt.NDArray[np.uint8],
        t: float,
        question_index: int | None,
        face: FaceMetrics | None = None,
    ) -> PostureMetrics:
        """Measure one RGB frame (H×W×3 uint8) at media time ``t`` seconds; ``face``: the face
        analyzer's result for the same frame (with more than one face, the body is measured
        rather than reused: the pose model may pick another person).

        ``in_frame``: nose and both shoulders seen (visibility ≥ :data:`MIN_VISIBILITY`) and
        inside the image. ``shoulders_level_deg`` is positive when the shoulder on the image's
        right is lower; ``lean`` is positive when the nose is right of the shoulder midpoint (both
        in image terms). ``movement`` is None on the first frame and after a frame without a body.
        """
        self._check_open()
        frame = readonly_rgb(rgb)
        height, width = frame.shape[:2]
        crowded = face is not None and face.faces > 1  # who the pose model picks may change
        seen = None if crowded else self._reused(frame, t)
        if seen is None:
            seen = self._measure(frame, t)
        if seen is None:
            self._previous = None
            return PostureMetrics(
                interview_id=self.interview_id, t=t, question_index=question_index, in_frame=False
            )
        inside = {i for i, (x, y) in seen.items() if 0.0 <= x <= width and 0.0 <= y <= height}
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
        if movement is not None and movement > MAX_SETTLED_MOVEMENT:
            self._last_body = None  # tracking lags a jump: measure the next sample too
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

    def _reused(self, frame: npt.NDArray[np.uint8], t: float) -> _Points | None:
        """The last measured body, moved as far as its upper body moved, if that was measured
        less than ``remeasure_every_s`` ago and is found unchanged nearby; else None."""
        last = self._last_body
        if last is None or not 0.0 <= t - last.t < self._remeasure_every_s:
            return None
        moved = find_patch(frame, last.patch, SEARCH_MARGIN, MIN_BODY_MATCH)
        if moved is None:
            return None
        dx, dy = moved
        return {i: (x + dx, y + dy) for i, (x, y) in last.seen.items()}

    def _measure(self, frame: npt.NDArray[np.uint8], t: float) -> _Points | None:
        """The landmarks the pose model finds (pixels), or None without a body; remembered with
        a template of the upper body when both shoulders are seen."""
        self.pose_runs += 1
        self._last_body = None
        result = self._pose.process(frame)
        if result.pose_landmarks is None:
            return None
        height, width = frame.shape[:2]
        landmarks = result.pose_landmarks.landmark
        seen: _Points = {}
        for index in MOVEMENT_LANDMARKS:
            lm = landmarks[index]
            if lm.visibility >= MIN_VISIBILITY:
                seen[index] = (lm.x * width, lm.y * height)
        shoulder_width = _shoulder_width(seen)
        if self._remeasure_every_s > 0 and shoulder_width is not None:
            self._last_body = _upper_body(frame, t, seen, shoulder_width)
        return seen


def _upper_body(
    frame: npt.NDArray[np.uint8], t: float, seen: _Points, shoulder_width: float
) -> _Body | None:
    """``seen`` with a patch of the upper body around it, or None if that is too small or too
    flat to be found again."""
    margin = TEMPLATE_MARGIN_SHOULDERS * shoulder_width
    xs, ys = [x for x, _ in seen.values()], [y for _, y in seen.values()]
    box = (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)
    patch = take_patch(frame, box, TEMPLATE_WIDTH_PX)
    return None if patch is None else _Body(t, seen, patch)


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
