"""HRIS integration: signed webhooks with retries and a delivery log; CSV/XLSX exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openpyxl import load_workbook

from loadtest.inprocess import make_job
from server.domain.models import Role, Status
from server.interview.progress import publish_status
from server.outbound.webhooks import sign
from server.storage.store import StatusChange
from tests.support.metrics import scrape
from tests.support.server import LOOPBACK, RunningServer, free_port, running_server
from tests.test_reports import completed_interview


class Receiver:
    """An HR system on loopback that fails the first request, then accepts."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()
        self.fail_first = True

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        self.arrived.set()
        if self.fail_first:
            self.fail_first = False
            return web.Response(status=503, text="busy")
        return web.Response(status=204)

    async def wait(self, n: int, timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.requests) < n:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def hook_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server whose webhooks may reach the receiver on loopback (internal addresses are
    refused unless allowed: tests/test_netguard.py)."""
    async with running_server(
        tmp_path / "data", analysis_workers=0, webhook_allow_networks=(f"{LOOPBACK}/32",)
    ) as srv:
        yield srv


async def test_signed_webhooks_are_retried_and_logged(hook_server: RunningServer) -> None:
    server = hook_server
    admin = await server.add_staff("admin", Role.ADMIN)
    hr = await server.add_staff("hr", Role.HR)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        url = f"http://{LOOPBACK}:{port}/hook"
        await server.call("POST", "/api/webhooks", token=hr, json={"url": url}, expect=403)
        await server.call("POST", "/api/webhooks", token=admin, json={"url": "ftp://x"}, expect=422)
        await server.call(
            "POST", "/api/webhooks", token=admin, json={"url": url, "events": ["nope"]}, expect=422
        )
        hook = await server.call(
            "POST", "/api/webhooks", token=admin, json={"url": url}, expect=201
        )
        job = await make_job(server, admin)
        iid = await completed_interview(server, admin, job["id"], "Ann", {"logic": 8})
        org_id = (await server.call("GET", "/api/me", token=admin))["org_id"]
        await publish_status(
            server.svc, StatusChange(iid, job["id"], org_id, Status.IN_PROGRESS, Status.COMPLETED)
        )
        await server.call(
            "POST",
            f"/api/interviews/{iid}/decision",
            token=admin,
            json={"recommendation": "advance"},
            expect=201,
        )
        # interview.completed fails once (503) and is retried after the back-off; decision.made
        try:
            await receiver.wait(3)
        except TimeoutError:
            log = await server.call("GET", f"/api/webhooks/{hook['id']}/deliveries", token=admin)
            raise AssertionError((len(receiver.requests), log)) from None
        events = [json.loads(body)["event"] for _, body in receiver.requests]
        assert events.count("interview.completed") == 2 and "decision.made" in events
        for headers, body in receiver.requests:
            ts = headers["X-InterviewLive-Timestamp"]
            assert headers["X-InterviewLive-Signature"] == sign(hook["secret"], ts, body)
        decision = next(json.loads(b) for _, b in receiver.requests if b"decision.made" in b)
        assert decision["data"]["recommendation"] == "advance"
        log = await server.call("GET", f"/api/webhooks/{hook['id']}/deliveries", token=admin)
        completed = next(d for d in log if d["event"] == "interview.completed")
        assert completed["status"] == "delivered" and completed["attempts"] == 2
        metrics = await scrape(server.http, server.base_url)
        assert metrics.value("interview_live_webhook_attempts_total", outcome="failed") == 1
        assert (
            metrics.value("interview_live_webhook_attempts_total", outcome="delivered") or 0
        ) >= 2
        assert metrics.value("interview_live_webhook_gave_up_total") == 0
        assert "secret" not in json.dumps(await server.call("GET", "/api/webhooks", token=admin))
    finally:
        await runner.cleanup()


async def test_exports(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    examiner = await server.add_staff("exa", Role.EXAMINER)
    job = await make_job(server, admin)
    await completed_interview(server, admin, job["id"], "张伟", {"logic": 8, "expression": 6})
    await completed_interview(server, admin, job["id"], "=HYPERLINK(1)", {"logic": 5})
    path = f"/api/jobs/{job['id']}/export"
    await server.call("GET", path, token=examiner, expect=403)
    await server.call("GET", path + "?format=pdf", token=admin, expect=400)
    raw = await server.call("GET", path, token=admin)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["张伟", "'=HYPERLINK(1)"]  # formula neutralised
    assert rows[0]["job_match_percent"] == "72.0" and rows[0]["logic_ai"] == "8.0"
    book = load_workbook(io.BytesIO(await server.call("GET", path + "?format=xlsx", token=admin)))
    values: list[Any] = [[c.value for c in row] for row in book.active.iter_rows()]
    assert values[0][:5] == ["interview_id", "name", "email", "status", "job_match_percent"]
    assert values[1][1] == "张伟" and values[1][4] == 72.0
