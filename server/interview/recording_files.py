"""Where recording files live: one folder per interview inside the recordings folder
(``Settings.recordings_root``), which several machines may share (an NFS mount or similar).

The database names a file relative to that folder (``<interview id>/<file name>``), so a
file written by one media node is found by an API node whose folder is mounted elsewhere.
Rows written before relative names (absolute paths) still resolve while they point inside
the folder. Nothing here reads, writes or deletes outside the folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from media.recorder import FileOpener, ProbedSegment
from server.core.config import ConfigError

logger = logging.getLogger(__name__)

FOLDER_MODE = 0o700
"""Recordings are readable by the server's user only (on every node: the same user id)."""
SEGMENT_NAME = re.compile(r"^(?P<index>\d{2})-(?P<started_ms>\d+)\.webm$")
"""A segment file's name: the question's index, then when the segment started (epoch ms)."""


@dataclass(frozen=True, slots=True)
class RecordingFiles:
    """Where a session's recordings go, how a file is created (encrypted, in production),
    how one whose writer died is finalised and read back (``adopt``), and who is told of a
    segment that is closed and registered (``finished``, with its stored name: the object
    store's uploads)."""

    root: Path
    create: FileOpener | None = None
    adopt: Callable[[Path], ProbedSegment | None] | None = None
    finished: Callable[[str], None] | None = None


def segment_name(index: int, started_s: float) -> str:
    """The file name of a segment of question ``index`` started at ``started_s``."""
    return f"{index:02d}-{int(started_s * 1000)}.webm"


def left_behind(folder: Path, known: set[str], older_than_s: float) -> list[tuple[int, Path]]:
    """Segment files in an interview's ``folder`` whose names are not in ``known`` and that
    were last written more than ``older_than_s`` ago, by start time, with their question
    index: what a writer that died left there."""
    found = []
    now = time.time()
    with contextlib.suppress(FileNotFoundError):
        for entry in folder.iterdir():
            match = SEGMENT_NAME.match(entry.name)
            if match is None or entry.name in known or not entry.is_file():
                continue
            if now - entry.stat().st_mtime > older_than_s:
                found.append((int(match["started_ms"]), int(match["index"]), entry))
    return [(index, path) for _, index, path in sorted(found)]


def adopted_info(stored: str, probed: ProbedSegment) -> dict[str, Any]:
    """The recording row of a segment a crashed process left (finalised and probed)."""
    return {
        "path": stored,
        "container": PurePosixPath(stored).suffix.lstrip("."),
        "duration_s": probed.duration_s,
        "video_frames": probed.video_frames,
        "audio_packets": probed.audio_packets,
        "bytes": probed.bytes,
        "media_start_s": probed.media_start_s,  # from the file's header
    }


def stored_name(interview_id: str, file_name: str) -> str:
    """What the database keeps for a file of the interview: its path inside the folder."""
    name = PurePosixPath(interview_id, file_name)
    if len(name.parts) != 2 or ".." in name.parts:
        raise ValueError(f"not a recording name: {interview_id!r}, {file_name!r}")
    return str(name)


def resolve(root: Path, stored: str) -> Path | None:
    """The stored file's path if it lies inside ``root`` (no traversal), else None. A legacy
    absolute path counts when it is inside ``root`` as this process sees it."""
    base = root.resolve()
    path = (base / stored).resolve()
    return path if path.is_relative_to(base) and path != base else None


def existing_file(root: Path, stored: str) -> Path | None:
    """:func:`resolve`, and only when the file is there."""
    path = resolve(root, stored)
    return path if path is not None and path.is_file() else None


def delete_interview_files(root: Path, interview_id: str, stored: Iterable[str]) -> int:
    """Delete the interview's recordings: the stored files, then whatever else is in its
    folder (a segment a crashed media node never registered), then the folder. Returns how
    many files were deleted; nothing outside ``root`` is touched."""
    deleted = 0
    for name in stored:
        path = resolve(root, name)
        if path is None:
            logger.error("not deleting %s: outside %s", name, root)
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted += 1
    folder = resolve(root, interview_id)
    if folder is None or folder.parent != root.resolve() or not folder.is_dir():
        return deleted
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                deleted += 1
    with contextlib.suppress(OSError):  # not empty: something that is not a recording
        folder.rmdir()
    return deleted


def prepare_root(root: Path) -> None:
    """Create the folder (owner-only) and check this process can write in it: a read-only
    or foreign-owned shared mount stops the start with a clear message.

    Raises:
        ConfigError: the folder cannot be made private to this user or is not writable.
    """
    try:
        root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        root.chmod(FOLDER_MODE)
        probe = root / f".write-check-{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"recordings_dir: {root}: {exc.strerror or exc}; this server's user must own the "
            "folder and be able to write in it (on a shared mount: the same user id on every node)"
        ) from None
