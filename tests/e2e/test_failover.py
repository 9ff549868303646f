"""End to end: two media nodes of one deployment, and a candidate page that moves between them.

A real redis-server and two ``interview-live serve`` processes (nodes a and b) on loopback share
one data directory. Headless Chromium is the candidate: when its node is killed mid-answer the
page continues on the other node at the same point; when its node is full the offer is refused
with 503 "busy" and the page goes to the node the refusal names.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_browser_interview import (
    Api,
    consent_and_device_check,
    remaining_s,
    three_question_invitation,
)
from tests.support.candidate import ScriptedCandidate
from tests.support.media import ENGLISH_ANSWER
from tests.support.nodes import node_process
from tests.support.process import STOP_TIMEOUT_S, ServerProcess, run_demo
from tests.support.redis_server import redis_server
from tests.support.server import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SENTENCE = ENGLISH_ANSWER
ANSWER_S = 90
"""Far more than the test needs: the answer is still running after the move."""
UI_TIMEOUT_MS = 20_000
MOVE_TIMEOUT_MS = 20_000
"""Node a killed → the page is on node b."""
ANSWERING_BEFORE_KILL_S = 4.0
REMAINING_TOLERANCE_S = 3.0
"""The clock is paused while disconnected; the kill may lose the last second or so."""
REGISTRY_WAIT_S = 10.0
"""Nodes see each other through Redis heartbeats (one a second)."""
BUSY_RETRY_S = 1.0


@dataclass
class Node:
    name: str
    srv: ServerProcess
    proc: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return self.srv.base_url

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT_S)


def healthz(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
        return dict(json.loads(resp.read()))


@contextmanager
def media_node(
    name: str, port: int, data_dir: Path, redis_url: str, demo: dict[str, Any], *extra: str
) -> Iterator[Node]:
    """``interview-live serve`` as node ``name`` of the deployment; stopped afterwards."""
    with node_process(
        data_dir, name, "--redis-url", redis_url, "--analysis-workers", "0", *extra, port=port
    ) as node:
        yield Node(name, ServerProcess(node.base_url, data_dir, demo, node.log), node.proc)


@contextmanager
def deployment(data_dir: Path, a_args: tuple[str, ...] = ()) -> Iterator[tuple[Node, Node]]:
    """Redis and nodes a and b sharing ``data_dir`` (seeded once with demo data)."""
    port_a, port_b = free_port(), free_port()
    demo = run_demo(data_dir, port_a)
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        a = stack.enter_context(media_node("a", port_a, data_dir, redis_url, demo, *a_args))
        b = stack.enter_context(media_node("b", port_b, data_dir, redis_url, demo))
        yield a, b


def token_of(url: str) -> str:
    return url.rsplit("/i/", 1)[1]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def wait_until_listed(http: aiohttp.ClientSession, on: Node, other: Node, token: str) -> None:
    """Until ``on`` offers ``other`` as an alternate to this candidate (registry heartbeats)."""
    deadline = time.monotonic() + REGISTRY_WAIT_S
    while True:
        async with http.get(
            on.base_url + "/api/candidate/state", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            assert r.status == 200, await r.text()
            if other.base_url in (await r.json())["alternates"]:
                return
        assert time.monotonic() < deadline, f"node {on.name} never listed node {other.name}"
        await asyncio.sleep(0.2)


async def wait_live_sessions(node: Node, expected: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (live := (await asyncio.to_thread(healthz, node.base_url))["live_sessions"]) != expected:
        assert time.monotonic() < deadline, f"node {node.name}: live_sessions {live} != {expected}"
        await asyncio.sleep(0.2)


async def connect_admitted(cand: ScriptedCandidate, timeout_s: float = 20.0) -> None:
    """Connect, retrying like the page while the node answers 503 busy (clients must)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await cand.connect()
            return
        except AssertionError as exc:  # ScriptedCandidate.api: "POST /api/...: 503 {...}"
            if ": 503 " not in str(exc) or time.monotonic() > deadline:
                raise
        await cand.disconnect()
        await asyncio.sleep(BUSY_RETRY_S)


async def phase_of(page: Page) -> str | None:
    return await page.get_by_test_id("phase").get_attribute("data-phase")


