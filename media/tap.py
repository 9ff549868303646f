"""Tap the encoded frames an aiortc receiver reassembles, before they are decoded.

aiortc's ``RTCRtpReceiver`` depayloads RTP packets, reassembles whole encoded frames
in its jitter buffer and puts ``(codec, JitterFrame)`` on a private ``queue.Queue``
read by its decoder thread. :func:`install_tap` swaps that queue for a subclass whose
``put`` also hands an :class:`EncodedFrame` to a callback, so a recorder can remux
VP8/Opus without decoding or re-encoding anything.

Given a :class:`FrameDecoder`, the tap also takes over decoding: the encoded frames go
to it instead of aiortc's decoder thread, which then only sees the end-of-stream marker
(and ends the receiver's track on it). Analysis decodes the way it needs
(``media.decoders``), and a receiver nobody analyses decodes nothing (:data:`DISCARD`).

An audio receiver's jitter buffer is replaced by :class:`media.jitter.AudioJitterBuffer`,
which hands on every packet it received instead of dropping some behind each loss; the
frames it releases together reach the callback and the decoder one by one. A video
receiver's gets :class:`media.jitter.VideoJitterBuffer`, which marks the frames that come
after a loss (:attr:`EncodedFrame.after_loss`).

This is the only module that touches aiortc private attributes; it checks them when
the tap is installed and raises :class:`RuntimeError` if aiortc changed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.jitter import AudioFrames, AudioJitterBuffer, VideoJitterBuffer

logger = logging.getLogger(__name__)

MediaKind = Literal["audio", "video"]

# Name-mangled private attributes of aiortc 1.16 RTCRtpReceiver that the tap relies on.
_DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"
_DECODER_ERROR_ATTR = "_RTCRtpReceiver__decoder_error"
_REMOTE_STREAMS_ATTR = "_RTCRtpReceiver__remote_streams"
_RTX_SSRC_ATTR = "_RTCRtpReceiver__rtx_ssrc"
_JITTER_BUFFER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_SEND_PLI_ATTR = "_send_rtcp_pli"

_VP8_START_CODE = b"\x9d\x01\x2a"
_VP8_KEYFRAME_HEADER_BYTES = 10
_H264_IDR_NAL_TYPE = 5
_H264_NAL_TYPE_MASK = 0x1F


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One encoded media frame as the receiver reassembled it (already depayloaded)."""

    kind: MediaKind
    """``"audio"`` or ``"video"``."""
    codec: str
    """Lower-case codec name from the SDP: ``"vp8"``, ``"opus"``, ``"h264"``, ..."""
    timestamp: int
    """RTP timestamp in ``clock_rate_hz`` ticks, unwrapped by aiortc to start at 0."""
    clock_rate_hz: int
    """RTP clock rate (90 000 for video, 48 000 for Opus)."""
    data: bytes
    """The encoded frame: a VP8 frame, an Opus packet or an H.264 Annex B access unit."""
    keyframe: bool
    """True for a frame that decodes on its own (always True for audio)."""
    ssrc: int | None
    """SSRC of the media stream it came from, if known."""
    after_loss: bool = False
    """Video: frames before this one were given up (it may not decode cleanly)."""
    temporal_layer: int | None = None
    """VP8 with temporal layers: the frame's layer (0 = base); None without layers."""
    layer_sync: bool = False
    """VP8: the frame refers to base-layer frames only (RFC 7741's Y bit)."""

    @property
    def media_time_s(self) -> float:
        """The RTP timestamp in seconds."""
        return self.timestamp / self.clock_rate_hz


def is_vp8_keyframe(data: bytes) -> bool:
    """True if ``data`` is a VP8 key frame (RFC 6386 section 9.1)."""
    return (
        len(data) >= _VP8_KEYFRAME_HEADER_BYTES
        and data[0] & 0x01 == 0
        and data[3:6] == _VP8_START_CODE
    )


def vp8_keyframe_size(data: bytes) -> tuple[int, int] | None:
    """Width and height in pixels from a VP8 key frame header, or None if not a key frame."""
    if not is_vp8_keyframe(data):
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


class FrameDecoder(Protocol):
    """Takes a tapped receiver's encoded frames instead of aiortc's decoder thread."""

    def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        """One encoded frame, after the tap's callback; on the event loop, must not block."""

    def close(self) -> None:
        """The receiver stopped: no more frames. On the event loop, must not block."""


