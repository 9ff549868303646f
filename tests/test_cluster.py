"""A deployment spread as over several machines: two media processes, one analyzer node and
one API process, each with a data directory of its own (no shared SQLite), sharing only what
an operator shares between machines: PostgreSQL, Redis, the recordings folder
(``INTERVIEW_RECORDINGS_DIR``), the master keys and the secret key (environment).

A scripted candidate (real aiortc peer, espeak speech, face video) is interviewed through
media node a. During the second answer node a is killed (SIGKILL); the candidate resumes on
node b at the same question with the time it had, says something else and finishes. Staff
review through the API node: every answer is there, the first answer's recording (written by
node a) plays with a Range request from the API node, the transcript said on node a before
the crash and the one said on node b after it are both stored, and the second answer has two
recordings that play: node a's until the crash (its unfinished file finalised and registered
by node b) and node b's.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from loadtest.candidate.recordings import decode
from loadtest.postgres import PostgresCluster
from server.security.keyring import KeyRing
from tests.support.candidate import ScriptedCandidate
from tests.support.checks import normalise_words
from tests.support.media import face_y4m, speech_wav
from tests.support.nodes import Node, node_process
from tests.support.process import run_demo
from tests.support.redis_server import redis_instance
from tests.support.server import free_port
from tests.support.staff_api import call, invite, login, spoken_job

SAID_ON_A = "I have worked in public service for five years and I enjoy helping people."
SAID_ON_B = "My neighbours trust me because I always listen carefully before I decide."
ANSWER_S = 90
"""Far more than the test needs: nothing runs out of time."""
SPEAK_S = 10.0
"""Each sentence takes about 6 s: one whole utterance (and its final) in every stretch."""
STORED_WAIT_S = 30.0
"""The last finals and the recordings reach the store after the interview ends."""
REMAINING_TOLERANCE_S = 3.0
"""The clock pauses while the candidate is disconnected; the crash may cost the last second."""
CRASH_LOSS_S = 3.0
"""What a killed media node's recording may lack: its last WebM cluster (1 s), its unsealed
last chunk (64 KiB) and the frames queued for its writer."""
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _words_of(detail: dict[str, Any], index: int) -> set[str]:
    return {
        word
        for segment in detail["answers"][index]["transcript_segments"]
        for word in normalise_words(segment["text"])
    }


def _heard(detail: dict[str, Any], index: int, sentence: str) -> bool:
    """Most of ``sentence``'s distinctive words are in the answer's stored finals."""
    wanted = {w for w in normalise_words(sentence) if len(w) > 3}
    return len(wanted & _words_of(detail, index)) >= 0.7 * len(wanted)


@pytest.mark.timeout(300)
async def test_a_candidate_moves_between_media_machines_and_is_reviewed_on_the_api_machine(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    database_url = postgres.new_database()
    recordings = tmp_path / "shared-recordings"  # what each machine would mount
    shared = {
        "INTERVIEW_RECORDINGS_DIR": str(recordings),
        "INTERVIEW_MASTER_KEYS": KeyRing.load_or_create(tmp_path / "keys.json").to_json(),
        "INTERVIEW_SECRET_KEY": secrets.token_hex(32),
    }
    video = face_y4m(tmp_path / "face.y4m", seconds=4.0)
    said_on_a = speech_wav(SAID_ON_A, tmp_path / "a.wav")
    said_on_b = speech_wav(SAID_ON_B, tmp_path / "b.wav")
    api_port = free_port()
    demo = run_demo(tmp_path / "seed", api_port, database_url, shared)
    with redis_instance(durable=True) as redis_srv:
        common = ("--redis-url", redis_srv.url)
        remote = ("--role", "media", "--analysis-workers", "1")  # analysis on the analyzer node

        def node(name: str, *args: str, port: int | None = None) -> Any:
            return node_process(
                tmp_path / name, name, *args, port=port, env=shared, database_url=database_url
            )

        with (
            node("api", "--role", "api", "--analysis-workers", "0", *common, port=api_port) as api,
            node("analyzer", "--role", "analyzer", "--analysis-workers", "1", *common),
            node("media-a", *remote, *common) as media_a,
            node("media-b", *remote, *common) as media_b,
        ):
            iid = await _interview(api, media_a, media_b, demo, video, said_on_a, said_on_b)
            await _review(api, iid, demo)
    # the files are in the shared folder, named relative to it in the shared database
    with psycopg.connect(database_url) as conn:
        paths = [
            r[0] for r in conn.execute("SELECT path FROM recordings WHERE interview_id=%s", (iid,))
        ]
    assert paths and all(p.startswith(f"{iid}/") for p in paths), paths
    assert all((recordings / p).is_file() for p in paths)
    for name in ("api", "analyzer", "media-a", "media-b"):
        assert not (tmp_path / name / "recordings" / iid).exists(), name
        assert not (tmp_path / name / "interview.sqlite3").exists(), name


async def _interview(
    api: Node,
    media_a: Node,
    media_b: Node,
    demo: dict[str, Any],
    video: Path,
    said_on_a: Path,
    said_on_b: Path,
) -> str:
    async with aiohttp.ClientSession() as http:
        admin = await login(http, api.base_url, demo["admin"])
        # two spoken answers and the written professional test every plan has
        job_id = await spoken_job(http, api.base_url, admin, ANSWER_S, ("video", "video", "text"))
        iid, token = await invite(http, api.base_url, admin, job_id)
        on_a = ScriptedCandidate(http, media_a.base_url, token, video, said_on_a)
        await on_a.begin_first_answer()
        await asyncio.sleep(SPEAK_S)
        await on_a.send({"type": "finish_answer"})
        await on_a.wait_phase(1, "prep")
        await on_a.send({"type": "start_answer"})
        answering = await on_a.wait_phase(1, "answer")
        answering_since = time.monotonic()
        await asyncio.sleep(SPEAK_S)
        media_a.kill()  # mid-answer: a media machine dies
        killed_at = time.monotonic()
        remaining_before = answering["current"]["remaining_s"] - (killed_at - answering_since)
        await on_a.disconnect()

        on_b = ScriptedCandidate(http, media_b.base_url, token, video, said_on_b)
        try:
            await on_b.connect()  # what the page does: a new socket and peer on another node
            resumed = await on_b.wait_phase(1, "answer")
            assert time.monotonic() - killed_at < 20.0
            remaining_after = resumed["current"]["remaining_s"]
            assert remaining_after == pytest.approx(remaining_before, abs=REMAINING_TOLERANCE_S)
            await asyncio.sleep(SPEAK_S)
            await on_b.send({"type": "finish_answer"})
            await on_b.wait_phase(2, "prep")
            await on_b.send({"type": "start_answer"})
            await on_b.send({"type": "finish_answer"})
            await on_b.wait_for(lambda m: m.get("type") == "completed", timeout_s=15)
        finally:
            await on_b.disconnect()
        return iid


async def _review(api: Node, iid: str, demo: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http:
        admin = await login(http, api.base_url, demo["admin"])
        detail: dict[str, Any] = {}
        deadline = time.monotonic() + STORED_WAIT_S
        while time.monotonic() < deadline:
            detail = await call(http, "GET", f"{api.base_url}/api/interviews/{iid}", admin)
            segments = [len(a["recordings"]) for a in detail["answers"]]
            if _heard(detail, 1, SAID_ON_B) and segments == [1, 2, 0]:
                break
            await asyncio.sleep(0.5)
        assert detail["status"] == "completed"
        assert [a["status"] for a in detail["answers"]] == ["done", "done", "done"]
        # nothing said is lost: before the crash on node a, after it on node b
        assert _heard(detail, 0, SAID_ON_A), detail["answers"][0]["transcript_segments"]
        assert _heard(detail, 1, SAID_ON_A), detail["answers"][1]["transcript_segments"]
        assert _heard(detail, 1, SAID_ON_B), detail["answers"][1]["transcript_segments"]

        # node a recorded the first answer; the API node plays it, seeking with a Range
        (url,) = detail["answers"][0]["recording_urls"]
        assert url.startswith(api.base_url + "/api/recordings/")
        async with http.get(url, headers={"Range": "bytes=0-3"}) as resp:
            assert resp.status == 206, await resp.text()
            size = int(resp.headers["Content-Range"].rsplit("/", 1)[1])
            assert await resp.read() == EBML_MAGIC
        async with http.get(url, headers={"Range": f"bytes=4-{size - 1}"}) as resp:
            assert resp.status == 206
            whole = EBML_MAGIC + await resp.read()
        first = await asyncio.to_thread(decode, whole)
        assert first.audio_s >= SPEAK_S - 2 and first.video_frames > 0, first
        # the second answer: what node a recorded until it died (its unfinished file adopted
        # by node b's session), then what node b recorded
        crashed, resumed = detail["answers"][1]["recordings"]
        assert resumed["media_start_s"] is not None
        # the crashed file's header kept its start on node a's media clock: what node a
        # heard of this answer lies inside the file (click a word, seek to it)
        start = crashed["media_start_s"]
        only_a = {w for w in normalise_words(SAID_ON_A) if len(w) > 3} - set(
            normalise_words(SAID_ON_B)
        )
        heard_on_a = [
            seg
            for seg in detail["answers"][1]["transcript_segments"]
            if only_a & set(normalise_words(seg["text"]))
        ]
        assert heard_on_a and start is not None, (crashed, heard_on_a)
        for seg in heard_on_a:
            assert start - 0.5 < seg["start_s"] < start + crashed["duration_s"], (seg, crashed)
        assert crashed["duration_s"] >= SPEAK_S - CRASH_LOSS_S, crashed
        for url, least_s in zip(
            detail["answers"][1]["recording_urls"],
            (SPEAK_S - CRASH_LOSS_S, SPEAK_S - 2),
            strict=True,
        ):
            async with http.get(url) as resp:
                assert resp.status == 200
                played = await asyncio.to_thread(decode, await resp.read())
            assert played.audio_s >= least_s and played.video_frames > 0, played
