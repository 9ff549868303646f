"""Opus packet framing: packet lengths from the TOC byte, and concealment packets a decoder
accepts and fills with one frame of audio."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from media.opus_packets import concealment_packet, frame_samples, packet_samples


@pytest.mark.parametrize(
    ("toc", "samples"),
    [
        (0 << 3, 480),  # SILK NB 10 ms
        (1 << 3, 960),  # SILK NB 20 ms
        (11 << 3, 2880),  # SILK WB 60 ms
        (13 << 3, 960),  # Hybrid SWB 20 ms
        (16 << 3, 120),  # CELT NB 2.5 ms
        (31 << 3 | 0x04, 960),  # CELT FB 20 ms, stereo
    ],
)
def test_frame_samples_follow_the_toc_table(toc: int, samples: int) -> None:
    assert frame_samples(toc) == samples


def test_packet_samples_count_the_frames() -> None:
    silk_20ms = 1 << 3
    assert packet_samples(bytes([silk_20ms, 1, 2])) == 960  # code 0: one frame
    assert packet_samples(bytes([silk_20ms | 1, 1, 2])) == 1920  # code 1: two, equal
    assert packet_samples(bytes([silk_20ms | 2, 1, 2])) == 1920  # code 2: two
    assert packet_samples(bytes([silk_20ms | 3, 3])) == 2880  # code 3: three frames
    assert packet_samples(bytes([silk_20ms | 3])) is None  # code 3 without its count
    assert packet_samples(bytes([silk_20ms | 3, 0])) is None  # zero frames
    assert packet_samples(b"") is None


def encoded_voice(packets: int) -> list[bytes]:
    """20 ms packets as a browser sends them (libopus, voice, 32 kbit/s)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48_000, "mono", "s16"
    codec.bit_rate = 32_000
    codec.options = {"application": "voip", "frame_duration": "20"}
    codec.open()
    out: list[bytes] = []
    for i in range(packets):
        t = (np.arange(960) + i * 960) / 48_000
        pcm = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48_000, i * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        out.extend(bytes(p) for p in codec.encode(frame))
    return out


@pytest.mark.parametrize("decoder", ["opus", "libopus"])
def test_a_concealment_packet_decodes_to_one_frame(decoder: str) -> None:
    packets = encoded_voice(10)
    filler = concealment_packet(packets[4])
    assert len(filler) == 1 and filler[0] >> 3 == packets[4][0] >> 3
    assert packet_samples(filler) == 960
    codec = av.CodecContext.create(decoder, "r")
    codec.sample_rate, codec.layout = 48_000, "mono"
    samples = []
    for i, data in enumerate([*packets[:5], filler, *packets[6:]]):
        packet = av.Packet(data)
        packet.pts, packet.time_base = i * 960, fractions.Fraction(1, 48_000)
        samples.append(sum(f.samples for f in codec.decode(packet)))
    assert samples[5] == 960
