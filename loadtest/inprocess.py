"""The whole server in-process on a loopback port, with the small API client that tests and load
tests share."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.api.http import SERVICES
from server.app.app import create_app
from server.core.config import load_settings
from server.core.services import Services
from server.domain.models import Role
from server.security.auth import hash_password

LOOPBACK = "127.0.0.1"


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
async def running_server(
    data_dir: Path, *, listen: str = LOOPBACK, **overrides: Any
) -> AsyncIterator[RunningServer]:
    """The whole server in this event loop on a free loopback port (``overrides``: settings),
    with an HTTP client; stopped on exit. ``listen``: the address the port is bound on (the
    client still uses loopback), e.g. ``0.0.0.0`` to be reached over another interface too."""
    port = free_port()
    settings = load_settings(
        env={}, data_dir=data_dir, host=LOOPBACK, port=port, ice_hosts=(LOOPBACK,), **overrides
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, listen, port)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningServer(app, f"http://{LOOPBACK}:{port}", http)
    finally:
        await runner.cleanup()


def bank_plan(bank: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An interview plan from the question bank: one self-introduction, two structured
    questions, one written professional question."""

    def ids(section: str, n: int, media: str | None = None) -> list[str]:
        return [
            q["id"]
            for q in bank
            if q["section"] == section and (media is None or q["media"] == media)
        ][:n]

    return [
        {"section": "self_intro", "questions": ids("self_intro", 1)},
        {"section": "structured", "questions": ids("structured", 2)},
        {"section": "professional", "questions": ids("professional", 1, "text")},
    ]


async def make_job(server: RunningServer, token: str, **overrides: Any) -> dict[str, Any]:
    """Create an English job on the bank's questions (``overrides``: body fields)."""
    bank = await server.call("GET", "/api/questions", token=token)
    body = {
        "title": "Policy officer",
        "department": "Policy Office",
        "description": "Drafts policy documents and handles emergencies.",
        "language": "en",
        "competencies": [{"id": "logic", "weight": 0.6}, {"id": "expression", "weight": 0.4}],
        "plan": bank_plan(bank),
        **overrides,
    }
    return dict(await server.call("POST", "/api/jobs", token=token, json=body, expect=201))
