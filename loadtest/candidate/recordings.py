"""What the server recorded of each synthetic candidate, downloaded and decoded.

After a load level (``--check-recordings``), every candidate's interview is read back through
the staff API: its recordings (``GET /api/interviews/{id}``, then each signed
``recording_urls`` entry, decrypted by the server) are decoded with PyAV, and what decodes is
set against what the candidate sent. ``audio_completeness`` is decoded audio seconds ÷ seconds
of audio sent (1.0: the timeline is whole); audio is never retransmitted, so the recorder
writes each lost packet as a one-byte packet the player conceals (``media.opus_packets``):
``audio_received`` counts only the audio decoded from packets that came (network loss shows
there). ``video_completeness`` is the same for video frames (NACK retransmissions recover lost
video packets). Packets that fail to decode count in ``decode_errors``.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import av

from loadtest.candidate.packets import AUDIO_PACKET_S
from loadtest.sampling import CandidateRun
from loadtest.target import Api

SETTLE_TIMEOUT_S = 20.0
"""How long the server may take to close and store the last recording of a candidate."""
SETTLE_POLL_S = 1.0
CONCEALMENT_PACKET_BYTES = 1
"""An Opus packet of a TOC byte alone: audio lost on the network, concealed by the player."""


@dataclass
class Decoded:
    audio_s: float = 0.0
    audio_concealed_s: float = 0.0
    video_frames: int = 0
    errors: int = 0


def decode(data: bytes) -> Decoded:
    """Decoded audio seconds and video frames of one WebM recording (blocking: a thread).

    Packet by packet, as a player does: a packet that fails to decode (a video frame whose
    reference never arrived) counts in ``errors`` and decoding goes on with the next one.
    """
    out = Decoded()
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for packet in container.demux():
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    out.errors += 1
                    continue
                for frame in frames:
                    if isinstance(frame, av.AudioFrame):
                        out.audio_s += frame.samples / frame.sample_rate
                        if packet.size == CONCEALMENT_PACKET_BYTES:
                            out.audio_concealed_s += frame.samples / frame.sample_rate
                    else:
                        out.video_frames += 1
    except av.FFmpegError:  # the file itself is unreadable
        out.errors += 1
    return out


async def _settled_answers(staff: Api, interview_id: str) -> list[dict[str, Any]]:
    """The interview's answers once their recordings stop changing (or the timeout)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    previous: list[Any] | None = None
    while True:
        body = await staff("GET", f"/api/interviews/{interview_id}")
        answers: list[dict[str, Any]] = body.get("answers", [])
        seen = [r["id"] for a in answers for r in a.get("recordings", [])]
        if (seen and seen == previous) or time.monotonic() > deadline:
            return answers
        previous = seen
        await asyncio.sleep(SETTLE_POLL_S)


async def check_one(staff: Api, run: CandidateRun) -> dict[str, Any] | None:
    """The recording check of one candidate (None if it never streamed)."""
    if not run.interview_id or run.connected_at is None:
        return None
    answers = await _settled_answers(staff, run.interview_id)
    total = Decoded()
    segments = 0
    for answer in answers:
        for url in answer.get("recording_urls", []):
            parts = urlsplit(url)
            async with staff.http.get(f"{staff.base}{parts.path}?{parts.query}") as resp:
                resp.raise_for_status()
                data = await resp.read()
            one = await asyncio.to_thread(decode, data)
            segments += 1
            total.audio_s += one.audio_s
            total.audio_concealed_s += one.audio_concealed_s
            total.video_frames += one.video_frames
            total.errors += one.errors
    audio_sent_s = sum(t.sent for t in run.sent if t.kind == "audio") * AUDIO_PACKET_S
    video_sent = sum(t.sent for t in run.sent if t.kind == "video")
    return {
        "segments": segments,
        "audio_s": round(total.audio_s, 2),
        "audio_sent_s": round(audio_sent_s, 2),
        "audio_completeness": round(total.audio_s / audio_sent_s, 4) if audio_sent_s else None,
        "audio_concealed_s": round(total.audio_concealed_s, 2),
        "audio_received": (
            round((total.audio_s - total.audio_concealed_s) / audio_sent_s, 4)
            if audio_sent_s
            else None
        ),
        "video_frames": total.video_frames,
        "video_frames_sent": video_sent,
        "video_completeness": round(total.video_frames / video_sent, 4) if video_sent else None,
        "decode_errors": total.errors,
    }


async def check_recordings(staff: Api, runs: Sequence[CandidateRun]) -> list[dict[str, Any] | None]:
    """:func:`check_one` for every candidate, one after the other (downloads are large)."""
    return [await check_one(staff, run) for run in runs]


def recordings_summary(checks: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """The worst candidate's completeness and all decode errors."""
    done = [c for c in checks if c is not None]
    audio = [c["audio_completeness"] for c in done if c["audio_completeness"] is not None]
    received = [c["audio_received"] for c in done if c["audio_received"] is not None]
    video = [c["video_completeness"] for c in done if c["video_completeness"] is not None]
    return {
        "checked": len(done),
        "audio_completeness_min": min(audio, default=None),
        "audio_received_min": min(received, default=None),
        "video_completeness_min": min(video, default=None),
        "decode_errors": sum(c["decode_errors"] for c in done),
    }
