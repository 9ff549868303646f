"""Interviews: creation, status moves (each one audited), flow saves by the owning session
(table ``interviews``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import TERMINAL_STATUSES, Status
from server.security.auth import new_id
from server.security.fields import FieldCipher
from server.storage.db import Connection, Row, dumps, loads
from server.storage.errors import Conflict, NotFound, Superseded
from server.storage.repos.audit import append_event
from server.storage.repos.base import Repository, epoch_s, existing_row

STATUS_RANK: dict[Status, int] = {
    Status.INVITED: 0,
    Status.OPENED: 1,
    Status.CONSENTED: 2,
    Status.DEVICE_CHECKED: 3,
    Status.IN_PROGRESS: 4,
    Status.COMPLETED: 5,
    Status.DECLINED: 5,
    Status.EXPIRED: 5,
    Status.REVOKED: 5,
}
UPDATABLE_COLUMNS = frozenset({"status", "consent", "device_check", "flow"})
"""Columns :meth:`InterviewRepository.set_status` may change along with the status."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    interview_id: str
    job_id: str
    org_id: str
    old: Status
    new: Status


def candidate_aad(interview_id: str) -> str:
    return f"interviews/{interview_id}/candidate"


def plan_aad(interview_id: str) -> str:
    return f"interviews/{interview_id}/plan"


def plan_value(plan: list[dict[str, Any]], interview_id: str, fields: FieldCipher) -> str:
    """A plan with personalised questions quotes the résumé: sealed like personal data."""
    if any(item.get("personalised") for item in plan):
        return fields.seal_json(plan, plan_aad(interview_id))
    return dumps(plan)


def without_resume(item: dict[str, Any]) -> dict[str, Any]:
    """A personalised plan item after erasure: the question stays, its résumé facts go."""
    if not item.get("personalised"):
        return item
    question = {
        **item["question"],
        "text": {"en": "(personalised question erased)", "zh": "（个性化问题已删除）"},
        "basis": None,
    }
    return {**item, "question": question}


