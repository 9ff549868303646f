"""What the API says about Chinese interviews: accepted answer languages per job, and
"transcription unavailable" when no speech model is mapped to the interview's language."""

from __future__ import annotations

from pathlib import Path

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.server import RunningServer, running_server
from tests.test_api import invite


async def test_answer_languages_are_validated_and_kept(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin, language="zh-CN", answer_languages=["zh", "en"])
    assert job["answer_languages"] == ["zh", "en"]
    assert (await make_job(server, admin))["answer_languages"] == []
    bank = await server.call("GET", "/api/questions", token=admin)
    for bad in (["zh", "fr"], "zh", [1]):
        body = {
            "title": "T",
            "department": "D",
            "language": "zh-CN",
            "answer_languages": bad,
            "competencies": [{"id": "logic", "weight": 1}],
            "plan": [{"section": "structured", "questions": [bank[0]["id"]]}],
        }
        errors = await server.call("POST", "/api/jobs", token=admin, json=body, expect=422)
        assert any(e["field"] == "answer_languages" for e in errors["errors"]), errors


async def test_chinese_interview_is_transcribed_by_default(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin, language="zh-CN")
    inv = await invite(server, admin, job["id"], "Zhang Wei")
    detail = await server.call("GET", f"/api/interviews/{inv['interview_id']}", token=admin)
    assert detail["transcription"] == {"available": True, "language": "zh", "message": None}
    assert detail["scores_not_applicable"] is False


async def test_language_without_a_model_says_transcription_unavailable(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, asr_models={"zh": "none"}
    ) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        zh_job = await make_job(srv, admin, language="zh-CN")
        en_job = await make_job(srv, admin, language="en")
        zh = await invite(srv, admin, zh_job["id"], "Li Na")
        en = await invite(srv, admin, en_job["id"], "Alex Chen")
        detail = await srv.call("GET", f"/api/interviews/{zh['interview_id']}", token=admin)
        assert detail["transcription"]["available"] is False
        assert detail["transcription"]["language"] == "zh"
        assert "不适用" in detail["transcription"]["message"]["zh"]
        assert "not applicable" in detail["transcription"]["message"]["en"]
        assert detail["scores_not_applicable"] is True and detail["scores"] == []
        report = await srv.call("GET", f"/api/interviews/{zh['interview_id']}/report", token=admin)
        assert report["scores_not_applicable"] is True
        assert report["transcription"]["available"] is False
        html = await srv.call(
            "GET", f"/api/interviews/{zh['interview_id']}/report?format=html&lang=zh", token=admin
        )
        assert "该语言暂无语音转写模型" in html.decode()
        other = await srv.call("GET", f"/api/interviews/{en['interview_id']}", token=admin)
        assert other["transcription"]["available"] is True
