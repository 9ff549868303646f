"""The repositories behave alike on SQLite and PostgreSQL (``database`` runs each test on
both): upserts, conditional updates, paging, erasure and the delivery queue, through the
store's own methods."""

from __future__ import annotations

import pytest

from server.domain.models import Role, Status
from server.storage.db import Database
from server.storage.errors import Conflict, NotFound, Superseded
from server.storage.store import Store


async def _interview(store: Store) -> tuple[str, str, str]:
    org = await store.create_org("Org")
    job = await store.get_job(await store.create_job(org, {"title": "T", "department": "D"}))
    plan = [{"index": 0, "personalised": True, "question": {"id": "q", "text": {"en": "cv"}}}]
    (iid,) = await store.create_interviews(job, plan, [{"name": "Ann"}], 100.0, ["n"], "hr")
    return org, job.id, iid


async def test_staff_reviews_and_decisions(database: Database) -> None:
    store = Store(database)
    org, _, iid = await _interview(store)
    uid = await store.create_user(org, "ann", "h1", Role.HR, "Dept")
    with pytest.raises(Conflict):
        await store.create_user(org, "ann", "h2", Role.ADMIN)
    await store.set_password(uid, "h3")
    assert (await store.user_by_username("ann"))["password_hash"] == "h3"  # type: ignore[index]
    await store.add_staff_token("tok", uid, 1e12)
    await store.add_staff_token("old", uid, 1.0)  # expired: dropped by the next add
    await store.add_staff_token("tok2", uid, 1e12)
    user = await store.user_by_token("tok")
    assert user is not None and (user.username, user.role) == ("ann", Role.HR)
    assert await store.user_by_token("old") is None
    assert [u.username for u in await store.users(org)] == ["ann"]
    await store.set_org_settings(org, {"modes": ["video"]})
    assert await store.org_settings(org) == {"modes": ["video"]}

    await store.save_review(iid, user, "clarity", 3.0, "first")
    await store.save_review(iid, user, "clarity", 4.5, "second")  # the latest one counts
    await store.save_review(iid, user, "depth", 2.0, "")
    reviews = {r["dimension"]: (r["value"], r["comment"]) for r in await store.reviews(iid)}
    assert reviews == {"clarity": (4.5, "second"), "depth": (2.0, "")}
    await store.save_decision(iid, user, "hire", "x")
    await store.save_decision(iid, user, "reject", "y")
    (decision,) = await store.decisions(iid)
    assert (decision["recommendation"], decision["comment"]) == ("reject", "y")
    assert await store.decided_before(org, decision["created_at"] + 1) == [iid]
    assert await store.decided_before(org, decision["created_at"]) == []


async def test_status_moves_expiry_and_flow_ownership(database: Database) -> None:
    store = Store(database)
    org, job_id, iid = await _interview(store)
    change = await store.set_status(iid, Status.OPENED, "cand", fields={"consent": {"ok": 1}})
    assert change is not None and (change.old, change.new) == (Status.INVITED, Status.OPENED)
    assert await store.set_status(iid, Status.OPENED, "cand") is None
    with pytest.raises(Conflict):
        await store.set_status(iid, Status.INVITED, "cand")
    with pytest.raises(NotFound):
        await store.set_status("iv_none", Status.OPENED, "cand")
    assert (await store.get_interview(iid)).consent == {"ok": 1}
    assert (await store.status_counts(job_id))["opened"] == 1

    with pytest.raises(Superseded):  # nobody claimed it: a save by "s1" is refused
        await store.save_flow(iid, {"q": 0}, "s1")
    await store.claim_interview(iid, "s1")
    await store.save_flow(iid, {"q": 1}, "s1")
    await store.claim_interview(iid, "s2")
    with pytest.raises(Superseded):
        await store.save_flow(iid, {"q": 2}, "s1")
    assert (await store.get_interview(iid)).flow == {"q": 1}

    (expired,) = await store.expire_due(200.0, frozenset({Status.OPENED}))
    assert (expired.interview_id, expired.new) == (iid, Status.EXPIRED)
    assert await store.expire_due(200.0, frozenset({Status.OPENED})) == []
    kinds = [e["data"]["status"] for e in await store.events(iid)]
    assert kinds == ["invited", "opened", "expired"]
    assert (await store.verify_audit_chain())["ok"]
    assert len(await store.audit_events(org)) == 3