def _interview(row: Row, fields: FieldCipher) -> Interview:
    return Interview(
        id=row["id"],
        job_id=row["job_id"],
        org_id=row["org_id"],
        candidate=fields.open_json(row["candidate"], candidate_aad(row["id"])),
        language=row["language"],
        status=Status(row["status"]),
        plan=fields.open_json(row["plan"], plan_aad(row["id"])),
        nonce=row["nonce"],
        expires_at=row["expires_at"],
        flow=loads(row["flow"]),
        consent=loads(row["consent"]),
        device_check=loads(row["device_check"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        erased_at=row["erased_at"],
    )


def _update(conn: Connection, interview_id: str, fields: dict[str, Any]) -> None:
    cols = []
    values: list[Any] = []
    for key, value in fields.items():
        if key not in UPDATABLE_COLUMNS:
            raise ValueError(f"cannot update {key}")
        cols.append(f"{key}=?")
        values.append(value if isinstance(value, str | None) else dumps(value))
    cols.append("updated_at=?")
    values.append(epoch_s())
    conn.execute(f"UPDATE interviews SET {', '.join(cols)} WHERE id=?", (*values, interview_id))


class InterviewRepository(Repository):
    """Interviews and their status; every status move is audited in the same transaction."""

    async def create_interviews(
        self,
        job: Job,
        plan: list[dict[str, Any]],
        candidates: Sequence[dict[str, Any]],
        expires_at: float,
        nonces: Sequence[str],
        actor: str,
    ) -> list[str]:
        """Create one interview per candidate (all or none)."""
        ids = [new_id("iv") for _ in candidates]

        def work(conn: Connection) -> None:
            now = epoch_s()
            for iid, cand, nonce in zip(ids, candidates, nonces, strict=True):
                conn.execute(
                    "INSERT INTO interviews(id, job_id, org_id, candidate, language, status, plan,"
                    " nonce, expires_at, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        iid,
                        job.id,
                        job.org_id,
                        self.fields.seal_json(cand, candidate_aad(iid)),
                        cand.get("language") or job.language,
                        Status.INVITED.value,
                        plan_value(plan, iid, self.fields),
                        nonce,
                        expires_at,
                        now,
                        now,
                    ),
                )
                append_event(conn, iid, job.org_id, "status", actor, {"status": "invited"})

        await self.db.transaction(work)
        return ids

    async def get_interview(self, interview_id: str) -> Interview:
        row = await self.db.fetchone("SELECT * FROM interviews WHERE id=?", interview_id)
        if row is None:
            raise NotFound(f"interview {interview_id} not found")
        return _interview(row, self.fields)

    async def list_interviews(self, job_id: str) -> list[Interview]:
        rows = await self.db.fetchall(
            "SELECT * FROM interviews WHERE job_id=? ORDER BY created_at, id", job_id
        )
        return [_interview(r, self.fields) for r in rows]

    async def set_status(
        self,
        interview_id: str,
        new: Status,
        actor: str,
        *,
        fields: dict[str, Any] | None = None,
        allow_from: frozenset[Status] | None = None,
    ) -> StatusChange | None:
        """Move an interview forward to ``new``; returns the change, or ``None`` if already there.

        Raises :class:`Conflict` for a move backwards, out of a final status, or from a
        status not in ``allow_from``.
        """

        def work(conn: Connection) -> StatusChange | None:
            row = existing_row(
                conn,
                "SELECT status, job_id, org_id FROM interviews WHERE id=? FOR UPDATE",
                interview_id,
                "interview",
            )
            old = Status(row["status"])
            if old is new:
                if fields:
                    _update(conn, interview_id, fields)
                return None
            if old in TERMINAL_STATUSES:
                raise Conflict(f"interview is {old.value}")
            if allow_from is not None and old not in allow_from:
                raise Conflict(f"interview is {old.value}, cannot become {new.value}")
            if STATUS_RANK[new] < STATUS_RANK[old]:
                raise Conflict(f"interview is already {old.value}")
            _update(conn, interview_id, {**(fields or {}), "status": new.value})
            append_event(conn, interview_id, row["org_id"], "status", actor, {"status": new.value})
            return StatusChange(interview_id, row["job_id"], row["org_id"], old, new)

        return await self.db.transaction(work)

    async def expire_due(self, now_s: float, statuses: frozenset[Status]) -> list[StatusChange]:
        """Mark interviews whose link has expired before they started; returns the changes."""

        def work(conn: Connection) -> list[StatusChange]:
            marks = ",".join("?" for _ in statuses)
            rows = conn.execute(
                f"SELECT id, job_id, org_id, status FROM interviews"
                f" WHERE expires_at < ? AND status IN ({marks}) ORDER BY id FOR UPDATE",
                (now_s, *[s.value for s in statuses]),
            ).fetchall()
            changes = []
            for row in rows:
                _update(conn, row["id"], {"status": Status.EXPIRED.value})
                append_event(
                    conn, row["id"], row["org_id"], "status", "system", {"status": "expired"}
                )
                changes.append(
                    StatusChange(
                        row["id"],
                        row["job_id"],
                        row["org_id"],
                        Status(row["status"]),
                        Status.EXPIRED,
                    )
                )
            return changes

        return await self.db.transaction(work)

    async def claim_interview(self, interview_id: str, owner: str) -> None:
        """Make ``owner`` (one live session, on whichever process) the only one that may save
        the interview's flow; a session elsewhere that still runs finds out at its next save."""
        await self.db.execute("UPDATE interviews SET owner=? WHERE id=?", owner, interview_id)

    async def save_flow(self, interview_id: str, flow: dict[str, Any], owner: str) -> None:
        changed = await self.db.execute(
            "UPDATE interviews SET flow=?, updated_at=? WHERE id=? AND owner IS NOT DISTINCT FROM ?",
            dumps(flow),
            epoch_s(),
            interview_id,
            owner,
        )
        if not changed:
            raise Superseded(f"interview {interview_id} is now run by another session")
