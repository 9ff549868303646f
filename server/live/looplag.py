"""Event-loop lag monitor: how late a short periodic sleep wakes up (the loop's health)."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

PROBE_EVERY_S = 0.1
WINDOW_SAMPLES = 600
"""One minute of probes."""


class LoopLagMonitor:
    def __init__(self, observe_s: Callable[[float], None] | None = None) -> None:
        """``observe_s``: also called with every probe's lag in seconds (a histogram)."""
        self._lags_ms: collections.deque[float] = collections.deque(maxlen=WINDOW_SAMPLES)
        self._observe_s = observe_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(PROBE_EVERY_S)
            lag_s = max(0.0, time.perf_counter() - started - PROBE_EVERY_S)
            self._lags_ms.append(lag_s * 1000)
            if self._observe_s is not None:
                self._observe_s(lag_s)

    def snapshot(self) -> dict[str, float]:
        lags = sorted(self._lags_ms)
        if not lags:
            return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
        return {
            "p50_ms": round(lags[len(lags) // 2], 2),
            "p95_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.95))], 2),
            "max_ms": round(lags[-1], 2),
        }

    def recent_p95_ms(self, seconds: float) -> float:
        """95th percentile of the lag over the last ``seconds`` (0 before any sample)."""
        count = max(1, int(seconds / PROBE_EVERY_S))
        lags = sorted(list(self._lags_ms)[-count:])
        if len(lags) < count // 2:
            return 0.0  # just started: too few samples to judge (start-up spikes)
        return lags[min(len(lags) - 1, int(len(lags) * 0.95))]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
