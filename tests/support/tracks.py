"""Media tracks for scripted candidates: a file's frames looped forever with steady timestamps."""

from __future__ import annotations

from pathlib import Path

import av
from aiortc import VideoStreamTrack


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
