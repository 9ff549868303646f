"""Messages to candidates (table ``outbox``): reminders and system invitations, kept whether
or not they are e-mailed; recipient and body are sealed."""

from __future__ import annotations

from typing import Any

from server.storage.repos.base import Repository, epoch_s


def _aad(message_id: str, column: str) -> str:
    return f"outbox/{message_id}/{column}"


class OutboxRepository(Repository):
    """One row per message; its status goes queued → sent or failed."""

    async def add_message(self, org_id: str, item: dict[str, Any]) -> None:
        """Store ``item`` (``id``, ``interview_id``, ``kind``, ``recipient``, ``subject``,
        ``body``) as queued."""
        await self.db.execute(
            "INSERT INTO outbox(id, org_id, interview_id, kind, recipient, subject, body, status,"
            " created_at) VALUES(?,?,?,?,?,?,?,?,?)",
            item["id"],
            org_id,
            item["interview_id"],
            item["kind"],
            self.fields.seal(item["recipient"], _aad(item["id"], "recipient")),
            item["subject"],
            self.fields.seal(item["body"], _aad(item["id"], "body")),
            "queued",
            epoch_s(),
        )

    async def set_message_status(self, message_id: str, error: str | None) -> None:
        """Sent (``error`` None) or failed with ``error``."""
        await self.db.execute(
            "UPDATE outbox SET status=?, error=? WHERE id=?",
            "sent" if error is None else "failed",
            error,
            message_id,
        )

    async def job_outbox(self, job_id: str) -> list[dict[str, Any]]:
        """The messages to the candidates of a job, oldest first, opened."""
        rows = await self.db.fetchall(
            "SELECT o.id, o.interview_id, o.kind, o.recipient, o.subject, o.body, o.status,"
            " o.error, o.created_at"
            " FROM outbox o JOIN interviews i ON i.id = o.interview_id WHERE i.job_id=?"
            " ORDER BY o.created_at",
            job_id,
        )
        return [
            {
                **dict(r),
                "recipient": self.fields.open(r["recipient"], _aad(r["id"], "recipient")),
                "body": self.fields.open(r["body"], _aad(r["id"], "body")),
            }
            for r in rows
        ]
