"""The store's answer, recording, résumé candidate and batch records: every column is a field,
and ``to_dict`` is the dict the store returned before the records (same keys, same order)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest

from server.domain.answers import Answer, Recording
from server.domain.candidates import Candidate
from server.storage.db import Database
from server.storage.store import Store


async def test_records_are_the_rows(database: Database) -> None:
    db = database
    store = Store(db)
    org = await store.create_org("Org")
    job = await store.get_job(await store.create_job(org, {"title": "Clerk", "department": "d"}))
    (iv,) = await store.create_interviews(job, [], [{"name": "A"}], 2e9, ["n"], "hr")

    answer = await store.ensure_answer(iv, 0, "q0")
    await store.answer_started(answer.id, 10.0)
    await store.answer_ended(answer.id, 70.5, 60.5, "finished")
    await store.save_answer_text(iv, 0, "text_answer", "my answer")
    await store.ensure_answer(iv, 1, "q1")
    rows = await db.fetchall("SELECT * FROM answers ORDER BY idx")
    answers = await store.answers(iv)
    assert [list(a.to_dict().items()) for a in answers] == [list(dict(r).items()) for r in rows]
    assert isinstance(answer, Answer) and answer.status == "pending"
    assert answers[0] == replace(
        answer,
        status="done",
        started_at=10.0,
        ended_at=70.5,
        answer_used_s=60.5,
        end_reason="finished",
        text_answer="my answer",
    )
    assert answers[1].started_at is None and answers[1].scratchpad == ""
    with pytest.raises(FrozenInstanceError):
        answer.status = "done"  # type: ignore[misc]

    info = {"path": f"{iv}/00.webm", "container": "webm", "duration_s": 1.5, "video_frames": 30}
    for outside in ("/r/00.webm", f"{iv}/../../00.webm", ""):  # the folder's files only
        with pytest.raises(ValueError, match="relative to the recordings folder"):
            await store.add_recording(answer.id, iv, {**info, "path": outside})
    rec_id = await store.add_recording(answer.id, iv, {**info, "audio_packets": 75, "bytes": 9})
    (row,) = await db.fetchall("SELECT * FROM recordings")
    recording = await store.get_recording(rec_id)
    assert isinstance(recording, Recording) and recording.media_start_s is None
    assert list(recording.to_dict().items()) == list(dict(row).items())
    assert await store.recordings(iv) == [recording]
    assert await store.delete_recordings(iv) == [recording]
    assert await store.recordings(iv) == []

    match = {"score": 72.0, "eligible": True, "criteria": []}
    cid, created = await store.add_candidate(
        org_id=org,
        job_id=job.id,
        batch_id=None,
        filename="cv.pdf",
        file_hash="h" * 64,
        file_bytes=123,
        profile={"name": "Ann"},
        text="résumé text",
        match=match,
    )
    assert created
    candidate = await store.get_candidate(cid)
    assert isinstance(candidate, Candidate) and candidate.text is None
    shape = ["candidate_id", "org_id", "job_id", "batch_id", "filename", "file_path"]
    shape += ["file_bytes", "profile", "match", "status", "interview_id", "created_at"]
    assert list(candidate.to_dict()) == [*shape, "updated_at"]
    assert candidate.to_dict()["profile"] == {"name": "Ann"} and candidate.match == match
    with_text = await store.get_candidate(cid, with_text=True)
    assert with_text.to_dict() == {**candidate.to_dict(), "text": "résumé text"}
    assert await store.get_candidates([cid, "gone"]) == [candidate]
    assert await store.job_candidates(job.id) == [candidate]
    noted = replace(candidate, note="why", invitation={"url": "u", "expires_at": 1.0})
    assert list(noted.to_dict())[-2:] == ["note", "invitation"]

    batch_id = await store.create_resume_batch(org, job.id, "hr", 3, "node-a")
    running = await store.get_resume_batch(batch_id)
    assert (running.status, running.result, running.finished_at) == ("running", None, None)
    result = {"candidates": [{"candidate_id": cid, "duplicate": False}], "errors": []}
    await store.finish_resume_batch(batch_id, "done", result, 1, 2)
    (row,) = await db.fetchall("SELECT * FROM resume_batches")
    batch = await store.get_resume_batch(batch_id)
    old = {k: row[k] for k in row.keys() if k != "result"}  # noqa: SIM118 - sqlite3.Row
    assert list(batch.to_dict().items()) == list({**old, "result": result}.items())
