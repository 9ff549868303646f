"""Résumé candidates and intake batches, as the store hands them out.

Plain frozen records (change one with :func:`dataclasses.replace`); ``to_dict`` gives the dict
shape the store returned before these records existed. The profile and the match result are
JSON documents (see :mod:`server.resumes.profile` and :mod:`server.resumes.screening`) and
stay dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.record import columns


@dataclass(frozen=True, slots=True)
class Candidate:
    """One résumé file of a job: the person's profile, the match against the job's screening
    settings and the status (``waiting``, ``inviting``, ``invited``, ``not_selected``).

    ``text`` (the résumé's text) is there only when asked for. ``note`` and ``invitation``
    are no columns: intake attaches them to the candidate it answers with (why an automatic
    invitation did not happen; the invitation's ``url`` and ``expires_at``)."""

    candidate_id: str
    org_id: str
    job_id: str
    batch_id: str | None
    filename: str
    file_path: str | None
    file_bytes: int
    profile: dict[str, Any]
    match: dict[str, Any]
    status: str
    interview_id: str | None
    created_at: float
    updated_at: float
    text: str | None = None
    note: str | None = None
    invitation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The columns, then ``text``, ``note`` and ``invitation`` where set."""
        out = columns(self)
        for optional in ("text", "note", "invitation"):
            if out[optional] is None:
                del out[optional]
        return out


@dataclass(frozen=True, slots=True)
class ResumeBatch:
    """One upload of résumé files: progress (``done``, ``failed`` of ``total``), ``status``
    (``running``, ``done``, ``failed``, ``interrupted``) and, once finished, the ``result``
    (``candidates``: per file ``candidate_id``, ``duplicate``, ``note``; ``errors``)."""

    id: str
    org_id: str
    job_id: str
    actor: str
    total: int
    done: int
    failed: int
    status: str
    created_at: float
    finished_at: float | None
    node: str | None
    """The process that ran the batch (None: before processes were named)."""
    result: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return columns(self)
