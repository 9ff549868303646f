"""Which pipeline stage a sampled stack belongs to: py-spy's raw stacks and the rule table.

The rules are data (``loadtest/data/profile_stages.json``, described in its ``about``): a
stack is read from its leaf toward its root, tier by tier; within a tier the first frame
that matches any rule decides. A stack no rule matches is :data:`UNCLASSIFIED`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "profile_stages.json"
UNCLASSIFIED = "unclassified"
UNATTRIBUTED_NATIVE = "native threads (unattributed)"
TIERS = (1, 2, 3)

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_THREAD = re.compile(r"^thread \((?P<tid>0[xX][0-9a-fA-F]+|\d+)\)(?:: (?P<name>.*))?$")
_PROCESS_END = '";thread ('


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a stack: py-spy's ``function (file:line)``, or a pseudo-frame
    (``thread (TID): NAME``, ``process PID:"cmdline"``) with only ``text``."""

    text: str
    function: str = ""
    file: str = ""


@dataclass(frozen=True, slots=True)
class Stack:
    """One line of py-spy's raw output: a stack (root first) seen ``count`` times."""

    pid: int
    cmdline: str
    tid: int
    thread: str
    frames: tuple[Frame, ...]
    count: int

    def context(self) -> tuple[Frame, ...]:
        """The frames read by the rules, leaf first, then the thread and process
        pseudo-frames."""
        name = f": {self.thread}" if self.thread else ""
        return (
            *reversed(self.frames),
            Frame(f"thread ({self.tid}){name}"),
            Frame(f'process {self.pid}:"{self.cmdline}"'),
        )

    def leaf_text(self, depth: int = 6) -> str:
        """The innermost ``depth`` frames, leaf last (for listing unclassified stacks)."""
        return ";".join(f.text for f in self.frames[-depth:]) or "(no Python frames)"


def parse_frame(text: str) -> Frame:
    m = _FRAME.match(text)
    if m is None:
        return Frame(text, function=text)
    return Frame(text, function=m["function"], file=m["file"])


def parse_line(line: str) -> Stack | None:
    """A raw line ``[process P:"cmd";]thread (T)[: NAME];frame;…;frame COUNT`` (py-spy
    ``record --format raw --threads [--subprocesses]``); None for a blank or malformed one."""
    line = line.rstrip("\n")
    body, _, count_text = line.rpartition(" ")
    if not body or not count_text.isdigit():
        return None
    pid, cmdline = 0, ""
    if body.startswith("process "):
        end = body.find(_PROCESS_END)  # the command line may itself contain ';'
        if end < 0:
            return None
        # a subprocess's stacks start with its ancestors' frames: the last one is its own
        own = body.rfind('";process ', 0, end)
        head = body[(own + 2 if own >= 0 else 0) + len("process ") : end]
        pid_text, _, cmdline = head.partition(':"')
        if not pid_text.isdigit():
            return None
        pid = int(pid_text)
        body = body[end + 2 :]
    parts = body.split(";")
    tid, thread = 0, ""
    m = _THREAD.match(parts[0])
    if m is not None:
        tid = int(m["tid"], 0)
        thread = m["name"] or ""
        parts = parts[1:]
    frames = tuple(parse_frame(p) for p in parts if p)
    return Stack(pid, cmdline, tid, thread, frames, int(count_text))


