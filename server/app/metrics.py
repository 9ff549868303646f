"""``GET /metrics``: this process in the Prometheus text format, for the operator's scraper.

Two kinds of series: events counted where they happen (:class:`server.core.metrics.Metrics`:
requests, final transcripts, fan-out, webhooks) and current state read at scrape time by
:class:`LiveState` (sessions, admission, analyzer queues and busy ratios, dropped media, writer
buffers, Redis stream backlogs). Reading state costs the scrape, never the media path.

Who may scrape: a client connected from a loopback address without a proxy in between (no
``Forwarded``/``X-Forwarded-For``/``X-Real-IP``/``Via`` header), or anyone presenting the
scrape token (``INTERVIEW_METRICS_TOKEN``) as ``Authorization: Bearer <token>``. Without a token
a remote scraper gets 403 and is told how to get in; with one, a wrong or missing token is 401.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Callable, Iterator

import redis.asyncio as aioredis
from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from analyzers.pool import AnalyzerPool, WorkerStats
from server.api.http import SERVICES, ApiError, Handler
from server.core.metrics import PREFIX, Metrics
from server.core.services import Services
from server.live.analysis_remote import WORK_GROUP, RemoteAnalysis, work_stream
from server.live.bus_redis import RedisHub, bounded
from server.live.looplag import LoopLagMonitor
from server.live.nodes import OVERLOAD_WINDOW_S
from server.live.results import RESULTS_GROUP, RESULTS_STREAM
from server.live.streams import REDIS_ERRORS, Backlog, StreamWriter, group_backlog

SCRAPE_REDIS_TIMEOUT_S = 1.0
"""A scrape never waits longer than this on Redis; the backlog series are left out then."""
PROXY_HEADERS = (hdrs.FORWARDED, hdrs.X_FORWARDED_FOR, "X-Real-IP", hdrs.VIA)
"""A request with one of these came through a proxy: its loopback peer is not the client."""
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods kept as labels; any other is ``OTHER`` (a label per invented method is unbounded)."""
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route took (404, 405): never the raw path."""


WORKER_GAUGES: tuple[tuple[str, str, Callable[[WorkerStats], float]], ...] = (
    (
        "analyzer_queued_messages",
        "Media and control messages waiting for an analyzer worker",
        lambda w: w.queued,
    ),
    (
        "analyzer_busy_ratio",
        "Share of its last report interval an analyzer worker was busy (0..1)",
        lambda w: w.busy_ratio,
    ),
    (
        "analyzer_backlog_seconds",
        "Input waiting for an analyzer worker, in seconds of its arrival rate",
        lambda w: w.backlog_s,
    ),
    ("analyzer_interviews", "Interviews pinned to an analyzer worker", lambda w: w.interviews),
    (
        "analyzer_degradation_level",
        "An analyzer worker's degradation level (0 = full analysis)",
        lambda w: w.level,
    ),
)
"""Per analyzer worker (label ``worker``): name, help, how to read it from its statistics."""


class LiveState:
    """The collector of current state (``prometheus_client`` calls :meth:`collect` per scrape).

    Every family is always described, with samples only where this process has the part (an
    analyzer node has no admission, a process without Redis no stream backlog), so dashboards
    and the tests see one set of names on every role."""

    def __init__(self, svc: Services, lag: LoopLagMonitor) -> None:
        self._svc = svc
        self._lag = lag
        self._redis: aioredis.Redis | None = None
        self._backlog: dict[str, Backlog] = {}
        self._redis_up: bool | None = None

    async def refresh(self) -> None:
        """Read the Redis stream backlogs this process answers for (bounded in time): the
        results stream (processes with the API role consume it) and the work streams of the
        interviews this media process sends to analyzer nodes."""
        svc = self._svc
        if not svc.settings.redis_url:
            return
        wanted: dict[str, tuple[list[str], str]] = {}
        if "api" in svc.settings.roles:
            wanted["results"] = ([RESULTS_STREAM], RESULTS_GROUP)
        if isinstance(svc.analyzers, RemoteAnalysis):
            streams = [work_stream(iid) for iid in svc.analyzers.interviews()]
            wanted["work"] = (streams, WORK_GROUP)
        if not wanted:
            return
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                svc.settings.redis_url, socket_connect_timeout=SCRAPE_REDIS_TIMEOUT_S
            )
        try:
            async with asyncio.timeout(SCRAPE_REDIS_TIMEOUT_S):
                backlog = {
                    name: await group_backlog(self._redis, streams, group)
                    for name, (streams, group) in wanted.items()
                }
        except (TimeoutError, aioredis.RedisError, *REDIS_ERRORS):
            self._backlog, self._redis_up = {}, False  # no stale numbers
            return
        self._backlog, self._redis_up = backlog, True

    async def aclose(self) -> None:
        if self._redis is not None:
            await bounded(self._redis.aclose())

    def collect(self) -> Iterator[Metric]:
        svc = self._svc
        roles = set(svc.settings.roles)
        info = GaugeMetricFamily(
            PREFIX + "node", "This process (value 1): node name and roles", labels=["node", "roles"]
        )
        info.add_metric([svc.settings.node, ",".join(sorted(roles))], 1)
        yield info
        yield from self._sessions("media" in roles)
        lag_p95 = GaugeMetricFamily(
            PREFIX + "event_loop_lag_p95_seconds",
            f"Event-loop lag p95 over the last {OVERLOAD_WINDOW_S:g} s (what admission sees)",
        )
        lag_p95.add_metric([], self._lag.recent_p95_ms(OVERLOAD_WINDOW_S) / 1000)
        yield lag_p95
        yield from self._analyzers()
        yield from self._dropped()
        yield from self._dashboards()
        yield from self._writers()
        yield from self._redis_streams()

    def _sessions(self, media: bool) -> Iterator[Metric]:
        svc, admission = self._svc, self._svc.admission
        families = (
            open_ := GaugeMetricFamily(
                PREFIX + "sessions", "Candidates connected to this process (control socket open)"
            ),
            live := GaugeMetricFamily(
                PREFIX + "admitted_sessions", "Live media sessions holding an admission slot"
            ),
            capacity := GaugeMetricFamily(
                PREFIX + "session_capacity", "Live media sessions this process admits at most"
            ),
            admitted := CounterMetricFamily(
                PREFIX + "admissions", "Live media sessions admitted (reconnects not counted)"
            ),
            refused := CounterMetricFamily(
                PREFIX + "admission_refusals",
                "New live media sessions refused, by reason (full, overloaded, analyzers_full)",
                labels=["reason"],
            ),
        )
        if media:
            open_.add_metric([], len(svc.sessions))
            live.add_metric([], len(admission.admitted))
            capacity.add_metric([], svc.settings.max_live_sessions)
            admitted.add_metric([], admission.admissions)
            for reason, count in admission.refusals.items():
                refused.add_metric([reason], count)
        yield from families

    def _analyzers(self) -> Iterator[Metric]:
        analyzers = self._svc.analyzers
        workers = list(enumerate(analyzers.stats() if analyzers is not None else []))
        for name, documentation, read in WORKER_GAUGES:
            gauge = GaugeMetricFamily(PREFIX + name, documentation, labels=["worker"])
            for index, stats in workers:
                gauge.add_metric([str(index)], read(stats))
            yield gauge
        restarts = CounterMetricFamily(
            PREFIX + "analyzer_restarts", "Analyzer worker processes restarted", labels=["worker"]
        )
        for index, stats in workers:
            restarts.add_metric([str(index)], stats.restarts)
        yield restarts
        node = self._svc.analyzer_node
        families = (
            node_interviews := GaugeMetricFamily(
                PREFIX + "analyzer_node_interviews",
                "Interviews this analyzer node holds a lease on",
            ),
            node_capacity := GaugeMetricFamily(
                PREFIX + "analyzer_node_capacity", "Interviews this analyzer node takes at most"
            ),
            takeovers := CounterMetricFamily(
                PREFIX + "analyzer_node_takeovers",
                "Interviews this analyzer node took over from a node that stopped",
            ),
            bad := CounterMetricFamily(
                PREFIX + "bus_bad_entries",
                "Work entries this analyzer node skipped (malformed, or sealed with other keys)",
            ),
        )
        if node is not None:
            owned, capacity = node.load()
            node_interviews.add_metric([], owned)
            node_capacity.add_metric([], capacity)
            takeovers.add_metric([], node.takeovers)
            bad.add_metric([], node.bad)
        yield from families

    def _dropped(self) -> Iterator[Metric]:
        stage = ["stage"]
        audio = CounterMetricFamily(
            PREFIX + "dropped_audio_seconds",
            "Audio not analysed, by where it was dropped (analyzer_queue: a worker was full; "
            "bus_buffer: Redis was away too long)",
            labels=stage,
        )
        frames = CounterMetricFamily(
            PREFIX + "dropped_frames",
            "Video frames not analysed, by where they were dropped (analyzer_queue, bus_buffer, "
            "analyzer_stale: skipped by a worker that was behind)",
            labels=stage,
        )
        analyzers = self._svc.analyzers
        if isinstance(analyzers, AnalyzerPool):
            audio.add_metric(["analyzer_queue"], analyzers.dropped_audio_s)
            frames.add_metric(["analyzer_queue"], analyzers.dropped_frames)
            frames.add_metric(["analyzer_stale"], analyzers.stale_frames)
        elif isinstance(analyzers, RemoteAnalysis):
            audio.add_metric(["bus_buffer"], analyzers.dropped_audio_s)
            frames.add_metric(["bus_buffer"], analyzers.dropped_frames)
        yield audio
        yield frames

    def _dashboards(self) -> Iterator[Metric]:
        hub = self._svc.hub
        subscriptions = GaugeMetricFamily(
            PREFIX + "dashboard_subscriptions",
            "Topic subscriptions of staff sockets on this process",
        )
        subscriptions.add_metric([], hub.subscriptions())
        outbox = GaugeMetricFamily(
            PREFIX + "hub_outbox_messages", "Live messages waiting to be published to Redis"
        )
        dropped = CounterMetricFamily(
            PREFIX + "hub_dropped_messages",
            "Latest-wins live messages dropped because the Redis outbox was full",
        )
        if isinstance(hub, RedisHub):
            outbox.add_metric([], hub.outbox_size)
            dropped.add_metric([], hub.dropped)
        yield from (subscriptions, outbox, dropped)

    def _writers(self) -> Iterator[Metric]:
        writer = ["writer"]
        buffered = GaugeMetricFamily(
            PREFIX + "stream_writer_buffered_entries",
            "Entries waiting in a local buffer for a Redis stream",
            labels=writer,
        )
        dropped = CounterMetricFamily(
            PREFIX + "stream_writer_dropped_entries",
            "Live-only entries dropped from a full local buffer",
            labels=writer,
        )
        node = self._svc.analyzer_node
        writers: list[StreamWriter | None] = [
            self._svc.results_writer,
            node.results if node is not None else None,
        ]
        for w in writers:
            if w is not None:
                buffered.add_metric([w.name], w.pending)
                dropped.add_metric([w.name], w.dropped)
        yield buffered
        yield dropped

    def _redis_streams(self) -> Iterator[Metric]:
        stream = ["stream"]
        up = GaugeMetricFamily(
            PREFIX + "redis_up", "1 when this scrape read the Redis stream backlogs, 0 when not"
        )
        lag = GaugeMetricFamily(
            PREFIX + "redis_stream_lag_entries",
            "Entries not yet read by the consumer group (results: this process's group; work: "
            "the interviews this media process sends)",
            labels=stream,
        )
        pending = GaugeMetricFamily(
            PREFIX + "redis_stream_pending_entries",
            "Entries read by a consumer and not acknowledged yet",
            labels=stream,
        )
        if self._redis_up is not None:
            up.add_metric([], 1 if self._redis_up else 0)
        for name, backlog in sorted(self._backlog.items()):
            lag.add_metric([name], backlog.lag)
            pending.add_metric([name], backlog.pending)
        yield from (up, lag, pending)


LIVE_STATE = web.AppKey("live_state", LiveState)


def install(app: web.Application, svc: Services, lag: LoopLagMonitor) -> None:
    """Register the state collector and ``GET /metrics``; the collector's Redis client is
    closed with the app."""
    state = app[LIVE_STATE] = LiveState(svc, lag)
    svc.metrics.registry.register(state)
    app.router.add_get("/metrics", _scrape)

    async def close(app: web.Application) -> None:
        await app[LIVE_STATE].aclose()

    app.on_cleanup.append(close)


async def _scrape(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    check_scraper(request, svc.settings.metrics_token)
    await request.app[LIVE_STATE].refresh()
    body = generate_latest(svc.metrics.registry)
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_PLAIN_0_0_4})


def check_scraper(request: web.Request, token: str) -> None:
    """Let a direct loopback client or the token's holder in; raise 401/403 otherwise."""
    if token:
        scheme, _, presented = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            return
    if _direct_loopback(request):
        return
    if token:
        raise ApiError(
            401,
            "unauthorized",
            "send the scrape token as Authorization: Bearer <INTERVIEW_METRICS_TOKEN>",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="metrics"'},
        )
    raise ApiError(
        403,
        "forbidden",
        "metrics are served to loopback clients only; set INTERVIEW_METRICS_TOKEN on the server "
        "and scrape with Authorization: Bearer <token>",
    )


def _direct_loopback(request: web.Request) -> bool:
    """The TCP peer (not a forwarded address) is loopback and no proxy header came along."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not isinstance(peer, tuple) or not peer:
        return False
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def http_metrics_middleware(metrics: Metrics) -> Middleware:
    """Count every request by method, route template and status, and time it (WebSocket
    sessions, status 101, are counted but not timed). Register it first: it then sees the
    status the client gets, after the error middleware's conversions."""
    requests, duration = metrics.http_requests, metrics.http_duration

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else UNMATCHED_ROUTE
            method = request.method if request.method in KNOWN_METHODS else "OTHER"
            requests.labels(method, route, str(status)).inc()
            if status != 101:
                duration.labels(method, route).observe(time.perf_counter() - started)

    return middleware
