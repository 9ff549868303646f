"""A whole interview over real WebRTC (aiortc candidate ↔ server), recordings checked for content."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from media.recorder import AnswerRecorder
from server.domain.models import Role
from tests.support.candidate import ScriptedCandidate
from tests.support.checks import count_frames_with_face, decode_ok, transcribe, windowed_wer
from tests.support.media import face_y4m, speech_wav
from tests.support.metrics import scrape
from tests.support.scan import scan_for_plaintext
from tests.support.server import RunningServer

SENTENCE = "I have worked in public service for five years and I enjoy helping people solve their problems."
ANSWER_S = 18
"""Long enough to hold one whole sentence (7.3 s + 1 s pause) wherever the loop starts."""
MAX_WER = 0.2
SLOW_FINISH_S = 1.5
SETTLE_S = 10.0


def question(section: str, media: str, answer_s: int, prep_s: int = 1) -> dict[str, Any]:
    return {
        "section": section,
        "text": {"en": f"A {section} question", "zh": f"{section} 题目"},
        "competencies": ["expression"],
        "rubric": [{"en": "clear answer", "zh": "回答清楚"}],
        "prep_s": prep_s,
        "answer_s": answer_s,
        "media": media,
    }


async def short_job(
    server: RunningServer,
    token: str,
    answer_s: tuple[int, int, int],
    make_question: Callable[[str, str, int], dict[str, Any]] = question,
    competencies: list[dict[str, Any]] | None = None,
) -> str:
    """A job of one question per section, the last answered in text."""
    ids = []
    for section, media, seconds in zip(
        ("self_intro", "structured", "professional"),
        ("video", "video", "text"),
        answer_s,
        strict=True,
    ):
        q = await server.call(
            "POST",
            "/api/questions",
            token=token,
            json=make_question(section, media, seconds),
            expect=201,
        )
        ids.append(q["id"])
    job = await server.call(
        "POST",
        "/api/jobs",
        token=token,
        json={
            "title": "Clerk",
            "department": "Office",
            "language": "en",
            "competencies": competencies or [{"id": "expression", "weight": 1.0}],
            "plan": [
                {"section": "self_intro", "questions": [ids[0]]},
                {"section": "structured", "questions": [ids[1]]},
                {"section": "professional", "questions": [ids[2]]},
            ],
        },
        expect=201,
    )
    return str(job["id"])


@pytest.fixture
def media_files(tmp_path: Path) -> tuple[Path, Path]:
    return face_y4m(tmp_path / "face.y4m", seconds=4.0), speech_wav(
        SENTENCE, tmp_path / "speech.wav"
    )


async def invite(server: RunningServer, token: str, job_id: str) -> tuple[str, str]:
    inv = await server.call(
        "POST",
        f"/api/jobs/{job_id}/invitations",
        token=token,
        json={"name": "Test Candidate", "email": "t@example.com"},
        expect=201,
    )
    return inv["interview_id"], inv["url"].rsplit("/i/", 1)[1]


async def answering(
    server: RunningServer, media_files: tuple[Path, Path]
) -> tuple[str, str, ScriptedCandidate]:
    """An admin's token, and a candidate invited to a short job who is answering its first
    question (with ``media_files``): the token, the interview and the candidate."""
    admin = await server.add_staff("admin", Role.ADMIN)
    job_id = await short_job(server, admin, (60, 30, 60))
    interview_id, token = await invite(server, admin, job_id)
    cand = ScriptedCandidate(server.http, server.base_url, token, *media_files)
    await cand.begin_first_answer()
    return admin, interview_id, cand


async def download(server: RunningServer, url: str, dest: Path) -> Path:
    async with server.http.get(url) as resp:
        assert resp.status == 200, resp.status
        data = await resp.read()
    await asyncio.to_thread(dest.write_bytes, data)
    return dest


async def test_full_interview_is_recorded_and_analysed(
    analysis_server: RunningServer, media_files: tuple[Path, Path], tmp_path: Path
) -> None:
    server = analysis_server
    admin = await server.add_staff("admin", Role.ADMIN)
    job_id = await short_job(server, admin, (60, ANSWER_S, 60))
    interview_id, token = await invite(server, admin, job_id)
    cand = ScriptedCandidate(server.http, server.base_url, token, *media_files)
    await cand.consent()
    await cand.connect()
    await cand.device_check()
    live = await scrape(server.http, server.base_url)
    assert live.value("interview_live_admitted_sessions") == 1  # the candidate connected
    await cand.send({"type": "start_interview"})
    try:
        # Q1: skip prep, answer, finish early
        await cand.wait_phase(0, "prep")
        await cand.send({"type": "scratchpad", "index": 0, "text": "STAR: situation, task"})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        await cand.send({"type": "start_answer"})
        await cand.wait_phase(0, "answer")
        await asyncio.sleep(ANSWER_S)
        await cand.send({"type": "finish_answer"})
        # Q2: prep runs out by itself, then the answer time runs out
        await cand.wait_phase(1, "answer", timeout_s=10)
        await cand.wait_phase(2, "prep", timeout_s=ANSWER_S + 8)
        # Q3: text answer
        await cand.wait_phase(2, "answer", timeout_s=10)
        await cand.send({"type": "text_answer", "index": 2, "text": '=SUMIFS(C:C,A:A,"East")'})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        await asyncio.sleep(ANSWER_S)
        await cand.send({"type": "finish_answer"})
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=10)
    finally:
        await cand.disconnect()

    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["status"] == "completed"
    answers = detail["answers"]
    assert [a["status"] for a in answers] == ["done", "done", "done"]
    assert [a["end_reason"] for a in answers] == ["finished", "time_up", "finished"]
    assert answers[0]["scratchpad"] == "STAR: situation, task"
    assert answers[2]["text_answer"] == '=SUMIFS(C:C,A:A,"East")'
    assert answers[1]["answer_used_s"] == pytest.approx(ANSWER_S, abs=0.5)
    for answer in answers:
        assert len(answer["recording_urls"]) == 1
        path = await download(
            server, answer["recording_urls"][0], tmp_path / f"{answer['index']}.webm"
        )
        info = decode_ok(path)
        assert info["video_width"] == 640 and info["video_frames"] > 10 * ANSWER_S
        assert info["audio_duration_s"] > ANSWER_S - 2
        heard = await asyncio.to_thread(transcribe, path)
        wer = windowed_wer(SENTENCE, heard)
        assert wer <= MAX_WER, (answer["index"], wer, heard)
        faces, checked = await asyncio.to_thread(count_frames_with_face, path, max_frames=20)
        assert faces >= 0.9 * checked, (faces, checked)

    # live analysis: the transcript of each spoken answer, scores with evidence, no flags
    # for a steady face in front of the camera
    for answer in answers:
        assert windowed_wer(SENTENCE, answer["transcript"]) <= MAX_WER, answer["transcript"]
        # transcript times map into the answer's recording (click a word → seek)
        (rec,) = answer["recordings"]
        start, end = rec["media_start_s"], rec["media_start_s"] + rec["duration_s"]
        for seg in answer["transcript_segments"]:
            # an utterance may begin just before the answer did; it must overlap the file
            assert seg["end_s"] > start - 0.5 and seg["start_s"] < end + 0.5, (seg, rec)
        inside = [
            w
            for seg in answer["transcript_segments"]
            for w in seg["words"]
            if start <= w["start_s"] <= end
        ]
        assert len(inside) >= 10, (start, end)
    # every final transcript's latency went into the histogram an operator scrapes
    finals = sum(len(answer["transcript_segments"]) for answer in answers)
    metrics = await scrape(server.http, server.base_url)
    assert finals >= 2
    assert (metrics.value("interview_live_asr_final_latency_seconds_count") or 0) >= finals
    assert metrics.value("interview_live_analyzer_busy_ratio", worker="0") is not None
    assert {s["dimension"] for s in detail["scores"]} == {"expression"}
    assert all(0 <= s["value"] <= 10 and s["reason"] for s in detail["scores"])
    assert detail["flags"] == [], detail["flags"]
    assert detail["overall"] is not None and 0 <= detail["overall"] <= 10

    # at rest nothing is readable: no media container, name, e-mail, transcript or answer text
    secrets = [
        b"\x1a\x45\xdf\xa3",  # EBML (WebM) header
        b"Test Candidate",
        b"t@example.com",
        b"public service",
        b"situation, task",
        b"SUMIFS",
    ]
    found = await asyncio.to_thread(scan_for_plaintext, server.svc.settings.data_dir, secrets)
    assert found == [], found

    # HR roles do not get recording links; unauthenticated recording access is refused
    hr = await server.add_staff("hr", Role.HR)
    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=hr)
    assert "recording_urls" not in detail["answers"][0]
    rec_id = detail["answers"][0]["recordings"][0]["id"]
    await server.call("GET", f"/api/recordings/{rec_id}", expect=401)
    await server.call("GET", f"/api/recordings/{rec_id}", token=hr, expect=403)
    await server.call(
        "GET", f"/api/recordings/{rec_id}?exp=9999999999&sub=x&sig=forged", expect=403
    )


async def test_resume_keeps_question_time_and_recording(
    server: RunningServer, media_files: tuple[Path, Path]
) -> None:
    admin, interview_id, cand = await answering(server, media_files)
    await asyncio.sleep(5)
    cand.drain()
    tick = await cand.wait_for(lambda m: m.get("type") == "tick")
    before_s = tick["remaining_s"]
    await cand.disconnect()
    await asyncio.sleep(3)  # time passes while disconnected: it must not count

    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["current"]["index"] == 0 and detail["current"]["paused"]
    assert detail["current"]["remaining_s"] == pytest.approx(before_s, abs=2)
    assert len(detail["answers"][0]["recordings"]) == 1  # the first part is kept

    await cand.connect()
    state = await cand.wait_phase(0, "answer")
    assert state["current"]["remaining_s"] == pytest.approx(before_s, abs=2)
    await asyncio.sleep(2)
    await cand.send({"type": "finish_answer"})
    await cand.wait_phase(1, "prep")
    await cand.disconnect()
    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    recordings = detail["answers"][0]["recordings"]
    assert len(recordings) == 2
    assert sum(r["duration_s"] for r in recordings) == pytest.approx(
        detail["answers"][0]["answer_used_s"], abs=2.5
    )


async def test_server_restart_keeps_finished_answers_and_position(
    tmp_path: Path, media_files: tuple[Path, Path]
) -> None:
    from tests.support.server import running_server

    data_dir = tmp_path / "data"
    async with running_server(data_dir) as server:
        admin = await server.add_staff("admin", Role.ADMIN)
        job_id = await short_job(server, admin, (60, 60, 60))
        interview_id, token = await invite(server, admin, job_id)
        cand = ScriptedCandidate(server.http, server.base_url, token, *media_files)
        await cand.begin_first_answer()
        await asyncio.sleep(3)
        await cand.send({"type": "finish_answer"})
        await cand.wait_phase(1, "prep")
        await cand.send({"type": "scratchpad", "index": 1, "text": "outline"})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        # the server goes down with the candidate still connected
    await cand.disconnect()
    async with running_server(data_dir) as server:
        token_admin = (
            await server.call(
                "POST", "/api/auth/login", json={"username": "admin", "password": "pw-admin"}
            )
        )["token"]
        detail = await server.call("GET", f"/api/interviews/{interview_id}", token=token_admin)
        assert detail["status"] == "in_progress"
        assert detail["answers"][0]["status"] == "done"
        assert len(detail["answers"][0]["recordings"]) == 1
        assert detail["current"]["index"] == 1 and detail["current"]["phase"] == "prep"
        assert detail["current"]["scratchpad"] == "outline"
        # the candidate comes back to the same question
        cand = ScriptedCandidate(server.http, server.base_url, token, *media_files)
        await cand.connect()
        state = await cand.wait_phase(1, "prep")
        assert state["current"]["scratchpad"] == "outline"
        await cand.disconnect()


async def test_tab_closed_while_the_answer_is_being_saved_keeps_the_recording(
    server: RunningServer, media_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed tab drops the media connection and the socket within milliseconds: the
    socket's end must not cancel the saving of the answer the connection's end began."""
    finish = AnswerRecorder._finish

    def slow_finish(self: AnswerRecorder, *args: Any) -> Any:
        time.sleep(SLOW_FINISH_S)  # a large file on a slow disk (writer thread)
        return finish(self, *args)

    monkeypatch.setattr(AnswerRecorder, "_finish", slow_finish)
    admin, interview_id, cand = await answering(server, media_files)
    await asyncio.sleep(2)
    assert cand.pc is not None
    await cand.pc.close()  # the server pauses and starts saving the answer's file ...
    await asyncio.sleep(SLOW_FINISH_S / 3)
    await cand.disconnect()  # ... and the socket goes while it saves
    recordings: list[Any] = []
    for _ in range(int(SETTLE_S / 0.25)):
        detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
        recordings = detail["answers"][0]["recordings"]
        if recordings:
            break
        await asyncio.sleep(0.25)
    assert len(recordings) == 1, detail["answers"][0]
    assert recordings[0]["duration_s"] > 1
