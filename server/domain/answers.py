"""An interview's answers and their recording segments, as the store hands them out.

Plain frozen records (change one with :func:`dataclasses.replace`); ``to_dict`` gives the
row's dict shape (every column, in the table's order) for the places that serialise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Row(Protocol):
    """A row by column name: a ``sqlite3.Row`` or a dict."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """One question of an interview: timing, status and the candidate's written words
    (``scratchpad``, ``text_answer``: opened, never sealed, here)."""

    id: str
    interview_id: str
    idx: int
    question_id: str
    status: str
    """``pending``, ``answering`` or ``done``."""
    started_at: float | None
    ended_at: float | None
    answer_used_s: float
    end_reason: str | None
    scratchpad: str
    text_answer: str

    @classmethod
    def from_row(cls, row: Row) -> Answer:
        """From an ``answers`` row whose text columns are already opened."""
        return cls(
            id=row["id"],
            interview_id=row["interview_id"],
            idx=row["idx"],
            question_id=row["question_id"],
            status=row["status"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            answer_used_s=row["answer_used_s"],
            end_reason=row["end_reason"],
            scratchpad=row["scratchpad"],
            text_answer=row["text_answer"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "interview_id": self.interview_id,
            "idx": self.idx,
            "question_id": self.question_id,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "answer_used_s": self.answer_used_s,
            "end_reason": self.end_reason,
            "scratchpad": self.scratchpad,
            "text_answer": self.text_answer,
        }


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording segment of an answer (one per media connection); the file is at
    ``path`` (encrypted), its start on the analysis media clock is ``media_start_s``."""

    id: str
    answer_id: str
    interview_id: str
    seq: int
    path: str
    container: str
    duration_s: float
    video_frames: int
    audio_packets: int
    bytes: int
    created_at: float
    media_start_s: float | None

    @classmethod
    def from_row(cls, row: Row) -> Recording:
        """From a ``recordings`` row."""
        return cls(
            id=row["id"],
            answer_id=row["answer_id"],
            interview_id=row["interview_id"],
            seq=row["seq"],
            path=row["path"],
            container=row["container"],
            duration_s=row["duration_s"],
            video_frames=row["video_frames"],
            audio_packets=row["audio_packets"],
            bytes=row["bytes"],
            created_at=row["created_at"],
            media_start_s=row["media_start_s"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "answer_id": self.answer_id,
            "interview_id": self.interview_id,
            "seq": self.seq,
            "path": self.path,
            "container": self.container,
            "duration_s": self.duration_s,
            "video_frames": self.video_frames,
            "audio_packets": self.audio_packets,
            "bytes": self.bytes,
            "created_at": self.created_at,
            "media_start_s": self.media_start_s,
        }
