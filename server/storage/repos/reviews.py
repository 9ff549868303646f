"""Human review: per-reviewer overrides and decisions (tables ``reviews``, ``decisions``),
kept apart from the AI's suggestions."""

from __future__ import annotations

from typing import Any, Literal

from server.domain.models import StaffUser
from server.storage.repos.base import Repository, epoch_s


class ReviewRepository(Repository):
    """Overrides of one dimension and recommendations; a reviewer's latest one counts."""

    async def save_review(
        self, interview_id: str, user: StaffUser, dimension: str, value: float, comment: str
    ) -> None:
        """A reviewer's override of one dimension (their latest one counts)."""
        await self.db.execute(
            "INSERT INTO reviews(interview_id, reviewer_id, reviewer, dimension, value, comment,"
            " created_at) VALUES(?,?,?,?,?,?,?) ON CONFLICT (interview_id, reviewer_id, dimension)"
            " DO UPDATE SET reviewer=excluded.reviewer, value=excluded.value,"
            " comment=excluded.comment, created_at=excluded.created_at",
            interview_id,
            user.id,
            user.username,
            dimension,
            value,
            comment,
            epoch_s(),
        )

    async def reviews(self, interview_id: str) -> list[dict[str, Any]]:
        return await self._oldest_first("reviews", interview_id)

    async def save_decision(
        self, interview_id: str, user: StaffUser, recommendation: str, comment: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO decisions(interview_id, reviewer_id, reviewer, recommendation, comment,"
            " created_at) VALUES(?,?,?,?,?,?) ON CONFLICT (interview_id, reviewer_id)"
            " DO UPDATE SET reviewer=excluded.reviewer, recommendation=excluded.recommendation,"
            " comment=excluded.comment, created_at=excluded.created_at",
            interview_id,
            user.id,
            user.username,
            recommendation,
            comment,
            epoch_s(),
        )

    async def decisions(self, interview_id: str) -> list[dict[str, Any]]:
        return await self._oldest_first("decisions", interview_id)

    async def decided_before(self, org_id: str, before_s: float) -> list[str]:
        """Interviews of the org whose last human decision is older than ``before_s``."""
        rows = await self.db.fetchall(
            "SELECT d.interview_id FROM decisions d JOIN interviews i ON i.id = d.interview_id"
            " WHERE i.org_id=? GROUP BY d.interview_id HAVING MAX(d.created_at) < ?",
            org_id,
            before_s,
        )
        return [r["interview_id"] for r in rows]

    async def _oldest_first(
        self, table: Literal["reviews", "decisions"], interview_id: str
    ) -> list[dict[str, Any]]:
        """The interview's rows of ``table``, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT * FROM {table} WHERE interview_id=? ORDER BY created_at", interview_id
        )
        return [dict(r) for r in rows]
