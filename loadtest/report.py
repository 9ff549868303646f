"""Load-test report: targets, the real-time verdict, PNG plots and a markdown summary.

Pure functions of the result dict that ``interview-live-loadtest`` writes as JSON, so a
report can be rebuilt from a stored result. Given ``OUT.json`` the files are ``OUT.md`` and
``OUT-<name>.png`` next to it. matplotlib is imported only when plotting (Agg backend).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TARGET_FACE_FPS = 5.0
TARGET_POSE_FPS = 2.0
FPS_TOLERANCE = 0.9
"""Analysed fps may be this share of the target and still count as real time."""
TARGET_FINAL_P95_S = 1.0
REALTIME_FINAL_P95_S = 2.5
"""Beyond this, recognition is not keeping up (the 1.0 s target is reported separately)."""
MAX_LAG_GROWTH_S_PER_MIN = 0.5
TARGET_DASHBOARD_P95_MS = 100.0
MIN_SENTENCES_HEARD_SHARE = 0.9
DASHBOARD_WINDOW_S = 5.0
"""Dashboard latency is aggregated over windows of this length in the time series."""

FIGURE_SIZE_IN = (13.0, 9.0)
FIGURE_DPI = 90
LEGEND_MAX_CANDIDATES = 8
"""Above this many candidates, per-candidate lines are drawn without a legend."""


@dataclass(frozen=True)
class Goal:
    """One summary key, its target (if any) and how to show it."""

    key: str
    label: str
    unit: str = ""
    at_least: float | None = None
    at_most: float | None = None

    def target_text(self) -> str:
        if self.at_least is not None:
            return f"≥ {_num(self.at_least)} {self.unit}".rstrip()
        if self.at_most is not None:
            return f"≤ {_num(self.at_most)} {self.unit}".rstrip()
        return "—"

    def passed(self, value: Any) -> bool | None:
        """True/False against the target; None without a target or a value."""
        if isinstance(value, bool):
            return value if self.key == "realtime" else None
        if not isinstance(value, int | float):
            return None
        if self.at_least is not None:
            return value >= self.at_least
        if self.at_most is not None:
            return value <= self.at_most
        return None


GOALS: tuple[Goal, ...] = (
    Goal("candidates", "candidates"),
    Goal("realtime", "real time (definition below)"),
    Goal(
        "face_fps_min",
        "analysed face fps, slowest candidate",
        "fps",
        FPS_TOLERANCE * TARGET_FACE_FPS,
    ),
    Goal(
        "pose_fps_min",
        "analysed pose fps, slowest candidate",
        "fps",
        FPS_TOLERANCE * TARGET_POSE_FPS,
    ),
    Goal("received_fps_min", "received video fps, slowest candidate", "fps"),
    Goal("asr_final_latency_p50_s", "ASR final latency p50", "s"),
    Goal("asr_final_latency_p95_s", "ASR final latency p95", "s", at_most=TARGET_FINAL_P95_S),
    Goal("asr_final_latency_max_s", "ASR final latency max", "s"),
    Goal("asr_lag_growth_s_per_min", "ASR lag growth", "s/min", at_most=MAX_LAG_GROWTH_S_PER_MIN),
    Goal("sentences_heard_share", "sentences transcribed", "", MIN_SENTENCES_HEARD_SHARE),
    Goal("transcript_match_min", "transcript ≈ speech (0–1), worst candidate", ""),
    Goal("dashboard_latency_p50_ms", "event → dashboard p50", "ms"),
    Goal(
        "dashboard_latency_p95_ms", "event → dashboard p95", "ms", at_most=TARGET_DASHBOARD_P95_MS
    ),
    Goal("loop_lag_p95_ms", "server event-loop lag p95", "ms"),
    Goal("cpu_percent", "server CPU (all processes)", "%"),
    Goal("rss_mb", "server RSS (all processes)", "MiB"),
    Goal("dropped_frames", "video frames skipped by analyzers"),
    Goal("dropped_audio_s", "audio not analysed", "s"),
    Goal("refused", "candidates never admitted", at_most=0),
    Goal("redirected", "redirects to another node"),
)


REALTIME_DEFINITION = (
    f"Real time: every candidate admitted; analysed face ≥ {FPS_TOLERANCE * TARGET_FACE_FPS:g} "
    f"fps and pose ≥ {FPS_TOLERANCE * TARGET_POSE_FPS:g} fps for every candidate; ASR final "
    f"latency p95 ≤ {REALTIME_FINAL_P95_S:g} s (the {TARGET_FINAL_P95_S:g} s target is checked "
    f"separately) with lag growth ≤ {MAX_LAG_GROWTH_S_PER_MIN:g} s/min; "
    f"≥ {MIN_SENTENCES_HEARD_SHARE:.0%} of sentences transcribed; "
    f"event → dashboard p95 ≤ {TARGET_DASHBOARD_P95_MS:g} ms."
)


def realtime(summary: Mapping[str, Any]) -> bool:
    """Whether a run kept up: every candidate admitted and analysed at rate, ASR not lagging."""
    p95 = summary.get("asr_final_latency_p95_s")
    return bool(
        summary.get("candidates", 0) > 0
        and summary.get("refused", 0) == 0
        and (summary.get("face_fps_min") or 0.0) >= FPS_TOLERANCE * TARGET_FACE_FPS
        and (summary.get("pose_fps_min") or 0.0) >= FPS_TOLERANCE * TARGET_POSE_FPS
        and p95 is not None
        and p95 <= REALTIME_FINAL_P95_S
        and (summary.get("asr_lag_growth_s_per_min") or 0.0) <= MAX_LAG_GROWTH_S_PER_MIN
        and (summary.get("sentences_heard_share") or 0.0) >= MIN_SENTENCES_HEARD_SHARE
        and (summary.get("dashboard_latency_p95_ms") or 0.0) <= TARGET_DASHBOARD_P95_MS
    )


def machine_info() -> dict[str, Any]:
    """CPU model, cores and RAM of this machine (Linux /proc; blanks elsewhere)."""
    model = ""
    ram_gib: float | None = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 2**20, 1)
                break
    return {
        "cpu_model": model or platform.processor(),
        "cpus": os.cpu_count(),
        "ram_gib": ram_gib,
        "python": platform.python_version(),
    }


# -- files ----------------------------------------------------------------------------------


def report_paths(json_path: Path, result: Mapping[str, Any]) -> dict[str, Path]:
    """Markdown and PNG paths for ``OUT.json``: ``md`` → OUT.md, others → OUT-<name>.png."""
    stem = json_path.with_suffix("")
    paths = {"md": stem.with_name(stem.name + ".md")}
    for run in runs_of(result):
        name = f"run-{run.get('candidates', 0)}"
        paths[name] = stem.with_name(f"{stem.name}-{name}.png")
    if "max_realtime_candidates" in result:
        paths["capacity"] = stem.with_name(f"{stem.name}-capacity.png")
    return paths


def runs_of(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The runs of a result: ``runs`` of a capacity search, else the result itself."""
    runs = result.get("runs")
    return list(runs) if runs else [result]


