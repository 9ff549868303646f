"""The non-video path: audio-only and written interviews, where the org enables them.

Face processing is never mandatory (PIPL Art. 29): an audio interview never receives the camera
and is analysed from speech alone; a written interview has no media connection at all, runs its
clock on the control socket, and its answers are scored from their text.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server.domain.models import Role
from tests.support.candidate import ScriptedCandidate
from tests.support.checks import decode_ok, transcribe, windowed_wer
from tests.support.fuzz_clients import real_offer
from tests.support.media import speech_wav
from tests.support.scan import scan_for_plaintext
from tests.support.server import RunningServer
from tests.test_interview_media import download, invite, short_job

SENTENCE = "I would first evacuate the residents and then report to my supervisor immediately."
ANSWER_S = 14
MAX_WER = 0.25


def _question(section: str, media: str, answer_s: int) -> dict[str, Any]:
    return {
        "section": section,
        "text": {"en": f"A {section} question", "zh": f"{section} 题目"},
        "competencies": ["emergency", "expression"],
        "rubric": [
            {"en": "Evacuate people first", "keywords": {"en": ["evacuate"]}},
            {"en": "Report to the superior", "keywords": {"en": ["report", "supervisor"]}},
            {"en": "Restore order", "keywords": {"en": ["restore order"]}},
        ],
        "prep_s": 1,
        "answer_s": answer_s,
        "media": media,
    }


async def _job(server: RunningServer, token: str, answer_s: int) -> str:
    return await short_job(
        server,
        token,
        (answer_s, answer_s, answer_s),
        make_question=_question,
        competencies=[{"id": "emergency", "weight": 0.6}, {"id": "expression", "weight": 0.4}],
    )


async def _candidate_call(
    server: RunningServer, token: str, method: str, path: str, expect: int, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with server.http.request(
        method, server.base_url + path, headers=headers, **kwargs
    ) as resp:
        body = await resp.json(content_type=None)
        assert resp.status == expect, (resp.status, body)
        return body


async def _enable(server: RunningServer, admin: str, **modes: bool) -> dict[str, Any]:
    return dict(
        await server.call(
            "PUT", "/api/org/settings", token=admin, json={"alternatives": modes}, expect=200
        )
    )


async def test_org_settings_decide_which_modes_a_candidate_may_choose(
    server: RunningServer,
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job_id = await _job(server, admin, 30)
    _, token = await invite(server, admin, job_id)

    state = await _candidate_call(server, token, "GET", "/api/candidate/state", 200)
    assert state["modes"] == ["video"] and state["mode"] is None
    body = {"decision": "accept", "mode": "audio", "recording": True, "analysis": True}
    # a well-formed consent the organisation's settings do not allow: 409
    refused = await _candidate_call(server, token, "POST", "/api/candidate/consent", 409, json=body)
    assert refused["error"] == "mode_not_allowed"

    # only admins change it; bad values are reported per field and nothing changes
    hr = await server.add_staff("hr", Role.HR)
    await server.call("PUT", "/api/org/settings", token=hr, json={"alternatives": {}}, expect=403)
    bad = await server.call(
        "PUT",
        "/api/org/settings",
        token=admin,
        json={"alternatives": {"audio": "yes", "face": True}},
        expect=422,
    )
    assert {d["field"] for d in bad["errors"]} == {"alternatives.audio", "alternatives.face"}
    settings = await _enable(server, admin, audio=True)
    assert settings["alternatives"] == {"audio": True, "text": False}
    settings = await _enable(server, admin, text=True)
    assert settings["alternatives"] == {"audio": True, "text": True}
    assert settings["retention"]  # the other settings are still there

    state = await _candidate_call(server, token, "GET", "/api/candidate/state", 200)
    assert state["modes"] == ["video", "audio", "text"]
    audit = await server.call("GET", "/api/audit", token=admin)
    changes = [e for e in audit["events"] if e["kind"] == "interview_modes_changed"]
    assert len(changes) == 2 and changes[-1]["actor"] == "admin"


@pytest.mark.parametrize(
    ("mode", "recording", "analysis", "status", "error"),
    [
        ("video", True, False, 422, "consent_incomplete"),
        ("audio", False, True, 422, "consent_incomplete"),
        ("text", True, True, 400, "bad_request"),
        ("holo", True, True, 422, "invalid_consent"),
        ("audio", True, False, 200, None),
        ("text", False, False, 200, None),
    ],
)
async def test_consent_rules_per_mode(
    server: RunningServer,
    mode: str,
    recording: bool,
    analysis: bool,
    status: int,
    error: str | None,
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    await _enable(server, admin, audio=True, text=True)
    interview_id, token = await invite(server, admin, await _job(server, admin, 30))
    body = {"decision": "accept", "mode": mode, "recording": recording, "analysis": analysis}
    got = await _candidate_call(server, token, "POST", "/api/candidate/consent", status, json=body)
    if error is not None:
        assert got["error"] == error
        return
    assert got["mode"] == mode and got["status"] == "consented"
    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["mode"] == mode
    record = detail["consent"]
    assert record["mode"] == mode and record["face_processing"] is False
    assert record["recording"] is recording and record["analysis"] is analysis
    assert record["text_version"]


async def test_device_check_and_offer_follow_the_mode(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    await _enable(server, admin, audio=True, text=True)
    job_id = await _job(server, admin, 30)
    offer = await real_offer()  # audio + video, as a camera page sends

    # video: the camera must work
    _, video = await invite(server, admin, job_id)
    cand = ScriptedCandidate(server.http, server.base_url, video, None, None, mode="video")
    await cand.consent()
    check = {"camera": False, "microphone": True, "webrtc": True}
    got = await _candidate_call(
        server, video, "POST", "/api/candidate/device-check", 409, json=check
    )
    assert got["error"] == "device_check_failed" and "camera" in got["message"]

    # audio: no camera needed, and an offer carrying video is refused
    _, audio = await invite(server, admin, job_id)
    cand = ScriptedCandidate(server.http, server.base_url, audio, None, None, mode="audio")
    await cand.consent()
    await _candidate_call(server, audio, "POST", "/api/candidate/device-check", 200, json=check)
    await cand.connect_socket()
    try:
        got = await _candidate_call(
            server,
            audio,
            "POST",
            "/api/candidate/offer",
            400,
            json={"type": "offer", "sdp": offer},
        )
        assert got["error"] == "bad_sdp" and "audio only" in got["message"], got
    finally:
        await cand.disconnect()

    # text: only the page is needed, and there is no media connection at all
    _, text = await invite(server, admin, job_id)
    cand = ScriptedCandidate(server.http, server.base_url, text, None, None, mode="text")
    await cand.consent()
    nothing = {"camera": False, "microphone": False, "webrtc": False, "rtt_ms": 20}
    await _candidate_call(server, text, "POST", "/api/candidate/device-check", 200, json=nothing)
    got = await _candidate_call(
        server, text, "POST", "/api/candidate/offer", 409, json={"type": "offer", "sdp": offer}
    )
    assert got["error"] == "text_only"


async def _written_candidate(
    server: RunningServer, analysis: bool
) -> tuple[str, str, ScriptedCandidate]:
    """An admin token, and a candidate who chose the written mode and is on the socket."""
    admin = await server.add_staff("admin", Role.ADMIN)
    await _enable(server, admin, text=True)
    interview_id, token = await invite(server, admin, await _job(server, admin, 10))
    cand = ScriptedCandidate(server.http, server.base_url, token, None, None, mode="text")
    await cand.consent(analysis=analysis)
    await cand.device_check()
    await cand.connect()
    return admin, interview_id, cand


async def test_written_interview_runs_without_media_and_is_scored_from_text(
    analysis_server: RunningServer,
) -> None:
    server = analysis_server
    admin, interview_id, cand = await _written_candidate(server, analysis=True)
    answers = [
        "My name is Ada. I have coordinated community work for five years.",
        "First I would evacuate the residents, second report to my supervisor, finally"
        " restore order.",
        "Evacuate, then report.",
    ]
    try:
        await cand.send({"type": "start_interview"})
        # the clock runs on the socket alone: prep runs out by itself
        await cand.wait_phase(0, "answer", timeout_s=10)
        await cand.send({"type": "text_answer", "index": 0, "text": answers[0]})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        await cand.send({"type": "finish_answer"})
        # a dropped connection pauses the clock; back on the socket it continues
        await cand.wait_phase(1, "answer", timeout_s=10)
        await cand.send({"type": "text_answer", "index": 1, "text": answers[1]})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        await cand.disconnect()
        await asyncio.sleep(2.0)
        await cand.connect()
        # the pause is on record for the examiner (the clock stood still meanwhile)
        resumed = [
            e for e in await server.svc.store.events(interview_id) if e["kind"] == "written_resumed"
        ]
        assert len(resumed) == 1 and resumed[0]["data"]["question_index"] == 1, resumed
        assert 1.5 <= resumed[0]["data"]["paused_s"] <= 10, resumed
        state = cand.last_state
        assert state["current"]["index"] == 1 and state["current"]["phase"] == "answer"
        assert state["current"]["text_answer"] == answers[1]
        await cand.send({"type": "finish_answer"})
        await cand.wait_phase(2, "answer", timeout_s=10)
        await cand.send({"type": "text_answer", "index": 2, "text": answers[2]})
        await cand.wait_for(lambda m: m.get("type") == "saved")
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=15)
    finally:
        await cand.disconnect()

    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["status"] == "completed" and detail["mode"] == "text"
    assert [a["text_answer"] for a in detail["answers"]] == answers
    assert [a["end_reason"] for a in detail["answers"]] == ["finished", "finished", "time_up"]
    assert all(a["recordings"] == [] for a in detail["answers"])
    assert not (server.svc.settings.recordings_root / interview_id).exists()

    # scores come from the written text: the full answer covers every point, the terse one not
    metrics = await server.svc.store.analysis_events(interview_id, ["content_metrics"])
    coverage = {m["question_index"]: m["coverage"] for m in metrics}
    assert coverage[1] == pytest.approx(1.0) and coverage[2] < 1.0, coverage
    dims = {s["dimension"]: s for s in detail["scores"]}
    assert set(dims) == {"emergency", "expression"}
    quoted = [e for e in dims["emergency"]["evidence"] if e["kind"] == "written"]
    assert any("evacuate the residents" in e["detail"] for e in quoted), quoted
    assert all(e["start_s"] is None for e in quoted)
    assert detail["flags"] == []

    report = await server.call("GET", f"/api/interviews/{interview_id}/report", token=admin)
    assert report["mode"] == "text"
    page = await server.call(
        "GET", f"/api/interviews/{interview_id}/report?format=html&lang=en", token=admin
    )
    assert b"Written answers" in page


async def test_an_index_that_is_not_a_whole_number_saves_nothing(server: RunningServer) -> None:
    """JSON ``true`` and ``1.0`` equal 1 in Python and in SQL, but not in the sealed field's
    associated data: saved under them, the answer became unreadable (the candidate's page and
    the examiner's view of the interview failed). They are refused instead."""
    admin, interview_id, cand = await _written_candidate(server, analysis=False)
    try:
        await cand.send({"type": "start_interview"})
        await cand.wait_phase(0, "answer", timeout_s=10)
        await cand.send({"type": "finish_answer"})
        await cand.wait_phase(1, "answer", timeout_s=10)
        for index in (True, 1.0, "1"):
            await cand.send({"type": "text_answer", "index": index, "text": "sneaky"})
            error = await cand.wait_for(lambda m: m.get("type") == "error")
            assert "integer" in error["message"], error
        await cand.send({"type": "text_answer", "index": 1, "text": "fair"})
        await cand.wait_for(lambda m: m.get("type") == "saved")
    finally:
        await cand.disconnect()
    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["answers"][1]["text_answer"] == "fair"


async def test_written_interview_without_analysis_consent_is_not_scored(
    analysis_server: RunningServer,
) -> None:
    server = analysis_server
    admin, interview_id, cand = await _written_candidate(server, analysis=False)
    try:
        await cand.send({"type": "start_interview"})
        for index in range(3):
            await cand.wait_phase(index, "answer", timeout_s=10)
            text = f"I would evacuate everyone ({index})."
            await cand.send({"type": "text_answer", "index": index, "text": text})
            await cand.wait_for(lambda m: m.get("type") == "saved")
            await cand.send({"type": "finish_answer"})
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=10)
    finally:
        await cand.disconnect()
    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["status"] == "completed"
    assert detail["answers"][1]["text_answer"] == "I would evacuate everyone (1)."
    assert detail["scores"] == [] and await server.svc.store.analysis_events(interview_id) == []


