"""Candidates from résumé intake: profile, match result and status, stored as personal data.

The profile, the résumé's text and the match explanation (which quotes the résumé) are sealed
with the row id as associated data (the rows: :mod:`server.storage.repos.candidates`); the
original file is kept encrypted on disk (see :mod:`server.api.routes_resumes`). A file is identified per job by a keyed hash of its bytes, so
uploading the same résumé twice to a job yields one candidate, and the hash reveals nothing.

Statuses: ``waiting`` (for a human: below the threshold, a must-have missing, or no threshold),
``invited`` (automatically or by a person), ``not_selected`` (a person decided; the system never
rejects anyone by itself), and ``inviting`` while an invitation is being created: an invitation
starts by claiming the candidate (:meth:`CandidateStore.claim_for_invitation`, one atomic
update), so a double click, a manual invitation during a re-match or two screening changes at
once create one interview, not two.

``updated_at`` is the candidate's last *decision* (created, a person's status change, an
invitation): the retention rule counts from it, so re-matching does not touch it.
"""

from __future__ import annotations

from typing import Any, Unpack

from server.domain.candidates import Candidate, ResumeBatch
from server.security.fields import FieldCipher
from server.storage.db import Database
from server.storage.repos.candidates import CandidateRepository, NewCandidate
from server.storage.store import NotFound

STATUSES = ("waiting", "inviting", "invited", "not_selected")
HUMAN_STATUSES = ("waiting", "not_selected")
"""Statuses a person may set, and only from one another (inviting goes through a claim)."""
INVITABLE = HUMAN_STATUSES
"""Statuses a person may invite from; the system invites automatically only from ``waiting``."""


class CandidateStore:
    """Résumé candidates and intake batches, with the status rules above."""

    def __init__(self, db: Database, fields: FieldCipher, node: str = "") -> None:
        """``node``: this process's name; batches and invitation claims are tagged with it, so
        a restart cleans up only what this process left unfinished (several API processes
        may share the database)."""
        self.node = node
        self._rows = CandidateRepository(db, fields)

    async def add(self, **new: Unpack[NewCandidate]) -> tuple[str, bool]:
        """Store a new candidate; ``(id, False)`` when this job already has this file."""
        return await self._rows.add_candidate(**new)

    async def set_file(self, candidate_id: str, path: str) -> None:
        await self._rows.set_candidate_file(candidate_id, path)

    async def id_by_file(self, job_id: str, file_hash: str) -> str | None:
        """The candidate this job already has from the file with this keyed hash, if any."""
        return await self._rows.candidate_by_file(job_id, file_hash)

    async def get(self, candidate_id: str, *, with_text: bool = False) -> Candidate:
        return await self._rows.get_candidate(candidate_id, with_text=with_text)

    async def get_many(
        self, candidate_ids: list[str], *, with_text: bool = False
    ) -> list[Candidate]:
        """The candidates that still exist of ``candidate_ids``, in that order."""
        return await self._rows.get_candidates(candidate_ids, with_text=with_text)

    async def ids_for_job(self, job_id: str) -> list[str]:
        """The job's candidate ids, best match first (nothing decrypted)."""
        return await self._rows.job_candidate_ids(job_id)

    async def list_for_job(
        self, job_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Candidate]:
        """The job's candidates, best match first; a page of ``limit`` from ``offset`` when
        given."""
        return await self._rows.job_candidates(job_id, limit, offset)

    async def count_for_job(self, job_id: str) -> int:
        return await self._rows.count_job_candidates(job_id)

    async def set_match(self, candidate_id: str, match: dict[str, Any]) -> None:
        """Store a new match result. Not a decision: ``updated_at`` (the retention clock) stays.
        Raises :class:`NotFound` when the candidate was erased meanwhile."""
        if not await self._rows.set_candidate_match(candidate_id, match):
            raise NotFound(f"candidate {candidate_id} not found")

    async def set_status(self, candidate_id: str, status: str) -> bool:
        """A person's decision (``waiting`` or ``not_selected``), only from one of those:
        False when the candidate is invited or being invited (or erased)."""
        if status not in HUMAN_STATUSES:
            raise ValueError(f"a person cannot set the status {status!r}")
        return await self._rows.set_candidate_status(candidate_id, status, HUMAN_STATUSES)

    async def claim_for_invitation(
        self, candidate_id: str, from_statuses: tuple[str, ...] = INVITABLE
    ) -> str | None:
        """Mark the candidate ``inviting`` if its status is one of ``from_statuses``, in one
        transaction; returns the status it had (for :meth:`release_claim`), or None when
        another invitation got there first or the status does not allow one."""
        if not set(from_statuses) <= set(INVITABLE):
            raise ValueError(f"cannot invite from {from_statuses!r}")
        return await self._rows.claim_candidate(candidate_id, from_statuses, self.node)

    async def release_claim(self, candidate_id: str, previous: str) -> None:
        """The invitation failed: back to the status before the claim."""
        await self._rows.release_candidate_claim(candidate_id, previous)

    async def mark_invited(self, candidate_id: str, interview_id: str) -> bool:
        """The claimed invitation exists: ``invited``, with its interview (False when the
        candidate was erased meanwhile)."""
        return await self._rows.mark_candidate_invited(candidate_id, interview_id)

    async def erase(self, candidate_id: str) -> str | None:
        """Remove the candidate's row; returns the résumé file path to delete."""
        return await self._rows.erase_candidate(candidate_id)

    async def not_invited_before(self, org_id: str, before_s: float) -> list[str]:
        """Candidates of the org never invited (nor being invited) whose last decision is older
        than ``before_s``."""
        return await self._rows.candidates_not_invited_before(org_id, before_s)

    # -- batches ---------------------------------------------------------------------------

    async def create_batch(self, org_id: str, job_id: str, actor: str, total: int) -> str:
        return await self._rows.create_resume_batch(org_id, job_id, actor, total, self.node)

    async def batch_progress(self, batch_id: str, done: int, failed: int) -> None:
        await self._rows.resume_batch_progress(batch_id, done, failed)

    async def finish_batch(
        self, batch_id: str, status: str, result: dict[str, Any], done: int, failed: int
    ) -> None:
        await self._rows.finish_resume_batch(batch_id, status, result, done, failed)

    async def get_batch(self, batch_id: str) -> ResumeBatch:
        return await self._rows.get_resume_batch(batch_id)

    async def interrupt_unfinished(self) -> int:
        """After a restart: batches cut short end as ``interrupted`` (what was stored is kept;
        the same files can be uploaded again: already stored ones are recognised), and
        invitations cut short release their claim (the candidate waits for a person).
        Returns the number of batches."""
        return await self._rows.interrupt_unfinished_intake(self.node)
