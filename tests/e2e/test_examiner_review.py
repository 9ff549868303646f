"""End to end: the examiner reviews a completed interview in headless Chromium.

The real server process (demo data, analyzer workers) and a scripted aiortc candidate who
answers three short questions with a spoken sentence. The review page then plays the right
recording from a clicked transcript word, and an examiner's score override (with its required
comment) and recommendation are saved and shown apart from the AI suggestion.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_browser_interview import Api, three_question_invitation
from tests.e2e.test_examiner_page import admin_login, examiner_path
from tests.support.candidate import ScriptedCandidate
from tests.support.media import ENGLISH_ANSWER
from tests.support.pages import chromium
from tests.support.process import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SENTENCE = ENGLISH_ANSWER
ANSWER_S = 60
"""Each question's answer time; the candidate finishes early."""
SPOKEN_S = (9.0, 9.0, 4.0)
"""How long the candidate answers each question before finishing it."""
WRITTEN = "I would listen to the citizen first, then act."
UI_TIMEOUT_MS = 20_000
SEEK_TOLERANCE_S = 1.0


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium("--autoplay-policy=no-user-gesture-required") as b:
        yield b


async def run_interview(cand: ScriptedCandidate) -> None:
    await cand.consent()
    await cand.connect()
    try:
        await cand.device_check()
        await cand.send({"type": "start_interview"})
        for index, spoken_s in enumerate(SPOKEN_S):
            await cand.wait_phase(index, "prep")
            await cand.send({"type": "start_answer"})
            await cand.wait_phase(index, "answer")
            if index == 2:
                await cand.send({"type": "text_answer", "index": 2, "text": WRITTEN})
            await asyncio.sleep(spoken_s)
            await cand.send({"type": "finish_answer"})
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=10)
    finally:
        await cand.disconnect()


async def analysed(api: Api, interview_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The interview once its AI score and the first answer's transcript words are in."""
    async with asyncio.timeout(timeout_s):
        while True:
            detail = await api("GET", f"/api/interviews/{interview_id}")
            first = detail["answers"][0] if detail["answers"] else {}
            words = [w for s in first.get("transcript_segments", []) for w in s["words"]]
            if detail["status"] == "completed" and detail["scores"] and len(words) >= 10:
                return dict(detail)
            await asyncio.sleep(0.5)


async def test_examiner_reviews_a_completed_interview(
    live_server: ServerProcess, browser: Browser, media: tuple[Path, Path]
) -> None:
    async with asyncio.timeout(110), aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        interview_id, url = await three_question_invitation(api, ANSWER_S)
        cand = ScriptedCandidate(http, live_server.base_url, url.rsplit("/i/", 1)[1], *media)
        await run_interview(cand)
        detail = await analysed(api, interview_id)
        ai_value = (await api("GET", f"/api/interviews/{interview_id}/report"))["dimensions"][0][
            "ai_value"
        ]
        assert ai_value is not None

        page = await (await browser.new_context(locale="en-US")).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await admin_login(page, live_server)
        await page.goto(
            f"{live_server.base_url}{examiner_path(live_server)}#/interviews/{interview_id}/review"
        )
        await expect(page.get_by_test_id("review-view")).to_have_attribute(
            "data-loaded", "true", timeout=UI_TIMEOUT_MS
        )

        # Every answer is there, with its question and recording; the written answer too.
        for answer in detail["answers"]:
            box = page.get_by_test_id(f"review-answer-{answer['index']}")
            await expect(box).to_contain_text(answer["question"]["en"])
            await expect(box.get_by_test_id(f"review-video-{answer['index']}")).to_have_count(1)
        await expect(page.get_by_test_id("review-text-answer-2")).to_have_text(WRITTEN)

        # Clicking a word plays the answer's recording from that word.
        (rec,) = detail["answers"][0]["recordings"]
        box = page.get_by_test_id("review-answer-0")
        words = box.get_by_test_id("review-word")
        starts = [
            float(s) for s in await words.evaluate_all("els => els.map(e => e.dataset.startS)")
        ]
        assert len(starts) >= 10, starts
        pick = next(
            i for i, s in enumerate(starts) if s - rec["media_start_s"] >= 2.0
        )  # well inside the file, so a seek is not mistaken for the start
        word = words.nth(pick)
        expected = starts[pick] - rec["media_start_s"]
        video = box.get_by_test_id("review-video-0")
        await word.click()
        await page.wait_for_function(
            "v => v.readyState >= 2 && !v.seeking && v.currentTime > 0",
            arg=await video.element_handle(),
            timeout=UI_TIMEOUT_MS,
        )
        position = await video.evaluate("v => { const t = v.currentTime; v.pause(); return t; }")
        assert abs(position - expected) <= SEEK_TOLERANCE_S, (position, expected)
        await expect(word).to_have_class(re.compile(r"\bcurrent\b"))

        # Job match and the AI suggestion, shown apart from human scores.
        await expect(page.get_by_test_id("job-match")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
        dim = page.get_by_test_id("review-dim-expression")
        ai_box = dim.get_by_test_id("ai-suggestion-expression")
        human_box = dim.get_by_test_id("human-scores-expression")
        await expect(ai_box.get_by_test_id("ai-value")).to_have_text(f"{ai_value:.1f}/10")
        await expect(human_box).to_contain_text("No human scores yet")

        # An override needs a comment: the server's 422 shows next to the comment field.
        form = dim.get_by_test_id("override-form")
        await form.get_by_test_id("override-value").fill("8.5")
        await form.get_by_test_id("override-submit").click()
        await expect(form.get_by_test_id("override-error-comment")).to_be_visible()
        comment = "Clear, well structured answers; a little short."
        await form.get_by_test_id("override-comment").fill(comment)
        await form.get_by_test_id("override-submit").click()
        await expect(human_box.get_by_test_id("human-value")).to_have_text("8.5/10")
        await expect(human_box).to_contain_text(comment)
        await expect(ai_box.get_by_test_id("ai-value")).to_have_text(f"{ai_value:.1f}/10")
        await expect(dim.get_by_test_id("final-value-expression")).to_have_attribute(
            "data-source", "human"
        )
        await expect(page.get_by_test_id("job-match")).to_have_text("85.0%")

        # The recommendation.
        await expect(page.get_by_test_id("decision-submit")).to_be_enabled()
        await page.get_by_test_id("decision-select").select_option("advance")
        await page.get_by_test_id("decision-comment").fill("Invite to the second round.")
        await page.get_by_test_id("decision-submit").click()
        decisions = page.get_by_test_id("decisions-list")
        item = decisions.get_by_test_id("decision-item")
        await expect(item).to_have_attribute("data-recommendation", "advance")
        await expect(item).to_contain_text("Advance")
        await expect(item).to_contain_text(live_server.demo["admin"]["username"])

        report = await api("GET", f"/api/interviews/{interview_id}/report")
        (row,) = report["dimensions"]
        assert row["ai_value"] == ai_value and row["source"] == "human"
        assert [(h["value"], h["comment"]) for h in row["human"]] == [(8.5, comment)]
        assert [d["recommendation"] for d in report["decisions"]] == ["advance"]
        assert not errors, errors
