"""A real Chromium candidate on a lossy network: 10 % of the packets the server receives are
lost before its jitter buffers (``INTERVIEW_TEST_RECEIVE_IMPAIRMENT``, ``media.impair``), so
the browser gets the real feedback a lossy network gives (loss reports, NACKs).

The browser adds Opus in-band FEC because the server's answer asks for it, the server
restores lost audio from it, the live transcript still matches what was said, retransmitted
video keeps the recording whole, and the examiners' connection panel shows the loss.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser

from tests.e2e.test_browser_interview import (
    MAX_WER,
    SENTENCE,
    Api,
    answer_first_question,
    consent_and_device_check,
    three_question_invitation,
)
from tests.support.checks import decode_ok, transcribe, windowed_wer
from tests.support.live import finals, first_answer_recording, live_events, of_type
from tests.support.nodes import node_process
from tests.support.process import ServerProcess, run_demo
from tests.support.server import free_port

pytestmark = pytest.mark.e2e

LOSS_PERCENT = 10
ANSWER_S = 24
SPEAK_S = 18
"""Two whole looped sentences (7.3 s + 1 s pause) wherever the answer starts."""
TRANSCRIPT_WAIT_S = 15.0


async def test_a_candidate_on_a_lossy_network_is_heard_and_recorded(
    tmp_path: Path, speaking_browser: Browser
) -> None:
    data = tmp_path / "data"
    port = free_port()
    demo = await asyncio.to_thread(run_demo, data, port)
    impairment = {"loss_percent": LOSS_PERCENT, "seed": 3}
    cm = node_process(
        data,
        "lossy",
        "--analysis-workers",
        "1",
        port=port,
        env={"INTERVIEW_TEST_RECEIVE_IMPAIRMENT": json.dumps(impairment)},
    )
    node = await asyncio.to_thread(cm.__enter__)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, ServerProcess(node.base_url, data, demo, node.log))
            await api.login()
            interview_id, url = await three_question_invitation(api, ANSWER_S)
            context = await speaking_browser.new_context(locale="en-US")
            page = await context.new_page()
            async with live_events(http, node.base_url, api.token, interview_id) as events:
                await consent_and_device_check(page, url)
                await answer_first_question(page, SPEAK_S)
                deadline = time.monotonic() + TRANSCRIPT_WAIT_S
                while not any(windowed_wer(SENTENCE, f) <= MAX_WER for f in finals(events)):
                    assert time.monotonic() < deadline, f"no matching transcript: {finals(events)}"
                    await asyncio.sleep(0.5)

            media_events = [e for e in of_type(events, "connection") if "audio_fec_packets" in e]
            assert media_events, events
            last = media_events[-1]
            # the loss is seen, and the browser sent FEC the server used
            assert max(e["packet_loss_pct"] for e in media_events) >= LOSS_PERCENT / 2, last
            assert last["audio_fec_packets"] > 0, last
            assert last["audio_concealed_s"] > 0, last
            camera_flags = ("face_missing", "out_of_frame")
            assert not [f for f in of_type(events, "flag") if f["flag"] in camera_flags]

            path = await first_answer_recording(api, http, interview_id, tmp_path / "a.webm")
            info = decode_ok(path)
            # video lost on the network is retransmitted (NACK): the recording stays smooth
            assert info["video_frames"] > 10 * (SPEAK_S - 2), info
            heard = await asyncio.to_thread(transcribe, path)
            assert windowed_wer(SENTENCE, heard) <= MAX_WER, heard
            await context.close()
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)
