"""Short-lived TURN relay credentials for the candidate's page (coturn ``use-auth-secret``).

The "TURN REST API" scheme (draft-uberti-behave-turn-rest): the server and the TURN relay
share one secret; the server hands each candidate session a username
``<expiry unix time>:<tag>`` and the password ``base64(HMAC-SHA1(secret, username))``. The
relay recomputes the password from the username and refuses it after the expiry, so nothing
is stored and a leaked pair is worthless once the interview is over. The secret itself never
leaves the server (``docs/deploy/coturn.conf``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.core.config import Settings

TURN_CREDENTIAL_MARGIN_S = 30 * 60
"""Added to the interview's remaining length: reading the consent, the device check, a late
reconnect near the end. A page fetches fresh credentials whenever it fetches its state (load,
consent, every reconnect), so the margin only has to cover one connected stretch."""
TURN_CREDENTIAL_MAX_S = 24 * 3600
"""Upper bound whatever the plan says (a plan of absurd length must not mint long-lived keys)."""
TAG_MAX_CHARS = 64
_UNSAFE_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    credential: str = field(repr=False)
    expires_at_s: int
    """Unix time after which the relay refuses the pair (the number opening ``username``)."""


def credential_lifetime_s(remaining_interview_s: float) -> int:
    """Seconds a credential minted now stays valid: what is left of the interview plus the
    margin, never more than :data:`TURN_CREDENTIAL_MAX_S`."""
    remaining = remaining_interview_s if math.isfinite(remaining_interview_s) else 0.0
    return min(TURN_CREDENTIAL_MAX_S, math.ceil(max(0.0, remaining) + TURN_CREDENTIAL_MARGIN_S))


def mint(secret: str, tag: str, *, lifetime_s: float, now_s: float) -> TurnCredential:
    """A username/password pair the relay accepts until ``now_s + lifetime_s`` (whole seconds,
    rounded down). ``tag`` names the session in the relay's logs (characters outside
    ``A-Za-z0-9_.-`` are replaced; the relay reads the expiry up to the first colon)."""
    if not secret:
        raise ValueError("no TURN secret")
    if lifetime_s <= 0:
        raise ValueError("the lifetime must be positive")
    expires = int(now_s + lifetime_s)
    safe_tag = _UNSAFE_TAG_CHARS.sub("_", tag)[:TAG_MAX_CHARS] or "session"
    username = f"{expires}:{safe_tag}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires)


@dataclass(frozen=True, slots=True)
class IceConfig:
    """The ICE servers a candidate's page is given: static STUN/TURN URLs (``--ice-server``)
    and, with a shared secret, TURN relays with freshly minted credentials (``--turn-url``)."""

    servers: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> IceConfig:
        return cls(settings.ice_servers, settings.turn_urls, settings.turn_secret)

    def for_page(
        self, tag: str, remaining_interview_s: float, now_s: float
    ) -> list[dict[str, Any]]:
        """``RTCIceServer`` dictionaries; one entry carries every TURN URL and one credential
        (the browser tries them all; relaying is its fallback, never forced)."""
        out: list[dict[str, Any]] = [{"urls": url} for url in self.servers]
        if self.turn_urls and self.turn_secret:
            pair = mint(
                self.turn_secret,
                tag,
                lifetime_s=credential_lifetime_s(remaining_interview_s),
                now_s=now_s,
            )
            out.append(
                {
                    "urls": list(self.turn_urls),
                    "username": pair.username,
                    "credential": pair.credential,
                }
            )
        return out
