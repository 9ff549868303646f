"""Lost packets. Audio: the jitter buffer keeps every packet it got, the decoder conceals the
rest (in-band FEC when the sender adds it, libopus PLC otherwise), the answer asks for FEC.
Video: frames between a loss and the next key frame are decoded but kept from analysis, so
a broken picture is never read as "no face"."""

from __future__ import annotations

import fractions
import random

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc.codecs import depayload
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from loadtest.candidate.synth import read_wav_s16_mono, speech_wav
from media.decoders import (
    OPUS_CONCEAL_MAX_S,
    LibopusDecoder,
    OpusReceiveStream,
    VideoDecodeWorker,
    libopus,
)
from media.jitter import (
    REORDER_WINDOW_PACKETS,
    VIDEO_CAPACITY_PACKETS,
    VIDEO_HOLE_WAIT_S,
    AudioFrames,
    AudioJitterBuffer,
    VideoJitterBuffer,
)
from media.peer import with_opus_fec
from media.tap import EncodedFrame

PACKET_TICKS = 960  # 20 ms at 48 kHz
RATE_HZ = 16_000
PACKET_SAMPLES = RATE_HZ // 50


def rtp(seq: int, data: bytes = b"x") -> RtpPacket:
    packet = RtpPacket(
        payload_type=111,
        sequence_number=seq % 65536,
        timestamp=(seq * PACKET_TICKS) % (1 << 32),
    )
    packet._data = data  # type: ignore[attr-defined]  # what aiortc's depayloader sets
    return packet


