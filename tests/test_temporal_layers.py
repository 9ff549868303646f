"""VP8 temporal layers: the video buffer reads each frame's layer from its payload descriptor,
and analysis decodes only the base layer while that alone comes often enough."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs import depayload
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from loadtest.candidate.packets import EncodedMedia, LayeredVp8Encoder, encode_media
from loadtest.candidate.synth import face_y4m, write_wav_s16_mono
from media.decoders import BaseLayerFilter
from media.jitter import VideoJitterBuffer, vp8_temporal_layer
from media.tap import EncodedFrame

VIDEO_CLOCK_HZ = 90_000
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=VIDEO_CLOCK_HZ, payloadType=96)
ANALYSIS_FPS = 5.0


def descriptor(**fields: object) -> bytes:
    return bytes(VpxPayloadDescriptor(partition_start=1, partition_id=0, **fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"picture_id": 17}, None),
        ({"picture_id": 300, "tl0picidx": 4, "tid": (1, 1)}, (1, True)),
        ({"picture_id": 17, "tid": (0, 0)}, (0, False)),
        ({"tl0picidx": 9, "tid": (2, 0)}, (2, False)),
        ({"keyidx": 3}, None),
    ],
)
def test_the_layer_is_read_from_the_vp8_descriptor(
    fields: dict[str, object], expected: tuple[int, bool] | None
) -> None:
    assert vp8_temporal_layer(descriptor(**fields) + b"\x9d\x01\x2a") == expected


def test_truncated_descriptors_name_no_layer() -> None:
    whole = descriptor(picture_id=300, tl0picidx=4, tid=(1, 1))
    for cut in range(len(whole)):
        layer = vp8_temporal_layer(whole[:cut])
        assert layer is None or layer == (1, True)


def test_the_video_buffer_hands_on_each_frames_layer() -> None:
    buffer = VideoJitterBuffer()
    layers = []
    for frame in range(6):
        tid = (frame % 2, frame % 4 == 1)
        for part in range(2):
            seq = 2 * frame + part
            head = descriptor(picture_id=frame, tid=tid) if part == 0 else b"\x00"
            packet = RtpPacket(
                payload_type=96,
                sequence_number=seq,
                timestamp=frame * 6000,
                marker=part == 1,
                payload=head + b"vp8",
            )
            packet._data = b"vp8"  # type: ignore[attr-defined]
            _, out = buffer.add(packet)
            if out is not None:
                layers.append((getattr(out, "temporal_layer", None), out.timestamp // 6000))
                assert not getattr(out, "after_loss", False)
                assert getattr(out, "layer_sync", False) == ((out.timestamp // 6000) % 4 == 1)
    # aiortc hands a frame on when the next one starts
    assert layers == [(0, 0), (1, 1), (0, 2), (1, 3), (0, 4)]


def frames(fps: float, count: int, start: int = 0, key_every: int = 0) -> list[EncodedFrame]:
    """``count`` frames at ``fps``, alternating base and upper layer; every fourth upper
    frame refers to the base layer only (Y)."""
    step = round(VIDEO_CLOCK_HZ / fps)
    return [
        EncodedFrame(
            "video",
            "vp8",
            (start + i) * step,
            VIDEO_CLOCK_HZ,
            b"",
            keyframe=bool(key_every) and (start + i) % key_every == 0,
            ssrc=1,
            temporal_layer=(start + i) % 2,
            layer_sync=(start + i) % 4 == 1,
        )
        for i in range(count)
    ]


def test_upper_layers_are_not_decoded_while_the_base_layer_suffices() -> None:
    layers = BaseLayerFilter(ANALYSIS_FPS)
    decoded = [f.temporal_layer for f in frames(15, 30) if layers.wants(f)]
    # the first upper frame is decoded while the base layer's rate is not known yet
    assert decoded == [0, 1] + [0] * 14
    assert layers.skipped == 14


def test_upper_layers_come_back_on_a_sync_frame_when_the_base_layer_is_too_sparse() -> None:
    layers = BaseLayerFilter(ANALYSIS_FPS)
    for f in frames(15, 30):
        layers.wants(f)
    # the browser drops to 8 fps: the base layer alone (4 fps) is too sparse for analysis
    slow = [f for f in frames(8, 16, start=30)]
    wanted = [(f.timestamp, f.temporal_layer, f.layer_sync) for f in slow if layers.wants(f)]
    upper = [(t, sync) for t, layer, sync in wanted if layer == 1]
    assert upper and upper[0][1], wanted  # resumed on a frame that needs only the base layer
    first = upper[0][0]
    assert all(layer == 1 for t, layer, _ in wanted if t > first and layer) and len(
        [w for w in wanted if w[0] > first]
    ) == len([f for f in slow if f.timestamp > first])  # then every frame again


def test_a_key_frame_or_a_stream_without_layers_is_always_decoded() -> None:
    layers = BaseLayerFilter(ANALYSIS_FPS)
    for f in frames(15, 10):
        layers.wants(f)
    plain = EncodedFrame("video", "vp8", 10 * 6000, VIDEO_CLOCK_HZ, b"", keyframe=False, ssrc=1)
    assert layers.wants(plain)
    h264 = EncodedFrame(
        "video", "h264", 11 * 6000, VIDEO_CLOCK_HZ, b"", keyframe=False, ssrc=1, temporal_layer=1
    )
    assert layers.wants(h264)


@pytest.fixture(scope="module")
def layered_media(tmp_path_factory: pytest.TempPathFactory) -> EncodedMedia:
    cache = tmp_path_factory.mktemp("layers")
    face = face_y4m(cache / "face.y4m", seconds=2.0)
    speech = write_wav_s16_mono(np.zeros(4800, dtype=np.int16), cache / "quiet.wav", 48_000)
    return encode_media(face, speech, (), video_layers=2)


def decoded_images(frames: list[bytes]) -> list[np.ndarray]:
    decoder = av.CodecContext.create("vp8", "r")
    return [
        image.to_ndarray(format="gray")
        for data in frames
        for image in decoder.decode(av.Packet(data))  # type: ignore[attr-defined]
    ]


def test_the_synthetic_candidates_base_layer_decodes_alone(layered_media: EncodedMedia) -> None:
    """What the load generator sends for L1T2 is what a browser sends: the base layer decodes
    without the upper one, picture for picture the same."""
    video = list(layered_media.video)
    whole = decoded_images(video)
    base = decoded_images(video[::2])
    assert len(whole) == len(video) and len(base) == len(video[::2]) > 10
    assert all(np.array_equal(whole[2 * i], image) for i, image in enumerate(base))


def test_the_synthetic_candidates_packets_name_their_layer(layered_media: EncodedMedia) -> None:
    encoder = LayeredVp8Encoder(layered_media.video_layers)
    for i, data in enumerate(layered_media.video[:6]):
        packet = av.Packet(data)
        packet.pts, packet.time_base = i * 6000, fractions.Fraction(1, 90_000)
        payloads, timestamp = encoder.pack(packet)
        assert timestamp == i * 6000
        assert vp8_temporal_layer(payloads[0]) == (i % 2, True)
        assert b"".join(depayload(VP8, p) for p in payloads) == data