async def test_audio_interview_is_heard_recorded_without_video_and_never_sees_a_face(
    analysis_server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = analysis_server
    published: list[dict[str, Any]] = []
    publish = server.svc.hub.publish

    def spy(topic: str, message: dict[str, Any]) -> int:
        published.append(message)
        return publish(topic, message)

    monkeypatch.setattr(server.svc.hub, "publish", spy)
    admin = await server.add_staff("admin", Role.ADMIN)
    await _enable(server, admin, audio=True)
    interview_id, token = await invite(server, admin, await _job(server, admin, ANSWER_S))
    speech = speech_wav(SENTENCE, tmp_path / "speech.wav")
    cand = ScriptedCandidate(server.http, server.base_url, token, None, speech, mode="audio")
    await cand.consent()
    await cand.device_check()
    await cand.connect()
    try:
        await cand.send({"type": "start_interview"})
        await cand.wait_phase(0, "answer", timeout_s=15)
        await cand.wait_phase(1, "answer", timeout_s=ANSWER_S + 10)
        await cand.send({"type": "finish_answer"})
        await cand.wait_phase(2, "answer", timeout_s=10)
        await cand.send({"type": "finish_answer"})
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=15)
    finally:
        await cand.disconnect()
    await asyncio.sleep(3.0)  # the analyzer's last words

    detail = await server.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["status"] == "completed" and detail["mode"] == "audio"
    first = detail["answers"][0]
    assert windowed_wer(SENTENCE, first["transcript"]) <= MAX_WER, first["transcript"]
    (rec,) = first["recordings"]
    assert rec["video_frames"] == 0 and rec["audio_packets"] > 40 * (ANSWER_S - 2)
    path = await download(server, first["recording_urls"][0], tmp_path / "0.webm")
    info = decode_ok(path)
    assert info["video_frames"] == 0 and info["audio_duration_s"] > ANSWER_S - 2
    heard = await asyncio.to_thread(transcribe, path)
    assert windowed_wer(SENTENCE, heard) <= MAX_WER, heard

    # no face or posture analysis ran, no video arrived, no face-based flag, scores from speech
    kinds = {m.get("type") for m in published if m.get("interview_id") == interview_id}
    assert "transcript_final" in kinds and "delivery_metrics" in kinds, kinds
    assert not kinds & {"face_metrics", "posture_metrics"}, kinds
    quality = [m for m in published if m.get("type") == "connection"]
    assert quality and all(m["video_fps"] == 0 for m in quality), quality
    assert detail["flags"] == []
    assert {s["dimension"] for s in detail["scores"]} == {"emergency", "expression"}
    found = await asyncio.to_thread(
        scan_for_plaintext, server.svc.settings.data_dir, [b"\x1a\x45\xdf\xa3", b"the residents"]
    )
    assert found == [], found


