"""AnswerRecorder: remuxed VP8/Opus WebM segments, from aiortc encoders and real loopback peers."""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    VideoStreamTrack,
)
from aiortc.codecs import depayload
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

import media.recorder as recorder_module
from media.recorder import AnswerRecorder, SegmentInfo, probe_segment
from media.tap import EncodedFrame, install_tap, request_keyframe, vp8_keyframe_size
from tests.support.tracks import PacedAudioTrack

VIDEO_CLOCK_HZ = 90000
AUDIO_CLOCK_HZ = 48000
FPS = 15
VIDEO_FRAME_TICKS = VIDEO_CLOCK_HZ // FPS
AUDIO_PTIME_S = 0.020
AUDIO_FRAME_SAMPLES = int(AUDIO_CLOCK_HZ * AUDIO_PTIME_S)
UNIT_WIDTH_PX, UNIT_HEIGHT_PX = 320, 240
LIVE_WIDTH_PX, LIVE_HEIGHT_PX = 640, 480
UNIT_TONE_HZ = 440.0
LIVE_TONE_HZ = 660.0
TONE_AMPLITUDE = 8000
TONE_TOLERANCE_HZ = 20.0
DURATION_TOLERANCE = 0.10
CONNECT_TIMEOUT_S = 20.0
STEP_TIMEOUT_S = 10.0
POLL_S = 0.01
LIVE_SEGMENT_S = 2.0
MEDIA_FLOWING_FRAMES = 10  # per kind, before the first answer starts

VP8_CODEC = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=VIDEO_CLOCK_HZ, payloadType=96)


# -- media generated at test time ---------------------------------------------------


def pattern_rgb(index: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """A diagonal gradient with a bright square that moves every frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[..., 0] = (xx + index * 4) % 256
    img[..., 1] = (yy + index * 2) % 256
    img[..., 2] = 128
    x0 = (index * 8) % (width - 40)
    img[height // 3 : height // 3 + 40, x0 : x0 + 40] = 255
    return img


def sine_s16(start_sample: int, count: int, tone_hz: float) -> npt.NDArray[np.int16]:
    t = (np.arange(count) + start_sample) / AUDIO_CLOCK_HZ
    return (TONE_AMPLITUDE * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)


class FakeSender:
    """Encodes media with aiortc's own encoders; honours key-frame requests like a browser."""

    def __init__(self) -> None:
        self._vp8 = Vp8Encoder()
        self._opus = OpusEncoder()
        self._video_index = 0
        self._audio_index = 0  # 20 ms frames given to the encoder
        self._audio_out = 0  # Opus packets taken out
        self._audio_packets: list[bytes] = []
        self.force_keyframe = False
        self.keyframe_requests = 0

    async def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self.force_keyframe = True

    def next_video(self) -> EncodedFrame:
        i = self._video_index
        self._video_index += 1
        frame = av.VideoFrame.from_ndarray(
            pattern_rgb(i, UNIT_WIDTH_PX, UNIT_HEIGHT_PX), format="rgb24"
        )
        frame.pts = i * VIDEO_FRAME_TICKS
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_HZ)
        payloads, _ = self._vp8.encode(frame, force_keyframe=self.force_keyframe)
        self.force_keyframe = False
        data = b"".join(depayload(VP8_CODEC, p) for p in payloads)
        keyframe = vp8_keyframe_size(data) is not None
        return EncodedFrame("video", "vp8", frame.pts, VIDEO_CLOCK_HZ, data, keyframe, 1234)

    def next_audio(self) -> EncodedFrame:
        while not self._audio_packets:
            samples = sine_s16(
                self._audio_index * AUDIO_FRAME_SAMPLES, AUDIO_FRAME_SAMPLES, UNIT_TONE_HZ
            )
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = AUDIO_CLOCK_HZ
            frame.pts = self._audio_index * AUDIO_FRAME_SAMPLES
            frame.time_base = fractions.Fraction(1, AUDIO_CLOCK_HZ)
            self._audio_index += 1
            packets, _ = self._opus.encode(frame)
            self._audio_packets.extend(packets)
        ts = self._audio_out * AUDIO_FRAME_SAMPLES
        self._audio_out += 1
        return EncodedFrame(
            "audio", "opus", ts, AUDIO_CLOCK_HZ, self._audio_packets.pop(0), True, 5678
        )

    def frames(self, duration_s: float, video: bool = True) -> Iterator[EncodedFrame]:
        """Interleaved audio and video in media-time order, lazily (honours requests)."""
        end_audio = self._audio_out + round(duration_s / AUDIO_PTIME_S)
        while self._audio_out < end_audio:
            audio_s = self._audio_out * AUDIO_PTIME_S
            if video and self._video_index * VIDEO_FRAME_TICKS / VIDEO_CLOCK_HZ <= audio_s:
                yield self.next_video()
            else:
                yield self.next_audio()


