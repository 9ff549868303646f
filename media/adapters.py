"""Normalise decoded media at the edge, once: → our own AudioChunk / VideoSample.

Only this module, ``media.decoders`` and the fan-out deal with decoded frames; everything
downstream sees numpy arrays stamped with media time (the RTP timestamp), never the wall
clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

ANALYSIS_SAMPLE_RATE_HZ = 16_000
AUDIO_BATCH_S = 0.1
"""Audio is handed to the analyzers in 100 ms batches (fewer, larger IPC messages)."""
AUDIO_GAP_S = 0.1
"""A jump in media time larger than this ends a batch: audio is never glued across a gap."""
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
    """Batches one audio track as 16 kHz mono float32 (resampling decoded frames if needed).

    Not thread-safe: one producer.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._parts: list[npt.NDArray[np.float32]] = []
        self._t: float | None = None
        self._n = 0
        self._expected_t: float | None = None

    def push(self, frame: av.AudioFrame) -> list[AudioChunk]:
        """Add one decoded frame (any rate and layout); returns the batches that are complete."""
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="flt", layout="mono", rate=ANALYSIS_SAMPLE_RATE_HZ
            )
        parts = [
            resampled.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            for resampled in self._resampler.resample(frame)
        ]
        samples = np.concatenate(parts) if len(parts) != 1 else parts[0]
        return self.push_pcm(media_time_s(frame), samples, frame.samples / frame.sample_rate)

    def push_pcm(
        self, t: float, samples: npt.NDArray[np.float32], duration_s: float | None = None
    ) -> list[AudioChunk]:
        """Add 16 kHz mono samples starting at media time ``t``; returns the complete batches.

        ``duration_s``: how much media time the input covered, when it is not
        ``len(samples)`` at 16 kHz (a resampler holds some samples back).
        """
        out: list[AudioChunk] = []
        if self._expected_t is not None and abs(t - self._expected_t) > AUDIO_GAP_S:
            out += self.flush()  # a gap: do not glue audio across it
        if len(samples):
            if self._t is None:
                self._t = t
            self._parts.append(samples)
            self._n += len(samples)
        if duration_s is None:
            duration_s = len(samples) / ANALYSIS_SAMPLE_RATE_HZ
        self._expected_t = t + duration_s
        if self._n >= AUDIO_BATCH_S * ANALYSIS_SAMPLE_RATE_HZ:
            out += self.flush()
        return out

    def flush(self) -> list[AudioChunk]:
        if not self._parts or self._t is None:
            return []
        samples = np.concatenate(self._parts) if len(self._parts) != 1 else self._parts[0]
        chunk = AudioChunk(self._t, samples)
        self._parts, self._t, self._n = [], None, 0
        return [chunk]


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """The size a ``width``×``height`` frame is downscaled to: within 320×240, aspect kept,
    even, never upscaled."""
    scale = min(ANALYSIS_WIDTH_PX / width, ANALYSIS_HEIGHT_PX / height, 1.0)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class VideoScaler:
    """Downscale + RGB conversion with cached swscale contexts; one per thread.

    Two passes, each on swscale's fast paths: scale in the frame's own YUV format, then
    convert to RGB at the small size (3× cheaper than one combined pass, which takes the
    generic path and, through ``VideoFrame.reformat``, builds a new context for every
    frame). Single-threaded: the frames are small and swscale's own threads cost more
    than they save here.
    """

    def __init__(self) -> None:
        self._scale = VideoReformatter()
        self._to_rgb = VideoReformatter()

    def sample(self, frame: av.VideoFrame) -> VideoSample:
        width, height = analysis_size(frame.width, frame.height)
        small = frame
        if (width, height) != (frame.width, frame.height):
            small = self._scale.reformat(
                frame, width=width, height=height, interpolation="BILINEAR", threads=1
            )
        rgb = self._to_rgb.reformat(small, format="rgb24", threads=1).to_ndarray()
        return VideoSample(media_time_s(frame), np.asarray(rgb, dtype=np.uint8))


def video_sample(frame: av.VideoFrame, scaler: VideoScaler | None = None) -> VideoSample:
    """Downscale (keeping the aspect ratio within 320×240) and convert to RGB.

    CPU work: call it from a thread, not the event loop. Pass the thread's ``scaler`` when
    converting a stream of frames.
    """
    return (scaler or VideoScaler()).sample(frame)
