"""Fan decoded media out to analysis: all audio, video sampled latest-frame-wins.

Audio is resampled and batched (``media.adapters``) and handed on in order. Video frames
only replace a one-slot "latest" holder; a sampler task takes the newest frame whenever
the analysis rate allows (by media time), downscales it in a thread and hands it on, so a
slow analyzer or converter never makes frames pile up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt

from media.adapters import AudioAdapter, media_time_s, video_sample

ANALYSIS_FPS = 5.0
"""Video frames per second sent to the face analyzer (posture samples a subset)."""

AudioOut = Callable[[float, npt.NDArray[np.float32]], None]
VideoOut = Callable[[float, npt.NDArray[np.uint8]], None]


class AnalysisFanout:
    def __init__(
        self, on_audio: AudioOut, on_video: VideoOut, name: str, fps: float = ANALYSIS_FPS
    ) -> None:
        self._on_audio = on_audio
        self._on_video = on_video
        self._audio = AudioAdapter()
        self._interval_s = 1.0 / fps
        self._latest: av.VideoFrame | None = None
        self._new_frame = asyncio.Event()
        self._next_t: float | None = None
        self.frames_in = 0
        self.frames_sampled = 0
        self._sampler = asyncio.create_task(self._sample(), name=f"{name}-video-sampler")

    def audio(self, frame: av.AudioFrame) -> None:
        for chunk in self._audio.push(frame):
            self._on_audio(chunk.t, chunk.samples)

    def video(self, frame: av.VideoFrame) -> None:
        self.frames_in += 1
        self._latest = frame  # latest frame wins
        self._new_frame.set()

    async def _sample(self) -> None:
        while True:
            await self._new_frame.wait()
            self._new_frame.clear()
            frame, self._latest = self._latest, None
            if frame is None or frame.pts is None:
                continue
            t = media_time_s(frame)
            if self._next_t is not None and t < self._next_t:
                continue
            if self._next_t is None or t - self._next_t > self._interval_s:
                self._next_t = t  # after a stall, do not try to catch up
            self._next_t += self._interval_s
            sample = await asyncio.to_thread(video_sample, frame)
            self.frames_sampled += 1
            self._on_video(sample.t, sample.rgb)

    async def aclose(self) -> None:
        for chunk in self._audio.flush():
            self._on_audio(chunk.t, chunk.samples)
        self._sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sampler
