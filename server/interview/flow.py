"""The interview's timer state machine, as pure functions of (state, plan, now).

The server is authoritative: a question has a prep phase then an answer phase; the
candidate may skip the rest of the prep or finish an answer early; when a phase's
time runs out the machine moves on by itself. Time only runs while the candidate is
connected (``running``); a dropped connection pauses the clock with the remaining
time kept, so a resumed interview continues where it left off.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any


class Phase(enum.StrEnum):
    PREP = "prep"
    ANSWER = "answer"
    DONE = "done"


class EndReason(enum.StrEnum):
    FINISHED = "finished"
    """The candidate pressed "finish answer"."""
    TIME_UP = "time_up"


@dataclass(frozen=True, slots=True)
class Step:
    """Timing of one question of the plan."""

    prep_s: float
    answer_s: float


@dataclass(frozen=True, slots=True)
class FlowState:
    index: int
    phase: Phase
    remaining_s: float
    """Time left in the phase as of ``as_of_s`` (wall clock, seconds)."""
    running: bool
    as_of_s: float
    answer_started_s: float | None = None
    """When the current answer phase began (wall clock), for the time actually used."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "phase": self.phase.value,
            "remaining_s": self.remaining_s,
            "running": self.running,
            "as_of_s": self.as_of_s,
            "answer_started_s": self.answer_started_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowState:
        return cls(
            index=int(data["index"]),
            phase=Phase(data["phase"]),
            remaining_s=float(data["remaining_s"]),
            running=bool(data["running"]),
            as_of_s=float(data["as_of_s"]),
            answer_started_s=data.get("answer_started_s"),
        )


@dataclass(frozen=True, slots=True)
class AnswerStarted:
    index: int


@dataclass(frozen=True, slots=True)
class AnswerEnded:
    index: int
    reason: EndReason
    used_s: float


@dataclass(frozen=True, slots=True)
class Completed:
    pass


Transition = AnswerStarted | AnswerEnded | Completed


def start(plan: list[Step], now_s: float) -> tuple[FlowState, list[Transition]]:
    """The state at the first question's prep phase (paused until ``resume``)."""
    if not plan:
        return FlowState(0, Phase.DONE, 0.0, False, now_s), [Completed()]
    return FlowState(0, Phase.PREP, plan[0].prep_s, False, now_s), []


def remaining(state: FlowState, now_s: float) -> float:
    """Seconds left in the current phase at ``now_s``."""
    if not state.running:
        return max(0.0, state.remaining_s)
    return max(0.0, state.remaining_s - (now_s - state.as_of_s))


def pause(state: FlowState, now_s: float) -> FlowState:
    if not state.running:
        return state
    return replace(state, remaining_s=remaining(state, now_s), running=False, as_of_s=now_s)


def resume(state: FlowState, plan: list[Step], now_s: float) -> tuple[FlowState, list[Transition]]:
    """Start the clock again; a phase with no time left moves on at once."""
    if state.running or state.phase is Phase.DONE:
        return state, []
    state = replace(state, running=True, as_of_s=now_s)
    transitions: list[Transition] = []
    if state.phase is Phase.ANSWER:
        # A resumed answer continues (a new recording segment starts).
        transitions.append(AnswerStarted(state.index))
    more_state, more = advance(state, plan, now_s)
    return more_state, transitions + more


def advance(state: FlowState, plan: list[Step], now_s: float) -> tuple[FlowState, list[Transition]]:
    """Move through every phase whose time has run out by ``now_s``."""
    transitions: list[Transition] = []
    for _ in range(2 * len(plan) + 1):  # bounded: each pass ends one phase
        if not state.running or state.phase is Phase.DONE:
            break
        left = state.remaining_s - (now_s - state.as_of_s)
        if left > 0:
            break
        # The phase ended at ``ended_s``; the next one starts then, not at ``now_s``.
        ended_s = now_s + left
        state, t = _end_phase(state, plan, ended_s, EndReason.TIME_UP)
        transitions.extend(t)
    return state, transitions


def start_answer(
    state: FlowState, plan: list[Step], now_s: float
) -> tuple[FlowState, list[Transition]]:
    """The candidate skips the rest of the prep time."""
    return _end_early(state, plan, now_s, Phase.PREP)


def finish_answer(
    state: FlowState, plan: list[Step], now_s: float
) -> tuple[FlowState, list[Transition]]:
    """The candidate ends the answer early."""
    return _end_early(state, plan, now_s, Phase.ANSWER)


def _end_early(
    state: FlowState, plan: list[Step], now_s: float, phase: Phase
) -> tuple[FlowState, list[Transition]]:
    """Catch up to ``now_s``; then, if the clock is running in ``phase``, end it now."""
    state, transitions = advance(state, plan, now_s)
    if state.phase is not phase or not state.running:
        return state, transitions
    state, t = _end_phase(state, plan, now_s, EndReason.FINISHED)
    return state, transitions + t


def _end_phase(
    state: FlowState, plan: list[Step], at_s: float, reason: EndReason
) -> tuple[FlowState, list[Transition]]:
    """End the current phase at ``at_s``: prep moves to the answer, an answer to the next
    question (``reason`` says why it ended)."""
    if state.phase is Phase.PREP:
        return _to_answer(state, plan, at_s)
    return _next_question(state, plan, at_s, reason)


def _to_answer(
    state: FlowState, plan: list[Step], at_s: float
) -> tuple[FlowState, list[Transition]]:
    step = plan[state.index]
    new = replace(
        state, phase=Phase.ANSWER, remaining_s=step.answer_s, as_of_s=at_s, answer_started_s=at_s
    )
    return new, [AnswerStarted(state.index)]


def _next_question(
    state: FlowState, plan: list[Step], at_s: float, reason: EndReason
) -> tuple[FlowState, list[Transition]]:
    used_s = plan[state.index].answer_s - max(0.0, state.remaining_s - (at_s - state.as_of_s))
    transitions: list[Transition] = [AnswerEnded(state.index, reason, round(used_s, 3))]
    nxt = state.index + 1
    if nxt >= len(plan):
        done = FlowState(nxt, Phase.DONE, 0.0, False, at_s)
        return done, [*transitions, Completed()]
    new = FlowState(nxt, Phase.PREP, plan[nxt].prep_s, state.running, at_s)
    return new, transitions
