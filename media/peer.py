"""The server side of one candidate's WebRTC connection.

:class:`LivePeer` answers the browser's offer, taps the encoded frames for the recorder
(see ``media.tap``), hands them to the analysis fan-out's decoders (``media.fanout``) or,
without analysis, decodes nothing, and reports connection state changes to its owner (the
interview session).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.fanout import AnalysisFanout
from media.impair import ImpairConfig, ImpairedPath, Impairment, impair_receiving
from media.tap import DISCARD, EncodedFrame, decode_error_reporter, install_tap, request_keyframe

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
MEDIA_GAP_MIN_S = 1.0
"""No audio or video packet for this long is a network gap (audio alone comes every 20 ms)."""
ICE_GATHER_TIMEOUT_S = 10.0

_original_get_host_addresses = aioice.ice.get_host_addresses


def configure_ice_hosts(hosts: Iterable[str]) -> None:
    """Announce only ``hosts`` as ICE host candidates (all interfaces when empty).

    aioice never offers loopback by itself; production sets the public/private IP.
    """
    chosen = list(hosts)
    if not chosen:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in chosen if (":" in h and use_ipv6) or (":" not in h and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


_OPUS_RTPMAP = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE)


def with_opus_fec(sdp: str) -> str:
    """``sdp`` with ``useinbandfec=1`` on every Opus format it lists.

    In an answer this tells the browser that we decode Opus in-band FEC (RFC 7587 §7), so
    its encoder adds it once we report loss: a lost packet is then restored from the next
    one (``media.decoders``). aiortc answers with no Opus format parameters at all.
    """
    lines = sdp.split("\r\n")
    opus = {m.group(1) for line in lines if (m := _OPUS_RTPMAP.match(line))}
    out: list[str] = []
    for line in lines:
        if line.startswith("a=fmtp:") and line[7:].split(" ", 1)[0] in opus:
            pt, _, params = line[7:].partition(" ")
            opus.discard(pt)
            if "useinbandfec=" not in params:
                line = (
                    f"a=fmtp:{pt} {params};useinbandfec=1" if params else f"{line} useinbandfec=1"
                )
        out.append(line)
    for pt in opus:  # no fmtp line yet: add one after the rtpmap
        at = next(i for i, line in enumerate(out) if line.startswith(f"a=rtpmap:{pt} "))
        out.insert(at + 1, f"a=fmtp:{pt} useinbandfec=1")
    return "\r\n".join(out)


class SdpError(ValueError):
    """The offer is not a usable SDP offer."""


class LivePeer:
    """One RTCPeerConnection receiving a candidate's camera and microphone."""

    def __init__(
        self,
        ice_servers: Iterable[str],
        on_frame: Callable[[EncodedFrame], None],
        on_state: Callable[[str], None],
        name: str,
        fanout: AnalysisFanout | None = None,
        kinds: frozenset[str] = frozenset({"audio", "video"}),
        receive_impairment: ImpairConfig | None = None,
        on_media_gap: Callable[[float], None] | None = None,
    ) -> None:
        """``kinds``: the media the interview takes; an offer carrying anything else is
        refused (an audio-only interview never receives the camera).
        ``on_media_gap(seconds)``: no media arrived for that long (at least
        :data:`MEDIA_GAP_MIN_S`; called when media arrives again).
        ``receive_impairment``: tests and benchmarks only, a lossy network in front of the
        receivers (:func:`media.impair.impair_receiving`)."""
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in ice_servers])
        self.pc = RTCPeerConnection(configuration=config)
        self.name = name
        self._on_frame = on_frame
        self._on_state = on_state
        self._fanout = fanout
        self._kinds = kinds
        self._tasks: set[asyncio.Task[None]] = set()
        self._video_receiver: RTCRtpReceiver | None = None
        self.frames_received = {"audio": 0, "video": 0}
        self._on_media_gap = on_media_gap
        self._last_frame_at: float | None = None
        self.impairment = Impairment(receive_impairment) if receive_impairment else None
        self._impaired: list[ImpairedPath] = []

        @self.pc.on("connectionstatechange")
        def _state_changed() -> None:
            self._on_state(self.pc.connectionState)

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self.consume(track)

    @property
    def state(self) -> str:
        return self.pc.connectionState

    async def accept(self, sdp: str) -> str:
        """Answer the browser's offer; returns the answer SDP."""
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_BYTES:
            raise SdpError("not an SDP offer")
        try:
            return await self._answer(sdp)
        except (SdpError, TimeoutError):
            raise
        except Exception as exc:  # aiortc asserts/raises many things on odd offers
            raise SdpError(f"invalid SDP offer: {type(exc).__name__}: {exc}") from exc

    async def _answer(self, sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if self.impairment is not None:
            receivers = (t.receiver.transport for t in self.pc.getTransceivers())
            self._impaired = impair_receiving(receivers, self.impairment)
        unwanted = {t.kind for t in self.pc.getTransceivers()} - self._kinds
        if unwanted:
            raise SdpError(
                f"this interview takes {' and '.join(sorted(self._kinds))} only;"
                f" the offer carries {' and '.join(sorted(unwanted))}"
            )
        kinds = set()
        for transceiver in self.pc.getTransceivers():
            kind = transceiver.kind
            kinds.add(kind)
            transceiver.direction = "recvonly"
            self.prepare_receiver(transceiver.receiver, kind)
            if kind == "video":
                # The recorder remuxes VP8 as received; other codecs would need re-encoding.
                capabilities = RTCRtpReceiver.getCapabilities("video")
                assert capabilities is not None
                vp8 = [
                    c
                    for c in capabilities.codecs
                    if c.mimeType.lower() in ("video/vp8", "video/rtx")
                ]
                transceiver.setCodecPreferences(vp8)
                self._video_receiver = transceiver.receiver
        if not kinds:
            raise SdpError("the offer carries no audio or video")
        answer = await self.pc.createAnswer()
        answer = RTCSessionDescription(sdp=with_opus_fec(answer.sdp), type=answer.type)
        await asyncio.wait_for(self.pc.setLocalDescription(answer), ICE_GATHER_TIMEOUT_S)
        return self.pc.localDescription.sdp

    def prepare_receiver(self, receiver: RTCRtpReceiver, kind: str) -> None:
        """Tap ``receiver`` (before it starts) for the recorder, and decode its frames for
        analysis only: aiortc's own decoder gets none of them."""
        decoder = DISCARD
        if self._fanout is not None:
            decoder = self._fanout.decoder(kind, on_error=decode_error_reporter(receiver))
        install_tap(receiver, kind, self._count_and_forward, decoder=decoder)

    def consume(self, track: MediaStreamTrack) -> None:
        """Drain a remote track until it ends (see :meth:`_drain`)."""
        task = asyncio.create_task(self._drain(track), name=f"{self.name}-drain-{track.kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _count_and_forward(self, frame: EncodedFrame) -> None:
        self.frames_received[frame.kind] += 1
        now = time.monotonic()
        last, self._last_frame_at = self._last_frame_at, now
        if last is not None and now - last >= MEDIA_GAP_MIN_S and self._on_media_gap is not None:
            self._on_media_gap(now - last)
        self._on_frame(frame)

    async def quality(self) -> dict[str, float | int]:
        """Packets received and lost, and jitter (RTP units), over both inbound streams;
        the analysed audio's losses made up (seconds, of which FEC-restored packets) and
        its gaps too long to make up, and the video frames kept from analysis because they
        came between a loss and the next key frame, since the connection started."""
        from aiortc.stats import RTCInboundRtpStreamStats

        received = lost = 0
        jitter = 0
        for stat in (await self.pc.getStats()).values():
            if isinstance(stat, RTCInboundRtpStreamStats):
                received += stat.packetsReceived
                lost += max(0, stat.packetsLost)
                if stat.kind == "audio":
                    jitter = stat.jitter
        opus = self._fanout.opus if self._fanout is not None else None
        return {
            "packets_received": received,
            "packets_lost": lost,
            "audio_jitter_ms": round(jitter / 48, 1),  # Opus RTP clock: 48 ticks per ms
            "video_frames": self.frames_received["video"],
            "audio_concealed_s": round(opus.concealed_s, 3) if opus else 0.0,
            "audio_fec_packets": opus.fec_packets if opus else 0,
            "audio_gaps": opus.gaps if opus else 0,
            "video_frames_damaged": self._fanout.frames_damaged if self._fanout else 0,
            "video_frames_not_decoded": self._fanout.frames_skipped if self._fanout else 0,
        }

    def request_keyframe(self) -> None:
        """Ask the browser for a video keyframe (a new recording segment starts with one)."""
        if self._video_receiver is None or self.pc.connectionState != "connected":
            return
        task = asyncio.create_task(request_keyframe(self._video_receiver), name=f"{self.name}-pli")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, track: MediaStreamTrack) -> None:
        """Wait for the end of a remote track. The tap decodes for analysis, so aiortc
        puts no frames on it; whatever it would is dropped, so its unbounded queue
        cannot grow."""
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            return

    async def aclose(self) -> None:
        for path in self._impaired:
            path.cancel()
        try:
            await self.pc.close()
        except Exception:  # a half-negotiated peer (bad offer) can fail to close
            logger.debug("closing a half-negotiated peer failed", exc_info=True)
        if self._fanout is not None:
            await self._fanout.aclose()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
