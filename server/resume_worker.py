"""What runs inside the résumé parse worker process (kept light: the process imports only
this module and the parsers)."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

WORKER_NICENESS = 10
"""Added to the parse worker's nice value: live interviews win the CPU."""
MAX_FILE_BYTES = 10 * 1024 * 1024


def lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def parse_resume(filename: str, data: bytes, reference: tuple[int, int]) -> dict[str, Any]:
    """One file → ``{"profile", "text"}`` or ``{"error", "message"}`` (never raises)."""
    from server.resume_extract import extract_profile
    from server.resume_text import ResumeFileError, extract_text

    try:
        text = extract_text(filename, data, max_bytes=MAX_FILE_BYTES)
        profile = extract_profile(text, reference)
    except ResumeFileError as exc:
        return {"error": exc.code, "message": exc.message}
    except Exception as exc:  # a parser bug must not lose the batch
        logger.exception("parsing %s failed", filename)
        return {
            "error": "parse_failed",
            "message": f"could not read the file ({type(exc).__name__})",
        }
    return {"profile": profile.to_dict(), "text": profile.text or text}
