"""An impaired uplink for the synthetic candidates: loss, burst loss, delay with jitter, a
bandwidth cap and an outage, applied in user space (this kernel has no ``netem``).

Where it hooks in, and why there: each candidate's ``RTCDtlsTransport._send_rtp`` (one per
transceiver; after BUNDLE the media share the first one) is replaced *on the instance* by
:class:`media.impair.ImpairedPath`. Every RTP and RTCP packet the client sends passes through that method
after the DTLS handshake — media, retransmissions answering NACKs, sender reports — and nothing
else does: STUN connectivity checks and consent refreshes (``aioice``) and the DTLS handshake
(``_write_ssl``) go straight to ``RTCIceTransport._send``. Wrapping the lower ICE
``Connection.sendto`` would catch all of those as well, so a lossy run would measure failed
handshakes and ICE timeouts instead of the media path. The packet seen here is still plain RTP:
its size on the wire is counted with the SRTP authentication tag (:data:`SRTP_RTP_TAG_BYTES`,
:data:`SRTP_RTCP_OVERHEAD_BYTES`) for the bandwidth cap; the delayed send calls the original
method later, so SRTP protection happens in send order and the receiver's replay window
accepts it.

The model and the wrapper are :mod:`media.impair`'s (the server uses them on its receive
path for real browsers in tests); this module names them for the load generator.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from media.impair import (
    MAX_IN_FLIGHT_PACKETS,
    SRTP_RTCP_OVERHEAD_BYTES,
    SRTP_RTP_TAG_BYTES,
    UDP_IP_HEADER_BYTES,
    ImpairConfig,
    ImpairedPath,
    Impairment,
    ImpairStats,
    gilbert_elliott,
    impair_sending,
    wire_bytes,
)

__all__ = [
    "MAX_IN_FLIGHT_PACKETS",
    "SRTP_RTCP_OVERHEAD_BYTES",
    "SRTP_RTP_TAG_BYTES",
    "UDP_IP_HEADER_BYTES",
    "ImpairConfig",
    "ImpairStats",
    "ImpairedPath",
    "ImpairedSender",
    "Impairment",
    "gilbert_elliott",
    "install",
    "wire_bytes",
]

ImpairedSender = ImpairedPath
"""One candidate's impaired ``_send_rtp``."""


def install(transports: Iterable[Any], model: Impairment) -> list[ImpairedPath]:
    """Route every distinct DTLS transport's RTP/RTCP through ``model`` (instance attribute,
    so other peer connections are untouched); the senders, to cancel on close."""
    return impair_sending(transports, model)
