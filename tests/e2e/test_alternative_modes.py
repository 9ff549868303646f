"""End to end: the non-video path in a real headless Chromium (face processing is never mandatory).

An admin enables the alternatives on the settings page; the candidate chooses on the consent
screen. A written interview never touches a camera, a microphone or a peer connection; an
audio-only interview asks for the microphone alone, and what the server records and
transcribes is the candidate's voice. Without alternatives the consent screen offers no choice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_browser_interview import Api, three_question_invitation
from tests.support.checks import decode_ok, windowed_wer
from tests.support.media import face_y4m, speech_wav
from tests.support.pages import admin_login, fake_media_chromium
from tests.support.process import ServerProcess, server_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

SENTENCE = "I would first evacuate the residents and then report to my supervisor immediately."
SPOKEN_ANSWER_S = 16
"""The one answer that is spoken in full: a whole looped sentence (about 6 s) fits wherever it starts."""
LONG_ANSWER_S = 120
"""Every other answer is finished early: its limit only has to be out of the way."""
MAX_WER = 0.5
UI_TIMEOUT_MS = 20_000
TRANSCRIPT_WAIT_S = 15.0
"""The final transcript of the spoken answer is stored a moment after the answer ends."""

MEDIA_SPY = """
(() => {
  // What the page asks of the browser: getUserMedia constraints and peer connections.
  const spy = (window.__media = { gum: [], peers: 0, kinds: [] });
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => {
      spy.gum.push({ video: !!(c && c.video), audio: !!(c && c.audio) });
      return gum(c);
    };
  }
  const Native = window.RTCPeerConnection;
  if (Native) {
    const addTransceiver = Native.prototype.addTransceiver;
    Native.prototype.addTransceiver = function (trackOrKind, init) {
      spy.kinds.push(typeof trackOrKind === "string" ? trackOrKind : trackOrKind.kind);
      return addTransceiver.call(this, trackOrKind, init);
    };
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        spy.peers += 1;
      }
    };
  }
})();
"""


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("media")
    return face_y4m(d / "face.y4m", seconds=4.0), speech_wav(SENTENCE, d / "speech.wav")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: every test sets the org's alternatives it needs first."""
    with server_process(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


@pytest.fixture
async def browser(media: tuple[Path, Path]) -> AsyncIterator[Browser]:
    """Chromium with a fake camera too: an audio interview must not ask for it anyway."""
    video, audio = media
    async with fake_media_chromium(video, audio) as b:
        yield b


@pytest.fixture
async def api(live_server: ServerProcess) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        a = Api(http, live_server)
        await a.login()
        yield a


async def set_alternatives(api: Api, *, audio: bool, text: bool) -> None:
    settings = await api(
        "PUT", "/api/org/settings", json={"alternatives": {"audio": audio, "text": text}}
    )
    assert settings["alternatives"] == {"audio": audio, "text": text}


async def candidate_page(browser: Browser) -> Page:
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.add_init_script(MEDIA_SPY)
    return page


async def media_spy(page: Page) -> dict[str, Any]:
    return dict(await page.evaluate("window.__media"))


async def answer_in_writing(page: Page, text: str) -> None:
    await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
    box = page.get_by_test_id("text-answer")
    await expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
    await box.fill(text)
    await page.get_by_test_id("answer-finish").click()


async def start_after_device_check(page: Page) -> None:
    cont = page.get_by_test_id("device-check-continue")
    await expect(cont).to_be_enabled(timeout=UI_TIMEOUT_MS)
    await cont.click()
    await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)


async def enable_written_interviews_on_settings_page(page: Page, srv: ServerProcess) -> None:
    """The admin's settings page: a 422 is shown next to its field, then a valid save."""
    await admin_login(page, srv)
    await page.get_by_test_id("nav-settings").click()
    form = page.get_by_test_id("settings-form")
    await expect(form).not_to_have_attribute("aria-busy", "true", timeout=UI_TIMEOUT_MS)
    await page.get_by_test_id("settings-alt-text").check()
    await page.get_by_test_id("retention-recordings_days").fill("0")
    await page.get_by_test_id("settings-save").click()
    error = form.locator('[data-field="retention.recordings_days"]')
    await expect(error).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("retention-recordings_days")).to_have_attribute(
        "aria-invalid", "true"
    )
    await page.get_by_test_id("retention-recordings_days").fill("")
    await page.get_by_test_id("settings-save").click()
    await expect(page.get_by_test_id("settings-status")).to_contain_text(
        "saved", timeout=UI_TIMEOUT_MS
    )
    await expect(error).to_be_hidden()


