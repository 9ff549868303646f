"""``/metrics``, ``/healthz`` and ``/readyz`` of a real server: series move with real activity,
route labels are templates, the scrape is protected, readiness follows the database, Redis and
the analyzer workers, and the Grafana dashboard queries only series the server exposes."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ifaddr
import pytest

from analyzers.pool import AnalyzerPool
from loadtest.inprocess import make_job
from loadtest.scrape import MetricsWatch
from server.core.config import ConfigError, load_settings
from server.domain.models import Role
from tests.support.candidate import ScriptedCandidate
from tests.support.media import face_y4m, speech_wav
from tests.support.metrics import scrape
from tests.support.redis_server import redis_instance
from tests.support.server import RunningServer, running_server
from tests.test_admission import _invite, _offer

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "deploy" / "grafana-interview-live.json"
TOKEN = "scrape-" + "9f2c" * 8
WAIT_S = 15.0


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = WAIT_S) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{check.__name__} not within {timeout_s:g} s")


async def _status(srv: RunningServer, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with srv.http.get(srv.base_url + path, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


def _other_address() -> str:
    """A local IPv4 address that is not loopback (a scraper on another machine looks so)."""
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                return ip.ip
    pytest.skip("this machine has no non-loopback IPv4 address to scrape from")


async def test_requests_are_counted_by_route_template_and_status(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job_route = {"method": "GET", "route": "/api/jobs/{job_id}"}
    before = await scrape(server.http, server.base_url)
    await server.call("GET", "/api/jobs/job_secret123", token=admin, expect=404)
    await server.call("GET", "/api/jobs/job_secret456", token=admin, expect=404)
    await server.call("GET", "/i/iv_page789.1.2.3")
    await server.call("GET", "/no/such/place-xyz", expect=404)
    await server.call("POST", "/healthz", expect=405)
    after = await scrape(server.http, server.base_url)

    def moved(name: str, **labels: str) -> float:
        return (after.value(name, **labels) or 0.0) - (before.value(name, **labels) or 0.0)

    requests = "interview_live_http_requests_total"
    assert moved(requests, **job_route, status="404") == 2
    assert moved(requests, method="GET", route="/i/{token}", status="200") == 1
    assert moved(requests, method="GET", route="unmatched", status="404") == 1
    assert moved(requests, method="POST", route="unmatched", status="405") == 1
    assert moved("interview_live_http_request_duration_seconds_count", **job_route) == 2
    # the label is the template: no raw id, token or path ever becomes a series
    for raw in ("job_secret123", "iv_page789", "place-xyz"):
        assert raw not in after.text


async def test_dashboard_fanout_is_timed_per_message_sent(server: RunningServer) -> None:
    admin = await server.add_staff("admin", Role.ADMIN)
    job = await make_job(server, admin)
    async with server.http.ws_connect(f"{server.base_url}/ws?token={admin}") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"job:{job['id']}"})
        assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        before = await scrape(server.http, server.base_url)
        assert before.value("interview_live_dashboard_subscriptions") == 1
        await _invite(server, admin, job["id"], "Zhao")
        assert (await ws.receive_json(timeout=5))["status"] == "invited"
        after = await scrape(server.http, server.base_url)
    name = "interview_live_dashboard_fanout_seconds_count"
    assert (after.value(name) or 0) - (before.value(name) or 0) == 1  # not the snapshot


async def test_scrapes_from_elsewhere_need_the_token(tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, metrics_token=TOKEN, listen="0.0.0.0"
    ) as srv:
        remote = f"http://{_other_address()}:{srv.base_url.rsplit(':', 1)[1]}"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        # a loopback client needs nothing
        await scrape(srv.http, srv.base_url)
        # another address: 401 without the token or with a wrong one, 200 with it
        async with srv.http.get(remote + "/metrics") as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        async with srv.http.get(remote + "/metrics", headers={"Authorization": "Bearer x"}) as r:
            assert r.status == 401
        got = await scrape(srv.http, remote, headers=bearer)
        assert got.value("interview_live_node") == 1
        # a proxy on this machine (a forwarding header) does not make its client local
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        async with srv.http.get(srv.base_url + "/metrics", headers=forwarded) as resp:
            assert resp.status == 401
        await scrape(srv.http, srv.base_url, headers={**forwarded, **bearer})
        # the probes stay open for orchestrators
        async with srv.http.get(remote + "/readyz") as resp:
            assert resp.status == 200


async def test_without_a_token_only_loopback_may_scrape(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0, listen="0.0.0.0") as srv:
        remote = f"http://{_other_address()}:{srv.base_url.rsplit(':', 1)[1]}"
        async with srv.http.get(remote + "/metrics") as resp:
            body = await resp.json()
            assert resp.status == 403 and "INTERVIEW_METRICS_TOKEN" in body["message"]
        async with srv.http.get(
            srv.base_url + "/metrics", headers={"X-Real-IP": "203.0.113.9"}
        ) as resp:
            assert resp.status == 403
        await scrape(srv.http, srv.base_url)


async def test_live_sessions_admissions_and_refusals_are_counted(tmp_path: Path) -> None:
    video = face_y4m(tmp_path / "face.y4m", seconds=2.0)
    audio = speech_wav("Hello, I am ready.", tmp_path / "hello.wav")
    async with running_server(tmp_path / "data", analysis_workers=0, max_live_sessions=1) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        job = await make_job(srv, admin)
        first, second = [await _invite(srv, admin, job["id"], n) for n in ("ann", "bob")]
        cand = ScriptedCandidate(srv.http, srv.base_url, first, video, audio)
        watch = MetricsWatch({"media": srv.base_url}, interval_s=0.1)  # the load test's
        watch.start()
        await cand.consent()
        await cand.connect()
        try:

            async def watched_live() -> bool:
                return any(row.get("media", {}).get("sessions") == 1 for row in watch.timeline)

            await _until(watched_live)
            watched = await asyncio.to_thread(watch.stop)
            assert watched["sessions_peak"] == 1 and watched["scrape_failures"] == 0, watched
            assert watched["timeline"][0]["media"]["sessions"] == 0  # before the candidate
            live = await scrape(srv.http, srv.base_url)
            assert live.value("interview_live_sessions") == 1
            assert live.value("interview_live_admitted_sessions") == 1
            assert live.value("interview_live_session_capacity") == 1
            assert live.value("interview_live_admissions_total") == 1
            assert live.value("interview_live_admission_refusals_total", reason="full") == 0
            status, _ = await _offer(srv, second)
            assert status == 503
            refused = await scrape(srv.http, srv.base_url)
            assert refused.value("interview_live_admission_refusals_total", reason="full") == 1
            assert refused.value("interview_live_admissions_total") == 1
        finally:
            await cand.disconnect()

        async def released() -> bool:
            got = await scrape(srv.http, srv.base_url)
            return got.value("interview_live_admitted_sessions") == 0

        await _until(released)


async def test_readyz_fails_while_the_database_is_closed(server: RunningServer) -> None:
    status, body = await _status(server, "/readyz")
    ok = {"database": "ok", "recordings": "ok"}
    assert (status, body["ready"], body["checks"]) == (200, True, ok)
    await server.svc.db.close()
    status, body = await _status(server, "/readyz")
    assert status == 503 and body["failed"] == ["database"], body
    assert body["checks"]["database"].startswith("unreachable")
    status, body = await _status(server, "/healthz")  # alive all the same
    assert status == 200 and body["ok"] is True


async def test_readyz_fails_while_the_recordings_folder_cannot_be_written(
    server: RunningServer,
) -> None:
    """A shared recordings mount that went away (or turned read-only) holds traffic back."""
    folder = server.svc.recordings.root
    moved = folder.with_name(folder.name + "-unmounted")
    folder.rename(moved)
    try:
        status, body = await _status(server, "/readyz")
        assert status == 503 and body["failed"] == ["recordings"], body
        assert body["checks"]["recordings"] == "unreachable (NotADirectoryError)"
    finally:
        moved.rename(folder)
    status, body = await _status(server, "/readyz")
    assert status == 200 and body["checks"]["recordings"] == "ok", body
    assert not list(folder.glob(".ready-probe-*"))  # the probe cleans up after itself


async def test_readyz_and_stream_backlog_follow_redis(tmp_path: Path) -> None:
    with redis_instance() as redis:
        async with running_server(
            tmp_path / "data", analysis_workers=0, redis_url=redis.url
        ) as srv:
            status, body = await _status(srv, "/readyz")
            ok = {"database": "ok", "redis": "ok", "recordings": "ok"}
            assert status == 200 and body["checks"] == ok, body
            up = await scrape(srv.http, srv.base_url)
            assert up.value("interview_live_redis_up") == 1
            assert up.value("interview_live_redis_stream_lag_entries", stream="results") == 0
            assert up.value("interview_live_redis_stream_pending_entries", stream="results") == 0

            redis.stop()
            status, body = await _status(srv, "/readyz")
            assert status == 503 and body["failed"] == ["redis"], body
            down = await scrape(srv.http, srv.base_url)
            assert down.value("interview_live_redis_up") == 0
            assert down.value("interview_live_redis_stream_lag_entries", stream="results") is None

            redis.start()

            async def ready_again() -> bool:
                return (await _status(srv, "/readyz"))[0] == 200

            await _until(ready_again)


async def test_readyz_waits_for_the_analyzer_workers(analysis_server: RunningServer) -> None:
    srv = analysis_server
    status, body = await _status(srv, "/readyz")
    assert status == 200 and body["checks"]["models"] == "ok", body
    before = await scrape(srv.http, srv.base_url)
    assert before.value("interview_live_analyzer_restarts_total", worker="0") == 0
    assert before.value("interview_live_analyzer_busy_ratio", worker="0") is not None
    pool = srv.svc.analyzers
    assert isinstance(pool, AnalyzerPool)
    pool._workers[0].process.kill()  # a worker crash (as tests/test_pipeline.py does)

    async def not_ready() -> bool:
        status, body = await _status(srv, "/readyz")
        return status == 503 and body["failed"] == ["models"]

    async def ready() -> bool:
        return (await _status(srv, "/readyz"))[0] == 200

    await _until(not_ready)
    await _until(ready, timeout_s=90)
    after = await scrape(srv.http, srv.base_url)
    assert after.value("interview_live_analyzer_restarts_total", worker="0") == 1


async def test_every_role_serves_metrics_and_readiness(tmp_path: Path) -> None:
    data = tmp_path / "data"
    checks = {
        "api": {"database", "redis", "recordings"},
        "media": {"database", "redis", "recordings", "analysis"},
        "analyzer": {"database", "redis", "models"},
    }
    with redis_instance() as redis:
        common = {"redis_url": redis.url, "analysis_workers": 1}
        async with (
            running_server(data, roles=("api",), node_name="api-1", **common) as api,
            running_server(data, roles=("media",), node_name="media-1", **common) as media,
            running_server(data, roles=("analyzer",), node_name="an-1", **common) as analyzer,
        ):
            servers = {"api": api, "media": media, "analyzer": analyzer}
            for role, srv in servers.items():
                status, body = await _status(srv, "/readyz")
                assert status == 200 and set(body["checks"]) == checks[role], body
            got = {role: await scrape(srv.http, srv.base_url) for role, srv in servers.items()}
    for role, scraped in got.items():
        assert scraped.value("interview_live_node", roles=role) == 1
        # the analyzer role reads no stream backlog (the media and API sides report them)
        assert scraped.value("interview_live_redis_up") == (None if role == "analyzer" else 1)
    assert got["api"].value("interview_live_redis_stream_lag_entries", stream="results") == 0
    assert got["media"].value("interview_live_redis_stream_lag_entries", stream="work") == 0
    assert got["media"].value("interview_live_session_capacity") is not None
    assert got["api"].value("interview_live_session_capacity") is None  # no media role
    assert got["analyzer"].value("interview_live_analyzer_node_capacity") is not None
    assert got["analyzer"].value("interview_live_analyzer_busy_ratio", worker="0") is not None
    buffered = "interview_live_stream_writer_buffered_entries"
    for writer in ("status", "analysis-results"):
        assert got["analyzer"].value(buffered, writer=writer) == 0, writer


def test_the_scrape_token_is_read_and_checked() -> None:
    settings = load_settings(env={"INTERVIEW_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN and TOKEN not in repr(settings)
    for bad in ("short", "with a space " + TOKEN, "\u5bc6" * 20):
        with pytest.raises(ConfigError, match="metrics_token"):
            load_settings(env={"INTERVIEW_METRICS_TOKEN": bad})


METRIC_NAME = re.compile(r"\b((?:interview_live|process)_[a-z0-9_]+)\b")


def _dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = []
    panels = list(doc["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))  # rows hold panels
        exprs += [t["expr"] for t in panel.get("targets", []) if t.get("expr")]
    exprs += [v.get("query", "") for v in doc.get("templating", {}).get("list", [])]
    return [e if isinstance(e, str) else e.get("query", "") for e in exprs]


async def test_the_grafana_dashboard_queries_only_what_the_server_exposes(
    server: RunningServer,
) -> None:
    exposed = await scrape(server.http, server.base_url)
    queried = {name for expr in _dashboard_exprs() for name in METRIC_NAME.findall(expr)}
    assert queried, "the dashboard queries nothing"
    unknown = queried - exposed.sample_names()
    assert not unknown, sorted(unknown)
    # and it shows every series of ours (a new series gets a panel)
    ours = {n for n in exposed.families if n.startswith("interview_live_")}
    unused = {n for n in ours if not queried & exposed.names_of(n)}
    assert not unused, sorted(unused)
