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

from loadtest.inprocess import make_job
from loadtest.resumes import REFERENCE_DATE, broken_files, bulk, corpus, too_large, zip_of
from server.domain.models import Role
from server.resumes.extract import extract_profile
from server.resumes.resume_errors import ResumeFileError
from server.resumes.resume_text import extract_text
from tests.support.candidate import ScriptedCandidate
from tests.support.parse_faults import misbehaving_parse
from tests.support.resume_eval import Report, score_case
from tests.support.scan import scan_for_plaintext
from tests.support.server import RunningServer
from tests.test_api import invite

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
    personal = [item for item in interview.plan if item.get("personalised")]
    assert 1 <= len(personal) <= 2
    assert all(item["section"] == "structured" for item in personal)
    assert all(item["question"]["basis"] for item in personal)
    structured = [i for i, item in enumerate(interview.plan) if item["section"] == "structured"]
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
    parses: list[str] = []
    real_parse = server.svc.intake.parse

    async def counted_parse(filename: str, data: bytes) -> dict[str, Any]:
        parses.append(filename)
        return dict(await real_parse(filename, data))

    server.svc.intake.parse = counted_parse
    try:
        repeat = await server.call(
            "POST",
            f"/api/jobs/{job['id']}/resumes",
            token=hr,
            data=_form([(chosen[0].filename, chosen[0].data)]),
            expect=201,
        )
    finally:
        del server.svc.intake.parse
    assert repeat["candidates"][0]["duplicate"] is True
    assert repeat["candidates"][0]["email"] == chosen[0].truth["email"]
    assert parses == []  # a file the job already has is recognised before parsing
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
    from server.api.routes_privacy import sweep_retention

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
    path = (await server.svc.candidates.get(old)).file_path
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
    from server.resumes import intake

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


# -- robustness of the intake (review findings) -------------------------------------------------


def _txt_resume(name: str, email: str, skills: str = "Python, SQL, Excel") -> bytes:
    return (
        f"{name}\n{email} | +86 138 0013 8000\n\nEducation\n"
        "2014.09 - 2018.06  Zhejiang University  Bachelor of Engineering, Computer Science\n\n"
        "Work Experience\n2018.07 - 2023.06  Data Analyst, Hangzhou Cloud Tech Co., Ltd.\n"
        "- Built reporting pipelines\n\n"
        f"Skills\n{skills}\n"
    ).encode()


def _parsed(filename: str, data: bytes) -> dict[str, Any]:
    from server.resumes.resume_worker import parse_resume

    parsed = parse_resume(filename, data, REFERENCE_DATE)
    assert "profile" in parsed, parsed
    return parsed


