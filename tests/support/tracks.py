"""Media tracks for scripted candidates: a file's frames looped forever with steady timestamps.

No worker threads: aiortc's MediaPlayer decodes in a thread that its ``stop()`` joins from
the event loop, which once hung a full suite run for the 300 s test timeout.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

AUDIO_CLOCK_HZ = 48000
AUDIO_PTIME_S = 0.020
AUDIO_FRAME_SAMPLES = int(AUDIO_CLOCK_HZ * AUDIO_PTIME_S)


class LoopingVideoTrack(VideoStreamTrack):
    """Plays the frames of a (short) video file in a loop at the track's 30 fps pacing.

    aiortc's MediaPlayer stops a looped y4m after the first pass; this keeps going.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        with av.open(str(path)) as container:
            self._images = [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]
        if not self._images:
            raise ValueError(f"{path} has no video frames")
        self._i = 0

    async def recv(self) -> av.VideoFrame:  # type: ignore[override]
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(
            self._images[self._i % len(self._images)], format="yuv420p"
        )
        self._i += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame


class PacedAudioTrack(MediaStreamTrack):
    """20 ms mono 48 kHz frames at real-time pace; subclasses say what the samples are."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._index = 0
        self._start_s: float | None = None

    def samples(self, start: int, count: int) -> npt.NDArray[np.int16]:
        """``count`` s16 samples beginning at sample ``start`` of the stream."""
        raise NotImplementedError

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start_s is None:
            self._start_s = loop.time()
        await asyncio.sleep(max(0.0, self._start_s + self._index * AUDIO_PTIME_S - loop.time()))
        start = self._index * AUDIO_FRAME_SAMPLES
        pcm = self.samples(start, AUDIO_FRAME_SAMPLES)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_CLOCK_HZ
        frame.pts = start
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK_HZ)
        self._index += 1
        return frame


class LoopingAudioTrack(PacedAudioTrack):
    """An audio file (decoded once, resampled to 48 kHz mono) played in a loop."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_CLOCK_HZ)
        chunks: list[npt.NDArray[np.int16]] = []
        with av.open(str(path)) as container:
            for decoded in container.decode(audio=0):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(decoded))
        chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        if not chunks or not sum(len(c) for c in chunks):
            raise ValueError(f"{path} has no audio samples")
        self._pcm = np.concatenate(chunks).astype(np.int16)

    def samples(self, start: int, count: int) -> npt.NDArray[np.int16]:
        index = (np.arange(count) + start) % len(self._pcm)
        return self._pcm[index]
