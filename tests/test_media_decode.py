"""Decoding for analysis: the tap hands encoded frames to our decoders instead of aiortc's.

Opus is decoded by libopus straight to 16 kHz mono (no resampler), video on one worker
thread that converts only the frames analysis samples; aiortc's decoder thread decodes
nothing; a receiver without analysis decodes nothing at all.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc import RTCPeerConnection
from aiortc.codecs import depayload
from aiortc.codecs.opus import OpusDecoder as AiortcOpusDecoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

import media.fanout as fanout_module
from media.adapters import (
    ANALYSIS_SAMPLE_RATE_HZ,
    AudioAdapter,
    VideoScaler,
    analysis_size,
    video_sample,
)
from media.decoders import LibopusDecoder, libopus
from media.fanout import AnalysisFanout
from media.peer import LivePeer
from media.tap import DISCARD, EncodedFrame, decode_error_reporter, install_tap

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
AUDIO_RATE_HZ = 48000
PACKET_SAMPLES = 960
TONE_HZ = 440.0
TONE_AMPLITUDE = 8000
TONE_RMS = TONE_AMPLITUDE / 32768 / np.sqrt(2)
FPS = 15
VIDEO_TICKS = 90000 // FPS
STEP_TIMEOUT_S = 10.0


def opus_packets(seconds: float, tone_hz: float = TONE_HZ) -> list[bytes]:
    """A sine tone (RMS ``TONE_RMS``) as mono Opus in 20 ms packets, as browsers send it."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = AUDIO_RATE_HZ, "mono", "s16"
    encoder.bit_rate = 32_000
    packets: list[bytes] = []
    for i in range(int(seconds * AUDIO_RATE_HZ / PACKET_SAMPLES)):
        t = (np.arange(PACKET_SAMPLES) + i * PACKET_SAMPLES) / AUDIO_RATE_HZ
        pcm = (TONE_AMPLITUDE * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE_HZ
        frame.pts = i * PACKET_SAMPLES
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def vp8_frames(count: int, width: int = 640, height: int = 480) -> list[bytes]:
    encoder = Vp8Encoder()
    frames = []
    for i in range(count):
        yy, xx = np.mgrid[0:height, 0:width]
        rgb = np.stack([(xx + 4 * i) % 256, yy % 256, np.full_like(xx, 128)], -1).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = i * VIDEO_TICKS
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame)
        frames.append(b"".join(depayload(VP8, p) for p in payloads))
    return frames


def audio_frame(i: int, data: bytes) -> EncodedFrame:
    return EncodedFrame("audio", "opus", i * PACKET_SAMPLES, AUDIO_RATE_HZ, data, True, 1)


def video_frame(i: int, data: bytes) -> EncodedFrame:
    return EncodedFrame("video", "vp8", i * VIDEO_TICKS, 90000, data, i == 0, 2)


def dominant_hz(samples: npt.NDArray[np.float32], rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate_hz)[int(np.argmax(spectrum))])


class Sink:
    """on_audio / on_video that record what reached analysis, and on which thread."""

    def __init__(self) -> None:
        self.audio: list[tuple[float, npt.NDArray[np.float32]]] = []
        self.video: list[tuple[float, npt.NDArray[np.uint8]]] = []
        self.threads: set[str] = set()

    def on_audio(self, t: float, samples: npt.NDArray[np.float32]) -> None:
        self.threads.add(threading.current_thread().name)
        self.audio.append((t, samples))

    def on_video(self, t: float, rgb: npt.NDArray[np.uint8]) -> None:
        self.threads.add(threading.current_thread().name)
        self.video.append((t, rgb))


# -- Opus -----------------------------------------------------------------------------


def test_libopus_is_found_and_decodes_straight_to_16khz_mono() -> None:
    assert libopus() is not None, "PyAV's wheel bundles libopus; the cheap path needs it"
    packets = opus_packets(1.0)
    decoder = LibopusDecoder(ANALYSIS_SAMPLE_RATE_HZ)
    ours = np.concatenate([decoder.decode(p) for p in packets])
    decoder.close()
    assert ours.dtype == np.float32 and len(ours) == len(packets) * 320  # 20 ms at 16 kHz
    assert abs(dominant_hz(ours[1600:], ANALYSIS_SAMPLE_RATE_HZ) - TONE_HZ) < 10
    rms = float(np.sqrt(np.mean(ours[1600:] ** 2)))
    assert abs(rms - TONE_RMS) < 0.05 * TONE_RMS  # the stream's own level

    # the same audio as aiortc's 48 kHz stereo decode resampled to 16 kHz mono, which
    # read mono streams 3 dB hot (swresample sums the two copies of the one channel)
    aiortc_decoder, adapter = AiortcOpusDecoder(), AudioAdapter()
    chunks = []
    for i, packet in enumerate(packets):
        for frame in aiortc_decoder.decode(JitterFrame(packet, i * PACKET_SAMPLES)):
            chunks += adapter.push(frame)  # type: ignore[arg-type]
    chunks += adapter.flush()
    theirs = np.concatenate([c.samples for c in chunks])
    n = min(len(ours), len(theirs)) - 1600
    best = max(
        float(
            np.corrcoef(ours[1600 : 1600 + n - 40], theirs[1600 + lag : 1600 + lag + n - 40])[0, 1]
        )
        for lag in range(0, 40)
    )
    assert best > 0.98
    rms_theirs = float(np.sqrt(np.mean(theirs[1600:] ** 2)))
    assert abs(rms_theirs / rms - np.sqrt(2)) < 0.05


