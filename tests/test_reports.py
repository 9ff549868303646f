"""Reports and statistics from known inputs match hand-computed values; human review rules."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.events import ScoreUpdate
from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.server import RunningServer
from tests.test_api import assign


async def completed_interview(
    server: RunningServer, token: str, job_id: str, name: str, scores: dict[str, float]
) -> str:
    inv = await server.call(
        "POST",
        f"/api/jobs/{job_id}/invitations",
        token=token,
        json={"name": name, "email": f"{name.lower()}@example.com"},
        expect=201,
    )
    iid = inv["interview_id"]
    store = server.svc.store
    await store.db.execute("UPDATE interviews SET status='completed' WHERE id=?", iid)
    await store.add_analysis_events(
        [
            ScoreUpdate(
                interview_id=iid, t=10.0, dimension=d, value=v, reason=f"{d} reason / {d} 依据"
            ).to_wire()
            for d, v in scores.items()
        ]
    )
    return str(iid)


@pytest.fixture
async def scored(server: RunningServer) -> dict[str, Any]:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)  # logic 0.6, expression 0.4
    a = await completed_interview(server, admin, job["id"], "Alice", {"logic": 8, "expression": 6})
    b = await completed_interview(server, admin, job["id"], "Bob", {"logic": 9, "expression": 9})
    c = await completed_interview(server, admin, job["id"], "Chen", {"expression": 7.5})
    # a pending one never counts
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Dora", "email": "d@example.com"},
        expect=201,
    )
    return {"admin": admin, "job": job, "ids": (a, b, c)}


async def test_human_override_and_report(server: RunningServer, scored: dict[str, Any]) -> None:
    admin, (_, b, _) = scored["admin"], scored["ids"]
    examiner = await server.add_staff("exa", Role.EXAMINER)
    await assign(server, admin, scored["job"]["id"], "exa")
    # an override needs a comment and a dimension of the job's model, 0..10
    await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=examiner,
        json={"dimension": "logic", "value": 5},
        expect=422,
    )
    await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=examiner,
        json={"dimension": "leadership", "value": 5, "comment": "x"},
        expect=409,  # well-formed, but not a dimension of this job's model
    )
    await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=examiner,
        json={"dimension": "logic", "value": 11, "comment": "x"},
        expect=422,
    )
    report = await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=examiner,
        json={"dimension": "logic", "value": 5, "comment": "reasoning was circular in Q2"},
        expect=201,
    )
    logic = next(r for r in report["dimensions"] if r["dimension"] == "logic")
    assert logic["ai_value"] == 9 and logic["final_value"] == 5 and logic["source"] == "human"
    assert logic["human"][0]["comment"] == "reasoning was circular in Q2"
    assert report["overall_ai"] == pytest.approx(9.0)
    assert report["overall_final"] == pytest.approx(0.6 * 5 + 0.4 * 9)
    assert report["job_match_percent"] == pytest.approx(66.0)
    assert [s["dimension"] for s in report["strengths"]] == ["expression"]
    assert [w["dimension"] for w in report["weaknesses"]] == ["logic"]
    # a second reviewer: the final value is the mean of the human values
    await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=admin,
        json={"dimension": "logic", "value": 7, "comment": "Q3 was better"},
        expect=201,
    )
    report = await server.call("GET", f"/api/interviews/{b}/report", token=admin)
    logic = next(r for r in report["dimensions"] if r["dimension"] == "logic")
    assert logic["final_value"] == 6.0 and len(logic["human"]) == 2
    # decisions are human-only, per reviewer, validated
    await server.call(
        "POST",
        f"/api/interviews/{b}/decision",
        token=examiner,
        json={"recommendation": "maybe"},
        expect=422,
    )
    report = await server.call(
        "POST",
        f"/api/interviews/{b}/decision",
        token=examiner,
        json={"recommendation": "hold", "comment": "second round"},
        expect=201,
    )
    assert [(d["reviewer"], d["recommendation"]) for d in report["decisions"]] == [("exa", "hold")]
    page = await server.call("GET", f"/api/interviews/{b}/report?format=html&lang=en", token=admin)
    assert b"Bob" in page and b"72.0%" in page and b"<script" not in page  # (6+9)→0.6·6+0.4·9


async def test_job_statistics_match_hand_computed(
    server: RunningServer, scored: dict[str, Any]
) -> None:
    admin, job, (_, b, _) = scored["admin"], scored["job"], scored["ids"]
    await server.call(
        "POST",
        f"/api/interviews/{b}/reviews",
        token=admin,
        json={"dimension": "logic", "value": 5, "comment": "override"},
        expect=201,
    )
    stats = await server.call("GET", f"/api/jobs/{job['id']}/stats", token=admin)
    # Alice 0.6·8+0.4·6 = 7.2 → 72 %; Bob 0.6·5+0.4·9 = 6.6 → 66 %; Chen only expression → 75 %
    assert stats["scored"] == 3
    assert stats["mean"] == pytest.approx((72 + 66 + 75) / 3, abs=0.01)
    assert (stats["max"], stats["min"], stats["median"]) == (75.0, 66.0, 72.0)
    assert {h["band"]: h["count"] for h in stats["histogram"]} == {
        "0-60": 0,
        "60-70": 1,
        "70-80": 2,
        "80-90": 0,
        "90-100": 0,
    }
    assert stats["dimensions"] == {"expression": 7.5, "logic": 6.5}
    assert stats["counts"]["completed"] == 3 and stats["counts"]["invited"] == 1


async def test_who_may_see_scores(server: RunningServer, scored: dict[str, Any]) -> None:
    (a, _, _), job = scored["ids"], scored["job"]
    viewer = await server.add_staff("viewer", Role.DEPARTMENT_VIEWER, department=job["department"])
    examiner = await server.add_staff("exa", Role.EXAMINER)
    await assign(server, scored["admin"], job["id"], "exa")
    await server.call("GET", f"/api/interviews/{a}/report", token=viewer, expect=403)
    await server.call("GET", f"/api/jobs/{job['id']}/stats", token=examiner, expect=403)
    await server.call(
        "POST",
        f"/api/interviews/{a}/reviews",
        token=viewer,
        json={"dimension": "logic", "value": 5, "comment": "x"},
        expect=403,
    )
    await server.call("GET", f"/api/interviews/{a}/report", expect=401)
    events = await server.svc.store.events(a)
    assert not any(e["kind"] == "report_viewed" for e in events)
    await server.call("GET", f"/api/interviews/{a}/report", token=examiner)
    assert any(
        e["kind"] == "report_viewed" and e["actor"] == "exa"
        for e in await server.svc.store.events(a)
    )


async def test_decision_waits_for_completion(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    inv = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Eve", "email": "e@example.com"},
        expect=201,
    )
    await server.call(
        "POST",
        f"/api/interviews/{inv['interview_id']}/decision",
        token=admin,
        json={"recommendation": "advance"},
        expect=409,
    )
