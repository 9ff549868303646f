"""End to end: a real headless Chromium candidate, the real server process, real media checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from loadtest import target
from loadtest.candidate.client import make_job
from tests.support.checks import count_frames_with_face, decode_ok, transcribe, windowed_wer
from tests.support.live import partials_were_off
from tests.support.media import ENGLISH_ANSWER
from tests.support.pages import CAPTURE_PEERS, OUTBOUND_VIDEO, admin_login
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

SENTENCE = ENGLISH_ANSWER
ANSWER_S = 18
"""Long enough to hold one whole looped sentence (7.3 s + 1 s pause) wherever it starts."""
MAX_WER = 0.2
UI_TIMEOUT_MS = 30_000


class Api(target.Api):
    """The load test's JSON client on ``srv``; :meth:`login` as its demo admin."""

    def __init__(self, http: aiohttp.ClientSession, srv: ServerProcess) -> None:
        super().__init__(http, srv.base_url)
        self.srv = srv

    async def login(self) -> None:
        admin = self.srv.demo["admin"]
        self.token = (await self("POST", "/api/auth/login", json=admin))["token"]


async def three_question_invitation(api: Api, answer_s: int) -> tuple[str, str]:
    """An invitation to the load test's three-question job (20 s to prepare each answer):
    (interview id, candidate link)."""
    job_id = await make_job(api, "en", title="E2E clerk", prep_s=20, answer_s=answer_s)
    inv = await api(
        "POST",
        f"/api/jobs/{job_id}/invitations",
        json={"name": "Browser Candidate", "email": "b@example.com", "language": "en"},
    )
    return inv["interview_id"], inv["url"]


async def consent_and_device_check(page: Page, url: str) -> None:
    await page.goto(url)
    await page.get_by_test_id("consent-recording").check(timeout=UI_TIMEOUT_MS)
    await page.get_by_test_id("consent-analysis").check()
    await page.get_by_test_id("consent-accept").click()
    cont = page.get_by_test_id("device-check-continue")
    await cont.wait_for(timeout=UI_TIMEOUT_MS)
    await expect(cont).to_be_enabled(timeout=UI_TIMEOUT_MS)
    await cont.click()


async def answer_first_question(page: Page, speak_s: float) -> None:
    """Start the first answer, speak ``speak_s``, finish; returns once question 2 is shown."""
    await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
    await page.get_by_test_id("answer-finish").wait_for(timeout=UI_TIMEOUT_MS)
    await asyncio.sleep(speak_s)
    await page.get_by_test_id("answer-finish").click()
    await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)


async def _collect(ws: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]]) -> None:
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            into.append(msg.json())


async def remaining_s(page: Page) -> float:
    value = await page.get_by_test_id("countdown").get_attribute("data-remaining-s")
    assert value is not None
    return float(value)


