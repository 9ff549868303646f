"""Staff pages in a real browser: log in once per page (the session lives in the tab)."""

from __future__ import annotations

from playwright.async_api import Page

from tests.support.process import ServerProcess

UI_TIMEOUT_MS = 20_000


async def admin_login(page: Page, srv: ServerProcess) -> None:
    """Log in on the admin page; the examiner page in the same tab reuses that session."""
    await page.goto(srv.base_url + "/admin")
    await page.get_by_test_id("login-username").fill(srv.demo["admin"]["username"])
    await page.get_by_test_id("login-password").fill(srv.demo["admin"]["password"])
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("logout").wait_for(timeout=UI_TIMEOUT_MS)
