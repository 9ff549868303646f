"""Network impairment in user space (this kind of machine's kernel has no ``netem``): loss,
burst loss, delay with jitter, a bandwidth cap and an outage, for tests and benchmarks only.

The model (:class:`Impairment`) is pure: it takes explicit timestamps and a seeded
``random.Random`` and answers "drop" or "deliver after this many seconds", so tests drive it
with a fake clock. In order: the outage window (times relative to the first packet), loss
(independent, or Gilbert-Elliott bursts), the token-bucket bandwidth cap (FIFO queue bounded in
bytes; tail drop), then one-way delay ± uniform jitter (order kept unless ``reorder``).

:class:`ImpairedPath` puts the model in front of one aiortc method that moves RTP/RTCP, on the
instance: delayed packets are held by ``loop.call_at`` (timers), at most
:data:`MAX_IN_FLIGHT_PACKETS` at once (newer ones are dropped beyond that and counted). Two
places use it:

* the load generator's uplink (``loadtest.candidate.impair``): each synthetic candidate's
  ``RTCDtlsTransport._send_rtp``, after the DTLS handshake and SRTP-free, so STUN and the
  handshake are not impaired;
* the server's receive path (:func:`impair_receiving`), for real browsers in tests and
  benchmarks: ``RTCDtlsTransport._handle_rtp_data`` / ``_handle_rtcp_data`` after SRTP
  decryption, before the receivers' jitter buffers. The browser still gets real feedback (the
  server's NACKs, loss reports, bandwidth estimates), as on a lossy network. Switched on only
  by ``INTERVIEW_TEST_RECEIVE_IMPAIRMENT`` (``server.core.config``).

Sizes are counted as on the wire, with the SRTP tag (:data:`SRTP_RTP_TAG_BYTES`,
:data:`SRTP_RTCP_OVERHEAD_BYTES`) and UDP/IP headers, for the bandwidth cap.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

SRTP_RTP_TAG_BYTES = 10
"""SRTP authentication tag added to each RTP packet (AES-CM with HMAC-SHA1-80)."""
SRTP_RTCP_OVERHEAD_BYTES = 14
"""SRTCP index (4 bytes) and authentication tag (10 bytes) added to each RTCP packet."""
UDP_IP_HEADER_BYTES = 28
"""IPv4 + UDP headers, counted against the bandwidth cap."""
MAX_IN_FLIGHT_PACKETS = 4096
"""Delayed packets held at once (≈ 20 s of one candidate's media); beyond: tail drop."""
DEFAULT_QUEUE_S = 0.5
"""The bandwidth cap's queue holds this many seconds of its rate (bytes); beyond: tail drop."""
BUCKET_DEPTH_S = 0.02
"""The token bucket's depth in seconds of its rate (a burst allowance)."""
MIN_BUCKET_DEPTH_BYTES = 1500
"""At least one full-size packet fits in the bucket."""
ORDER_STEP_S = 1e-6
"""Spacing of successive delivery times when order is kept (equal timer times may reorder)."""


@dataclass(frozen=True)
class ImpairConfig:
    """What the uplink does to outgoing RTP/RTCP; the default changes nothing."""

    loss_percent: float = 0.0
    burst_loss_packets: float | None = None
    """Mean burst length in packets (Gilbert-Elliott); None: independent losses."""
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    """Uniform ± around ``delay_ms`` (never below zero)."""
    reorder: bool = False
    """Let jitter reorder packets (otherwise a packet never overtakes the one before)."""
    uplink_kbps: float | None = None
    """Bandwidth cap in kbit/s (1000 bit/s each), on the wire (SRTP + UDP/IP headers)."""
    queue_s: float = DEFAULT_QUEUE_S
    outage_at_s: float | None = None
    outage_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_percent < 100.0:
            raise ValueError("loss must be 0..<100 %")
        if self.burst_loss_packets is not None:
            if self.burst_loss_packets < 1.0:
                raise ValueError("mean burst length must be at least 1 packet")
            if self.loss_percent <= 0.0:
                raise ValueError("burst loss needs a loss percentage")
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise ValueError("delay and jitter must not be negative")
        if self.uplink_kbps is not None and self.uplink_kbps <= 0:
            raise ValueError("uplink must be positive")
        if self.queue_s <= 0:
            raise ValueError("queue must be positive")
        if self.outage_s < 0 or (self.outage_at_s is not None and self.outage_at_s < 0):
            raise ValueError("outage start and length must not be negative")

    @property
    def active(self) -> bool:
        return bool(
            self.loss_percent
            or self.delay_ms
            or self.jitter_ms
            or self.uplink_kbps
            or (self.outage_at_s is not None and self.outage_s > 0)
        )

    def for_candidate(self, index: int) -> ImpairConfig:
        """The same impairment with a seed of its own for candidate ``index``."""
        return ImpairConfig(**(asdict(self) | {"seed": self.seed * 1_000_003 + index}))

    def settings(self) -> dict[str, Any]:
        """For the summary JSON."""
        return asdict(self)


@dataclass
class ImpairStats:
    """Per candidate: packets offered to the uplink and what became of them (``packets`` −
    ``sent`` − ``dropped`` − ``send_errors`` were still held when the connection closed)."""

    packets: int = 0
    sent: int = 0
    """Handed to the real transport (at once or after the delay)."""
    dropped_loss: int = 0
    dropped_outage: int = 0
    dropped_queue: int = 0
    """Tail drops of the bandwidth cap's queue."""
    dropped_in_flight: int = 0
    """Tail drops beyond MAX_IN_FLIGHT_PACKETS delayed packets."""
    send_errors: int = 0
    """Delayed sends that failed (the connection closed meanwhile)."""
    bytes_offered: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_loss + self.dropped_outage + self.dropped_queue + self.dropped_in_flight

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        out["dropped"] = self.dropped
        out["dropped_share"] = round(self.dropped / self.packets, 4) if self.packets else None
        return out


def gilbert_elliott(loss_fraction: float, mean_burst_packets: float) -> tuple[float, float]:
    """Transition probabilities (good→bad, bad→good) of a two-state model that loses every
    packet in the bad state and none in the good one, with stationary loss ``loss_fraction``
    and mean burst length ``mean_burst_packets`` (bursts are geometric)."""
    r = 1.0 / mean_burst_packets
    p = loss_fraction * r / (1.0 - loss_fraction)
    return min(1.0, p), r


@dataclass
class Impairment:
    """The uplink model: :meth:`decide` per packet, with explicit times in seconds."""

    config: ImpairConfig
    stats: ImpairStats = field(default_factory=ImpairStats)

    def __post_init__(self) -> None:
        c = self.config
        self._rng = random.Random(c.seed)
        self._t0_s: float | None = None
        self._bad = False
        self._p_gb, self._p_bg = (
            gilbert_elliott(c.loss_percent / 100.0, c.burst_loss_packets)
            if c.burst_loss_packets is not None
            else (0.0, 1.0)
        )
        self._rate_bytes_per_s = c.uplink_kbps * 1000.0 / 8.0 if c.uplink_kbps else math.inf
        self._depth_bytes = max(MIN_BUCKET_DEPTH_BYTES, self._rate_bytes_per_s * BUCKET_DEPTH_S)
        self._queue_limit_bytes = self._rate_bytes_per_s * c.queue_s
        self._tokens_bytes = self._depth_bytes
        self._tokens_at_s = 0.0
        self._last_delivery_s = -math.inf

    def _lost(self) -> bool:
        c = self.config
        if c.loss_percent <= 0:
            return False
        if c.burst_loss_packets is None:
            return self._rng.random() < c.loss_percent / 100.0
        # state for this packet, then the packet's fate in it
        if self._bad:
            self._bad = self._rng.random() >= self._p_bg
        else:
            self._bad = self._rng.random() < self._p_gb
        return self._bad

    def _queue_wait_s(self, now_s: float, size_bytes: int) -> float | None:
        """Token bucket with a FIFO queue: negative tokens are the bytes queued ahead."""
        if math.isinf(self._rate_bytes_per_s):
            return 0.0
        elapsed = max(0.0, now_s - self._tokens_at_s)
        tokens = min(self._depth_bytes, self._tokens_bytes + elapsed * self._rate_bytes_per_s)
        self._tokens_at_s = now_s
        after = tokens - size_bytes
        if after < 0 and -after > self._queue_limit_bytes:
            self._tokens_bytes = tokens  # tail drop: the packet takes no tokens
            return None
        self._tokens_bytes = after
        return -after / self._rate_bytes_per_s if after < 0 else 0.0

    def decide(self, now_s: float, size_bytes: int) -> float | None:
        """None to drop this packet, else the seconds to hold it before sending (0: now)."""
        c, s = self.config, self.stats
        s.packets += 1
        s.bytes_offered += size_bytes
        if self._t0_s is None:
            self._t0_s = now_s
        since_s = now_s - self._t0_s
        if c.outage_at_s is not None and c.outage_at_s <= since_s < c.outage_at_s + c.outage_s:
            s.dropped_outage += 1
            return None
        if self._lost():
            s.dropped_loss += 1
            return None
        wait_s = self._queue_wait_s(now_s, size_bytes)
        if wait_s is None:
            s.dropped_queue += 1
            return None
        delay_s = c.delay_ms / 1000.0
        if c.jitter_ms:
            delay_s += self._rng.uniform(-c.jitter_ms, c.jitter_ms) / 1000.0
        delivery_s = now_s + wait_s + max(0.0, delay_s)
        if not c.reorder and self._last_delivery_s + ORDER_STEP_S > now_s:
            # something is still held: never overtake it (nor tie with it: timers may reorder)
            delivery_s = max(delivery_s, self._last_delivery_s + ORDER_STEP_S)
        self._last_delivery_s = max(self._last_delivery_s, delivery_s)
        return max(0.0, delivery_s - now_s)


def wire_bytes(packet: bytes) -> int:
    """The packet's size on the wire once SRTP-protected, with UDP/IP headers."""
    rtcp = len(packet) > 1 and 192 <= packet[1] <= 223
    return (
        len(packet)
        + (SRTP_RTCP_OVERHEAD_BYTES if rtcp else SRTP_RTP_TAG_BYTES)
        + UDP_IP_HEADER_BYTES
    )


Deliver = Callable[..., Awaitable[None]]


class ImpairedPath:
    """Stands in for one transport method that moves a packet (its first argument): asks the
    model, then calls the original now, later (``loop.call_at``) or never."""

    def __init__(self, original: Deliver, model: Impairment) -> None:
        self.original, self.model = original, model
        self.in_flight: set[asyncio.Handle | asyncio.Task[None]] = set()

    def later_kwargs(self, kwargs: dict[str, Any], hold_s: float) -> dict[str, Any]:
        """The original's keyword arguments for a delivery ``hold_s`` late (unchanged here)."""
        return kwargs

    async def __call__(self, data: bytes, **kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        now_s = loop.time()
        hold_s = self.model.decide(now_s, wire_bytes(data))
        if hold_s is None:
            return
        if hold_s <= 0.0 and not self.in_flight:
            self.model.stats.sent += 1
            await self.original(data, **kwargs)
            return
        if len(self.in_flight) >= MAX_IN_FLIGHT_PACKETS:
            self.model.stats.dropped_in_flight += 1
            return
        handle: asyncio.TimerHandle | None = None
        late_kwargs = self.later_kwargs(kwargs, hold_s)

        def fire() -> None:
            assert handle is not None
            self.in_flight.discard(handle)
            task = loop.create_task(self._deliver_later(data, late_kwargs))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

        handle = loop.call_at(now_s + hold_s, fire)  # the model's time: order as decided
        self.in_flight.add(handle)

    async def _deliver_later(self, data: bytes, kwargs: dict[str, Any]) -> None:
        try:
            await self.original(data, **kwargs)
            self.model.stats.sent += 1
        except ConnectionError:  # closed while the packet was held
            self.model.stats.send_errors += 1

    def cancel(self) -> None:
        """Forget held packets (the peer connection is closing)."""
        for item in list(self.in_flight):
            item.cancel()
        self.in_flight.clear()


class _ImpairedRtpReceive(ImpairedPath):
    """``_handle_rtp_data(data, arrival_time_ms=…)``: a held packet arrives later."""

    def later_kwargs(self, kwargs: dict[str, Any], hold_s: float) -> dict[str, Any]:
        return kwargs | {"arrival_time_ms": kwargs["arrival_time_ms"] + round(hold_s * 1000)}


def impair_receiving(transports: Iterable[Any], model: Impairment) -> list[ImpairedPath]:
    """Route the RTP and RTCP every distinct DTLS transport in ``transports`` receives through
    ``model`` (instance attributes: other connections are untouched); the paths, to cancel on
    close. Tests and benchmarks only (see the module)."""
    paths: list[ImpairedPath] = []
    for dtls in _distinct(transports):
        rtp = _ImpairedRtpReceive(dtls._handle_rtp_data, model)
        rtcp = ImpairedPath(dtls._handle_rtcp_data, model)
        dtls._handle_rtp_data, dtls._handle_rtcp_data = rtp, rtcp
        paths += [rtp, rtcp]
    return paths


def impair_sending(transports: Iterable[Any], model: Impairment) -> list[ImpairedPath]:
    """Route every distinct DTLS transport's outgoing RTP/RTCP through ``model``."""
    paths: list[ImpairedPath] = []
    for dtls in _distinct(transports):
        path = ImpairedPath(dtls._send_rtp, model)
        dtls._send_rtp = path
        paths.append(path)
    return paths


def _distinct(transports: Iterable[Any]) -> list[Any]:
    """Each transport once (after BUNDLE the transceivers share the first one)."""
    seen: dict[int, Any] = {}
    for dtls in transports:
        if dtls is not None:
            seen.setdefault(id(dtls), dtls)
    return list(seen.values())
