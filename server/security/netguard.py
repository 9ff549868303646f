"""Which addresses outgoing webhooks may reach: public ones, plus networks the operator allows.

An org admin chooses a webhook's URL, so without a guard the server would POST to whatever
that URL reaches from inside: Redis on loopback, the cloud metadata service on 169.254.169.254,
intranet hosts. :class:`NetGuard` refuses every internal address (loopback, private, link-local,
CGNAT, multicast, reserved, and the IPv4-mapped IPv6 forms of those) unless it lies in a network
listed in ``INTERVIEW_WEBHOOK_ALLOW_NETWORKS``.

:func:`guarded_session` applies the guard where it cannot be bypassed: its resolver refuses a
host name when any address it resolves to is internal, and its socket factory checks the very
address each socket connects to (IP literals skip the resolver), so a DNS answer that changes
between check and connect, or a URL written as an IP address, reaches nothing internal.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from server.core.config import ENV_PREFIX, Settings

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = ENV_PREFIX + "WEBHOOK_ALLOW_NETWORKS"
"""The environment variable an operator lists internal networks in (CIDR, comma-separated)."""


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), kind) for cidr, kind in pairs)


INTERNAL_NETWORKS: tuple[tuple[IPNetwork, str], ...] = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),  # incl. cloud metadata 169.254.169.254
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # incl. broadcast 255.255.255.255
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/8", "reserved"),  # IPv4-compatible and other legacy forms (IPv4-mapped: unwrapped first)
    ("64:ff9b:1::/48", "private"),  # local-use NAT64
    ("100::/64", "reserved"),
    ("2001::/23", "reserved"),
    ("2001:db8::/32", "reserved"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private"),  # deprecated site-local
    ("ff00::/8", "multicast"),
)
"""Address ranges that are not webhook targets, each with what it is (for the error message)."""

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _shown(address: IPAddress) -> str:
    """``address`` as people write it (``::ffff:127.0.0.1``, not ``::ffff:7f00:1``)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def internal_kind(address: IPAddress) -> str | None:
    """What kind of internal address ``address`` is ("loopback", "private", …); None if public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return internal_kind(embedded)
    for network, kind in INTERNAL_NETWORKS:
        if address.version == network.version and address in network:
            return kind
    return None


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv6 with or without brackets and zone), or None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def is_numeric_host(host: str) -> bool:
    """Digits, dots and hex only (``127.1``, ``2130706433``, ``0x7f.1``): an IPv4 address in a
    legacy form that resolvers still accept. A host name never looks like this."""
    return _NUMERIC_HOST.fullmatch(host) is not None


class BlockedTarget(OSError):
    """A webhook would connect to an internal address; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class NetGuard:
    """Decides whether an address may be a webhook target."""

    allow: tuple[IPNetwork, ...] = ()
    """Networks the operator allows although they are internal (e.g. an intranet HR system)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> NetGuard:
        return cls(tuple(ipaddress.ip_network(n) for n in settings.webhook_allow_networks))

    def _allowed(self, address: IPAddress) -> bool:
        candidates = [address]
        if (embedded := _embedded_ipv4(address)) is not None:
            candidates.append(embedded)
        return any(a.version == net.version and a in net for a in candidates for net in self.allow)

    def refusal(self, address: IPAddress, host: str = "") -> str | None:
        """Why ``address`` may not be a webhook target (``host``: the name that resolved to
        it), or None when it may."""
        kind = internal_kind(address)
        if kind is None or self._allowed(address):
            return None
        shown = _shown(address)
        reason = f"target address {shown} is internal ({kind}); allow it with {ALLOW_SETTING}"
        return f"{host} resolves to {shown}: {reason}" if host and host != shown else reason

    def check(self, address: str, host: str = "") -> None:
        """Raise :class:`BlockedTarget` unless ``address`` may be connected to."""
        parsed = parse_address(address)
        if parsed is None:  # not an address we can classify: refuse rather than guess
            raise BlockedTarget(f"target address {address!r} is not an IP address")
        if (reason := self.refusal(parsed, host)) is not None:
            raise BlockedTarget(reason)


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver (``getaddrinfo`` in a thread), refusing a host name when any
    address it resolves to is internal and not allowed."""

    def __init__(self, guard: NetGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._guard.check(result["host"], host)
        return results

    async def close(self) -> None:
        await self._inner.close()


@asynccontextmanager
async def guarded_session(guard: NetGuard, **kwargs: Any) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that reaches only addresses ``guard`` allows (``kwargs``: timeout, …)."""

    def socket_factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        guard.check(str(address[0]))  # the address this very socket is about to connect to
        return socket.socket(family=family, type=type_, proto=proto)

    resolver = GuardedResolver(guard)
    try:
        connector = aiohttp.TCPConnector(resolver=resolver, socket_factory=socket_factory)
        async with aiohttp.ClientSession(connector=connector, **kwargs) as http:
            yield http
    finally:
        await resolver.close()  # a connector does not close a resolver it was given


def blocked_reason(exc: BaseException) -> str | None:
    """The :class:`BlockedTarget` message behind an aiohttp client error, if it is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, BlockedTarget):
            return str(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
