"""Persistence of orgs, staff, questions, jobs, interviews, answers and recordings.

Each method is one short transaction on the database thread (see ``server.storage.db``).
Rows come back as plain dicts shaped for the REST API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.models import TERMINAL_STATUSES, Role, Status
from server.security.auth import new_id
from server.security.fields import FieldCipher
from server.storage.db import Database, dumps, loads

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


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """The requested change does not fit the current state."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    interview_id: str
    job_id: str
    org_id: str
    old: Status
    new: Status


def _now() -> float:
    return time.time()


def candidate_aad(interview_id: str) -> str:
    return f"interviews/{interview_id}/candidate"


def answer_aad(interview_id: str, idx: int, field: str) -> str:
    return f"answers/{interview_id}/{idx}/{field}"


def plan_aad(interview_id: str) -> str:
    return f"interviews/{interview_id}/plan"


def _plan_value(plan: list[dict[str, Any]], interview_id: str, fields: FieldCipher) -> str:
    """A plan with personalised questions quotes the résumé: sealed like personal data."""
    if any(item.get("personalised") for item in plan):
        return fields.seal_json(plan, plan_aad(interview_id))
    return dumps(plan)


def _without_resume(item: dict[str, Any]) -> dict[str, Any]:
    """A personalised plan item after erasure: the question stays, its résumé facts go."""
    if not item.get("personalised"):
        return item
    question = {
        **item["question"],
        "text": {"en": "(personalised question erased)", "zh": "（个性化问题已删除）"},
        "basis": None,
    }
    return {**item, "question": question}


def analysis_aad(interview_id: str) -> str:
    return f"analysis/{interview_id}"