def write_report(result: Mapping[str, Any], json_path: Path) -> dict[str, Path]:
    """Write the PNG plots and the markdown summary next to ``json_path``; returns the paths."""
    paths = report_paths(json_path, result)
    for run in runs_of(result):
        plot_run(run, paths[f"run-{run.get('candidates', 0)}"])
    if "capacity" in paths:
        plot_capacity(runs_of(result), paths["capacity"])
    pngs = {name: p.name for name, p in paths.items() if name != "md"}
    paths["md"].write_text(summary_markdown(result, pngs), encoding="utf-8")
    return paths


# -- markdown -------------------------------------------------------------------------------


def summary_markdown(result: Mapping[str, Any], pngs: Mapping[str, str]) -> str:
    """The human summary: machine, command, targets with ✓/✗, candidates, plots."""
    machine = result.get("machine") or machine_info()
    lines = ["# Interview Live load test", ""]
    lines += [
        f"- Machine: {machine.get('cpu_model') or 'unknown CPU'}, {machine.get('cpus')} cores, "
        f"{_num(machine.get('ram_gib'))} GiB RAM, Python {machine.get('python', '?')}",
        f"- Command: `{result.get('command', 'interview-live-loadtest')}`",
        f"- Targets: {', '.join(result.get('targets') or ['spawned server'])}",
        f"- Refused: {result.get('refused', 0)}, redirected: {result.get('redirected', 0)}",
    ]
    if "max_realtime_candidates" in result:
        lines.append(
            f"- **Largest real-time candidate count: {result['max_realtime_candidates']}**"
        )
    lines += ["", "## Summary", "", *summary_table(result), "", REALTIME_DEFINITION, ""]
    if "max_realtime_candidates" in result:
        lines += ["## Capacity search", "", *capacity_table(runs_of(result)), ""]
    lines += ["## Candidates", "", *candidate_table(result.get("details") or []), ""]
    processes = result.get("processes") or []
    if processes:
        lines += ["## Server processes", "", "| pid | CPU % | RSS MiB | RSS max MiB |"]
        lines.append("|---|---|---|---|")
        for p in processes:
            lines.append(
                f"| {p.get('pid')} | {_num(p.get('cpu_percent'))} | {_num(p.get('rss_mb'))} "
                f"| {_num(p.get('rss_max_mb'))} |"
            )
        lines.append("")
    nodes = result.get("nodes") or []
    if nodes:
        lines += ["## Nodes (at the end)", "", "| URL | node | live sessions | admission |"]
        lines.append("|---|---|---|---|")
        for node in nodes:
            admission = node.get("admission")
            shown = ", ".join(f"{k} {v}" for k, v in admission.items()) if admission else "—"
            lines.append(
                f"| {_cell(str(node.get('url')))} | {_cell(str(node.get('node') or '—'))} "
                f"| {_num(node.get('live_sessions'))} | {_cell(shown)} |"
            )
        lines.append("")
    if pngs:
        lines += ["## Plots", ""]
        lines += [f"- [{name}]({file})" for name, file in pngs.items()]
        lines += [""] + [f"![{name}]({file})" for name, file in pngs.items()] + [""]
    return "\n".join(lines)


