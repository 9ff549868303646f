"""Normalise decoded media at the edge, once: av frames → our own AudioChunk / VideoSample.

Only this module (and the peer) deal with av frames; everything downstream sees numpy
arrays stamped with media time from the frame's pts, never the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

ANALYSIS_SAMPLE_RATE_HZ = 16_000
AUDIO_BATCH_S = 0.1
"""Audio is handed to the analyzers in 100 ms batches (fewer, larger IPC messages)."""
ANALYSIS_WIDTH_PX = 320
ANALYSIS_HEIGHT_PX = 240


@dataclass(frozen=True, slots=True)
class AudioChunk:
    t: float
    """Media time of the first sample (seconds)."""
    samples: npt.NDArray[np.float32]
    """Mono float32 PCM in [-1, 1] at 16 kHz."""


@dataclass(frozen=True, slots=True)
class VideoSample:
    t: float
    rgb: npt.NDArray[np.uint8]
    """H×W×3, downscaled for analysis before it crosses a process boundary."""


def media_time_s(frame: av.AudioFrame | av.VideoFrame) -> float:
    if frame.pts is None or frame.time_base is None:
        raise ValueError("frame without a timestamp")
    return float(frame.pts * frame.time_base)


class AudioAdapter:
    """Resamples one audio track to 16 kHz mono float32 and batches it."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(
            format="flt", layout="mono", rate=ANALYSIS_SAMPLE_RATE_HZ
        )
        self._parts: list[npt.NDArray[np.float32]] = []
        self._t: float | None = None
        self._n = 0
        self._expected_t: float | None = None

    def push(self, frame: av.AudioFrame) -> list[AudioChunk]:
        """Add one decoded frame; returns the batches that are complete."""
        t = media_time_s(frame)
        out: list[AudioChunk] = []
        if self._expected_t is not None and abs(t - self._expected_t) > 0.1:
            out += self.flush()  # a gap: do not glue audio across it
        for resampled in self._resampler.resample(frame):
            data = resampled.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            if self._t is None:
                self._t = t
            self._parts.append(data)
            self._n += len(data)
        self._expected_t = t + frame.samples / frame.sample_rate
        if self._n >= AUDIO_BATCH_S * ANALYSIS_SAMPLE_RATE_HZ:
            out += self.flush()
        return out

    def flush(self) -> list[AudioChunk]:
        if not self._parts or self._t is None:
            return []
        chunk = AudioChunk(self._t, np.concatenate(self._parts))
        self._parts, self._t, self._n = [], None, 0
        return [chunk]


def video_sample(frame: av.VideoFrame) -> VideoSample:
    """Downscale (keeping the aspect ratio within 320×240) and convert to RGB.

    CPU work: call it from a thread, not the event loop.
    """
    scale = min(ANALYSIS_WIDTH_PX / frame.width, ANALYSIS_HEIGHT_PX / frame.height, 1.0)
    width = max(2, int(frame.width * scale) // 2 * 2)
    height = max(2, int(frame.height * scale) // 2 * 2)
    rgb = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    return VideoSample(media_time_s(frame), np.asarray(rgb, dtype=np.uint8))
