"""An interview as the store hands it out: who is invited to which job, the frozen question
plan, the link's nonce and expiry, the status and what the candidate has done so far.

A plain frozen record (change one with :func:`dataclasses.replace`); ``to_dict`` gives the
row's dict shape (every column but the session owner, in the table's order, the candidate and
plan opened).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.models import Status
from server.domain.record import columns


@dataclass(frozen=True, slots=True)
class Interview:
    """One candidate's interview for one job."""

    id: str
    job_id: str
    org_id: str
    candidate: dict[str, Any]
    """``name``, ``email`` and the other details the candidate was invited with (opened)."""
    language: str
    status: Status
    plan: list[dict[str, Any]]
    """The questions frozen at invitation: ``{"index", "section", "question", …}`` each."""
    nonce: str
    """The current invitation link's nonce (a new link replaces it)."""
    expires_at: float
    flow: dict[str, Any] | None
    """The saved interview flow (``None`` before the interview starts)."""
    consent: dict[str, Any] | None
    device_check: dict[str, Any] | None
    created_at: float
    updated_at: float
    erased_at: float | None
    """When the candidate's personal data was erased (``None``: not erased)."""

    def to_dict(self) -> dict[str, Any]:
        return {**columns(self), "status": self.status.value}
