"""A real server on a loopback port for integration tests, plus a small API client."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.api.http import SERVICES, Services
from server.app.app import create_app
from server.app.config import load_settings
from server.domain.models import Role
from server.security.auth import hash_password

LOOPBACK = "127.0.0.1"
TEST_MODELS_DIR = Path(__file__).resolve().parents[2] / ".test-artifacts" / "models"
"""Bundled models unpacked once for the whole test run."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    app: web.Application
    base_url: str
    http: aiohttp.ClientSession

    @property
    def svc(self) -> Services:
        return self.app[SERVICES]

    async def add_staff(
        self, username: str, role: Role, *, department: str = "", org_id: str | None = None
    ) -> str:
        """Create a staff user (and the org on first use); returns a bearer token."""
        store = self.svc.store
        if org_id is None:
            org = await store.first_org()
            org_id = org["id"] if org else await store.create_org("Test Org")
        await store.create_user(org_id, username, hash_password("pw-" + username), role, department)
        data = await self.call(
            "POST", "/api/auth/login", json={"username": username, "password": "pw-" + username}
        )
        return str(data["token"])

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        expect: int | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as resp:
            body = (
                await resp.json(content_type=None)
                if resp.content_type == "application/json"
                else await resp.read()
            )
            if expect is not None:
                assert resp.status == expect, f"{method} {path}: {resp.status} {body!r}"
            elif resp.status >= 400:
                raise AssertionError(f"{method} {path}: {resp.status} {body!r}")
            return body


@asynccontextmanager
async def running_server(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    port = free_port()
    overrides.setdefault("models_dir", TEST_MODELS_DIR)
    settings = load_settings(
        env={}, data_dir=data_dir, host=LOOPBACK, port=port, ice_hosts=(LOOPBACK,), **overrides
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningServer(app, f"http://{LOOPBACK}:{port}", http)
    finally:
        await runner.cleanup()
