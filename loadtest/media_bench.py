"""CPU the media process spends per live candidate, on our own receive path.

Feeds the load test's pre-encoded media (:func:`loadtest.candidate.client.build_media`: VP8 640×480
at 15 fps, Opus in 20 ms packets), packetised as RTP the way aiortc's sender does it, into
real aiortc ``RTCRtpReceiver`` objects, paced in real time, for N candidates at once. Everything
after the network is the live server's code: aiortc's jitter buffer and depayloading, the
encoded-frame tap and the receiver set-up of :class:`media.peer.LivePeer`, decoding, the
analysis fan-out (:class:`media.fanout.AnalysisFanout`, sinks that only count) and the
answer recorder writing encrypted files (:class:`media.recorder.AnswerRecorder` into
:class:`server.security.stream.EncryptedFile`), with answers of ``--segment-s`` seconds.
Not included: ICE, DTLS/SRTP and RTP parsing (the transport is a stub), analyzer IPC.

Reported: process CPU time (all threads, ``time.process_time``) per second of media per
candidate, as % of one core, and how it splits over threads (event loop, decoder threads,
recorder writers, the thread pool; ``native`` is CPU of threads without Python, e.g. codec
worker threads), plus what reached analysis and the recordings, to check nothing was lost.

    python -m loadtest.media_bench --candidates 8 --seconds 30
    python -m loadtest.media_bench --candidates 8 --seconds 30 --repeat 3 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import RTCRtpReceiver
from aiortc.codecs.base import Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

from loadtest.candidate.packets import (
    AUDIO_CLOCK,
    AUDIO_PACKET_S,
    VIDEO_CLOCK,
    VIDEO_FPS,
    EncodedMedia,
    LayeredVp8Encoder,
    add_video_layers_argument,
    video_layers,
)
from media.fanout import AnalysisFanout
from media.peer import LivePeer
from media.recorder import AnswerRecorder, SegmentInfo

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".test-artifacts" / "media-bench"
WARMUP_S = 3.0
OPUS_PT, VP8_PT = 111, 96
OPUS = RTCRtpCodecParameters(
    mimeType="audio/opus", clockRate=48000, channels=2, payloadType=OPUS_PT
)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=VP8_PT)
VIDEO_TICKS = round((1 / VIDEO_FPS) / VIDEO_CLOCK)
AUDIO_TICKS = round(AUDIO_PACKET_S / AUDIO_CLOCK)


class _StubTransport:
    """The little of ``RTCDtlsTransport`` a receiver touches when no packet is sent."""

    state = "connected"
    _stats_id = "bench-transport"

    def _register_rtp_receiver(self, receiver: Any, parameters: Any) -> None:
        pass

    def _unregister_rtp_receiver(self, receiver: Any) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        pass


@dataclass(frozen=True)
class RtpMedia:
    """One loop of the media as RTP payloads: per frame, the payloads of its packets."""

    video: tuple[tuple[bytes, ...], ...]
    audio: tuple[bytes, ...]


def packetize(media: EncodedMedia) -> RtpMedia:
    vp8 = LayeredVp8Encoder(media.video_layers) if media.video_layers > 1 else Vp8Encoder()
    video = _rtp_payloads(vp8, media.video, VIDEO_TICKS, VIDEO_CLOCK)
    audio = _rtp_payloads(OpusEncoder(), media.audio, AUDIO_TICKS, AUDIO_CLOCK)
    return RtpMedia(video, tuple(payloads[0] for payloads in audio))  # Opus: one packet a frame


def _rtp_payloads(
    encoder: Encoder, frames: Sequence[bytes], ticks: int, clock: Fraction
) -> tuple[tuple[bytes, ...], ...]:
    """Per encoded frame, the payloads of the RTP packets ``encoder`` splits it into."""
    payloads = []
    for i, data in enumerate(frames):
        packet = av.Packet(data)
        packet.pts, packet.time_base = i * ticks, clock
        frame_payloads, _ = encoder.pack(packet)
        payloads.append(tuple(frame_payloads))
    return tuple(payloads)


@dataclass
class Counts:
    audio_samples: int = 0
    audio_chunks: int = 0
    video_samples: int = 0
    video_shape: tuple[int, ...] = ()
    segments: list[SegmentInfo] = field(default_factory=list)


class Candidate:
    """One candidate's receivers, peer, fan-out and recorder, fed from the loop of RTP."""

    def __init__(self, index: int, rtp: RtpMedia, recordings: Path, opener: Any) -> None:
        self.index = index
        self.rtp = rtp
        self.recordings = recordings
        self.counts = Counts()
        self.recorder = AnswerRecorder(name=f"bench{index}", open_file=opener)
        self.fanout = AnalysisFanout(self._on_audio, self._on_video, name=f"bench{index}")
        self.peer = LivePeer(
            (), self.recorder.on_frame, lambda state: None, f"bench{index}", self.fanout
        )
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self._segment = 0

    def _on_audio(self, t: float, samples: npt.NDArray[np.float32]) -> None:
        self.counts.audio_samples += len(samples)
        self.counts.audio_chunks += 1

    def _on_video(self, t: float, rgb: npt.NDArray[np.uint8]) -> None:
        self.counts.video_samples += 1
        self.counts.video_shape = rgb.shape

    async def start(self, start_at: float) -> None:
        for kind, codec, pt, ssrc in (
            ("audio", OPUS, OPUS_PT, 1000 + self.index),
            ("video", VP8, VP8_PT, 5000 + self.index),
        ):
            receiver = RTCRtpReceiver(kind, _StubTransport())  # type: ignore[arg-type]
            track = RemoteStreamTrack(kind=kind)
            receiver._track = track
            self.peer.prepare_receiver(receiver, kind)
            await receiver.receive(
                RTCRtpReceiveParameters(
                    codecs=[codec],
                    encodings=[RTCRtpDecodingParameters(ssrc=ssrc, payloadType=pt)],
                )
            )
            self.peer.consume(track)
            self.receivers[kind] = receiver
        self.tasks = [
            asyncio.create_task(self._feed_audio(start_at, 1000 + self.index)),
            asyncio.create_task(self._feed_video(start_at, 5000 + self.index)),
        ]

    def start_segment(self) -> None:
        self.recorder.start_segment(self.recordings / f"c{self.index}-{self._segment}.webm")
        self._segment += 1

    async def stop_segment(self) -> None:
        info = await self.recorder.stop_segment()
        if info is not None:
            self.counts.segments.append(info)

    async def _feed_audio(self, start_at: float, ssrc: int) -> None:
        receiver = self.receivers["audio"]
        payloads = self.rtp.audio
        i = 0
        while True:
            await _sleep_until(start_at + i * AUDIO_PACKET_S)
            packet = RtpPacket(
                payload_type=OPUS_PT,
                sequence_number=i & 0xFFFF,
                timestamp=(i * AUDIO_TICKS) & 0xFFFFFFFF,
                ssrc=ssrc,
                payload=payloads[i % len(payloads)],
                marker=0,
            )
            await receiver._handle_rtp_packet(packet, arrival_time_ms=int(time.time() * 1000))
            i += 1

    async def _feed_video(self, start_at: float, ssrc: int) -> None:
        receiver = self.receivers["video"]
        frames = self.rtp.video
        i = seq = 0
        while True:
            await _sleep_until(start_at + i / VIDEO_FPS)
            payloads = frames[i % len(frames)]
            for n, payload in enumerate(payloads):
                packet = RtpPacket(
                    payload_type=VP8_PT,
                    sequence_number=seq & 0xFFFF,
                    timestamp=(i * VIDEO_TICKS) & 0xFFFFFFFF,
                    ssrc=ssrc,
                    payload=payload,
                    marker=int(n == len(payloads) - 1),
                )
                seq += 1
                await receiver._handle_rtp_packet(packet, arrival_time_ms=int(time.time() * 1000))
            i += 1

    async def aclose(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for receiver in self.receivers.values():
            await receiver.stop()
        await self.stop_segment()
        await self.fanout.aclose()
        await self.peer.aclose()
        await self.recorder.aclose()


async def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _thread_group(name: str) -> str:
    if name == "MainThread":
        return "event loop"
    for key in ("video-decoder", "audio-decoder", "analysis-decoder"):
        if key in name:
            return key
    if name.endswith("-writer"):
        return "recorder writer"
    if name.startswith(("asyncio_", "uvloop_", "ThreadPoolExecutor")):
        return "thread pool"
    return "other python"


def _thread_cpu() -> dict[int, tuple[str, float]]:
    out = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        with contextlib.suppress(OSError, ProcessLookupError):
            clock = time.pthread_getcpuclockid(thread.ident)
            out[thread.ident] = (thread.name, time.clock_gettime(clock))
    return out


async def run_once(
    candidates: int,
    seconds: float,
    segment_s: float,
    rtp: RtpMedia,
    opener_factory: Callable[[], Any],
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        recordings = Path(tmp)
        opener = opener_factory()
        cands = [Candidate(i, rtp, recordings, opener) for i in range(candidates)]
        start_at = time.monotonic() + 0.2
        for i, cand in enumerate(cands):
            # stagger the candidates over one frame interval, as real ones are
            await cand.start(start_at + i / (VIDEO_FPS * candidates))
            cand.start_segment()
        await asyncio.sleep(WARMUP_S)
        threads0, cpu0, wall0 = _thread_cpu(), time.process_time(), time.monotonic()
        counts0 = [(c.counts.audio_samples, c.counts.video_samples) for c in cands]
        skipped0 = sum(c.fanout.frames_skipped for c in cands)
        next_rotation = wall0 + segment_s
        while (now := time.monotonic()) < wall0 + seconds:
            await asyncio.sleep(min(0.2, wall0 + seconds - now))
            if time.monotonic() >= next_rotation:
                next_rotation += segment_s
                for cand in cands:
                    await cand.stop_segment()
                    cand.start_segment()
        threads1, cpu1, wall1 = _thread_cpu(), time.process_time(), time.monotonic()
        counts1 = [(c.counts.audio_samples, c.counts.video_samples) for c in cands]
        skipped1 = sum(c.fanout.frames_skipped for c in cands)
        for cand in cands:
            await cand.aclose()
    elapsed = wall1 - wall0
    per_core = 100.0 / (elapsed * candidates)
    groups: dict[str, float] = defaultdict(float)
    for ident, (name, t1) in threads1.items():
        if ident in threads0 and threads0[ident][0] == name:
            groups[_thread_group(name)] += t1 - threads0[ident][1]
        else:
            groups[_thread_group(name)] += t1  # started during the window
    total = cpu1 - cpu0
    groups["native (no Python)"] = max(0.0, total - sum(groups.values()))
    segs = [s for c in cands for s in c.counts.segments]
    return {
        "candidates": candidates,
        "seconds": round(elapsed, 2),
        "cpu_pct_per_candidate": round(total * per_core, 3),
        "by_thread_pct_per_candidate": {
            k: round(v * per_core, 3) for k, v in sorted(groups.items())
        },
        "analysis_audio_hz_per_candidate": round(
            sum(b[0] - a[0] for a, b in zip(counts0, counts1, strict=True)) / elapsed / candidates
        ),
        "analysis_video_fps_per_candidate": round(
            sum(b[1] - a[1] for a, b in zip(counts0, counts1, strict=True)) / elapsed / candidates,
            2,
        ),
        "analysis_video_shape": list(cands[0].counts.video_shape),
        "video_not_decoded_fps_per_candidate": round(
            (skipped1 - skipped0) / elapsed / candidates, 2
        ),
        "recorded_segments": len(segs),
        "recorded_video_fps": round(
            sum(s.video_frames for s in segs) / max(1e-9, sum(s.duration_s for s in segs)), 2
        ),
        "recorded_audio_pps": round(
            sum(s.audio_packets for s in segs) / max(1e-9, sum(s.duration_s for s in segs)), 2
        ),
        "dropped_frames": sum(c.recorder.dropped_frames for c in cands),
        "load_average": os.getloadavg(),
    }


def _encrypting_opener() -> Any:
    from server.security.encrypted_media import recording_opener
    from server.security.keyring import KeyRing

    return recording_opener(KeyRing({"bench": os.urandom(32)}, "bench"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per run")
    parser.add_argument(
        "--segment-s", type=float, default=20.0, help="length of one recorded answer"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--plain-files", action="store_true", help="record without encryption")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    add_video_layers_argument(parser)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    from loadtest.candidate.client import build_media

    rtp = packetize(build_media(args.cache, video_layers=video_layers(args.video_layers)))
    opener_factory: Callable[[], Any] = (lambda: None) if args.plain_files else _encrypting_opener
    if args.loop == "uvloop":
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    else:
        runner = asyncio.run
    results = []
    for _ in range(args.repeat):
        result = runner(
            run_once(args.candidates, args.seconds, args.segment_s, rtp, opener_factory)
        )
        results.append(result)
        print(json.dumps(result), flush=True)
    totals = sorted(r["cpu_pct_per_candidate"] for r in results)
    summary = {"median_cpu_pct_per_candidate": totals[len(totals) // 2], "runs": results}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"median: {summary['median_cpu_pct_per_candidate']} % of a core per candidate",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
