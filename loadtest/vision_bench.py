"""CPU per analysed frame of the vision analyzers (face, posture) on the load test's video.

The frames are the ones a live candidate of ``interview-live-loadtest`` sends: the synthetic
astronaut face video of :func:`loadtest.candidate.synth.face_y4m` (640×480, 15 fps, 4 s, looped),
downscaled to the analysis size by the server's own :func:`media.adapters.video_sample` and
sampled at the server's analysis rate (:data:`media.fanout.ANALYSIS_FPS`, 5 fps) by media time.
Every sampled frame goes to :class:`analyzers.vision.face.FaceAnalyzer`; the first frame of each
:data:`analyzers.pipeline.POSE_EVERY_S` slot also to :class:`analyzers.vision.posture.PostureAnalyzer`
(2 fps), as :class:`analyzers.pipeline.InterviewAnalysis` does. Frames are paced in real time
(``--unpaced`` runs them back to back), because a graph's threads park and wake between frames.

Each configuration runs in a fresh spawned process set up like an analyzer worker (the worker
environment of :mod:`analyzers.pool`, OpenCV on one thread). CPU is the process CPU time of all
its threads (``time.process_time``, i.e. ``CLOCK_PROCESS_CPUTIME_ID``) around each ``analyze``
call, plus the process's total (``os.times``) over the whole paced run, so CPU burnt by parked
threads between frames counts too; wall time is per call. ``--contend`` runs a busy process per
core meanwhile (production is contended: ASR, ingest and other candidates share the cores).
Threads are counted from ``/proc/self/task`` before and after the analyzers are created, and
their CPU is split by thread name. ``--compare`` also runs the configuration before issue 14
(``--configs`` picks any of :data:`CONFIGS`) and compares the results frame by frame with the
first configuration's; ``--repeat`` interleaves rounds so a change in the machine's load hits
every configuration alike.

Limits: the frames skip the VP8 round trip of the real load test, and the video is a still photo
panning a few pixels, so the face mesh's head pose is reused on 3 frames of 4, the most
:data:`analyzers.vision.face.MESH_EVERY_S` allows; a real candidate who moves more costs more meshes.

    python -m loadtest.vision_bench --json /tmp/vision.json
    python -m loadtest.vision_bench --compare --contend --repeat 3 --json /tmp/vision.json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_FOLLOW_OFF = {"detect_every_s": 0.0}
CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "current": {"face": {}, "posture": {}},
    "before": {
        "face": {"stock_graphs": True, "mesh_every_s": 0.0, **_FOLLOW_OFF},
        "posture": {"stock_graphs": True, "remeasure_every_s": 0.0},
    },
    "calling-thread": {
        "face": {"mesh_every_s": 0.0, **_FOLLOW_OFF},
        "posture": {"remeasure_every_s": 0.0},
    },
    "mesh-reuse": {
        "face": {"stock_graphs": True, **_FOLLOW_OFF},
        "posture": {"stock_graphs": True},
    },
    "pose-every-sample": {"face": _FOLLOW_OFF, "posture": {"remeasure_every_s": 0.0}},
    "detect-every-sample": {"face": _FOLLOW_OFF, "posture": {}},
    "cadence-0.35": {
        "face": {"mesh_every_s": 0.35, "detect_every_s": 0.35},
        "posture": {"remeasure_every_s": 1.0},
    },
}
"""Analyzer keyword arguments per configuration: ``before`` is the analyzers as before issue 14
(stock mediapipe graphs with their own threads, face mesh and pose model on every sample, the
face detected on every sample); ``calling-thread`` and ``mesh-reuse`` have one of the first two
changes each, ``pose-every-sample`` the first two, ``detect-every-sample`` all but following the
face between detections (the analyzers before it), ``cadence-0.35`` all of them with the
reuse intervals before 2026-12-08 (mesh and detector every 2nd sample of a still face, the pose
model every 2nd sample of a still body)."""
VIDEO_SECONDS = 4.0
"""Length of the load test's face video (``loadtest.candidate.client``), looped."""
WARMUP_FRAMES = 10
"""Face frames analysed before measuring (graph start-up, first-call allocations)."""
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
CHILD_POLL_S = 5.0
"""How often the parent checks that a benchmark process is still alive."""