def delivered(buffer: JitterBuffer, seqs: list[int]) -> list[int]:
    """The packet numbers ``buffer`` hands on, in order, for arrivals ``seqs``."""
    out: list[int] = []
    for seq in seqs:
        _, frame = buffer.add(rtp(seq))
        if frame is None:
            continue
        stamps = [frame.timestamp]
        if isinstance(frame, AudioFrames):
            stamps += [frame.timestamp + delta for delta, _ in frame.following]
        out += [t // PACKET_TICKS for t in stamps]
    return out


def lossy(count: int, loss: float, seed: int) -> list[int]:
    rnd = random.Random(seed)
    return [i for i in range(count) if rnd.random() >= loss]


@pytest.mark.parametrize("loss", [0.01, 0.05, 0.10])
def test_every_received_packet_is_handed_on_in_order(loss: float) -> None:
    arrivals = lossy(3000, loss, seed=3)
    buffer = AudioJitterBuffer()
    out = delivered(buffer, arrivals)
    # all but the ones still waiting behind the last hole (at most the reorder window)
    assert out == arrivals[: len(out)]
    assert len(arrivals) - len(out) <= REORDER_WINDOW_PACKETS
    assert buffer.lost == pytest.approx(3000 - len(arrivals), abs=REORDER_WINDOW_PACKETS)
    assert buffer.late == 0


def test_aiortc_buffer_drops_received_audio_behind_losses() -> None:
    """Why the buffer is replaced: at 5 % loss aiortc's loses a further share of what came."""
    arrivals = lossy(3000, 0.05, seed=3)
    out = delivered(JitterBuffer(capacity=16, prefetch=4), arrivals)
    assert len(out) < 0.9 * len(arrivals)
    assert len(delivered(AudioJitterBuffer(), arrivals)) > 0.99 * len(arrivals)


def test_a_reordered_packet_within_the_window_takes_its_place() -> None:
    buffer = AudioJitterBuffer()
    assert delivered(buffer, [0, 1, 3, 2, 4]) == [0, 1, 2, 3, 4]
    assert buffer.lost == buffer.late == 0


def test_a_hole_is_given_up_after_the_window_and_late_packets_are_dropped() -> None:
    buffer = AudioJitterBuffer()
    later = list(range(3, 3 + REORDER_WINDOW_PACKETS))
    assert delivered(buffer, [0, 1, *later[:-1]]) == [0, 1]  # still waiting for 2
    assert delivered(buffer, [later[-1]]) == later  # given up: the rest at once
    assert buffer.lost == 1
    assert delivered(buffer, [2, later[-1]]) == []  # too late, and a duplicate
    assert buffer.late == 2


def test_sequence_numbers_wrap() -> None:
    seqs = [65533, 65534, 65535, 65536, 65538, 65539, 65540, 65541]
    assert [s % 65536 for s in delivered(AudioJitterBuffer(), seqs)] == [s % 65536 for s in seqs]


def test_a_restarted_stream_is_followed() -> None:
    buffer = AudioJitterBuffer()
    assert delivered(buffer, [10, 11, 13]) == [10, 11]
    assert delivered(buffer, [40_000, 40_001]) == [40_000, 40_001]
    assert buffer.lost == 1  # the packet waiting behind the old stream's hole


def test_the_answer_asks_for_opus_fec_and_keeps_other_parameters() -> None:
    bare = "v=0\r\nm=audio 9 RTP 96 0\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
    assert "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n" in with_opus_fec(bare)
    with_params = "v=0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10\r\n"
    once = with_opus_fec(with_params)
    assert "a=fmtp:111 minptime=10;useinbandfec=1\r\n" in once
    assert with_opus_fec(once) == once
    video = "v=0\r\na=rtpmap:97 VP8/90000\r\n"
    assert with_opus_fec(video) == video


# -- concealment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> npt.NDArray[np.int16]:
    text = "Good morning. I handled emergency calls during the flood season for six years."
    wav = speech_wav(text, tmp_path_factory.mktemp("speech") / "s.wav")
    pcm, rate = read_wav_s16_mono(wav)
    assert rate == 48_000
    return pcm


def opus_packets(pcm: npt.NDArray[np.int16], fec_loss_percent: int) -> list[bytes]:
    """20 ms Opus packets as a browser sends them (voice, 32 kbit/s, FEC for that loss)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48_000, "mono", "s16"
    codec.bit_rate = 32_000
    codec.options = {"application": "voip", "fec": "1", "packet_loss": str(fec_loss_percent)}
    out: list[bytes] = []
    for i in range(0, len(pcm) // PACKET_TICKS * PACKET_TICKS, PACKET_TICKS):
        frame = av.AudioFrame.from_ndarray(
            pcm[i : i + PACKET_TICKS].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = 48_000, i
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def receive(
    packets: list[bytes], lost: set[int]
) -> tuple[npt.NDArray[np.float32], OpusReceiveStream]:
    """What analysis gets: the pieces placed at their media times (gaps stay zero)."""
    stream = OpusReceiveStream(LibopusDecoder(RATE_HZ))
    out = np.zeros(len(packets) * PACKET_SAMPLES, dtype=np.float32)
    for i, data in enumerate(packets):
        if i in lost:
            continue
        frame = EncodedFrame("audio", "opus", i * PACKET_TICKS, 48_000, data, True, 1)
        for t, samples in stream.decode(frame):
            start = round(t * RATE_HZ)
            out[start : start + len(samples)] = samples[: len(out) - start]
    return out, stream


def snr_db(clean: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((clean - other) ** 2)))


needs_libopus = pytest.mark.skipif(libopus() is None, reason="libopus cannot be loaded")


@needs_libopus
def test_fec_restores_lost_packets_and_concealment_fills_their_time(
    speech: npt.NDArray[np.int16],
) -> None:
    lost = set(random.Random(5).sample(range(20, 300), 25))
    plain = opus_packets(speech, fec_loss_percent=0)
    with_fec = opus_packets(speech, fec_loss_percent=10)
    clean_plain, _ = receive(plain, set())
    clean_fec, _ = receive(with_fec, set())
    cut = clean_plain.copy()
    for i in lost:
        cut[i * PACKET_SAMPLES : (i + 1) * PACKET_SAMPLES] = 0
    _, plc = receive(plain, lost)
    restored, fec = receive(with_fec, lost)

    assert plc.fec_packets == 0 and plc.concealed_s == pytest.approx(len(lost) * 0.02)
    assert fec.fec_packets > len(lost) // 2  # speech packets carry LBRR; silence may not
    # FEC restores the waveform (measured: 16.8 dB against 13.5 dB with the gaps silent);
    # concealment only keeps the timing and a plausible sound (9.8 dB: its waveform guess
    # is off in phase), which is what it is for.
    assert snr_db(clean_fec, restored) > snr_db(clean_plain, cut) + 2


@needs_libopus
def test_a_long_gap_stays_a_gap(speech: npt.NDArray[np.int16]) -> None:
    packets = opus_packets(speech, fec_loss_percent=10)
    outage = set(range(100, 100 + round(OPUS_CONCEAL_MAX_S / 0.02) + 5))
    out, stream = receive(packets, outage)
    assert stream.gaps == 1 and stream.concealed_s == 0
    assert not out[100 * PACKET_SAMPLES : max(outage) * PACKET_SAMPLES].any()


@needs_libopus
def test_a_corrupt_packet_after_a_loss_raises_and_the_stream_goes_on(
    speech: npt.NDArray[np.int16],
) -> None:
    from media.decoders import OpusError

    packets = opus_packets(speech, fec_loss_percent=10)[:10]
    stream = OpusReceiveStream(LibopusDecoder(RATE_HZ))
    stream.decode(EncodedFrame("audio", "opus", 0, 48_000, packets[0], True, 1))
    with pytest.raises(OpusError):
        stream.decode(EncodedFrame("audio", "opus", 2 * PACKET_TICKS, 48_000, b"\xff" * 3, True, 1))
    pieces = stream.decode(
        EncodedFrame("audio", "opus", 3 * PACKET_TICKS, 48_000, packets[3], True, 1)
    )
    assert sum(len(s) for _, s in pieces) >= PACKET_SAMPLES


# -- video ------------------------------------------------------------------------------------

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
VIDEO_TICKS = 6000  # 15 fps


def test_the_first_video_frame_after_given_up_packets_is_marked() -> None:
    buffer = VideoJitterBuffer()
    marked: list[int] = []
    frames = 0
    for seq in range(VIDEO_CAPACITY_PACKETS + 40):
        if seq == 5:
            continue  # lost for good: the buffer waits, then gives the frames up
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * VIDEO_TICKS)
        packet._data = b"v"  # type: ignore[attr-defined]
        _, frame = buffer.add(packet)
        if frame is not None:
            frames += 1
            if getattr(frame, "after_loss", False):
                marked.append(frame.timestamp // VIDEO_TICKS)
    assert buffer.losses >= 1
    assert frames > 20 and len(marked) == buffer.losses
    assert marked[0] > 5  # the first frame handed on after the hole, not one before it


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def video_packets(frames: int, per_frame: int = 2) -> list[RtpPacket]:
    """``frames`` frames of ``per_frame`` packets as VP8 sends them: the descriptor's start
    bit on each frame's first packet, the marker bit on its last."""
    packets = []
    for seq in range(frames * per_frame):
        frame = seq // per_frame
        packet = RtpPacket(
            payload_type=96,
            sequence_number=seq,
            timestamp=frame * VIDEO_TICKS,
            marker=seq % per_frame == per_frame - 1,
            payload=bytes([0x10 if seq % per_frame == 0 else 0x00, 0]),
        )
        packet._data = bytes([frame])  # type: ignore[attr-defined]
        packets.append(packet)
    return packets


@pytest.mark.parametrize(
    ("lost_seq", "resumes_at"),
    [(7, 4), (8, 5)],  # frame 3's last packet (frame 4 starts whole); frame 4's first packet
)
def test_a_hole_that_never_fills_is_given_up_after_the_wait(lost_seq: int, resumes_at: int) -> None:
    """At a browser's 50 kbit/s a lost packet would otherwise stall video for 512 packets.
    Video goes on from the first frame known to start whole (the frame before the hole is
    given up with it)."""
    clock = FakeClock()
    buffer = VideoJitterBuffer(clock)
    out: list[tuple[int, bool, bool, float]] = []  # (frame, after_loss, key frame asked, t)
    blocked_at = None
    for packet in video_packets(80):  # 5.3 s at 15 fps
        if packet.sequence_number == lost_seq:  # lost for good
            continue
        clock.now += 1 / 30  # 2 packets a frame
        blocked_at = blocked_at or (clock.now if packet.sequence_number == lost_seq + 1 else None)
        pli, frame = buffer.add(packet)
        if frame is not None:
            out.append((frame.data[0], getattr(frame, "after_loss", False), pli, clock.now))
    frames = [f for f, *_ in out]
    assert frames[:3] == [0, 1, 2]
    assert not set(frames) & set(range(3, resumes_at))  # the frames at the hole: given up
    resumed = next(i for i, (f, *_) in enumerate(out) if f > 2)
    assert out[resumed][:3] == (resumes_at, True, True)  # the first whole frame, marked
    assert frames[resumed:] == list(range(resumes_at, resumes_at + len(frames) - resumed))
    assert blocked_at is not None
    waited_s = out[resumed][3] - blocked_at
    assert VIDEO_HOLE_WAIT_S <= waited_s <= VIDEO_HOLE_WAIT_S + 2 / 30
    assert buffer.losses == 1


def test_a_hole_filled_by_a_retransmission_within_the_wait_loses_nothing() -> None:
    clock = FakeClock()
    buffer = VideoJitterBuffer(clock)
    packets = video_packets(20)
    late = packets.pop(7)
    got: list[int] = []
    for i, packet in enumerate(packets):
        clock.now += 1 / 30
        if i == 20:  # the retransmission, 0.4 s late
            _, frame = buffer.add(late)
            got += [] if frame is None else [frame.data[0]]
        _, frame = buffer.add(packet)
        got += [] if frame is None else [frame.data[0]]
    assert buffer.losses == 0
    assert got[:3] == [0, 1, 2] and got[3:] == list(range(3, 3 + len(got) - 3))


def test_frames_between_a_loss_and_the_next_key_frame_are_kept_from_analysis() -> None:
    encoder = Vp8Encoder()
    data: list[bytes] = []
    for i in range(10):
        yy, xx = np.mgrid[0:120, 0:160]
        rgb = np.stack([(xx + 4 * i) % 256, yy % 256, np.full_like(xx, 128)], -1)
        frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
        frame.pts, frame.time_base = i * VIDEO_TICKS, fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i == 7)
        data.append(b"".join(depayload(VP8, p) for p in payloads))
    handed: list[int] = []
    worker = VideoDecodeWorker(
        lambda f: handed.append(round(f.pts / VIDEO_TICKS)), None, name="t-video"
    )
    for i in (0, 1, 2, 4, 5, 6, 7, 8, 9):  # frame 3 lost: 4 comes after the loss
        keyframe = i in (0, 7)
        worker.push(
            VP8, EncodedFrame("video", "vp8", i * VIDEO_TICKS, 90000, data[i], keyframe, 2, i == 4)
        )
    worker.close()
    worker.join(10.0)
    assert handed == [0, 1, 2, 7, 8, 9]
    assert worker.unusable == 3 and worker.decoded == 9 and worker.errors == 0