async def test_audio_is_decoded_on_the_loop_in_100ms_batches_across_gaps() -> None:
    sink = Sink()
    fanout = AnalysisFanout(sink.on_audio, sink.on_video, name="t")
    audio = fanout.decoder("audio")
    packets = opus_packets(1.0)
    for i, packet in enumerate(packets[:25]):  # 0.5 s
        audio.push(OPUS, audio_frame(i, packet))
    for i, packet in enumerate(packets[25:], start=100):  # a 1.5 s gap, then 0.5 s
        audio.push(OPUS, audio_frame(i, packet))
    audio.close()
    await fanout.aclose()

    assert sink.threads == {threading.current_thread().name}
    assert [len(s) for _, s in sink.audio] == [1600] * 5 + [1600] * 5
    expected_t = [0.0, 0.1, 0.2, 0.3, 0.4] + [2.0, 2.1, 2.2, 2.3, 2.4]  # the gap is kept
    assert [round(t, 2) for t, _ in sink.audio] == expected_t
    assert all(s.dtype == np.float32 for _, s in sink.audio)


async def test_audio_without_libopus_falls_back_to_aiortc_and_resampling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout_module, "libopus", lambda: None)
    sink = Sink()
    fanout = AnalysisFanout(sink.on_audio, sink.on_video, name="t")
    audio = fanout.decoder("audio")
    for i, packet in enumerate(opus_packets(1.0)):
        audio.push(OPUS, audio_frame(i, packet))
    await fanout.aclose()
    samples = np.concatenate([s for _, s in sink.audio])
    assert abs(len(samples) - ANALYSIS_SAMPLE_RATE_HZ) < 200
    assert abs(dominant_hz(samples[1600:], ANALYSIS_SAMPLE_RATE_HZ) - TONE_HZ) < 10
    rms = float(np.sqrt(np.mean(samples[1600:] ** 2)))
    assert abs(rms - TONE_RMS) < 0.05 * TONE_RMS  # the same level as the libopus path


# -- video ----------------------------------------------------------------------------


async def test_video_is_decoded_on_a_worker_and_only_sampled_frames_are_converted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converted: list[str] = []
    real_video_sample = fanout_module.video_sample

    def counting(frame: av.VideoFrame, scaler: VideoScaler | None = None) -> Any:
        converted.append(threading.current_thread().name)
        return real_video_sample(frame, scaler)

    monkeypatch.setattr(fanout_module, "video_sample", counting)
    sink = Sink()
    fanout = AnalysisFanout(sink.on_audio, sink.on_video, name="t")
    video = fanout.decoder("video")
    for i, data in enumerate(vp8_frames(2 * FPS)):  # 2 s at 15 fps
        video.push(VP8, video_frame(i, data))
        await asyncio.sleep(0.01)
    video.close()
    await asyncio.sleep(0.2)  # the last sample's hand-off
    await fanout.aclose()

    assert fanout.frames_in == 2 * FPS
    assert fanout.frames_sampled == len(converted) == 10  # 5 fps of 15
    assert set(converted) == {"video-decoder-t"}
    assert sink.threads == {threading.current_thread().name}  # handed on on the loop
    # every third frame, by media time (a sample the loop had not taken yet may be replaced)
    times = [round(t, 3) for t, _ in sink.video]
    assert len(times) >= 8 and set(times) <= {round(i * 0.2, 3) for i in range(10)}
    assert all(rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8 for _, rgb in sink.video)


async def test_video_decode_errors_are_reported() -> None:
    errors = threading.Event()
    fanout = AnalysisFanout(lambda t, s: None, lambda t, r: None, name="t")
    video = fanout.decoder("video", on_error=errors.set)
    frames = vp8_frames(2)
    video.push(VP8, video_frame(0, frames[0][:40]))  # a truncated key frame
    assert await asyncio.to_thread(errors.wait, STEP_TIMEOUT_S)
    await fanout.aclose()


