"""Watch the server's own ``/metrics`` while a load test runs (what an operator's Prometheus
would see): every node scraped every few seconds from a thread, the timeline kept.

The summary says whether the live session count followed the candidates connected and whether
the ASR final-latency histogram filled, from the server's side of the wire.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_INTERVAL_S = 2.0
SCRAPE_TIMEOUT_S = 2.0
SESSIONS = "interview_live_sessions"
"""Candidates connected to a process (control socket open)."""
ASR_LATENCY = "interview_live_asr_final_latency_seconds"


def scrape(base_url: str) -> dict[str, float]:
    """One node's samples, ``name{label="v",…}`` → value (a loopback scrape needs no token)."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=SCRAPE_TIMEOUT_S) as resp:
        text = resp.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return samples


def _sum(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


@dataclass
class MetricsWatch:
    """Scrapes ``nodes`` (name → base URL) until :meth:`stop`; failed scrapes are counted."""

    nodes: dict[str, str]
    interval_s: float = SCRAPE_INTERVAL_S
    timeline: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: int = 0
    _started: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="metrics-watch", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + SCRAPE_TIMEOUT_S * len(self.nodes))
        return self.summary()

    def _run(self) -> None:
        while not self._stop.is_set():
            row: dict[str, Any] = {"t_s": round(time.monotonic() - self._started, 1)}
            for name, url in self.nodes.items():
                try:
                    samples = scrape(url)
                except (OSError, ValueError):
                    self.failures += 1
                    continue
                self.last[name] = samples
                row[name] = {
                    "sessions": _sum(samples, SESSIONS),
                    "asr_finals": _sum(samples, ASR_LATENCY + "_count"),
                }
            self.timeline.append(row)
            self._stop.wait(self.interval_s)

    def summary(self) -> dict[str, Any]:
        """Peak sessions (all nodes together), the ASR histogram of every node at the end."""
        totals = [
            sum(v["sessions"] for k, v in row.items() if isinstance(v, dict))
            for row in self.timeline
        ]
        histograms = {}
        for name, samples in self.last.items():
            count = _sum(samples, ASR_LATENCY + "_count")
            if not count:
                continue
            buckets = {
                k.split('le="')[1].rstrip('"}'): v
                for k, v in samples.items()
                if k.startswith(ASR_LATENCY + "_bucket{")
            }
            histograms[name] = {
                "count": count,
                "mean_s": round(_sum(samples, ASR_LATENCY + "_sum") / count, 3),
                "buckets": buckets,
            }
        return {
            "scrapes": len(self.timeline),
            "scrape_failures": self.failures,
            "sessions_peak": max(totals, default=0.0),
            "asr_final_latency": histograms,
            "timeline": self.timeline,
        }
