"""Pre-encoded, paced media for synthetic candidates.

Encoding VP8 for many candidates would eat the very CPU we are measuring, so the face
video and the speech are encoded once (VP8 with a keyframe every ``KEYFRAME_EVERY_S``, in one
or two temporal layers, Opus in 20 ms packets) and replayed in a loop; aiortc packetizes ``av.Packet`` objects
without re-encoding. Each track paces itself on the wall clock and records when every
sentence of the speech finished playing, so a viewer can measure transcript latency.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiortc.rtcrtpsender
import av
import numpy as np
from aiortc.codecs.base import Encoder
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from loadtest.candidate.synth import read_wav_s16_mono

VIDEO_FPS = 15
KEYFRAME_EVERY_S = 2.0
VIDEO_BITRATE_BPS = 600_000
AUDIO_RATE_HZ = 48_000
AUDIO_PACKET_S = 0.02
VIDEO_CLOCK = fractions.Fraction(1, 90_000)
AUDIO_CLOCK = fractions.Fraction(1, AUDIO_RATE_HZ)
VIDEO_LAYERS = 2
"""Temporal layers of the synthetic candidates' video by default: two (``L1T2``), as the
candidate page asks of a browser whose uplink has room (``web/candidate/netquality.js``: it
starts in one layer and asks for two once its upload estimate has stayed at
:data:`LAYERS_FROM_KBPS` for 6 s; a synthetic candidate sends two from the start)."""
LAYERS_FROM_KBPS = 800.0
"""The page's upload estimate for two layers (its ``LAYERS_FROM_KBPS``): below it, one."""
TWO_LAYER_OPTIONS = {
    "ts-parameters": "ts_number_layers=2:ts_target_bitrate=360,600:ts_rate_decimator=2,1"
    ":ts_periodicity=2:ts_layer_id=0,1:ts_layering_mode=2",
    "error-resilient": "default",
}
"""libvpx (through FFmpeg) options for two temporal layers a receiver can decode apart."""


@dataclass(frozen=True)
class EncodedMedia:
    video: tuple[bytes, ...]
    audio: tuple[bytes, ...]
    sentence_ends_s: tuple[float, ...]
    """Offsets in the audio loop where a sentence's speech ends."""
    audio_loop_s: float
    video_layers: int = 1
    """Temporal layers of the video: frame ``i`` is in layer ``i % video_layers``."""