async def test_a_scoring_failure_is_reported_and_the_written_interview_goes_on(
    analysis_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.interview.written

    def broken(*_: Any) -> list[dict[str, Any]]:
        raise RuntimeError("scoring bug")

    monkeypatch.setattr(server.interview.written, "score_written", broken)
    server_ = analysis_server
    admin, interview_id, cand = await _written_candidate(server_, analysis=True)
    try:
        await cand.send({"type": "start_interview"})
        await cand.wait_phase(0, "prep", timeout_s=10)
        # the answer box opens with the answer time, not during preparation
        await cand.send({"type": "text_answer", "index": 0, "text": "too early"})
        error = await cand.wait_for(lambda m: m.get("type") == "error")
        assert "answer time has started" in error["message"]
        for index in range(3):
            await cand.wait_phase(index, "answer", timeout_s=15)
            await cand.send({"type": "text_answer", "index": index, "text": f"answer {index}"})
            await cand.wait_for(lambda m: m.get("type") == "saved")
            await cand.send({"type": "finish_answer"})
        await cand.wait_for(lambda m: m.get("type") == "completed", timeout_s=10)
    finally:
        await cand.disconnect()
    detail = await server_.call("GET", f"/api/interviews/{interview_id}", token=admin)
    assert detail["status"] == "completed"
    assert [a["text_answer"] for a in detail["answers"]] == ["answer 0", "answer 1", "answer 2"]
    errors = detail["analyzer_errors"]
    assert [e["analyzer"] for e in errors] == ["written"] * 3, errors