class _GatedParse:
    """A stand-in for the parse worker: parses in this process (TXT only, fast), each file
    after its gate opens (all open unless ``gate`` is given for a name), and records names."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.seen: list[str] = []

    async def __call__(self, filename: str, data: bytes) -> dict[str, Any]:
        self.seen.append(filename)
        if filename in self.gates:
            await self.gates[filename].wait()
        return _parsed(filename, data)


async def _batch(server: RunningServer, job: dict[str, Any], n: int) -> str:
    return str(await server.svc.candidates.create_batch(job["org_id"], job["id"], "hr", n))


async def _interviews(server: RunningServer, token: str, job_id: str) -> list[dict[str, Any]]:
    return list(await server.call("GET", f"/api/jobs/{job_id}/interviews", token=token))


async def test_zip_entries_count_towards_the_file_and_upload_budgets(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.api import routes_resumes
    from server.resumes.resume_worker import MAX_FILE_BYTES

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    parse = _GatedParse()
    monkeypatch.setattr(server.svc.intake, "parse", parse)
    good = _txt_resume("Alice Chen", "alice.chen@example.com")
    # a tiny zip holding an entry over the per-file limit (zeros compress 1000:1)
    bomb = zip_of([("a.pdf", bytes(MAX_FILE_BYTES + 1)), ("alice.txt", good)])
    assert len(bomb) < 64 * 1024
    got = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([("bundle.zip", bomb)]),
        expect=201,
    )
    assert [(e["file"], e["error"]) for e in got["errors"]] == [("bundle.zip/a.pdf", "too_large")]
    assert [c["email"] for c in got["candidates"]] == ["alice.chen@example.com"]
    assert parse.seen == ["bundle.zip/alice.txt"]  # the big entry was never unpacked nor parsed

    # zips count by their content towards the upload's byte budget
    monkeypatch.setattr(routes_resumes, "MAX_BATCH_BYTES", 1_000_000)
    half = zip_of([("b.txt", _txt_resume("Bob Li", "bob@example.com") + b" " * 600_000)])
    assert len(half) < 10_000
    too_much = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([("one.zip", half), ("two.zip", half)]),
        expect=413,
    )
    assert too_much["error"] == "too_large"
    # one of them fits
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([("one.zip", half)]),
        expect=201,
    )


async def test_at_most_two_uploads_run_at_once_per_process(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    parse = _GatedParse()
    monkeypatch.setattr(server.svc.intake, "parse", parse)
    url = f"/api/jobs/{job['id']}/resumes"
    files = [
        (f"cv{i}.txt", _txt_resume(f"Person {chr(65 + i)}", f"p{i}@example.com")) for i in range(4)
    ]
    for name, _ in files[:2]:
        parse.gates[name] = asyncio.Event()
    # one upload waits for its answer (sync), one runs in the background (async)
    sync_upload = asyncio.create_task(
        server.call("POST", url, token=hr, data=_form([files[0]]), expect=201)
    )
    accepted = await server.call(
        "POST",
        url,
        token=hr,
        data=_form([files[1]]),
        headers={"Prefer": "respond-async"},
        expect=202,
    )
    async with asyncio.timeout(10):
        while True:  # both hold their slot
            if server.svc.intake.batches.running == 2:
                break
            await asyncio.sleep(0.01)
    async with server.http.post(
        server.base_url + url,
        data=_form([files[2]]),
        headers={"Authorization": f"Bearer {hr}"},
    ) as resp:
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) > 0
        assert (await resp.json())["error"] == "busy"
    for gate in parse.gates.values():
        gate.set()
    assert len((await sync_upload)["candidates"]) == 1
    async with asyncio.timeout(20):
        while True:
            status = await server.call("GET", accepted["status_url"], token=hr)
            if status["status"] != "running":
                break
            await asyncio.sleep(0.05)
    assert status["status"] == "done"
    assert server.svc.intake.batches.running == 0
    await server.call("POST", url, token=hr, data=_form([files[3]]), expect=201)


async def test_a_failure_after_parsing_is_a_per_file_error_and_the_batch_always_ends(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from server.outbound import webhooks
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    await _screening(server, hr, job["id"], min_years=1, auto_invite_threshold=50)
    svc = server.svc
    record = await svc.store.get_job(job["id"])  # the job as the server reads it
    monkeypatch.setattr(svc.intake, "parse", _GatedParse())
    names = ["Ann Wu", "Ben Xu", "Cai Yu"]
    files = [(f"{n}.txt", _txt_resume(n, f"{n.split()[0].lower()}@example.com")) for n in names]
    save = intake._save_encrypted

    def disk_full(svc_: Any, job_id: str, candidate_id: str, data: bytes) -> Path:
        if data == files[1][1]:
            raise OSError(28, "No space left on device")
        return save(svc_, job_id, candidate_id, data)

    async def webhook_down(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(intake, "_save_encrypted", disk_full)
    monkeypatch.setattr(webhooks, "emit", webhook_down)
    batch_id = await _batch(server, job, len(files))
    result = await intake.run_batch(svc, record, batch_id, files, [])
    # the disk-full file is an error (naming no one), the others are stored
    assert [(e["file"], e["error"]) for e in result["errors"]] == [(files[1][0], "store_failed")]
    assert "Ben" not in result["errors"][0]["message"]
    assert [c["name"] for c in result["candidates"]] == ["Ann Wu", "Cai Yu"]
    # the invitation was created before announcing it failed: invited, with a note
    assert all(c["status"] == "invited" and "announcing" in c["note"] for c in result["candidates"])
    batch = await svc.candidates.get_batch(batch_id)
    assert (batch.status, batch.done, batch.failed) == ("done", 2, 1)
    assert len(await svc.candidates.list_for_job(job["id"])) == 2  # the failed row was erased
    assert not list((svc.settings.data_dir / intake.RESUME_DIR / job["id"]).glob("*.tmp"))

    # the same file again once the disk has room: stored, not taken for a duplicate
    monkeypatch.setattr(intake, "_save_encrypted", save)
    again = await intake.run_batch(svc, record, await _batch(server, job, 1), [files[1]], [])
    assert [c["duplicate"] for c in again["candidates"]] == [False]

    # an error outside any one file still ends the batch (failed), and says so
    async def progress_down(*args: Any) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(svc.candidates, "batch_progress", progress_down)
    broken = await _batch(server, job, 1)
    with pytest.raises(RuntimeError):
        await intake.run_batch(svc, record, broken, [("x.txt", b"x")], [])
    assert (await svc.candidates.get_batch(broken)).status == "failed"
    # logs name no file and no person
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert batch_id in logged
    assert not any(n.split()[0] in logged for n in names), logged


async def test_a_resume_without_an_email_cannot_be_invited(server: RunningServer) -> None:
    # the request is fine; the stored résumé lacks what an invitation needs: 409, said why
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    record = await svc.store.get_job(job["id"])
    data = _txt_resume("Dan Zhou", "no address given")
    stored, _ = await intake.store_candidate(
        svc, record, None, "d.txt", data, _parsed("d.txt", data)
    )
    url = f"/api/candidates/{stored.candidate_id}/invite"
    refused = await server.call("POST", url, token=hr, expect=409)
    assert refused["error"] == "cannot_invite" and "e-mail" in refused["message"], refused
    assert (await svc.candidates.get(stored.candidate_id)).status == "waiting"


async def test_two_invitations_at_once_make_one_interview(server: RunningServer) -> None:
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    record = await svc.store.get_job(job["id"])  # the job as the server reads it
    data = _txt_resume("Dan Zhou", "dan@example.com")
    stored, _ = await intake.store_candidate(
        svc, record, None, "d.txt", data, _parsed("d.txt", data)
    )
    cid = stored.candidate_id
    url = f"/api/candidates/{cid}/invite"

    async def post_invite() -> int:
        headers = {"Authorization": f"Bearer {hr}"}
        async with server.http.post(server.base_url + url, headers=headers) as resp:
            return resp.status

    # a double click: one invitation, the other click told it is a conflict
    assert sorted(await asyncio.gather(post_invite(), post_invite())) == [201, 409]
    interviews = await _interviews(server, hr, job["id"])
    assert len(interviews) == 1
    candidate = await svc.candidates.get(cid)
    assert (candidate.status, candidate.interview_id) == (
        "invited",
        interviews[0]["interview_id"],
    )
    # svc level: a person's invitation and an automatic one at once
    data = _txt_resume("Eva Qian", "eva@example.com")
    other, _ = await intake.store_candidate(
        svc, record, None, "e.txt", data, _parsed("e.txt", data)
    )
    results = await asyncio.gather(
        intake.invite_candidate(svc, record, other, "hr"),
        intake.invite_candidate(svc, record, other, intake.AUTO_ACTOR, from_statuses=("waiting",)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AlreadyInvited", "Candidate"], results
    assert len(await _interviews(server, hr, job["id"])) == 2
    # an invited candidate cannot be moved back to waiting, nor invited again
    await server.call(
        "PUT", f"/api/candidates/{cid}/status", token=hr, json={"status": "waiting"}, expect=409
    )
    await server.call("POST", url, token=hr, expect=409)
    assert (await svc.candidates.get(cid)).status == "invited"


async def test_a_failed_invitation_releases_the_claim(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    record = await svc.store.get_job(job["id"])  # the job as the server reads it
    data = _txt_resume("Fay Sun", "fay@example.com")
    stored, _ = await intake.store_candidate(
        svc, record, None, "f.txt", data, _parsed("f.txt", data)
    )
    cid = stored.candidate_id
    await server.call(
        "PUT", f"/api/candidates/{cid}/status", token=hr, json={"status": "not_selected"}
    )

    async def broken_invite(*args: Any, **kwargs: Any) -> Any:
        assert (await svc.candidates.get(cid)).status == "inviting"
        # a person's decision cannot change an invitation in progress
        assert not await svc.candidates.set_status(cid, "waiting")
        raise RuntimeError("no more interviews today")

    monkeypatch.setattr(intake, "invite", broken_invite)
    with pytest.raises(RuntimeError):
        await intake.invite_candidate(svc, record, stored, "hr")
    assert (await svc.candidates.get(cid)).status == "not_selected"  # as before
    monkeypatch.undo()
    done = await server.call("POST", f"/api/candidates/{cid}/invite", token=hr, expect=201)
    assert done["status"] == "invited"


async def test_each_file_is_matched_with_the_screening_of_its_moment(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    await _screening(server, hr, job["id"], required_skills=["Cobol"])
    record = await svc.store.get_job(job["id"])  # as an upload reads it
    parse = _GatedParse()
    monkeypatch.setattr(svc.intake, "parse", parse)
    files = [
        ("g.txt", _txt_resume("Gao Lin", "gao@example.com")),
        ("h.txt", _txt_resume("Hu Mei", "hu@example.com")),
    ]
    parse.gates["h.txt"] = asyncio.Event()
    batch = asyncio.create_task(
        intake.run_batch(svc, record, await _batch(server, job, 2), files, [])
    )
    async with asyncio.timeout(20):
        while True:  # the first file is stored
            if await svc.candidates.list_for_job(job["id"]):
                break
            await asyncio.sleep(0.02)
    # HR changes the bar while the second file is still being read
    changed = await _screening(
        server, hr, job["id"], required_skills=["Python"], auto_invite_threshold=50
    )
    assert (changed["rematched"], changed["invited"]) == (1, 1)
    parse.gates["h.txt"].set()
    result = await batch
    second = next(c for c in result["candidates"] if c["name"] == "Hu Mei")
    assert second["match"]["criteria"][0]["required"] == "Python", second["match"]
    assert second["status"] == "invited"


async def test_a_rematch_waits_for_the_file_being_matched_and_stored(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file matched with the old settings is stored before the re-match runs (per-job lock),
    so the re-match sees it: no candidate keeps a match against settings no longer in force."""
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    await _screening(server, hr, job["id"], required_skills=["Cobol"])
    record = await svc.store.get_job(job["id"])  # the job as the server reads it
    monkeypatch.setattr(svc.intake, "parse", _GatedParse())
    matched, proceed = asyncio.Event(), asyncio.Event()
    add = svc.candidates.add

    async def slow_add(**kwargs: Any) -> Any:
        matched.set()  # matched against Cobol; storing takes a while
        await proceed.wait()
        return await add(**kwargs)

    monkeypatch.setattr(svc.candidates, "add", slow_add)
    files = [("n.txt", _txt_resume("Nie Ping", "nie@example.com"))]
    batch = asyncio.create_task(
        intake.run_batch(svc, record, await _batch(server, job, 1), files, [])
    )
    await asyncio.wait_for(matched.wait(), 20)
    change = asyncio.create_task(_screening(server, hr, job["id"], required_skills=["Python"]))
    await asyncio.sleep(0.3)
    assert not change.done()  # waits for the file
    proceed.set()
    await batch
    assert (await change)["rematched"] == 1
    (stored,) = await svc.candidates.list_for_job(job["id"])
    assert stored.match["criteria"][0]["required"] == "Python"