def read_raw(path: Path) -> list[Stack]:
    """Every stack of a raw py-spy file (a missing file has none)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as f:
        return [s for s in map(parse_line, f) if s is not None]


@dataclass(frozen=True)
class Rule:
    stage: str
    tier: int
    functions: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()

    def matches(self, frame: Frame) -> bool:
        if frame.function and frame.function in self.functions:
            return True
        if frame.file and any(
            frame.file.startswith(p) or f"/{p}" in frame.file for p in self.files
        ):
            return True
        return any(p in frame.text for p in self.frames)


@dataclass(frozen=True)
class ThreadGroup:
    """Native threads recognised by name, whose CPU goes to ``stages`` only."""

    comm_prefix: str
    stages: tuple[str, ...]


@dataclass
class Rules:
    stages: tuple[str, ...]
    """Every stage in table order (ends with the fallbacks)."""
    native: frozenset[str]
    rules: tuple[Rule, ...]
    threads: tuple[ThreadGroup, ...] = ()
    roles: tuple[tuple[str, str], ...] = ()
    """(command-line substring, role) in column order; "" takes every process no other
    substring matches."""
    about: dict[str, str] = field(default_factory=dict)
    _cache: dict[tuple[int, str, str, str], str | None] = field(default_factory=dict)

    def classify(self, stack: Stack, *, max_tier: int = TIERS[-1]) -> str:
        """The stage of ``stack``; :data:`UNCLASSIFIED` when no rule up to ``max_tier``
        matches."""
        context = stack.context()
        for tier in TIERS:
            if tier > max_tier:
                break
            for frame in context:
                stage = self._match(tier, frame)
                if stage is not None:
                    return stage
        return UNCLASSIFIED

    def _match(self, tier: int, frame: Frame) -> str | None:
        key = (tier, frame.text, frame.function, frame.file)
        if key not in self._cache:
            self._cache[key] = next(
                (r.stage for r in self.rules if r.tier == tier and r.matches(frame)), None
            )
        return self._cache[key]

    def group_of(self, comm: str) -> ThreadGroup | None:
        return next((g for g in self.threads if comm.startswith(g.comm_prefix)), None)

    def role_of(self, cmdline: str) -> str:
        """The first role whose command-line substring ``cmdline`` contains; else the role
        with an empty one."""
        found = next((role for key, role in self.roles if key and key in cmdline), None)
        return found or next((role for key, role in self.roles if not key), "other processes")

    def role_order(self) -> list[str]:
        return list(dict.fromkeys(role for _, role in self.roles))


def load_rules(path: Path | None = None) -> Rules:
    """The rule table (default: the bundled ``profile_stages.json``); ValueError when a rule
    names a stage the table does not list."""
    data = json.loads((path or DEFAULT_RULES).read_text(encoding="utf-8"))
    return rules_from(data)


def rules_from(data: Mapping[str, Any]) -> Rules:
    stages = tuple(s["name"] for s in data["stages"])
    known = set(stages)
    for required in (UNCLASSIFIED, UNATTRIBUTED_NATIVE):
        if required not in known:
            raise ValueError(f"the stage table must list {required!r}")
    rules = tuple(
        Rule(
            stage=r["stage"],
            tier=int(r.get("tier", 1)),
            functions=frozenset(r.get("functions", ())),
            files=tuple(r.get("files", ())),
            frames=tuple(r.get("frames", ())),
        )
        for r in data["rules"]
    )
    groups = tuple(
        ThreadGroup(t["comm_prefix"], tuple(t["stages"])) for t in data.get("threads", ())
    )
    for name in [r.stage for r in rules] + [s for g in groups for s in g.stages]:
        if name not in known:
            raise ValueError(f"rule for unknown stage {name!r}")
    if any(r.tier not in TIERS for r in rules):
        raise ValueError(f"rule tiers are {TIERS}")
    return Rules(
        stages=stages,
        native=frozenset(s["name"] for s in data["stages"] if s.get("native")),
        rules=rules,
        threads=groups,
        roles=tuple((p["cmdline"], p["role"]) for p in data.get("processes", ())),
        about={s["name"]: s.get("about", "") for s in data["stages"]},
    )


def stage_counts(
    stacks: Iterable[Stack], rules: Rules, *, max_tier: int = TIERS[-1]
) -> dict[str, int]:
    """Samples per stage."""
    out: dict[str, int] = {}
    for s in stacks:
        stage = rules.classify(s, max_tier=max_tier)
        out[stage] = out.get(stage, 0) + s.count
    return out


def by_thread(stacks: Sequence[Stack]) -> Iterator[tuple[tuple[int, int], list[Stack]]]:
    """Stacks grouped by (pid, tid)."""
    groups: dict[tuple[int, int], list[Stack]] = {}
    for s in stacks:
        groups.setdefault((s.pid, s.tid), []).append(s)
    yield from groups.items()
