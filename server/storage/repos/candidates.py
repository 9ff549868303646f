"""Résumé candidates and intake batches (tables ``candidates``, ``resume_batches``).

The file name, profile, résumé text and match explanation are sealed with the row id in the
associated data, as is a batch's result. The rules (which statuses a person may set, who may
invite) are :mod:`server.resumes.candidates`'; here are the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

from server.domain.candidates import Candidate, ResumeBatch
from server.domain.record import from_columns
from server.security.auth import new_id
from server.storage.db import NO_LIMIT, Connection, Row
from server.storage.errors import NotFound
from server.storage.repos.base import Repository, epoch_s, existing_row


class NewCandidate(TypedDict):
    """A candidate as intake stores it (``file_hash``: a keyed hash of the file's bytes)."""

    org_id: str
    job_id: str
    batch_id: str | None
    filename: str
    file_hash: str
    file_bytes: int
    profile: dict[str, Any]
    text: str
    match: dict[str, Any]


def _aad(candidate_id: str, column: str) -> str:
    return f"candidate/{candidate_id}/{column}"


def _batch_aad(batch_id: str) -> str:
    return f"batch/{batch_id}/result"


class CandidateRepository(Repository):
    """One row per résumé file per job; its status goes waiting → inviting → invited (or
    not_selected, by a person)."""

    async def add_candidate(self, **new: Unpack[NewCandidate]) -> tuple[str, bool]:
        """Store a new ``waiting`` candidate; ``(id, False)`` when this job already has this
        file."""
        candidate_id = new_id("cand")
        job_id, file_hash, match = new["job_id"], new["file_hash"], new["match"]

        def work(conn: Connection) -> tuple[str, bool]:
            now = epoch_s()
            seal = self.fields
            added = conn.execute(
                "INSERT INTO candidates(id, org_id, job_id, batch_id, filename, file_sha256,"
                " file_bytes, profile, resume_text, match, score, eligible, status, created_at,"
                " updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (job_id, file_sha256) DO NOTHING",
                (
                    candidate_id,
                    new["org_id"],
                    job_id,
                    new["batch_id"],
                    seal.seal(new["filename"], _aad(candidate_id, "filename")),
                    file_hash,
                    new["file_bytes"],
                    seal.seal_json(new["profile"], _aad(candidate_id, "profile")),
                    seal.seal(new["text"], _aad(candidate_id, "text")),
                    seal.seal_json(match, _aad(candidate_id, "match")),
                    float(match["score"]),
                    int(bool(match["eligible"])),
                    "waiting",
                    now,
                    now,
                ),
            ).rowcount
            if added:
                return candidate_id, True
            row = conn.execute(
                "SELECT id FROM candidates WHERE job_id=? AND file_sha256=?", (job_id, file_hash)
            ).fetchone()
            return str(row["id"]), False

        return await self.db.transaction(work)

    async def set_candidate_file(self, candidate_id: str, path: str) -> None:
        await self.db.execute("UPDATE candidates SET file_path=? WHERE id=?", path, candidate_id)

    async def candidate_by_file(self, job_id: str, file_hash: str) -> str | None:
        """The id of the job's candidate from the file with this keyed hash, if any."""
        row = await self.db.fetchone(
            "SELECT id FROM candidates WHERE job_id=? AND file_sha256=?", job_id, file_hash
        )
        return str(row["id"]) if row else None

    async def get_candidate(self, candidate_id: str, *, with_text: bool = False) -> Candidate:
        row = await self.db.fetchone("SELECT * FROM candidates WHERE id=?", candidate_id)
        if row is None:
            raise NotFound(f"candidate {candidate_id} not found")
        return await self.db.run(self._open_candidate, row, with_text)

    async def get_candidates(
        self, candidate_ids: Sequence[str], *, with_text: bool = False
    ) -> list[Candidate]:
        """The candidates that still exist of ``candidate_ids``, in that order (one query,
        opened on the database thread)."""
        if not candidate_ids:
            return []
        marks = ",".join("?" * len(candidate_ids))
        rows = await self.db.fetchall(
            f"SELECT * FROM candidates WHERE id IN ({marks})", *candidate_ids
        )
        by_id = {str(r["id"]): r for r in rows}
        found = [by_id[cid] for cid in candidate_ids if cid in by_id]
        return await self.db.run(lambda: [self._open_candidate(r, with_text) for r in found])

    async def job_candidate_ids(self, job_id: str) -> list[str]:
        """The job's candidate ids, best match first (nothing opened)."""
        rows = await self.db.fetchall(
            "SELECT id FROM candidates WHERE job_id=? ORDER BY score DESC, created_at", job_id
        )
        return [str(r["id"]) for r in rows]

    async def job_candidates(
        self, job_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Candidate]:
        """The job's candidates, best match first (opened on the database thread); a page of
        ``limit`` from ``offset`` when given."""
        rows = await self.db.fetchall(
            "SELECT * FROM candidates WHERE job_id=? ORDER BY score DESC, created_at, id"
            " LIMIT ? OFFSET ?",
            job_id,
            NO_LIMIT if limit is None else limit,
            offset,
        )
        return await self.db.run(lambda: [self._open_candidate(r, False) for r in rows])

    async def count_job_candidates(self, job_id: str) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM candidates WHERE job_id=?", job_id)
        return int(row["n"]) if row else 0

    def _open_candidate(self, row: Row, with_text: bool) -> Candidate:
        cid = row["id"]
        return Candidate(
            candidate_id=cid,
            org_id=row["org_id"],
            job_id=row["job_id"],
            batch_id=row["batch_id"],
            filename=self.fields.open(row["filename"], _aad(cid, "filename")),
            file_path=row["file_path"],
            file_bytes=row["file_bytes"],
            profile=self.fields.open_json(row["profile"], _aad(cid, "profile")),
            match=self.fields.open_json(row["match"], _aad(cid, "match")),
            status=row["status"],
            interview_id=row["interview_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            text=self.fields.open(row["resume_text"], _aad(cid, "text")) if with_text else None,
        )

    async def set_candidate_match(self, candidate_id: str, match: dict[str, Any]) -> bool:
        """Store a new match result (``updated_at`` stays); False when there is no such
        candidate."""

        def work(conn: Connection) -> bool:  # sealed on the database thread, like the others
            sealed = self.fields.seal_json(match, _aad(candidate_id, "match"))
            cursor = conn.execute(
                "UPDATE candidates SET match=?, score=?, eligible=? WHERE id=?",
                (sealed, float(match["score"]), int(bool(match["eligible"])), candidate_id),
            )
            return cursor.rowcount == 1

        return await self.db.transaction(work)

    async def set_candidate_status(
        self, candidate_id: str, status: str, from_statuses: Sequence[str]
    ) -> bool:
        """``status`` (a decision: ``updated_at`` is now) if the status is one of
        ``from_statuses``; False otherwise."""
        marks = ",".join("?" * len(from_statuses))
        changed = await self.db.execute(
            f"UPDATE candidates SET status=?, updated_at=? WHERE id=? AND status IN ({marks})",
            status,
            epoch_s(),
            candidate_id,
            *from_statuses,
        )
        return changed == 1

    async def claim_candidate(
        self, candidate_id: str, from_statuses: Sequence[str], node: str
    ) -> str | None:
        """Mark the candidate ``inviting`` (claimed by ``node``) if its status is one of
        ``from_statuses``, in one transaction; the status it had, or None."""

        def work(conn: Connection) -> str | None:
            row = existing_row(
                conn,
                "SELECT status FROM candidates WHERE id=? FOR UPDATE",
                candidate_id,
                "candidate",
            )
            previous = str(row["status"])
            if previous not in from_statuses:
                return None
            cursor = conn.execute(
                "UPDATE candidates SET status='inviting', claimed_by=? WHERE id=? AND status=?",
                (node, candidate_id, previous),
            )
            return previous if cursor.rowcount == 1 else None

        return await self.db.transaction(work)

    async def release_candidate_claim(self, candidate_id: str, previous: str) -> None:
        await self.db.execute(
            "UPDATE candidates SET status=? WHERE id=? AND status='inviting'",
            previous,
            candidate_id,
        )

    async def mark_candidate_invited(self, candidate_id: str, interview_id: str) -> bool:
        """A claimed candidate is ``invited``, with its interview (False when it is no longer
        claimed or exists no more)."""
        changed = await self.db.execute(
            "UPDATE candidates SET status='invited', interview_id=?, updated_at=?"
            " WHERE id=? AND status='inviting'",
            interview_id,
            epoch_s(),
            candidate_id,
        )
        return changed == 1

    async def erase_candidate(self, candidate_id: str) -> str | None:
        """Delete the candidate's row; returns its résumé file path."""

        def work(conn: Connection) -> str | None:
            row = existing_row(
                conn, "SELECT file_path FROM candidates WHERE id=?", candidate_id, "candidate"
            )
            conn.execute("DELETE FROM candidates WHERE id=?", (candidate_id,))
            return str(row["file_path"]) if row["file_path"] else None

        return await self.db.transaction(work)

    async def candidates_not_invited_before(self, org_id: str, before_s: float) -> list[str]:
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

    async def create_resume_batch(
        self, org_id: str, job_id: str, actor: str, total: int, node: str
    ) -> str:
        """A ``running`` batch of ``total`` files, tagged with the ``node`` processing it."""
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
            epoch_s(),
            node,
        )
        return batch_id

    async def resume_batch_progress(self, batch_id: str, done: int, failed: int) -> None:
        await self.db.execute(
            "UPDATE resume_batches SET done=?, failed=? WHERE id=?", done, failed, batch_id
        )

    async def finish_resume_batch(
        self, batch_id: str, status: str, result: dict[str, Any], done: int, failed: int
    ) -> None:
        sealed = self.fields.seal_json(result, _batch_aad(batch_id))
        await self.db.execute(
            "UPDATE resume_batches SET status=?, result=?, done=?, failed=?, finished_at=?"
            " WHERE id=?",
            status,
            sealed,
            done,
            failed,
            epoch_s(),
            batch_id,
        )

    async def get_resume_batch(self, batch_id: str) -> ResumeBatch:
        row = await self.db.fetchone("SELECT * FROM resume_batches WHERE id=?", batch_id)
        if row is None:
            raise NotFound(f"batch {batch_id} not found")
        result = await self.db.run(self.fields.open_json, row["result"], _batch_aad(batch_id))
        return from_columns(ResumeBatch, {**dict(row), "result": result})

    async def interrupt_unfinished_intake(self, node: str) -> int:
        """What ``node`` (or a process before nodes were named) left unfinished: its claims
        go back to ``waiting`` and its running batches end ``interrupted``. Returns the number
        of batches."""
        await self.db.execute(
            "UPDATE candidates SET status='waiting' WHERE status='inviting'"
            " AND (claimed_by=? OR claimed_by IS NULL)",
            node,
        )
        return await self.db.execute(
            "UPDATE resume_batches SET status='interrupted', finished_at=? WHERE status='running'"
            " AND (node=? OR node IS NULL)",
            epoch_s(),
            node,
        )
