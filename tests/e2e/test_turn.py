"""TURN with real parts: a real coturn on loopback with shared-secret credentials, the real server
process minting per-session credentials (``--turn-url`` / ``--turn-secret``), and a real
Chromium whose UDP is disabled (``disable_non_proxied_udp``), so its media can only reach the
server relayed by coturn over TCP.

1. The candidate answers the first question through the relay: the selected ICE pair is a relay
   candidate over TCP, the recording decodes and holds the speech, a live transcript reaches
   the examiners' socket.
2. The server's secret does not match the relay's: the device check says the connection failed
   and how to get help (English and Chinese), nothing is lost, and once the server runs with
   the right secret the same page connects by itself and the interview starts.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_browser_interview import (
    MAX_WER,
    SENTENCE,
    UI_TIMEOUT_MS,
    Api,
    answer_first_question,
    consent_and_device_check,
    three_question_invitation,
)
from tests.support.checks import decode_ok, transcribe, windowed_wer
from tests.support.coturn import Coturn, coturn
from tests.support.live import finals, first_answer_recording, live_events
from tests.support.nodes import Node, node_process
from tests.support.pages import CAPTURE_PEERS, fake_media_chromium
from tests.support.process import ServerProcess, run_demo
from tests.support.server import free_port

pytestmark = pytest.mark.e2e

SECRET = "e2e-turn-shared-secret-0123456789"
WRONG_SECRET = "e2e-turn-not-the-relays-secret-42"
ANSWER_S = 20
SPEAK_S = 16
"""Long enough for one whole looped sentence (7.3 s + 1 s pause) wherever the answer starts."""
TRANSCRIPT_WAIT_S = 15.0
NO_DIRECT_UDP = (
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
"""UDP only through a proxy (TURN). Debian's Chromium 156 reads the first (the switch behind
the ``webrtc.ip_handling_policy`` preference) and ignores the second (older builds' name):
with only the second it still gathers and uses host UDP candidates. The test checks which
candidates were gathered, so a build that ignores both fails instead of passing unrelayed."""
SELECTED_PAIR = """
async () => {
  const peers = (window.__peers || []).filter((p) => p.pc.connectionState === 'connected');
  if (!peers.length) return null;
  const { pc, config } = peers[peers.length - 1];
  const stats = await pc.getStats();
  const byId = {};
  stats.forEach((s) => { byId[s.id] = s; });
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId[s.selectedCandidatePairId];
  });
  if (!pair) return { config };
  const local = byId[pair.localCandidateId] || {};
  const gathered = [];
  stats.forEach((s) => {
    if (s.type === 'local-candidate') gathered.push({ type: s.candidateType, protocol: s.protocol });
  });
  return {
    config,
    gathered,
    candidateType: local.candidateType,
    relayProtocol: local.relayProtocol,
    bytesSent: pair.bytesSent,
  };
}
"""


@pytest.fixture
async def browser(media: tuple[Path, Path]) -> AsyncIterator[Browser]:
    """Chromium with UDP allowed only through a proxy: TURN over TCP is the one way out."""
    video, audio = media
    async with fake_media_chromium(video, audio, *NO_DIRECT_UDP) as b:
        yield b


@asynccontextmanager
async def serving(
    data_dir: Path, relay: Coturn, secret: str, *args: str, port: int | None = None
) -> AsyncIterator[Node]:
    """``interview-live serve`` handing out credentials for ``relay``, minted with ``secret``."""
    cm = node_process(
        data_dir,
        "turn",
        "--turn-url",
        relay.tcp_url,
        *args,
        port=port,
        env={"INTERVIEW_TURN_SECRET": secret},
    )
    node = await asyncio.to_thread(cm.__enter__)
    try:
        yield node
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)


async def candidate_page(browser: Browser) -> Page:
    context = await browser.new_context(locale="en-US")
    await context.add_init_script(CAPTURE_PEERS)
    return await context.new_page()


async def selected_pair(page: Page) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found = await page.evaluate(SELECTED_PAIR)
        if found and found.get("candidateType"):
            return dict(found)
        if time.monotonic() > deadline:
            raise AssertionError(f"no selected candidate pair: {found}")
        await asyncio.sleep(0.5)


async def wait_for_log(relay: Coturn, pattern: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not re.search(pattern, relay.log_text()):
        assert time.monotonic() < deadline, f"not in the relay's log: {pattern}"
        await asyncio.sleep(0.2)


def check_page_config(config: dict[str, Any], relay: Coturn, interview_id: str) -> None:
    """The page was given the relay with a minted pair, never the secret."""
    assert SECRET not in json.dumps(config) and WRONG_SECRET not in json.dumps(config)
    (turn,) = [s for s in config["iceServers"] if s.get("username")]
    assert turn["urls"] == [relay.tcp_url]
    assert re.fullmatch(rf"\d+:{re.escape(interview_id)}", turn["username"])
    assert int(turn["username"].split(":")[0]) > time.time()
    assert config.get("iceTransportPolicy", "all") == "all"  # relay is a fallback, not forced


async def test_candidate_without_udp_answers_through_the_relay(
    tmp_path: Path, browser: Browser
) -> None:
    data = tmp_path / "data"
    port = free_port()
    demo = await asyncio.to_thread(run_demo, data, port)
    with coturn(tmp_path / "coturn", SECRET) as relay:
        async with (
            serving(data, relay, SECRET, "--analysis-workers", "1", port=port) as node,
            aiohttp.ClientSession() as http,
        ):
            api = Api(http, ServerProcess(node.base_url, data, demo, node.log))
            await api.login()
            interview_id, url = await three_question_invitation(api, ANSWER_S)
            page = await candidate_page(browser)
            async with live_events(http, node.base_url, api.token, interview_id) as events:
                await consent_and_device_check(page, url)  # the WebRTC check passed: relayed
                pair = await selected_pair(page)
                assert pair["candidateType"] == "relay" and pair["relayProtocol"] == "tcp", pair
                direct_udp = [
                    c for c in pair["gathered"] if c["type"] != "relay" and c["protocol"] == "udp"
                ]
                assert not direct_udp, pair  # UDP really was blocked: the relay was the only way
                check_page_config(pair["config"], relay, interview_id)
                await answer_first_question(page, SPEAK_S)
                deadline = time.monotonic() + TRANSCRIPT_WAIT_S
                while not any(windowed_wer(SENTENCE, f) <= MAX_WER for f in finals(events)):
                    assert time.monotonic() < deadline, f"no matching transcript: {finals(events)}"
                    await asyncio.sleep(0.5)

            detail = await api("GET", f"/api/interviews/{interview_id}")
            assert detail["current"]["index"] == 1
            path = await first_answer_recording(api, http, interview_id, tmp_path / "a.webm")
            info = decode_ok(path)
            assert info["video_frames"] > 5 * (SPEAK_S - 2), info
            heard = await asyncio.to_thread(transcribe, path)
            assert windowed_wer(SENTENCE, heard) <= MAX_WER, heard
        allocated = (
            rf"user <\d+:{re.escape(interview_id)}>: incoming packet ALLOCATE processed, success"
        )
        await wait_for_log(relay, allocated)
        assert SECRET not in node.log.read_text(errors="replace")


async def test_wrong_secret_explains_the_failure_and_loses_nothing(
    tmp_path: Path, browser: Browser
) -> None:
    data = tmp_path / "data"
    port = free_port()
    demo = await asyncio.to_thread(run_demo, data, port)
    with coturn(tmp_path / "coturn", SECRET) as relay:
        async with aiohttp.ClientSession() as http:
            async with serving(
                data, relay, WRONG_SECRET, "--analysis-workers", "0", port=port
            ) as node:
                api = Api(http, ServerProcess(node.base_url, data, demo, node.log))
                await api.login()
                interview_id, url = await three_question_invitation(api, ANSWER_S)
                page = await candidate_page(browser)
                await page.goto(url)
                await page.get_by_test_id("consent-recording").check(timeout=UI_TIMEOUT_MS)
                await page.get_by_test_id("consent-analysis").check()
                await page.get_by_test_id("consent-accept").click()
                webrtc = page.get_by_test_id("check-webrtc")
                await expect(webrtc).to_have_attribute("data-status", "failure", timeout=40_000)
                advice = webrtc.locator(".check-advice")
                await expect(advice).to_contain_text("contact the recruiter who invited you")
                await expect(advice).to_contain_text("nothing you have done so far is lost")
                await expect(page.get_by_test_id("device-check-continue")).to_be_disabled()
                await page.get_by_test_id("lang-switch").click()
                await expect(webrtc.locator(".check-msg")).to_contain_text("无法建立实时音视频连接")
                await expect(advice).to_contain_text("请联系邀请您的招聘方")
                await page.get_by_test_id("lang-switch").click()
                refused = rf"user <\d+:{re.escape(interview_id)}>: .* error 401"
                await wait_for_log(relay, refused)  # the relay refused the minted pair
            # the operator fixes the secret; the same page, never reloaded, gets fresh
            # credentials with its next state and connects through the relay
            async with serving(data, relay, SECRET, "--analysis-workers", "0", port=port) as node:
                await expect(webrtc).to_have_attribute("data-status", "ok", timeout=40_000)
                pair = await selected_pair(page)
                assert pair["candidateType"] == "relay", pair
                check_page_config(pair["config"], relay, interview_id)
                detail = await api("GET", f"/api/interviews/{interview_id}")
                assert detail["status"] == "consented" and detail["consent"]["recording"]
                cont = page.get_by_test_id("device-check-continue")
                await expect(cont).to_be_enabled(timeout=UI_TIMEOUT_MS)
                await cont.click()
                await page.get_by_test_id("answer-start").wait_for(timeout=UI_TIMEOUT_MS)
                detail = await api("GET", f"/api/interviews/{interview_id}")
                assert detail["status"] == "in_progress"
