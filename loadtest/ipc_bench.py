"""CPU of handing analysis frames to a worker process, by the capacity of the queue's pipe.

Sends what the media process sends an analyzer worker for every sampled video frame (a 320×240
RGB array, pickled on a ``multiprocessing`` queue as :class:`analyzers.pool.AnalyzerPool` does)
to a spawned process that takes them off the queue, paced at ``--rate`` frames a second (5 fps
× 8 candidates = 40 by default), once per pipe capacity (Linux's default and the pool's), and
with ``--batch N`` also N frames to a queue item (as the pool's media flushes carry several
messages), rounds interleaved. Reported: CPU per frame of the sending process (its queue's
feeder thread pickles and writes) and of the receiving one (reads and unpickles), from
``getrusage`` / ``time.process_time``.

    python -m loadtest.ipc_bench
    python -m loadtest.ipc_bench --frames 600 --repeat 3 --batch 4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.queues
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from analyzers.pool import WORKER_PIPE_BYTES, grow_pipe
from media.adapters import ANALYSIS_HEIGHT_PX, ANALYSIS_WIDTH_PX

DEFAULT_PIPE_BYTES = 64 * 1024
"""Linux's default pipe capacity (what a ``multiprocessing`` queue gets)."""
SETTLE_S = 1.0
"""Wait after the receiver starts, before measuring."""


def _receive(q: multiprocessing.queues.Queue[Any], count: int, out: Any) -> None:
    started = time.process_time()
    received = 0
    while received < count:
        received += len(q.get())
    out.put(time.process_time() - started)


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(pipe_bytes: int, frames: int, rate_hz: float, batch: int = 1) -> dict[str, float]:
    """One round: ``frames`` frames, ``batch`` to a queue item, through a queue whose pipe
    holds ``pipe_bytes``."""
    ctx = multiprocessing.get_context("spawn")
    q: multiprocessing.queues.Queue[Any] = ctx.Queue(64)
    results: multiprocessing.queues.Queue[float] = ctx.Queue()
    capacity = grow_pipe(q, pipe_bytes)
    receiver = ctx.Process(target=_receive, args=(q, frames, results), daemon=True)
    receiver.start()
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (ANALYSIS_HEIGHT_PX, ANALYSIS_WIDTH_PX, 3), dtype=np.uint8)
    time.sleep(SETTLE_S)
    cpu_before = _process_cpu_s()
    start = time.monotonic()
    for i in range(0, frames, batch):
        q.put([frame] * min(batch, frames - i))
        delay = start + (i + batch) / rate_hz - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    receiver_cpu_s = results.get(timeout=60.0)
    sender_cpu_s = _process_cpu_s() - cpu_before
    receiver.join(10.0)
    return {
        "pipe_bytes": capacity,
        "batch": batch,
        "sender_ms_per_frame": round(sender_cpu_s / frames * 1e3, 3),
        "receiver_ms_per_frame": round(receiver_cpu_s / frames * 1e3, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400, help="frames per round")
    parser.add_argument("--rate", type=float, default=40.0, help="frames per second")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds")
    parser.add_argument(
        "--batch", type=int, default=1, help="also send this many frames to a queue item"
    )
    parser.add_argument("--json", dest="json_out", help="write the results here")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.rate <= 0 or args.repeat < 1 or args.batch < 1:
        parser.error("--frames, --rate, --repeat and --batch must be positive")
    configs = [(DEFAULT_PIPE_BYTES, 1), (WORKER_PIPE_BYTES, 1)]
    if args.batch > 1:
        configs.append((WORKER_PIPE_BYTES, args.batch))
    rounds: dict[tuple[int, int], list[dict[str, float]]] = {c: [] for c in configs}
    for _ in range(args.repeat):
        for size, batch in configs:
            result = measure(size, args.frames, args.rate, batch)
            rounds[size, batch].append(result)
            print(json.dumps(result), file=sys.stderr)
    summary = {
        "frames": args.frames,
        "rate_hz": args.rate,
        "results": [
            {
                "pipe_bytes_asked": size,
                "pipe_bytes": runs[0]["pipe_bytes"],
                "batch": batch,
                "sender_ms_per_frame": statistics.mean(r["sender_ms_per_frame"] for r in runs),
                "receiver_ms_per_frame": statistics.mean(r["receiver_ms_per_frame"] for r in runs),
                "rounds": runs,
            }
            for (size, batch), runs in rounds.items()
        ],
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
