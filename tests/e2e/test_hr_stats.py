"""End to end: the HR statistics, comparison and report views in headless Chromium.

The real server process with demo data. Three interviews get known AI scores by writing
``score_update`` analysis events (the rows the analysis sink stores) and the ``completed``
status straight into the server's SQLite, so no media is needed. The admin page must show the
hand-computed job-match numbers, draw the ECharts canvases without console errors or CSP
violations, and update the jobs list's live counts within a second of a REST change.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_browser_interview import Api
from tests.support.process import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

UI_TIMEOUT_MS = 15_000
LIVE_MAX_MS = 1_000

WEIGHTS = {"logic": 0.6, "expression": 0.4}
CANDIDATES = [
    ("Ada Low", {"logic": 7.0, "expression": 5.0}),  # 10 × (0.6·7 + 0.4·5) = 62.0
    ("Ben Mid", {"logic": 8.0, "expression": 9.0}),  # 10 × (4.8 + 3.6) = 84.0
    ("Cy High", {"logic": 9.5, "expression": 8.0}),  # 10 × (5.7 + 3.2) = 89.0
]
EXPECTED = {
    "stats-scored": 3,
    "stats-mean": 78.33,  # (62 + 84 + 89) / 3 = 78.333…
    "stats-median": 84.0,
    "stats-max": 89.0,
    "stats-min": 62.0,
}


def complete_with_scores(data_dir: Path, interview_id: str, scores: dict[str, float]) -> None:
    """Store AI score suggestions (ScoreUpdate.to_wire() rows) and mark the interview completed."""
    now = time.time()
    rows = []
    for seq, (dimension, value) in enumerate(scores.items()):
        wire = {
            "interview_id": interview_id,
            "t": 5.0 + seq,
            "question_index": None,
            "seq": seq,
            "dimension": dimension,
            "value": value,
            "reason": f"Scored {value} / 得分 {value}",
            "evidence": [],
            "suggestion": True,
            "type": "score_update",
            "v": 1,
        }
        rows.append((interview_id, "score_update", None, wire["t"], json.dumps(wire), now))
    with contextlib.closing(sqlite3.connect(data_dir / "interview.sqlite3", timeout=10)) as db:
        with db:  # one short transaction; the server's own writes wait for it at most briefly
            db.executemany(
                "INSERT INTO analysis_events(interview_id, type, question_index, t, data, created_at)"
                " VALUES(?,?,?,?,?,?)",
                rows,
            )
            db.execute(
                "UPDATE interviews SET status='completed', updated_at=? WHERE id=?",
                (now, interview_id),
            )


async def scored_job(api: Api, srv: ServerProcess) -> tuple[str, list[str]]:
    demo_job = await api("GET", f"/api/jobs/{srv.demo['job_id']}")
    job = await api(
        "POST",
        "/api/jobs",
        json={
            "title": "Stats analyst",
            "department": "Statistics",
            "language": "en",
            "competencies": [{"id": k, "weight": w} for k, w in WEIGHTS.items()],
            "plan": demo_job["plan"],
        },
    )
    ids = []
    for i, (name, scores) in enumerate(CANDIDATES):
        inv = await api(
            "POST",
            f"/api/jobs/{job['id']}/invitations",
            json={"name": name, "email": f"s{i}@example.com", "language": "en"},
        )
        complete_with_scores(srv.data_dir, inv["interview_id"], scores)
        ids.append(inv["interview_id"])
    return job["id"], ids


def watch_console(page: Page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    return problems


async def login(page: Page, srv: ServerProcess, lang: str) -> None:
    await page.goto(srv.base_url + "/admin")
    await page.evaluate("lang => localStorage.setItem('il.admin.lang', lang)", lang)
    await page.reload()
    admin = srv.demo["admin"]
    await page.get_by_test_id("login-username").fill(admin["username"])
    await page.get_by_test_id("login-password").fill(admin["password"])
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("jobs-table")).to_be_visible(timeout=UI_TIMEOUT_MS)


async def canvas_size(page: Page, testid: str) -> list[float]:
    canvas = page.get_by_test_id(testid).locator("canvas").first
    await expect(canvas).to_be_attached(timeout=UI_TIMEOUT_MS)
    size: Any = await canvas.evaluate(
        "c => [c.width, c.height, c.getBoundingClientRect().width, c.getBoundingClientRect().height]"
    )
    return [float(v) for v in size]


async def test_stats_views_show_hand_computed_numbers(
    live_server: ServerProcess, browser: Browser
) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        job_id, ids = await scored_job(api, live_server)
        stats = await api("GET", f"/api/jobs/{job_id}/stats")
    assert stats["scored"] == 3 and stats["mean"] == EXPECTED["stats-mean"], stats

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    problems = watch_console(page)
    await login(page, live_server, "en")

    # One job's statistics.
    await page.get_by_test_id(f"job-stats-{job_id}").click()
    await expect(page.get_by_test_id("stats-mean")).not_to_have_text("—", timeout=UI_TIMEOUT_MS)
    for testid, want in EXPECTED.items():
        text = (await page.get_by_test_id(testid).inner_text()).strip()
        assert float(text) == pytest.approx(want, abs=0.005), (testid, text)
    w, h, css_w, css_h = await canvas_size(page, "chart-histogram")
    assert w > 0 and h > 0 and css_w > 100 and css_h > 100, (w, h, css_w, css_h)
    assert min(await canvas_size(page, "chart-dimensions")) > 0
    # The (collapsed) data table under the chart: 62 → 60–70; 84, 89 → 80–90.
    counts = (
        await page.get_by_test_id("stats-histogram-table").locator("tbody td").all_text_contents()
    )
    assert counts == ["0", "1", "0", "2", "0"], counts

    # The chart follows a narrower window (two columns become one).
    await page.set_viewport_size({"width": 640, "height": 900})
    await page.wait_for_function(
        "() => { const c = document.querySelector('[data-testid=chart-histogram] canvas');"
        " const box = document.querySelector('[data-testid=chart-histogram]');"
        " return c && Math.abs(c.getBoundingClientRect().width - box.clientWidth) < 2; }",
        timeout=5_000,
    )
    await page.set_viewport_size({"width": 1280, "height": 900})

    # The cross-job comparison, in Chinese.
    await page.get_by_test_id("lang-toggle").click()
    await page.evaluate("location.hash = '#/stats'")
    row = page.get_by_test_id(f"stats-job-row-{job_id}")
    await expect(row.get_by_test_id("row-mean")).to_have_text("78.33", timeout=UI_TIMEOUT_MS)
    await expect(row.get_by_test_id("row-median")).to_have_text("84")
    assert min(await canvas_size(page, "chart-jobs")) > 0

    # The printable report of the lowest scorer: AI suggestion and final kept apart.
    await page.evaluate(f"location.hash = '#/jobs/{job_id}'")
    await page.get_by_test_id(f"report-link-{ids[0]}").click()
    await expect(page.get_by_test_id("report-view")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("report-job-match")).to_have_text("62", timeout=UI_TIMEOUT_MS)
    logic = page.get_by_test_id("report-dim-logic")
    await expect(logic.get_by_test_id("dim-ai")).to_have_text("7.0")
    await expect(logic.get_by_test_id("dim-human")).to_have_text("—")

    assert not problems, problems
    await context.close()


async def test_jobs_list_counts_follow_rest_changes_live(
    live_server: ServerProcess, browser: Browser
) -> None:
    job_id = live_server.demo["job_id"]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    problems = watch_console(page)
    await login(page, live_server, "zh")
    await expect(page.get_by_test_id("live-status")).to_have_attribute(
        "data-state", "open", timeout=UI_TIMEOUT_MS
    )
    row = page.get_by_test_id(f"job-row-{job_id}")
    invited = row.get_by_test_id("count-invited")
    opened = row.get_by_test_id("count-opened")
    auto = [c for c in live_server.demo["resume_candidates"] if c["status"] == "invited"]
    await expect(invited).to_have_text(str(len(live_server.demo["invitations"]) + len(auto)))
    before = int(await invited.inner_text())

    async with aiohttp.ClientSession() as http:
        api = Api(http, live_server)
        await api.login()
        inv = await api(
            "POST",
            f"/api/jobs/{job_id}/invitations",
            json={"name": "Live Check", "email": "live@example.com"},
        )
        await expect(invited).to_have_text(str(before + 1), timeout=LIVE_MAX_MS)

        # The candidate opens the link: invited → opened, pushed to the page.
        api.token = inv["url"].rsplit("/", 1)[-1]
        await api("GET", "/api/candidate/state")
        await expect(opened).to_have_text("1", timeout=LIVE_MAX_MS)
        await expect(invited).to_have_text(str(before), timeout=LIVE_MAX_MS)

    assert not problems, problems
    await context.close()
