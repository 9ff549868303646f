"""REST API, roles, invitations, bad input and the live progress socket, against a real server."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import aiohttp
import pytest

from loadtest.inprocess import RunningServer, bank_plan, make_job
from server.domain.models import Role
from server.security.auth import make_invitation_token
from tests.support.uploads import encoded


async def assign(server: RunningServer, admin: str, job_id: str, *usernames: str) -> None:
    """Assign examiners (by username) to a job."""
    users = await server.call("GET", "/api/users?role=examiner", token=admin)
    ids = [u["id"] for u in users if u["username"] in usernames]
    assert len(ids) == len(usernames), users
    await server.call("PUT", f"/api/jobs/{job_id}/examiners", token=admin, json={"examiners": ids})


def token_of(url: str) -> str:
    return url.rsplit("/i/", 1)[1]


async def invite(server: RunningServer, token: str, job_id: str, name: str) -> dict[str, Any]:
    """One invitation (201): ``{"interview_id", "url", "expires_at"}``."""
    return dict(
        await server.call(
            "POST",
            f"/api/jobs/{job_id}/invitations",
            token=token,
            json={"name": name, "email": f"{name.lower().replace(' ', '.')}@example.com"},
            expect=201,
        )
    )


async def test_openapi_document_matches_the_routes(server: RunningServer) -> None:
    doc = await server.call("GET", "/api/openapi.json")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/") and route.method not in ("HEAD", "OPTIONS"):
            served.add((route.method, path))
    assert documented == served


async def test_a_method_the_route_lacks_is_405_with_allow(server: RunningServer) -> None:
    """RFC 9110: a 405 names the methods the resource has; the JSON error keeps the header."""
    admin = await server.add_staff("admin", Role.ADMIN)
    async with server.http.delete(
        server.base_url + "/api/questions", headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        assert resp.status == 405
        assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
        assert (await resp.json())["error"] == "http_error"


async def test_login_and_roles(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    examiner = await server.add_staff("exa", Role.EXAMINER)
    await server.call(
        "POST", "/api/auth/login", json={"username": "admin", "password": "wrong"}, expect=401
    )
    await server.call(
        "POST", "/api/auth/login", json={"username": "nobody", "password": "x"}, expect=401
    )
    await server.call("GET", "/api/jobs", expect=401)
    await server.call("GET", "/api/jobs", token="forged-token", expect=401)
    me = await server.call("GET", "/api/me", token=admin)
    assert me["role"] == "admin"
    job = await make_job(server, admin)
    # examiners see only the jobs they are assigned to, and may not create jobs or invite
    await server.call("GET", f"/api/jobs/{job['id']}", token=examiner, expect=403)
    assert await server.call("GET", "/api/jobs", token=examiner) == []
    await server.call(
        "PUT",
        f"/api/jobs/{job['id']}/examiners",
        token=examiner,
        json={"examiners": []},
        expect=403,
    )
    await server.call(
        "PUT",
        f"/api/jobs/{job['id']}/examiners",
        token=admin,
        json={"examiners": ["usr_nobody"]},
        expect=409,  # well-formed, but no examiner of the organisation has that id
    )
    await assign(server, admin, job["id"], "exa")
    await server.call("GET", f"/api/jobs/{job['id']}", token=examiner)
    assert [j["id"] for j in await server.call("GET", "/api/jobs", token=examiner)] == [job["id"]]
    await server.call("POST", "/api/jobs", token=examiner, json={}, expect=403)
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=examiner,
        json={"name": "A", "email": "a@example.com"},
        expect=403,
    )
    row = await server.svc.store.user_by_username("admin")
    assert row is not None and row["password_hash"].startswith("scrypt$")


async def test_department_viewer_is_scoped(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    viewer = await server.add_staff("viewer", Role.DEPARTMENT_VIEWER, department="Tax Office")
    job = await make_job(server, admin)
    await server.call("GET", f"/api/jobs/{job['id']}", token=viewer, expect=403)
    assert await server.call("GET", "/api/jobs", token=viewer) == []
    own = await make_job(server, admin, department="Tax Office")
    listed = await server.call("GET", "/api/jobs", token=viewer)
    assert [j["id"] for j in listed] == [own["id"]]


async def test_invalid_job_lists_every_problem(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    bank = await server.call("GET", "/api/questions", token=admin)
    spoken_prof = next(
        q["id"] for q in bank if q["section"] == "professional" and q["media"] != "text"
    )
    body = {
        "title": "",
        "department": "X",
        "competencies": [{"id": "logic", "weight": 0.5}, {"id": "Bad Id", "weight": 0.5}],
        "plan": [
            {"section": "self_intro", "questions": []},
            {"section": "structured", "questions": ["nope"]},
            {"section": "professional", "questions": [spoken_prof]},
        ],
    }
    resp = await server.call("POST", "/api/jobs", token=admin, json=body, expect=422)
    fields = {e["field"] for e in resp["errors"]}
    assert {
        "title",
        "competencies[1].id",
        "plan[1].questions[0]",
        "plan.self_intro",
        "plan.professional",
    } <= fields
    await server.call("POST", "/api/jobs", token=admin, data="{not json", expect=400)
    assert await server.call("GET", "/api/jobs", token=admin) == []


async def test_weights_are_relative(server: RunningServer) -> None:
    # the job keeps them scaled to sum to 1; a dimension listed twice is one, its weights added
    admin = await server.add_staff("admin", Role.ADMIN)
    bank = await server.call("GET", "/api/questions", token=admin)
    body = {
        "title": "T",
        "department": "D",
        "competencies": [
            {"id": "logic", "weight": 0.5},
            {"id": "expression", "weight": 0.2},
            {"id": "logic", "weight": 0.1},
        ],
        "plan": bank_plan(bank),
    }
    job = await server.call("POST", "/api/jobs", token=admin, json=body, expect=201)
    weights = {c["id"]: c["weight"] for c in job["competencies"]}
    assert weights == pytest.approx({"logic": 0.75, "expression": 0.25})
    # weights that already sum to 1 are kept as written
    body["competencies"] = [{"id": "logic", "weight": 0.3}, {"id": "expression", "weight": 0.7}]
    job = await server.call("POST", "/api/jobs", token=admin, json=body, expect=201)
    assert [c["weight"] for c in job["competencies"]] == [0.3, 0.7]


async def test_a_job_the_bank_does_not_hold_is_a_conflict(server: RunningServer) -> None:
    # the body is as the document says; the questions it names are not in the bank: 409
    admin = await server.add_staff("admin", Role.ADMIN)
    bank = await server.call("GET", "/api/questions", token=admin)
    plan = bank_plan(bank)
    structured = next(q["id"] for q in bank if q["section"] == "structured")
    plan[0] = {"section": "self_intro", "questions": ["q_not_in_the_bank"]}
    plan[2] = {"section": "professional", "questions": [structured]}
    body = {
        "title": "T",
        "department": "D",
        "competencies": [{"id": "logic", "weight": 1}],
        "plan": plan,
    }
    resp = await server.call("POST", "/api/jobs", token=admin, json=body, expect=409)
    assert resp["error"] == "invalid_job"
    assert [e["field"] for e in resp["errors"]] == [
        "plan[0].questions[0]",
        "plan[2].questions[0]",
        "plan.professional",
    ], resp
    assert await server.call("GET", "/api/jobs", token=admin) == []


async def test_invitation_lifecycle_and_tokens(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    inv = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Wang Fang", "email": "wang@example.com", "language": "en"},
        expect=201,
    )
    assert inv["url"].startswith(server.base_url + "/i/")
    token = token_of(inv["url"])
    state = await server.call("GET", "/api/candidate/state", token=token)
    assert state["status"] == "opened" and state["questions_total"] == 4
    assert "rubric" not in json.dumps(state)  # candidates never see scoring keys
    detail = await server.call("GET", f"/api/interviews/{inv['interview_id']}", token=admin)
    assert detail["status"] == "opened"

    # tampered, unknown and expired tokens
    await server.call("GET", "/api/candidate/state", token=token[:-2] + "xx", expect=401)
    await server.call("GET", "/api/candidate/state", token="garbage", expect=401)
    await server.call("GET", "/api/candidate/state", expect=401)
    iid, exp, nonce, _sig = token.split(".")
    # a correctly signed token whose expiry differs from the one issued is not ours
    longer = make_invitation_token(server.svc.settings.secret_key, iid, int(exp) + 999, nonce)
    await server.call("GET", "/api/candidate/state", token=longer, expect=401)
    # a token for another interview id (nonce mismatch) is rejected
    other = make_invitation_token(server.svc.settings.secret_key, "iv_other", int(exp), nonce)
    await server.call("GET", "/api/candidate/state", token=other, expect=401)

    # consent: both required to accept
    await server.call(
        "POST",
        "/api/candidate/consent",
        token=token,
        json={"decision": "accept", "recording": True, "analysis": False},
        expect=422,
    )
    # signalling before the control socket, malformed SDP
    await server.call(
        "POST",
        "/api/candidate/offer",
        token=token,
        json={"type": "offer", "sdp": "v=0"},
        expect=409,
    )
    # revoke: the link stops working
    await server.call("POST", f"/api/interviews/{inv['interview_id']}/revoke", token=admin)
    await server.call("GET", "/api/candidate/state", token=token, expect=410)


async def test_expired_invitation(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    inv = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Old", "email": "old@example.com", "expires_in_hours": 1},
        expect=201,
    )
    past = int(time.time()) - 5
    await server.svc.store.db.execute(
        "UPDATE interviews SET expires_at=? WHERE id=?", past, inv["interview_id"]
    )
    iid, _exp, nonce, _sig = token_of(inv["url"]).split(".")
    expired = make_invitation_token(server.svc.settings.secret_key, iid, past, nonce)
    await server.call("GET", "/api/candidate/state", token=expired, expect=410)
    detail = await server.call("GET", f"/api/interviews/{iid}", token=admin)
    assert detail["status"] == "expired"
    await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "X", "email": "x@example.com", "expires_in_hours": 0},
        expect=422,
    )


async def test_decline_is_recorded(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    inv = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "Li", "email": "li@example.com"},
        expect=201,
    )
    token = token_of(inv["url"])
    await server.call("GET", "/api/candidate/state", token=token)
    state = await server.call(
        "POST",
        "/api/candidate/consent",
        token=token,
        json={"decision": "decline", "recording": False, "analysis": False, "text_version": "v1"},
    )
    assert state["status"] == "declined"
    detail = await server.call("GET", f"/api/interviews/{inv['interview_id']}", token=admin)
    assert detail["consent"]["decision"] == "decline"
    # a declined interview cannot be accepted afterwards
    await server.call(
        "POST",
        "/api/candidate/consent",
        token=token,
        json={"decision": "accept", "recording": True, "analysis": True},
        expect=409,
    )


async def test_bulk_invitations_all_or_nothing(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    path = f"/api/jobs/{job['id']}/invitations/bulk"

    def form(text: str, encoding: str = "utf-8") -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", text.encode(encoding), filename="c.csv", content_type="text/csv")
        return data

    bad = "name,email,phone,language\n张三,zhang@example.com,,zh-CN\n,nomail,abc,fr\n李四,li@example,,\n"
    resp = await server.call("POST", path, token=admin, data=form(bad), expect=422)
    assert {(e["row"], e["field"]) for e in resp["errors"]} == {
        (3, "name"),
        (3, "email"),
        (3, "phone"),
        (3, "language"),
        (4, "email"),
    }
    assert (await server.call("GET", f"/api/jobs/{job['id']}", token=admin))["counts"][
        "invited"
    ] == 0
    resp = await server.call("POST", path, token=admin, data=form("email,name\n"), expect=422)
    resp = await server.call(
        "POST", path, token=admin, data=form("who,email\nx,y@z.com\n"), expect=422
    )
    assert resp["errors"][0]["field"] == "header"
    good = "name,email,phone,language\n张三,zhang@example.com,138 0000 0000,zh-CN\nAnn,ann@example.com,,en\n"
    resp = await server.call("POST", path, token=admin, data=form(good, "gb18030"), expect=201)
    assert [c["name"] for c in resp["created"]] == ["张三", "Ann"]
    job = await server.call("GET", f"/api/jobs/{job['id']}", token=admin)
    assert job["counts"]["invited"] == 2


async def test_bulk_invitations_csv_in_utf16(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    path = f"/api/jobs/{job['id']}/invitations/bulk"
    for n, encoding in enumerate(("utf-16-le", "utf-16-be")):
        text = f"name,email,language\n张三{n},zhang{n}@example.com,zh-CN\n"
        data = aiohttp.FormData()
        data.add_field("file", encoded(text, encoding), filename="c.csv", content_type="text/csv")
        resp = await server.call("POST", path, token=admin, data=data, expect=201)
        assert [c["name"] for c in resp["created"]] == [f"张三{n}"]


async def test_oversize_body_is_refused(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    big = b"x" * (server.svc.settings.max_body_bytes + 1)
    await server.call(
        "POST",
        "/api/jobs",
        token=admin,
        data=io.BytesIO(big),
        headers={"Content-Type": "application/json"},
        expect=413,
    )
    await server.call("GET", "/healthz")


async def test_live_counts_update_within_a_second(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    topic = f"job:{job['id']}"
    async with server.http.ws_connect(f"{server.base_url}/ws?token={admin}") as ws:
        await ws.send_json({"type": "subscribe", "topic": topic})
        snap = await ws.receive_json(timeout=5)
        assert snap["type"] == "snapshot" and snap["counts"]["invited"] == 0
        inv = await server.call(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            token=admin,
            json={"name": "Zhao", "email": "zhao@example.com"},
            expect=201,
        )
        msg = await ws.receive_json(timeout=1)
        assert msg["status"] == "invited" and msg["counts"]["invited"] == 1
        started = time.monotonic()
        await server.call("GET", "/api/candidate/state", token=token_of(inv["url"]))
        msg = await ws.receive_json(timeout=1)
        assert msg["status"] == "opened" and msg["counts"]["opened"] == 1
        assert msg["seq"] > snap["seq"]
        assert time.monotonic() - started < 1.0
        await ws.send_json({"type": "subscribe", "topic": "job:job_unknown"})
        err = await ws.receive_json(timeout=5)
        assert err["type"] == "error"


async def test_websocket_checks_origin_and_token(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        async with server.http.ws_connect(
            f"{server.base_url}/ws?token={admin}", headers={"Origin": "https://evil.example"}
        ):
            pass
    assert exc.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        async with server.http.ws_connect(f"{server.base_url}/ws?token=nope"):
            pass
    assert exc.value.status == 401
    # the server's own origin is fine
    async with server.http.ws_connect(
        f"{server.base_url}/ws?token={admin}", headers={"Origin": server.base_url}
    ) as ws:
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json(timeout=5))["type"] == "pong"
    await asyncio.sleep(0)


async def test_expiry_sweep_marks_only_unstarted_interviews(server: RunningServer) -> None:
    from server.domain.models import Status
    from server.security.access import EXPIRABLE

    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    ids = []
    for name in ("a", "b"):
        inv = await server.call(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            token=admin,
            json={"name": name, "email": f"{name}@example.com"},
            expect=201,
        )
        ids.append(inv["interview_id"])
    store = server.svc.store
    await store.db.execute("UPDATE interviews SET expires_at=0")
    await store.db.execute("UPDATE interviews SET status='in_progress' WHERE id=?", ids[1])
    changes = await store.expire_due(time.time(), EXPIRABLE)
    assert [c.interview_id for c in changes] == [ids[0]]
    assert (await store.get_interview(ids[0])).status == Status.EXPIRED
    assert (await store.get_interview(ids[1])).status == Status.IN_PROGRESS


def test_flag_thresholds_setting_is_validated() -> None:
    from server.core.config import ConfigError, load_settings

    settings = load_settings(env={"INTERVIEW_FLAG_THRESHOLDS": '{"face_missing_s": 5}'})
    assert settings.flag_thresholds == {"face_missing_s": 5}
    for bad in ('{"nope": 1}', '{"face_missing_s": -1}', "[1]", "not json"):
        with pytest.raises(ConfigError):
            load_settings(env={"INTERVIEW_FLAG_THRESHOLDS": bad})


async def test_an_upload_with_an_undeclared_form_field_is_refused(server: RunningServer) -> None:
    """The document lists each upload's one field (additionalProperties: false); a form with
    another field is refused, not half read."""
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    for path, field in (
        ("/api/questions/import", "file"),
        (f"/api/jobs/{job['id']}/resumes", "files"),
        (f"/api/jobs/{job['id']}/invitations/bulk", "file"),
    ):
        form = aiohttp.FormData()
        form.add_field("note", "hello")
        form.add_field(field, b"name,email\n", filename="x.csv", content_type="text/csv")
        answer = await server.call("POST", path, token=admin, data=form, expect=422)
        assert answer["error"] == "unknown_field" and answer["errors"][0]["field"] == "note"
