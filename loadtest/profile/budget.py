"""The CPU budget of one capture: CPU seconds per stage and process role, as % of one core
per candidate, and the Markdown table for ``docs/benchmarks.md``.

How CPU is attributed (every CPU second /proc measured lands in exactly one stage):

1. **Python threads** (every thread py-spy saw, except the named native groups below): the
   thread's own /proc CPU over the window is split over the stages of its active samples.
   py-spy's "active" is the kernel's running-or-runnable, so on a busy machine raw samples
   over-count CPU and a lagging sampler under-counts it; scaling each thread to its /proc
   CPU removes both. A Python thread that used CPU but was never caught active is split by
   its idle-inclusive samples.
2. **Native helper threads** (no Python frames: CTranslate2 workers, libvpx threads…) and
   **named groups** (``threads`` in the rule table: mediapipe graph threads…): py-spy cannot
   see what they do. Their CPU is split over the stages in which the same process's Python
   threads were *inside* native code at the time (idle-inclusive samples matched by a tier-1
   rule, stages marked ``native``; a named group only over its own stages). CPU of threads
   that came and went between two /proc reads joins this pool.
3. What cannot be placed (no Python thread of the process was in a native stage) is
   ``native threads (unattributed)``; stacks no rule matches are ``unclassified``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtest.profile.capture import Capture
from loadtest.profile.stages import (
    UNATTRIBUTED_NATIVE,
    UNCLASSIFIED,
    Rules,
    Stack,
    by_thread,
    read_raw,
)

TOP_UNCLASSIFIED = 15
TOP_STACKS = 5
"""Most sampled stacks kept per stage in the JSON (to check the rules)."""
JSON_NAME = "profile.json"
MD_NAME = "profile.md"


def _split(total: float, weights: Mapping[str, float]) -> dict[str, float]:
    s = sum(weights.values())
    if total <= 0 or s <= 0:
        return {}
    return {k: total * w / s for k, w in weights.items() if w > 0}


def _add(into: dict[str, float], part: Mapping[str, float]) -> None:
    for k, v in part.items():
        into[k] = into.get(k, 0.0) + v


def analyse(capture: Capture, rules: Rules, candidates: int, *, label: str = "") -> dict[str, Any]:
    """The budget of ``capture`` for ``candidates`` live candidates (see the module doc)."""
    meta = capture.meta
    rate = float(meta["rate_hz"])
    waits_rate = float(meta["waits_rate_hz"])
    sampling_s = float(meta["sampling_s"])
    proc = meta["proc"]
    wall_s = max(1e-6, float(proc["wall_s"]))
    scale = sampling_s / wall_s  # /proc CPU over its window → the sampled window
    active = [
        s for f in meta.get("active_files", ["active.txt"]) for s in read_raw(capture.out_dir / f)
    ]
    waits = [
        s for f in meta.get("waits_files", ["waits.txt"]) for s in read_raw(capture.out_dir / f)
    ]
    active_by_thread = dict(by_thread(active))
    waits_by_thread = dict(by_thread(waits))
    python_tids = {key for key in (*active_by_thread, *waits_by_thread)}

    roles = rules.role_order()
    stage_cpu: dict[str, dict[str, float]] = {}  # role → stage → CPU s (sampled window)
    native_cpu: dict[str, float] = {}  # stage → CPU s attributed through helper threads
    raw_sampled: dict[str, float] = {}  # stage → py-spy active samples ÷ rate
    processes_out = []
    unclassified: Counter[str] = Counter()
    top: dict[str, Counter[str]] = {}
    total_proc_s = 0.0
    python_s = pools_s = python_raw_s = 0.0

    for pid_text, p in proc["processes"].items():
        pid = int(pid_text)
        role = rules.role_of(p["cmdline"])
        if role not in roles:
            roles.append(role)
        per_stage = stage_cpu.setdefault(role, {})
        proc_cpu = float(p["cpu_s"]) * scale
        total_proc_s += proc_cpu
        known_threads_s = 0.0
        group_pool: dict[int, float] = {}  # index of the thread group → CPU s
        generic_pool = 0.0
        python_here = 0.0
        for tid_text, t in p["threads"].items():
            tid = int(tid_text)
            cpu = float(t["cpu_s"]) * scale
            known_threads_s += cpu
            group = rules.group_of(t["comm"])
            if group is not None:
                i = rules.threads.index(group)
                group_pool[i] = group_pool.get(i, 0.0) + cpu
                continue
            if (pid, tid) not in python_tids:
                generic_pool += cpu
                continue
            counts = _stage_counts(active_by_thread.get((pid, tid), []), rules, unclassified)
            python_raw_s += sum(counts.values()) / rate
            if not counts:  # never caught running: its idle-inclusive samples
                counts = _stage_counts(waits_by_thread.get((pid, tid), []), rules, None)
            if not counts:
                generic_pool += cpu
                continue
            _add(per_stage, _split(cpu, counts))
            python_here += cpu
        # threads that came and went between two /proc reads: their CPU is in the process's
        # total only; split by their samples when py-spy saw them, else a helper-thread pool
        residual = max(0.0, proc_cpu - known_threads_s)
        listed = {int(t) for t in p["threads"]}
        unlisted = _stage_counts(
            [
                s
                for (spid, tid), ss in active_by_thread.items()
                if spid == pid and tid not in listed
                for s in ss
            ],
            rules,
            unclassified,
        )
        if unlisted:
            _add(per_stage, _split(residual, unlisted))
            python_here += residual
            python_raw_s += sum(unlisted.values()) / rate
        else:
            generic_pool += residual
        for (spid, _), stacks in active_by_thread.items():
            if spid != pid:
                continue
            for s in stacks:
                stage = rules.classify(s)
                raw_sampled[stage] = raw_sampled.get(stage, 0.0) + s.count / rate
                top.setdefault(stage, Counter())[f"{s.thread} | {s.leaf_text()}"] += s.count
        # pools → stages the process's Python threads were in (inside native code)
        group_tids = {int(t) for t, v in p["threads"].items() if rules.group_of(v["comm"])}
        in_native = _native_weights(waits, pid, group_tids, rules)
        claimed = set()
        attributed: dict[str, float] = {}
        for i, cpu in group_pool.items():
            group = rules.threads[i]
            claimed |= set(group.stages)
            if len(group.stages) == 1:
                part = {group.stages[0]: cpu}
            else:
                part = _split(cpu, {k: in_native.get(k, 0) for k in group.stages})
            if not part:
                part = {UNATTRIBUTED_NATIVE: cpu}
            _add(attributed, part)
        eligible = {k: w for k, w in in_native.items() if k in rules.native and k not in claimed}
        part = _split(generic_pool, eligible) or (
            {UNATTRIBUTED_NATIVE: generic_pool} if generic_pool > 0 else {}
        )
        _add(attributed, part)
        _add(per_stage, attributed)
        _add(native_cpu, attributed)
        python_s += python_here
        pools_s += sum(attributed.values())
        processes_out.append(
            {
                "pid": pid,
                "role": role,
                "cmdline": p["cmdline"][:200],
                "cpu_percent": round(100 * proc_cpu / sampling_s, 1),
                "python_threads_cpu_percent": round(100 * python_here / sampling_s, 1),
                "helper_threads_cpu_percent": round(100 * sum(attributed.values()) / sampling_s, 1),
                "threads": len(p["threads"]),
            }
        )

    n = max(1, candidates)
    total_attr = sum(sum(v.values()) for v in stage_cpu.values())
    raw_total = sum(raw_sampled.values())
    stage_names = [
        *rules.stages,
        *sorted({k for v in stage_cpu.values() for k in v} - set(rules.stages)),
    ]
    rows = []
    for stage in stage_names:
        by_role = {r: stage_cpu.get(r, {}).get(stage, 0.0) for r in roles}
        cpu = sum(by_role.values())
        rows.append(
            {
                "stage": stage,
                "percent_per_candidate": _pc(cpu, sampling_s, n),
                "by_role_percent_per_candidate": {
                    r: _pc(v, sampling_s, n) for r, v in by_role.items()
                },
                "helper_threads_percent_per_candidate": _pc(
                    native_cpu.get(stage, 0.0), sampling_s, n
                ),
                "py_spy_raw_percent_per_candidate": _pc(raw_sampled.get(stage, 0.0), sampling_s, n),
                "share_of_server_cpu": round(cpu / total_attr, 4) if total_attr else None,
                "about": rules.about.get(stage, ""),
            }
        )
    waits_ticks = _ticks(waits)
    return {
        "label": label or meta.get("label", ""),
        "candidates": candidates,
        "sampling_s": sampling_s,
        "proc_window_s": round(wall_s, 3),
        "rate_hz": rate,
        "waits_rate_hz": waits_rate,
        "waits_effective_rate_hz": round(waits_ticks / sampling_s, 1) if waits_ticks else None,
        "roles": roles,
        "stages": rows,
        "total": {
            "proc_percent": round(100 * total_proc_s / sampling_s, 1),
            "proc_percent_per_candidate": _pc(total_proc_s, sampling_s, n),
            "attributed_percent_per_candidate": _pc(total_attr, sampling_s, n),
            "py_spy_raw_percent": round(100 * raw_total / sampling_s, 1),
            "coverage": round(raw_total / total_proc_s, 3) if total_proc_s else None,
            "python_threads_sampled_ratio": round(python_raw_s / python_s, 3) if python_s else None,
            "python_threads_share": round(python_s / total_attr, 3) if total_attr else None,
            "helper_threads_share": round(pools_s / total_attr, 3) if total_attr else None,
            "unclassified_share": round(
                sum(r.get(UNCLASSIFIED, 0.0) for r in stage_cpu.values()) / total_attr, 4
            )
            if total_attr
            else None,
            "sampler_cpu_percent": round(
                100 * float(meta.get("sampler_cpu_s", 0.0)) / sampling_s, 1
            ),
        },
        "processes": processes_out,
        "loadavg_start": meta.get("loadavg_start"),
        "loadavg_end": meta.get("loadavg_end"),
        "cpus": meta.get("cpus"),
        "top_stacks": {
            stage: [{"samples": c, "stack": k} for k, c in counter.most_common(TOP_STACKS)]
            for stage, counter in top.items()
        },
        "top_unclassified": [
            {"samples": c, "stack": k} for k, c in unclassified.most_common(TOP_UNCLASSIFIED)
        ],
        "failures": meta.get("failures", []),
        "commands": meta.get("commands", []),
    }


def _pc(cpu_s: float, window_s: float, n: int) -> float:
    return round(100 * cpu_s / window_s / n, 2)


def _stage_counts(
    stacks: Sequence[Stack], rules: Rules, unclassified: Counter[str] | None
) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in stacks:
        stage = rules.classify(s)
        out[stage] = out.get(stage, 0.0) + s.count
        if stage == UNCLASSIFIED and unclassified is not None:
            unclassified[f"{s.cmdline[:40]} | {s.thread} | {s.leaf_text()}"] += s.count
    return out


def _native_weights(
    waits: Sequence[Stack], pid: int, group_tids: set[int], rules: Rules
) -> dict[str, float]:
    """Idle-inclusive samples of the process's Python threads inside a native stage (tier-1
    match only: a decoder thread waiting for input is not decoding)."""
    out: dict[str, float] = {}
    for s in waits:
        if s.pid != pid or s.tid in group_tids:
            continue
        stage = rules.classify(s, max_tier=1)
        if stage in rules.native:
            out[stage] = out.get(stage, 0.0) + s.count
    return out


def _ticks(waits: Sequence[Stack]) -> int:
    """Samples of the busiest-sampled thread of the idle-inclusive run (≈ ticks taken)."""
    per: Counter[tuple[int, int]] = Counter()
    for s in waits:
        per[(s.pid, s.tid)] += s.count
    return max(per.values(), default=0)


# -- output -----------------------------------------------------------------------------------


def markdown(profile: Mapping[str, Any]) -> str:
    """The stage table (% of one core per candidate) with its provenance, for
    ``docs/benchmarks.md``."""
    roles = [
        r
        for r in profile["roles"]
        if any(row["by_role_percent_per_candidate"].get(r) for row in profile["stages"])
    ]
    total = profile["total"]
    head = ["stage", *roles, "total", "of which helper threads", "py-spy raw"]
    lines = [
        f"CPU per live candidate by stage, % of one core (live candidates: "
        f"{profile['candidates']}; {profile['sampling_s']:.0f} s sampled at "
        f"{profile['rate_hz']:.0f} Hz)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    sums = {r: 0.0 for r in roles}
    for row in profile["stages"]:
        if not row["percent_per_candidate"] and not row["py_spy_raw_percent_per_candidate"]:
            continue
        cells = [row["stage"]]
        for r in roles:
            v = row["by_role_percent_per_candidate"].get(r, 0.0)
            sums[r] += v
            cells.append(_fmt(v))
        cells += [
            _fmt(row["percent_per_candidate"]),
            _fmt(row["helper_threads_percent_per_candidate"]),
            _fmt(row["py_spy_raw_percent_per_candidate"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        "| **total** | "
        + " | ".join(f"**{_fmt(sums[r])}**" for r in roles)
        + f" | **{_fmt(total['attributed_percent_per_candidate'])}** | | "
        + f"**{_fmt(sum(r['py_spy_raw_percent_per_candidate'] for r in profile['stages']))}** |"
    )
    lines += [
        "",
        f"- Server tree CPU by /proc over the same window: {_fmt(total['proc_percent'])} % of "
        f"one core ({_fmt(total['proc_percent_per_candidate'])} % per candidate); the stages sum "
        f"to it by construction.",
        f"- py-spy's active samples alone: {_fmt(total['py_spy_raw_percent'])} % of one core, "
        f"coverage {total['coverage']} of /proc. Threads without Python frames (mediapipe "
        "graph threads, the CTranslate2 worker) are invisible to py-spy, and py-spy counts a "
        "runnable thread waiting for a core as active: on the Python threads alone it sampled "
        f"{total.get('python_threads_sampled_ratio')}× their /proc CPU (≈ 1 on an idle machine).",
        f"- Load average (1 min) at start / end: {_load(profile.get('loadavg_start'))} / "
        f"{_load(profile.get('loadavg_end'))} on {profile.get('cpus') or '?'} cores.",
        f"- Python threads (split by their own samples, scaled to their /proc CPU): "
        f"{_share(total['python_threads_share'])}; helper threads (split by where the "
        f"process's Python threads waited in native code): {_share(total['helper_threads_share'])}"
        f"; unclassified: {_share(total['unclassified_share'])}.",
        f"- The two py-spy recorders used {_fmt(total['sampler_cpu_percent'])} % of one core "
        "themselves (same machine).",
    ]
    if profile.get("failures"):
        lines.append(f"- **Sampler failures**: {len(profile['failures'])} (see profile.json)")
    return "\n".join(lines) + "\n"


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _load(v: Sequence[float] | None) -> str:
    return "?" if not v else f"{v[0]:.2f}"


def _share(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def write(profile: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """``profile.json`` and ``profile.md`` in ``out_dir``."""
    paths = {"json": out_dir / JSON_NAME, "md": out_dir / MD_NAME}
    paths["json"].write_text(json.dumps(profile, indent=2), encoding="utf-8")
    paths["md"].write_text(markdown(profile), encoding="utf-8")
    return paths
