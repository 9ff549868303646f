"""Access log without secrets: query strings (invitation tokens on sockets, signatures on
recording links) and path tokens (``/i/<token>``) are masked before a line is written."""

from __future__ import annotations

import re

from aiohttp import hdrs
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from server.api.http import TRUSTED_PROXY_NETWORKS, client_address

_SECRET_PATH = re.compile(r"^/i/[^/?]+")


def redact(path_qs: str) -> str:
    path, _, query = path_qs.partition("?")
    path = _SECRET_PATH.sub("/i/***", path)
    if query:
        names = [pair.split("=", 1)[0] for pair in query.split("&") if pair]
        path += "?" + "&".join(f"{name}=***" for name in names)
    return path


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        # aiohttp logs the original request: behind a trusted proxy name the client
        # (the same rule as server.api.http.client_address_middleware)
        remote = request.remote or ""
        try:
            networks = request.app.get(TRUSTED_PROXY_NETWORKS)  # type: ignore[attr-defined]
        except (AttributeError, AssertionError):  # refused before routing: no app, no match
            networks = None
        if networks:
            remote = client_address(
                remote, request.headers.getall(hdrs.X_FORWARDED_FOR, ()), networks
            )
        self.logger.info(
            '%s "%s %s" %s %.1f ms',
            remote,
            request.method,
            redact(request.path_qs),
            response.status,
            time * 1000,
        )
