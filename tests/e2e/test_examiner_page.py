"""End to end: the examiner's live page in headless Chromium follows a scripted aiortc candidate.

The real server process (demo data, analyzer workers), a candidate streaming a face video and a
spoken sentence through the real candidate API, and the examiner page logged in through the
admin page (the page reuses the admin session). One live delta is dropped on the way to the
page to check that it notices the sequence gap, asks for a resync and carries on, and
``analysis_degraded`` deltas are slipped in to check the reduced-analysis badge (the server
side of degradation is tests/test_degrade.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.e2e.test_browser_interview import Api, three_question_invitation
from tests.support.candidate import ScriptedCandidate
from tests.support.media import ENGLISH_ANSWER
from tests.support.pages import admin_login
from tests.support.process import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

SENTENCE = ENGLISH_ANSWER
ANSWER_S = 60
"""The question's answer time; the candidate speaks for about ANSWER_WINDOW_S of it."""
ANSWER_WINDOW_S = 15
UI_TIMEOUT_MS = 20_000
SPEECH_TO_SCREEN_MAX_S = 2.0
"""End of speech → final on the examiner's screen (ASR final ≤ 1 s target + delivery)."""
SERVER_TO_SCREEN_MAX_S = 1.0
"""Server send → rendered on the page."""
DROP_NTH_FINAL = 2
"""This final transcript is withheld from the page (a numbered message: a sequence gap)."""


def examiner_path(srv: ServerProcess) -> str:
    """``/examiner`` once the server routes it, else the static file."""
    try:
        with urllib.request.urlopen(srv.base_url + "/examiner", timeout=5) as resp:
            if resp.status == 200 and b"/static/examiner/app.js" in resp.read():
                return "/examiner"
    except OSError:
        pass
    return "/static/examiner/index.html"


class GapInjector:
    """Relays the page's live socket, withholding one delta and recording what the page sends."""

    def __init__(self) -> None:
        self.dropped: dict[str, Any] | None = None
        self.finals_seen = 0
        self.sent_by_page: list[dict[str, Any]] = []
        self.to_page: WebSocketRoute | None = None

    async def install(self, page: Page) -> None:
        await page.route_web_socket(lambda url: urlparse(url).path == "/ws", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.to_page = ws

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str):
                self.sent_by_page.append(json.loads(message))
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str) and self.dropped is None:
                data = json.loads(message)
                if data.get("type") == "transcript_final":
                    self.finals_seen += 1
                    if self.finals_seen == DROP_NTH_FINAL:
                        self.dropped = data
                        return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def degrade(self, topic: str, interview_id: str, level: int) -> None:
        """Tell the page its analysis now runs at ``level`` (an unnumbered delta)."""
        assert self.to_page is not None
        event = {
            "type": "analysis_degraded",
            "v": 1,
            "kind": "analysis",
            "topic": topic,
            "interview_id": interview_id,
            "t": 5.0,
            "question_index": None,
            "level": level,
            "reduced": [],
            "reason": "server_load",
        }
        self.to_page.send(json.dumps(event))

    def resyncs(self, topic: str) -> list[dict[str, Any]]:
        return [
            m for m in self.sent_by_page if m.get("type") == "resync" and m.get("topic") == topic
        ]