def summary_table(summary: Mapping[str, Any]) -> list[str]:
    rows = ["| metric | key | value | target | ok |", "|---|---|---|---|---|"]
    for goal in GOALS:
        if goal.key not in summary:
            continue
        value = summary[goal.key]
        rows.append(
            f"| {goal.label} | `{goal.key}` | {_num(value)} | {goal.target_text()} "
            f"| {_mark(goal.passed(value))} |"
        )
    return rows


def capacity_table(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = [g for g in GOALS if g.key not in ("candidates", "realtime")]
    keys = [g for g in keys if g.at_least is not None or g.at_most is not None]
    head = "| candidates | real time | " + " | ".join(f"`{g.key}`" for g in keys) + " |"
    rows = [head, "|" + "---|" * (len(keys) + 2)]
    for run in runs:
        cells = [f"{_num(run.get(g.key))} {_mark(g.passed(run.get(g.key)))}".rstrip() for g in keys]
        rows.append(
            f"| {run.get('candidates')} | {_mark(bool(run.get('realtime')))} | "
            + " | ".join(cells)
            + " |"
        )
    return rows


def candidate_table(details: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        "| # | target | face fps | pose fps | received fps | finals / sentences | final p95 s "
        "| lag growth s/min | audio not analysed s | degraded (level, s) | redirected | refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, d in enumerate(details):
        latencies = sorted(d.get("final_latencies_s") or [])
        p95 = (
            latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
            if latencies
            else None
        )
        refused = _cell(str(d["refused"])[:120]) if d.get("refused") else ""
        deg = d.get("degraded") or {}
        degraded = f"{deg['max_level']}, {_num(deg.get('seconds'))}" if deg.get("max_level") else ""
        rows.append(
            f"| {d.get('index', i)} | {_cell(str(d.get('target', '')))} | {_num(d.get('face_fps'))} "
            f"| {_num(d.get('pose_fps'))} | {_num(d.get('received_fps'))} "
            f"| {d.get('finals', 0)} / {d.get('sentences', 0)} | {_num(p95)} "
            f"| {_num(d.get('lag_growth_s_per_min'))} | {_num(d.get('dropped_audio_s'))} "
            f"| {degraded} | {d.get('redirected', 0)} | {refused} |"
        )
    return rows


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("✓" if ok else "✗")


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- plots ----------------------------------------------------------------------------------


def _figure(rows: int, cols: int) -> tuple[Figure, list[Axes]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGURE_SIZE_IN, dpi=FIGURE_DPI)  # fixed margins: one draw, not two
    fig.subplots_adjust(left=0.06, right=0.94, bottom=0.07, top=0.92, wspace=0.28, hspace=0.32)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def plot_run(run: Mapping[str, Any], path: Path) -> None:
    """One run: analysed fps per candidate, ASR final latency, dashboard p95, CPU/RSS."""
    series = run.get("series") or {}
    fig, (fps_ax, asr_ax, dash_ax, cpu_ax) = _figure(2, 2)
    n = int(run.get("candidates", 0))
    fig.suptitle(f"{n} candidates, real time: {_num(bool(run.get('realtime')))}")
    measure_from = series.get("measure_from_s")

    t = series.get("t_s") or []
    label = len(series.get("candidates") or []) <= LEGEND_MAX_CANDIDATES
    for c in series.get("candidates") or []:
        face = fps_ax.plot(t, _nan(c.get("face_fps")), lw=1)[0]
        fps_ax.plot(t, _nan(c.get("pose_fps")), lw=1, ls="--", color=face.get_color())
        if label:
            face.set_label(f"#{c.get('index')} face (pose dashed)")
    fps_ax.axhline(FPS_TOLERANCE * TARGET_FACE_FPS, color="k", ls=":", lw=1)
    fps_ax.axhline(FPS_TOLERANCE * TARGET_POSE_FPS, color="k", ls=":", lw=1)
    _style(fps_ax, "analysed face / pose fps per candidate", "fps", measure_from)

    finals = series.get("asr_finals") or []
    asr_ax.scatter([f[0] for f in finals], [f[2] for f in finals], s=8, alpha=0.6)
    asr_ax.axhline(TARGET_FINAL_P95_S, color="r", ls="--", lw=1, label="1.0 s target")
    _style(asr_ax, "ASR final latency (sentence end → viewer)", "s", measure_from)

    dash = series.get("dashboard") or []
    dash_ax.plot([d[0] for d in dash], [d[3] for d in dash], marker=".", label="p95 per window")
    dash_ax.axhline(TARGET_DASHBOARD_P95_MS, color="r", ls="--", lw=1, label="100 ms target")
    _style(
        dash_ax, f"event → dashboard latency p95 per {DASHBOARD_WINDOW_S:.0f} s", "ms", measure_from
    )

    rss_ax = cpu_ax.twinx()
    for p in run.get("processes") or []:
        samples = p.get("samples") or []
        cpu_ax.plot(
            [s[0] for s in samples], [s[1] for s in samples], label=f"pid {p.get('pid')} CPU"
        )
        rss_ax.plot(
            [s[0] for s in samples],
            [s[2] for s in samples],
            ls="--",
            label=f"pid {p.get('pid')} RSS",
        )
    rss_ax.set_ylabel("RSS MiB (dashed)")
    _style(cpu_ax, "server CPU % and RSS per process tree", "CPU %", measure_from)
    handles, labels = cpu_ax.get_legend_handles_labels()
    rss_handles, rss_labels = rss_ax.get_legend_handles_labels()
    if handles or rss_handles:
        cpu_ax.legend(handles + rss_handles, labels + rss_labels, fontsize="small", loc="best")
    fig.savefig(path)


def plot_capacity(runs: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Key metrics vs candidate count; green circles kept real time, red crosses did not."""
    panels = (
        ("face_fps_min", "face fps, slowest", FPS_TOLERANCE * TARGET_FACE_FPS),
        ("pose_fps_min", "pose fps, slowest", FPS_TOLERANCE * TARGET_POSE_FPS),
        ("asr_final_latency_p95_s", "ASR final p95 s", TARGET_FINAL_P95_S),
        ("dashboard_latency_p95_ms", "dashboard p95 ms", TARGET_DASHBOARD_P95_MS),
        ("loop_lag_p95_ms", "event-loop lag p95 ms", None),
        ("cpu_percent", "server CPU %", None),
    )
    fig, axes = _figure(2, 3)
    from matplotlib.ticker import MaxNLocator

    fig.suptitle("Capacity: metrics vs concurrent candidates (o real time, x not; dotted: target)")
    xs = [int(r.get("candidates", 0)) for r in runs]
    for ax, (key, title, target) in zip(axes, panels, strict=True):
        ys = [_float(r.get(key)) for r in runs]
        ax.plot(xs, ys, color="0.6", lw=1)
        for x, y, r in zip(xs, ys, runs, strict=True):
            ok = bool(r.get("realtime"))
            ax.plot([x], [y], marker="o" if ok else "x", color="g" if ok else "r", ms=8)
        if target is not None:
            ax.axhline(target, color="k", ls=":", lw=1)
        ax.set_title(title)
        ax.set_xlabel("candidates")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.savefig(path)


def _style(ax: Axes, title: str, ylabel: str, measure_from: float | None) -> None:
    if measure_from is not None:
        ax.axvspan(0, measure_from, color="0.9", zorder=0)  # ramp and warm-up, not measured
    ax.set_title(title)
    ax.set_xlabel("s since start")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="best")


def _nan(values: Sequence[float | None] | None) -> list[float]:
    return [_float(v) for v in values or []]


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")