async def feed(rec: AnswerRecorder, frames: Iterator[EncodedFrame]) -> None:
    for frame in frames:
        rec.on_frame(frame)
        await asyncio.sleep(0)  # let key-frame request tasks run, as on a live loop


# -- decoding what was written ------------------------------------------------------


@dataclass
class Decoded:
    video_frames: int
    first_video_keyframe: bool
    video_size: tuple[int, int]
    video_duration_s: float
    first_pts_s: float
    audio: npt.NDArray[np.int16]

    @property
    def audio_duration_s(self) -> float:
        return len(self.audio) / AUDIO_CLOCK_HZ


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        first_key = False
        first_pts_s = float("inf")
        if container.streams.video:
            for packet in container.demux(video=0):
                if packet.size:
                    first_key = bool(packet.is_keyframe)
                    break
    with av.open(str(path)) as container:
        n_video, size, video_times = 0, (0, 0), []
        if container.streams.video:
            for vframe in container.decode(video=0):
                n_video += 1
                size = (vframe.width, vframe.height)
                video_times.append(float(vframe.time or 0.0))
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_CLOCK_HZ)
        chunks: list[npt.NDArray[np.int16]] = []
        audio_times: list[float] = []
        if container.streams.audio:
            for aframe in container.decode(audio=0):
                audio_times.append(float(aframe.time or 0.0))
                for out in resampler.resample(aframe):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.int16))
    first_pts_s = min([*video_times[:1], *audio_times[:1]], default=0.0)
    video_duration_s = video_times[-1] - video_times[0] + 1 / FPS if video_times else 0.0
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return Decoded(n_video, first_key, size, video_duration_s, first_pts_s, audio)


def dominant_hz(samples: npt.NDArray[np.int16]) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / AUDIO_CLOCK_HZ)
    return float(freqs[int(np.argmax(spectrum))])


def assert_seekable(path: Path, target_s: float) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        container.seek(int(target_s / stream.time_base), stream=stream)
        frame = next(container.decode(video=0))
        assert frame.time is not None and 0.0 <= frame.time <= target_s + 0.1


def assert_close(actual: float, expected: float, tolerance: float = DURATION_TOLERANCE) -> None:
    assert abs(actual - expected) <= tolerance * expected, f"{actual:.3f} vs {expected:.3f}"


# -- unit tests ---------------------------------------------------------------------


async def test_segment_remuxes_vp8_and_opus(tmp_path: Path) -> None:
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe)
    try:
        await feed(rec, sender.frames(1.0))  # before the answer: ignored
        path = tmp_path / "answer.webm"
        rec.start_segment(path)
        await feed(rec, sender.frames(3.0))
        info = await rec.stop_segment()
    finally:
        await rec.aclose()

    assert info is not None and info.path == path and info.video_recorded
    assert sender.keyframe_requests >= 1
    assert info.bytes == path.stat().st_size > 0
    assert_close(info.duration_s, 3.0)
    assert_close(info.started_media_s, 1.0, 0.05)
    decoded = decode(path)
    assert decoded.video_frames == info.video_frames >= 3.0 * FPS - 2
    assert decoded.first_video_keyframe
    assert decoded.video_size == (UNIT_WIDTH_PX, UNIT_HEIGHT_PX)
    assert decoded.first_pts_s < 0.05
    assert_close(decoded.video_duration_s, 3.0)
    assert_close(decoded.audio_duration_s, 3.0)
    assert abs(dominant_hz(decoded.audio) - UNIT_TONE_HZ) <= TONE_TOLERANCE_HZ
    assert info.skipped_frames <= 2 and info.non_monotonic_frames == 0
    assert_seekable(path, 2.0)


