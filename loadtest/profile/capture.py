"""Sampling a process tree for a CPU budget: py-spy stacks plus /proc CPU per thread.

Two py-spy recorders run side by side over the same window, both following every process of
the tree (``--subprocesses``) and naming threads (``--threads``):

- ``active.txt``: only threads the kernel shows running (py-spy's default), so samples ÷
  rate ≈ CPU seconds of Python threads;
- ``waits.txt`` (``--idle``, a lower rate): every Python thread, to see which native call a
  thread is blocked in while helper threads py-spy cannot see (mediapipe graph threads,
  CTranslate2 workers, libvpx threads) do the work.

Meanwhile ``/proc/PID/stat`` and ``/proc/PID/task/TID/stat`` of every process of the tree
are read once a second: the CPU each thread really used, independently of the sampler
(``proc.json``). :mod:`loadtest.profile.budget` joins the three.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_RATE_HZ = 50
"""Measured with the load test's server tree (3 processes, ~60 threads): py-spy costs about
10 % of one core at 50 Hz and 16 % at 100 Hz; the idle-inclusive recorder at 25 Hz about
7 %. ``--native`` (which also pauses the process for every sample) cost 7.7 s of CPU and
30 s of wall time for 8 s of sampling: not used."""
WAITS_RATE_DIVISOR = 4
"""The idle-inclusive recorder samples at rate ÷ this (it only needs proportions)."""
PROC_EVERY_S = 1.0
STARTUP_GRACE_S = 15.0
"""py-spy gets this long beyond the window to attach, write and exit before it is killed."""
MIN_DURATION_S = 1

ACTIVE_FILE = "active.txt"
WAITS_FILE = "waits.txt"
PROC_FILE = "proc.json"


class ProfilerUnavailable(RuntimeError):
    """py-spy is not installed or cannot attach to the process (ptrace not permitted)."""


def py_spy_path() -> str:
    """The py-spy executable next to this interpreter, else on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found is None:
        raise ProfilerUnavailable(
            "py-spy is not installed (pip install 'interview-live[loadtest]' or py-spy==0.4.3)"
        )
    return found


# -- /proc ------------------------------------------------------------------------------------


def _stat_cpu_s(path: Path, tick: int) -> tuple[str, float] | None:
    """(comm, utime + stime in seconds) of one /proc stat file; None if it is gone."""
    try:
        text = path.read_text()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    try:
        return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / tick
    except (IndexError, ValueError):
        return None


def tree_pids(root: int) -> list[int]:
    """``root`` and every descendant (children of every thread, recursively)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        if pid in out:
            continue
        out.append(pid)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def cmdline_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return ""


def snapshot(roots: Sequence[int]) -> dict[int, dict[str, Any]]:
    """CPU seconds of every process of the trees under ``roots`` and of each of its threads."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, dict[str, Any]] = {}
    for root in roots:
        for pid in tree_pids(root):
            proc = _stat_cpu_s(Path(f"/proc/{pid}/stat"), tick)
            if proc is None or pid in out:
                continue
            threads: dict[int, tuple[str, float]] = {}
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    got = _stat_cpu_s(task / "stat", tick)
                    if got is not None and task.name.isdigit():
                        threads[int(task.name)] = got
            out[pid] = {"cmdline": cmdline_of(pid), "cpu_s": proc[1], "threads": threads}
    return out


@dataclass
class ProcWindow:
    """CPU used over a window: first and last value seen of every process and thread
    (processes and threads born inside the window start from 0; a thread that ended keeps
    the last value read)."""

    t0: float = 0.0
    t1: float = 0.0
    first: dict[int, dict[str, Any]] = field(default_factory=dict)
    last: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, snap: dict[int, dict[str, Any]], t: float) -> None:
        initial = not self.first and not self.last
        if initial:
            self.t0 = t
        self.t1 = t
        for pid, proc in snap.items():
            if pid not in self.first:
                born = {"cmdline": proc["cmdline"], "cpu_s": 0.0, "threads": {}}
                self.first[pid] = proc if initial else born
            first_threads = self.first[pid]["threads"]
            for tid, (comm, _) in proc["threads"].items():
                if tid not in first_threads and not initial:
                    first_threads[tid] = (comm, 0.0)
            seen = self.last[pid]["threads"] if pid in self.last else {}
            self.last[pid] = {**proc, "threads": {**seen, **proc["threads"]}}

    def usage(self) -> dict[str, Any]:
        """Per process: role-free CPU seconds over the window, and per thread."""
        processes = {}
        for pid, last in self.last.items():
            first = self.first.get(pid, {"cpu_s": 0.0, "threads": {}})
            threads = {}
            for tid, (comm, cpu) in last["threads"].items():
                before = first["threads"].get(tid, (comm, 0.0))[1]
                threads[str(tid)] = {"comm": comm, "cpu_s": round(max(0.0, cpu - before), 3)}
            processes[str(pid)] = {
                "cmdline": last["cmdline"],
                "cpu_s": round(max(0.0, last["cpu_s"] - first["cpu_s"]), 3),
                "threads": threads,
            }
        return {"t0": self.t0, "t1": self.t1, "wall_s": self.t1 - self.t0, "processes": processes}


