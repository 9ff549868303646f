"""Résumé intake end to end: extraction quality on a generated corpus, upload and screening
over the API, automatic invitations with personalised questions, bulk upload with progress
while a live interview runs, and per-file errors that never stop a batch."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.models import Role
from server.resume_extract import extract_profile
from server.resume_text import ResumeFileError, extract_text
from tests.support.candidate import ScriptedCandidate
from tests.support.parse_faults import misbehaving_parse
from tests.support.resume_eval import Report, score_case
from tests.support.resumes import REFERENCE_DATE, broken_files, bulk, corpus, too_large, zip_of
from tests.support.scan import scan_for_plaintext
from tests.support.server import RunningServer
from tests.test_api import invite, make_job

ARTIFACTS = Path(__file__).resolve().parents[1] / ".test-artifacts"

CONTACT_FIELDS = ("name", "email", "phone", "highest_degree")
MIN_CONTACT = 0.95
"""Precision and recall each, for the fields an invitation and the degree gate rely on."""
MIN_OVERALL = 0.93
"""Micro-averaged precision and recall over every field."""
MIN_FIELD_F = 0.8
"""No single field may be much worse than the others (harmonic mean of P and R)."""
HELD_OUT_N = 72
"""Résumés from the bulk generator (other people, other seeds): never looked at when fixing."""

BROKEN_CODES = {
    "encrypted": {"encrypted_pdf"},
    "scanned": {"no_text"},
    "not_pdf": {"corrupt", "unsupported_type"},
    "truncated_docx": {"corrupt"},
    "empty": {"empty"},
}


def _evaluate(cases: list[Any], name: str) -> Report:
    report = Report()
    for case in cases:
        text = extract_text(case.filename, case.data)
        profile = extract_profile(text, REFERENCE_DATE).to_dict()
        score_case(report, case.truth, profile, f"{case.filename} ({case.layout})")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"resume-extraction-{name}.md").write_text(report.table() + "\n")
    print(f"\n{name} ({len(cases)} résumés)\n{report.table()}")
    misses = "\n".join(report.misses[:40])
    for field in CONTACT_FIELDS:
        t = report.fields[field]
        assert min(t.precision, t.recall) >= MIN_CONTACT, (name, field, report.table(), misses)
    overall = report.overall
    assert min(overall.precision, overall.recall) >= MIN_OVERALL, (name, report.table(), misses)
    for field, t in report.fields.items():
        f = 2 * t.precision * t.recall / max(1e-9, t.precision + t.recall)
        assert f >= MIN_FIELD_F, (name, field, report.table(), misses)
    return report


def test_extraction_precision_and_recall_on_the_corpus() -> None:
    cases = corpus(REFERENCE_DATE)
    assert len(cases) >= 24 and len({c.layout for c in cases}) >= 8
    assert {c.language for c in cases} == {"zh", "en"}
    assert {c.filename.rsplit(".", 1)[1] for c in cases} == {"pdf", "docx", "txt"}
    _evaluate(cases, "corpus")


def test_extraction_precision_and_recall_on_held_out_resumes() -> None:
    _evaluate(bulk(HELD_OUT_N, REFERENCE_DATE), "held-out")


def test_broken_files_get_clear_errors() -> None:
    for filename, data, reason in broken_files():
        with pytest.raises(ResumeFileError) as err:
            extract_text(filename, data)
        assert err.value.message, (filename, reason)
        for key, codes in BROKEN_CODES.items():
            if key in reason.lower().replace(" ", "_") or key in filename:
                assert err.value.code in codes, (filename, reason, err.value.code)


# -- over the API ------------------------------------------------------------------------------


def _form(files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field(
            "files", io.BytesIO(data), filename=name, content_type="application/octet-stream"
        )
    return form


async def _screening(server: RunningServer, token: str, job_id: str, **requirements: Any) -> Any:
    return await server.call(
        "PUT",
        f"/api/jobs/{job_id}/screening",
        token=token,
        json={"requirements": requirements, "followups": {"count": 2, "in_ranking": False}},
    )


async def test_upload_screens_invites_above_the_threshold_and_explains(
    server: RunningServer,
) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    cases = corpus(REFERENCE_DATE)
    # a bar half the corpus passes: a bachelor or more, 2 years, Python or Excel named
    await _screening(
        server,
        hr,
        job["id"],
        min_degree="bachelor",
        min_years=2,
        nice_to_have=[{"kind": "skill", "value": "Python", "weight": 2}],
        auto_invite_threshold=60,
    )
    chosen = cases[:6] + cases[12:18]
    bad = [(name, data) for name, data, _ in broken_files()[:3]]
    got = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([(c.filename, c.data) for c in chosen] + bad),
        expect=201,
    )
    assert len(got["candidates"]) == len(chosen)
    assert [e["file"] for e in got["errors"]] == [name for name, _ in bad]
    assert all(e["error"] and e["message"] for e in got["errors"])

    by_email = {c["email"]: c for c in got["candidates"]}
    invited = [c for c in got["candidates"] if c["status"] == "invited"]
    waiting = [c for c in got["candidates"] if c["status"] == "waiting"]
    assert invited and waiting, [(c["match"]["score"], c["status"]) for c in got["candidates"]]
    for case in chosen:
        c = by_email[case.truth["email"]]
        assert set(c) >= {
            "candidate_id",
            "name",
            "email",
            "phone",
            "education",
            "experience_years",
            "skills",
            "match",
        }
        # the explanation is what a person computes from the truth
        degree_ok = case.truth["highest_degree"] in ("bachelor", "master", "doctor")
        years_ok = case.truth["experience_years"] >= 2
        criteria = {k["kind"]: k for k in c["match"]["criteria"] if k["must"]}
        assert criteria["degree"]["met"] is degree_ok, (case.filename, criteria["degree"])
        assert criteria["years"]["met"] is years_ok, (case.filename, criteria["years"])
        assert c["match"]["eligible"] is (degree_ok and years_ok)
        python = next(k for k in c["match"]["criteria"] if not k["must"])
        expected = 60 * (degree_ok + years_ok) / 2 + 40 * python["met"]
        assert c["match"]["score"] == pytest.approx(expected, abs=0.05), c["match"]
        passes = c["match"]["eligible"] and expected >= 60
        reachable = bool(c["name"] and c["email"])  # an invitation needs both
        assert (c["status"] == "invited") is (passes and reachable), c
        if passes and not reachable:
            assert "not invited automatically" in c["note"], c
        for k in c["match"]["criteria"]:
            assert k["explanation"] and ("✓" in k["explanation"]) is k["met"]
            if k["met"]:
                assert k["source"], k
        # each extracted field keeps the text it came from
        assert c["sources"]["email"] and c["email"] in c["sources"]["email"]

    # the same profile again from GET; an invitation with personalised questions exists
    one = invited[0]
    again = await server.call("GET", f"/api/candidates/{one['candidate_id']}", token=hr)
    assert {k: again[k] for k in ("name", "email", "skills", "match", "status")} == {
        k: one[k] for k in ("name", "email", "skills", "match", "status")
    }
    interview = await server.svc.store.get_interview(one["interview_id"])
    personal = [item for item in interview["plan"] if item.get("personalised")]
    assert 1 <= len(personal) <= 2
    assert all(item["section"] == "structured" for item in personal)
    assert all(item["question"]["basis"] for item in personal)
    structured = [i for i, item in enumerate(interview["plan"]) if item["section"] == "structured"]
    assert structured == list(range(structured[0], structured[-1] + 1))  # one block
    outbox = await server.call("GET", f"/api/jobs/{job['id']}/reminders", token=hr)
    assert {o["interview_id"] for o in outbox if o["kind"] == "invitation"} == {
        c["interview_id"] for c in invited
    }

    # a person invites a waiting candidate; a repeated upload makes no duplicate
    person = waiting[0]
    if person["email"] and person["name"]:
        done = await server.call(
            "POST", f"/api/candidates/{person['candidate_id']}/invite", token=hr, expect=201
        )
        assert done["status"] == "invited" and done["interview_id"]
        assert "/i/" in done["invitation"]["url"]
    repeat = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([(chosen[0].filename, chosen[0].data)]),
        expect=201,
    )
    assert repeat["candidates"][0]["duplicate"] is True
    listed = await server.call("GET", f"/api/jobs/{job['id']}/candidates", token=hr)
    assert len(listed) == len(chosen)
    scores = [c["match"]["score"] for c in listed]
    assert scores == sorted(scores, reverse=True)

    # the original file comes back byte for byte (audited); at rest nothing is readable
    original = await server.call("GET", f"/api/candidates/{one['candidate_id']}/resume", token=hr)
    source = next(c for c in chosen if c.truth["email"] == one["email"])
    assert original == source.data
    secrets = [
        one["name"].encode(),
        one["email"].encode(),
        source.truth["experience"][0]["employer"].encode(),
    ]
    found = await asyncio.to_thread(scan_for_plaintext, server.svc.settings.data_dir, secrets)
    assert found == [], found
    admin = await server.add_staff("admin", Role.ADMIN)
    audit = await server.call("GET", "/api/audit", token=admin)
    assert {"resumes_uploaded", "resume_viewed", "screening_changed"} <= {
        e["kind"] for e in audit["events"]
    }


async def test_raising_the_bar_rematches_and_lowering_it_invites(server: RunningServer) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    cases = corpus(REFERENCE_DATE)[:4]
    await _screening(server, hr, job["id"], required_skills=["Quantum Basket Weaving"])
    got = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([(c.filename, c.data) for c in cases]),
        expect=201,
    )
    assert all(c["status"] == "waiting" and c["match"]["score"] == 0 for c in got["candidates"])
    # no threshold: nobody is invited automatically, whatever the score
    result = await _screening(server, hr, job["id"])
    assert result["rematched"] == 4 and result["invited"] == 0
    result = await _screening(server, hr, job["id"], auto_invite_threshold=50)
    reachable = {c["candidate_id"] for c in got["candidates"] if c["name"] and c["email"]}
    assert result["invited"] == len(reachable) >= 3
    listed = await server.call("GET", f"/api/jobs/{job['id']}/candidates", token=hr)
    assert {c["candidate_id"] for c in listed if c["status"] == "invited"} == reachable


async def test_upload_errors_are_per_file_and_the_rest_imports(server: RunningServer) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    good = corpus(REFERENCE_DATE)[5]
    name, big, _ = too_large(10 * 1024 * 1024)
    files = [(n, d) for n, d, _ in broken_files()] + [(name, big), (good.filename, good.data)]
    files.append(("bundle.zip", zip_of([good])))  # the same file inside a zip: a duplicate
    got = await server.call(
        "POST", f"/api/jobs/{job['id']}/resumes", token=hr, data=_form(files), expect=201
    )
    assert [c["email"] for c in got["candidates"]] == [good.truth["email"]] * 2
    assert [c["duplicate"] for c in got["candidates"]] == [False, True]
    errors = {e["file"]: e["error"] for e in got["errors"]}
    assert set(errors) == {n for n, _, _ in broken_files()} | {name}
    assert errors[name] == "too_large"
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([("x.zip", b"PK\x03\x04 not a zip")]),
        expect=201,
    )
    await server.call("POST", f"/api/jobs/{job['id']}/resumes", token=hr, json={}, expect=400)


BULK_N = 200


async def test_bulk_upload_reports_progress_and_live_interviews_keep_their_pace(
    server: RunningServer,
) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    cases = bulk(BULK_N, REFERENCE_DATE)
    archive = zip_of(cases)
    # a candidate is in the middle of a (written) interview on the same server meanwhile
    admin = await server.add_staff("admin", Role.ADMIN)
    await server.call(
        "PUT", "/api/org/settings", token=admin, json={"alternatives": {"text": True}}
    )
    token = (await invite(server, hr, job["id"], "Live Candidate"))["url"].rsplit("/i/", 1)[1]
    cand = ScriptedCandidate(server.http, server.base_url, token, None, None, mode="text")
    await cand.consent()
    await cand.device_check()
    await cand.connect()
    await cand.send({"type": "start_interview"})
    await cand.wait_phase(0, "prep", timeout_s=10)
    ticks: list[float] = []

    async def watch_ticks() -> None:
        while True:
            message = await cand.messages.get()
            if message.get("type") == "tick":
                ticks.append(time.monotonic())

    watcher = asyncio.create_task(watch_ticks(), name="tick-watcher")
    started = time.monotonic()
    accepted = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([("bulk.zip", archive)]),
        headers={"Prefer": "respond-async"},
        expect=202,
    )
    assert accepted["total"] == BULK_N
    seen: list[int] = []
    latencies: list[float] = []
    status: dict[str, Any] = {}
    async with asyncio.timeout(240):
        while True:
            t0 = time.perf_counter()
            status = await server.call("GET", accepted["status_url"], token=hr)
            latencies.append(time.perf_counter() - t0)
            seen.append(status["done"] + status["failed"])
            if status["status"] != "running":
                break
            await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started
    watcher.cancel()
    await cand.disconnect()
    # the candidate's clock ticked every second throughout: the event loop was never blocked
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) >= elapsed - 3 and max(gaps) < 1.6, (len(ticks), elapsed, max(gaps))
    assert status["status"] == "done"
    assert status["done"] == BULK_N and status["failed"] == 0, status.get("errors")
    assert len(status["candidates"]) == BULK_N
    assert not any(c["duplicate"] for c in status["candidates"])
    # progress moved forward in several steps while the batch ran
    assert seen == sorted(seen) and len(set(seen)) >= 4, seen
    # the API stayed responsive while résumés were parsed in the worker process
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    assert p95 < 0.5, (p95, latencies[-5:])
    print(
        f"\nbulk {BULK_N} résumés: {elapsed:.1f} s, status p95 {p95 * 1000:.0f} ms,"
        f" longest tick gap {max(gaps):.2f} s"
    )


async def test_retention_erases_resumes_of_candidates_never_invited(server: RunningServer) -> None:
    from server.routes_privacy import sweep_retention

    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    await server.call(
        "PUT", "/api/org/settings", token=admin, json={"retention": {"personal_data_days": 30}}
    )
    cases = corpus(REFERENCE_DATE)[:2]
    got = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=admin,
        data=_form([(c.filename, c.data) for c in cases]),
        expect=201,
    )
    old, recent = (c["candidate_id"] for c in got["candidates"])
    path = (await server.svc.candidates.get(old))["file_path"]
    await server.svc.db.execute(
        "UPDATE candidates SET updated_at=? WHERE id=?", time.time() - 31 * 86400, old
    )
    removed = await sweep_retention(server.svc)
    assert [r.get("candidate_id") for r in removed] == [old]
    assert not await asyncio.to_thread(Path(path).exists)
    await server.call("GET", f"/api/candidates/{old}", token=admin, expect=404)
    await server.call("GET", f"/api/candidates/{recent}", token=admin)
    audit = await server.call("GET", "/api/audit", token=admin)
    assert any(
        e["kind"] == "retention_deleted" and e["data"].get("candidate_id") == old
        for e in audit["events"]
    )


async def test_a_hanging_or_crashing_parse_is_reported_and_the_next_file_still_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server import intake

    pool = intake.ParsePool(misbehaving_parse)
    try:
        async with asyncio.timeout(90):
            first = await pool.parse("ok-1.txt", b"x")  # starts the worker (slow on a busy box)
            monkeypatch.setattr(intake, "PARSE_TIMEOUT_S", 6.0)
            results = await asyncio.gather(
                pool.parse("hang.txt", b"x"),
                pool.parse("ok-2.txt", b"x"),  # queued behind the hang: its own full timeout
                pool.parse("crash.txt", b"x"),
                pool.parse("ok-3.txt", b"x"),
            )
    finally:
        await pool.aclose()
    assert first["message"] == "ok-1.txt"
    assert [r["error"] for r in results] == ["timeout", "fine", "parse_failed", "fine"]
    assert [r["message"] for r in results][1::2] == ["ok-2.txt", "ok-3.txt"]
