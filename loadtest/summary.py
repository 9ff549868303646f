"""The numbers of one load level: per candidate over the measured window, then the summary the
report and the real-time verdict read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from analyzers.text import to_simplified
from loadtest.candidate.client import SENTENCES, sentences
from loadtest.report import realtime
from loadtest.sampling import (
    CandidateRun,
    HealthPoller,
    ProcessSeries,
    Recorder,
    count_between,
    percentile,
)

FINAL_SETTLE_S = 3.0
"""Sentences ending this close to the end of the run are not timed (their final may be late)."""


def _match_units(text: str) -> str:
    """Text compared for :func:`transcript_match`: lower-case Simplified characters and
    Latin/digit words (single-spaced), no punctuation."""
    units = re.findall(r"[\u3400-\u9fff]|[a-z0-9']+", to_simplified(text).lower())
    return "".join(u if len(u) == 1 and not u.isascii() else f" {u} " for u in units).strip()


def transcript_match(finals: Sequence[str], script: Sequence[str]) -> float | None:
    """Mean similarity (0..1) of each final to the part of the spoken script it best aligns
    with (rapidfuzz ``partial_ratio`` over :func:`_match_units`; the script is taken twice
    because the answer loops), weighted by the final's length; None without finals."""
    reference = _match_units(" ".join([*script, *script]))
    scored = [
        (len(u), fuzz.partial_ratio(u, reference) / 100) for f in finals if (u := _match_units(f))
    ]
    total = sum(n for n, _ in scored)
    return round(sum(n * r for n, r in scored) / total, 3) if total else None


def analysed_rate(
    counts: Sequence[tuple[float, int]], times: Sequence[float], t0: float, t1: float
) -> float:
    """Frames analysed per second of wall time in [t0, t1], from the server's running count
    in the events that arrived then; without counts (an older server), events received."""
    inside = [(t, n) for t, n in counts if t0 <= t <= t1]
    if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
    return count_between(times, t0, t1) / max(1e-6, t1 - t0)


def degraded(levels: Sequence[tuple[float, int]], t0: float, t1: float) -> dict[str, Any]:
    """How reduced a candidate's analysis was in [t0, t1] (``analysis_degraded`` events in
    arrival order, level 0 = full): the highest level in force and the seconds above 0."""
    level = 0
    for t, lv in levels:
        if t <= t0:
            level = lv
    highest, seconds, since = level, 0.0, t0
    for t, lv in levels:
        if t <= t0:
            continue
        if t > t1:
            break
        if level > 0:
            seconds += t - since
        level, since, highest = lv, t, max(highest, lv)
    if level > 0:
        seconds += t1 - since
    return {"max_level": highest, "seconds": round(seconds, 1)}


def lag_growth(points: Sequence[tuple[float, float]]) -> float | None:
    """Slope (seconds per minute) of a line fitted through (sentence end s, final latency s)
    points: how fast finals fall behind; None for fewer than three points."""
    if len(points) < 3:
        return None
    xs = np.array([m for m, _ in points]) / 60.0
    ys = np.array([lat for _, lat in points])
    return float(np.polyfit(xs - xs.min(), ys, 1)[0])


def candidate_metrics(
    run: CandidateRun, t0: float, t1: float, script: Sequence[str] = SENTENCES
) -> dict[str, Any]:
    window = max(1e-6, t1 - t0)
    run.resolve_latencies()
    face = count_between(run.face_times, t0, t1)
    last_mark = t1 - FINAL_SETTLE_S
    marks = [m for m in (run.audio.mark_times if run.audio else []) if t0 <= m <= last_mark]
    latencies = [(m, lat) for m, lat in run.latencies if t0 <= m <= last_mark]
    growth = lag_growth(latencies)
    received = [fps for r, fps in run.received_fps if t0 <= r <= t1]
    return {
        "index": run.index,
        "target": run.base_url,
        "interview_id": run.interview_id,
        "admitted": run.admitted,
        "refused": run.refused,
        "error": run.error,
        "redirected": run.redirected,
        "face_fps": analysed_rate(run.face_counts, run.face_times, t0, t1),
        "pose_fps": analysed_rate(run.pose_counts, run.pose_times, t0, t1),
        # face events that reached the viewer (coalesced when they come in bursts)
        "face_updates_fps": face / window,
        "received_fps": round(sum(received) / len(received), 2) if received else None,
        "finals": len(run.final_times),
        "transcript_match": transcript_match(run.final_texts, script),
        "sentences": len(marks),
        "final_latencies_s": [round(lat, 3) for _, lat in latencies],
        # when each of those sentences ended, seconds after the measurement began
        "final_marks_s": [round(m - t0, 3) for m, _ in latencies],
        "lag_growth_s_per_min": growth,
        "faces_seen": count_between(run.face_one_times, t0, t1) / max(1, face),
        "dropped_audio_s": round(run.dropped_audio_s, 2),
        "media_loss": run.media_loss,
        "analyzer_errors": run.errors,
        "analyzer_error_count": run.error_count,
        "degraded": degraded(run.levels, t0, t1),
    }


