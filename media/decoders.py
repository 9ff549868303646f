"""Decoders for analysis: Opus straight to 16 kHz mono, video on one worker thread.

Left alone, aiortc decodes every received frame on a decoder thread per receiver: Opus to
48 kHz stereo (which analysis then resampled to 16 kHz mono) and every video frame, each
handed to the event loop as a task of its own. The recorder needs none of it (it remuxes the
encoded frames, see ``media.recorder``), so the tap hands the encoded frames to these
decoders instead (``media.tap.install_tap(..., decoder=...)``):

* :class:`LibopusDecoder` asks libopus to decode straight to 16 kHz mono float32, which it
  does in about a third of the time of a 48 kHz stereo decode plus resampling. It uses the
  libopus that PyAV's wheel bundles (or the system's) through ctypes, without releasing
  the GIL: a 20 ms packet takes ~20 µs, less than handing it to a thread would.
  Without a loadable libopus, :class:`MonoOpusDecoder` (FFmpeg's wrapper, 48 kHz mono) and
  a resampler give the same audio at a higher cost.
* :class:`VideoDecodeWorker` decodes with aiortc's own decoder (libvpx through PyAV) on
  one thread per receiver and gives each decoded frame to a callback on that thread,
  which samples and downscales it there (``media.fanout``): only the few frames analysis
  takes ever reach the event loop. From a sender with temporal layers (VP8 ``L1T2``)
  it decodes only the base layer while that alone is
  frequent enough for analysis (:class:`BaseLayerFilter`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fractions
import functools
import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from aiortc.codecs import get_decoder
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.tap import EncodedFrame

logger = logging.getLogger(__name__)

OPUS_MAX_PACKET_S = 0.12
"""An Opus packet holds at most 120 ms of audio."""
OPUS_GRANULE_S = 0.0025
"""Opus frame sizes (and concealment lengths) are multiples of 2.5 ms."""
OPUS_CONCEAL_MAX_S = 0.12
"""Losses up to this long are concealed; longer ones (an outage) stay gaps: made-up audio
that long would be heard as speech that was never said."""
OPUS_RATE_HZ = 48_000
OPUS_TIME_BASE = fractions.Fraction(1, OPUS_RATE_HZ)
_OPUS_OK = 0


class OpusError(RuntimeError):
    """libopus refused a packet or a decoder (its negative error code is ``code``)."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what}: libopus error {code}")
        self.code = code


def _libopus_paths() -> Iterator[str]:
    """Where libopus may be: bundled with PyAV's wheel first, then the system's."""
    package = Path(av.__file__).resolve().parent
    for folder in (package.parent / "av.libs", package / ".dylibs"):  # Linux/Windows, macOS
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                name = path.name.lower()
                if "opus" in name and (".so" in name or name.endswith((".dylib", ".dll"))):
                    yield str(path)
    found = ctypes.util.find_library("opus")
    if found:
        yield found


@functools.cache
def libopus() -> ctypes.PyDLL | None:
    """The libopus library with the decoder functions typed, or None if there is none."""
    for path in _libopus_paths():
        try:
            # PyDLL: calls keep the GIL (they are short; releasing and re-taking it costs more)
            lib = ctypes.PyDLL(path)
            create = lib.opus_decoder_create
            decode = lib.opus_decode_float
            destroy = lib.opus_decoder_destroy
        except (OSError, AttributeError):
            continue
        create.restype = ctypes.c_void_p
        create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        decode.restype = ctypes.c_int
        decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        destroy.restype = None
        destroy.argtypes = [ctypes.c_void_p]
        has_lbrr = getattr(lib, "opus_packet_has_lbrr", None)  # libopus >= 1.5
        if has_lbrr is not None:
            has_lbrr.restype = ctypes.c_int
            has_lbrr.argtypes = [ctypes.c_char_p, ctypes.c_int32]
        return lib
    logger.warning("libopus not found: analysis audio is decoded at 48 kHz and resampled")
    return None


