"""Training catalogue import and development recommendations for weak dimensions."""

from __future__ import annotations

import json

import aiohttp

from loadtest.inprocess import make_job
from server.domain.models import Role
from server.hiring.training import level_for, parse_catalogue, recommend
from server.outbound.webhooks import payload_aad
from tests.support.server import RunningServer
from tests.test_reports import completed_interview

CSV = (
    "course,competency,level,link,description\n"
    "沟通表达基础,communication,基础,https://learn.example.cn/c1,\n"
    "Structured speaking,communication,intermediate,https://learn.example.com/c2,\n"
    "Negotiation masterclass,communication,advanced,https://learn.example.com/c3,\n"
    "应急处置实务,emergency,中级,https://learn.example.cn/e1,演练\n"
    "Crisis leadership,emergency,advanced,,\n"
)


def test_catalogue_csv_and_json_parse_with_level_aliases() -> None:
    courses, errors = parse_catalogue("c.csv", CSV.encode("utf-8-sig"))
    assert errors == []
    assert [c["level"] for c in courses] == [
        "foundation",
        "intermediate",
        "advanced",
        "intermediate",
        "advanced",
    ]
    as_json = json.dumps({"courses": courses}).encode()
    assert parse_catalogue("c.json", as_json) == (courses, [])
    gbk, errors = parse_catalogue("c.csv", CSV.encode("gb18030"))
    assert errors == [] and gbk == courses


def test_catalogue_problems_are_all_reported_with_rows() -> None:
    bad = (
        "course,competency,level,link\n"
        ",communication,basic,https://x.example\n"
        "A,Communication Skills,expert,javascript:alert(1)\n"
    )
    courses, errors = parse_catalogue("c.csv", bad.encode())
    assert courses == []
    assert {(e["row"], e["field"]) for e in errors} == {
        (2, "course"),
        (3, "competency"),
        (3, "level"),
        (3, "link"),
    }
    _, errors = parse_catalogue("c.csv", b"name,topic\nx,y\n")
    assert {e["message"] for e in errors} >= {"missing column course", "unknown column name"}
    _, errors = parse_catalogue("c.json", b'[1, {"course": 5}]')
    assert {(e["row"], e["field"]) for e in errors} == {(1, "course"), (2, "course")}
    # a UTF-16 mark, then an odd number of bytes: no text ("\xff\xfe\x00bad" is UTF-16 now)
    assert parse_catalogue("c.csv", b"\xff\xfe\x00ba")[1][0]["field"] == "file"


def _row(dimension: str, value: float | None) -> dict[str, object]:
    return {"dimension": dimension, "final_value": value, "name": {"en": dimension}}


def test_recommendations_follow_the_weakest_dimensions_and_their_level() -> None:
    courses, _ = parse_catalogue("c.csv", CSV.encode())
    rows = [_row("communication", 3.2), _row("emergency", 5.5), _row("logic", 8.0)]
    got = recommend(rows, courses)
    assert [(r["dimension"], r["level"]) for r in got] == [
        ("communication", "foundation"),
        ("emergency", "intermediate"),
    ]
    # the called-for level first, then the nearest levels
    assert [c["course"] for c in got[0]["courses"]] == [
        "沟通表达基础",
        "Structured speaking",
        "Negotiation masterclass",
    ]
    assert [c["course"] for c in got[1]["courses"]] == ["应急处置实务", "Crisis leadership"]
    assert recommend([_row("logic", 9.0), _row("x", None)], courses) == []
    assert (level_for(3.99), level_for(4.0), level_for(6.0)) == (
        "foundation",
        "intermediate",
        "advanced",
    )


async def test_catalogue_upload_is_all_or_nothing_and_audited(server: RunningServer) -> None:
    hr = await server.add_staff("hr", Role.HR)
    examiner = await server.add_staff("ex", Role.EXAMINER)

    def form(text: str, name: str = "catalogue.csv") -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", text.encode(), filename=name, content_type="text/csv")
        return data

    got = await server.call("PUT", "/api/training/catalogue", token=hr, data=form(CSV))
    assert got == {"courses": 5}
    bad = await server.call(
        "PUT",
        "/api/training/catalogue",
        token=hr,
        data=form("course,competency,level\nx,communication,expert\n"),
        expect=422,
    )
    assert bad["errors"] == [{"row": 2, "field": "level", "message": bad["errors"][0]["message"]}]
    listed = await server.call("GET", "/api/training/catalogue", token=hr)
    assert len(listed) == 5  # unchanged by the rejected upload
    await server.call("GET", "/api/training/catalogue", token=examiner, expect=403)
    admin = await server.add_staff("admin", Role.ADMIN)
    audit = await server.call("GET", "/api/audit", token=admin)
    assert [
        e["data"]["courses"] for e in audit["events"] if e["kind"] == "training_catalogue_changed"
    ] == [5]


async def test_report_recommends_courses_and_a_decision_hands_them_to_hr_systems(
    server: RunningServer,
) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)  # logic 0.6, expression 0.4
    iid = await completed_interview(server, admin, job["id"], "Li", {"logic": 3.0, "expression": 8})
    catalogue = (
        "course,competency,level,link\n"
        "Logic foundations,logic,foundation,https://learn.example.com/l1\n"
        "Argument mapping,logic,intermediate,\n"
        "Public speaking,expression,advanced,\n"
    )
    data = aiohttp.FormData()
    data.add_field("file", catalogue.encode(), filename="c.csv", content_type="text/csv")
    await server.call("PUT", "/api/training/catalogue", token=admin, data=data)
    hook = await server.call(
        "POST",
        "/api/webhooks",
        token=admin,
        json={"url": "https://hr.example.com/hook", "events": ["training.recommended"]},
        expect=201,
    )

    report = await server.call("GET", f"/api/interviews/{iid}/report", token=admin)
    (logic,) = report["development"]  # expression 8 is not weak
    assert (logic["dimension"], logic["level"]) == ("logic", "foundation")
    assert [c["course"] for c in logic["courses"]] == ["Logic foundations", "Argument mapping"]
    page = await server.call(
        "GET", f"/api/interviews/{iid}/report?format=html&lang=en", token=admin
    )
    assert b"Development suggestions" in page and b"Logic foundations" in page

    await server.call(
        "POST",
        f"/api/interviews/{iid}/decision",
        token=admin,
        json={"recommendation": "hold", "comment": "train logic first"},
        expect=201,
    )
    rows = await server.svc.db.fetchall(
        "SELECT id, payload FROM webhook_deliveries WHERE webhook_id=? AND event=?",
        hook["id"],
        "training.recommended",
    )
    fields = server.svc.store.fields
    assert all(b"Logic" not in r["payload"].encode() for r in rows)  # sealed until delivered
    (payload,) = [json.loads(fields.open(r["payload"], payload_aad(r["id"]))) for r in rows]
    body = payload.get("data", payload)
    assert body["interview_id"] == iid and body["development"][0]["dimension"] == "logic"