def encode_media(
    y4m: Path,
    wav: Path,
    sentence_ends_s: Sequence[float],
    expected_loss_percent: float = 0.0,
    video_layers: int = VIDEO_LAYERS,
) -> EncodedMedia:
    """Encode the looped face video (VP8) and speech (Opus) once.

    With ``video_layers`` 2 the video is what a browser sends for ``scalabilityMode``
    ``L1T2``: every other frame in an upper layer that no base-layer frame refers to
    (libvpx's two-layer pattern, in error-resilient mode so that the upper layer's
    probability updates do not carry over either).

    Opus is encoded as a browser does (libopus, voice application, 32 kbit/s, in-band FEC
    allowed by the server's answer); ``expected_loss_percent`` plays the loss the browser
    learns from the receiver's reports, which makes libopus add FEC data (LBRR) to packets.
    """
    video: list[bytes] = []
    with av.open(str(y4m)) as src:
        images = [f.to_ndarray(format="yuv420p") for f in src.decode(video=0)]
    enc = av.CodecContext.create("libvpx", "w")
    height, width = images[0].shape[0] * 2 // 3, images[0].shape[1]
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = fractions.Fraction(1, VIDEO_FPS)
    enc.bit_rate = VIDEO_BITRATE_BPS
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    if video_layers == 2:
        enc.options = {**enc.options, **TWO_LAYER_OPTIONS}
    elif video_layers != 1:
        raise ValueError(f"video_layers must be 1 or 2, not {video_layers}")
    gop = int(KEYFRAME_EVERY_S * VIDEO_FPS)
    enc.gop_size = gop
    loop_frames = max(len(images), gop) // gop * gop
    for i in range(loop_frames):
        frame = av.VideoFrame.from_ndarray(images[i % len(images)], format="yuv420p")
        frame.pts = i
        frame.pict_type = (
            av.video.frame.PictureType.I if i % gop == 0 else av.video.frame.PictureType.NONE
        )
        video += [bytes(p) for p in enc.encode(frame)]
    video += [bytes(p) for p in enc.encode(None)]

    pcm, rate = read_wav_s16_mono(wav)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE_HZ)
    whole = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    whole.sample_rate = rate
    pcm48 = np.concatenate([f.to_ndarray().reshape(-1) for f in resampler.resample(whole)])
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format = AUDIO_RATE_HZ, "mono", "s16"
    opus.bit_rate = 32_000
    opus.options = {
        "application": "voip",
        "fec": "1",
        "packet_loss": str(min(100, math.ceil(expected_loss_percent))),
    }
    step = int(AUDIO_PACKET_S * AUDIO_RATE_HZ)
    audio: list[bytes] = []
    for i in range(0, len(pcm48) // step * step, step):
        chunk = av.AudioFrame.from_ndarray(
            pcm48[i : i + step].reshape(1, -1), format="s16", layout="mono"
        )
        chunk.sample_rate = AUDIO_RATE_HZ
        chunk.pts = i
        audio += [bytes(p) for p in opus.encode(chunk)]
    audio += [bytes(p) for p in opus.encode(None)]
    return EncodedMedia(
        tuple(video),
        tuple(audio),
        tuple(sentence_ends_s),
        len(audio) * AUDIO_PACKET_S,
        video_layers,
    )


class PacedPackets(MediaStreamTrack):
    """Replays pre-encoded packets in a loop at their real-time rate."""

    def __init__(
        self,
        kind: str,
        packets: Sequence[bytes],
        interval_s: float,
        clock: fractions.Fraction,
        marks_s: Sequence[float] = (),
    ) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._interval_s = interval_s
        self._clock = clock
        self._ticks = round(interval_s / clock)
        self._i = 0
        self._start: float | None = None
        self._marks_s = sorted(marks_s)
        self._loop_s = len(packets) * interval_s
        self.mark_times: list[float] = []
        """Wall-clock (time.time) moments when a marked offset finished playing."""

    @property
    def sent(self) -> int:
        """Packets (audio) or frames (video) handed to the sender so far."""
        return self._i

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._i * self._interval_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self._packets[self._i % len(self._packets)]
        offset = (self._i % len(self._packets)) * self._interval_s
        for mark in self._marks_s:
            if offset <= mark < offset + self._interval_s:
                self.mark_times.append(time.time() + (mark - offset))
        packet = av.Packet(data)
        packet.pts = self._i * self._ticks
        packet.time_base = self._clock
        self._i += 1
        return packet


def video_track(media: EncodedMedia) -> PacedPackets:
    return PacedPackets("video", media.video, 1 / VIDEO_FPS, VIDEO_CLOCK)


def audio_track(media: EncodedMedia) -> PacedPackets:
    return PacedPackets("audio", media.audio, AUDIO_PACKET_S, AUDIO_CLOCK, media.sentence_ends_s)


class LayeredVp8Encoder(Vp8Encoder):
    """aiortc's VP8 packetiser, writing the temporal layer of each pre-encoded frame (frame
    ``i`` of the loop, known from its pts, is in layer ``i % layers``) into the payload
    descriptor as a browser does (TID, Y, TL0PICIDX; RFC 7741)."""

    def __init__(self, layers: int) -> None:
        super().__init__()
        self._layers = layers
        self._tl0picidx = 0

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        payloads, timestamp = super().pack(packet)
        assert packet.pts is not None and packet.time_base is not None
        layer = round(packet.pts * packet.time_base * VIDEO_FPS) % self._layers
        if layer == 0:
            self._tl0picidx = (self._tl0picidx + 1) % 256
        layered = []
        for payload in payloads:
            descr, data = VpxPayloadDescriptor.parse(payload)
            descr.tl0picidx = self._tl0picidx
            descr.tid = (layer, 1)  # every frame refers to base-layer frames only
            layered.append(bytes(descr) + data)
        return layered, timestamp


def send_video_layers(layers: int) -> None:
    """Make this process's aiortc senders packetise VP8 with ``layers`` temporal layers
    (the load generator plays browsers; idempotent)."""
    if layers == 1:
        return
    stock = aiortc.rtcrtpsender.get_encoder
    original = getattr(stock, "__wrapped__", stock)

    @functools.wraps(original)
    def get_encoder(codec: RTCRtpCodecParameters) -> Encoder:
        if codec.mimeType.lower() == "video/vp8":
            return LayeredVp8Encoder(layers)
        return original(codec)

    aiortc.rtcrtpsender.get_encoder = get_encoder  # type: ignore[assignment]


def add_video_layers_argument(parser: argparse.ArgumentParser) -> None:
    """``--video-layers`` for the tools that play candidates (see :func:`video_layers`)."""
    parser.add_argument(
        "--video-layers",
        type=int,
        choices=(1, 2),
        help=f"VP8 temporal layers the candidates send (2: as a browser asked for L1T2); "
        f"default: as the candidate page asks, {VIDEO_LAYERS}, or 1 on an --uplink-kbps "
        f"below {LAYERS_FROM_KBPS:.0f}",
    )


def video_layers(requested: int | None, uplink_kbps: float | None = None) -> int:
    """The layers asked for, else what the page would send on an uplink of ``uplink_kbps``."""
    if requested is not None:
        return requested
    if uplink_kbps is not None and uplink_kbps < LAYERS_FROM_KBPS:
        return 1
    return VIDEO_LAYERS