async def examiner_sees_mode(
    browser: Browser, srv: ServerProcess, interview_id: str, badge: str, na: str
) -> None:
    page = await (await browser.new_context(locale="en-US")).new_page()
    await admin_login(page, srv)
    await page.goto(f"{srv.base_url}/examiner#/interviews/{interview_id}")
    await expect(page.get_by_test_id("interview-mode")).to_have_text(badge, timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("face-na")).to_have_text(na)
    await page.get_by_test_id("review-link").click()
    await expect(page.get_by_test_id("interview-mode")).to_have_text(badge, timeout=UI_TIMEOUT_MS)


async def test_written_interview_uses_no_camera_no_microphone_no_peer(
    live_server: ServerProcess, browser: Browser, api: Api
) -> None:
    await set_alternatives(api, audio=False, text=False)
    admin = await (await browser.new_context(locale="en-US")).new_page()
    await enable_written_interviews_on_settings_page(admin, live_server)
    assert (await api("GET", "/api/org/settings"))["alternatives"] == {"audio": False, "text": True}
    interview_id, url = await three_question_invitation(api, LONG_ANSWER_S)

    page = await candidate_page(browser)
    await page.goto(url)
    await page.get_by_test_id("consent-mode-text").check(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("consent-mode-audio")).to_be_hidden()  # not enabled
    await expect(page.get_by_test_id("consent-recording")).to_be_hidden()  # nothing is recorded
    await expect(page.get_by_test_id("consent-accept")).to_be_enabled()  # scoring is optional
    await page.get_by_test_id("consent-analysis").check()
    async with page.expect_request("**/api/candidate/consent") as sent:
        await page.get_by_test_id("consent-accept").click()
    assert json.loads((await sent.value).post_data or "{}") | {"text_version": None} == {
        "decision": "accept",
        "mode": "text",
        "recording": False,
        "analysis": True,
        "text_version": None,
    }
    await expect(page.get_by_test_id("check-network")).to_be_visible(timeout=UI_TIMEOUT_MS)
    for row in ("check-camera", "check-microphone", "check-webrtc", "device-preview"):
        await expect(page.get_by_test_id(row)).to_be_hidden()
    await start_after_device_check(page)
    await expect(page.get_by_test_id("written-note")).to_be_visible()
    await expect(page.get_by_test_id("self-view")).to_be_hidden()

    answers = [f"Written answer {i + 1}: first evacuate, then report." for i in range(3)]
    await answer_in_writing(page, answers[0])
    # the tab closes mid-answer: a new one resumes the same question with the saved text
    await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
    await page.get_by_test_id("text-answer").fill(answers[1])
    await expect(page.get_by_test_id("text-answer-saved")).to_have_attribute(
        "data-state", "saved", timeout=UI_TIMEOUT_MS
    )
    assert await media_spy(page) == {"gum": [], "peers": 0, "kinds": []}
    await page.context.close()
    page = await candidate_page(browser)
    await page.goto(url)
    await expect(page.get_by_test_id("text-answer")).to_have_value(
        answers[1], timeout=UI_TIMEOUT_MS
    )
    await expect(page.get_by_test_id("progress")).to_have_text("Question 2 of 3")
    await page.get_by_test_id("answer-finish").click()
    await answer_in_writing(page, answers[2])
    await page.get_by_test_id("interview-complete").wait_for(timeout=UI_TIMEOUT_MS)
    assert await media_spy(page) == {"gum": [], "peers": 0, "kinds": []}

    detail = await api("GET", f"/api/interviews/{interview_id}")
    assert detail["status"] == "completed" and detail["mode"] == "text"
    assert [a["text_answer"] for a in detail["answers"]] == answers
    assert all(a["recordings"] == [] for a in detail["answers"])
    assert not (live_server.data_dir / "recordings" / interview_id).exists()
    await examiner_sees_mode(
        browser,
        live_server,
        interview_id,
        "Written answers — no recording",
        "Not applicable: written interview, no camera.",
    )


async def wait_for_transcript(api: Api, interview_id: str, index: int) -> dict[str, Any]:
    deadline = time.monotonic() + TRANSCRIPT_WAIT_S
    while True:
        detail = await api("GET", f"/api/interviews/{interview_id}")
        heard = detail["answers"][index]["transcript"]
        if windowed_wer(SENTENCE, heard) <= MAX_WER or time.monotonic() > deadline:
            return dict(detail)
        await asyncio.sleep(1.0)


