"""Finding a patch of one frame again in a later frame, cheaply (template matching).

The vision analyzers reuse a measurement (a body, a face box) on the next sample when the part
of the frame it was made on is found again nearby and unchanged: a grey patch of it, scaled to a
fixed width so the search costs the same at any size, is looked for within a margin around where
it was with OpenCV's normalised correlation (``cv2.TM_CCOEFF_NORMED``: insensitive to brightness
and contrast, sensitive to shape). Each caller calibrates its own threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

MIN_PATCH_PX = 8
MIN_PATCH_STD = 4.0
"""A patch smaller than this (pixels, either side) or flatter (grey levels) is not kept: it
could be found anywhere."""


@dataclass(frozen=True, slots=True)
class Patch:
    """A grey patch of a frame, to be found again."""

    template: npt.NDArray[np.uint8]
    """The patch, grey, scaled by ``scale``."""
    scale: float
    x0: int
    y0: int
    """Where the patch's top-left corner was, in frame pixels."""


def take_patch(
    frame: npt.NDArray[np.uint8], box: tuple[float, float, float, float], width_px: int
) -> Patch | None:
    """The grey patch of an RGB ``frame`` inside ``box`` (x0, y0, x1, y1 in pixels, clipped to
    the frame), scaled to ``width_px`` wide; None if it is too small or too flat to be found."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    if x1 - x0 < MIN_PATCH_PX or y1 - y0 < MIN_PATCH_PX:
        return None
    scale = width_px / (x1 - x0)
    size = (width_px, max(MIN_PATCH_PX, round((y1 - y0) * scale)))
    template = np.asarray(
        cv2.resize(grey(frame[y0:y1, x0:x1]), size, interpolation=cv2.INTER_AREA), np.uint8
    )
    if float(template.std()) < MIN_PATCH_STD:
        return None
    return Patch(template, scale, x0, y0)


def locate(
    frame: npt.NDArray[np.uint8], patch: Patch, margin: float
) -> tuple[float, float, float] | None:
    """Where ``patch`` is in the RGB ``frame``: (dx, dy, score), how far it moved (frame pixels)
    and how well it matched there (normalised correlation, NaN on a flat window), looked for
    within ``margin`` patch widths and heights of where it was; None when that is out of the
    frame's reach."""
    height, width = frame.shape[:2]
    th, tw = patch.template.shape
    w_px, h_px = tw / patch.scale, th / patch.scale  # the patch in frame pixels
    mx, my = margin * w_px, margin * h_px
    x0, y0 = max(0, math.floor(patch.x0 - mx)), max(0, math.floor(patch.y0 - my))
    x1 = min(width, math.ceil(patch.x0 + w_px + mx))
    y1 = min(height, math.ceil(patch.y0 + h_px + my))
    size = (round((x1 - x0) * patch.scale), round((y1 - y0) * patch.scale))
    if size[0] < tw or size[1] < th:
        return None
    window = cv2.resize(grey(frame[y0:y1, x0:x1]), size, interpolation=cv2.INTER_AREA)
    scores = cv2.matchTemplate(window, patch.template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    return x0 + bx / patch.scale - patch.x0, y0 + by / patch.scale - patch.y0, float(best)


def find_patch(
    frame: npt.NDArray[np.uint8], patch: Patch, margin: float, min_match: float
) -> tuple[float, float] | None:
    """How far (dx, dy in frame pixels) ``patch`` moved in the RGB ``frame`` (see
    :func:`locate`); None when it is out of reach or matches below ``min_match``."""
    found = locate(frame, patch, margin)
    if found is None or not found[2] >= min_match:  # also NaN, from a flat window
        return None
    return found[0], found[1]


def grey(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), np.uint8)