class LibopusDecoder:
    """One Opus stream decoded by libopus straight to mono float32 at ``rate_hz``.

    libopus decodes any Opus packet (mono or stereo, any frame size) at 8, 12, 16, 24 or
    48 kHz with one or two output channels; lower rates skip the work for the bands they
    cannot hold, so nothing needs resampling afterwards.
    """

    def __init__(self, rate_hz: int, lib: ctypes.CDLL | None = None) -> None:
        lib = lib or libopus()
        if lib is None:
            raise OpusError("libopus is not available", -1)
        error = ctypes.c_int(_OPUS_OK)
        state = lib.opus_decoder_create(rate_hz, 1, ctypes.byref(error))
        if error.value != _OPUS_OK or not state:
            raise OpusError(f"opus_decoder_create({rate_hz}, 1)", error.value)
        self.rate_hz = rate_hz
        self._state = state
        self._decode = lib.opus_decode_float
        self._max_samples = int(rate_hz * OPUS_MAX_PACKET_S)
        self._granule = int(rate_hz * OPUS_GRANULE_S)
        self._has_lbrr = getattr(lib, "opus_packet_has_lbrr", None)
        self._release = weakref.finalize(self, lib.opus_decoder_destroy, state)

    def decode(self, packet: bytes) -> npt.NDArray[np.float32]:
        """The samples of one packet.

        Raises:
            OpusError: the packet is corrupt.
        """
        out = np.empty(self._max_samples, dtype=np.float32)
        n = self._decode(self._state, packet, len(packet), out.ctypes.data, self._max_samples, 0)
        if n < 0:
            raise OpusError("opus_decode_float", n)
        return out[:n]

    def conceal(self, samples: int, following: bytes | None) -> npt.NDArray[np.float32]:
        """Audio for ``samples`` lost samples (rounded down to whole 2.5 ms granules, at most
        120 ms), then :meth:`decode` ``following`` as usual.

        ``following``: the packet received after the loss; its LBRR data, if any, restores
        the last lost packet, and libopus conceals the rest. None: conceal all of it.

        Raises:
            OpusError: libopus refused (a corrupt ``following`` packet).
        """
        n = min(samples, self._max_samples) // self._granule * self._granule
        if n <= 0:
            return np.empty(0, dtype=np.float32)
        out = np.empty(n, dtype=np.float32)
        if following is None:
            got = self._decode(self._state, None, 0, out.ctypes.data, n, 0)
        else:
            got = self._decode(self._state, following, len(following), out.ctypes.data, n, 1)
        if got < 0:
            raise OpusError("opus_decode_float (concealment)", got)
        return out[:got]

    def has_fec(self, packet: bytes) -> bool:
        """Whether ``packet`` carries LBRR data for the packet before it (False when libopus
        is too old to tell)."""
        if self._has_lbrr is None:
            return False
        return bool(self._has_lbrr(packet, len(packet)) == 1)

    def close(self) -> None:
        self._release()


class OpusReceiveStream:
    """One received Opus stream decoded in RTP-timestamp order, its losses concealed.

    A jump in the RTP timestamp beyond the previous packet's end is a loss (the jitter buffer
    hands packets on in order and skips the ones that never came). Up to
    :data:`OPUS_CONCEAL_MAX_S` of it is filled (:meth:`LibopusDecoder.conceal`) so speech
    keeps its timing and its sounds instead of being cut into pieces; a longer gap (an
    outage, a paused sender) stays a gap.
    """

    def __init__(self, decoder: LibopusDecoder) -> None:
        self._decoder = decoder
        self._next_timestamp: int | None = None
        self.concealed_s = 0.0
        """Audio made up for lost packets (FEC-restored or concealed)."""
        self.fec_packets = 0
        """Lost packets restored from the next packet's in-band FEC."""
        self.gaps = 0
        """Losses longer than :data:`OPUS_CONCEAL_MAX_S`, left as gaps."""

    def decode(self, frame: EncodedFrame) -> list[tuple[float, npt.NDArray[np.float32]]]:
        """``(media time s, samples)`` pieces: concealment for a loss before ``frame``, if
        any, then ``frame`` itself.

        Raises:
            OpusError: the packet is corrupt (the stream goes on with the next one).
        """
        rate_hz, clock_hz = self._decoder.rate_hz, frame.clock_rate_hz
        pieces: list[tuple[float, npt.NDArray[np.float32]]] = []
        expected = self._next_timestamp
        if expected is not None and frame.timestamp > expected:
            lost_s = (frame.timestamp - expected) / clock_hz
            if lost_s > OPUS_CONCEAL_MAX_S:
                self.gaps += 1
            else:
                fec = self._decoder.has_fec(frame.data)
                filled = self._decoder.conceal(round(lost_s * rate_hz), frame.data)
                if len(filled):
                    self.fec_packets += fec
                    self.concealed_s += len(filled) / rate_hz
                    pieces.append((expected / clock_hz, filled))
        samples = self._decoder.decode(frame.data)
        pieces.append((frame.media_time_s, samples))
        self._next_timestamp = frame.timestamp + len(samples) * clock_hz // rate_hz
        return pieces

    def close(self) -> None:
        self._decoder.close()


class MonoOpusDecoder(Decoder):
    """aiortc's Opus decoder, but to 48 kHz mono: FFmpeg's libopus wrapper, for when
    libopus cannot be loaded directly. libopus downmixes a stereo stream itself, so the
    level is the stream's own, as with :class:`LibopusDecoder` (a 48 kHz stereo decode
    resampled to mono reads a mono stream 3 dB hot: swresample sums the two copies)."""

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("libopus", "r")
        self.codec.layout = "mono"
        self.codec.sample_rate = OPUS_RATE_HZ

    def decode(self, encoded_frame: JitterFrame) -> list[av.frame.Frame]:
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = OPUS_TIME_BASE
        return list(self.codec.decode(packet))


BASE_LAYER_FRAMES_MEASURED = 8
"""Base-layer frames over which the base layer's frame rate is measured."""
BASE_LAYER_RATE_MARGIN = 1.1
"""The base layer alone must come this much more often than analysis samples."""


