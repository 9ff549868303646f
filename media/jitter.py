"""Jitter buffers for the server's receivers: audio that keeps every packet it received, and
video that says which frames come after a loss.

aiortc's receiver puts each audio packet through ``JitterBuffer(capacity=16, prefetch=4)``,
which hands on a frame only once four more follow it without a hole. A lost packet stalls
it until sixteen packets are waiting; then it drops the oldest *received* ones to make
room, and the 300 ms backlog it built stays for the rest of the call. Simulated over 5,000
packets, 5 % random loss on the network became 25 % of the audio missing (10 %: 44 %):
what reached the recording and the recogniser was cut far more than the network cut it.

:class:`AudioJitterBuffer` hands each packet on as soon as everything before it is there.
A hole is waited for until :data:`REORDER_WINDOW_PACKETS` newer packets have arrived (a
reordered packet comes within that), then skipped: the packets behind it go on at once, in
order, as one :class:`AudioFrames` (the receiver takes one frame per packet it gets; the
tap, ``media.tap``, unpacks the rest). The decoder sees the skipped time as a jump in the
RTP timestamp and conceals it (``media.decoders.OpusReceiveStream``). Analysis and the
recorder order audio by RTP timestamp, so nothing needs a playout delay here.

For video, aiortc's buffer stays as it is (retransmissions fill most holes); when it has to
give frames up it asks the sender for a key frame. :class:`VideoJitterBuffer` marks the next
frame it hands on ``after_loss``: until the next key frame the pictures decode with parts
missing or smeared, so analysis must not read them as "no face" (``media.decoders``). It also
hands on the temporal layer of each VP8 frame (:func:`vp8_temporal_layer`), so that analysis
can decode the base layer alone (``media.decoders.BaseLayerFilter``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

REORDER_WINDOW_PACKETS = 3
"""Newer packets that may arrive before a missing one is given up (60 ms of 20 ms packets)."""
MAX_PENDING_PACKETS = 64
"""Packets held behind a hole at most (more means the window logic failed: flush them)."""
RESTART_DISTANCE_PACKETS = 1_000
"""A sequence-number jump this large in either direction is a restarted stream, not loss."""
VIDEO_CAPACITY_PACKETS = 512
"""aiortc's own video buffer size."""
VIDEO_HOLE_WAIT_S = 3.0
"""How long video waits for a missing packet before going on without it and asking for a key
frame: WebRTC's own limit for an incomplete frame. Retransmissions can take long: with a real
Chromium at 10 % loss one arrived 1.5 s after its NACK; with 0.5 s, Chromium on a 150 kbit/s
uplink never got a whole key frame through (a recording without video)."""
_VP8_START_BIT = 0x10
_VP8_PID_MASK = 0x07
VIDEO_LAYERS_REMEMBERED = 64
"""Frames whose temporal layer the video buffer keeps while they are assembled."""
_SEQ_MOD = 1 << 16
_TIMESTAMP_MOD = 1 << 32


class AudioFrames(JitterFrame):
    """A frame, and the frames that became ready together with it.

    ``following``: ``(RTP timestamp delta from this frame, encoded data)`` for each, in order.
    """

    def __init__(self, data: bytes, timestamp: int, following: list[tuple[int, bytes]]) -> None:
        super().__init__(data, timestamp)
        self.following = following


class AudioJitterBuffer(JitterBuffer):
    """In-order audio packets without waiting for more than a hole needs (see the module).

    Subclasses aiortc's buffer only to take its place in the receiver; none of its state
    is used.
    """

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._next_seq: int | None = None
        self._pending: dict[int, RtpPacket] = {}
        self.lost = 0
        """Packets given up as lost (and those waiting when the stream restarted)."""
        self.late = 0
        """Packets that came after their place was given up, or twice."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Take one depayloaded packet; returns (False, the frames now ready or None)."""
        seq = packet.sequence_number
        if self._next_seq is None:
            self._next_seq = seq
        ahead = (seq - self._next_seq) % _SEQ_MOD
        if ahead >= _SEQ_MOD - RESTART_DISTANCE_PACKETS:  # behind the next expected one
            self.late += 1
            return False, None
        if ahead >= RESTART_DISTANCE_PACKETS:  # a restarted stream: the old one ended
            self.lost += len(self._pending)
            self._pending.clear()
            self._next_seq, ahead = seq, 0
        if seq in self._pending:
            self.late += 1
            return False, None
        self._pending[seq] = packet
        ready = self._take_consecutive()
        if not ready and (
            ahead >= REORDER_WINDOW_PACKETS or len(self._pending) > MAX_PENDING_PACKETS
        ):
            ready = self._skip_hole()
        return False, self._frames(ready)

    def _take_consecutive(self) -> list[RtpPacket]:
        ready: list[RtpPacket] = []
        assert self._next_seq is not None
        while (packet := self._pending.pop(self._next_seq, None)) is not None:
            ready.append(packet)
            self._next_seq = (self._next_seq + 1) % _SEQ_MOD
        return ready

    def _skip_hole(self) -> list[RtpPacket]:
        """Give up the missing packets before the oldest one waiting; hand on what follows."""
        assert self._next_seq is not None
        base = self._next_seq
        first = min(self._pending, key=lambda s: (s - base) % _SEQ_MOD)
        self.lost += (first - base) % _SEQ_MOD
        self._next_seq = first
        return self._take_consecutive()

    @staticmethod
    def _frames(ready: list[RtpPacket]) -> JitterFrame | None:
        if not ready:
            return None
        first, *rest = ready
        base = first.timestamp
        following = [((p.timestamp - base) % _TIMESTAMP_MOD, _data(p)) for p in rest]
        return AudioFrames(_data(first), base, following)


