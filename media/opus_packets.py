"""Opus packet framing (RFC 6716 §3.1-3.2): how long a packet is, and the packet that asks a
decoder to conceal a lost one.

A recording that simply leaves a lost packet out has a hole in its audio timeline, and most
players play audio back to back: everything after the hole comes early, and the picture drifts
out of sync with the voice. RFC 7845 §4.1 ("Repairing Gaps in Real-time Streams") tells a muxer
to write, in place of the packets that never came, packets whose Opus frames are zero bytes long
(RFC 6716 §3.2.1) with the TOC byte of the packet before them: the decoder then runs its packet
loss concealment (libopus, which browsers use, extends the voice and fades to silence; FFmpeg's
own Opus decoder writes silence) and the timeline stays whole. Matroska/WebM has no rule against
such packets; each is a one-byte block.
"""

from __future__ import annotations

OPUS_RATE_HZ = 48_000
"""Opus timestamps and durations are in 48 kHz samples, whatever the decoded rate."""
OPUS_MIN_FRAME_SAMPLES = 120
"""2.5 ms, the shortest Opus frame: gaps are whole multiples of it."""
_SILK_SAMPLES = (480, 960, 1920, 2880)  # 10, 20, 40, 60 ms: configs 0-11, by config % 4
_HYBRID_SAMPLES = (480, 960)  # 10, 20 ms: configs 12-15, by config % 2
_CELT_SAMPLES = (120, 240, 480, 960)  # 2.5, 5, 10, 20 ms: configs 16-31, by config % 4
_CODE_MASK = 0x03
_FRAME_COUNT_MASK = 0x3F
_FIRST_HYBRID_CONFIG = 12
_FIRST_CELT_CONFIG = 16


def frame_samples(toc: int) -> int:
    """Samples (48 kHz) in each frame of a packet with this TOC byte."""
    config = toc >> 3
    if config < _FIRST_HYBRID_CONFIG:
        return _SILK_SAMPLES[config % 4]
    if config < _FIRST_CELT_CONFIG:
        return _HYBRID_SAMPLES[config % 2]
    return _CELT_SAMPLES[config % 4]


def packet_samples(packet: bytes) -> int | None:
    """Samples (48 kHz) the packet decodes to, or None if its framing is broken."""
    if not packet:
        return None
    code = packet[0] & _CODE_MASK
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    elif len(packet) < 2:
        return None
    else:
        frames = packet[1] & _FRAME_COUNT_MASK
        if frames == 0:
            return None
    return frames * frame_samples(packet[0])


def concealment_packet(previous: bytes) -> bytes:
    """A packet of one zero-length frame (code 0, RFC 6716 §3.2.2) with the configuration of
    ``previous`` (mode, bandwidth, frame size, mono/stereo): it decodes to one frame of loss
    concealment."""
    return bytes((previous[0] & ~_CODE_MASK & 0xFF,))