async def test_a_rematch_survives_erased_candidates_and_failed_invitations(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.resumes import intake

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    record = await svc.store.get_job(job["id"])  # the job as the server reads it
    for name in ("Ivy Ma", "Jay Ke", "Kim Bo"):
        data = _txt_resume(name, f"{name.split()[0].lower()}@example.com")
        await intake.store_candidate(svc, record, None, f"{name}.txt", data, _parsed("x.txt", data))
    listed = {
        c.profile["name"]: c.candidate_id for c in await svc.candidates.list_for_job(job["id"])
    }
    set_match = svc.candidates.set_match

    async def erased_meanwhile(candidate_id: str, match: dict[str, Any]) -> None:
        if candidate_id == listed["Ivy Ma"]:
            await svc.candidates.erase(candidate_id)
        await set_match(candidate_id, match)

    real_invite = intake.invite

    async def flaky_invite(svc_: Any, job_: Any, people: Any, *args: Any, **kw: Any) -> Any:
        if people[0]["name"] == "Jay Ke":
            raise RuntimeError("SMTP outbox full")
        return await real_invite(svc_, job_, people, *args, **kw)

    monkeypatch.setattr(svc.candidates, "set_match", erased_meanwhile)
    monkeypatch.setattr(intake, "invite", flaky_invite)
    got = await _screening(server, hr, job["id"], required_skills=["SQL"], auto_invite_threshold=50)
    assert (got["rematched"], got["invited"], got.get("failed")) == (2, 1, 1), got
    statuses = {c.profile["name"]: c.status for c in await svc.candidates.list_for_job(job["id"])}
    assert statuses == {"Jay Ke": "waiting", "Kim Bo": "invited"}
    assert len(svc.intake.job_locks) == 0  # no lock kept for a job nobody works on


async def test_rematching_does_not_reset_the_retention_clock(server: RunningServer) -> None:
    from server.api.routes_privacy import sweep_retention
    from server.resumes import intake

    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    await server.call(
        "PUT", "/api/org/settings", token=admin, json={"retention": {"personal_data_days": 30}}
    )
    data = _txt_resume("Lu Na", "lu@example.com")
    record = await server.svc.store.get_job(job["id"])
    stored, _ = await intake.store_candidate(
        server.svc, record, None, "l.txt", data, _parsed("l.txt", data)
    )
    cid = stored.candidate_id
    old = time.time() - 31 * 86400
    await server.svc.db.execute("UPDATE candidates SET updated_at=? WHERE id=?", old, cid)
    got = await _screening(server, admin, job["id"], required_skills=["Go"])
    assert got["rematched"] == 1
    candidate = await server.svc.candidates.get(cid)
    assert candidate.match["criteria"][0]["required"] == "Go"
    assert candidate.updated_at == pytest.approx(old)
    assert [r.get("candidate_id") for r in await sweep_retention(server.svc)] == [cid]


def test_parse_failures_are_logged_without_the_file_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from server.resumes import extract as resume_extract
    from server.resumes.resume_worker import parse_resume

    def bug(*args: Any) -> Any:
        raise KeyError("oops")

    monkeypatch.setattr(resume_extract, "extract_profile", bug)
    got = parse_resume("Zhang San 张三 简历.txt", b"Zhang San\nzs@example.com\n", REFERENCE_DATE)
    assert got["error"] == "parse_failed"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged and "Zhang" not in logged and "张三" not in logged


async def test_screening_and_followups_run_in_the_worker_process(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pure-Python CPU work must not hold the API process's GIL: it runs in the worker."""
    from server.resumes import followups, intake, screening

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("CPU work in the API process")

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    monkeypatch.setattr(screening, "match", not_here)
    monkeypatch.setattr(followups, "personalise", not_here)
    data = _txt_resume("Mo Fan", "mo@example.com")
    record = await server.svc.store.get_job(job["id"])
    stored, _ = await intake.store_candidate(
        server.svc, record, None, "m.txt", data, _parsed("m.txt", data)
    )
    got = await _screening(
        server, hr, job["id"], required_skills=["Excel"], auto_invite_threshold=1
    )
    assert (got["rematched"], got["invited"]) == (1, 1)
    candidate = await server.svc.candidates.get(stored.candidate_id)
    interview = await server.svc.store.get_interview(candidate.interview_id)
    assert any(item.get("personalised") for item in interview.plan)


async def test_a_restart_cleans_up_only_what_this_process_left_unfinished(
    server: RunningServer,
) -> None:
    """Several API processes may share the database: process b's restart must not mark
    process a's running batch interrupted nor release a's invitation claim."""
    from server.resumes.candidates import CandidateStore

    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    svc = server.svc
    a = CandidateStore(svc.db, svc.store.fields, "node-a")
    b = CandidateStore(svc.db, svc.store.fields, "node-b")
    batch_a = await a.create_batch(job["org_id"], job["id"], "hr", 3)
    batch_b = await b.create_batch(job["org_id"], job["id"], "hr", 3)
    ids = []
    for n, store in enumerate((a, b)):
        cid, _ = await store.add(
            org_id=job["org_id"],
            job_id=job["id"],
            batch_id=None,
            filename=f"cv{n}.txt",
            file_hash=f"{n}" * 64,
            file_bytes=1,
            profile={"language": "en", "name": f"P{n}", "email": f"p{n}@example.com"},
            text="",
            match={"score": 90.0, "eligible": True, "criteria": []},
        )
        assert await store.claim_for_invitation(cid) == "waiting"
        ids.append(cid)
    await b.interrupt_unfinished()
    assert (await a.get_batch(batch_a)).status == "running"
    assert (await b.get_batch(batch_b)).status == "interrupted"
    assert [(await a.get(cid)).status for cid in ids] == ["inviting", "waiting"]


async def test_candidate_lists_come_in_pages(server: RunningServer) -> None:
    hr = await server.add_staff("hr", Role.HR)
    job = await make_job(server, hr)
    cases = corpus(REFERENCE_DATE)[:4]
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/resumes",
        token=hr,
        data=_form([(c.filename, c.data) for c in cases]),
        expect=201,
    )
    url = f"{server.base_url}/api/jobs/{job['id']}/candidates"
    headers = {"Authorization": f"Bearer {hr}"}
    pages = []
    for offset in (0, 2):
        async with server.http.get(f"{url}?limit=2&offset={offset}", headers=headers) as resp:
            assert resp.status == 200 and resp.headers["X-Total-Count"] == "4"
            pages.append(await resp.json())
    everything = await server.call("GET", f"/api/jobs/{job['id']}/candidates", token=hr)
    assert [c["candidate_id"] for c in pages[0] + pages[1]] == [
        c["candidate_id"] for c in everything
    ]
    for bad in ("limit=0", "limit=1001", "offset=-1", "limit=²"):
        await server.call("GET", f"/api/jobs/{job['id']}/candidates?{bad}", token=hr, expect=400)