class _Discard:
    def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        pass

    def close(self) -> None:
        pass


DISCARD: FrameDecoder = _Discard()
"""A :class:`FrameDecoder` that decodes nothing (nobody uses the decoded media)."""


def is_h264_keyframe(data: bytes) -> bool:
    """True if an Annex B access unit contains an IDR slice."""
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        if data[start + 3] & _H264_NAL_TYPE_MASK == _H264_IDR_NAL_TYPE:
            return True
        start = data.find(b"\x00\x00\x01", start + 3)
    return False


def _is_keyframe(kind: str, codec: str, data: bytes) -> bool:
    if kind == "audio":
        return True
    if codec == "vp8":
        return is_vp8_keyframe(data)
    if codec == "h264":
        return is_h264_keyframe(data)
    return False


class _TapQueue(queue.Queue[Any]):
    """The receiver's decoder queue, also handing each frame to ``on_frame``."""

    def __init__(
        self,
        kind: MediaKind,
        on_frame: Callable[[EncodedFrame], None],
        remote_streams: dict[int, Any],
        rtx_ssrc: dict[int, int],
        decoder: FrameDecoder | None,
    ) -> None:
        super().__init__()
        self._kind: MediaKind = kind
        self._on_frame = on_frame
        self._decoder = decoder
        # Both dicts are owned and mutated in place by the receiver.
        self._remote_streams = remote_streams
        self._rtx_ssrc = rtx_ssrc
        self._ssrc_cache_key = -1
        self._ssrc: int | None = None
        self._callback_failed = False

    @property
    def media_ssrc(self) -> int | None:
        """SSRC of the most recently seen media (non-RTX) stream."""
        key = len(self._remote_streams) + len(self._rtx_ssrc)
        if key != self._ssrc_cache_key:
            self._ssrc_cache_key = key
            media = [s for s in self._remote_streams if s not in self._rtx_ssrc]
            self._ssrc = media[-1] if media else None
        return self._ssrc

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Hand ``item`` to the tap, then to the decoder (ours, or aiortc's thread)."""
        if item is not None and isinstance(item[1], AudioFrames):
            for one in _unpacked(item[1]):
                self._put_one((item[0], one), block, timeout)
        else:
            self._put_one(item, block, timeout)

    def _put_one(self, item: Any, block: bool, timeout: float | None) -> None:
        decoder = self._decoder
        if item is None:
            if decoder is not None:
                self._guarded(decoder.close)
        else:
            frame = self._tap(item)
            if decoder is not None:
                if frame is not None:
                    self._guarded(decoder.push, item[0], frame)
                return
        super().put(item, block, timeout)

    def _guarded(self, call: Callable[..., None], *args: Any) -> None:
        try:
            call(*args)
        except Exception:
            self._failed()

    def _failed(self) -> None:
        """Never break aiortc's receive path; log the first failure only (in an except)."""
        if not self._callback_failed:
            self._callback_failed = True
            logger.exception("encoded-frame tap (%s) failed; further errors muted", self._kind)

    def _tap(self, item: Any) -> EncodedFrame | None:
        try:
            codec, jitter_frame = item
            name = str(codec.name).lower()
            data = bytes(jitter_frame.data)
            frame = EncodedFrame(
                kind=self._kind,
                codec=name,
                timestamp=int(jitter_frame.timestamp),
                clock_rate_hz=int(codec.clockRate),
                data=data,
                keyframe=_is_keyframe(self._kind, name, data),
                ssrc=self.media_ssrc,
                after_loss=getattr(jitter_frame, "after_loss", False),
                temporal_layer=getattr(jitter_frame, "temporal_layer", None),
                layer_sync=getattr(jitter_frame, "layer_sync", False),
            )
        except Exception:
            self._failed()
            return None
        self._guarded(self._on_frame, frame)
        return frame


def _unpacked(frames: AudioFrames) -> list[JitterFrame]:
    """The frames an :class:`AudioFrames` carries, each with its (receiver-mapped) time."""
    base = frames.timestamp
    return [JitterFrame(frames.data, base)] + [
        JitterFrame(data, base + delta) for delta, data in frames.following
    ]


def _private(receiver: RTCRtpReceiver, name: str, expected: type) -> Any:
    value = getattr(receiver, name, None)
    if not isinstance(value, expected):
        raise RuntimeError(
            f"aiortc internals changed: RTCRtpReceiver.{name} is {type(value).__name__}, "
            f"expected {expected.__name__}; media.tap supports aiortc 1.16"
        )
    return value


def install_tap(
    receiver: RTCRtpReceiver,
    kind: str,
    on_frame: Callable[[EncodedFrame], None],
    decoder: FrameDecoder | None = None,
) -> None:
    """Make ``receiver`` call ``on_frame`` (on the event loop) for every encoded frame.

    Call after ``setRemoteDescription`` and before the connection starts receiving
    (aiortc starts the decoder thread in ``RTCRtpReceiver.receive``). ``on_frame`` must
    be cheap and must not block; exceptions it raises are logged, not propagated.

    ``decoder``: None leaves decoding to aiortc (decoded frames arrive on the receiver's
    track); otherwise every frame goes to ``decoder.push`` after ``on_frame`` and aiortc
    decodes nothing (its track only ends, when the receiver stops and ``decoder.close``
    is called). Exceptions the decoder raises are logged, not propagated.

    Raises:
        ValueError: ``kind`` is not ``"audio"`` or ``"video"``.
        RuntimeError: aiortc internals changed, the decoder already started, or the
            receiver is already tapped.
    """
    if kind not in ("audio", "video"):
        raise ValueError(f"kind must be 'audio' or 'video', not {kind!r}")
    media_kind: MediaKind = "audio" if kind == "audio" else "video"
    current = _private(receiver, _DECODER_QUEUE_ATTR, queue.Queue)
    if isinstance(current, _TapQueue):
        raise RuntimeError("a tap is already installed on this receiver")
    if not hasattr(receiver, _DECODER_THREAD_ATTR):
        raise RuntimeError(
            f"aiortc internals changed: RTCRtpReceiver.{_DECODER_THREAD_ATTR} is missing"
        )
    if getattr(receiver, _DECODER_THREAD_ATTR) is not None:
        raise RuntimeError(
            "the receiver's decoder thread already started: install the tap right after "
            "setRemoteDescription, before the connection starts receiving"
        )
    _private(receiver, _DECODER_ERROR_ATTR, threading.Event)
    if not callable(getattr(receiver, _SEND_PLI_ATTR, None)):
        raise RuntimeError(f"aiortc internals changed: RTCRtpReceiver.{_SEND_PLI_ATTR} is missing")
    if not current.empty():
        raise RuntimeError("the receiver's decoder queue is not empty; install the tap earlier")
    _private(receiver, _JITTER_BUFFER_ATTR, JitterBuffer)
    buffer = AudioJitterBuffer() if media_kind == "audio" else VideoJitterBuffer()
    setattr(receiver, _JITTER_BUFFER_ATTR, buffer)
    tap_queue = _TapQueue(
        media_kind,
        on_frame,
        remote_streams=_private(receiver, _REMOTE_STREAMS_ATTR, dict),
        rtx_ssrc=_private(receiver, _RTX_SSRC_ATTR, dict),
        decoder=decoder,
    )
    setattr(receiver, _DECODER_QUEUE_ATTR, tap_queue)


def decode_error_reporter(receiver: RTCRtpReceiver) -> Callable[[], None]:
    """A function for a :class:`FrameDecoder` to call (from any thread) when a frame fails
    to decode: the receiver then asks the sender for a key frame (RTCP PLI) with its next
    video packet, exactly as when aiortc's own decoder fails.

    Raises:
        RuntimeError: aiortc internals changed.
    """
    event: threading.Event = _private(receiver, _DECODER_ERROR_ATTR, threading.Event)
    return event.set


async def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Ask the remote sender for a key frame (RTCP PLI); a no-op before any media arrived.

    Raises:
        RuntimeError: no tap is installed on ``receiver``.
    """
    tap_queue = getattr(receiver, _DECODER_QUEUE_ATTR, None)
    if not isinstance(tap_queue, _TapQueue):
        raise RuntimeError("request_keyframe needs a receiver with install_tap() applied")
    ssrc = tap_queue.media_ssrc
    if ssrc is None:
        return
    send_pli: Callable[[int], Any] = getattr(receiver, _SEND_PLI_ATTR)
    await send_pli(ssrc)