async def test_two_consecutive_segments(tmp_path: Path) -> None:
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe)
    infos: list[SegmentInfo] = []
    try:
        for name in ("q1.webm", "q2.webm"):
            await feed(rec, sender.frames(0.5))
            rec.start_segment(tmp_path / name)
            with pytest.raises(RuntimeError):
                rec.start_segment(tmp_path / "other.webm")
            await feed(rec, sender.frames(1.5))
            info = await rec.stop_segment()
            assert info is not None
            infos.append(info)
    finally:
        await rec.aclose()

    assert sender.keyframe_requests >= 2
    assert infos[1].started_media_s >= infos[0].ended_media_s
    for info in infos:
        decoded = decode(info.path)
        assert decoded.first_video_keyframe and decoded.first_pts_s < 0.05
        assert decoded.video_frames == info.video_frames >= 1.5 * FPS - 2
        assert_close(decoded.audio_duration_s, 1.5)


async def test_overflow_drops_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "KEYFRAME_RETRY_S", 0.0)
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe, max_queued_frames=3)
    entered, release = threading.Event(), threading.Event()
    real_write = rec._write_frame

    def slow_write(seg: Any, frame: EncodedFrame) -> None:
        entered.set()
        assert release.wait(STEP_TIMEOUT_S)
        real_write(seg, frame)

    monkeypatch.setattr(rec, "_write_frame", slow_write)
    try:
        rec.start_segment(tmp_path / "busy.webm")
        requests_at_start = sender.keyframe_requests
        audio = [sender.next_audio() for _ in range(11)]
        rec.on_frame(audio[0])
        assert await asyncio.to_thread(entered.wait, STEP_TIMEOUT_S)  # writer is stuck
        for frame in audio[1:]:
            rec.on_frame(frame)  # 3 queued, 7 dropped, never blocks
        assert rec.dropped_frames == 7
        rec.on_frame(sender.next_video())  # video overflow: ask for a key frame
        await asyncio.sleep(0)
        assert rec.dropped_frames == 8
        assert sender.keyframe_requests > requests_at_start
        release.set()
        await asyncio.wait_for(asyncio.to_thread(wait_drained, rec), STEP_TIMEOUT_S)
        sender.force_keyframe = False  # the sender has not reacted yet
        rec.on_frame(sender.next_video())  # depends on the dropped frame: dropped too
        assert rec.dropped_frames == 9
        sender.force_keyframe = True
        rec.on_frame(sender.next_video())  # a key frame ends the gap
        info = await asyncio.wait_for(rec.stop_segment(), STEP_TIMEOUT_S)
    finally:
        release.set()
        await rec.aclose()
    assert info is not None
    assert info.overflow_dropped_frames == rec.dropped_frames == 9
    assert info.audio_packets == 4 and info.video_frames == 1
    decoded = decode(info.path)
    assert decoded.video_frames == 1 and decoded.first_video_keyframe


