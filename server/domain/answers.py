"""An interview's answers and their recording segments, as the store hands them out.

Plain frozen records (change one with :func:`dataclasses.replace`); ``to_dict`` gives the
row's dict shape (every column, in the table's order) for the places that serialise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.record import Row, columns, from_columns


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
        return from_columns(cls, row)

    def to_dict(self) -> dict[str, Any]:
        return columns(self)


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording segment of an answer (one per media connection); the file is at
    ``path`` (encrypted) inside the recordings folder (``<interview id>/<name>``; rows from
    before migration 5 may hold an absolute path), its start on the analysis media clock is
    ``media_start_s``."""

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
        return from_columns(cls, row)

    def to_dict(self) -> dict[str, Any]:
        return columns(self)
