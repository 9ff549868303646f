"""What runs inside the résumé worker process (kept light: the process imports only this
module, and each function imports what it needs when first called).

Every function here takes and returns plain data (dicts, lists, strings), so its arguments
pickle cheaply on their way to the worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

WORKER_NICENESS = 10
"""Added to the worker's nice value: live interviews win the CPU."""
MAX_FILE_BYTES = 10 * 1024 * 1024


def lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def parse_resume(filename: str, data: bytes, reference: tuple[int, int]) -> dict[str, Any]:
    """One file → ``{"profile", "text"}`` or ``{"error", "message"}`` (never raises).

    Logs never name the file (names usually hold the candidate's name)."""
    from server.resumes.extract import extract_profile
    from server.resumes.resume_errors import ResumeFileError
    from server.resumes.resume_text import extract_text

    try:
        text = extract_text(filename, data, max_bytes=MAX_FILE_BYTES)
        profile = extract_profile(text, reference)
    except ResumeFileError as exc:
        return {"error": exc.code, "message": exc.message}
    except Exception as exc:  # a parser bug must not lose the batch
        logger.exception("parsing a file of %d bytes failed", len(data))
        return {
            "error": "parse_failed",
            "message": f"could not read the file ({type(exc).__name__})",
        }
    return {"profile": profile.to_dict(), "text": profile.text or text}


def match_profile(
    profile: dict[str, Any], text: str, requirements: Mapping[str, Any], language: str
) -> dict[str, Any]:
    """A stored profile (``Profile.to_dict()``) and its résumé text against requirements →
    the match result of :func:`server.resumes.screening.match`."""
    from server.resumes.profile import Profile
    from server.resumes.screening import match

    return match(Profile.from_dict(profile, text), requirements, language)


def match_profiles(
    items: list[tuple[dict[str, Any], str]], requirements: Mapping[str, Any], language: str
) -> list[dict[str, Any]]:
    """:func:`match_profile` for many ``(profile, text)`` pairs in one call (re-matching)."""
    return [match_profile(profile, text, requirements, language) for profile, text in items]


def personalise_profile(
    profile: dict[str, Any], job: Mapping[str, Any], language: str, count: int
) -> list[dict[str, Any]]:
    """Personalised follow-up questions for a stored profile (:func:`server.resumes.followups.personalise`)."""
    from server.resumes.followups import personalise
    from server.resumes.profile import Profile

    return personalise(Profile.from_dict(profile), job, language, count)
