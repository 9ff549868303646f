"""Erasure of a candidate's personal data across the interview's tables, in one transaction."""

from __future__ import annotations

from server.storage.db import Connection
from server.storage.repos.analysis import analysis_aad
from server.storage.repos.base import Repository, epoch_s, existing_row
from server.storage.repos.interviews import candidate_aad, plan_aad, plan_value, without_resume

ERASED_CANDIDATE = {"name": "(erased)", "erased": True}
"""What an interview's candidate column holds after erasure."""
KEPT_ANALYSIS_TYPES = ("score_update", "flag", "analyzer_error")
"""Analysis events erasure keeps (scores lose their quoted evidence)."""


class PrivacyRepository(Repository):
    """The right to deletion (PIPL): what identifies the candidate goes, scores stay."""

    async def erase_personal_data(self, interview_id: str) -> dict[str, int]:
        """Remove what identifies the candidate or holds their words; keep scores, flags and
        decisions (without quoted evidence) and the consent record. Recording rows go too
        (their files are the caller's)."""
        fields = self.fields

        def work(conn: Connection) -> dict[str, int]:
            existing_row(  # locks the interview's row; NotFound when there is none
                conn,
                "SELECT org_id FROM interviews WHERE id=? FOR UPDATE",
                interview_id,
                "interview",
            )
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
            marks = ",".join("?" for _ in KEPT_ANALYSIS_TYPES)
            removed_events = conn.execute(
                f"DELETE FROM analysis_events WHERE interview_id=? AND type NOT IN ({marks})",
                (interview_id, *KEPT_ANALYSIS_TYPES),
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
            now = epoch_s()
            plan_row = conn.execute(
                "SELECT plan FROM interviews WHERE id=?", (interview_id,)
            ).fetchone()
            plan = fields.open_json(plan_row["plan"], plan_aad(interview_id)) if plan_row else []
            if any(item.get("personalised") for item in plan):  # questions quoting the résumé
                plan = [without_resume(item) for item in plan]
                conn.execute(
                    "UPDATE interviews SET plan=? WHERE id=?",
                    (plan_value(plan, interview_id, fields), interview_id),
                )
            conn.execute(
                "UPDATE interviews SET candidate=?, erased_at=?, updated_at=? WHERE id=?",
                (
                    fields.seal_json(ERASED_CANDIDATE, candidate_aad(interview_id)),
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
