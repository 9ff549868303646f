"""The process-wide collaborators every layer is handed (one :class:`Services` per process)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analyzers.speech.asr_models import DEFAULT_MODEL_MAP
from server.core.config import Settings
from server.core.metrics import Metrics

if TYPE_CHECKING:
    from analyzers.speech.asr import AsrConfig
    from server.domain.models import Question
    from server.interview.recordings import RecordingStorage
    from server.interview.session import InterviewSession
    from server.live.analysis import AnalysisSink
    from server.live.analyzer_node import AnalyzerNode
    from server.live.backend import AnalysisBackend
    from server.live.hub import Hub
    from server.live.nodes import Admission, NodeRegistry
    from server.live.streams import StreamWriter
    from server.resumes.candidates import CandidateStore
    from server.resumes.intake import ParsePool
    from server.security.keyring import KeyRing
    from server.security.ratelimit import Limits
    from server.storage.db import Database
    from server.storage.store import Store


@dataclass(kw_only=True)
class Services:
    """Process-wide collaborators, created by ``server.app.app.create_app`` (started by its
    lifecycle); only the live registries below change afterwards."""

    settings: Settings
    db: Database
    store: Store
    hub: Hub
    limits: Limits
    """Attempt counters against password and token guessing."""
    keyring: KeyRing
    """The key ring for data at rest."""
    candidates: CandidateStore
    """Résumé intake's candidates."""
    intake: ParsePool
    """Parses résumés in a worker process."""
    admission: Admission
    """Live slots of a media process."""
    registry: NodeRegistry
    """This node's load, the other nodes."""
    recordings: RecordingStorage
    """Where recordings are kept (the folder or an object store): played and deleted here."""
    bank: tuple[Question, ...] = ()
    analyzers: AnalysisBackend | None = None
    """Live analysis (local worker processes or Redis), or None when analysis is off."""
    analyzer_node: AnalyzerNode | None = None
    """The analyzer role of an analyzer-only process."""
    results_writer: StreamWriter | None = None
    """With Redis: status changes to the results stream."""
    asr: AsrConfig | None = None
    """The resolved recognition settings of a process with the analyzer role."""
    asr_models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODEL_MAP))
    """The per-language model map (``Settings.asr_model_map``), worked out once at start;
    says which languages are transcribed without touching model files per request."""
    sessions: dict[str, InterviewSession] = field(default_factory=dict)
    """Live interviews on this process, by interview id."""
    analysis_sinks: dict[str, AnalysisSink] = field(default_factory=dict)
    """Per interview: where its analysis events are stored and published."""
    background: set[asyncio.Task[object]] = field(default_factory=set)
    """Owned background tasks (each removes itself when done)."""
    metrics: Metrics = field(default_factory=Metrics)
    """The event instruments of this process (``GET /metrics``)."""
