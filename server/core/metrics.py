"""The instruments one process counts events with, on its own Prometheus registry.

Only what happens as events lives here (requests, finals, deliveries, fan-out): each is counted
where it already happens. Current state (sessions, queues, busy ratios, Redis streams) is read
when ``/metrics`` is scraped, by the collector of ``server.app.metrics``, so nothing on the
media path pays for it. One :class:`Metrics` per app: several apps in one process (the tests)
never share a series.

Names follow the Prometheus conventions: ``interview_live_`` prefix, base units in the name
(``_seconds``), counters end in ``_total``. ``docs/deploy/metrics.md`` lists them all.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.process_collector import ProcessCollector

disable_created_metrics()  # the *_created gauges would double every labelled series; unread
PREFIX = "interview_live_"

HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ASR_FINAL_BUCKETS_S = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
"""Around the 2 s final-transcript target (docs/benchmarks.md)."""
FANOUT_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UPLOAD_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""A recording segment: a few MB (an answer's part) to a few hundred (a long answer)."""
LOOP_LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""The admission limit is 100 ms (``server.live.nodes.OVERLOAD_LOOP_LAG_MS``)."""


class Metrics:
    """A registry (with the standard ``process_*`` series) and the event instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)
        self.http_requests = Counter(
            PREFIX + "http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            PREFIX + "http_request_duration_seconds",
            "Time to answer an HTTP request (WebSocket sessions left out), by method and route",
            ["method", "route"],
            buckets=HTTP_BUCKETS_S,
            registry=registry,
        )
        self.asr_final_latency = Histogram(
            PREFIX + "asr_final_latency_seconds",
            "From the end of an utterance (detected by the VAD) to its final transcript, in the "
            "analyzer workers of this process",
            buckets=ASR_FINAL_BUCKETS_S,
            registry=registry,
        )
        self.dashboard_fanout = Histogram(
            PREFIX + "dashboard_fanout_seconds",
            "From a live message reaching this process's hub (published here, or received from "
            "Redis) to its write on a staff socket",
            buckets=FANOUT_BUCKETS_S,
            registry=registry,
        )
        self.dashboard_resyncs = Counter(
            PREFIX + "dashboard_resyncs",
            "Staff sockets that fell behind and were sent fresh snapshots instead of deltas",
            registry=registry,
        )
        self.event_loop_lag = Histogram(
            PREFIX + "event_loop_lag_seconds",
            "How late the event loop wakes a 100 ms probe sleep",
            buckets=LOOP_LAG_BUCKETS_S,
            registry=registry,
        )
        self.webhook_attempts = Counter(
            PREFIX + "webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, failed)",
            ["outcome"],
            registry=registry,
        )
        self.recording_uploads = Counter(
            PREFIX + "recording_uploads",
            "Recording segments put in the object store, by outcome (uploaded; failed: the "
            "local file is kept and the upload retried)",
            ["outcome"],
            registry=registry,
        )
        self.recording_upload_bytes = Counter(
            PREFIX + "recording_upload_bytes",
            "Bytes of recording segments confirmed in the object store",
            registry=registry,
        )
        self.recording_upload_duration = Histogram(
            PREFIX + "recording_upload_duration_seconds",
            "Time to put one recording segment in the object store and confirm it",
            buckets=UPLOAD_BUCKETS_S,
            registry=registry,
        )
        self.webhook_gave_up = Counter(
            PREFIX + "webhook_gave_up",
            "Webhook deliveries marked failed after their last attempt",
            registry=registry,
        )