async def test_examiner_page_follows_a_live_candidate(
    live_server: ServerProcess, browser: Browser, media: tuple[Path, Path]
) -> None:
    async with asyncio.timeout(120), aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        interview_id, url = await three_question_invitation(api, ANSWER_S)
        topic = f"interview:{interview_id}"

        page = await (await browser.new_context(locale="en-US")).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        gaps = GapInjector()
        await gaps.install(page)
        await admin_login(page, live_server)
        await page.goto(
            f"{live_server.base_url}{examiner_path(live_server)}#/interviews/{interview_id}"
        )
        view = page.get_by_test_id("live-view")
        await expect(view).to_have_attribute("data-snapshots", "1", timeout=UI_TIMEOUT_MS)
        await expect(page.get_by_test_id("live-title")).to_have_text(
            "Browser Candidate", timeout=UI_TIMEOUT_MS
        )
        transcript = page.get_by_test_id("live-transcript")
        scores = page.get_by_test_id("live-scores")

        cand = ScriptedCandidate(http, live_server.base_url, url.rsplit("/i/", 1)[1], *media)
        await cand.consent()
        await cand.connect()
        try:
            await cand.device_check()
            await cand.send({"type": "start_interview"})
            await cand.wait_phase(0, "prep")
            await cand.send({"type": "start_answer"})
            await cand.wait_phase(0, "answer")
            started = asyncio.get_running_loop().time()

            # The sentence (7.3 s of speech) reaches the page as a final within the target.
            await expect(transcript.locator(".tr-final").first).to_be_visible(timeout=UI_TIMEOUT_MS)
            await expect(transcript).to_contain_text("public service", timeout=UI_TIMEOUT_MS)
            await expect(transcript).to_contain_text("helping people", timeout=UI_TIMEOUT_MS)
            first = transcript.locator(".tr-final").first
            timing = await first.evaluate("e => ({...e.dataset})")
            assert timing["q"] == "0", timing
            server_to_screen = float(timing["shownAt"]) - float(timing["serverTs"])
            speech_to_screen = float(timing["latencyS"]) + server_to_screen
            assert server_to_screen <= SERVER_TO_SCREEN_MAX_S, timing
            assert speech_to_screen <= SPEECH_TO_SCREEN_MAX_S, timing
            text = await first.locator(".tr-text").inner_text()
            words = set(SENTENCE.lower().rstrip(".").split())
            heard = set(text.lower().replace(".", "").replace(",", "").split())
            assert len(words & heard) >= 0.8 * len(words), text
            await expect(first.locator(".tr-q")).to_have_text("Q1")

            # At least one AI score suggestion row with a value, a reason and evidence.
            row = scores.get_by_test_id("score-row").first
            await expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
            await expect(row.locator(".sc-value")).to_have_text(re.compile(r"^\d+(\.\d)?/10$"))
            await expect(row.locator(".sc-name")).to_have_text("Verbal expression")
            reason = await row.locator(".sc-reason").inner_text()
            assert (
                reason
                and " / " not in reason
                and not any("\u4e00" <= c <= "\u9fff" for c in reason)
            )
            await expect(scores).to_contain_text("AI suggestion")

            # Current question and timer from the polled interview; face strip from face_metrics.
            await expect(page.get_by_test_id("current-question")).to_have_attribute(
                "data-phase", "answer", timeout=8000
            )
            remaining = float(
                await page.get_by_test_id("countdown").get_attribute("data-remaining-s") or -1
            )
            assert 0 < remaining <= ANSWER_S, remaining
            await expect(page.get_by_test_id("face-count")).to_have_text("1")

            # Reduced analysis under server load: a badge saying what is reduced, until the
            # analysis is full again.
            degraded = page.get_by_test_id("analysis-degraded")
            gaps.degrade(topic, interview_id, 3)
            await expect(degraded).to_be_visible()
            await expect(degraded).to_have_attribute("data-level", "3")
            await expect(degraded).to_contain_text("Reduced analysis: high server load")
            await expect(degraded).to_contain_text("face 2.5 times a second")
            await expect(degraded).to_contain_text("flags are not affected")
            gaps.degrade(topic, interview_id, 0)
            await expect(degraded).to_be_hidden()

            # The withheld delta made a sequence gap: the page asked for a resync and took the
            # fresh snapshot without duplicating what it already showed.
            for _ in range(100):
                if gaps.dropped is not None:
                    break
                await asyncio.sleep(0.2)
            assert gaps.dropped is not None, "no delta was withheld"
            for _ in range(50):
                if gaps.resyncs(topic):
                    break
                await asyncio.sleep(0.2)
            assert gaps.resyncs(topic), gaps.sent_by_page
            await expect(view).not_to_have_attribute("data-snapshots", "1", timeout=UI_TIMEOUT_MS)
            keys = await transcript.locator(".tr-final").evaluate_all(
                "els => els.map(e => e.dataset.key)"
            )
            assert len(keys) == len(set(keys)), keys

            # Let the answer run on, then switch to Chinese: the live state stays.
            left = ANSWER_WINDOW_S - (asyncio.get_running_loop().time() - started)
            if left > 0:
                await asyncio.sleep(left)
            await page.get_by_test_id("lang-toggle").click()
            await expect(page.get_by_test_id("ai-note")).to_contain_text("AI 建议")
            await expect(transcript).to_contain_text("public service")
            await expect(transcript.locator(".tr-q").first).to_have_text("第1题")
            await expect(row.locator(".sc-name")).to_have_text("语言表达")
            zh_reason = await row.locator(".sc-reason").inner_text()
            assert any("\u4e00" <= c <= "\u9fff" for c in zh_reason), zh_reason
            gaps.degrade(topic, interview_id, 1)
            await expect(degraded).to_contain_text("服务器负载高，分析已降级")
            await expect(degraded).to_contain_text("实时逐字识别已暂停")
            await cand.send({"type": "finish_answer"})
            await cand.wait_phase(1, "prep", timeout_s=10)
        finally:
            await cand.disconnect()
        assert not errors, errors