async def test_browser_candidate_completes_interview(
    live_server: ServerProcess, speaking_browser: Browser, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        interview_id, url = await three_question_invitation(api, ANSWER_S)
        # an examiner's live socket subscribed to this interview before it starts
        ws = await http.ws_connect(f"{live_server.base_url}/ws?token={api.token}")
        await ws.send_json({"type": "subscribe", "topic": f"interview:{interview_id}"})
        assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        live: list[dict[str, Any]] = []
        collector = asyncio.create_task(_collect(ws, live))
        # a second browser is the examiner, a third the HR officer watching the job's funnel
        examiner = await (await speaking_browser.new_context(locale="en-US")).new_page()
        await admin_login(examiner, live_server)
        await examiner.goto(f"{live_server.base_url}/examiner#/interviews/{interview_id}")
        await expect(examiner.get_by_test_id("live-view")).to_have_attribute(
            "data-snapshots", "1", timeout=UI_TIMEOUT_MS
        )
        hr = await (await speaking_browser.new_context(locale="en-US")).new_page()
        await admin_login(hr, live_server)
        job_id = (await api("GET", f"/api/interviews/{interview_id}"))["job_id"]
        hr_completed = hr.get_by_test_id(f"job-row-{job_id}").get_by_test_id("count-completed")
        await expect(hr_completed).to_have_text("0", timeout=UI_TIMEOUT_MS)
        context = await speaking_browser.new_context()
        await context.add_init_script(CAPTURE_PEERS)
        page = await context.new_page()
        await consent_and_device_check(page, url)
        sender: dict[str, Any] = {}
        for index in range(3):
            await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
            await page.get_by_test_id("answer-finish").wait_for(timeout=UI_TIMEOUT_MS)
            await page.get_by_test_id("scratchpad").fill(f"notes for question {index + 1}")
            if index == 2:
                await page.get_by_test_id("text-answer").fill("=VLOOKUP(A2,Sheet2!A:B,2,FALSE)")
                await page.get_by_test_id("text-answer").dispatch_event("paste")
            await asyncio.sleep(ANSWER_S - 3)
            if index == 0:
                # the examiner has seen the answer live: transcript, a score, connection quality
                transcript = examiner.get_by_test_id("live-transcript")
                await expect(transcript).to_contain_text("public service", timeout=2_000)
                await expect(
                    examiner.get_by_test_id("live-scores").get_by_test_id("score-row").first
                ).to_be_visible(timeout=2_000)
                await expect(examiner.get_by_test_id("connection-quality")).to_contain_text("fps")
                # a good connection: the candidate is not told it is weak
                await expect(page.get_by_test_id("network-warning")).to_be_hidden()
            if index == 1:  # the uplink has room: the page asked for two VP8 layers
                sender = await page.evaluate(OUTBOUND_VIDEO) or {}
            await page.get_by_test_id("answer-finish").click()
        await page.get_by_test_id("interview-complete").wait_for(timeout=UI_TIMEOUT_MS)
        await expect(hr_completed).to_have_text("1", timeout=1_000)  # HR sees it within 1 s
        await asyncio.sleep(2)  # the last answer's final transcript
        collector.cancel()
        await ws.close()

        # what the examiner saw live: finals matching the speech, scores with evidence
        finals = [m for m in live if m.get("type") == "transcript_final"]
        assert finals, "no live transcript reached the examiner socket"
        best = min(windowed_wer(SENTENCE, f["text"]) for f in finals)
        assert best <= MAX_WER, [f["text"] for f in finals]
        durable = [m for m in live if m.get("type") in ("transcript_final", "flag")]
        assert all(m["seq"] > 0 for m in durable)
        assert [m["seq"] for m in durable] == sorted(m["seq"] for m in durable)
        scores = [m for m in live if m.get("type") == "score_update"]
        assert scores and all(s["evidence"] for s in scores), scores[:2]
        assert any(m.get("type") == "transcript_partial" for m in live) or partials_were_off(live)
        assert any(m.get("type") == "face_metrics" and m["faces"] == 1 for m in live)
        # the face was analysed at its 5 fps
        analysed = max(m.get("frames_analyzed", 0) for m in live if m.get("type") == "face_metrics")
        assert analysed >= 4 * ANSWER_S, analysed
        # ... from the base layer alone once the page sent two: the other frames not decoded
        assert sender.get("mode") == "L1T2", sender
        quality = [m for m in live if m.get("type") == "connection" and "video_fps" in m]
        assert max(m.get("video_frames_not_decoded", 0) for m in quality) > 0, quality[-1:]

        detail = await api("GET", f"/api/interviews/{interview_id}")
        assert detail["status"] == "completed"
        answers = detail["answers"]
        assert len(answers) == 3 and all(a["status"] == "done" for a in answers)
        assert [a["scratchpad"] for a in answers] == [f"notes for question {i}" for i in (1, 2, 3)]
        assert answers[2]["text_answer"] == "=VLOOKUP(A2,Sheet2!A:B,2,FALSE)"
        assert [f["type"] for f in detail["flags"]] == ["paste"]
        assert detail["scores"] and detail["scores_are_suggestions"]
        for answer in answers:
            assert windowed_wer(SENTENCE, answer["transcript"]) <= MAX_WER, answer["transcript"]
        for answer in answers:
            assert len(answer["recording_urls"]) == 1, answer
            path = tmp_path / f"answer-{answer['index']}.webm"
            async with http.get(answer["recording_urls"][0]) as resp:
                assert resp.status == 200
                path.write_bytes(await resp.read())
            info = decode_ok(path)
            assert info["video_frames"] > 5 * (ANSWER_S - 3), info
            heard = await asyncio.to_thread(transcribe, path)
            wer = windowed_wer(SENTENCE, heard)
            assert wer <= MAX_WER, (answer["index"], wer, heard)
            faces, checked = await asyncio.to_thread(count_frames_with_face, path, max_frames=20)
            assert faces >= 0.9 * checked, (faces, checked)


async def test_browser_resume_after_closing_the_tab(
    live_server: ServerProcess, speaking_browser: Browser
) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        interview_id, url = await three_question_invitation(api, 90)
        context = await speaking_browser.new_context()
        page = await context.new_page()
        await consent_and_device_check(page, url)
        await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
        await page.get_by_test_id("answer-finish").wait_for(timeout=UI_TIMEOUT_MS)
        await asyncio.sleep(6)
        before = await remaining_s(page)
        await context.close()  # the tab is gone mid-answer
        await asyncio.sleep(4)

        detail = await api("GET", f"/api/interviews/{interview_id}")
        assert detail["current"]["index"] == 0 and detail["current"]["phase"] == "answer"
        assert detail["current"]["remaining_s"] == pytest.approx(before, abs=2)
        assert len(detail["answers"][0]["recordings"]) == 1

        page = await (await speaking_browser.new_context()).new_page()
        await page.goto(url)
        await page.get_by_test_id("answer-finish").wait_for(timeout=UI_TIMEOUT_MS)
        await expect(page.get_by_test_id("phase")).to_have_attribute(
            "data-phase", "answer", timeout=UI_TIMEOUT_MS
        )
        after = await remaining_s(page)
        assert after == pytest.approx(before, abs=2)
        await asyncio.sleep(3)
        await page.get_by_test_id("answer-finish").click()
        await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)
        detail = await api("GET", f"/api/interviews/{interview_id}")
        assert detail["current"]["index"] == 1
        recordings = detail["answers"][0]["recordings"]
        assert len(recordings) == 2  # before and after the drop, both kept
        assert all(r["duration_s"] > 1 for r in recordings)
