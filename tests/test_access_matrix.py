"""Role × endpoint matrix: every staff route answers each role as the access rules say.

Rules: admin and hr manage jobs and invitations; examiners read and review; department
viewers see their own department's jobs and recordings, no scores; HR sees scores and
statistics, not recordings; nobody without a valid token gets anything.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.server import RunningServer
from tests.test_api import assign
from tests.test_reports import completed_interview

ROLES = ("admin", "hr", "examiner", "viewer_own", "viewer_other", "anonymous", "expired")
OK, DENIED, UNAUTH = "ok", "denied", "unauth"

# (method, path template, body) → expected outcome per role, in ROLES order
MATRIX: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("GET", "/api/me", None, (OK, OK, OK, OK, OK, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs", None, (OK, OK, OK, OK, OK, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}", None, (OK, OK, OK, OK, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}/interviews", None, (OK, OK, OK, OK, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/jobs", {}, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "POST",
        "/api/jobs/{job}/invitations",
        {"name": "X", "email": "x@example.com"},
        (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/interviews/{iv}", None, (OK, OK, OK, OK, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/interviews/{iv}/report", None, (OK, OK, OK, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "POST",
        "/api/interviews/{iv}/reviews",
        {"dimension": "logic", "value": 6, "comment": "c"},
        (OK, OK, OK, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/jobs/{job}/stats", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}/export", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/webhooks", None, (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/questions", {}, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/questions", None, (OK, OK, OK, OK, OK, UNAUTH, UNAUTH)),
    (
        "POST",
        "/api/interviews/{iv}/revoke",
        None,
        ("conflict", "conflict", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/competencies", None, (OK, OK, OK, OK, OK, UNAUTH, UNAUTH)),
    ("POST", "/api/questions/import", None, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/jobs/analyze", {}, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/users", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/users", {}, ("bad", DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "POST",
        "/api/jobs/{job}/invitations/bulk",
        None,
        ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    (
        "PUT",
        "/api/jobs/{job}/examiners",
        {},
        ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/jobs/{job}/fairness", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}/pending", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}/reminders", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/jobs/{job}/reminders", {}, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "POST",
        "/api/interviews/{iv}/decision",
        {"recommendation": "advance", "comment": "clear answers"},
        (OK, OK, OK, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("POST", "/api/webhooks", {}, ("bad", DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "DELETE",
        "/api/webhooks/{hook}",
        None,
        ("missing", DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    (
        "GET",
        "/api/webhooks/{hook}/deliveries",
        None,
        ("missing", DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/org/settings", None, (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("PUT", "/api/org/settings", {}, ("bad", DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "GET",
        "/api/interviews/{iv}/personal-data",
        None,
        (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    (
        "DELETE",
        "/api/interviews/{iv}/personal-data",
        None,
        (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/audit", None, (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/audit/verify", None, (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/audit/export", None, (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/training/catalogue", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("PUT", "/api/training/catalogue", {}, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("POST", "/api/jobs/{job}/resumes", {}, ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "GET",
        "/api/jobs/{job}/resume-batches/{batch}",
        None,
        ("missing", "missing", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/jobs/{job}/candidates", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    ("GET", "/api/jobs/{job}/screening", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "PUT",
        "/api/jobs/{job}/screening",
        {"requirements": {"min_years": -1}},
        ("bad", "bad", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    ("GET", "/api/candidates/{cand}", None, (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH)),
    (
        "GET",
        "/api/candidates/{cand}/resume",
        None,
        ("missing", "missing", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    (
        "POST",
        "/api/candidates/{cand}/invite",
        None,
        ("conflict", "conflict", DENIED, DENIED, DENIED, UNAUTH, UNAUTH),  # no e-mail address
    ),
    (
        "PUT",
        "/api/candidates/{cand}/status",
        {"status": "not_selected"},
        (OK, OK, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
    (
        "DELETE",
        "/api/candidates/{cand}",
        None,
        (OK, DENIED, DENIED, DENIED, DENIED, UNAUTH, UNAUTH),
    ),
]
COVERED_ELSEWHERE = {
    ("POST", "/api/auth/login"): "no token needed (tests/test_limits.py, test_api.py)",
    ("GET", "/api/openapi.json"): "public document (tests/test_api.py)",
    (
        "GET",
        "/api/recordings/{}",
    ): "signed links and roles (test_recordings_follow_department_scope)",
}
"""Routes the matrix does not cover, and where they are tested."""
EXPECTED_STATUS = {
    "missing": {404},
    OK: {200, 201, 204},
    DENIED: {403},
    UNAUTH: {401},
    "bad": {400, 422},
    "conflict": {409},
}


@pytest.fixture
async def world(server: RunningServer) -> dict[str, Any]:
    tokens = {
        "admin": await server.add_staff("admin", Role.ADMIN),
        "hr": await server.add_staff("hr", Role.HR),
        "examiner": await server.add_staff("examiner", Role.EXAMINER),
        "viewer_own": await server.add_staff(
            "vo", Role.DEPARTMENT_VIEWER, department="Policy Office"
        ),
        "viewer_other": await server.add_staff(
            "vx", Role.DEPARTMENT_VIEWER, department="Tax Office"
        ),
        "anonymous": "",
        "expired": await server.add_staff("old", Role.ADMIN),
    }
    await server.svc.store.db.execute(
        "UPDATE staff_tokens SET expires_at=0 WHERE user_id=(SELECT id FROM users WHERE username='old')"
    )
    job = await make_job(server, tokens["admin"])  # department "Policy Office"
    await assign(server, tokens["admin"], job["id"], "examiner")
    iv = await completed_interview(server, tokens["admin"], job["id"], "Mia", {"logic": 7})
    cand, _ = await server.svc.candidates.add(  # from a résumé without an e-mail address
        org_id=job["org_id"],
        job_id=job["id"],
        batch_id=None,
        filename="cv.txt",
        file_hash="0" * 64,
        file_bytes=10,
        profile={"language": "en", "name": "Ann Lee", "email": None},
        text="Ann Lee",
        match={"score": 50.0, "eligible": True, "criteria": []},
    )
    return {"tokens": tokens, "job": job["id"], "iv": iv, "cand": cand}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
async def test_access_matrix(
    server: RunningServer,
    world: dict[str, Any],
    method: str,
    path: str,
    body: Any,
    expected: tuple[str, ...],
) -> None:
    url = path.format(
        job=world["job"], iv=world["iv"], hook="wh_missing", cand=world["cand"], batch="b_missing"
    )
    for role, outcome in zip(ROLES, expected, strict=True):
        token = world["tokens"][role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        async with server.http.request(
            method, server.base_url + url, headers=headers, **kwargs
        ) as r:
            assert r.status in EXPECTED_STATUS[outcome], (
                role,
                method,
                url,
                r.status,
                await r.text(),
            )


async def test_recordings_follow_department_scope(
    server: RunningServer, world: dict[str, Any]
) -> None:
    store = server.svc.store
    answer = await store.ensure_answer(world["iv"], 0, "q")
    rec_dir = server.svc.settings.recordings_root / world["iv"]
    rec_dir.mkdir(parents=True, exist_ok=True)
    (rec_dir / "00.webm").write_bytes(b"\x1a\x45\xdf\xa3 not really webm")
    rec_id = await store.add_recording(
        answer.id,
        world["iv"],
        {
            "path": f"{world['iv']}/00.webm",
            "container": "webm",
            "duration_s": 1.0,
            "video_frames": 1,
            "audio_packets": 1,
            "bytes": 10,
        },
    )
    for role, status in (
        ("admin", 200),
        ("examiner", 200),
        ("viewer_own", 200),
        ("hr", 403),
        ("viewer_other", 403),
        ("anonymous", 401),
        ("expired", 401),
    ):
        token = world["tokens"][role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with server.http.get(
            f"{server.base_url}/api/recordings/{rec_id}", headers=headers
        ) as r:
            assert r.status == status, (role, r.status)
    # a path outside the recordings folder is never served
    await store.db.execute("UPDATE recordings SET path='/etc/passwd' WHERE id=?", rec_id)
    await server.call(
        "GET", f"/api/recordings/{rec_id}", token=world["tokens"]["admin"], expect=404
    )


async def test_department_viewer_gets_no_scores(
    server: RunningServer, world: dict[str, Any]
) -> None:
    admin_view = await server.call(
        "GET", f"/api/interviews/{world['iv']}", token=world["tokens"]["admin"]
    )
    viewer = await server.call(
        "GET", f"/api/interviews/{world['iv']}", token=world["tokens"]["viewer_own"]
    )
    assert admin_view["scores"] and admin_view["overall"] is not None
    assert viewer["scores"] == [] and viewer["overall"] is None


TOPIC_MATRIX = [
    # topic template → outcome per role in ROLES[:5] order (admin, hr, examiner, viewer_own, viewer_other)
    ("job:{job}", (OK, OK, OK, OK, DENIED)),
    ("interview:{iv}", (OK, OK, OK, DENIED, DENIED)),
    ("org:{org}", (OK, OK, DENIED, DENIED, DENIED)),
    ("org:org_someone_else", (DENIED,) * 5),
    ("interview:iv_unknown", (DENIED,) * 5),
]


@pytest.mark.parametrize(("template", "expected"), TOPIC_MATRIX, ids=[t for t, _ in TOPIC_MATRIX])
async def test_websocket_topic_matrix(
    server: RunningServer, world: dict[str, Any], template: str, expected: tuple[str, ...]
) -> None:
    org = (await server.call("GET", "/api/me", token=world["tokens"]["admin"]))["org_id"]
    topic = template.format(job=world["job"], iv=world["iv"], org=org)
    for role, outcome in zip(ROLES[:5], expected, strict=True):
        url = f"{server.base_url}/ws?token={world['tokens'][role]}"
        async with server.http.ws_connect(url) as ws:
            await ws.send_json({"type": "subscribe", "topic": topic})
            reply = await ws.receive_json(timeout=5)
            assert reply["type"] == ("snapshot" if outcome == OK else "error"), (role, topic, reply)
    for role in ("anonymous", "expired"):
        async with server.http.get(f"{server.base_url}/ws?token={world['tokens'][role]}") as r:
            assert r.status == 401


async def test_unassigned_examiner_sees_nothing(
    server: RunningServer, world: dict[str, Any]
) -> None:
    other = await server.add_staff("exa2", Role.EXAMINER)
    for path in (
        f"/api/jobs/{world['job']}",
        f"/api/interviews/{world['iv']}",
        f"/api/interviews/{world['iv']}/report",
    ):
        await server.call("GET", path, token=other, expect=403)
    assert await server.call("GET", "/api/jobs", token=other) == []
    async with server.http.ws_connect(f"{server.base_url}/ws?token={other}") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"interview:{world['iv']}"})
        assert (await ws.receive_json(timeout=5))["type"] == "error"


async def test_admin_creates_staff_accounts(server: RunningServer, world: dict[str, Any]) -> None:
    admin, hr = world["tokens"]["admin"], world["tokens"]["hr"]
    body = {"username": "new.examiner", "password": "a long password", "role": "examiner"}
    await server.call("POST", "/api/users", token=hr, json=body, expect=403)
    bad = await server.call(
        "POST",
        "/api/users",
        token=admin,
        expect=422,
        json={"username": "x", "password": "short", "role": "boss"},
    )
    assert {e["field"] for e in bad["errors"]} == {"username", "password", "role"}
    await server.call(
        "POST", "/api/users", token=admin, expect=422, json={**body, "role": "department_viewer"}
    )  # needs a department
    created = await server.call("POST", "/api/users", token=admin, json=body, expect=201)
    assert created["role"] == "examiner" and "password_hash" not in created
    await server.call("POST", "/api/users", token=admin, json=body, expect=409)  # taken
    login = await server.call(
        "POST", "/api/auth/login", json={"username": "new.examiner", "password": "a long password"}
    )
    assert login["role"] == "examiner"


def test_every_staff_route_is_in_the_matrix(server: RunningServer) -> None:
    """A new route must state who may call it (candidate routes: tests/test_api.py)."""
    routes = set()
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and not path.startswith("/api/candidate/"):
            if route.method != "HEAD":
                routes.add((route.method, re.sub(r"\{[^}]+\}", "{}", path)))
    covered = {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p, _, _ in MATRIX}
    missing = routes - covered - set(COVERED_ELSEWHERE)
    assert not missing, f"routes without access expectations: {sorted(missing)}"