def analysis_frames(count: int, video_dir: Path) -> list[tuple[float, npt.NDArray[np.uint8]]]:
    """``count`` (media time, RGB) samples of the looped face video, as the server samples."""
    import av

    from loadtest.candidate.synth import face_y4m
    from media.adapters import video_sample
    from media.fanout import ANALYSIS_FPS

    path = face_y4m(video_dir / "face.y4m", seconds=VIDEO_SECONDS)
    with av.open(str(path)) as container:
        samples = [video_sample(frame) for frame in container.decode(video=0)]
    interval = 1.0 / ANALYSIS_FPS
    out: list[tuple[float, npt.NDArray[np.uint8]]] = []
    loop, next_t = 0, 0.0
    while len(out) < count:
        for sample in samples:
            t = round(loop * VIDEO_SECONDS + sample.t, 6)
            if t + 1e-9 >= next_t and len(out) < count:
                out.append((t, sample.rgb))
                next_t += interval
        loop += 1
    return out


def _threads() -> dict[str, tuple[str, float]]:
    """Thread id → (name, CPU seconds) of this process, from /proc."""
    out: dict[str, tuple[str, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended
        fields = stat[stat.rindex(")") + 2 :].split()
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S)
    return out


def _thread_kind(name: str) -> str:
    """Thread names folded into kinds (mediapipe names its pool threads ``mediapipe/<n>``)."""
    return name.split("/")[0] if "/" in name else name


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"calls": 0, "mean": None, "p50": None, "p90": None}
    ordered = sorted(values)
    return {
        "calls": len(values),
        "mean": round(statistics.fmean(values), 3),
        "p50": round(ordered[max(0, math.ceil(0.5 * len(ordered)) - 1)], 3),
        "p90": round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 3),
    }