async def test_erasure_candidates_and_paging(database: Database) -> None:
    store = Store(database)
    org, job_id, iid = await _interview(store)
    answer = await store.ensure_answer(iid, 0, "q")
    assert (await store.ensure_answer(iid, 0, "q")).id == answer.id
    await store.save_answer_text(iid, 0, "scratchpad", "notes")
    await store.add_analysis_events(
        [
            {"interview_id": iid, "type": "final", "t": 1.0, "text": "words", "event_id": "e1"},
            {"interview_id": iid, "type": "score_update", "evidence": [{"k": 1, "detail": "q"}]},
        ]
    )
    await store.add_message(
        org,
        {"id": "m1", "interview_id": iid, "kind": "reminder", "recipient": "a@b", "subject": "S"}
        | {"body": "hello"},
    )
    await store.set_message_status("m1", None)
    assert [(m["recipient"], m["status"]) for m in await store.job_outbox(job_id)] == [
        ("a@b", "sent")
    ]
    erased = await store.erase_personal_data(iid)
    assert erased == {
        "analysis_events_removed": 1,
        "scores_kept": 1,
        "answers_cleared": 1,
        "reminders_removed": 1,
        "recordings_removed": 0,
    }
    interview = await store.get_interview(iid)
    assert interview.candidate["erased"] and interview.erased_at is not None
    (score,) = await store.analysis_events(iid)
    assert score["evidence"] == [{"k": 1}]

    ids = []
    for n in range(5):
        cid, _ = await store.add_candidate(
            org_id=org,
            job_id=job_id,
            batch_id=None,
            filename=f"{n}.pdf",
            file_hash=f"{n}" * 64,
            file_bytes=n,
            profile={},
            text="",
            match={"score": float(n), "eligible": n % 2 == 0},
        )
        ids.append(cid)
    best_first = ids[::-1]
    assert await store.job_candidate_ids(job_id) == best_first
    assert [c.candidate_id for c in await store.job_candidates(job_id)] == best_first
    assert [c.candidate_id for c in await store.job_candidates(job_id, 2, 1)] == best_first[1:3]
    assert [c.candidate_id for c in await store.job_candidates(job_id, None, 3)] == best_first[3:]
    assert await store.count_job_candidates(job_id) == 5
    assert await store.set_candidate_match(ids[0], {"score": 9.0, "eligible": True})
    assert (await store.job_candidate_ids(job_id))[0] == ids[0]
    assert await store.claim_candidate(ids[1], ["waiting"], "node-a") == "waiting"
    assert await store.claim_candidate(ids[1], ["waiting"], "node-b") is None
    batch = await store.create_resume_batch(org, job_id, "hr", 5, "node-a")
    assert await store.interrupt_unfinished_intake("node-a") == 1
    assert (await store.get_resume_batch(batch)).status == "interrupted"
    assert (await store.get_candidate(ids[1])).status == "waiting"
    assert await store.set_candidate_status(ids[1], "not_selected", ["waiting"])
    assert not await store.set_candidate_status(ids[1], "waiting", ["invited"])
    assert await store.erase_candidate(ids[2]) is None
    assert await store.count_job_candidates(job_id) == 4


async def test_training_catalogue_and_webhook_deliveries(database: Database) -> None:
    store = Store(database)
    org, _, _ = await _interview(store)
    course = {"course": "C", "competency": "comm", "level": "1", "link": "l", "description": "d"}
    await store.replace_training_catalogue(org, [course, {**course, "course": "D"}])
    await store.replace_training_catalogue(org, [{**course, "course": "E"}])
    assert [c["course"] for c in await store.training_catalogue(org)] == ["E"]

    hook = await store.create_hook(org, "https://hr.example/h", "s3cret", ["completed"])
    await store.create_hook(org, "https://hr.example/other", "s", ["invited"])
    assert await store.hook_org(hook) == org
    assert await store.queue_deliveries(org, "completed", '{"a":1}') == 1
    due = await store.claim_due_delivery(1e12, lease_s=60)
    assert due is not None
    assert (due["url"], due["secret"], due["attempts"]) == ("https://hr.example/h", "s3cret", 0)
    assert await store.claim_due_delivery(1e12, lease_s=60) is None  # claimed: not due again
    due_again = await store.claim_due_delivery(1e12 + 61, lease_s=60)  # the claimant died
    assert due_again is not None and due_again["id"] == due["id"]
    assert await store.delivery_failed(due["id"], 1, 500, "boom", retry_at_s=1e13, final=False)
    # the first claimant's late outcome of the same attempt is not recorded twice
    assert not await store.delivery_succeeded(due["id"], 1, 200)
    assert await store.claim_due_delivery(1e12 + 61, lease_s=60) is None
    assert await store.delivery_succeeded(due["id"], 2, 200)
    (logged,) = await store.hook_deliveries(hook)
    assert (logged["status"], logged["attempts"], logged["last_error"]) == ("delivered", 2, None)
    assert await store.deactivate_hook(org, hook)
    assert [h["active"] for h in await store.list_hooks(org)].count(False) == 1


async def test_recording_segments_are_numbered_in_the_order_they_were_recorded(
    database: Database,
) -> None:
    store = Store(database)
    _, _, iid = await _interview(store)
    answer = await store.ensure_answer(iid, 0, "q")
    counts = {"container": "webm", "duration_s": 1.0, "video_frames": 1, "audio_packets": 1}

    async def add(name: str) -> str:
        return await store.add_recording(
            answer.id, iid, {"path": f"{iid}/{name}", **counts, "bytes": 1}
        )

    first = await add("00-1000.webm")
    third = await add("00-3000.webm")
    # registered last (a crashed node's segment, adopted later), recorded in between
    second = await add("00-2000.webm")
    assert await add("00-2000.webm") == second  # the same file is not registered twice
    by_seq = [r.id for r in sorted(await store.recordings(iid), key=lambda r: r.seq)]
    assert by_seq == [first, second, third]
    assert [r.seq for r in await store.recordings(iid)] == [0, 1, 2]
