"""Fairness view (four-fifths rule) and reminders to candidates who have not finished."""

from __future__ import annotations

import asyncio
import csv
import io
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from loadtest.inprocess import make_job
from server.domain.models import Role
from server.outbound.reports import fairness
from tests.support.server import LOOPBACK, RunningServer, free_port, running_server
from tests.test_api import token_of


@pytest.mark.parametrize(
    ("groups", "expected_ratio", "warned"),
    [
        # group A: 3 of 5 advanced (0.6); group B: 1 of 4 (0.25) → ratio 0.25/0.6 = 0.417
        ({"A": (5, 3), "B": (4, 1)}, {"A": 1.0, "B": 0.417}, ["B"]),
        # 0.5 vs 0.45 → 0.9: no warning
        ({"A": (10, 5), "B": (20, 9)}, {"A": 1.0, "B": 0.9}, []),
        ({"A": (3, 0), "B": (2, 0)}, {"A": None, "B": None}, []),
    ],
)
def test_four_fifths_rule(
    groups: dict[str, tuple[int, int]], expected_ratio: dict[str, float | None], warned: list[str]
) -> None:
    people = [
        {"group": g, "decided": True, "advanced": i < selected}
        for g, (n, selected) in groups.items()
        for i in range(n)
    ]
    people += [
        {"group": "A", "decided": False, "advanced": False},
        {"group": None, "decided": True, "advanced": True},
    ]
    result = fairness(people)
    assert {r["group"]: r["impact_ratio"] for r in result["groups"]} == expected_ratio
    assert [r["group"] for r in result["groups"] if r["below_four_fifths"]] == warned
    assert len(result["warnings"]) == len(warned)


async def test_fairness_endpoint_uses_human_decisions(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    store = server.svc.store
    for name, group, rec in (
        ("a1", "F", "advance"),
        ("a2", "F", "reject"),
        ("b1", "M", "advance"),
        ("b2", "M", "advance"),
    ):
        inv = await server.call(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            token=admin,
            json={"name": name, "email": f"{name}@example.com", "group": group},
            expect=201,
        )
        await store.db.execute(
            "UPDATE interviews SET status='completed' WHERE id=?", inv["interview_id"]
        )
        await server.call(
            "POST",
            f"/api/interviews/{inv['interview_id']}/decision",
            token=admin,
            json={"recommendation": rec},
            expect=201,
        )
    result = await server.call("GET", f"/api/jobs/{job['id']}/fairness", token=admin)
    assert {r["group"]: r["impact_ratio"] for r in result["groups"]} == {"F": 0.5, "M": 1.0}
    assert result["warnings"] and "F" in result["warnings"][0]["en"]


async def test_reminders_for_pending_candidates(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    examiner = await server.add_staff("exa", Role.EXAMINER)
    job = await make_job(server, admin)
    links = []
    for name, lang in (("张三", "zh-CN"), ("Ann", "en")):
        inv = await server.call(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            token=admin,
            json={"name": name, "email": f"{len(links)}@example.com", "language": lang},
            expect=201,
        )
        links.append(inv)
    # Ann declines: no reminder for her
    token = token_of(links[1]["url"])
    await server.call("GET", "/api/candidate/state", token=token)
    await server.call(
        "POST",
        "/api/candidate/consent",
        token=token,
        json={"decision": "decline", "recording": False, "analysis": False},
    )
    pending = await server.call("GET", f"/api/jobs/{job['id']}/pending", token=admin)
    assert [p["name"] for p in pending] == ["张三"]
    await server.call("POST", f"/api/jobs/{job['id']}/reminders", token=examiner, expect=403)
    sent = await server.call("POST", f"/api/jobs/{job['id']}/reminders", token=admin, expect=201)
    assert sent["queued"] == 1
    (msg,) = sent["reminders"]
    assert msg["subject"].startswith("【面试提醒】") and links[0]["url"] in msg["body"]
    # the link in the reminder still opens the interview
    await server.call("GET", "/api/candidate/state", token=token_of(msg["url"]))
    raw = await server.call("GET", f"/api/jobs/{job['id']}/reminders?format=csv", token=admin)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["recipient"] for r in rows] == ["0@example.com"] and rows[0]["status"] == "queued"


async def test_reminders_are_mailed_when_smtp_is_configured(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            self.messages.append(envelope.content)
            return "250 OK"

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        async with running_server(
            tmp_path / "data",
            analysis_workers=0,
            smtp_host=LOOPBACK,
            smtp_port=port,
            smtp_from="hr@example.org",
            smtp_starttls=False,
        ) as server:
            admin = await server.add_staff("admin", Role.ADMIN)
            job = await make_job(server, admin)
            await server.call(
                "POST",
                f"/api/jobs/{job['id']}/invitations",
                token=admin,
                json={"name": "王芳", "email": "wang@example.com", "language": "zh-CN"},
                expect=201,
            )
            await server.call("POST", f"/api/jobs/{job['id']}/reminders", token=admin, expect=201)
            for _ in range(100):
                outbox = await server.call("GET", f"/api/jobs/{job['id']}/reminders", token=admin)
                if outbox[0]["status"] != "queued":
                    break
                await asyncio.sleep(0.1)
            assert outbox[0]["status"] == "sent", outbox
    finally:
        controller.stop()
    (raw,) = inbox.messages
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail["To"] == "wang@example.com" and mail["From"] == "hr@example.org"
    assert mail["Subject"].startswith("【面试提醒】")
    assert "/i/" in mail.get_content()


async def test_group_is_hidden_from_examiners(server: RunningServer) -> None:
    from tests.test_api import assign

    admin = await server.add_staff("admin", Role.ADMIN)
    examiner = await server.add_staff("exa", Role.EXAMINER)
    job = await make_job(server, admin)
    await assign(server, admin, job["id"], "exa")
    inv = await server.call(
        "POST",
        f"/api/jobs/{job['id']}/invitations",
        token=admin,
        json={"name": "G", "email": "g@example.com", "group": "north"},
        expect=201,
    )
    path = f"/api/interviews/{inv['interview_id']}"
    assert (await server.call("GET", path, token=admin))["candidate"]["group"] == "north"
    assert "group" not in (await server.call("GET", path, token=examiner))["candidate"]