def run_config(name: str, frames: int, paced: bool) -> dict[str, Any]:
    """Analyse ``frames`` sampled frames with configuration ``name`` in this process."""
    import cv2

    from analyzers.pipeline import POSE_EVERY_S
    from analyzers.vision.face import FaceAnalyzer
    from analyzers.vision.posture import PostureAnalyzer
    from media.fanout import ANALYSIS_FPS

    cv2.setNumThreads(1)  # as analyzers.worker does
    config = CONFIGS[name]
    with tempfile.TemporaryDirectory() as tmp:
        samples = analysis_frames(WARMUP_FRAMES + frames, Path(tmp))
    threads_before = len(os.listdir("/proc/self/task"))
    face = FaceAnalyzer("bench", **config["face"])
    posture = PostureAnalyzer("bench", **config["posture"])
    threads_created = len(os.listdir("/proc/self/task")) - threads_before
    cpu: dict[str, list[float]] = {"face": [], "posture": []}
    wall: dict[str, list[float]] = {"face": [], "posture": []}
    results: dict[str, list[Any]] = {"face": [], "posture": []}
    pose_slot = -1
    t0_media = samples[WARMUP_FRAMES][0]
    try:
        for i, (t, rgb) in enumerate(samples):
            measured = i >= WARMUP_FRAMES
            if i == WARMUP_FRAMES:
                meshes_start = face.mesh_runs
                detections_start = face.detector_runs
                poses_start = posture.pose_runs
                thread_cpu_start = _threads()
                times_start = os.times()
                wall_start = time.perf_counter()
            if measured and paced:
                delay = wall_start + (t - t0_media) - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            calls: list[tuple[str, Any]] = [("face", face)]
            slot = int(t // POSE_EVERY_S)
            if slot != pose_slot:
                pose_slot = slot
                calls.append(("posture", posture))
            face_metrics: Any = None
            for kind, analyzer in calls:
                c0, w0 = time.process_time(), time.perf_counter()
                if analyzer is face:
                    metrics = face_metrics = face.analyze(rgb, t, None)
                else:  # as the pipeline does: the body with the face of the same frame
                    metrics = posture.analyze(rgb, t, None, face_metrics)
                c1, w1 = time.process_time(), time.perf_counter()
                if measured:
                    cpu[kind].append((c1 - c0) * 1000)
                    wall[kind].append((w1 - w0) * 1000)
                    results[kind].append(metrics.to_wire())
        times_end = os.times()
        wall_s = time.perf_counter() - wall_start
        meshes = face.mesh_runs - meshes_start
        detections = face.detector_runs - detections_start
        poses = posture.pose_runs - poses_start
        thread_cpu_end = _threads()
        threads_running = len(thread_cpu_end)
    finally:
        face.close()
        posture.close()

    by_kind: defaultdict[str, float] = defaultdict(float)
    for tid, (thread_name, seconds) in thread_cpu_end.items():
        by_kind[_thread_kind(thread_name)] += seconds - thread_cpu_start.get(tid, ("", 0.0))[1]
    media_s = samples[-1][0] - t0_media + 1.0 / ANALYSIS_FPS
    process_cpu_s = (times_end.user + times_end.system) - (times_start.user + times_start.system)
    per_second = {k: sum(v) / 1000 / media_s for k, v in cpu.items()}
    return {
        "config": name,
        "frames": {k: len(v) for k, v in cpu.items()},
        "face_mesh_runs": meshes,
        "face_detector_runs": detections,
        "pose_model_runs": poses,
        "media_s": round(media_s, 2),
        "wall_s": round(wall_s, 2),
        "cpu_ms": {k: _stats(v) for k, v in cpu.items()},
        "wall_ms": {k: _stats(v) for k, v in wall.items()},
        "core_pct_per_candidate": {
            **{k: round(100 * v, 2) for k, v in per_second.items()},
            "calls_total": round(100 * sum(per_second.values()), 2),
            "process_total": round(100 * process_cpu_s / media_s, 2),
        },
        "threads": {
            "before_analyzers": threads_before,
            "created_by_analyzers": threads_created,
            "running": threads_running,
            "cpu_s_by_name": {k: round(v, 3) for k, v in sorted(by_kind.items()) if v > 0},
        },
        "results": results,
    }


def _child(name: str, frames: int, paced: bool, out: Any) -> None:
    try:
        out.put(run_config(name, frames, paced))
    except BaseException as exc:  # report, don't hang the parent
        out.put({"config": name, "error": repr(exc)})
        raise


def _hog() -> None:
    while True:
        pass


def _run_isolated(name: str, frames: int, paced: bool, contend: bool) -> dict[str, Any]:
    """``run_config`` in a fresh worker-like process, with a busy process per core if asked."""
    from analyzers.pool import WORKER_ENVIRONMENT

    ctx = multiprocessing.get_context("spawn")
    hogs = [ctx.Process(target=_hog, daemon=True) for _ in range(os.cpu_count() or 1)]
    saved = {k: os.environ.get(k) for k in WORKER_ENVIRONMENT}
    os.environ.update({k: os.environ.get(k) or v for k, v in WORKER_ENVIRONMENT.items()})
    try:
        if contend:
            for hog in hogs:
                hog.start()
        out = ctx.Queue()
        child = ctx.Process(target=_child, args=(name, frames, paced, out))
        child.start()
        while True:
            try:
                row: dict[str, Any] = out.get(timeout=CHILD_POLL_S)
                break
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"{name}: the benchmark process died") from None
        child.join()
    finally:
        for hog in hogs:
            if hog.pid is not None:
                hog.terminate()
                hog.join()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if "error" in row:
        raise RuntimeError(f"{name}: {row['error']}")
    row["contended"] = contend
    return row