async def _watch(roots: Sequence[int], window: ProcWindow, stop: asyncio.Event) -> None:
    while not stop.is_set():
        snap = await asyncio.to_thread(snapshot, roots)
        window.add(snap, time.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PROC_EVERY_S)


# -- py-spy -----------------------------------------------------------------------------------


def py_spy_command(
    exe: str, pid: int, out: Path, rate: int, duration_s: int, *, idle: bool
) -> list[str]:
    cmd = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
    cmd += ["--output", str(out), "--nonblocking", "--subprocesses", "--threads"]
    cmd += ["--duration", str(duration_s)]
    if idle:
        cmd.append("--idle")
    return cmd


async def _record(cmd: list[str], log: Path, timeout_s: float) -> int:
    err = await asyncio.to_thread(log.open, "wb")
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err
        )
        try:
            return await asyncio.wait_for(proc.wait(), timeout_s)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    finally:
        err.close()


def _failures(runs: Sequence[tuple[Path, list[str]]], codes: Sequence[int]) -> list[str]:
    """The recorders that failed, with the end of what they said."""
    out = []
    for (path, cmd), code in zip(runs, codes, strict=True):
        if code != 0 or not path.exists():
            said = path.with_suffix(".log").read_text(errors="replace")[-500:]
            out.append(f"{' '.join(cmd)} → exit {code}: {said}")
    return out


@dataclass(frozen=True)
class Capture:
    """Where one capture was written and how it was sampled."""

    out_dir: Path
    meta: dict[str, Any]


async def capture(
    pids: Sequence[int],
    out_dir: Path,
    duration_s: float,
    *,
    rate: int = DEFAULT_RATE_HZ,
    label: str = "",
) -> Capture:
    """Sample the process trees under ``pids`` for ``duration_s`` seconds into ``out_dir``
    (``active.txt``, ``waits.txt``, ``proc.json``; py-spy's messages in ``*.log``).

    Raises :class:`ProfilerUnavailable` when py-spy is missing or recorded nothing."""
    if not pids:
        raise ProfilerUnavailable("no process to profile")
    exe = py_spy_path()
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    seconds = max(MIN_DURATION_S, int(duration_s))  # never past the window's end
    waits_rate = max(1, rate // WAITS_RATE_DIVISOR)
    window = ProcWindow()
    stop = asyncio.Event()
    window.add(await asyncio.to_thread(snapshot, pids), time.time())
    watcher = asyncio.create_task(_watch(pids, window, stop), name="profile-proc-watch")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()
    started = time.time()
    runs = []
    for pid in pids:
        for name, r, idle in (("active", rate, False), ("waits", waits_rate, True)):
            suffix = "" if len(pids) == 1 else f"-{pid}"
            out = out_dir / f"{name}{suffix}.txt"
            cmd = py_spy_command(exe, pid, out, r, seconds, idle=idle)
            runs.append(
                (out, cmd, _record(cmd, out.with_suffix(".log"), seconds + STARTUP_GRACE_S))
            )
    try:
        codes = await asyncio.gather(*(r[2] for r in runs))
    finally:
        stop.set()
        await asyncio.gather(watcher, return_exceptions=True)
    window.add(await asyncio.to_thread(snapshot, pids), time.time())
    ended = time.time()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler_cpu_s = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    failures = await asyncio.to_thread(_failures, [(out, cmd) for out, cmd, _ in runs], codes)
    meta: dict[str, Any] = {
        "label": label,
        "pids": list(pids),
        "rate_hz": rate,
        "waits_rate_hz": waits_rate,
        "sampling_s": seconds,
        "py_spy": exe,
        "commands": [" ".join(cmd) for _, cmd, _ in runs],
        "sampler_started": started,
        "sampler_ended": ended,
        "sampler_cpu_s": round(sampler_cpu_s, 3),
        "loadavg_start": [round(x, 2) for x in load_before],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "failures": failures,
        "proc": window.usage(),
        "active_files": sorted({out.name for out, _, _ in runs if out.name.startswith("active")}),
        "waits_files": sorted({out.name for out, _, _ in runs if out.name.startswith("waits")}),
    }
    await asyncio.to_thread(
        (out_dir / PROC_FILE).write_text, json.dumps(meta, indent=1), encoding="utf-8"
    )
    if failures and len(failures) == len(runs):
        raise ProfilerUnavailable("py-spy failed: " + " | ".join(failures))
    return Capture(out_dir, meta)


async def capture_window(
    pids: Sequence[int],
    out_dir: Path,
    start_at: float,
    end_at: float,
    *,
    rate: int = DEFAULT_RATE_HZ,
    label: str = "",
) -> Capture:
    """:func:`capture` from wall time ``start_at`` to ``end_at`` (the load test's measured
    window)."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    return await capture(pids, out_dir, end_at - time.time(), rate=rate, label=label)


def load_capture(out_dir: Path) -> Capture:
    meta = json.loads((out_dir / PROC_FILE).read_text(encoding="utf-8"))
    return Capture(out_dir, meta)
