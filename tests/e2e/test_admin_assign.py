"""HR assigns an examiner to a job in the admin page; the examiner then sees the job."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.server import RunningServer

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000


async def test_hr_assigns_an_examiner(srv: RunningServer, browser: Browser) -> None:
    hr = await srv.add_staff("hr", Role.HR)
    examiner = await srv.add_staff("exa", Role.EXAMINER)
    job = await make_job(srv, hr)
    assert await srv.call("GET", "/api/jobs", token=examiner) == []
    page = await (await browser.new_context(locale="en-US")).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(srv.base_url + "/admin")
    await page.get_by_test_id("login-username").fill("hr")
    await page.get_by_test_id("login-password").fill("pw-hr")
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("logout").wait_for(timeout=UI_TIMEOUT_MS)
    await page.goto(f"{srv.base_url}/admin#/jobs/{job['id']}")
    box = page.get_by_test_id("examiner-exa")
    await expect(box).not_to_be_checked(timeout=UI_TIMEOUT_MS)
    await box.check()
    await page.get_by_test_id("examiners-save").click()
    await expect(page.get_by_test_id("examiners-card")).to_contain_text("1 examiner(s) assigned")
    jobs = await srv.call("GET", "/api/jobs", token=examiner)
    assert [j["id"] for j in jobs] == [job["id"]]
    assert not errors, errors


async def test_hr_sends_reminders_to_pending_candidates(
    srv: RunningServer, browser: Browser
) -> None:
    hr = await srv.add_staff("hr", Role.HR)
    job = await make_job(srv, hr)
    for name in ("A", "B"):
        await srv.call(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            token=hr,
            json={"name": name, "email": f"{name.lower()}@example.com"},
            expect=201,
        )
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(srv.base_url + "/admin")
    await page.get_by_test_id("login-username").fill("hr")
    await page.get_by_test_id("login-password").fill("pw-hr")
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("logout").wait_for(timeout=UI_TIMEOUT_MS)
    await page.goto(f"{srv.base_url}/admin#/jobs/{job['id']}")
    await expect(page.get_by_test_id("pending-count")).to_contain_text(
        "2 candidate(s)", timeout=UI_TIMEOUT_MS
    )
    await page.get_by_test_id("send-reminders").click()
    await expect(page.get_by_test_id("reminder-status")).to_contain_text("queued for 2")
    outbox = await srv.call("GET", f"/api/jobs/{job['id']}/reminders", token=hr)
    assert sorted(o["recipient"] for o in outbox) == ["a@example.com", "b@example.com"]
