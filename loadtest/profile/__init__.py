"""A CPU budget you can read: where the server's CPU goes, per stage, per live candidate.

``interview-live-loadtest --profile OUT_DIR`` samples every process of the server tree over
the measured window of each load level (py-spy, two recorders, plus /proc CPU per thread)
and writes ``OUT_DIR/candidates-N/profile.{json,md}``: CPU of every stage (RTP receive,
jitter buffer, decoding, recorder, face, posture, VAD, ASR, scoring, publication,
persistence…) as % of one core per candidate, on both sides of the process boundary.
``python -m loadtest.profile`` re-reads a capture with another rule table, or profiles
running processes. Stage rules: ``loadtest/data/profile_stages.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest.profile.budget import analyse, markdown, write
from loadtest.profile.capture import (
    DEFAULT_RATE_HZ,
    Capture,
    ProfilerUnavailable,
    capture,
    capture_window,
    load_capture,
    py_spy_path,
)
from loadtest.profile.stages import Rules, Stack, load_rules, parse_line

__all__ = [
    "DEFAULT_RATE_HZ",
    "Capture",
    "ProfilerUnavailable",
    "Rules",
    "Stack",
    "analyse",
    "capture",
    "capture_window",
    "finish",
    "level_dir",
    "load_capture",
    "load_rules",
    "markdown",
    "parse_line",
    "py_spy_path",
    "write",
]


def level_dir(out_root: Path | str, candidates: int) -> Path:
    """Where the capture of one load level goes."""
    return Path(out_root) / f"candidates-{candidates}"


def finish(
    cap: Capture, candidates: int, *, rules: Rules | None = None, label: str = ""
) -> dict[str, Any]:
    """Analyse ``cap`` for ``candidates`` live candidates, write ``profile.json`` and
    ``profile.md`` next to the raw files, and return what the load-test summary keeps."""
    profile = analyse(cap, rules or load_rules(), candidates, label=label)
    paths = write(profile, cap.out_dir)
    return summary_entry(profile, paths)


def summary_entry(profile: dict[str, Any], paths: dict[str, Path]) -> dict[str, Any]:
    total = profile["total"]
    return {
        "dir": str(paths["json"].parent),
        "json": str(paths["json"]),
        "md": str(paths["md"]),
        "candidates": profile["candidates"],
        "proc_percent": total["proc_percent"],
        "coverage": total["coverage"],
        "unclassified_share": total["unclassified_share"],
        "percent_per_candidate": {
            row["stage"]: row["percent_per_candidate"]
            for row in profile["stages"]
            if row["percent_per_candidate"]
        },
    }
