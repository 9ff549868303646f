"""Record each answer to a WebM file by remuxing the received VP8 and Opus frames.

One :class:`AnswerRecorder` per live session. The event loop only appends encoded
frames to a bounded queue (:meth:`AnswerRecorder.on_frame`); one writer thread per
recorder does all PyAV muxing and file I/O. Nothing is decoded or re-encoded. The writer
takes the frames in batches (it wakes every ``WRITER_BATCH_S``, or at once for a start,
stop or close): waking a thread for each of the ~65 frames a second cost several times
more CPU than muxing and encrypting them.

Segment rules:

* Every file starts at pts 0. Audio and video are shifted by the same media offset:
  the earlier of the first Opus packet and the first VP8 key frame of the segment.
* Video is written from the first VP8 key frame on (one is requested when a segment
  starts and again every ``KEYFRAME_RETRY_S`` while waiting, or after a queue
  overflow dropped a video frame). Audio received while waiting is buffered, so the
  answer's first words are kept.
* If no key frame arrives within ``VIDEO_WAIT_S`` of buffered audio (a weak uplink: the
  browser's key frame can take longer to get through whole), the file is opened with the
  audio from the start and, when video is on its way (VP8 frames without a key frame yet),
  a video track that begins at the first key frame to come, at that frame's own time: a
  player plays the answer's first words without a picture, then the picture in sync.
  Matroska lets a track start later than the file.
* If no video came at all, or the video codec is not VP8 (H.264 from Safari, for
  instance), the file is written audio-only and :attr:`SegmentInfo.video_codec` names the
  codec that was received. Negotiate VP8 (``RTCRtpTransceiver.setCodecPreferences``) to
  get video.
* Per stream, a frame whose timestamp does not increase is dropped and counted; a
  jump of more than ``MAX_TIMESTAMP_GAP_S`` (new SSRC, aiortc's unwrap of a reordered
  frame) is spliced out so the file does not get hours long.
* Audio is never retransmitted: each Opus packet the network lost is written as a packet
  that asks the player's decoder to conceal it (RFC 7845 §4.1, ``media.opus_packets``), so
  the audio timeline has no holes and stays in time with the video when played back to
  back. The analysis path does better (in-band FEC, ``media.decoders``); a player cannot.
* A segment that wrote nothing leaves no file and :meth:`AnswerRecorder.stop_segment`
  returns None.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from media.opus_packets import OPUS_RATE_HZ, concealment_packet, frame_samples, packet_samples
from media.tap import EncodedFrame, vp8_keyframe_size

logger = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 3000  # ~30 s of 15 fps video + 50 packets/s Opus
VIDEO_WAIT_S = 8.0
"""Audio buffered while waiting for the first key frame (Opus: ~30 KB) before the file is
opened without it; video still starts at a later key frame. On a weak uplink the first key
frame can take a while: the video jitter buffer waits up to 3 s for a lost packet
(``media.jitter``), then the browser answers the key frame request. Waiting here keeps the
file's video track sized by a real key frame in most answers; a shorter wait loses less to a
crash (the buffered audio is only in memory)."""
KEYFRAME_RETRY_S = 1.0  # re-send the key-frame request while still waiting
DEFAULT_VIDEO_SIZE_PX = (640, 480)
"""Declared size of a video track opened before any key frame told the real one (a player
takes the size from the VP8 key frames themselves; this is the browser's default capture)."""
MAX_TIMESTAMP_GAP_S = 60.0  # larger forward/backward jumps are discontinuities
MAX_REORDER_S = 2.0  # smaller backward steps are late frames: dropped
WRITER_JOIN_TIMEOUT_S = 30.0
WRITER_BATCH_S = 0.25  # the writer takes queued frames this often; control items wake it
NOMINAL_VIDEO_FPS = 15  # only a container hint; real timing comes from the RTP timestamps
CLUSTER_MS = 1000
"""Longest WebM cluster: the muxer holds a cluster in memory until it ends, so a process that
dies mid-answer loses at most this much (and the file's last unsealed chunk), not FFmpeg's
default 5 s."""
OPUS_SAMPLE_RATE_HZ = OPUS_RATE_HZ
OPUS_CHANNELS = 2
OPUS_PRE_SKIP_SAMPLES = 312
# RFC 7845 identification header: version, channels, pre-skip, input rate, gain, mapping.
OPUS_HEAD = b"OpusHead" + struct.pack(
    "<BBHIhB", 1, OPUS_CHANNELS, OPUS_PRE_SKIP_SAMPLES, OPUS_SAMPLE_RATE_HZ, 0, 0
)
DEFAULT_AUDIO_FRAME_TICKS = 960  # 20 ms at 48 kHz
DEFAULT_VIDEO_FRAME_TICKS = 6000  # 1/15 s at 90 kHz

KeyframeRequest = Callable[[], Coroutine[Any, Any, None] | None]
FileOpener = Callable[[Path], Any]
"""Path → writable, seekable binary file object with ``close()`` (``plaintext_size`` if it
transforms what is written, as an encrypting file does)."""


class RecordingError(RuntimeError):
    """The writer thread failed while writing a segment (disk full, bad path, ...)."""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What one recorded answer file contains."""

    path: Path
    """The WebM file."""
    duration_s: float
    """Length of the file's timeline (pts 0 to the end of the last frame)."""
    video_frames: int
    """VP8 frames written."""
    audio_packets: int
    """Opus packets written (as received)."""
    audio_concealed_s: float
    """Audio lost on the network, written as packets the player conceals (see
    ``media.opus_packets``) so the timeline stays whole."""
    bytes: int
    """File size after finalising."""
    started_media_s: float
    """Media time (receiver RTP clock, seconds) that became pts 0."""
    ended_media_s: float
    """``started_media_s + duration_s``."""
    video_codec: str | None
    """Video codec received during the segment (None: no video arrived)."""
    video_recorded: bool
    """False for an audio-only file (no video, no key frame in time, or not VP8)."""
    skipped_frames: int
    """Frames received but not written: before the first key frame, before pts 0,
    unsupported codec, or rejected by the muxer."""
    non_monotonic_frames: int
    """Frames dropped because their timestamp did not increase within their stream."""
    discontinuities: int
    """Timestamp jumps larger than ``MAX_TIMESTAMP_GAP_S`` that were spliced out."""
    overflow_dropped_frames: int
    """Frames the event loop dropped because the writer queue was full."""


MEDIA_START_TAG = "interview_media_start_s"
"""The file's tag (Matroska header) with its start on the caller's media clock, in seconds."""


@dataclass(frozen=True, slots=True)
class _Start:
    path: Path
    media_offset_s: float


@dataclass(frozen=True, slots=True)
class _Stop:
    result: concurrent.futures.Future[SegmentInfo | None]
    overflow_dropped_frames: int


class _Close:
    pass


class _StreamClock:
    """Per-stream timestamp bookkeeping: monotonic check and discontinuity splicing."""

    def __init__(self, clock_rate_hz: int, default_frame_ticks: int) -> None:
        self.clock_rate_hz = clock_rate_hz
        self.last_ts: int | None = None
        self.last_pts: int = 0
        self.frame_ticks = default_frame_ticks
        self.splice_ticks = 0  # subtracted from source timestamps after discontinuities

    def end_s(self) -> float:
        if self.last_ts is None:
            return 0.0
        return (self.last_pts + self.frame_ticks) / self.clock_rate_hz


class _Segment:
    """State of one file; owned by the writer thread."""

    def __init__(self, path: Path, media_offset_s: float = 0.0) -> None:
        self.path = path
        self.media_offset_s = media_offset_s
        self.container: Any = None  # av OutputContainer once opened
        self.sink: Any = None  # the file object the container writes to, when not a path
        self.video_stream: Any = None
        self.audio_stream: Any = None
        self.pending_audio: list[EncodedFrame] = []
        self.offset: Fraction | None = None  # media seconds that become pts 0
        self.audio_clock = _StreamClock(OPUS_SAMPLE_RATE_HZ, DEFAULT_AUDIO_FRAME_TICKS)
        self.video_clock = _StreamClock(90000, DEFAULT_VIDEO_FRAME_TICKS)
        self.video_codec: str | None = None
        self.video_size: tuple[int, int] | None = None
        self.video_frames = 0
        self.audio_packets = 0
        self.last_audio: bytes | None = None  # the last Opus packet written
        self.audio_concealed_packets = 0
        self.audio_concealed_ticks = 0
        self.skipped = 0
        self.non_monotonic = 0
        self.discontinuities = 0
        self.error: BaseException | None = None


class AnswerRecorder:
    """Remux one session's received VP8/Opus frames into one WebM file per answer.

    Use from the event loop: :meth:`on_frame` (the tap callback), :meth:`start_segment`,
    ``await`` :meth:`stop_segment`, ``await`` :meth:`aclose`.
    """

    def __init__(
        self,
        request_keyframe: KeyframeRequest | None = None,
        *,
        max_queued_frames: int = MAX_QUEUED_FRAMES,
        video_wait_s: float = VIDEO_WAIT_S,
        name: str = "answer-recorder",
        open_file: FileOpener | None = None,
    ) -> None:
        """Start the writer thread.

        Args:
            request_keyframe: asks the sender for a VP8 key frame; may return a
                coroutine, which the recorder runs as a task it owns.
            max_queued_frames: frames the writer may lag behind before new ones are
                dropped (and counted in :attr:`dropped_frames`).
            video_wait_s: buffered audio after which a segment without a key frame is
                opened anyway (its video, if any, starts at a later key frame); 0: an
                audio-only session (no key frames asked for while audio flows).
            name: prefix for the writer thread and task names.
            open_file: creates the writable, seekable file object a segment is muxed
                into (e.g. an encrypting one), called in the writer thread; default: a
                plain file at the segment's path.
        """
        if max_queued_frames < 1:
            raise ValueError("max_queued_frames must be >= 1")
        self._request_keyframe = request_keyframe
        self._max_queued_frames = max_queued_frames
        self._video_wait_s = video_wait_s
        self._name = name
        self._open_file = open_file
        # Frames are bounded by on_frame; the few control items must never be dropped.
        # deque.append/popleft are atomic: the event loop appends, the writer pops.
        self._queue: collections.deque[EncodedFrame | _Start | _Stop | _Close] = collections.deque()
        self._wake = threading.Event()
        self._active = False
        self._closed = False
        self._awaiting_keyframe = False
        self._video_gap = False  # a video frame overflowed; drop video until a key frame
        self._last_keyframe_request_s = 0.0
        self._dropped_frames = 0
        self._dropped_at_start = 0
        self._last_video_size: tuple[int, int] | None = None  # set on the loop, read by the writer
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    @property
    def dropped_frames(self) -> int:
        """Frames dropped since construction because the writer queue was full."""
        return self._dropped_frames

    @property
    def recording(self) -> bool:
        """True between :meth:`start_segment` and :meth:`stop_segment`."""
        return self._active

    def on_frame(self, frame: EncodedFrame) -> None:
        """Queue one encoded frame for the current segment; never blocks.

        Frames outside a segment are ignored. When the queue is full the frame is
        dropped; after a dropped video frame, video is dropped until the next key frame.
        """
        if frame.kind == "video" and frame.keyframe and frame.codec == "vp8":
            # The writer sizes a video track declared before its first key frame by this.
            self._last_video_size = vp8_keyframe_size(frame.data) or self._last_video_size
        if not self._active:
            return
        if frame.kind == "audio":
            if self._awaiting_keyframe and self._video_wait_s > 0:
                self._maybe_request_keyframe()  # also when no video frame comes at all
        elif frame.keyframe:
            self._awaiting_keyframe = self._video_gap = False
        elif self._awaiting_keyframe:
            self._maybe_request_keyframe()
            if self._video_gap:
                # A frame it depends on was dropped: it would not decode.
                self._dropped_frames += 1
                return
        if len(self._queue) >= self._max_queued_frames:
            self._dropped_frames += 1
            if frame.kind == "video":
                self._awaiting_keyframe = self._video_gap = True
                self._maybe_request_keyframe()
            return
        self._queue.append(frame)  # taken with the next batch

    def start_segment(self, path: Path, media_offset_s: float = 0.0) -> None:
        """Begin a new file at ``path`` (written lazily; parent directory must exist).

        ``media_offset_s`` takes this recorder's media clock to the caller's (the analysis
        clock): the file's header carries its start on that clock (:data:`MEDIA_START_TAG`),
        so a file whose writer died still maps transcript times into itself.

        Raises:
            RuntimeError: a segment is already active or the recorder is closed.
        """
        if self._closed:
            raise RuntimeError("recorder is closed")
        if self._active:
            raise RuntimeError("a segment is already being recorded; stop it first")
        self._active = True
        self._dropped_at_start = self._dropped_frames
        self._control(_Start(Path(path), media_offset_s))
        self._awaiting_keyframe = True
        self._video_gap = False
        self._last_keyframe_request_s = 0.0
        self._maybe_request_keyframe()

    async def stop_segment(self) -> SegmentInfo | None:
        """Finalise the current file once the writer has drained the frames before it.

        Returns None when no segment is active or nothing was written (no file is left).

        Raises:
            RecordingError: the writer failed on this segment.
        """
        if not self._active:
            return None
        self._active = False
        self._awaiting_keyframe = False
        result: concurrent.futures.Future[SegmentInfo | None] = concurrent.futures.Future()
        self._control(_Stop(result, self._dropped_frames - self._dropped_at_start))
        return await asyncio.wrap_future(result)

    async def aclose(self) -> None:
        """Stop any segment, stop the writer thread and cancel key-frame requests."""
        if self._closed:
            return
        try:
            await self.stop_segment()
        except RecordingError:
            logger.exception("%s: last segment failed", self._name)
        finally:
            self._closed = True
            self._control(_Close())
            await asyncio.to_thread(self._thread.join, WRITER_JOIN_TIMEOUT_S)
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._thread.is_alive():
            logger.error("%s: writer thread did not stop in time", self._name)

    @property
    def queued(self) -> int:
        """Items the writer has not taken yet."""
        return len(self._queue)

    # -- event loop helpers ---------------------------------------------------------

    def _control(self, item: _Start | _Stop | _Close) -> None:
        self._queue.append(item)
        self._wake.set()  # the writer acts on it now, not with the next batch

    def _maybe_request_keyframe(self) -> None:
        if self._request_keyframe is None:
            return
        now_s = time.monotonic()
        if (
            self._last_keyframe_request_s
            and now_s - self._last_keyframe_request_s < KEYFRAME_RETRY_S
        ):
            return
        self._last_keyframe_request_s = now_s
        coro = self._request_keyframe()
        if coro is None:
            return
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}-keyframe-request")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("%s: key-frame request failed: %r", self._name, task.exception())

    # -- writer thread --------------------------------------------------------------

    def _run(self) -> None:
        segment: _Segment | None = None
        while True:
            if not self._queue:
                self._wake.wait(WRITER_BATCH_S)
                self._wake.clear()  # whatever set it appended first: the queue is checked again
                continue
            item = self._queue.popleft()
            if isinstance(item, EncodedFrame):
                if segment is not None and segment.error is None:
                    try:
                        self._write_frame(segment, item)
                    except Exception as exc:
                        logger.exception("%s: writing %s failed", self._name, segment.path)
                        segment.error = exc
            elif isinstance(item, _Start):
                if segment is not None:  # not reachable through the public API
                    self._finish(segment, 0)
                segment = _Segment(item.path, item.media_offset_s)
            elif isinstance(item, _Stop):
                # After this the caller can no longer cancel the future; the file is
                # finalised either way.
                item.result.set_running_or_notify_cancel()
                try:
                    info = self._finish(segment, item.overflow_dropped_frames) if segment else None
                except Exception as exc:
                    if not item.result.cancelled():
                        item.result.set_exception(
                            exc if isinstance(exc, RecordingError) else RecordingError(str(exc))
                        )
                else:
                    if not item.result.cancelled():
                        item.result.set_result(info)
                segment = None
            else:
                if segment is not None:
                    try:
                        self._finish(segment, 0)
                    except Exception:
                        logger.exception("%s: finalising %s failed", self._name, segment.path)
                return

    def _write_frame(self, seg: _Segment, frame: EncodedFrame) -> None:
        if frame.kind == "video":
            seg.video_codec = frame.codec
            if frame.codec != "vp8":
                seg.skipped += 1
                if seg.container is None and seg.pending_audio:
                    self._open(seg, with_video=False)  # no point waiting for a key frame
                return
            size = vp8_keyframe_size(frame.data) if frame.keyframe else None
            audio_only_file = seg.container is not None and seg.video_stream is None
            if seg.video_frames == 0 and (size is None or audio_only_file):
                seg.skipped += 1  # video starts with a key frame, in a file with a video track
                return
            if seg.container is None:
                assert size is not None
                seg.video_size = size
                self._open(seg, with_video=True, first_video=frame)
            elif seg.video_frames == 0 and size != seg.video_size:
                logger.info(
                    "%s: video of %s starts at %dx%d (track declared %dx%d)",
                    self._name,
                    seg.path.name,
                    *(size or (0, 0)),
                    *(seg.video_size or (0, 0)),
                )
            self._mux(seg, frame)
            return
        if frame.codec != "opus":
            seg.skipped += 1
            return
        if seg.container is None:
            seg.pending_audio.append(frame)
            waited_s = frame.media_time_s - seg.pending_audio[0].media_time_s
            if waited_s >= self._video_wait_s:
                self._open_before_video(seg)
            return
        self._mux(seg, frame)

    def _open_before_video(self, seg: _Segment) -> None:
        """No key frame in ``video_wait_s``: open the file now. When video is on its way (VP8
        frames came, none of them a key frame), the file gets a video track, sized as the
        last key frame this connection sent, that starts at the first key frame to come (one
        is requested every ``KEYFRAME_RETRY_S`` meanwhile).

        Until that key frame the audio stays in memory: FFmpeg's interleaver waits for every
        VP8 track to have a packet queued before it writes (``max_interleave_delta`` does not
        apply to VP8), as it does whenever video stalls mid-answer. So no video track is
        declared on the strength of earlier key frames alone: a camera that stopped would
        keep the whole answer in memory until it ends. Nor in an audio-only session
        (``video_wait_s`` 0), which asks for no key frame."""
        if seg.video_codec == "vp8" and self._video_wait_s > 0:
            seg.video_size = self._last_video_size or DEFAULT_VIDEO_SIZE_PX
            self._open(seg, with_video=True)
        else:
            self._open(seg, with_video=False)

    def _open(
        self, seg: _Segment, with_video: bool, first_video: EncodedFrame | None = None
    ) -> None:
        """Open the file, fix the media offset and flush the buffered audio."""
        starts = [Fraction(f.timestamp, f.clock_rate_hz) for f in seg.pending_audio[:1]]
        if first_video is not None:
            starts.append(Fraction(first_video.timestamp, first_video.clock_rate_hz))
        seg.offset = min(starts)
        target: Any = str(seg.path)
        if self._open_file is not None:
            seg.sink = target = self._open_file(seg.path)
        container: Any = av.open(
            target, "w", format="webm", options={"cluster_time_limit": str(CLUSTER_MS)}
        )
        seg.container = container
        # in the header: readable from a file cut off by a crash (probe_segment)
        container.metadata[MEDIA_START_TAG] = f"{float(seg.offset) + seg.media_offset_s:.3f}"
        if with_video and seg.video_size is not None:
            vs = container.add_stream("vp8", rate=NOMINAL_VIDEO_FPS)
            vs.width, vs.height = seg.video_size
            vs.time_base = Fraction(1, 90000)
            seg.video_stream = vs
        else:
            logger.info(
                "%s: %s is audio-only (video codec %s)", self._name, seg.path.name, seg.video_codec
            )
        aus = container.add_stream("opus", rate=OPUS_SAMPLE_RATE_HZ)
        aus.codec_context.extradata = OPUS_HEAD
        aus.time_base = Fraction(1, OPUS_SAMPLE_RATE_HZ)
        seg.audio_stream = aus
        pending, seg.pending_audio = seg.pending_audio, []
        for frame in pending:
            self._mux(seg, frame)

    def _mux(self, seg: _Segment, frame: EncodedFrame) -> None:
        if frame.kind == "video":
            stream, clock = seg.video_stream, seg.video_clock
        else:
            stream, clock = seg.audio_stream, seg.audio_clock
        if stream is None or seg.offset is None:
            seg.skipped += 1
            return
        if frame.clock_rate_hz != clock.clock_rate_hz:
            clock.clock_rate_hz = frame.clock_rate_hz
        ts = frame.timestamp
        spliced = False
        if clock.last_ts is not None:
            step = ts - clock.last_ts
            if abs(step) > MAX_TIMESTAMP_GAP_S * clock.clock_rate_hz:
                # Splice: continue one frame after the previous one.
                clock.splice_ticks += step - clock.frame_ticks
                seg.discontinuities += 1
                spliced = True
            elif step <= 0:
                seg.non_monotonic += 1
                return
            elif frame.kind == "video":
                clock.frame_ticks = step
        pts = ts - clock.splice_ticks - int(seg.offset * clock.clock_rate_hz)
        if pts < 0:
            seg.skipped += 1
            return
        if frame.kind == "audio" and not spliced:
            self._conceal_lost_audio(seg, pts)
        if not self._write_packet(seg, stream, frame.data, pts, clock, frame.keyframe):
            return
        clock.last_ts, clock.last_pts = ts, pts
        if frame.kind == "video":
            seg.video_frames += 1
        else:
            seg.audio_packets += 1
            seg.last_audio = frame.data
            samples = packet_samples(frame.data)
            if samples is not None:
                clock.frame_ticks = samples * clock.clock_rate_hz // OPUS_RATE_HZ

    def _write_packet(
        self, seg: _Segment, stream: Any, data: bytes, pts: int, clock: _StreamClock, key: bool
    ) -> bool:
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, clock.clock_rate_hz)
        packet.is_keyframe = key
        try:
            seg.container.mux(packet)
        except av.FFmpegError as exc:
            seg.skipped += 1
            logger.warning("%s: muxer rejected a %s packet: %s", self._name, stream.type, exc)
            return False
        return True

    def _conceal_lost_audio(self, seg: _Segment, pts: int) -> None:
        """Fill the audio the network lost before ``pts`` with packets that ask the player's
        decoder to conceal it (``media.opus_packets``), so what follows stays in time with
        the video. Up to ``MAX_TIMESTAMP_GAP_S`` (a longer jump is spliced out); a remainder
        shorter than one frame of the stream (never seen from a browser) stays a gap."""
        clock = seg.audio_clock
        if seg.last_audio is None or clock.last_ts is None:
            return
        end = clock.last_pts + clock.frame_ticks
        filler = concealment_packet(seg.last_audio)
        step = frame_samples(filler[0]) * clock.clock_rate_hz // OPUS_RATE_HZ
        while end + step <= pts:
            if not self._write_packet(seg, seg.audio_stream, filler, end, clock, True):
                return
            seg.audio_concealed_packets += 1
            seg.audio_concealed_ticks += step
            clock.last_pts = end
            clock.frame_ticks = step
            end += step

    def _finish(self, seg: _Segment, overflow_dropped_frames: int) -> SegmentInfo | None:
        """Close the file; None (and no file) if nothing was written."""
        if seg.container is None and seg.pending_audio and seg.error is None:
            self._open(seg, with_video=False)
        if seg.container is not None:
            try:
                seg.container.close()  # before the file object: the muxer writes its trailer
            except Exception as exc:
                seg.error = seg.error or exc
        if seg.sink is not None:
            try:
                seg.sink.close()
            except Exception as exc:
                seg.error = seg.error or exc
        if seg.error is not None:
            raise RecordingError(f"recording {seg.path} failed: {seg.error}") from seg.error
        if seg.video_frames + seg.audio_packets == 0 or seg.offset is None:
            if seg.container is not None:
                seg.path.unlink(missing_ok=True)
            return None
        duration_s = max(seg.video_clock.end_s(), seg.audio_clock.end_s())
        started_s = float(seg.offset)
        return SegmentInfo(
            path=seg.path,
            duration_s=duration_s,
            video_frames=seg.video_frames,
            audio_packets=seg.audio_packets,
            audio_concealed_s=seg.audio_concealed_ticks / seg.audio_clock.clock_rate_hz,
            bytes=getattr(seg.sink, "plaintext_size", None) or seg.path.stat().st_size,
            started_media_s=started_s,
            ended_media_s=started_s + duration_s,
            video_codec=seg.video_codec,
            video_recorded=seg.video_frames > 0,
            skipped_frames=seg.skipped,
            non_monotonic_frames=seg.non_monotonic,
            discontinuities=seg.discontinuities,
            overflow_dropped_frames=overflow_dropped_frames,
        )


