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


CAPTURE_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) {
      super(config, ...rest);
      window.__peers.push({ pc: this, config: JSON.parse(JSON.stringify(config || {})) });
    }
  };
})();
"""
"""Keeps every RTCPeerConnection the page makes (and the configuration it was given)."""
OUTBOUND_VIDEO = """
async () => {
  const peers = (window.__peers || []).filter((p) => p.pc.connectionState === 'connected');
  if (!peers.length) return null;
  let out = null;
  let upload = null;
  (await peers[peers.length - 1].pc.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      upload = s.availableOutgoingBitrate;
    } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out = {
        target: s.targetBitrate,
        width: s.frameWidth,
        limit: s.qualityLimitationReason,
        mode: s.scalabilityMode,
      };
    }
  });
  return out && { ...out, upload };
}
"""
"""The browser's own view of its video sender: target bitrate, width, what limits
quality, VP8 layers (``mode``: L1T1 or L1T2), the upload it estimates (``upload``, bit/s)."""