async def test_writer_takes_frames_in_batches_and_wakes_for_control(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames do not wake the writer thread (one wake-up per batch, not per frame); a
    stop does, and everything queued before it is written."""
    monkeypatch.setattr(recorder_module, "WRITER_BATCH_S", 60.0)
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe)
    try:
        rec.start_segment(tmp_path / "batched.webm")
        await asyncio.wait_for(asyncio.to_thread(wait_drained, rec), STEP_TIMEOUT_S)
        sender.force_keyframe = True
        frames = list(sender.frames(1.0))
        await feed(rec, iter(frames))
        await asyncio.sleep(0.3)
        assert rec.queued == len(frames)  # still waiting for the next batch
        started = time.monotonic()
        info = await asyncio.wait_for(rec.stop_segment(), STEP_TIMEOUT_S)
        assert time.monotonic() - started < 5.0  # woken by the stop, not the batch timer
    finally:
        await rec.aclose()
    assert info is not None and info.video_recorded
    assert info.audio_packets + info.video_frames == len(frames)


def wait_drained(rec: AnswerRecorder) -> None:
    """Block (in a worker thread) until the writer has taken every queued item."""
    while rec.queued:
        time.sleep(POLL_S)


async def test_empty_segment_returns_none_and_leaves_no_file(tmp_path: Path) -> None:
    sender = FakeSender()
    rec = AnswerRecorder()
    try:
        path = tmp_path / "empty.webm"
        rec.start_segment(path)
        assert await rec.stop_segment() is None
        assert not path.exists()
        assert await rec.stop_segment() is None  # no active segment

        sender.next_video()  # the key frame
        delta = [sender.next_video() for _ in range(5)]
        rec.start_segment(path)
        await feed(rec, iter(delta))  # video, but never a key frame
        assert await rec.stop_segment() is None
        assert not path.exists()
    finally:
        await rec.aclose()
    with pytest.raises(RuntimeError):
        rec.start_segment(path)


async def test_audio_only_and_non_vp8_video(tmp_path: Path) -> None:
    sender = FakeSender()
    rec = AnswerRecorder()
    try:
        rec.start_segment(tmp_path / "audio.webm")
        await feed(rec, sender.frames(1.0, video=False))
        audio_only = await rec.stop_segment()

        rec.start_segment(tmp_path / "h264.webm")
        h264_idr = b"\x00\x00\x00\x01\x65" + bytes(20)
        frames = list(sender.frames(1.0, video=False))
        frames.insert(3, EncodedFrame("video", "h264", 0, VIDEO_CLOCK_HZ, h264_idr, True, 1))
        await feed(rec, iter(frames))
        h264 = await rec.stop_segment()
    finally:
        await rec.aclose()

    for info in (audio_only, h264):
        assert info is not None and not info.video_recorded and info.video_frames == 0
        decoded = decode(info.path)
        assert decoded.video_frames == 0
        assert_close(decoded.audio_duration_s, 1.0)
    assert audio_only is not None and audio_only.video_codec is None
    assert h264 is not None and h264.video_codec == "h264"


async def test_timestamp_regression_and_jump(tmp_path: Path) -> None:
    sender = FakeSender()
    rec = AnswerRecorder()
    frames = list(sender.frames(1.0, video=False))
    late = replace(frames[10], timestamp=frames[10].timestamp - 3 * AUDIO_FRAME_SAMPLES)
    duplicate = frames[20]
    jump_ticks = 1 << 32  # what aiortc's TimestampMapper adds after a reordered frame
    jumped = [replace(f, timestamp=f.timestamp + jump_ticks) for f in frames[30:]]
    try:
        rec.start_segment(tmp_path / "jumpy.webm")
        await feed(
            rec, iter([*frames[:11], late, *frames[11:21], duplicate, *frames[21:30], *jumped])
        )
        info = await rec.stop_segment()
    finally:
        await rec.aclose()
    assert info is not None
    assert info.non_monotonic_frames == 2 and info.discontinuities == 1
    assert info.audio_packets == len(frames)
    assert_close(info.duration_s, 1.0)
    assert_close(decode(info.path).audio_duration_s, 1.0)


def audio_timeline(path: Path) -> list[tuple[float, float]]:
    """(pts s, duration s) of each decoded audio frame, in order."""
    with av.open(str(path)) as container:
        return [
            (float(f.time or 0.0), f.samples / f.sample_rate) for f in container.decode(audio=0)
        ]


async def test_lost_audio_is_concealed_so_the_file_keeps_its_timeline(tmp_path: Path) -> None:
    """Packets lost on the network (single ones, a burst, a 1 s outage) are written as
    packets the player conceals: the file decodes to the whole duration, and audio played
    back to back stays in time with the video."""
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe)
    rng = np.random.default_rng(7)
    frames = list(sender.frames(4.0))
    audio_index = {id(f): i for i, f in enumerate(f for f in frames if f.kind == "audio")}
    burst, outage = range(60, 65), range(120, 170)  # 100 ms, then 1 s
    lost = {
        i
        for i in audio_index.values()
        if 0 < i < 195 and (rng.random() < 0.1 or i in burst or i in outage)
    }
    try:
        rec.start_segment(tmp_path / "lossy.webm")
        kept = [f for f in frames if f.kind == "video" or audio_index[id(f)] not in lost]
        await feed(rec, iter(kept))
        info = await rec.stop_segment()
    finally:
        await rec.aclose()

    assert info is not None and info.video_recorded
    assert info.audio_packets == 200 - len(lost)
    assert info.audio_concealed_s == pytest.approx(len(lost) * AUDIO_PTIME_S)
    decoded = decode(info.path)
    assert_close(decoded.audio_duration_s, 4.0, 0.01)
    assert_close(decoded.video_duration_s, 4.0)
    # Played back to back, every audio frame starts where its timestamp says.
    # (WebM stores milliseconds; the first frame is shifted by the Opus pre-skip.)
    timeline = audio_timeline(info.path)
    assert len(timeline) == 200
    played_s = timeline[0][0]
    for pts_s, duration_s in timeline:
        assert abs(pts_s - played_s) <= 0.001, (pts_s, played_s)
        played_s += duration_s
    # The tone is back, at its place, after the outage.
    after = 180 * AUDIO_FRAME_SAMPLES
    assert abs(dominant_hz(decoded.audio[after : after + 4800]) - UNIT_TONE_HZ) <= TONE_TOLERANCE_HZ


class SlowKeyframeSender(FakeSender):
    """A sender on a weak uplink: its first whole key frame gets through at ``keyframe_at_s``,
    whatever was asked before (the frames before it are delta frames)."""

    def __init__(self, keyframe_at_s: float) -> None:
        super().__init__()
        self._keyframe_at = round(keyframe_at_s * FPS)
        self.next_video()  # the encoder's first frame, a key frame: lost on the way

    async def request_keyframe(self) -> None:
        self.keyframe_requests += 1

    def next_video(self) -> EncodedFrame:
        self.force_keyframe = self._video_index == getattr(self, "_keyframe_at", 0)
        return super().next_video()


async def test_the_file_header_says_where_it_starts_on_the_callers_clock(
    tmp_path: Path,
) -> None:
    """A file whose writer dies (cut off mid-answer) still says where it starts on the
    analysis clock, so transcript word times map into it after it is adopted."""
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe)
    try:
        await feed(rec, sender.frames(1.0))  # before the answer
        path = tmp_path / "answer.webm"
        rec.start_segment(path, media_offset_s=100.0)
        await feed(rec, sender.frames(3.0))
        info = await rec.stop_segment()
    finally:
        await rec.aclose()
    assert info is not None
    whole = probe_segment(str(path), path.stat().st_size)
    assert whole.media_start_s is not None
    assert abs(whole.media_start_s - (100.0 + info.started_media_s)) < 0.001
    assert abs(whole.media_start_s - 101.0) < 0.05
    cut = tmp_path / "cut.webm"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the writer's crash
    half = probe_segment(str(cut), cut.stat().st_size)
    assert half.media_start_s == whole.media_start_s
    assert 0 < half.audio_packets < whole.audio_packets


async def record_one(sender: FakeSender, path: Path, duration_s: float) -> SegmentInfo | None:
    """One segment of ``duration_s`` of the sender's media, by a recorder it answers."""
    rec = AnswerRecorder(sender.request_keyframe)
    try:
        rec.start_segment(path)
        await feed(rec, sender.frames(duration_s))
        return await rec.stop_segment()
    finally:
        await rec.aclose()


async def test_video_starts_at_a_late_first_key_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first whole key frame comes 12 s into the answer, after VIDEO_WAIT_S: the file has
    the audio from the start and the video from that key frame on, at its own time, and
    key frames are asked for all the while."""
    monkeypatch.setattr(recorder_module, "KEYFRAME_RETRY_S", 0.0)
    sender = SlowKeyframeSender(keyframe_at_s=12.0)
    info = await record_one(sender, tmp_path / "late-video.webm", 16.0)

    assert info is not None and info.video_recorded and info.video_codec == "vp8"
    assert info.skipped_frames == round(12.0 * FPS) - 1  # the delta frames before it
    assert sender.keyframe_requests >= 12.0 / AUDIO_PTIME_S  # while waiting, every packet
    assert_close(info.duration_s, 16.0, 0.01)
    with av.open(str(info.path)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
        assert first.is_keyframe and first.pts is not None and first.time_base is not None
        assert abs(float(first.pts * first.time_base) - 12.0) <= 1 / FPS
    decoded = decode(info.path)
    assert decoded.video_size == (UNIT_WIDTH_PX, UNIT_HEIGHT_PX)  # from the key frame itself
    assert decoded.video_frames == info.video_frames >= 4.0 * FPS - 1
    assert_close(decoded.video_duration_s, 4.0)
    assert decoded.first_pts_s < 0.05  # the audio starts the file
    assert_close(decoded.audio_duration_s, 16.0, 0.01)


async def test_a_key_frame_that_never_comes_leaves_the_audio_whole(tmp_path: Path) -> None:
    """Delta frames all answer long, no whole key frame: the file opened after VIDEO_WAIT_S
    keeps every audio packet (FFmpeg held them until the end) and says it has no video."""
    info = await record_one(SlowKeyframeSender(keyframe_at_s=60.0), tmp_path / "no-key.webm", 12.0)

    assert info is not None and not info.video_recorded and info.video_codec == "vp8"
    assert info.video_frames == 0 and info.skipped_frames == round(12.0 * FPS) - 1
    assert info.audio_packets == round(12.0 / AUDIO_PTIME_S)
    decoded = decode(info.path)
    assert decoded.video_frames == 0
    assert_close(decoded.audio_duration_s, 12.0, 0.01)


async def test_install_tap_checks_receiver() -> None:
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("video").receiver
        install_tap(receiver, "video", lambda frame: None)
        with pytest.raises(RuntimeError, match="already installed"):
            install_tap(receiver, "video", lambda frame: None)
        await request_keyframe(receiver)  # no media yet: a no-op
        with pytest.raises(ValueError):
            install_tap(pc.addTransceiver("audio").receiver, "data", lambda frame: None)
        fake: Any = object()
        with pytest.raises(RuntimeError, match="aiortc internals changed"):
            install_tap(fake, "audio", lambda frame: None)
    finally:
        await pc.close()


# -- integration: two real aiortc peers over loopback --------------------------------


class PatternVideoTrack(VideoStreamTrack):
    """640x480 moving pattern at 15 fps."""

    def __init__(self) -> None:
        super().__init__()
        self._index = 0
        self._start_s: float | None = None

    async def recv(self) -> av.VideoFrame:
        loop = asyncio.get_running_loop()
        if self._start_s is None:
            self._start_s = loop.time()
        await asyncio.sleep(max(0.0, self._start_s + self._index / FPS - loop.time()))
        frame = av.VideoFrame.from_ndarray(
            pattern_rgb(self._index, LIVE_WIDTH_PX, LIVE_HEIGHT_PX), format="rgb24"
        )
        frame.pts = self._index * VIDEO_FRAME_TICKS
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_HZ)
        self._index += 1
        return frame


class SineAudioTrack(PacedAudioTrack):
    """A continuous sine tone in 20 ms mono frames."""

    def samples(self, start: int, count: int) -> npt.NDArray[np.int16]:
        return sine_s16(start, count, LIVE_TONE_HZ)


async def drain(track: MediaStreamTrack) -> None:
    """Consume a decoded remote track so aiortc's unbounded queue stays empty."""
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        return


async def test_loopback_peers_record_two_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_only)
    config = RTCConfiguration(iceServers=[])
    sender_pc, receiver_pc = RTCPeerConnection(config), RTCPeerConnection(config)
    video_track, audio_track = PatternVideoTrack(), SineAudioTrack()
    tasks: list[asyncio.Task[None]] = []
    seen = {"audio": 0, "video": 0}
    flowing = asyncio.Event()
    rec: AnswerRecorder | None = None
    try:
        sender_pc.addTrack(video_track)
        sender_pc.addTrack(audio_track)
        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)

        receivers: dict[str, RTCRtpReceiver] = {}
        for transceiver in receiver_pc.getTransceivers():
            receivers[transceiver.kind] = transceiver.receiver
        video_receiver = receivers["video"]
        rec = AnswerRecorder(lambda: request_keyframe(video_receiver), name="loopback")

        def on_frame(frame: EncodedFrame, recorder: AnswerRecorder = rec) -> None:
            seen[frame.kind] += 1
            if min(seen.values()) >= MEDIA_FLOWING_FRAMES:
                flowing.set()
            recorder.on_frame(frame)

        for kind, receiver in receivers.items():
            install_tap(receiver, kind, on_frame)
            tasks.append(asyncio.create_task(drain(receiver.track), name=f"drain-{kind}"))

        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)

        await asyncio.wait_for(flowing.wait(), CONNECT_TIMEOUT_S)
        await asyncio.sleep(1.0)  # past the sender's first key frame: segments need a PLI

        infos: list[SegmentInfo] = []
        for name in ("answer-1.webm", "answer-2.webm"):
            rec.start_segment(tmp_path / name)
            await asyncio.sleep(LIVE_SEGMENT_S)
            info = await asyncio.wait_for(rec.stop_segment(), STEP_TIMEOUT_S)
            assert info is not None, name
            infos.append(info)
        assert rec.dropped_frames == 0
    finally:
        if rec is not None:
            await asyncio.wait_for(rec.aclose(), STEP_TIMEOUT_S)
        await asyncio.wait_for(sender_pc.close(), STEP_TIMEOUT_S)
        await asyncio.wait_for(receiver_pc.close(), STEP_TIMEOUT_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    for info in infos:
        assert info.video_recorded and info.video_codec == "vp8"
        assert info.audio_packets > 0 and info.non_monotonic_frames == 0
        decoded = decode(info.path)
        assert decoded.video_frames > FPS, info
        assert decoded.first_video_keyframe
        assert decoded.video_size == (LIVE_WIDTH_PX, LIVE_HEIGHT_PX)
        assert decoded.first_pts_s < 0.1
        assert_close(decoded.audio_duration_s, LIVE_SEGMENT_S, 0.15)
        assert abs(dominant_hz(decoded.audio) - LIVE_TONE_HZ) <= TONE_TOLERANCE_HZ


async def test_segment_is_encrypted_as_written_and_decrypts_to_a_seekable_webm(
    tmp_path: Path,
) -> None:
    from server.security.encrypted_media import recording_opener
    from server.security.keyring import KeyRing
    from server.security.stream import EncryptedFile, is_encrypted_file

    ring = KeyRing.load_or_create(tmp_path / "keys.json", "sm4-gcm")
    sender = FakeSender()
    rec = AnswerRecorder(sender.request_keyframe, open_file=recording_opener(ring))
    try:
        path = tmp_path / "answer.webm"
        rec.start_segment(path)
        await feed(rec, sender.frames(3.0))
        info = await rec.stop_segment()
    finally:
        await rec.aclose()

    assert info is not None and info.video_recorded
    raw = path.read_bytes()
    assert is_encrypted_file(path) and b"\x1a\x45\xdf\xa3" not in raw  # no EBML header
    with EncryptedFile.open(path, ring) as reader:
        plain = reader.read()
    assert len(plain) == info.bytes and plain[:4] == b"\x1a\x45\xdf\xa3"
    assert plain[64:4096] not in raw
    clear = tmp_path / "clear.webm"
    clear.write_bytes(plain)
    decoded = decode(clear)
    assert decoded.video_frames == info.video_frames >= 3.0 * FPS - 2
    assert_close(decoded.audio_duration_s, 3.0)
    assert_seekable(clear, 2.0)  # the muxer's closing seek-back (cues, duration) landed
