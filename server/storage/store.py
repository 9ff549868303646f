"""The store the rest of the server is handed: every repository of
:mod:`server.storage.repos` behind one object, over one :class:`~server.storage.db.Database`.

Each method is one short transaction on a database thread, on SQLite or PostgreSQL (see
``server.storage.db``).
Rows come back as frozen records of :mod:`server.domain` (a job, an interview …; ``to_dict``
gives the shape the REST API shows) or as plain dicts shaped for it. The names other layers
import from here (errors, :class:`StatusChange`, the audit hash) are re-exported.
"""

from __future__ import annotations

from server.storage.errors import Conflict, NotFound, Superseded
from server.storage.repos.analysis import AnalysisRepository, analysis_aad
from server.storage.repos.answers import AnswerRepository, RecordingRepository, answer_aad
from server.storage.repos.attempts import AttemptRepository
from server.storage.repos.audit import (
    AUDIT_GENESIS,
    AUDIT_VERIFY_PAGE_EVENTS,
    AuditChainCheck,
    AuditRepository,
    audit_hash,
)
from server.storage.repos.candidates import CandidateRepository
from server.storage.repos.interviews import (
    STATUS_RANK,
    InterviewRepository,
    StatusChange,
    candidate_aad,
    plan_aad,
)
from server.storage.repos.jobs import JobRepository, QuestionRepository
from server.storage.repos.orgs import OrgRepository, StaffRepository
from server.storage.repos.outbox import OutboxRepository
from server.storage.repos.privacy import PrivacyRepository
from server.storage.repos.reviews import ReviewRepository
from server.storage.repos.training import TrainingRepository
from server.storage.repos.webhooks import WebhookRepository

__all__ = [
    "AUDIT_GENESIS",
    "AUDIT_VERIFY_PAGE_EVENTS",
    "STATUS_RANK",
    "AuditChainCheck",
    "Conflict",
    "NotFound",
    "StatusChange",
    "Store",
    "Superseded",
    "analysis_aad",
    "answer_aad",
    "audit_hash",
    "candidate_aad",
    "plan_aad",
]


class Store(
    OrgRepository,
    StaffRepository,
    QuestionRepository,
    JobRepository,
    InterviewRepository,
    AnswerRepository,
    RecordingRepository,
    AnalysisRepository,
    OutboxRepository,
    ReviewRepository,
    AuditRepository,
    PrivacyRepository,
    WebhookRepository,
    CandidateRepository,
    TrainingRepository,
    AttemptRepository,
):
    """Domain-level persistence: the repositories' methods on one object (they share the
    database and the field cipher; none of them keeps other state)."""
