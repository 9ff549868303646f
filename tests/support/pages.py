"""Staff pages in a real browser: log in once per page (the session lives in the tab)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from tests.support.process import ServerProcess

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
"""A browser context held like a phone upright (the size of a common 6.1-inch phone)."""

UI_TIMEOUT_MS = 20_000


async def admin_login(page: Page, srv: ServerProcess) -> None:
    """Log in on the admin page; the examiner page in the same tab reuses that session."""
    await page.goto(srv.base_url + "/admin")
    await page.get_by_test_id("login-username").fill(srv.demo["admin"]["username"])
    await page.get_by_test_id("login-password").fill(srv.demo["admin"]["password"])
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("logout").wait_for(timeout=UI_TIMEOUT_MS)


CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium; Playwright never downloads a browser here."""
BASE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
)


@asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Browser]:
    """A headless Debian Chromium for one test (extra flags: fake devices, autoplay…)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*BASE_ARGS, *extra_args])
        try:
            yield browser
        finally:
            await browser.close()


def fake_media_chromium(
    video: Path, audio: Path, *extra_args: str
) -> AbstractAsyncContextManager[Browser]:
    """Chromium whose camera and microphone play ``video`` (y4m) and ``audio`` (wav)."""
    return chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        f"--use-file-for-fake-audio-capture={audio}",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        *extra_args,
    )