@dataclass(frozen=True, slots=True)
class ProbedSegment:
    """What a recording file holds, read back from the file (a segment whose recorder died
    before it could say: see :func:`probe_segment`)."""

    duration_s: float
    """End of the last packet on the file's timeline."""
    video_frames: int
    audio_packets: int
    bytes: int
    """The file's (plaintext) size."""
    media_start_s: float | None = None
    """Where the file starts on the caller's media clock (its header's
    :data:`MEDIA_START_TAG`); None for a file without it."""


def probe_segment(source: Any, size_bytes: int) -> ProbedSegment:
    """Count the packets of a WebM file by demuxing it (nothing is decoded); ``source`` is a
    path or a readable, seekable binary file object. A file cut off mid-cluster (its writer
    crashed) is counted up to where it stops. Blocking: run it in a thread."""
    video = audio = 0
    end_s = 0.0
    media_start_s: float | None = None
    try:
        with av.open(source, mode="r") as container:
            tagged = {k.lower(): v for k, v in container.metadata.items()}.get(MEDIA_START_TAG)
            with contextlib.suppress(ValueError):
                media_start_s = None if tagged is None else float(tagged)
            for packet in container.demux():
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue  # the demuxer's end-of-stream marker
                if packet.stream.type == "video":
                    video += 1
                elif packet.stream.type == "audio":
                    audio += 1
                end_s = max(end_s, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError as exc:  # the end of a cut-off file: what came before counts
        logger.info("probing a recording stopped at %s packets: %s", video + audio, exc)
    return ProbedSegment(end_s, video, audio, size_bytes, media_start_s)
