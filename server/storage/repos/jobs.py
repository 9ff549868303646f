"""Jobs and the org's own questions (tables ``jobs``, ``questions``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.domain.jobs import Job
from server.domain.models import Status
from server.security.auth import new_id
from server.storage.db import Connection, Row, dumps, loads
from server.storage.errors import NotFound
from server.storage.repos.base import Repository, epoch_s, existing_row


def _job(row: Row) -> Job:
    return Job.from_row(dict(row), loads(row["data"]))


class QuestionRepository(Repository):
    """Questions an org added to the built-in bank."""

    async def add_questions(self, org_id: str, questions: Sequence[dict[str, Any]]) -> list[str]:
        """Insert validated questions (ids are assigned here) in one transaction."""
        ids = [new_id("q") for _ in questions]

        def work(conn: Connection) -> None:
            now = epoch_s()
            for qid, q in zip(ids, questions, strict=True):
                data = {**q, "id": qid, "builtin": False}
                conn.execute(
                    "INSERT INTO questions(id, org_id, data, created_at) VALUES(?,?,?,?)",
                    (qid, org_id, dumps(data), now),
                )

        await self.db.transaction(work)
        return ids

    async def org_questions(self, org_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT data FROM questions WHERE org_id=? ORDER BY created_at, id", org_id
        )
        return [loads(r["data"]) for r in rows]


class JobRepository(Repository):
    """Jobs: title and department as columns, the rest (plan, competencies …) as JSON."""

    async def create_job(self, org_id: str, job: dict[str, Any]) -> str:
        job_id = new_id("job")
        data = {k: v for k, v in job.items() if k not in ("title", "department")}
        now = epoch_s()
        await self.db.execute(
            "INSERT INTO jobs(id, org_id, title, department, data, created_at, updated_at)"
            " VALUES(?,?,?,?,?,?,?)",
            job_id,
            org_id,
            job["title"],
            job["department"],
            dumps(data),
            now,
            now,
        )
        return job_id

    async def get_job(self, job_id: str) -> Job:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id=?", job_id)
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return _job(row)

    async def update_job_data(self, job_id: str, changes: dict[str, Any]) -> None:
        def work(conn: Connection) -> None:
            row = existing_row(conn, "SELECT data FROM jobs WHERE id=? FOR UPDATE", job_id, "job")
            data = {**loads(row["data"]), **changes}
            conn.execute(
                "UPDATE jobs SET data=?, updated_at=? WHERE id=?", (dumps(data), epoch_s(), job_id)
            )

        await self.db.transaction(work)

    async def list_jobs(self, org_id: str) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE org_id=? ORDER BY created_at DESC", org_id
        )
        return [_job(r) for r in rows]

    async def status_counts(self, job_id: str) -> dict[str, int]:
        """How many of the job's interviews are in each status (every status present)."""
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n FROM interviews WHERE job_id=? GROUP BY status", job_id
        )
        counts = {s.value: 0 for s in Status}
        counts.update({r["status"]: r["n"] for r in rows})
        return counts