async def test_audio_interview_never_asks_for_the_camera(
    live_server: ServerProcess, browser: Browser, api: Api, tmp_path: Path
) -> None:
    await set_alternatives(api, audio=True, text=False)
    interview_id, url = await three_question_invitation(api, SPOKEN_ANSWER_S)

    page = await candidate_page(browser)
    await page.goto(url)
    await page.get_by_test_id("consent-mode-audio").check(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("consent-mode-text")).to_be_hidden()
    await expect(page.get_by_test_id("consent-accept")).to_be_disabled()
    await page.get_by_test_id("consent-recording").check()
    await expect(page.get_by_test_id("consent-accept")).to_be_enabled()  # analysis is optional
    await page.get_by_test_id("consent-analysis").check()  # …and wanted here: the transcript
    await page.get_by_test_id("consent-accept").click()
    await expect(page.get_by_test_id("check-microphone")).to_have_attribute(
        "data-status", "ok", timeout=UI_TIMEOUT_MS
    )
    await expect(page.get_by_test_id("check-camera")).to_be_hidden()
    await expect(page.get_by_test_id("device-preview")).to_be_hidden()
    await start_after_device_check(page)
    await expect(page.get_by_test_id("mic-indicator")).to_be_visible()
    await expect(page.get_by_test_id("self-view")).to_be_hidden()

    # answer 1 is spoken in full, answer 2 briefly, answer 3 is the written question
    await page.get_by_test_id("answer-start").click()
    await asyncio.sleep(SPOKEN_ANSWER_S - 3)
    await page.get_by_test_id("answer-finish").click()
    await page.get_by_test_id("answer-start").click(timeout=UI_TIMEOUT_MS)
    await asyncio.sleep(2)
    await page.get_by_test_id("answer-finish").click()
    await answer_in_writing(page, "=SUM(A1:A9)")
    await page.get_by_test_id("interview-complete").wait_for(timeout=UI_TIMEOUT_MS)

    spy = await media_spy(page)
    assert spy["gum"] and all(not call["video"] and call["audio"] for call in spy["gum"]), spy
    assert spy["peers"] >= 1 and set(spy["kinds"]) == {"audio"}, spy

    detail = await wait_for_transcript(api, interview_id, 0)
    assert detail["status"] == "completed" and detail["mode"] == "audio"
    spoken = detail["answers"][0]
    assert windowed_wer(SENTENCE, spoken["transcript"]) <= MAX_WER, spoken["transcript"]
    recordings = [r for a in detail["answers"][:2] for r in a["recordings"]]
    assert recordings and all(r["video_frames"] == 0 and r["audio_packets"] > 0 for r in recordings)
    path = tmp_path / "answer-0.webm"
    async with api.http.get(spoken["recording_urls"][0]) as resp:
        assert resp.status == 200
        path.write_bytes(await resp.read())
    info = await asyncio.to_thread(decode_ok, path)
    assert info["video_frames"] == 0 and info["audio_duration_s"] > SPOKEN_ANSWER_S - 6, info
    assert detail["answers"][2]["text_answer"] == "=SUM(A1:A9)"
    await examiner_sees_mode(
        browser,
        live_server,
        interview_id,
        "Audio only — no face analysis",
        "Not applicable: audio-only interview, no face analysis.",
    )


async def test_without_alternatives_the_consent_screen_offers_no_choice(
    live_server: ServerProcess, browser: Browser, api: Api
) -> None:
    await set_alternatives(api, audio=False, text=False)
    _, url = await three_question_invitation(api, LONG_ANSWER_S)
    page = await candidate_page(browser)
    await page.goto(url)
    await expect(page.get_by_test_id("consent-recording")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("consent-modes")).to_be_hidden()
    await expect(page.locator("#consent-title")).to_have_text("Video interview: E2E clerk")
    accept = page.get_by_test_id("consent-accept")
    await page.get_by_test_id("consent-recording").check()
    await expect(accept).to_be_disabled()  # video needs both consents, as always
    await page.get_by_test_id("consent-analysis").check()
    async with page.expect_request("**/api/candidate/consent") as sent:
        await accept.click()
    body = json.loads((await sent.value).post_data or "{}")
    assert (body["mode"], body["recording"], body["analysis"]) == ("video", True, True)
    await expect(page.get_by_test_id("check-camera")).to_be_visible(timeout=UI_TIMEOUT_MS)
