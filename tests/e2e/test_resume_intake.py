"""End to end: HR screens résumés in the admin page (real server, real Chromium).

HR sets the job's screening requirements, uploads two plain-text résumés and a broken PDF
through the page, watches the batch finish, finds the qualified candidate invited
automatically and the other one waiting with the reason shown, opens that candidate, checks
the source of an extracted value and invites them by hand. The résumés are written here.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from loadtest.inprocess import make_job
from server.domain.models import Role
from tests.support.server import RunningServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

UI_TIMEOUT_MS = 20_000
"""Generous for the first parse (the worker process starts on first use)."""

QUALIFIED = """Alice Chen
alice.chen@example.com | +86 138 0013 8000

Education
2014.09 - 2018.06  Zhejiang University  Bachelor of Engineering, Computer Science

Work Experience
2018.07 - 2023.06  Data Analyst, Hangzhou Cloud Tech Co., Ltd.
- Built reporting pipelines in Python and SQL

Skills
Python, SQL, Excel
"""

UNQUALIFIED = """Bob Li
bob.li@example.com

Education
2015.09 - 2018.06  Hangzhou Vocational College  Associate degree, Accounting

Work Experience
2018.07 - 2022.12  Accountant, Lake Trading Co.

Skills
Excel, Word
"""

BROKEN_PDF = b"%PDF-1.7\n\x00\x01garbage that is no PDF at all\xff\xfe"


async def hr_page(srv: RunningServer, browser: Browser) -> tuple[Page, list[str]]:
    page = await (await browser.new_context(locale="en-US")).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(srv.base_url + "/admin")
    await page.get_by_test_id("login-username").fill("hr")
    await page.get_by_test_id("login-password").fill("pw-hr")
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("logout").wait_for(timeout=UI_TIMEOUT_MS)
    return page, errors


async def test_hr_screens_uploads_and_invites(srv: RunningServer, browser: Browser) -> None:
    hr = await srv.add_staff("hr", Role.HR)
    job = await make_job(srv, hr)
    page, errors = await hr_page(srv, browser)
    await page.goto(f"{srv.base_url}/admin#/jobs/{job['id']}")
    await page.get_by_test_id("tab-resumes").click()
    await expect(page.get_by_test_id("never-rejects")).to_contain_text("never rejects anyone")

    # screening: bachelor or higher, Python required, invite automatically from 60 points
    form = page.get_by_test_id("screening-form")
    await expect(form).not_to_have_attribute("aria-busy", "true", timeout=UI_TIMEOUT_MS)
    await page.get_by_test_id("scr-min-degree").select_option("bachelor")
    await page.get_by_test_id("scr-skills-input").fill("Python")
    await page.get_by_test_id("scr-skills-input").press("Enter")
    await expect(page.get_by_test_id("scr-skills-chips")).to_contain_text("Python")
    await page.get_by_test_id("scr-threshold").fill("60")
    await page.get_by_test_id("scr-save").click()
    await expect(page.get_by_test_id("scr-status")).to_contain_text("0 candidate(s) re-matched")
    saved = await srv.call("GET", f"/api/jobs/{job['id']}/screening", token=hr)
    assert saved["requirements"]["min_degree"] == "bachelor"
    assert saved["requirements"]["required_skills"] == ["Python"]
    assert saved["requirements"]["auto_invite_threshold"] == 60

    # upload two résumés and a broken file through the page
    files: list[FilePayload] = [
        {"name": "alice.txt", "mimeType": "text/plain", "buffer": QUALIFIED.encode()},
        {"name": "bob.txt", "mimeType": "text/plain", "buffer": UNQUALIFIED.encode()},
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": BROKEN_PDF},
    ]
    await page.get_by_test_id("resume-files").set_input_files(files)
    await expect(page.get_by_test_id("resume-chosen")).to_contain_text("3 file(s) selected")
    await page.get_by_test_id("resume-upload").click()
    progress = page.get_by_test_id("resume-progress")
    await expect(progress).to_have_attribute("data-state", "done", timeout=UI_TIMEOUT_MS)
    await expect(progress).to_contain_text("3 file(s) processed")
    await expect(page.get_by_test_id("sum-imported")).to_have_attribute("data-n", "2")
    await expect(page.get_by_test_id("sum-invited")).to_have_attribute("data-n", "1")
    await expect(page.get_by_test_id("sum-errors")).to_have_attribute("data-n", "1")
    await expect(page.get_by_test_id("sum-duplicates")).to_have_attribute("data-n", "0")
    broken = page.get_by_test_id("resume-errors").locator("tr", has_text="broken.pdf")
    await expect(broken).to_contain_text("Damaged or unreadable file")

    # the list: Alice invited automatically, Bob waiting for a person
    table = page.get_by_test_id("candidates-table")
    alice = table.locator("tr[data-name='Alice Chen']")
    bob = table.locator("tr[data-name='Bob Li']")
    await expect(alice).to_have_attribute("data-status", "invited", timeout=UI_TIMEOUT_MS)
    await expect(alice.get_by_test_id("cand-eligible")).to_have_attribute("data-eligible", "true")
    await expect(bob).to_have_attribute("data-status", "waiting")
    await expect(bob.get_by_test_id("cand-eligible")).to_have_attribute("data-eligible", "false")
    await expect(page.get_by_test_id("threshold-note")).to_contain_text(
        "below the threshold wait for your decision"
    )
    await page.get_by_test_id("filter-waiting").click()
    await expect(table.locator("tbody tr")).to_have_count(1)

    # Bob's panel: why he waits, where each value came from; then a person invites him
    await bob.get_by_role("button", name="Bob Li").click()
    panel = page.get_by_test_id("candidate-panel")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_test_id("criteria")).to_contain_text("Python: not found ✗")
    await panel.get_by_test_id("field-email").locator("summary").click()
    await expect(panel.get_by_test_id("field-email-source")).to_contain_text("bob.li@example.com")
    await panel.get_by_test_id("candidate-invite").click()
    await expect(panel.get_by_test_id("candidate-invite-link")).to_have_value(
        re.compile(r"^http://.+/i/\S+$"), timeout=UI_TIMEOUT_MS
    )
    await expect(panel.get_by_test_id("candidate-status")).to_have_text("Invited")
    await panel.get_by_test_id("candidate-close").click()
    await page.get_by_test_id("filter-all").click()
    await expect(bob).to_have_attribute("data-status", "invited")

    rows = await srv.call("GET", f"/api/jobs/{job['id']}/candidates", token=hr)
    assert sorted(c["status"] for c in rows) == ["invited", "invited"]
    assert not errors, errors