def test_video_sample_matches_a_direct_conversion() -> None:
    """The two-pass conversion (scale in YUV, then RGB) looks like the one-pass one."""
    yy, xx = np.mgrid[0:480, 0:640]
    rgb = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame.pts, frame.time_base = 3000, fractions.Fraction(1, 90000)
    scaler = VideoScaler()
    sample = video_sample(frame, scaler)
    direct = frame.reformat(width=320, height=240, format="rgb24").to_ndarray()
    assert sample.t == pytest.approx(3000 / 90000)
    assert sample.rgb.shape == direct.shape == (240, 320, 3)
    assert np.abs(sample.rgb.astype(int) - direct.astype(int)).mean() < 2.0
    assert video_sample(frame, scaler).rgb.tobytes() == sample.rgb.tobytes()
    assert analysis_size(1280, 720) == (320, 180) and analysis_size(160, 120) == (160, 120)


# -- the tap and the peer -------------------------------------------------------------


class Recording:
    def __init__(self) -> None:
        self.pushed: list[EncodedFrame] = []
        self.closed = 0

    def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        self.pushed.append(frame)

    def close(self) -> None:
        self.closed += 1


async def test_tap_hands_frames_to_its_decoder_and_only_the_end_to_aiortc() -> None:
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        tapped: list[EncodedFrame] = []
        decoder = Recording()
        install_tap(receiver, "audio", tapped.append, decoder=decoder)
        aiortc_queue: Any = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
        packet = opus_packets(0.02)[0]
        aiortc_queue.put((OPUS, JitterFrame(packet, 960)))
        assert [f.data for f in tapped] == [f.data for f in decoder.pushed] == [packet]
        assert decoder.pushed[0].timestamp == 960 and decoder.pushed[0].codec == "opus"
        assert aiortc_queue.qsize() == 0  # aiortc's decoder thread gets nothing to decode
        aiortc_queue.put(None)
        assert decoder.closed == 1 and aiortc_queue.get_nowait() is None  # but the end, yes

        report = decode_error_reporter(receiver)
        event: threading.Event = receiver._RTCRtpReceiver__decoder_error  # type: ignore[attr-defined]
        assert not event.is_set()
        report()
        assert event.is_set()  # aiortc sends a PLI with the next packet
    finally:
        await pc.close()


async def test_a_failing_decoder_never_breaks_the_receive_path() -> None:
    class Broken(Recording):
        def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
            raise ValueError("boom")

    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        tapped: list[EncodedFrame] = []
        install_tap(receiver, "audio", tapped.append, decoder=Broken())
        aiortc_queue: Any = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
        for i in range(3):
            aiortc_queue.put((OPUS, JitterFrame(b"\x00", i * 960)))
        assert len(tapped) == 3
    finally:
        await pc.close()


async def test_peer_without_analysis_decodes_nothing_and_with_analysis_uses_the_fanout() -> None:
    async def decoder_of(fanout: AnalysisFanout | None) -> Any:
        peer = LivePeer((), lambda f: None, lambda s: None, "t", fanout=fanout)
        try:
            receiver = peer.pc.addTransceiver("video").receiver
            peer.prepare_receiver(receiver, "video")
            return receiver._RTCRtpReceiver__decoder_queue._decoder  # type: ignore[attr-defined]
        finally:
            await peer.aclose()

    assert await decoder_of(None) is DISCARD
    fanout = AnalysisFanout(lambda t, s: None, lambda t, r: None, name="t")
    assert type(await decoder_of(fanout)).__name__ == "VideoDecodeWorker"


async def test_bench_path_reaches_analysis_and_recorder(tmp_path: Path) -> None:
    """RTP → jitter buffer → tap → recorder and analysis, as the live server wires it."""
    from loadtest.candidate.client import build_media
    from loadtest.media_bench import packetize, run_once

    rtp = packetize(build_media(tmp_path / "media", video_layers=2))
    result = await run_once(1, 2.0, 1.0, rtp, lambda: None)
    assert abs(result["analysis_audio_hz_per_candidate"] - 16000) < 800
    assert 4.0 <= result["analysis_video_fps_per_candidate"] <= 6.0
    # two temporal layers (as browsers send): the upper one is not decoded, all is recorded
    assert 6.0 <= result["video_not_decoded_fps_per_candidate"] <= 8.0
    assert result["analysis_video_shape"] == [240, 320, 3]
    assert result["recorded_segments"] >= 2
    assert abs(result["recorded_video_fps"] - 15) < 1.5
    assert abs(result["recorded_audio_pps"] - 50) < 5
    assert result["dropped_frames"] == 0
    assert result["by_thread_pct_per_candidate"].get("audio-decoder", 0.0) < 0.5