def _interview_dict(row: sqlite3.Row, fields: FieldCipher) -> dict[str, Any]:
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "org_id": row["org_id"],
        "candidate": fields.open_json(row["candidate"], candidate_aad(row["id"])),
        "language": row["language"],
        "status": row["status"],
        "plan": fields.open_json(row["plan"], plan_aad(row["id"])),
        "nonce": row["nonce"],
        "expires_at": row["expires_at"],
        "flow": loads(row["flow"]),
        "consent": loads(row["consent"]),
        "device_check": loads(row["device_check"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "erased_at": row["erased_at"] if "erased_at" in row.keys() else None,  # noqa: SIM118
    }


def _job_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = loads(row["data"])
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "title": row["title"],
        "department": row["department"],
        **data,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _answer_dict(row: sqlite3.Row, fields: FieldCipher) -> dict[str, Any]:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row
    for name in ("scratchpad", "text_answer"):
        out[name] = fields.open(out[name], answer_aad(out["interview_id"], out["idx"], name))
    return out


class Superseded(Exception):
    """The interview was claimed by a newer session (on this or another process)."""


class Store:
    """Domain-level persistence on top of :class:`Database`."""

    def __init__(self, db: Database, fields: FieldCipher | None = None) -> None:
        """``fields`` seals personal data in columns (see :mod:`server.security.fields`)."""
        self.db = db
        self.fields = fields or FieldCipher(None)

    # -- orgs and staff -------------------------------------------------------------------

    async def create_org(self, name: str) -> str:
        org_id = new_id("org")
        await self.db.execute(
            "INSERT INTO orgs(id, name, created_at) VALUES(?,?,?)", org_id, name, _now()
        )
        return org_id

    async def first_org(self) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM orgs ORDER BY created_at LIMIT 1")
        return dict(row) if row else None

    async def get_org(self, org_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM orgs WHERE id=?", org_id)
        return dict(row) if row else None

    async def org_settings(self, org_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT settings FROM orgs WHERE id=?", org_id)
        return dict(loads(row["settings"]) or {}) if row and row["settings"] else {}

    async def set_org_settings(self, org_id: str, settings: dict[str, Any]) -> None:
        await self.db.execute("UPDATE orgs SET settings=? WHERE id=?", dumps(settings), org_id)

    async def all_orgs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.db.fetchall("SELECT * FROM orgs ORDER BY id")]

    async def decided_before(self, org_id: str, before_s: float) -> list[str]:
        """Interviews of the org whose last human decision is older than ``before_s``."""
        rows = await self.db.fetchall(
            "SELECT d.interview_id FROM decisions d JOIN interviews i ON i.id = d.interview_id"
            " WHERE i.org_id=? GROUP BY d.interview_id HAVING MAX(d.created_at) < ?",
            org_id,
            before_s,
        )
        return [r["interview_id"] for r in rows]

    async def delete_recordings(self, interview_id: str) -> list[dict[str, Any]]:
        """Remove the recordings' rows (files are the caller's); returns what was removed."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = [
                dict(r)
                for r in conn.execute(
                    "SELECT id, path, bytes FROM recordings WHERE interview_id=?", (interview_id,)
                )
            ]
            conn.execute("DELETE FROM recordings WHERE interview_id=?", (interview_id,))
            return rows

        return await self.db.transaction(work)

    async def erase_personal_data(self, interview_id: str) -> dict[str, int]:
        """Remove what identifies the candidate or holds their words; keep scores, flags and
        decisions (without quoted evidence) and the consent record. Recording rows go too
        (their files are the caller's)."""
        fields = self.fields

        def work(conn: sqlite3.Connection) -> dict[str, int]:
            row = conn.execute(
                "SELECT org_id FROM interviews WHERE id=?", (interview_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"interview {interview_id} not found")
            aad = analysis_aad(interview_id)
            kept = 0
            for event in conn.execute(
                "SELECT id, data FROM analysis_events WHERE interview_id=? AND type='score_update'",
                (interview_id,),
            ).fetchall():
                data = fields.open_json(event["data"], aad)
                data["evidence"] = [
                    {k: v for k, v in e.items() if k != "detail"} for e in data.get("evidence", [])
                ]
                conn.execute(
                    "UPDATE analysis_events SET data=? WHERE id=?",
                    (fields.seal_json(data, aad), event["id"]),
                )
                kept += 1
            removed_events = conn.execute(
                "DELETE FROM analysis_events WHERE interview_id=?"
                " AND type NOT IN ('score_update', 'flag', 'analyzer_error')",
                (interview_id,),
            ).rowcount
            answers = conn.execute(
                "UPDATE answers SET scratchpad='', text_answer='' WHERE interview_id=?",
                (interview_id,),
            ).rowcount
            outbox = conn.execute(
                "DELETE FROM outbox WHERE interview_id=?", (interview_id,)
            ).rowcount
            recordings = conn.execute(
                "DELETE FROM recordings WHERE interview_id=?", (interview_id,)
            ).rowcount
            now = _now()
            plan_row = conn.execute(
                "SELECT plan FROM interviews WHERE id=?", (interview_id,)
            ).fetchone()
            plan = fields.open_json(plan_row["plan"], plan_aad(interview_id)) if plan_row else []
            if any(item.get("personalised") for item in plan):  # questions quoting the résumé
                plan = [_without_resume(item) for item in plan]
                conn.execute(
                    "UPDATE interviews SET plan=? WHERE id=?",
                    (_plan_value(plan, interview_id, fields), interview_id),
                )
            conn.execute(
                "UPDATE interviews SET candidate=?, erased_at=?, updated_at=? WHERE id=?",
                (
                    fields.seal_json(
                        {"name": "(erased)", "erased": True}, candidate_aad(interview_id)
                    ),
                    now,
                    now,
                    interview_id,
                ),
            )
            return {
                "analysis_events_removed": removed_events,
                "scores_kept": kept,
                "answers_cleared": answers,
                "reminders_removed": outbox,
                "recordings_removed": recordings,
            }

        return await self.db.transaction(work)

    async def create_user(
        self, org_id: str, username: str, password_hash: str, role: Role, department: str = ""
    ) -> str:
        user_id = new_id("usr")
        try:
            await self.db.execute(
                "INSERT INTO users(id, org_id, username, password_hash, role, department, created_at)"
                " VALUES(?,?,?,?,?,?,?)",
                user_id,
                org_id,
                username,
                password_hash,
                role.value,
                department,
                _now(),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"username {username!r} is taken") from None
        return user_id

    async def user_by_username(self, username: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE username=? AND active=1", username)
        return dict(row) if row else None

    async def users(self, org_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM users WHERE org_id=? AND active=1 ORDER BY username", org_id
        )
        return [dict(r) for r in rows]

    async def set_password(self, user_id: str, password_hash: str) -> None:
        await self.db.execute("UPDATE users SET password_hash=? WHERE id=?", password_hash, user_id)

    async def add_staff_token(self, token_hash: str, user_id: str, expires_at: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM staff_tokens WHERE expires_at < ?", (_now(),))
            conn.execute(
                "INSERT INTO staff_tokens(token_hash, user_id, expires_at) VALUES(?,?,?)",
                (token_hash, user_id, expires_at),
            )

        await self.db.transaction(work)

    async def user_by_token(self, token_hash: str) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT u.* FROM staff_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash=? AND t.expires_at > ? AND u.active=1",
            token_hash,
            _now(),
        )
        return dict(row) if row else None

    # -- questions ------------------------------------------------------------------------

    async def add_questions(self, org_id: str, questions: Sequence[dict[str, Any]]) -> list[str]:
        """Insert validated questions (ids are assigned here) in one transaction."""
        ids = [new_id("q") for _ in questions]

        def work(conn: sqlite3.Connection) -> None:
            now = _now()
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

    # -- jobs -----------------------------------------------------------------------------

    async def create_job(self, org_id: str, job: dict[str, Any]) -> str:
        job_id = new_id("job")
        data = {k: v for k, v in job.items() if k not in ("title", "department")}
        now = _now()
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

    async def get_job(self, job_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id=?", job_id)
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return _job_dict(row)

    async def update_job_data(self, job_id: str, changes: dict[str, Any]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT data FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound(f"job {job_id} not found")
            data = {**loads(row["data"]), **changes}
            conn.execute(
                "UPDATE jobs SET data=?, updated_at=? WHERE id=?", (dumps(data), _now(), job_id)
            )

        await self.db.transaction(work)

    async def list_jobs(self, org_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE org_id=? ORDER BY created_at DESC", org_id
        )
        return [_job_dict(r) for r in rows]

    async def status_counts(self, job_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n FROM interviews WHERE job_id=? GROUP BY status", job_id
        )
        counts = {s.value: 0 for s in Status}
        counts.update({r["status"]: r["n"] for r in rows})
        return counts

    # -- interviews -----------------------------------------------------------------------

    async def create_interviews(
        self,
        job: dict[str, Any],
        plan: list[dict[str, Any]],
        candidates: Sequence[dict[str, Any]],
        expires_at: float,
        nonces: Sequence[str],
        actor: str,
    ) -> list[str]:
        """Create one interview per candidate (all or none)."""
        ids = [new_id("iv") for _ in candidates]

        def work(conn: sqlite3.Connection) -> None:
            now = _now()
            for iid, cand, nonce in zip(ids, candidates, nonces, strict=True):
                conn.execute(
                    "INSERT INTO interviews(id, job_id, org_id, candidate, language, status, plan,"
                    " nonce, expires_at, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        iid,
                        job["id"],
                        job["org_id"],
                        self.fields.seal_json(cand, candidate_aad(iid)),
                        cand.get("language") or job.get("language", "zh-CN"),
                        Status.INVITED.value,
                        _plan_value(plan, iid, self.fields),
                        nonce,
                        expires_at,
                        now,
                        now,
                    ),
                )
                _event(conn, iid, job["org_id"], "status", actor, {"status": "invited"})

        await self.db.transaction(work)
        return ids

    async def get_interview(self, interview_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM interviews WHERE id=?", interview_id)
        if row is None:
            raise NotFound(f"interview {interview_id} not found")
        return _interview_dict(row, self.fields)

    async def list_interviews(self, job_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM interviews WHERE job_id=? ORDER BY created_at, id", job_id
        )
        return [_interview_dict(r, self.fields) for r in rows]

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

        def work(conn: sqlite3.Connection) -> StatusChange | None:
            row = conn.execute(
                "SELECT status, job_id, org_id FROM interviews WHERE id=?", (interview_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"interview {interview_id} not found")
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
            _event(conn, interview_id, row["org_id"], "status", actor, {"status": new.value})
            return StatusChange(interview_id, row["job_id"], row["org_id"], old, new)

        return await self.db.transaction(work)

    async def expire_due(self, now_s: float, statuses: frozenset[Status]) -> list[StatusChange]:
        """Mark interviews whose link has expired before they started; returns the changes."""

        def work(conn: sqlite3.Connection) -> list[StatusChange]:
            marks = ",".join("?" for _ in statuses)
            rows = conn.execute(
                f"SELECT id, job_id, org_id, status FROM interviews"
                f" WHERE expires_at < ? AND status IN ({marks})",
                (now_s, *[s.value for s in statuses]),
            ).fetchall()
            changes = []
            for row in rows:
                _update(conn, row["id"], {"status": Status.EXPIRED.value})
                _event(conn, row["id"], row["org_id"], "status", "system", {"status": "expired"})
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
            "UPDATE interviews SET flow=?, updated_at=? WHERE id=? AND owner IS ?",
            dumps(flow),
            _now(),
            interview_id,
            owner,
        )
        if not changed:
            raise Superseded(f"interview {interview_id} is now run by another session")

    async def add_event(
        self,
        interview_id: str | None,
        org_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        ip: str | None = None,
    ) -> None:
        """Audit: who (``actor``), what (``kind``, ``data``), when, from where (``ip``)."""
        if ip is not None:
            data = {**data, "ip": ip}
        await self.db.transaction(
            lambda conn: _event(conn, interview_id, org_id, kind, actor, data)
        )

    async def audit_events(
        self, org_id: str, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT id, interview_id, at, kind, actor, data, prev_hash, hash FROM events"
            " WHERE org_id=? AND id>? ORDER BY id LIMIT ?",
            org_id,
            after_id,
            limit,
        )
        return [{**dict(r), "data": loads(r["data"])} for r in rows]

    async def verify_audit_chain(self, page_events: int | None = None) -> dict[str, Any]:
        """Recompute the whole chain; the first event that does not match is reported.

        The log is read ``page_events`` events at a time (default
        :data:`AUDIT_VERIFY_PAGE_EVENTS`), each page in its own short call on the database
        thread so other database work runs in between; the hashing runs in a worker thread.
        """
        size = page_events or AUDIT_VERIFY_PAGE_EVENTS
        chain = AuditChainCheck()
        after_id = -1
        while True:
            rows = await self.db.fetchall(
                "SELECT id, interview_id, org_id, at, kind, actor, data, prev_hash, hash"
                " FROM events WHERE id>? ORDER BY id LIMIT ?",
                after_id,
                size,
            )
            if not rows:
                return chain.verdict()
            if (broken := await asyncio.to_thread(chain.feed, rows)) is not None:
                return broken
            after_id = rows[-1]["id"]

    async def events(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT at, kind, actor, data FROM events WHERE interview_id=? ORDER BY id",
            interview_id,
        )
        return [{**dict(r), "data": loads(r["data"])} for r in rows]

    # -- analysis ---------------------------------------------------------------------------

    async def add_analysis_events(self, events: Sequence[dict[str, Any]]) -> None:
        """Persist analysis events (finals, flags, scores, metrics, errors) in one transaction.

        An event with an ``event_id`` already stored is skipped (at-least-once delivery)."""

        def work(conn: sqlite3.Connection) -> None:
            now = _now()
            conn.executemany(
                "INSERT OR IGNORE INTO analysis_events(interview_id, type, question_index, t, data,"
                " created_at, event_id) VALUES(?,?,?,?,?,?,?)",
                [
                    (
                        e["interview_id"],
                        e["type"],
                        e.get("question_index"),
                        e.get("t", 0.0),
                        self.fields.seal_json(e, analysis_aad(e["interview_id"])),
                        now,
                        e.get("event_id"),
                    )
                    for e in events
                ],
            )

        await self.db.transaction(work)

    async def analysis_events(
        self, interview_id: str, types: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        if types:
            marks = ",".join("?" for _ in types)
            rows = await self.db.fetchall(
                f"SELECT data FROM analysis_events WHERE interview_id=? AND type IN ({marks})"
                " ORDER BY id",
                interview_id,
                *types,
            )
        else:
            rows = await self.db.fetchall(
                "SELECT data FROM analysis_events WHERE interview_id=? ORDER BY id", interview_id
            )
        aad = analysis_aad(interview_id)
        return [self.fields.open_json(r["data"], aad) for r in rows]

    # -- human review -----------------------------------------------------------------------

    async def save_review(
        self, interview_id: str, user: dict[str, Any], dimension: str, value: float, comment: str
    ) -> None:
        """A reviewer's override of one dimension (their latest one counts)."""
        await self.db.execute(
            "INSERT OR REPLACE INTO reviews(interview_id, reviewer_id, reviewer, dimension, value,"
            " comment, created_at) VALUES(?,?,?,?,?,?,?)",
            interview_id,
            user["id"],
            user["username"],
            dimension,
            value,
            comment,
            _now(),
        )

    async def reviews(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM reviews WHERE interview_id=? ORDER BY created_at", interview_id
        )
        return [dict(r) for r in rows]

    async def save_decision(
        self, interview_id: str, user: dict[str, Any], recommendation: str, comment: str
    ) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO decisions(interview_id, reviewer_id, reviewer, recommendation,"
            " comment, created_at) VALUES(?,?,?,?,?,?)",
            interview_id,
            user["id"],
            user["username"],
            recommendation,
            comment,
            _now(),
        )

    async def decisions(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM decisions WHERE interview_id=? ORDER BY created_at", interview_id
        )
        return [dict(r) for r in rows]

    # -- answers and recordings -----------------------------------------------------------

    async def ensure_answer(self, interview_id: str, idx: int, question_id: str) -> dict[str, Any]:
        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT OR IGNORE INTO answers(id, interview_id, idx, question_id, status)"
                " VALUES(?,?,?,?,?)",
                (new_id("ans"), interview_id, idx, question_id, "pending"),
            )
            row = conn.execute(
                "SELECT * FROM answers WHERE interview_id=? AND idx=?", (interview_id, idx)
            ).fetchone()
            return _answer_dict(row, self.fields)

        return await self.db.transaction(work)

    async def answer_started(self, answer_id: str, at_s: float) -> None:
        await self.db.execute(
            "UPDATE answers SET status='answering', started_at=COALESCE(started_at, ?) WHERE id=?",
            at_s,
            answer_id,
        )

    async def answer_ended(self, answer_id: str, at_s: float, used_s: float, reason: str) -> None:
        await self.db.execute(
            "UPDATE answers SET status='done', ended_at=?, answer_used_s=?, end_reason=? WHERE id=?",
            at_s,
            used_s,
            reason,
            answer_id,
        )

    async def save_answer_text(self, interview_id: str, idx: int, field: str, text: str) -> bool:
        if field not in ("scratchpad", "text_answer"):
            raise ValueError(field)
        sealed = self.fields.seal(text, answer_aad(interview_id, idx, field))
        changed = await self.db.execute(
            f"UPDATE answers SET {field}=? WHERE interview_id=? AND idx=?",
            sealed,
            interview_id,
            idx,
        )
        return changed > 0

    async def answers(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM answers WHERE interview_id=? ORDER BY idx", interview_id
        )
        return [_answer_dict(r, self.fields) for r in rows]

    async def add_recording(self, answer_id: str, interview_id: str, info: dict[str, Any]) -> str:
        rec_id = new_id("rec")

        def work(conn: sqlite3.Connection) -> None:
            (seq,) = conn.execute(
                "SELECT COUNT(*) FROM recordings WHERE answer_id=?", (answer_id,)
            ).fetchone()
            conn.execute(
                "INSERT INTO recordings(id, answer_id, interview_id, seq, path, container,"
                " duration_s, video_frames, audio_packets, bytes, created_at, media_start_s)"
                " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec_id,
                    answer_id,
                    interview_id,
                    seq,
                    info["path"],
                    info["container"],
                    info["duration_s"],
                    info["video_frames"],
                    info["audio_packets"],
                    info["bytes"],
                    _now(),
                    info.get("media_start_s"),
                ),
            )

        await self.db.transaction(work)
        return rec_id

    async def recordings(self, interview_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM recordings WHERE interview_id=? ORDER BY answer_id, seq", interview_id
        )
        return [dict(r) for r in rows]

    async def get_recording(self, rec_id: str) -> dict[str, Any]:
        row = await self.db.fetchone("SELECT * FROM recordings WHERE id=?", rec_id)
        if row is None:
            raise NotFound(f"recording {rec_id} not found")
        return dict(row)


def _update(conn: sqlite3.Connection, interview_id: str, fields: dict[str, Any]) -> None:
    allowed = {"status", "consent", "device_check", "flow"}
    cols = []
    values: list[Any] = []
    for key, value in fields.items():
        if key not in allowed:
            raise ValueError(f"cannot update {key}")
        cols.append(f"{key}=?")
        values.append(value if isinstance(value, str | None) else dumps(value))
    cols.append("updated_at=?")
    values.append(_now())
    conn.execute(f"UPDATE interviews SET {', '.join(cols)} WHERE id=?", (*values, interview_id))


AUDIT_GENESIS = "0" * 64
"""The ``prev_hash`` of the first chained audit event."""
AUDIT_VERIFY_PAGE_EVENTS = 5000
"""Audit events read per database call while verifying the chain."""


def _chain_break(event_id: int, reason: str, checked: int) -> dict[str, Any]:
    return {"ok": False, "first_bad_id": event_id, "reason": reason, "checked": checked}


@dataclass
class AuditChainCheck:
    """A chain verification fed one page of events at a time, in id order; the state carried
    from page to page is the previous event's hash and the counts."""

    prev: str | None = None
    """The hash of the last chained event seen; None before the first one."""
    checked: int = 0
    unchained: int = 0
    """Events written before the chain existed (only at the start of the log)."""

    def feed(self, rows: Sequence[sqlite3.Row]) -> dict[str, Any] | None:
        """Check the next page (CPU work: run it off the loop); the break, or None if intact."""
        for row in rows:
            if row["hash"] is None:  # written before the chain existed
                if self.prev is not None:
                    return _chain_break(row["id"], "event without hash", self.checked)
                self.unchained += 1
                continue
            expected_prev = self.prev if self.prev is not None else AUDIT_GENESIS
            if row["prev_hash"] != expected_prev:
                return _chain_break(row["id"], "an event before it was removed", self.checked)
            digest = audit_hash(
                row["prev_hash"],
                row["interview_id"],
                row["org_id"],
                row["at"],
                row["kind"],
                row["actor"],
                row["data"],
            )
            if digest != row["hash"]:
                return _chain_break(row["id"], "the event was changed", self.checked)
            self.prev, self.checked = row["hash"], self.checked + 1
        return None

    def verdict(self) -> dict[str, Any]:
        """The result once every page has been fed without a break."""
        return {"ok": True, "checked": self.checked, "unchained": self.unchained, "head": self.prev}


def audit_hash(
    prev: str, interview_id: str | None, org_id: str, at: float, kind: str, actor: str, data: str
) -> str:
    """SHA-256 over the previous hash and every field of an audit event."""
    canonical = json.dumps(
        [prev, interview_id, org_id, at, kind, actor, data],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _event(
    conn: sqlite3.Connection,
    interview_id: str | None,
    org_id: str,
    kind: str,
    actor: str,
    data: dict[str, Any],
) -> None:
    """Append to the audit log, chained to the previous event (call inside a transaction)."""
    last = conn.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    prev = last[0] if last is not None and last[0] else AUDIT_GENESIS
    at, body = _now(), dumps(data)
    conn.execute(
        "INSERT INTO events(interview_id, org_id, at, kind, actor, data, prev_hash, hash)"
        " VALUES(?,?,?,?,?,?,?,?)",
        (
            interview_id,
            org_id,
            at,
            kind,
            actor,
            body,
            prev,
            audit_hash(prev, interview_id, org_id, at, kind, actor, body),
        ),
    )
