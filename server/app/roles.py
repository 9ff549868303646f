"""What a process's roles add to it: live analysis, the analyzer node, the results stream.

:func:`build_roles` makes them with the app (nothing connects or spawns yet), so the
:class:`Services` container is complete from its construction; :func:`start_roles` starts them
in the app's lifecycle and says how to stop them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from analyzers.pool import AnalyzerPool
from analyzers.speech.asr import AsrConfig
from server.core.config import Settings
from server.core.metrics import Metrics
from server.core.services import Services
from server.live.analysis_remote import RemoteAnalysis
from server.live.analyzer_node import AnalyzerNode
from server.live.backend import AnalysisBackend
from server.live.bus_redis import bounded
from server.live.nodes import Admission, LoadProbe
from server.live.results import RESULTS_MAXLEN, ResultsConsumer
from server.live.streams import BusCipher, StreamWriter

STATUS_BUFFER_MAX = 10_000

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RoleParts:
    """The role components of one process, not started."""

    analyzers: AnalysisBackend | None = None
    """Media role: the local pool (with the analyzer role) or the Redis one; analyzer-only
    processes: the local pool the node feeds (for ``/healthz``)."""
    analyzer_node: AnalyzerNode | None = None
    results_writer: StreamWriter | None = None
    """With Redis: status changes to the results stream."""
    status_redis: aioredis.Redis | None = None
    """The results writer's client."""


def build_roles(
    settings: Settings, roles: set[str], asr: AsrConfig | None, bus: BusCipher, metrics: Metrics
) -> RoleParts:
    """``asr``: resolved when the process has the analyzer role and analysis workers."""
    workers = settings.analysis_workers
    analyzers: AnalysisBackend | None = None
    node = None
    if workers and "analyzer" in roles:
        assert asr is not None  # resolved by the caller for the analyzer role
        pool = AnalyzerPool(workers, asr, metrics.asr_final_latency.observe)
        analyzers = pool
        if "media" not in roles:
            node = AnalyzerNode(
                settings.redis_url, settings.node, pool, settings.max_live_sessions, bus
            )
    elif workers and "media" in roles:
        analyzers = RemoteAnalysis(settings.redis_url, settings.node, bus)
    if not settings.redis_url:
        return RoleParts(analyzers, node)
    redis = aioredis.Redis.from_url(settings.redis_url)
    writer = StreamWriter(redis, "status", STATUS_BUFFER_MAX, RESULTS_MAXLEN, cipher=bus)
    return RoleParts(analyzers, node, writer, redis)


def load_probe(roles: set[str], admission: Admission, parts: RoleParts) -> LoadProbe:
    """This process's load for the registry: live sessions (media) or interviews (analyzer)."""
    node = parts.analyzer_node
    if "media" in roles:
        return admission.load
    if node is not None:
        return node.load
    return lambda: (0, 0)


async def start_roles(
    svc: Services, roles: set[str], parts: RoleParts, bus: BusCipher
) -> list[Closer]:
    """Start ``parts`` (and, for the API role with Redis, the results consumer); returns how
    to stop them, in start order."""
    closers: list[Closer] = []
    if parts.analyzers is not None:
        await parts.analyzers.start()
        closers.append(parts.analyzers.aclose)
    if parts.analyzer_node is not None:
        await parts.analyzer_node.start()
        closers.append(parts.analyzer_node.aclose)
    writer, redis = parts.results_writer, parts.status_redis
    if writer is None or redis is None:
        return closers
    writer.start()

    async def close_writer() -> None:
        await writer.aclose()
        await bounded(redis.aclose())

    closers.append(close_writer)
    if "api" in roles:
        consumer = ResultsConsumer(svc, svc.settings.redis_url, svc.settings.node, bus)
        await consumer.start()
        closers.append(consumer.aclose)
    return closers
