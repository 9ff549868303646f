"""The interview timer state machine, driven with explicit clock values."""

from __future__ import annotations

import pytest

from server.interview import flow
from server.interview.flow import AnswerEnded, AnswerStarted, Completed, EndReason, Phase

PLAN = [flow.Step(prep_s=10, answer_s=60), flow.Step(prep_s=0, answer_s=30)]


def started(now: float = 1000.0) -> flow.FlowState:
    state, transitions = flow.start(PLAN, now)
    assert transitions == []
    state, transitions = flow.resume(state, PLAN, now)
    assert transitions == []
    return state


def test_start_is_paused_at_first_prep() -> None:
    state, _ = flow.start(PLAN, 0.0)
    assert (state.index, state.phase, state.running, state.remaining_s) == (
        0,
        Phase.PREP,
        False,
        10,
    )
    assert flow.remaining(state, 500.0) == 10


def test_empty_plan_completes() -> None:
    state, transitions = flow.start([], 0.0)
    assert state.phase is Phase.DONE and transitions == [Completed()]


@pytest.mark.parametrize(
    ("elapsed_s", "index", "phase", "remaining_s", "transitions"),
    [
        (5, 0, Phase.PREP, 5, []),
        (10, 0, Phase.ANSWER, 60, [AnswerStarted(0)]),
        (30, 0, Phase.ANSWER, 40, [AnswerStarted(0)]),
        # answer 0 ends at 70; question 1 has no prep so its answer starts at once
        (
            70,
            1,
            Phase.ANSWER,
            30,
            [AnswerStarted(0), AnswerEnded(0, EndReason.TIME_UP, 60), AnswerStarted(1)],
        ),
        (
            500,
            2,
            Phase.DONE,
            0,
            [
                AnswerStarted(0),
                AnswerEnded(0, EndReason.TIME_UP, 60),
                AnswerStarted(1),
                AnswerEnded(1, EndReason.TIME_UP, 30),
                Completed(),
            ],
        ),
    ],
)
def test_advance_runs_out_phases(
    elapsed_s: float, index: int, phase: Phase, remaining_s: float, transitions: list[object]
) -> None:
    state, got = flow.advance(started(), PLAN, 1000.0 + elapsed_s)
    assert (state.index, state.phase) == (index, phase)
    assert flow.remaining(state, 1000.0 + elapsed_s) == pytest.approx(remaining_s)
    assert got == transitions


def test_skip_prep_and_finish_early() -> None:
    state, t = flow.start_answer(started(), PLAN, 1003.0)
    assert state.phase is Phase.ANSWER and t == [AnswerStarted(0)]
    assert flow.remaining(state, 1003.0) == 60
    state, t = flow.finish_answer(state, PLAN, 1013.5)
    assert t[0] == AnswerEnded(0, EndReason.FINISHED, 10.5)
    assert state.index == 1


def test_actions_in_wrong_phase_do_nothing() -> None:
    state = started()
    same, t = flow.finish_answer(state, PLAN, 1001.0)
    assert t == [] and same.phase is Phase.PREP
    state, _ = flow.start_answer(state, PLAN, 1001.0)
    same, t = flow.start_answer(state, PLAN, 1002.0)
    assert t == [] and same.phase is Phase.ANSWER


def test_pause_keeps_remaining_time_and_resume_restarts_the_answer_segment() -> None:
    state, _ = flow.start_answer(started(), PLAN, 1000.0)
    paused = flow.pause(state, 1020.0)
    assert not paused.running
    assert flow.remaining(paused, 5000.0) == pytest.approx(40)
    resumed, t = flow.resume(paused, PLAN, 5000.0)
    assert t == [AnswerStarted(0)]
    assert flow.remaining(resumed, 5010.0) == pytest.approx(30)
    # time used across the pause counts only running time
    _, t = flow.finish_answer(resumed, PLAN, 5010.0)
    assert t[0] == AnswerEnded(0, EndReason.FINISHED, 30)


def test_roundtrip_serialisation() -> None:
    state, _ = flow.start_answer(started(), PLAN, 1000.0)
    assert flow.FlowState.from_dict(state.to_dict()) == state
