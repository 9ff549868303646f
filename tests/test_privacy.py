"""Data rights and retention: export all of a candidate's data, erase it on request, delete
recordings a set time after the decision — really removed, scores kept, every step audited."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from loadtest.inprocess import make_job
from server.api.routes_privacy import DAY_S, sweep_retention
from server.domain.models import Role
from server.security.stream import EncryptedFile
from tests.support.server import RunningServer, running_server
from tests.test_api import invite


async def _candidate_with_data(srv: RunningServer, admin: str) -> tuple[str, Path]:
    job = await make_job(srv, admin)
    inv = await invite(srv, admin, job["id"], "Wang Fang")
    iid = inv["interview_id"]
    store = srv.svc.store
    answer = await store.ensure_answer(iid, 0, "q")
    await store.save_answer_text(iid, 0, "scratchpad", "my private notes")
    event: dict[str, Any] = {"v": 1, "interview_id": iid, "question_index": 0, "t": 1.0}
    await store.add_analysis_events(
        [
            {
                **event,
                "type": "transcript_final",
                "text": "I served the public for years",
                "start_s": 1.0,
                "end_s": 2.5,
                "words": [],
            },
            {
                **event,
                "type": "score_update",
                "dimension": "expression",
                "value": 7.0,
                "reason": "clear",
                "evidence": [{"kind": "quote", "detail": "served the public", "start_s": 1.0}],
            },
        ]
    )
    rec_dir = srv.svc.settings.recordings_root / iid
    rec_dir.mkdir(parents=True)
    path = rec_dir / "00.webm"
    with EncryptedFile.create(path, srv.svc.keyring) as w:
        w.write(b"\x1a\x45\xdf\xa3" + b"x" * 1000)
    await store.add_recording(
        answer.id,
        iid,
        {
            "path": f"{iid}/00.webm",
            "container": "webm",
            "duration_s": 1.0,
            "video_frames": 1,
            "audio_packets": 1,
            "bytes": 1004,
        },
    )
    return iid, path


async def _decided(srv: RunningServer, iid: str, admin_id: str, days_ago: float) -> None:
    await srv.svc.db.execute(
        "INSERT INTO decisions(interview_id, reviewer_id, reviewer, recommendation, comment,"
        " created_at) VALUES(?,?,?,?,?,?)",
        iid,
        admin_id,
        "admin",
        "advance",
        "good",
        time.time() - days_ago * DAY_S,
    )


async def test_retention_deletes_recordings_after_the_decision_and_keeps_scores(
    tmp_path: Path,
) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        me = await srv.call("GET", "/api/me", token=admin)
        old, old_file = await _candidate_with_data(srv, admin)
        recent, recent_file = await _candidate_with_data(srv, admin)
        await _decided(srv, old, me["id"], days_ago=40)
        await _decided(srv, recent, me["id"], days_ago=5)
        bad = await srv.call(
            "PUT",
            "/api/org/settings",
            token=admin,
            json={"retention": {"recordings_days": 0, "colour": 1}},
            expect=422,
        )
        assert {e["field"] for e in bad["errors"]} == {
            "retention.recordings_days",
            "retention.colour",
        }
        settings = await srv.call(
            "PUT", "/api/org/settings", token=admin, json={"retention": {"recordings_days": 30}}
        )
        assert settings["retention"] == {"recordings_days": 30, "personal_data_days": None}

        removed = await sweep_retention(srv.svc)
        assert [r["interview_id"] for r in removed] == [old]
        assert removed[0]["files_deleted"] == 1 and removed[0]["bytes"] == 1004
        assert not old_file.exists() and recent_file.exists()
        detail = await srv.call("GET", f"/api/interviews/{old}", token=admin)
        assert detail["answers"][0]["recordings"] == []
        assert [s["value"] for s in detail["scores"]] == [7.0]  # scores stay
        assert detail["answers"][0]["transcript"]  # only recordings were due
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        assert any(e["kind"] == "retention_deleted" and e["interview_id"] == old for e in events)
        assert await sweep_retention(srv.svc) == []  # nothing left to do


async def test_export_then_erase_a_candidates_personal_data(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        hr = await srv.add_staff("hr", Role.HR)
        iid, rec_file = await _candidate_with_data(srv, admin)
        url = f"/api/interviews/{iid}/personal-data"
        await srv.call("GET", url, token=hr, expect=403)
        exported = await srv.call("GET", url, token=admin)
        assert exported["candidate"]["name"] == "Wang Fang"
        assert exported["answers"][0]["scratchpad"] == "my private notes"
        assert (
            exported["analysis"]["transcripts"]["0"][0]["text"] == "I served the public for years"
        )
        assert len(exported["recordings"]) == 1

        summary = await srv.call("DELETE", url, token=admin)
        assert summary["recordings_removed"] == 1 and summary["files_deleted"] == 1
        assert not rec_file.exists()
        after = await srv.call("GET", url, token=admin)
        assert after["candidate"]["name"] == "(erased)" and "email" not in after["candidate"]
        assert after["answers"][0]["scratchpad"] == ""
        assert after["analysis"]["transcripts"] == {}
        (score,) = after["analysis"]["scores"]
        assert score["value"] == 7.0 and "detail" not in score["evidence"][0]
        kinds = [e["kind"] for e in (await srv.call("GET", "/api/audit", token=admin))["events"]]
        assert "personal_data_exported" in kinds and "personal_data_erased" in kinds
