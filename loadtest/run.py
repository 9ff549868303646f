"""``interview-live-loadtest``: synthetic candidates and viewers against a real server.

Each candidate is a real aiortc client that joins through an invitation link and the same
signalling path as the browser, streaming pre-encoded face video (VP8) and speech (Opus)
paced in real time. One staff viewer per candidate subscribes to ``interview:<id>`` and
timestamps every event. Without ``--target`` the tool starts its own server process
(embedded defaults) in a temporary directory, which also lets it measure CPU and memory.
With several ``--target`` URLs (nodes of one deployment) staff calls go to the first and
candidates are spread over all of them; a candidate answered ``503 busy`` follows the
``alternate`` node or retries after ``retry_after_s``. A time series is sampled every second;
``--json OUT.json`` also writes ``OUT.md`` and ``OUT-*.png`` (:mod:`loadtest.report`);
``--profile OUT_DIR`` also writes the CPU budget per stage (:mod:`loadtest.profile`).
``--loss``, ``--burst-loss``, ``--delay-ms``, ``--jitter-ms``, ``--uplink-kbps`` and
``--outage-at-s``/``--outage-s`` impair each candidate's uplink (:mod:`loadtest.candidate.impair`); the
summary's ``impairment`` holds the settings and packet counts, each candidate's its own.
Everything binds to loopback and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.candidate.client import (
    LANGUAGES,
    MANDARIN_SENTENCES,
    MAX_ADMISSION_ATTEMPTS,
    MAX_REDIRECTS_IN_ROW,
    MAX_RETRY_WAIT_S,
    MIN_RETRY_WAIT_S,
    SENTENCES,
    Busy,
    FlagLog,
    NextStep,
    admit,
    build_media,
    extra_viewer,
    make_job,
    parse_busy,
    plan_admission,
    run_candidate,
)
from loadtest.candidate.impair import ImpairConfig, Impairment
from loadtest.candidate.packets import EncodedMedia, add_video_layers_argument, video_layers
from loadtest.candidate.recordings import check_recordings, recordings_summary
from loadtest.profile import (
    DEFAULT_RATE_HZ,
    Capture,
    ProfilerUnavailable,
    capture_window,
    finish,
    level_dir,
    py_spy_path,
)
from loadtest.report import machine_info, write_report
from loadtest.sampling import (
    CandidateRun,
    DashboardMeter,
    HealthPoller,
    Progress,
    Recorder,
    progress_text,
)
from loadtest.summary import (
    Span,
    analysed_rate,
    compact,
    rss_growth_percent,
    summarise,
    transcript_match,
)
from loadtest.target import LOOPBACK, Api, HttpError, Target, release, spawn_server, usages
from media.peer import configure_ice_hosts

__all__ = [  # what tests and benchmarks import from here
    "MANDARIN_SENTENCES",
    "MAX_ADMISSION_ATTEMPTS",
    "MAX_REDIRECTS_IN_ROW",
    "MAX_RETRY_WAIT_S",
    "MIN_RETRY_WAIT_S",
    "SENTENCES",
    "Busy",
    "CandidateRun",
    "HttpError",
    "NextStep",
    "Progress",
    "admit",
    "analysed_rate",
    "command_line",
    "main",
    "parse_busy",
    "plan_admission",
    "progress_text",
    "rss_growth_percent",
    "transcript_match",
]

WARMUP_S = 8.0
"""Measurements start after this (connection set-up, model warm-up)."""
DRAIN_TIMEOUT_S = 30.0
MAX_TARGETS = 64


# -- one load level -------------------------------------------------------------------------


async def measure(
    args: argparse.Namespace, target: Target, media: EncodedMedia, n: int
) -> dict[str, Any]:
    """One load level: ``n`` candidates started at ``--ramp`` per second, measured for
    ``--duration`` after the warm-up, then summarised."""
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)  # hundreds of viewer sockets
    async with aiohttp.ClientSession(connector=connector) as http:
        staff = Api(http, target.staff_url or target.base_urls[0])
        staff.token = (
            await staff(
                "POST",
                "/api/auth/login",
                json={"username": target.username, "password": target.password},
            )
        )["token"]
        job_id = await make_job(staff, args.language)
        runs = [CandidateRun(i, target.base_urls[i % len(target.base_urls)]) for i in range(n)]
        impair_config: ImpairConfig = getattr(args, "impair", None) or ImpairConfig()
        impairs = [
            Impairment(impair_config.for_candidate(r.index)) if impair_config.active else None
            for r in runs
        ]
        flag_logs = [FlagLog() for _ in runs]
        meter = DashboardMeter()
        origin = time.time()
        planned_s = n / args.ramp + args.duration
        deadline = origin + planned_s
        recorder = Recorder(
            runs, meter, target.pids, origin, planned_s, Progress(sys.stderr, args.quiet)
        )
        # a URL may be repeated to weight it; a separate dashboard process is polled too
        nodes = list(
            dict.fromkeys([*target.base_urls, *([target.staff_url] if target.staff_url else [])])
        )
        health = HealthPoller([Api(http, base) for base in nodes], origin)
        background = [
            asyncio.create_task(recorder.run(deadline + DRAIN_TIMEOUT_S), name="load-recorder"),
            asyncio.create_task(health.run(deadline + DRAIN_TIMEOUT_S), name="load-health"),
        ]
        tasks: list[asyncio.Task[None]] = []
        viewers: list[asyncio.Task[None]] = []
        profiling: asyncio.Task[Capture] | None = None
        captured: Capture | str | None = None
        try:
            for run in runs:
                tasks.append(
                    asyncio.create_task(
                        run_candidate(
                            staff,
                            job_id,
                            media,
                            run,
                            stop,
                            meter,
                            deadline,
                            impairs[run.index],
                            flag_logs[run.index],
                        ),
                        name=f"candidate-{run.index}",
                    )
                )
                await asyncio.sleep(1.0 / args.ramp)
            viewers = [
                asyncio.create_task(
                    extra_viewer(staff, runs[i % n], meter), name=f"extra-viewer-{i}"
                )
                for i in range(args.viewers)
            ]
            start = time.time()
            t_measure = recorder.measure_from = start + WARMUP_S
            usage0 = await asyncio.to_thread(usages, target.pids)
            if args.profile:  # the server tree over the measured window (--profile)
                profiling = asyncio.create_task(
                    capture_window(
                        target.pids,
                        level_dir(args.profile, n),
                        t_measure,
                        start + args.duration,
                        rate=args.profile_rate,
                    ),
                    name="load-profile",
                )
            await asyncio.sleep(max(0.0, start + args.duration - time.time()))
            t1 = time.time()
            usage1 = await asyncio.to_thread(usages, target.pids)
            await health.poll()
            if profiling is not None:
                try:
                    captured = await profiling
                except ProfilerUnavailable as exc:  # the load test's figures still stand
                    captured = f"profile failed: {exc}"
                    print(captured, file=sys.stderr)
        finally:
            if profiling is not None and not profiling.done():
                profiling.cancel()
                await asyncio.gather(profiling, return_exceptions=True)
            stop.set()
            for task in [*background, *viewers]:
                task.cancel()
            await asyncio.gather(*background, *viewers, return_exceptions=True)
            recorder.progress.close()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        checks = await check_recordings(staff, runs) if args.check_recordings else None
    span = Span(start, t_measure, t1, usage0, usage1)
    summary = summarise(
        recorder,
        health,
        span,
        language=args.language,
        extra_viewers=args.viewers,
        targets=target.base_urls,
    )
    summary["impairment"] = impairment_summary(impair_config, impairs)
    for detail, impair, flags in zip(summary["details"], impairs, flag_logs, strict=True):
        detail["impairment"] = impair.stats.as_dict() if impair is not None else None
        detail["flags"] = flags.as_dict()
    summary["flags_raised"] = sum(f.as_dict()["raised"] for f in flag_logs)
    if checks is not None:
        summary["recordings"] = recordings_summary(checks)
        for detail, check in zip(summary["details"], checks, strict=True):
            detail["recording"] = check
    if isinstance(captured, Capture):
        live = summary["candidates"] - summary["refused"]
        summary["profile"] = await asyncio.to_thread(finish, captured, live)
    elif captured is not None:
        summary["profile"] = {"error": captured}
    return summary


def impairment_summary(
    config: ImpairConfig, impairs: Sequence[Impairment | None]
) -> dict[str, Any]:
    """The impairment settings and, over all candidates, packets offered and dropped."""
    stats = [i.stats for i in impairs if i is not None]
    packets = sum(s.packets for s in stats)
    dropped = sum(s.dropped for s in stats)
    return {
        "active": config.active,
        "settings": config.settings(),
        "packets": packets,
        "dropped": dropped,
        "dropped_share": round(dropped / packets, 4) if packets else None,
    }


# -- entry point ----------------------------------------------------------------------------


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    """Every load level asked for (one, or increasing ones with ``--capacity``)."""
    configure_ice_hosts([LOOPBACK])  # synthetic candidates announce loopback only
    cache = Path(args.cache)
    impair: ImpairConfig | None = getattr(args, "impair", None)
    loss = impair.loss_percent if impair is not None else 0.0
    layers = video_layers(args.video_layers, getattr(args, "uplink_kbps", None))
    media = await asyncio.to_thread(build_media, cache, args.language, loss, layers)
    results = []
    counts = [args.candidates]
    if args.capacity:
        counts = list(range(args.capacity_start, args.candidates + 1, args.capacity_step))
    best = 0
    summary: dict[str, Any] = {}
    for n in counts:
        with contextlib.ExitStack() as stack:
            if args.target:
                target = Target(
                    tuple(url.rstrip("/") for url in args.target),
                    args.username,
                    args.password,
                    tuple(args.server_pid or ()),
                    staff_url=(args.staff_target or "").rstrip("/"),
                )
            else:
                data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="il-load-")))
                target = spawn_server(data_dir, args.analysis_workers)
            try:
                summary = await measure(args, target, media, n)
                summary["video_layers"] = media.video_layers
            finally:
                release(target)
        results.append({k: v for k, v in summary.items() if k != "details"})
        print(json.dumps(compact(summary)), file=sys.stderr)
        if summary["realtime"]:
            best = n
        elif args.capacity:
            break
    out = dict(summary)
    if args.capacity:
        out["max_realtime_candidates"] = best
        at_best = next((r for r in results if r["candidates"] == best), None)
        if at_best is not None:  # the figure that does not depend on the load generator
            out["server_cpu_percent_per_candidate"] = at_best["server_cpu_percent_per_candidate"]
        out["runs"] = results
    out["machine"] = machine_info()
    return out


def command_line(argv: Sequence[str]) -> str:
    """The command as typed, with the password hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
        elif arg == "--password":
            shown.append(arg)
            hide_next = True
        elif arg.startswith("--password="):
            shown.append("--password=***")
        else:
            shown.append(arg)
    return shlex.join(["interview-live-loadtest", *shown])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="interview-live-loadtest", description=__doc__)
    p.add_argument(
        "--target",
        action="append",
        help="server base URL; repeat for the nodes of one deployment (default: start one locally)",
    )
    p.add_argument(
        "--staff-target",
        help="with --target: staff calls and viewers go to this URL (a dashboard/API process)",
    )
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="")
    p.add_argument(
        "--server-pid",
        type=int,
        action="append",
        help="with --target: a server process to sample for CPU/RSS (with its children); repeat",
    )
    p.add_argument(
        "--language",
        choices=LANGUAGES,
        default="en",
        help="the job's and the spoken answer's language (zh: Mandarin, Kokoro test voice)",
    )
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--ramp", type=float, default=2.0, help="candidates started per second")
    p.add_argument(
        "--viewers",
        type=int,
        default=0,
        help="extra dashboard viewers (besides one per candidate), spread over interviews",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds of streaming")
    p.add_argument("--analysis-workers", type=int, help="analyzer processes of the spawned server")
    p.add_argument(
        "--capacity", action="store_true", help="increase candidates until real time fails"
    )
    p.add_argument("--capacity-start", type=int, default=2)
    p.add_argument("--capacity-step", type=int, default=2)
    p.add_argument(
        "--json", dest="json_out", help="write the results here, with OUT.md and OUT-*.png"
    )
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "il-loadtest-media"))
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--check-recordings",
        action="store_true",
        help="afterwards, download and decode every candidate's recordings and report their "
        "completeness against what was sent (loadtest.candidate.recordings)",
    )
    p.add_argument(
        "--profile",
        metavar="OUT_DIR",
        help="sample the server tree with py-spy over each measured window and write the CPU "
        "budget per stage (OUT_DIR/candidates-N/profile.{json,md}; see loadtest.profile)",
    )
    p.add_argument(
        "--profile-rate", type=int, default=DEFAULT_RATE_HZ, help="py-spy samples per second"
    )
    add_video_layers_argument(p)
    impair = p.add_argument_group("impaired uplink (each candidate's outgoing RTP/RTCP)")
    impair.add_argument("--loss", type=float, default=0.0, metavar="PERCENT", help="packet loss")
    impair.add_argument(
        "--burst-loss",
        type=float,
        metavar="PACKETS",
        help="with --loss: bursty loss (Gilbert-Elliott), this mean burst length in packets",
    )
    impair.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay")
    impair.add_argument("--jitter-ms", type=float, default=0.0, help="± uniform around the delay")
    impair.add_argument(
        "--reorder", action="store_true", help="let jitter reorder packets (default: keep order)"
    )
    impair.add_argument("--uplink-kbps", type=float, help="bandwidth cap (token bucket), kbit/s")
    impair.add_argument(
        "--outage-at-s", type=float, help="drop everything from this many s after media starts"
    )
    impair.add_argument("--outage-s", type=float, default=0.0, help="outage length, seconds")
    impair.add_argument("--impair-seed", type=int, default=0, help="seed of the random losses")
    args = p.parse_args(argv)
    if (args.outage_at_s is None) != (args.outage_s == 0.0):
        p.error("--outage-at-s and --outage-s go together")
    try:
        args.impair = ImpairConfig(
            loss_percent=args.loss,
            burst_loss_packets=args.burst_loss,
            delay_ms=args.delay_ms,
            jitter_ms=args.jitter_ms,
            reorder=args.reorder,
            uplink_kbps=args.uplink_kbps,
            outage_at_s=args.outage_at_s,
            outage_s=args.outage_s,
            seed=args.impair_seed,
        )
    except ValueError as exc:
        p.error(str(exc))
    if not 1 <= args.candidates <= 200 or not 5 <= args.duration <= 7200:
        p.error("candidates must be 1..200 and duration 5..7200 s")
    if not 0 <= args.viewers <= 5000:
        p.error("viewers must be 0..5000")
    if not 0.01 <= args.ramp <= 100:
        p.error("ramp must be 0.01..100 candidates per second")
    if args.target:
        if len(args.target) > MAX_TARGETS:
            p.error(f"at most {MAX_TARGETS} targets")
        if not all(t.startswith(("http://", "https://")) for t in args.target):
            p.error("--target must be an http:// or https:// base URL")
    if not 1 <= args.profile_rate <= 1000:
        p.error("--profile-rate must be 1..1000 Hz")
    if args.profile:
        if args.target and not args.server_pid:
            p.error("--profile with --target needs --server-pid (the processes to sample)")
        try:
            py_spy_path()
        except ProfilerUnavailable as exc:
            p.error(str(exc))
    if args.server_pid:
        if not args.target:
            p.error("--server-pid needs --target (a spawned server is sampled anyway)")
        if len(args.server_pid) > MAX_TARGETS or min(args.server_pid) <= 0:
            p.error(f"--server-pid: 1..{MAX_TARGETS} positive process ids")
    result = asyncio.run(amain(args))
    result["command"] = command_line(sys.argv[1:] if argv is None else argv)
    text = json.dumps(result, indent=2, default=str)
    if args.json_out:
        json_path = Path(args.json_out)
        json_path.write_text(text)
        written = write_report(result, json_path)
        print(f"report: {written['md']}", file=sys.stderr)
    print(json.dumps(compact(result), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
