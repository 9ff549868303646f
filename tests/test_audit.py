"""The audit log: every access is recorded with who, what, when and from where; the hash chain
shows a changed or removed event; only admins read, verify and export it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import server.storage.repos.audit as audit_module
from loadtest.inprocess import make_job
from server.domain.models import Role
from server.storage.db import Database, open_database
from server.storage.store import Store, audit_hash
from tests.support.server import running_server, store_url
from tests.test_api import invite

PAGE = 4
"""Audit events per verification page in the paging test (the server reads 5,000)."""


async def test_audit_chain_detects_changes_and_removals(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        hr = await srv.add_staff("hr", Role.HR)
        job = await make_job(srv, admin)
        for name in ("a", "b", "c"):
            await invite(srv, admin, job["id"], name)
        await srv.call("GET", f"/api/jobs/{job['id']}/export?format=csv", token=hr)
        await srv.call("GET", "/api/audit", token=hr, expect=403)
        await srv.call("GET", "/api/audit/verify", token=hr, expect=403)
        page = await srv.call("GET", "/api/audit?limit=2", token=admin)
        assert len(page["events"]) == 2 and page["next_after_id"] == page["events"][-1]["id"]
        for bad in ("limit=²", "limit=0", "after_id=-1", "limit=x"):  # "²".isdigit() is True
            await srv.call("GET", f"/api/audit?{bad}", token=admin, expect=400)
        events = (await srv.call("GET", "/api/audit", token=admin))["events"]
        export = next(e for e in events if e["kind"] == "export")
        assert export["actor"] == "hr" and export["data"]["ip"] == "127.0.0.1" and export["at"] > 0
        verdict = await srv.call("GET", "/api/audit/verify", token=admin)
        assert verdict["ok"] and verdict["checked"] == len(events) >= 4
        async with srv.http.get(
            srv.base_url + "/api/audit/export", headers={"Authorization": f"Bearer {admin}"}
        ) as resp:
            text = (await resp.read()).decode("utf-8-sig")
        assert resp.status == 200 and text.splitlines()[0].startswith("id,at,interview_id")
        assert len(text.splitlines()) == len(events) + 1

    # tampering with the database directly (the server is stopped)
    db = open_database(store_url(tmp_path / "data"))
    await db.open()
    third = events[2]["id"]
    await db.execute("UPDATE events SET actor='someone-else' WHERE id=?", third)
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin2", Role.ADMIN)
        verdict = await srv.call("GET", "/api/audit/verify", token=admin)
        assert (verdict["ok"], verdict["first_bad_id"]) == (False, third)
        assert verdict["reason"] == "the event was changed"
    await db.execute("UPDATE events SET actor=? WHERE id=?", events[2]["actor"], third)
    await db.execute("DELETE FROM events WHERE id=?", third)
    await db.close()
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin3", Role.ADMIN)
        verdict = await srv.call("GET", "/api/audit/verify", token=admin)
        assert (verdict["ok"], verdict["first_bad_id"]) == (False, events[3]["id"])
        assert verdict["reason"] == "an event before it was removed"


async def test_chain_is_verified_page_by_page_off_the_database_thread(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 4 events: the previous hash is carried across pages, so a change in the second
    page and a removal right at a page boundary are still found; hashing is not done on the
    database thread."""
    db = database
    store = Store(db)
    for n in range(10):
        await store.add_event(None, "org_1", "export", f"user{n}", {"n": n})
    ids = [r["id"] for r in await db.fetchall("SELECT id FROM events ORDER BY id")]
    threads: set[str] = set()

    def hash_and_note(*args: Any) -> str:
        threads.add(threading.current_thread().name)
        return audit_hash(*args)

    monkeypatch.setattr(audit_module, "audit_hash", hash_and_note)
    verdict = await store.verify_audit_chain(page_events=PAGE)
    last = await db.fetchone("SELECT hash FROM events ORDER BY id DESC LIMIT 1")
    assert last is not None
    head = last["hash"]
    assert verdict == {"ok": True, "checked": 10, "unchained": 0, "head": head}
    assert threads and not any(n.startswith(db.thread_name_prefix) for n in threads), threads

    changed = ids[PAGE + 1]  # in the second page
    await db.execute("UPDATE events SET actor='someone-else' WHERE id=?", changed)
    verdict = await store.verify_audit_chain(page_events=PAGE)
    assert verdict == {
        "ok": False,
        "first_bad_id": changed,
        "reason": "the event was changed",
        "checked": PAGE + 1,
    }
    await db.execute("UPDATE events SET actor='user5' WHERE id=?", changed)
    assert (await store.verify_audit_chain(page_events=PAGE))["ok"]

    await db.execute("DELETE FROM events WHERE id=?", ids[PAGE])  # first of the second page
    verdict = await store.verify_audit_chain(page_events=PAGE)
    assert (verdict["ok"], verdict["first_bad_id"]) == (False, ids[PAGE + 1])
    assert verdict["reason"] == "an event before it was removed"
    assert verdict["checked"] == PAGE
