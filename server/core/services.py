"""The process-wide collaborators every layer is handed (one :class:`Services` per process)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analyzers.asr_models import DEFAULT_MODEL_MAP
from server.core.config import Settings

if TYPE_CHECKING:
    from analyzers.asr import AsrConfig
    from server.domain.models import Question
    from server.live.hub import Hub
    from server.security.ratelimit import Limits
    from server.storage.db import Database
    from server.storage.store import Store


@dataclass
class Services:
    """Process-wide collaborators, created by ``server.app.app.create_app``."""

    settings: Settings
    db: Database
    store: Store
    hub: Hub
    limits: Limits
    """Attempt counters against password and token guessing."""
    bank: tuple[Question, ...] = ()
    sessions: dict[str, Any] = field(default_factory=dict)
    """Live :class:`server.interview.session.InterviewSession` objects by interview id."""
    analyzers: Any = None
    """The :class:`analyzers.pool.AnalyzerPool`, or None when analysis is off."""
    asr: AsrConfig | None = None
    """The resolved recognition settings of a process with the analyzer role."""
    asr_models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODEL_MAP))
    """The per-language model map (``Settings.asr_model_map``), worked out once at start;
    says which languages are transcribed without touching model files per request."""
    analysis_sinks: dict[str, Any] = field(default_factory=dict)
    background: set[Any] = field(default_factory=set)
    """Owned background tasks (each removes itself when done)."""
    admission: Any = None
    """The :class:`server.live.nodes.Admission` of a media process."""
    registry: Any = None
    """The :class:`server.live.nodes.NodeRegistry` (this node's load, the other nodes)."""
    keyring: Any = None
    """The :class:`server.security.keyring.KeyRing` for data at rest."""
    analyzer_node: Any = None
    """The :class:`server.live.analyzer_node.AnalyzerNode` of an analyzer-only process."""
    results_writer: Any = None
    """With Redis: the :class:`server.live.streams.StreamWriter` for status changes."""
    candidates: Any = None
    """The :class:`server.resumes.candidates.CandidateStore` (résumé intake)."""
    intake: Any = None
    """The :class:`server.resumes.intake.ParsePool` parsing résumés in a worker process."""
