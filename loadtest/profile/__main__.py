"""``python -m loadtest.profile``: re-read a capture, or profile running processes.

    python -m loadtest.profile report OUT_DIR/candidates-4 [--candidates 4] [--rules FILE]
    python -m loadtest.profile attach --pid PID --duration 30 --candidates 4 --out DIR

The load test profiles itself with ``interview-live-loadtest --profile OUT_DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from loadtest.profile import (
    DEFAULT_RATE_HZ,
    ProfilerUnavailable,
    capture,
    finish,
    load_capture,
    load_rules,
)
from loadtest.profile.budget import JSON_NAME


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.profile", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="analyse a capture directory again")
    rep.add_argument("dir")
    rep.add_argument("--candidates", type=int, help="live candidates (default: as before)")
    rep.add_argument("--rules", help="stage rule table (default: the bundled one)")
    att = sub.add_parser("attach", help="profile running process trees")
    att.add_argument("--pid", type=int, action="append", required=True)
    att.add_argument("--duration", type=float, default=30.0)
    att.add_argument("--candidates", type=int, default=1)
    att.add_argument("--out", required=True)
    att.add_argument("--rate", type=int, default=DEFAULT_RATE_HZ)
    att.add_argument("--rules")
    args = p.parse_args(argv)
    rules = load_rules(Path(args.rules) if args.rules else None)
    if args.command == "report":
        out = Path(args.dir)
        cap = load_capture(out)
        n = args.candidates
        if n is None:
            previous = out / JSON_NAME
            n = json.loads(previous.read_text())["candidates"] if previous.exists() else 1
        entry = finish(cap, n, rules=rules)
    else:
        if not 1 <= args.duration <= 3600 or not 1 <= args.rate <= 1000:
            p.error("duration must be 1..3600 s and rate 1..1000 Hz")
        try:
            cap = asyncio.run(capture(args.pid, Path(args.out), args.duration, rate=args.rate))
        except ProfilerUnavailable as exc:
            print(f"profile: {exc}", file=sys.stderr)
            return 2
        entry = finish(cap, args.candidates, rules=rules)
    print(Path(entry["md"]).read_text(), end="")
    print(f"profile: {entry['json']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