def _data(packet: RtpPacket) -> bytes:
    """The depayloaded data aiortc's receiver stored on the packet."""
    return bytes(packet._data)  # type: ignore[attr-defined]


class VideoJitterBuffer(JitterBuffer):
    """aiortc's video buffer, marking the first frame after frames were given up, and giving
    up a hole after :data:`VIDEO_HOLE_WAIT_S` (aiortc waits for 512 packets, which at the
    50 kbit/s a browser sends on a weak uplink is more than a minute without video)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity=VIDEO_CAPACITY_PACKETS, is_video=True)
        self._clock = clock
        self._lost_since_frame = False
        self._blocked_since: float | None = None
        self.losses = 0
        """Times frames were given up (each followed by a key frame request)."""
        self._layers: dict[int, tuple[int, bool]] = {}
        """(temporal layer, layer sync) of VP8 frames being assembled, by RTP timestamp."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self._note_layer(packet)
        pli_flag, frame = super().add(packet)
        if frame is not None or not self._waits_for_a_hole(packet.sequence_number):
            self._blocked_since = None
        elif self._blocked_since is None:
            self._blocked_since = self._clock()
        elif self._clock() - self._blocked_since >= VIDEO_HOLE_WAIT_S and self._skip_hole():
            pli_flag = True
            frame = self._remove_frame(packet.sequence_number)
        if pli_flag:  # aiortc asks for a key frame exactly when it dropped packets
            self._lost_since_frame = True
            self.losses += 1
        if frame is None:
            return pli_flag, frame
        layer = self._layers.pop(frame.timestamp, None)
        if self._lost_since_frame or layer is not None:
            frame = MarkedFrame(
                frame.data,
                frame.timestamp,
                after_loss=self._lost_since_frame,
                temporal_layer=layer[0] if layer else None,
                layer_sync=layer[1] if layer else False,
            )
            self._lost_since_frame = False
        return pli_flag, frame

    def _note_layer(self, packet: RtpPacket) -> None:
        """Remember the temporal layer a VP8 frame's first packet names, by RTP timestamp."""
        if not _vp8_frame_start(packet):
            return
        layer = vp8_temporal_layer(packet.payload)
        if layer is None:
            return
        if len(self._layers) >= VIDEO_LAYERS_REMEMBERED:  # frames given up never claim theirs
            del self._layers[next(iter(self._layers))]
        self._layers[packet.timestamp] = layer

    def _contiguous(self) -> int:
        """Packets present from the origin on, before the first missing one."""
        assert self._origin is not None
        count = 0
        while count < self._capacity and self._packets[(self._origin + count) % self._capacity]:
            count += 1
        return count

    def _waits_for_a_hole(self, newest_seq: int) -> bool:
        """Whether packets wait behind a missing one (not merely for the rest of a frame)."""
        if self._origin is None:
            return False
        return (newest_seq - self._origin) % _SEQ_MOD >= self._contiguous()

    def _skip_hole(self) -> bool:
        """Drop everything before the first frame start that follows the first hole (a VP8
        packet that says so, or a packet after one with the marker bit, which ends a frame);
        False if none is there yet.

        A frame missing its start would reach the decoder and the recording as garbage; a
        frame missing altogether only breaks the pictures that refer to it until the key
        frame asked for, which analysis skips (``media.decoders.VideoDecodeWorker``).
        """
        assert self._origin is not None
        for k in range(self._contiguous() + 1, self._capacity):
            previous = self._packets[(self._origin + k - 1) % self._capacity]
            current = self._packets[(self._origin + k) % self._capacity]
            if current is None:
                continue
            if (previous is not None and previous.marker) or _vp8_frame_start(current):
                self.remove(k)
                self._blocked_since = None
                return True
        return False


def _vp8_frame_start(packet: RtpPacket) -> bool:
    """The VP8 payload descriptor (RFC 7741) of ``packet`` starts partition 0: a new frame."""
    payload = packet.payload
    return bool(payload) and payload[0] & _VP8_START_BIT != 0 and payload[0] & _VP8_PID_MASK == 0


def vp8_temporal_layer(payload: bytes) -> tuple[int, bool] | None:
    """(TID, Y) of a VP8 payload descriptor (RFC 7741) that carries them, else None.

    A sender using temporal scalability (WebRTC ``scalabilityMode`` ``L1T2``/``L1T3``) puts
    each frame in a layer: base-layer frames (TID 0) never refer to the others, so a receiver
    may decode the base layer alone; Y marks a frame that refers to base-layer frames only.
    """
    try:
        descriptor, _ = VpxPayloadDescriptor.parse(payload)
    except ValueError:  # truncated: no layer to read
        return None
    if descriptor.tid is None:
        return None
    tid, sync = descriptor.tid
    return tid, bool(sync)


class MarkedFrame(JitterFrame):
    """A video frame with what the buffer learnt about it (see the module)."""

    def __init__(
        self,
        data: bytes,
        timestamp: int,
        *,
        after_loss: bool,
        temporal_layer: int | None,
        layer_sync: bool,
    ) -> None:
        super().__init__(data, timestamp)
        self.after_loss = after_loss
        """The first frame after frames were given up."""
        self.temporal_layer = temporal_layer
        self.layer_sync = layer_sync
