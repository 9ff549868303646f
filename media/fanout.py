"""Fan received media out to analysis: all audio, video sampled by media time.

The tap (``media.tap``) hands the fan-out each receiver's encoded frames (:meth:`AnalysisFanout.decoder`);
aiortc itself decodes nothing, and only what analysis uses is ever converted:

* Audio is decoded on the event loop as it arrives, straight to 16 kHz mono
  (``media.decoders.LibopusDecoder``; a 48 kHz decoder and a resampler when libopus
  cannot be loaded or the codec is not Opus), batched in 100 ms chunks
  (``media.adapters``) and handed on in order.
* Video is decoded on a worker thread (``media.decoders.VideoDecodeWorker``). That thread
  keeps a frame only when the analysis rate allows (by media time), downscales it right
  there and hands it to the event loop latest-sample-wins: at most one sample waits for
  the loop, so a slow loop or analyzer drops samples instead of piling them up, and the
  frames analysis skips are neither converted nor seen by the loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from aiortc.codecs import get_decoder
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.adapters import (
    ANALYSIS_SAMPLE_RATE_HZ,
    AudioAdapter,
    AudioChunk,
    VideoSample,
    VideoScaler,
    media_time_s,
    video_sample,
)
from media.decoders import (
    LibopusDecoder,
    MonoOpusDecoder,
    OpusError,
    OpusReceiveStream,
    VideoDecodeWorker,
    libopus,
)
from media.tap import EncodedFrame, FrameDecoder

logger = logging.getLogger(__name__)

ANALYSIS_FPS = 5.0
"""Video frames per second sent to the face analyzer (posture samples a subset)."""
WORKER_JOIN_TIMEOUT_S = 5.0
_SAMPLE_SLACK_S = 1e-3
"""A frame this close before the next sampling time is taken (sums of 1/fps drift)."""

AudioOut = Callable[[float, npt.NDArray[np.float32]], None]
VideoOut = Callable[[float, npt.NDArray[np.uint8]], None]


class _VideoPath:
    """Sampling state of one video receiver (used on its worker thread)."""

    def __init__(self) -> None:
        self.next_t: float | None = None
        self.scaler = VideoScaler()
        self.pending: VideoSample | None = None
        self.delivery_scheduled = False


class _AudioInput:
    """The :class:`media.tap.FrameDecoder` of an audio receiver: decodes on the event loop."""

    def __init__(self, fanout: AnalysisFanout) -> None:
        self._fanout = fanout

    def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        self._fanout.audio(codec, frame)

    def close(self) -> None:
        pass  # the last partial batch is flushed by AnalysisFanout.aclose


class AnalysisFanout:
    """Decodes one connection's media for analysis and hands it on.

    ``on_audio(t, samples)`` and ``on_video(t, rgb)`` are called on the event loop, with
    media times in seconds. Create it on the event loop.
    """

    def __init__(
        self, on_audio: AudioOut, on_video: VideoOut, name: str, fps: float = ANALYSIS_FPS
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_audio = on_audio
        self._on_video = on_video
        self._name = name
        self._interval_s = 1.0 / fps
        self._audio = AudioAdapter()
        self._opus: OpusReceiveStream | None = None
        self._opus_missing = False
        self._other_audio: tuple[str, Decoder] | None = None
        self._workers: list[VideoDecodeWorker] = []
        self._closed = False
        self.audio_errors = 0
        self.frames_in = 0
        """Video frames decoded."""
        self.frames_sampled = 0
        """Video samples converted for analysis."""

    def decoder(self, kind: str, on_error: Callable[[], None] | None = None) -> FrameDecoder:
        """The decoder a receiver of ``kind`` hands its encoded frames to (``media.tap``).

        ``on_error``: called (from any thread) when a video frame fails to decode.
        """
        if kind == "audio":
            return _AudioInput(self)
        path = _VideoPath()
        worker = VideoDecodeWorker(
            functools.partial(self._sample, path),
            on_error,
            name=f"video-decoder-{self._name}",
            base_layer_min_fps=1.0 / self._interval_s,
        )
        self._workers.append(worker)
        return worker

    # -- audio: on the event loop ------------------------------------------------------

    def audio(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        """Decode one encoded audio frame and hand on the 100 ms batches it completes."""
        if self._closed:
            return
        opus = self._opus_decoder() if frame.codec == "opus" else None
        chunks: list[AudioChunk] = []
        try:
            if opus is not None:
                for t, samples in opus.decode(frame):
                    chunks += self._audio.push_pcm(t, samples)
            else:
                for decoded in self._other_decoder(codec).decode(
                    JitterFrame(frame.data, frame.timestamp)
                ):
                    chunks += self._audio.push(decoded)  # type: ignore[arg-type]
        except (OpusError, av.FFmpegError) as exc:
            self.audio_errors += 1
            if self.audio_errors == 1:
                logger.warning("%s: an audio frame failed to decode: %s", self._name, exc)
        for chunk in chunks:
            self._on_audio(chunk.t, chunk.samples)

    @property
    def frames_skipped(self) -> int:
        """Video frames of upper temporal layers not decoded (the base layer sufficed)."""
        return sum(w.layers.skipped for w in self._workers if w.layers is not None)

    @property
    def frames_damaged(self) -> int:
        """Video frames decoded between a loss and the next key frame, kept from analysis."""
        return sum(w.unusable for w in self._workers)

    @property
    def opus(self) -> OpusReceiveStream | None:
        """The Opus stream's decoder (its loss counters), once audio arrived."""
        return self._opus

    def _opus_decoder(self) -> OpusReceiveStream | None:
        """libopus at 16 kHz; None (for good) when it cannot be had: the fallback decodes
        (and conceals no loss)."""
        if self._opus is None and not self._opus_missing:
            if libopus() is not None:
                try:
                    self._opus = OpusReceiveStream(LibopusDecoder(ANALYSIS_SAMPLE_RATE_HZ))
                except OpusError as exc:
                    logger.warning("%s: %s; decoding at 48 kHz instead", self._name, exc)
            self._opus_missing = self._opus is None
        return self._opus

    def _other_decoder(self, codec: RTCRtpCodecParameters) -> Decoder:
        """A decoder whose output the adapter resamples: Opus to 48 kHz mono, other codecs
        by aiortc's own decoder."""
        if self._other_audio is None or self._other_audio[0] != codec.name:
            decoder = MonoOpusDecoder() if codec.name.lower() == "opus" else get_decoder(codec)
            self._other_audio = (codec.name, decoder)
        return self._other_audio[1]

    # -- video: sampled on the worker thread, delivered on the event loop ----------------

    def _sample(self, path: _VideoPath, frame: av.VideoFrame) -> None:
        """Every decoded frame, on the worker thread: convert the ones analysis takes."""
        self.frames_in += 1
        if frame.pts is None or frame.time_base is None or self._closed:
            return
        t = media_time_s(frame)
        if path.next_t is not None and t < path.next_t - _SAMPLE_SLACK_S:
            return
        if path.next_t is None or t - path.next_t > self._interval_s:
            path.next_t = t  # after a stall, do not try to catch up
        path.next_t += self._interval_s
        path.pending = video_sample(frame, path.scaler)
        self.frames_sampled += 1
        if not path.delivery_scheduled:
            path.delivery_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._deliver, path)
            except RuntimeError:  # the loop is closed: nobody to deliver to
                path.delivery_scheduled = False

    def _deliver(self, path: _VideoPath) -> None:
        path.delivery_scheduled = False  # before taking the sample: a newer one reschedules
        sample, path.pending = path.pending, None
        if sample is not None and not self._closed:
            self._on_video(sample.t, sample.rgb)

    async def aclose(self) -> None:
        """Hand on the last partial audio batch, stop the video workers."""
        if self._closed:
            return
        for chunk in self._audio.flush():
            self._on_audio(chunk.t, chunk.samples)
        self._closed = True
        for worker in self._workers:
            worker.close()
        for worker in self._workers:
            await asyncio.to_thread(worker.join, WORKER_JOIN_TIMEOUT_S)
        if self._opus is not None:
            self._opus.close()
