"""Candidates from résumé intake: profile, match result and status, stored as personal data.

The profile, the résumé's text and the match explanation (which quotes the résumé) are sealed
with the row id as associated data; the original file is kept encrypted on disk (see
:mod:`server.api.routes_resumes`). A file is identified per job by a keyed hash of its bytes, so
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

import sqlite3
import time
from typing import Any

from server.security.auth import new_id
from server.security.fields import FieldCipher
from server.storage.db import Database
from server.storage.store import NotFound

STATUSES = ("waiting", "inviting", "invited", "not_selected")
HUMAN_STATUSES = ("waiting", "not_selected")
"""Statuses a person may set, and only from one another (inviting goes through a claim)."""
INVITABLE = HUMAN_STATUSES
"""Statuses a person may invite from; the system invites automatically only from ``waiting``."""


def _aad(candidate_id: str, field: str) -> str:
    return f"candidate/{candidate_id}/{field}"


class CandidateStore:
    """Persistence of résumé candidates and intake batches."""

    def __init__(self, db: Database, fields: FieldCipher, node: str = "") -> None:
        """``node``: this process's name; batches and invitation claims are tagged with it, so
        a restart cleans up only what this process left unfinished (several API processes
        may share the database)."""
        self.db = db
        self.fields = fields
        self.node = node

    async def add(
        self,
        *,
        org_id: str,
        job_id: str,
        batch_id: str | None,
        filename: str,
        file_hash: str,
        file_bytes: int,
        profile: dict[str, Any],
        text: str,
        match: dict[str, Any],
    ) -> tuple[str, bool]:
        """Store a new candidate; ``(id, False)`` when this job already has this file."""
        candidate_id = new_id("cand")

        def work(conn: sqlite3.Connection) -> tuple[str, bool]:
            row = conn.execute(
                "SELECT id FROM candidates WHERE job_id=? AND file_sha256=?", (job_id, file_hash)
            ).fetchone()
            if row is not None:
                return str(row["id"]), False
            now = time.time()
            seal = self.fields
            conn.execute(
                "INSERT INTO candidates(id, org_id, job_id, batch_id, filename, file_sha256,"
                " file_bytes, profile, resume_text, match, score, eligible, status, created_at,"
                " updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    candidate_id,
                    org_id,
                    job_id,
                    batch_id,
                    seal.seal(filename, _aad(candidate_id, "filename")),
                    file_hash,
                    file_bytes,
                    seal.seal_json(profile, _aad(candidate_id, "profile")),
                    seal.seal(text, _aad(candidate_id, "text")),
                    seal.seal_json(match, _aad(candidate_id, "match")),
                    float(match["score"]),
                    int(bool(match["eligible"])),
                    "waiting",
                    now,
                    now,
                ),
            )
            return candidate_id, True

        return await self.db.transaction(work)

    async def set_file(self, candidate_id: str, path: str) -> None:
        await self.db.execute("UPDATE candidates SET file_path=? WHERE id=?", path, candidate_id)

    async def id_by_file(self, job_id: str, file_hash: str) -> str | None:
        """The candidate this job already has from the file with this keyed hash, if any."""
        row = await self.db.fetchone(
            "SELECT id FROM candidates WHERE job_id=? AND file_sha256=?", job_id, file_hash
        )
        return str(row["id"]) if row else None

    async def get(self, candidate_id: str, *, with_text: bool = False) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM candidates WHERE id=?", candidate_id)
        if row is None:
            raise NotFound(f"candidate {candidate_id} not found")
        return await self.db.run(self._open, row, with_text)

    async def get_many(
        self, candidate_ids: list[str], *, with_text: bool = False
    ) -> list[dict[str, Any]]:
        """The candidates that still exist of ``candidate_ids``, in that order (one query,
        decrypted on the database thread)."""
        if not candidate_ids:
            return []
        marks = ",".join("?" * len(candidate_ids))
        rows = await self.db.fetchall(
            f"SELECT * FROM candidates WHERE id IN ({marks})", *candidate_ids
        )
        by_id = {str(r["id"]): r for r in rows}
        found = [by_id[cid] for cid in candidate_ids if cid in by_id]
        return await self.db.run(lambda: [self._open(r, with_text) for r in found])

    async def ids_for_job(self, job_id: str) -> list[str]:
        """The job's candidate ids, best match first (nothing decrypted)."""
        rows = await self.db.fetchall(
            "SELECT id FROM candidates WHERE job_id=? ORDER BY score DESC, created_at", job_id
        )
        return [str(r["id"]) for r in rows]

    async def list_for_job(
        self, job_id: str, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The job's candidates, best match first (decrypted on the database thread); a page
        of ``limit`` from ``offset`` when given."""
        rows = await self.db.fetchall(
            "SELECT * FROM candidates WHERE job_id=? ORDER BY score DESC, created_at, id"
            " LIMIT ? OFFSET ?",
            job_id,
            -1 if limit is None else limit,
            offset,
        )
        return await self.db.run(lambda: [self._open(r, False) for r in rows])

    async def count_for_job(self, job_id: str) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM candidates WHERE job_id=?", job_id)
        return int(row["n"]) if row else 0

    def _open(self, row: sqlite3.Row, with_text: bool) -> dict[str, Any]:
        cid = row["id"]
        out = {
            "candidate_id": cid,
            "org_id": row["org_id"],
            "job_id": row["job_id"],
            "batch_id": row["batch_id"],
            "filename": self.fields.open(row["filename"], _aad(cid, "filename")),
            "file_path": row["file_path"],
            "file_bytes": row["file_bytes"],
            "profile": self.fields.open_json(row["profile"], _aad(cid, "profile")),
            "match": self.fields.open_json(row["match"], _aad(cid, "match")),
            "status": row["status"],
            "interview_id": row["interview_id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        if with_text:
            out["text"] = self.fields.open(row["resume_text"], _aad(cid, "text"))
        return out

    async def set_match(self, candidate_id: str, match: dict[str, Any]) -> None:
        """Store a new match result. Not a decision: ``updated_at`` (the retention clock) stays.
        Raises :class:`NotFound` when the candidate was erased meanwhile."""
        if not await self.db.run(self._set_match_sync, candidate_id, match):
            raise NotFound(f"candidate {candidate_id} not found")

    def _set_match_sync(self, candidate_id: str, match: dict[str, Any]) -> bool:
        sealed = self.fields.seal_json(match, _aad(candidate_id, "match"))
        cursor = self.db.conn.execute(
            "UPDATE candidates SET match=?, score=?, eligible=? WHERE id=?",
            (sealed, float(match["score"]), int(bool(match["eligible"])), candidate_id),
        )
        return cursor.rowcount == 1

    async def set_status(self, candidate_id: str, status: str) -> bool:
        """A person's decision (``waiting`` or ``not_selected``), only from one of those:
        False when the candidate is invited or being invited (or erased)."""
        if status not in HUMAN_STATUSES:
            raise ValueError(f"a person cannot set the status {status!r}")
        marks = ",".join("?" * len(HUMAN_STATUSES))
        changed = await self.db.execute(
            f"UPDATE candidates SET status=?, updated_at=? WHERE id=? AND status IN ({marks})",
            status,
            time.time(),
            candidate_id,
            *HUMAN_STATUSES,
        )
        return changed == 1

    async def claim_for_invitation(
        self, candidate_id: str, from_statuses: tuple[str, ...] = INVITABLE
    ) -> str | None:
        """Mark the candidate ``inviting`` if its status is one of ``from_statuses``, in one
        transaction; returns the status it had (for :meth:`release_claim`), or None when
        another invitation got there first or the status does not allow one."""
        if not set(from_statuses) <= set(INVITABLE):
            raise ValueError(f"cannot invite from {from_statuses!r}")

        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT status FROM candidates WHERE id=?", (candidate_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"candidate {candidate_id} not found")
            previous = str(row["status"])
            if previous not in from_statuses:
                return None
            cursor = conn.execute(
                "UPDATE candidates SET status='inviting', claimed_by=? WHERE id=? AND status=?",
                (self.node, candidate_id, previous),
            )
            return previous if cursor.rowcount == 1 else None

        return await self.db.transaction(work)

    async def release_claim(self, candidate_id: str, previous: str) -> None:
        """The invitation failed: back to the status before the claim."""
        await self.db.execute(
            "UPDATE candidates SET status=? WHERE id=? AND status='inviting'",
            previous,
            candidate_id,
        )

    async def mark_invited(self, candidate_id: str, interview_id: str) -> bool:
        """The claimed invitation exists: ``invited``, with its interview (False when the
        candidate was erased meanwhile)."""
        changed = await self.db.execute(
            "UPDATE candidates SET status='invited', interview_id=?, updated_at=?"
            " WHERE id=? AND status='inviting'",
            interview_id,
            time.time(),
            candidate_id,
        )
        return changed == 1

    async def erase(self, candidate_id: str) -> str | None:
        """Remove the candidate's row; returns the résumé file path to delete."""

        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT file_path FROM candidates WHERE id=?", (candidate_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"candidate {candidate_id} not found")
            conn.execute("DELETE FROM candidates WHERE id=?", (candidate_id,))
            return str(row["file_path"]) if row["file_path"] else None

        return await self.db.transaction(work)

    async def not_invited_before(self, org_id: str, before_s: float) -> list[str]:
        """Candidates of the org never invited (nor being invited) whose last decision is older
        than ``before_s``."""
        rows = await self.db.fetchall(
            "SELECT id FROM candidates WHERE org_id=? AND status NOT IN ('invited', 'inviting')"
            " AND updated_at<?",
            org_id,
            before_s,
        )
        return [str(r["id"]) for r in rows]

    # -- batches ---------------------------------------------------------------------------

    async def create_batch(self, org_id: str, job_id: str, actor: str, total: int) -> str:
        batch_id = new_id("batch")
        await self.db.execute(
            "INSERT INTO resume_batches(id, org_id, job_id, actor, total, status, created_at,"
            " node) VALUES(?,?,?,?,?,?,?,?)",
            batch_id,
            org_id,
            job_id,
            actor,
            total,
            "running",
            time.time(),
            self.node,
        )
        return batch_id

    async def batch_progress(self, batch_id: str, done: int, failed: int) -> None:
        await self.db.execute(
            "UPDATE resume_batches SET done=?, failed=? WHERE id=?", done, failed, batch_id
        )

    async def finish_batch(
        self, batch_id: str, status: str, result: dict[str, Any], done: int, failed: int
    ) -> None:
        sealed = self.fields.seal_json(result, f"batch/{batch_id}/result")
        await self.db.execute(
            "UPDATE resume_batches SET status=?, result=?, done=?, failed=?, finished_at=?"
            " WHERE id=?",
            status,
            sealed,
            done,
            failed,
            time.time(),
            batch_id,
        )

    async def get_batch(self, batch_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM resume_batches WHERE id=?", batch_id)
        if row is None:
            raise NotFound(f"batch {batch_id} not found")
        out = {k: row[k] for k in row.keys() if k != "result"}  # noqa: SIM118 - sqlite3.Row
        out["result"] = await self.db.run(
            self.fields.open_json, row["result"], f"batch/{batch_id}/result"
        )
        return out

    async def interrupt_unfinished(self) -> int:
        """After a restart: batches cut short end as ``interrupted`` (what was stored is kept;
        the same files can be uploaded again: already stored ones are recognised), and
        invitations cut short release their claim (the candidate waits for a person).
        Returns the number of batches."""
        await self.db.execute(
            "UPDATE candidates SET status='waiting' WHERE status='inviting'"
            " AND (claimed_by=? OR claimed_by IS NULL)",
            self.node,
        )
        return await self.db.execute(
            "UPDATE resume_batches SET status='interrupted', finished_at=? WHERE status='running'"
            " AND (node=? OR node IS NULL)",
            time.time(),
            self.node,
        )