class BaseLayerFilter:
    """Which frames of a VP8 stream with temporal layers analysis has to decode.

    Base-layer frames (TID 0) never refer to the others, so while the base layer alone comes
    at least as often as analysis samples (``min_fps``, with a margin) the other layers are
    not decoded at all: at ``L1T2`` half the frames. When the base layer gets too sparse
    (the browser lowered its frame rate), decoding the others resumes on a frame that refers
    to the base layer only (the Y bit) or a key frame: the frames skipped before are missing.
    A stream without layers is decoded whole.
    """

    def __init__(self, min_fps: float) -> None:
        self._min_fps = min_fps * BASE_LAYER_RATE_MARGIN
        self._base: deque[int] = deque(maxlen=BASE_LAYER_FRAMES_MEASURED)
        """RTP timestamps of the latest base-layer frames."""
        self._clock_rate_hz = 90_000
        self._skipping = False
        self.skipped = 0
        """Frames not decoded."""

    def wants(self, frame: EncodedFrame) -> bool:
        """Whether ``frame`` must be decoded (called for every frame, in order)."""
        if frame.keyframe:
            self._skipping = False  # refers to nothing
        layer = frame.temporal_layer if frame.codec == "vp8" else None
        if layer is None:
            return True
        if layer == 0:
            self._base.append(frame.timestamp)
            self._clock_rate_hz = frame.clock_rate_hz
            return True
        enough = self._base_fps() >= self._min_fps
        if not self._skipping and enough:
            self._skipping = True
        elif self._skipping and not enough and frame.layer_sync:
            self._skipping = False
        if self._skipping:
            self.skipped += 1
        return not self._skipping

    def _base_fps(self) -> float:
        if len(self._base) < 2:
            return 0.0
        span = self._base[-1] - self._base[0]
        return (len(self._base) - 1) * self._clock_rate_hz / span if span > 0 else 0.0


class VideoDecodeWorker:
    """Decodes one receiver's encoded video frames, in order, on a thread of its own.

    :meth:`push` and :meth:`close` are called on the event loop (the tap's callbacks);
    ``on_frame`` and ``on_error`` are called on the worker thread. The thread starts with
    the first frame, so a receiver that never gets media costs no thread.

    After a loss (a frame marked ``after_loss``, or one that failed to decode) the pictures
    reference data that never arrived: they decode, but with parts missing or smeared,
    and a face analyser would read them as "no face" or "out of frame", flagging the
    candidate for the network. They are decoded (the decoder needs them) but not handed
    to ``on_frame`` until the next key frame; :attr:`unusable` counts them.
    """

    def __init__(
        self,
        on_frame: Callable[[av.VideoFrame], None],
        on_error: Callable[[], None] | None,
        name: str,
        base_layer_min_fps: float | None = None,
    ) -> None:
        """``on_frame``: each decoded frame; ``on_error``: a frame failed to decode (the
        sender should send a key frame); ``name``: the thread's name;
        ``base_layer_min_fps``: decode only the base layer of a stream with temporal layers
        while it alone comes this often (:class:`BaseLayerFilter`); None: every frame."""
        self._on_frame = on_frame
        self._on_error = on_error
        self._name = name
        self._queue: queue.SimpleQueue[tuple[RTCRtpCodecParameters, EncodedFrame] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._closed = False
        self.decoded = 0
        self.errors = 0
        self.unusable = 0
        """Frames decoded between a loss and the next key frame, not handed on."""
        self.layers = BaseLayerFilter(base_layer_min_fps) if base_layer_min_fps else None

    def push(self, codec: RTCRtpCodecParameters, frame: EncodedFrame) -> None:
        if self._closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._queue.put((codec, frame))

    def close(self) -> None:
        """Stop after the frames already pushed; idempotent, never blocks."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the thread (after :meth:`close`); blocks: not on the event loop."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        decoder: Decoder | None = None
        codec_name = None
        damaged = False
        while (item := self._queue.get()) is not None:
            codec, encoded = item
            if codec.name != codec_name:
                decoder, codec_name = get_decoder(codec), codec.name
            assert decoder is not None
            damaged = (damaged or encoded.after_loss) and not encoded.keyframe
            if self.layers is not None and not self.layers.wants(encoded):
                continue
            try:
                frames = decoder.decode(JitterFrame(encoded.data, encoded.timestamp))
            except av.FFmpegError as exc:
                # Keep the decoder state (as aiortc does): the next key frame recovers it.
                damaged = True
                self.errors += 1
                logger.debug("%s: %s frame failed to decode: %s", self._name, codec.name, exc)
                if self._on_error is not None:
                    self._on_error()
                continue
            for frame in frames:
                self.decoded += 1
                if damaged:
                    self.unusable += 1
                    continue
                try:
                    self._on_frame(frame)  # type: ignore[arg-type]
                except Exception:
                    logger.exception("%s: decoded-frame callback failed", self._name)
