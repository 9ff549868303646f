"""The org's training catalogue (table ``training_courses``): the courses reports recommend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.storage.db import Connection
from server.storage.repos.base import Repository


class TrainingRepository(Repository):
    """An org's courses, replaced as a whole by each import."""

    async def training_catalogue(self, org_id: str) -> list[dict[str, Any]]:
        """The org's courses by competency, in import order."""
        rows = await self.db.fetchall(
            "SELECT course, competency, level, link, description FROM training_courses"
            " WHERE org_id=? ORDER BY competency, id",
            org_id,
        )
        return [dict(r) for r in rows]

    async def replace_training_catalogue(
        self, org_id: str, courses: Sequence[dict[str, str]]
    ) -> None:
        """The org's catalogue becomes ``courses`` (one transaction)."""

        def work(conn: Connection) -> None:
            conn.lock(f"training/{org_id}")  # two imports at once: one catalogue, not both
            conn.execute("DELETE FROM training_courses WHERE org_id=?", (org_id,))
            conn.executemany(
                "INSERT INTO training_courses(org_id, course, competency, level, link,"
                " description) VALUES(?,?,?,?,?,?)",
                [
                    (org_id, c["course"], c["competency"], c["level"], c["link"], c["description"])
                    for c in courses
                ],
            )

        await self.db.transaction(work)
