"""Answers and their recording segments (tables ``answers``, ``recordings``)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from server.domain.answers import Answer, Recording
from server.security.auth import new_id
from server.security.fields import FieldCipher
from server.storage.db import Connection, Row
from server.storage.errors import NotFound
from server.storage.repos.base import Repository, epoch_s

ANSWER_TEXT_FIELDS = ("scratchpad", "text_answer")
"""The candidate's own words on an answer: sealed columns."""


def answer_aad(interview_id: str, idx: int, field: str) -> str:
    """What a sealed answer field is bound to. ``idx`` must be an ``int`` itself: ``True`` or
    ``1.0`` select row 1 in SQL but would bind the field to ``True``/``1.0``, unreadable after."""
    if type(idx) is not int:
        raise TypeError(f"an answer index is an int, not {type(idx).__name__}")
    return f"answers/{interview_id}/{idx}/{field}"


def _answer(row: Row, fields: FieldCipher) -> Answer:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row
    for name in ANSWER_TEXT_FIELDS:
        out[name] = fields.open(out[name], answer_aad(out["interview_id"], out["idx"], name))
    return Answer.from_row(out)


class AnswerRepository(Repository):
    """One row per question of an interview: timing, status and the written text."""

    async def ensure_answer(self, interview_id: str, idx: int, question_id: str) -> Answer:
        def work(conn: Connection) -> Answer:
            conn.execute(
                "INSERT INTO answers(id, interview_id, idx, question_id, status)"
                " VALUES(?,?,?,?,?) ON CONFLICT (interview_id, idx) DO NOTHING",
                (new_id("ans"), interview_id, idx, question_id, "pending"),
            )
            row = conn.execute(
                "SELECT * FROM answers WHERE interview_id=? AND idx=?", (interview_id, idx)
            ).fetchone()
            return _answer(row, self.fields)

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
        if field not in ANSWER_TEXT_FIELDS:
            raise ValueError(field)
        sealed = self.fields.seal(text, answer_aad(interview_id, idx, field))
        changed = await self.db.execute(
            f"UPDATE answers SET {field}=? WHERE interview_id=? AND idx=?",
            sealed,
            interview_id,
            idx,
        )
        return changed > 0

    async def answers(self, interview_id: str) -> list[Answer]:
        rows = await self.db.fetchall(
            "SELECT * FROM answers WHERE interview_id=? ORDER BY idx", interview_id
        )
        return [_answer(r, self.fields) for r in rows]


class RecordingRepository(Repository):
    """Recording segments: one or more per answer (one per connection), files elsewhere."""

    async def add_recording(self, answer_id: str, interview_id: str, info: dict[str, Any]) -> str:
        """A new segment of the answer; ``info["path"]`` names the file inside the recordings
        folder (``<interview id>/<name>``): every node finds it there, wherever the folder
        is mounted. Segments are numbered (``seq``) in the order of their file names, which
        start with the question and the start time: a segment registered late (one a crashed
        process left behind, adopted by the next) takes its place in time. A file already
        registered is not registered twice: its id is returned.

        Raises:
            ValueError: the path is absolute or leaves the folder.
        """
        path = PurePosixPath(info["path"])
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(
                f"recording path {info['path']!r}: relative to the recordings folder, inside it"
            )
        rec_id = new_id("rec")

        def work(conn: Connection) -> str:
            # the answer's row is locked first: two segments of one answer get two numbers
            conn.execute("SELECT id FROM answers WHERE id=? FOR UPDATE", (answer_id,))
            others = conn.execute(
                "SELECT id, path FROM recordings WHERE answer_id=?", (answer_id,)
            ).fetchall()
            for other in others:
                if other["path"] == info["path"]:
                    return str(other["id"])
            later = [(o["id"],) for o in others if PurePosixPath(o["path"]).name > path.name]
            seq = len(others) - len(later)
            if later:
                conn.executemany("UPDATE recordings SET seq = seq + 1 WHERE id=?", later)
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
                    epoch_s(),
                    info.get("media_start_s"),
                ),
            )
            return rec_id

        return await self.db.transaction(work)

    async def recordings(self, interview_id: str) -> list[Recording]:
        rows = await self.db.fetchall(
            "SELECT * FROM recordings WHERE interview_id=? ORDER BY answer_id, seq", interview_id
        )
        return [Recording.from_row(r) for r in rows]

    async def get_recording(self, rec_id: str) -> Recording:
        row = await self.db.fetchone("SELECT * FROM recordings WHERE id=?", rec_id)
        if row is None:
            raise NotFound(f"recording {rec_id} not found")
        return Recording.from_row(row)

    async def delete_recordings(self, interview_id: str) -> list[Recording]:
        """Remove the recordings' rows (files are the caller's); returns what was removed."""

        def work(conn: Connection) -> list[Recording]:
            rows = [
                Recording.from_row(r)
                for r in conn.execute(
                    "SELECT * FROM recordings WHERE interview_id=?", (interview_id,)
                )
            ]
            conn.execute("DELETE FROM recordings WHERE interview_id=?", (interview_id,))
            return rows

        return await self.db.transaction(work)