def rss_growth_percent(processes: list[dict[str, Any]]) -> float | None:
    """Growth of the summed RSS from the first fifth of the run to its last tenth (medians),
    in percent; the soak criterion (≤ 5 % over 30 minutes)."""
    series = [p["samples"] for p in processes if len(p.get("samples") or []) >= 10]
    if not series:
        return None
    n = min(len(s) for s in series)
    totals = [sum(s[i][2] for s in series) for i in range(n)]
    head = sorted(totals[: max(1, n // 5)])
    tail = sorted(totals[-max(1, n // 10) :])
    base, end = head[len(head) // 2], tail[len(tail) // 2]
    return round(100 * (end - base) / base, 2) if base > 0 else None


def process_summary(
    series: ProcessSeries, before: tuple[float, float], after: tuple[float, float], wall_s: float
) -> dict[str, Any]:
    """CPU % over the measured span, RSS at its end and at most, and the samples."""
    return {
        "pid": series.pid,
        "cpu_percent": round(100 * max(0.0, after[0] - before[0]) / max(1e-6, wall_s), 1),
        "rss_mb": round(after[1], 1),
        "rss_max_mb": round(max([after[1], *(s[2] for s in series.samples)]), 1),
        "samples": series.samples,
    }


@dataclass(frozen=True)
class Span:
    """The measured part of one load level (wall-clock seconds) and the sampled processes'
    (CPU seconds, RSS MiB) at both ends."""

    start: float
    """Every candidate has been started."""
    t0: float
    """Measuring from (``start`` + warm-up)."""
    t1: float
    usage0: list[tuple[float, float]]
    usage1: list[tuple[float, float]]


def summarise(
    recorder: Recorder,
    health: HealthPoller,
    span: Span,
    *,
    language: str,
    extra_viewers: int,
    targets: Sequence[str],
) -> dict[str, Any]:
    """The summary of one load level: worst candidate, percentiles over all, the real-time
    verdict, the time series and per-candidate details."""
    runs, meter, origin = recorder.runs, recorder.meter, recorder.origin
    n = len(runs)
    t_measure, t1 = span.t0, span.t1
    per = [candidate_metrics(r, t_measure, t1, sentences(language)) for r in runs]
    ok = [p for p in per if not p["refused"]]
    lat = [x for p in ok for x in p["final_latencies_s"]]
    dash = meter.between(t_measure, t1)
    growths = [p["lag_growth_s_per_min"] for p in ok if p["lag_growth_s_per_min"] is not None]
    lags = [lag for t, _, lag in health.loop_lag if t_measure - origin <= t <= t1 - origin]
    processes = [
        process_summary(s, u0, u1, t1 - span.start)
        for s, u0, u1 in zip(recorder.processes, span.usage0, span.usage1, strict=True)
    ]
    received = [p["received_fps"] for p in ok if p["received_fps"] is not None]
    summary: dict[str, Any] = {
        "candidates": n,
        "viewers": n + extra_viewers,
        "targets": list(targets),
        "refused": sum(1 for p in per if p["refused"]),
        "redirected": sum(p["redirected"] for p in per),
        "face_fps_min": round(min((p["face_fps"] for p in ok), default=0.0), 2),
        "pose_fps_min": round(min((p["pose_fps"] for p in ok), default=0.0), 2),
        "received_fps_min": min(received, default=None),
        "asr_final_latency_p50_s": percentile(lat, 0.5),
        "asr_final_latency_p95_s": percentile(lat, 0.95),
        "asr_final_latency_max_s": max(lat) if lat else None,
        "asr_lag_growth_s_per_min": round(max(growths), 3) if growths else None,
        "asr_lag_growth_pooled_s_per_min": _round3(
            lag_growth(
                [
                    (m, lat)
                    for p in ok
                    for m, lat in zip(p["final_marks_s"], p["final_latencies_s"], strict=True)
                ]
            )
        ),
        "dashboard_latency_p50_ms": _round(percentile(dash, 0.5)),
        "dashboard_latency_p95_ms": _round(percentile(dash, 0.95)),
        "loop_lag_p95_ms": max(lags) if lags else None,
        "cpu_percent": round(sum(p["cpu_percent"] for p in processes), 1) if processes else None,
        "rss_mb": round(sum(p["rss_mb"] for p in processes), 1) if processes else None,
        "rss_growth_percent": rss_growth_percent(processes),
        "processes": processes,
        "dropped_frames": health.skipped_frames(),
        "dropped_audio_s": round(sum(p["dropped_audio_s"] for p in per), 2),
        "language": language,
        "transcript_match_min": min(
            (p["transcript_match"] for p in ok if p["transcript_match"] is not None), default=None
        ),
        "sentences_heard_share": round(
            sum(len(p["final_latencies_s"]) for p in ok) / max(1, sum(p["sentences"] for p in ok)),
            3,
        ),
        "degraded_candidates": sum(1 for p in ok if p["degraded"]["max_level"] > 0),
        "degraded_level_max": max((p["degraded"]["max_level"] for p in ok), default=0),
        "analyzers": health.last.get(0, {}).get("analyzers"),
        "nodes": health.nodes(),
    }
    live = n - summary["refused"]
    summary["server_cpu_percent_per_candidate"] = (
        round(summary["cpu_percent"] / live, 1)
        if summary["cpu_percent"] is not None and live
        else None
    )
    summary["realtime"] = realtime(summary)
    summary["series"] = recorder.series(t1) | {
        "loop_lag": health.loop_lag,
        "analysis_levels": health.levels,
    }
    summary["details"] = per
    return summary


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _round3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def compact(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without per-candidate details, runs and time series (for printing)."""
    out = {k: v for k, v in summary.items() if k not in ("details", "runs", "series")}
    if "processes" in out:
        out["processes"] = [
            {k: v for k, v in p.items() if k != "samples"} for p in out["processes"]
        ]
    return out
