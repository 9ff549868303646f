"""Split process roles over a real Redis: a media+API process and analyzer processes.

One candidate (real aiortc peer, espeak speech, face video) answers two questions. During the
first answer Redis crashes and comes back: no final transcript, score or status change is
lost. During the second, the analyzer process that owns the interview is killed: the other
one takes the work over, the gap is reported and the transcript goes on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from server.live.analyzer_node import LEASE_PREFIX
from tests.support.candidate import ScriptedCandidate
from tests.support.checks import normalise_words, windowed_wer
from tests.support.media import face_y4m, speech_wav
from tests.support.metrics import scrape
from tests.support.nodes import Node, node_process, pid_alive
from tests.support.process import run_demo
from tests.support.redis_server import redis_instance
from tests.support.server import free_port
from tests.support.staff_api import call, invite, login, spoken_job

SENTENCE = "I have worked in public service for five years and I enjoy helping people solve their problems."
ANSWER_S = 30
REDIS_DOWN_S = 3.0
MAX_FINAL_WER = 0.35
WAIT_S = 30.0


def _finals(detail: dict[str, Any], index: int) -> list[dict[str, Any]]:
    return list(detail["answers"][index]["transcript_segments"])


def _inner(detail: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """Finals not cut by the answer's start or end (a looping sentence is cut there)."""
    (rec,) = detail["answers"][index]["recordings"]
    start, end = rec["media_start_s"], rec["media_start_s"] + rec["duration_s"]
    return [
        s for s in _finals(detail, index) if s["start_s"] > start + 0.3 and s["end_s"] < end - 1.5
    ]


@pytest.mark.timeout(400)
async def test_split_roles_survive_a_redis_crash_and_an_analyzer_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    media_port = free_port()
    demo = run_demo(data, media_port)
    video = face_y4m(tmp_path / "face.y4m", seconds=4.0)
    audio = speech_wav(SENTENCE, tmp_path / "speech.wav")
    with redis_instance(durable=True) as redis_srv:
        common = ("--redis-url", redis_srv.url, "--analysis-workers", "1")
        with (
            node_process(data, "media-1", "--role", "media,api", *common, port=media_port) as media,
            node_process(data, "analyzer-1", "--role", "analyzer", *common) as an1,
            node_process(data, "analyzer-2", "--role", "analyzer", *common) as an2,
        ):
            await _run(media, {an1.name: an1, an2.name: an2}, redis_srv, demo, video, audio)


async def _run(
    media: Node,
    analyzers: dict[str, Node],
    redis_srv: Any,
    demo: dict[str, Any],
    video: Path,
    audio: Path,
) -> None:
    base = media.base_url
    async with aiohttp.ClientSession() as http:
        admin = await login(http, base, demo["admin"])
        job_id = await spoken_job(http, base, admin, ANSWER_S, ("video", "video", "text"))
        iid, token = await invite(http, base, admin, job_id)
        statuses: list[str] = []
        completed = asyncio.Event()
        async with http.ws_connect(f"{base.replace('http', 'ws', 1)}/ws?token={admin}") as ws:
            await ws.send_json({"type": "subscribe", "topic": f"job:{job_id}"})
            watcher = asyncio.create_task(_collect(ws, statuses, completed), name="status-watcher")
            cand = ScriptedCandidate(http, base, token, video, audio)
            await cand.consent()
            await cand.connect()
            await cand.device_check()
            live = await scrape(http, base)  # what an operator's Prometheus sees
            assert live.value("interview_live_admitted_sessions") == 1
            assert live.value("interview_live_redis_up") == 1
            await cand.send({"type": "start_interview"})
            try:
                # answer 1: Redis crashes (SIGKILL) a third of the way in, back 3 s later
                await cand.wait_phase(0, "prep")
                await cand.send({"type": "start_answer"})
                await cand.wait_phase(0, "answer")
                await asyncio.sleep(ANSWER_S / 3)
                await asyncio.to_thread(redis_srv.restart, REDIS_DOWN_S, True)
                await cand.wait_phase(1, "prep", timeout_s=ANSWER_S + 10)

                # answer 2: the analyzer that owns the interview crashes
                await cand.send({"type": "start_answer"})
                await cand.wait_phase(1, "answer")
                await asyncio.sleep(ANSWER_S / 3)
                redis = aioredis.Redis.from_url(redis_srv.url)
                owner = (await redis.get(LEASE_PREFIX + iid)).decode()
                await redis.aclose()
                workers = analyzers[owner].children()
                assert workers, "the analyzer node runs worker processes"
                analyzers[owner].kill()
                survivor = next(n for name, n in analyzers.items() if name != owner)
                await cand.wait_phase(2, "prep", timeout_s=ANSWER_S + 10)
                await cand.send({"type": "start_answer"})
                await cand.send({"type": "finish_answer"})
                await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=10)
            finally:
                await cand.disconnect()
            # the survivor holds the interview until the close is read, then lets it go
            assert survivor.health()["roles"] == ["analyzer"]
            # the dead node's workers noticed and exited (no orphans holding models in memory)
            assert not [pid for pid in workers if pid_alive(pid)], workers

            await asyncio.wait_for(completed.wait(), WAIT_S)
            watcher.cancel()
        # every status change reached the dashboard, in order, none lost to the Redis crash
        # ("invited" happened before the subscription: it arrives only when the hub read it
        # from Redis after the subscribe message, a race the test does not control)
        if statuses[:1] == ["invited"]:
            statuses.pop(0)
        assert statuses == [
            "opened",
            "consented",
            "device_checked",
            "in_progress",
            "completed",
        ]

        detail: dict[str, Any] = {}
        for _ in range(int(WAIT_S / 0.5)):  # the last finals and scores arrive after the end
            detail = await call(http, "GET", f"{base}/api/interviews/{iid}", admin)
            if len(_finals(detail, 1)) >= 2 and detail["scores"]:
                break
            await asyncio.sleep(0.5)
        # answer 1: the sentence loops every ~8.3 s, so a 30 s answer holds three whole ones;
        # nothing was lost to the Redis crash (the media process kept the audio meanwhile)
        finals = _finals(detail, 0)
        for seg in _inner(detail, 0):
            assert windowed_wer(SENTENCE, seg["text"]) <= MAX_FINAL_WER, (seg, finals)
        words = sum(len(normalise_words(s["text"])) for s in finals)
        assert words >= 3 * len(normalise_words(SENTENCE)) * 0.9, finals
        # answer 2: the take-over is reported and recognition went on after the crash
        errors = [e["message"] for e in detail.get("analyzer_errors", [])]
        assert any("took over" in m for m in errors), errors
        killed_media_s = detail["answers"][1]["recordings"][0]["media_start_s"] + ANSWER_S / 3
        after = [s for s in _inner(detail, 1) if s["start_s"] > killed_media_s + 1.0]
        assert after and all(windowed_wer(SENTENCE, s["text"]) <= MAX_FINAL_WER for s in after)
        assert detail["scores"], "scores stored"
        # the surviving analyzer node's metrics: the take-over and its final transcripts
        survived = await scrape(http, survivor.base_url)
        assert survived.value("interview_live_analyzer_node_takeovers_total") == 1
        assert (survived.value("interview_live_asr_final_latency_seconds_count") or 0) >= len(after)


async def _collect(
    ws: aiohttp.ClientWebSocketResponse, out: list[str], completed: asyncio.Event
) -> None:
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            continue
        body = msg.json()
        if body.get("type") == "status":
            out.append(body["status"])
            if body["status"] == "completed":
                completed.set()
