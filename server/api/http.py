"""HTTP plumbing shared by the route modules: JSON errors, body parsing, services access,
recordings streamed with byte ranges."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from server.core.services import Services
from server.security.encrypted_media import RangeSource, parse_range, plaintext_windows
from server.storage.store import Conflict, NotFound

logger = logging.getLogger(__name__)


class ApiError(web.HTTPException):
    """An error answered as ``{"error", "message", "errors"?}`` JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.status_code = status
        super().__init__(headers=headers)
        body: dict[str, Any] = {"error": code, "message": message}
        if errors is not None:
            body["errors"] = errors
        if extra:
            body.update(extra)
        self.body = json.dumps(body, ensure_ascii=False).encode()
        self.content_type = "application/json"


SERVICES = web.AppKey("services", Services)
TRUSTED_PROXY_NETWORKS: web.AppKey[tuple[IPNetwork, ...]] = web.AppKey("trusted_proxy_networks")
"""The parsed ``Settings.trusted_proxies`` (the access logger reads them too)."""


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]`` (``default`` when absent or
    empty); 400 for anything else, including non-ASCII digits such as "²"."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} must be a whole number from {low} to {high}")
    return int(raw)


async def read_text(request: web.Request) -> str:
    """The request's body as UTF-8 text; 400 when empty or not UTF-8, 413 when too large."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", "request body too large") from None
    if not raw:
        raise ApiError(400, "bad_json", "request body must be JSON")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad_json", f"request body is not valid JSON: {exc}") from None


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 400 on malformed JSON, 413 when too large (an unpaired
    surrogate escape, valid JSON but no text, is malformed here)."""
    text = await read_text(request)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # bad JSON, absurd nesting
        raise ApiError(400, "bad_json", f"request body is not valid JSON: {exc}") from None
    if _SURROGATE_ESCAPE_RE.search(text):
        # "\ud800" alone is valid JSON but no text: it can be neither stored nor sent back
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "bad_json", "request body has an unpaired surrogate") from None
    return data


_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
"""Only a body with such an escape can hold an unpaired surrogate (a cheap test first)."""


async def read_object(request: web.Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "request body must be a JSON object")
    return data


def unknown_form_field(name: str | None, expected: str) -> ApiError:
    """A multipart part the operation does not declare (the document forbids extra parts)."""
    return ApiError(
        422,
        "unknown_field",
        f"unexpected form field {name!r}; send the file as {expected!r}",
        [{"row": None, "field": str(name), "message": "unknown field"}],
    )


async def read_upload(request: web.Request, field_name: str = "file") -> tuple[str, bytes]:
    """One uploaded file from a multipart form (or a raw body with a filename query)."""
    try:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "name", None) != field_name:
                    raise unknown_form_field(getattr(part, "name", None), field_name)
                data = await part.read(decode=False)  # type: ignore[union-attr]
                return part.filename or "upload", bytes(data)  # type: ignore[union-attr]
            raise ApiError(400, "missing_file", f"multipart field {field_name!r} is missing")
        data = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", "upload too large") from None
    except (ValueError, HttpProcessingError) as exc:
        raise ApiError(400, "bad_multipart", f"malformed upload: {exc}") from None
    return request.query.get("filename", "upload"), data


async def send_recording(
    request: web.Request, source: RangeSource | Path, headers: dict[str, str]
) -> web.StreamResponse:
    """Stream a recording opened by the recordings storage (its plaintext, or a local file
    written before encryption was on), honouring one byte range; closes the source."""
    if isinstance(source, Path):
        return web.FileResponse(source, headers=headers)
    try:
        size = source.plaintext_size
        try:
            wanted = parse_range(request.headers.get(hdrs.RANGE), size)
        except ValueError:
            raise ApiError(
                416,
                "bad_range",
                "requested range not satisfiable",
                headers={hdrs.CONTENT_RANGE: f"bytes */{size}"},
            ) from None
        first, last = wanted if wanted is not None else (0, size - 1)
        response = web.StreamResponse(status=206 if wanted is not None else 200, headers=headers)
        response.headers[hdrs.ACCEPT_RANGES] = "bytes"
        response.content_length = max(0, last - first + 1)
        if wanted is not None:
            response.headers[hdrs.CONTENT_RANGE] = f"bytes {first}-{last}/{size}"
        await response.prepare(request)
        # a window that does not decrypt (or cannot be fetched) ends the body short: the
        # player reports the error
        async with contextlib.aclosing(plaintext_windows(source, first, last)) as windows:
            async for data in windows:
                await response.write(data)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(source.close)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEPT_ERROR_HEADERS = frozenset({hdrs.ALLOW, hdrs.RETRY_AFTER, hdrs.WWW_AUTHENTICATE})
"""Headers of an aiohttp error that survive its conversion to a JSON error."""


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors to JSON 4xx responses; never leak a traceback to the client."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "too_large", "request body too large") from None
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            # keep what the status requires, e.g. Allow on 405 (RFC 9110 §15.5.6)
            kept = {k: v for k, v in exc.headers.items() if k in KEPT_ERROR_HEADERS}
            raise ApiError(exc.status, "http_error", exc.reason, headers=kept) from None
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        raise ApiError(500, "internal", "internal server error") from None


# -- the client's address behind reverse proxies ---------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]*)\](?::[0-9]{1,5})?|(?P<v4>[0-9.]+):[0-9]{1,5}")


def _address(text: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry as an address, or None when malformed. Accepts IPv4, IPv6,
    ``[IPv6]`` and either with a ``:port`` (dropped); IPv4-mapped IPv6 becomes IPv4."""
    text = text.strip()
    if match := _WITH_PORT.fullmatch(text):
        text = match["v6"] if match["v6"] is not None else match["v4"]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address: ``peer`` itself unless it is a trusted proxy.

    From a trusted peer, the ``X-Forwarded-For`` lines (in order, joined) are read from the
    right: each trusted hop vouches for the entry on its left, so trusted proxies are skipped
    and the first address that is not one is the client; entries further left are whatever the
    client sent and are never read. A malformed entry vouches for nothing: the walk stops and the
    last trusted hop read stands (the peer when it is the last entry). Every entry a trusted
    proxy: the furthest one. Returned normalised (no port, ``::ffff:a.b.c.d`` as ``a.b.c.d``)."""
    address = _address(peer)
    if address is None or not _trusted(address, trusted):
        return peer
    entries = [entry for line in forwarded_for for entry in line.split(",")]
    for entry in reversed(entries):
        hop = _address(entry)
        if hop is None:
            break
        address = hop
        if not _trusted(hop, trusted):
            break
    return str(address)


def client_address_middleware(trusted_proxies: Sequence[str]) -> Middleware:
    """Behind trusted reverse proxies (``Settings.trusted_proxies``), hand the handler a clone
    of the request whose ``remote`` is the client (:func:`client_address`): per-address limits,
    audit events and consent records then name the client, not the proxy. Register it first,
    before anything reads ``request.remote``. Without trusted proxies the header is ignored.

    aiohttp's access logger still receives the original request (the peer's address)."""
    networks = tuple(ipaddress.ip_network(network) for network in trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks:
            peer = request.remote or ""
            forwarded = request.headers.getall(hdrs.X_FORWARDED_FOR, ())
            client = client_address(peer, forwarded, networks)
            if client != peer:
                request = request.clone(remote=client)
        return await handler(request)

    return middleware
