"""What the server asks of live analysis, whoever runs it.

Two backends satisfy :class:`AnalysisBackend`: :class:`analyzers.pool.AnalyzerPool` (worker
processes on this machine) and :class:`server.live.analysis_remote.RemoteAnalysis` (analyzer
nodes over Redis). Sessions, routes and the services container are typed against it; mypy checks
both below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from analyzers.pool import AnalyzerPool, EventSink, WorkerStats
    from server.live.analysis_remote import RemoteAnalysis


class AnalysisBackend(Protocol):
    """Live analysis of interviews. Every call but ``start``/``aclose`` returns at once (no
    waiting on a worker or on Redis); media is dropped and the gap reported when behind."""

    async def start(self) -> None:
        """Start the workers or connect; raises when analysis cannot run."""

    async def aclose(self) -> None:
        """Let queued control messages go out (bounded), then stop."""

    def open(self, interview_id: str, meta: dict[str, Any], sink: EventSink) -> None:
        """Start analysing an interview; its events go to ``sink`` on the event loop (a
        remote backend delivers them through the results stream instead)."""

    def close(self, interview_id: str) -> None:
        """Finish the interview's analysis; its last events still arrive."""

    def forget(self, interview_id: str) -> None:
        """Stop delivering late events of a closed interview."""

    def set_context(self, interview_id: str, context: dict[str, Any]) -> None:
        """Where the interview is: ``{"question_index", "phase"}``."""

    def push_audio(self, interview_id: str, t: float, samples: npt.NDArray[np.float32]) -> None:
        """16 kHz mono samples starting at media time ``t``."""

    def push_video(
        self, interview_id: str, t: float, rgb: npt.NDArray[np.uint8], pose: bool
    ) -> None:
        """An RGB frame at media time ``t``, sampled at the analysis rate."""

    def browser_signal(self, interview_id: str, kind: str, t: float, detail: str) -> None:
        """Tab hidden, paste…: evidence for integrity flags."""

    def stats(self) -> list[WorkerStats]:
        """Per local worker process (none for a remote backend)."""

    def ready(self) -> bool:
        """Whether analysis can run now (``/readyz``): local workers started with their models
        loaded and alive; a remote backend: connected to Redis."""


if TYPE_CHECKING:  # both backends satisfy the protocol
    _POOL: type[AnalysisBackend] = AnalyzerPool
    _REMOTE: type[AnalysisBackend] = RemoteAnalysis