def compare_results(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, Any]:
    """Frame-by-frame differences between two runs' results (face and posture metrics)."""
    face_pairs = list(zip(a["face"], b["face"], strict=True))

    def worst(key: str, pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> float | None:
        diffs = [
            abs(x[key] - y[key])
            for x, y in pairs
            if x.get(key) is not None and y.get(key) is not None
        ]
        return round(max(diffs), 3) if diffs else None

    posture_pairs = list(zip(a["posture"], b["posture"], strict=True))
    return {
        "face_frames": len(face_pairs),
        "faces_differ": sum(x["faces"] != y["faces"] for x, y in face_pairs),
        "pose_found_differs": sum(
            (x.get("yaw_deg") is None) != (y.get("yaw_deg") is None) for x, y in face_pairs
        ),
        "looking_away_differs": sum(
            x.get("looking_away") != y.get("looking_away") for x, y in face_pairs
        ),
        "eye_contact_differs": sum(
            x.get("eye_contact") != y.get("eye_contact") for x, y in face_pairs
        ),
        "max_abs_diff": {
            **{k: worst(k, face_pairs) for k in ("yaw_deg", "pitch_deg", "center_x", "size")},
            **{k: worst(k, posture_pairs) for k in ("shoulders_level_deg", "lean", "movement")},
        },
        "posture_frames": len(posture_pairs),
        "in_frame_differs": sum(x["in_frame"] != y["in_frame"] for x, y in posture_pairs),
    }


def _summary_line(row: dict[str, Any]) -> str:
    cpu, wall, pct = row["cpu_ms"], row["wall_ms"], row["core_pct_per_candidate"]
    return (
        f"{row['config']:>8} {'contended' if row['contended'] else 'idle':>9}: "
        f"face cpu {cpu['face']['mean']:.2f} ms/frame (wall p50 {wall['face']['p50']:.2f} "
        f"p90 {wall['face']['p90']:.2f}), posture cpu {cpu['posture']['mean']:.2f} ms/frame "
        f"(wall p50 {wall['posture']['p50']:.2f} p90 {wall['posture']['p90']:.2f}); "
        f"{pct['process_total']:.2f} % of a core per candidate; "
        f"mesh on {row['face_mesh_runs']}/{row['frames']['face']} frames; "
        f"detector on {row['face_detector_runs']}/{row['frames']['face']}; "
        f"pose model on {row['pose_model_runs']}/{row['frames']['posture']}; "
        f"{row['threads']['created_by_analyzers']} threads created"
    )


def _summary_row(entry: dict[str, Any]) -> str:
    face, posture = entry["face"], entry["posture"]
    return (
        f"{entry['config']:>14} {'contended' if entry['contended'] else 'idle':>9} "
        f"x{entry['rounds']}: face {face['cpu_ms_per_frame']['mean']:.2f} ms CPU/frame "
        f"(wall p50 {face['wall_ms_p50']['mean']:.1f}, p90 {face['wall_ms_p90']['mean']:.1f}), "
        f"posture {posture['cpu_ms_per_frame']['mean']:.2f} ms CPU/frame "
        f"(wall p50 {posture['wall_ms_p50']['mean']:.1f}, p90 {posture['wall_ms_p90']['mean']:.1f}),"
        f" {entry['core_pct_per_candidate']['mean']:.2f} % of a core per candidate "
        f"({entry['core_pct_per_candidate']['min']:.2f}–{entry['core_pct_per_candidate']['max']:.2f})"
        f", mesh on {100 * entry['face_mesh_share']:.0f} % of frames, "
        f"detector on {100 * entry['face_detector_share']:.0f} %, "
        f"pose model on {100 * entry['pose_model_share']:.0f} % of samples, "
        f"{entry['threads_created']} threads"
    )


def bench(
    configs: Sequence[str], frames: int, paced: bool, contention: Sequence[bool], repeat: int = 1
) -> Iterator[dict[str, Any]]:
    """Run every configuration under every contention setting, ``repeat`` times interleaved
    (so a change in the machine's load affects all configurations alike)."""
    for round_ in range(repeat):
        for contend in contention:
            for name in configs:
                row = _run_isolated(name, frames, paced, contend)
                row["round"] = round_
                print(_summary_line(row), file=sys.stderr, flush=True)
                yield row


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration and contention: the mean over rounds (and range) of the headline
    numbers: CPU ms per analysed frame, wall p50/p90, % of a core per candidate."""
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["config"], row["contended"]), []).append(row)

    def agg(values: list[float]) -> dict[str, float]:
        return {
            "mean": round(statistics.fmean(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
        }

    out = []
    for (name, contend), group in groups.items():
        entry: dict[str, Any] = {"config": name, "contended": contend, "rounds": len(group)}
        for kind in ("face", "posture"):
            entry[kind] = {
                "cpu_ms_per_frame": agg([r["cpu_ms"][kind]["mean"] for r in group]),
                "wall_ms_p50": agg([r["wall_ms"][kind]["p50"] for r in group]),
                "wall_ms_p90": agg([r["wall_ms"][kind]["p90"] for r in group]),
            }
        entry["core_pct_per_candidate"] = agg(
            [r["core_pct_per_candidate"]["process_total"] for r in group]
        )
        entry["face_mesh_share"] = round(
            sum(r["face_mesh_runs"] for r in group) / sum(r["frames"]["face"] for r in group), 3
        )
        entry["face_detector_share"] = round(
            sum(r["face_detector_runs"] for r in group) / sum(r["frames"]["face"] for r in group), 3
        )
        entry["pose_model_share"] = round(
            sum(r["pose_model_runs"] for r in group) / sum(r["frames"]["posture"] for r in group), 3
        )
        entry["threads_created"] = group[0]["threads"]["created_by_analyzers"]
        out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--frames", type=int, default=150, help="face frames measured (5 per s)")
    p.add_argument("--contend", action="store_true", help="also run with a busy process per core")
    p.add_argument("--only-contended", action="store_true", help="only the contended runs")
    p.add_argument("--compare", action="store_true", help="also run the configuration 'before'")
    p.add_argument(
        "--configs",
        help=f"comma-separated configurations to run (of {', '.join(CONFIGS)}; overrides --compare)",
    )
    p.add_argument("--repeat", type=int, default=1, help="rounds, interleaved (default 1)")
    p.add_argument("--unpaced", action="store_true", help="analyse frames back to back")
    p.add_argument("--json", dest="json_out", help="write the full report here")
    p.add_argument("--keep-results", action="store_true", help="keep per-frame metrics in JSON")
    args = p.parse_args(argv)
    if args.frames < 1 or args.repeat < 1:
        p.error("--frames and --repeat must be positive")
    configs = ["before", "current"] if args.compare else ["current"]
    if args.configs:
        configs = [c.strip() for c in args.configs.split(",") if c.strip()]
        unknown = sorted(set(configs) - set(CONFIGS))
        if unknown:
            p.error(f"unknown configurations: {', '.join(unknown)}")
    contention = [True] if args.only_contended else [False, True] if args.contend else [False]
    rows = list(bench(configs, args.frames, not args.unpaced, contention, args.repeat))

    comparisons = []
    baseline = "before" if "before" in configs else configs[0]
    for contend in contention:
        first = {r["config"]: r for r in rows if r["contended"] == contend and r["round"] == 0}
        for name in configs:
            if name != baseline:
                diff = compare_results(first[baseline]["results"], first[name]["results"])
                comparisons.append({"a": baseline, "b": name, "contended": contend, **diff})
    if not args.keep_results:
        for row in rows:
            del row["results"]
    import mediapipe

    report = {
        "machine": {"cpus": os.cpu_count(), "mediapipe": mediapipe.__version__},
        "frames": args.frames,
        "paced": not args.unpaced,
        "summary": summarise(rows),
        "comparisons": comparisons,
        "runs": rows,
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    for entry in report["summary"]:
        print(_summary_row(entry))
    for comparison in comparisons:
        print(json.dumps(comparison))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