async def test_page_moves_to_another_node_when_its_node_dies(
    speaking_browser: Browser, tmp_path: Path
) -> None:
    with deployment(tmp_path / "data") as (a, b):
        async with aiohttp.ClientSession() as http:
            api = Api(http, a.srv)
            await api.login()
            interview_id, url = await three_question_invitation(api, ANSWER_S)
            assert url.startswith(a.base_url + "/i/")
            await wait_until_listed(http, a, b, token_of(url))

            page = await (await speaking_browser.new_context()).new_page()
            await consent_and_device_check(page, url)
            await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
            await expect(page.get_by_test_id("phase")).to_have_attribute(
                "data-phase", "answer", timeout=UI_TIMEOUT_MS
            )
            await page.get_by_test_id("scratchpad").fill("notes before the crash")
            await page.get_by_test_id("lang-switch").click()  # the candidate prefers Chinese
            await asyncio.sleep(ANSWERING_BEFORE_KILL_S)
            question = await page.get_by_test_id("question-text").text_content()
            before = await remaining_s(page)
            assert await phase_of(page) == "answer"
            assert origin_of(page.url) == a.base_url, page.url  # still where it started
            a.kill()
            killed_at = time.monotonic()

            await page.wait_for_url(lambda u: origin_of(u) == b.base_url, timeout=MOVE_TIMEOUT_MS)
            # resumed on b: the same question, answering, with the time it had
            await expect(page.get_by_test_id("phase")).to_have_attribute(
                "data-phase", "answer", timeout=UI_TIMEOUT_MS
            )
            resumed_after_s = time.monotonic() - killed_at
            after = await remaining_s(page)
            assert await page.get_by_test_id("question-text").text_content() == question
            assert after == pytest.approx(before, abs=REMAINING_TOLERANCE_S), (before, after)
            assert await page.locator("html").get_attribute("lang") == "zh-CN"
            assert resumed_after_s < MOVE_TIMEOUT_MS / 1000, resumed_after_s
            await expect(page.locator("body")).to_have_attribute("data-link", "up")
            await wait_live_sessions(b, 1)
            await expect(page.get_by_test_id("scratchpad")).to_have_value("notes before the crash")

            # the answer finishes on b and the interview moves on to the next question
            await page.get_by_test_id("answer-finish").click()
            await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)
            api_b = Api(http, b.srv)
            await api_b.login()
            detail = await api_b("GET", f"/api/interviews/{interview_id}")
            assert detail["current"]["index"] == 1, detail["current"]
            assert detail["answers"][0]["status"] == "done", detail["answers"][0]
            assert detail["answers"][0]["scratchpad"] == "notes before the crash"


async def test_busy_node_sends_the_candidate_elsewhere(
    speaking_browser: Browser, media: tuple[Path, Path], tmp_path: Path
) -> None:
    with deployment(tmp_path / "data", a_args=("--max-live-sessions", "1")) as (a, b):
        async with aiohttp.ClientSession() as http:
            api = Api(http, a.srv)
            await api.login()
            interview_id, first_url = await three_question_invitation(api, ANSWER_S)
            job_id = (await api("GET", f"/api/interviews/{interview_id}"))["job_id"]
            second = await api(
                "POST",
                f"/api/jobs/{job_id}/invitations",
                json={"name": "Second Candidate", "email": "c2@example.com", "language": "en"},
            )
            url = second["url"]
            assert url.startswith(a.base_url + "/i/")

            # node a's only live slot is taken by a scripted candidate
            cand = ScriptedCandidate(http, a.base_url, token_of(first_url), *media)
            try:
                await cand.consent()
                await connect_admitted(cand)
                await wait_until_listed(http, a, b, token_of(url))

                refused_before = healthz(a.base_url)["admission"]["refused"]

                page = await (await speaking_browser.new_context()).new_page()
                await consent_and_device_check(page, url)
                assert origin_of(page.url) == b.base_url, page.url
                await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)
                await expect(page.locator("body")).to_have_attribute("data-link", "up")
                await wait_live_sessions(b, 1)
                await wait_live_sessions(a, 1)  # only the scripted candidate is left on a
                assert cand.pc is not None and cand.pc.connectionState == "connected"
                # it moved because a refused it (503 busy), and b admitted it
                assert healthz(a.base_url)["admission"]["refused"] > refused_before
                assert healthz(b.base_url)["admission"]["live"] == 1
            finally:
                await cand.disconnect()
