"""The store's job and interview records: ``to_dict`` is the dict the store returned before
the records (same keys, same values, same order: the API's JSON does not change)."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest

from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import Status
from server.storage.db import Database, loads
from server.storage.store import Store

JOB = {
    "title": "Clerk",
    "department": "Office",
    "description": "Files letters.",
    "language": "en",
    "answer_languages": ["zh"],
    "competencies": [{"id": "logic", "name": {"zh": "逻辑", "en": "Logic"}, "weight": 1.0}],
    "plan": [{"section": "structured", "questions": ["q1"]}],
}


def _old_job_dict(row: Any) -> dict[str, Any]:
    """What ``get_job`` returned before it returned a :class:`Job`."""
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "title": row["title"],
        "department": row["department"],
        **loads(row["data"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def test_a_job_record_shows_the_job_as_before(database: Database) -> None:
    db = database
    store = Store(db)
    org_id = await store.create_org("Org")
    first = await store.create_job(org_id, JOB)
    second = await store.create_job(org_id, {**JOB, "title": "Porter"})
    job = await store.get_job(first)
    assert isinstance(job, Job)
    assert (job.title, job.language, job.answer_languages) == ("Clerk", "en", ("zh",))
    assert (job.examiners, job.screening, job.extra) == (None, None, {})
    # examiners and screening are set later, in either order; any other key is kept too
    screening = {"requirements": {"min_years": 1}, "followups": {"count": 2}}
    await store.update_job_data(first, {"examiners": ["u1"]})
    await store.update_job_data(first, {"screening": screening})
    await store.update_job_data(second, {"screening": screening, "later": [1]})
    await store.update_job_data(second, {"examiners": []})
    for job_id in (first, second):
        row = await db.fetchone("SELECT * FROM jobs WHERE id=?", job_id)
        assert _json((await store.get_job(job_id)).to_dict()) == _json(_old_job_dict(row))
    job = await store.get_job(second)
    assert (job.examiners, job.screening, job.extra) == ((), screening, {"later": [1]})
    assert {j.id: j for j in await store.list_jobs(org_id)}[second] == job
    with pytest.raises(FrozenInstanceError):
        job.title = "x"  # type: ignore[misc]
    assert replace(job, examiners=("u2",)).to_dict()["examiners"] == ["u2"]


async def test_an_interview_record_shows_the_interview_as_before(database: Database) -> None:
    db = database
    store = Store(db)
    org_id = await store.create_org("Org")
    job = await store.get_job(await store.create_job(org_id, JOB))
    plan = [{"index": 0, "section": "structured", "question": {"id": "q1"}}]
    (iid,) = await store.create_interviews(
        job, plan, [{"name": "Wang Fang"}], expires_at=2e9, nonces=["n"], actor="hr"
    )
    interview = await store.get_interview(iid)
    assert isinstance(interview, Interview)
    assert interview.status is Status.INVITED
    assert (interview.language, interview.plan, interview.flow) == ("en", plan, None)
    assert interview.to_dict() == {
        "id": iid,
        "job_id": job.id,
        "org_id": org_id,
        "candidate": {"name": "Wang Fang"},
        "language": "en",
        "status": "invited",
        "plan": plan,
        "nonce": "n",
        "expires_at": 2e9,
        "flow": None,
        "consent": None,
        "device_check": None,
        "created_at": interview.created_at,
        "updated_at": interview.updated_at,
        "erased_at": None,
    }
    assert type(interview.to_dict()["status"]) is str
    await store.set_status(iid, Status.OPENED, "candidate")
    (listed,) = await store.list_interviews(job.id)
    assert listed.status is Status.OPENED
    assert replace(listed, status=Status.REVOKED).to_dict()["status"] == "revoked"
