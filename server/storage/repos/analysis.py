"""Durable analysis events: finals, flags, scores, metrics, errors (table
``analysis_events``, sealed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.storage.db import Connection
from server.storage.repos.base import Repository, epoch_s


def analysis_aad(interview_id: str) -> str:
    return f"analysis/{interview_id}"


class AnalysisRepository(Repository):
    """The analyzers' events of an interview, in arrival order."""

    async def add_analysis_events(self, events: Sequence[dict[str, Any]]) -> None:
        """Persist analysis events (finals, flags, scores, metrics, errors) in one transaction.

        An event with an ``event_id`` already stored is skipped (at-least-once delivery)."""

        def work(conn: Connection) -> None:
            now = epoch_s()
            conn.executemany(
                "INSERT INTO analysis_events(interview_id, type, question_index, t, data,"
                " created_at, event_id) VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
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
