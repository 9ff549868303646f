"""Integrity flags (debouncing, hysteresis, windows) and the scoring rules, hand-computed."""

from __future__ import annotations

import pytest

from analyzers.events import (
    ContentMetrics,
    DeliveryMetrics,
    FaceMetrics,
    Flag,
    FlagType,
    PostureMetrics,
)
from analyzers.flags import FlagThresholds, FlagTracker
from analyzers.scoring import (
    AnswerEvidence,
    TranscriptSpan,
    content_parts,
    delivery_parts,
    overall,
    rate_score,
    score_dimensions,
    split_reason,
)

IID = "iv-1"
FPS = 10


def ticks(start: float, stop: float, fps: int = FPS) -> list[float]:
    """Sample times from ``start`` up to and including ``stop``."""
    n = round((stop - start) * fps)
    return [round(start + i / fps, 3) for i in range(n + 1)]


def face(t: float, faces: int = 1, away: bool = False, cx: float = 0.5) -> FaceMetrics:
    return FaceMetrics(
        interview_id=IID,
        t=t,
        faces=faces,
        looking_away=away and faces > 0,
        center_x=cx if faces else None,
        center_y=0.5 if faces else None,
    )


def feed_faces(tracker: FlagTracker, samples: list[tuple[float, int, bool]]) -> list[Flag]:
    out: list[Flag] = []
    for t, n, away in samples:
        out += tracker.observe_face(face(t, n, away))
    return out


def spans(flags: list[Flag]) -> list[tuple[FlagType, float, float | None]]:
    return [(f.flag, f.start_s, f.end_s) for f in flags]


# -- face missing / extra person ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("blank_until", "expected"),
    [
        # blank frames 1.0..3.9 (2.9 s), a face again at 4.0: too short
        (3.9, []),
        # blank frames 1.0..4.1 (3.1 s): flagged from the first blank frame (detected at 4.0),
        # ended at the first face frame 4.2 (known once the face has been back > 0.5 s)
        (4.1, [(FlagType.FACE_MISSING, 1.0, None), (FlagType.FACE_MISSING, 1.0, 4.2)]),
    ],
)
def test_face_missing_threshold(blank_until: float, expected: list[object]) -> None:
    tr = FlagTracker(IID, FlagThresholds())
    samples = [(t, 1, False) for t in ticks(0.0, 0.9)]
    samples += [(t, 0, False) for t in ticks(1.0, blank_until)]
    samples += [(t, 1, False) for t in ticks(round(blank_until + 0.1, 3), 8.0)]
    flags = feed_faces(tr, samples)
    assert spans(flags) == expected
    if flags:
        assert flags[0].t == 4.0  # detection time: 3.0 s after the first blank frame
        ev = flags[1].evidence[0]
        assert ev.kind == "metric" and ev.detail == "0 faces for 3.1 s"
        assert (ev.start_s, ev.end_s) == (1.0, 4.2)
        assert ev.value == pytest.approx(3.1)


def test_one_frame_glitch_does_not_split_a_blank_run() -> None:
    tr = FlagTracker(IID)
    samples = [(t, 0, False) for t in ticks(0.0, 5.0)]
    samples[20] = (2.0, 1, False)  # one detected face inside 5 s of blank frames
    samples += [(t, 1, False) for t in ticks(5.1, 7.0)]
    assert spans(feed_faces(tr, samples)) == [
        (FlagType.FACE_MISSING, 0.0, None),
        (FlagType.FACE_MISSING, 0.0, 5.1),
    ]


def test_contrary_evidence_longer_than_the_glitch_tolerance_splits() -> None:
    tr = FlagTracker(IID)
    samples = [(t, 0, False) for t in ticks(0.0, 3.9)]
    samples += [(t, 1, False) for t in ticks(4.0, 4.9)]  # face back for 1 s
    samples += [(t, 0, False) for t in ticks(5.0, 8.5)]
    samples += [(t, 1, False) for t in ticks(8.6, 10.0)]
    assert spans(feed_faces(tr, samples)) == [
        (FlagType.FACE_MISSING, 0.0, None),
        (FlagType.FACE_MISSING, 0.0, 4.0),
        (FlagType.FACE_MISSING, 5.0, None),
        (FlagType.FACE_MISSING, 5.0, 8.6),
    ]


def test_a_gap_in_the_stream_ends_the_condition_at_the_last_sample() -> None:
    tr = FlagTracker(IID)
    samples = [(t, 0, False) for t in ticks(0.0, 4.0)] + [(10.0, 0, False)]
    assert spans(feed_faces(tr, samples)) == [
        (FlagType.FACE_MISSING, 0.0, None),
        (FlagType.FACE_MISSING, 0.0, 4.0),
    ]


@pytest.mark.parametrize(
    ("two_faces_until", "expected"),
    [
        (1.5, []),
        (2.5, [(FlagType.EXTRA_PERSON, 0.0, None), (FlagType.EXTRA_PERSON, 0.0, 2.6)]),
    ],
)
def test_extra_person(two_faces_until: float, expected: list[object]) -> None:
    tr = FlagTracker(IID)
    samples = [(t, 2, False) for t in ticks(0.0, two_faces_until)]
    samples += [(t, 1, False) for t in ticks(round(two_faces_until + 0.1, 3), 5.0)]
    flags = feed_faces(tr, samples)
    assert spans(flags) == expected
    if flags:
        assert flags[0].t == 2.0
        assert flags[1].evidence[0].detail == "up to 2 faces for 2.5 s"


# -- looking away ---------------------------------------------------------------------------


def away_run(away_spans: list[tuple[float, float]], until: float = 12.0) -> list[Flag]:
    tr = FlagTracker(IID)
    samples = [(t, 1, any(a <= t < b for a, b in away_spans)) for t in ticks(0.0, until)]
    return feed_faces(tr, samples)


@pytest.mark.parametrize(
    ("away_spans", "expected"),
    [
        # a thinking glance: 3 s of 10 → nothing
        ([(2.0, 5.0)], []),
        # three 1 s glances within 10 s (3 s) → nothing
        ([(1.0, 2.0), (4.0, 5.0), (7.0, 8.0)], []),
        # 4.9 s of 10 → nothing
        ([(1.0, 3.5), (5.0, 7.4)], []),
        # 6 s of 10: starts when 5 s have accumulated (t = 7.0), from the first glance (2.0);
        # ends once the candidate has looked back for 2 s (8.0 → detected at 10.0)
        ([(2.0, 8.0)], [(FlagType.LOOKING_AWAY, 2.0, None), (FlagType.LOOKING_AWAY, 2.0, 8.0)]),
        # 6 s of 10 in three 2 s glances → flagged from the first glance
        (
            [(0.0, 2.0), (3.0, 5.0), (6.0, 8.0)],
            [(FlagType.LOOKING_AWAY, 0.0, None), (FlagType.LOOKING_AWAY, 0.0, 8.0)],
        ),
    ],
)
def test_looking_away_window(away_spans: list[tuple[float, float]], expected: list[object]) -> None:
    assert spans(away_run(away_spans)) == expected


def test_looking_away_start_is_detected_when_five_seconds_accumulate() -> None:
    flags = away_run([(2.0, 8.0)])
    assert flags[0].t == 7.0
    assert flags[0].evidence[0].detail == "looking away 5.0 s of the last 10 s"
    assert flags[1].t == 8.0


def test_looking_away_counting_restarts_after_a_flag() -> None:
    # after the flag ends at 8.0, one 1 s glance must not restart it even though the last
    # 10 s still contain 6 s of looking away
    assert spans(away_run([(2.0, 8.0), (10.5, 11.5)], until=14.0)) == [
        (FlagType.LOOKING_AWAY, 2.0, None),
        (FlagType.LOOKING_AWAY, 2.0, 8.0),
    ]


# -- out of frame ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faces", "cx", "flagged"),
    [
        (0, 0.5, True),  # no face: corroborated
        (1, 0.03, True),  # face at the left edge: corroborated
        (1, 0.5, False),  # centred face contradicts the pose estimate
    ],
)
def test_out_of_frame(faces: int, cx: float, flagged: bool) -> None:
    tr = FlagTracker(IID, FlagThresholds(face_missing_s=100.0))
    flags: list[Flag] = []
    for t in ticks(0.0, 4.0):
        flags += tr.observe_face(face(t, faces, cx=cx))
        flags += tr.observe_posture(PostureMetrics(interview_id=IID, t=t, in_frame=False))
    expected = [(FlagType.OUT_OF_FRAME, 0.0, None)] if flagged else []
    assert spans(flags) == expected


# -- long silence ---------------------------------------------------------------------------


def speech_run(answering: bool) -> list[Flag]:
    """Speaking 0..4.5, silent 5.0..29.5 (25 s), speaking again 30.0..32.0; a sample every 0.5 s."""
    tr = FlagTracker(IID)
    out: list[Flag] = []
    for i in range(65):
        t = i * 0.5
        out += tr.observe_speech(t, speaking=not 5.0 <= t < 30.0, answering=answering)
    return out


def test_long_silence_while_answering() -> None:
    flags = speech_run(answering=True)
    assert spans(flags) == [
        (FlagType.LONG_SILENCE, 5.0, None),
        (FlagType.LONG_SILENCE, 5.0, 30.0),
    ]
    assert flags[0].t == 25.0


def test_silence_outside_an_answer_is_not_flagged() -> None:
    assert speech_run(answering=False) == []


def test_leaving_the_answer_phase_ends_a_silence_flag_at_once() -> None:
    tr = FlagTracker(IID)
    out: list[Flag] = []
    for i in range(50):
        out += tr.observe_speech(i * 0.5, speaking=False, answering=True)  # 0..24.5
    out += tr.observe_speech(25.0, speaking=False, answering=False)
    assert spans(out) == [(FlagType.LONG_SILENCE, 0.0, None), (FlagType.LONG_SILENCE, 0.0, 25.0)]


# -- browser signals and close ----------------------------------------------------------------


def test_tab_hidden_then_visible() -> None:
    tr = FlagTracker(IID)
    assert spans(tr.browser_signal("tab_hidden", 10.0, "")) == [(FlagType.TAB_HIDDEN, 10.0, None)]
    assert tr.browser_signal("tab_hidden", 11.0, "") == []  # already open
    end = tr.browser_signal("tab_visible", 14.5, "")
    assert spans(end) == [(FlagType.TAB_HIDDEN, 10.0, 14.5)]
    assert end[0].evidence[0].value == pytest.approx(4.5)
    assert tr.browser_signal("tab_visible", 15.0, "") == []  # unmatched end


@pytest.mark.parametrize(
    ("start", "stop", "word"),
    [("blur", "focus", "blur"), ("fullscreen_exit", "fullscreen_enter", "fullscreen")],
)
def test_blur_and_fullscreen_map_to_tab_hidden(start: str, stop: str, word: str) -> None:
    tr = FlagTracker(IID)
    flags = tr.browser_signal(start, 3.0, "") + tr.browser_signal(stop, 5.0, "")
    assert spans(flags) == [(FlagType.TAB_HIDDEN, 3.0, None), (FlagType.TAB_HIDDEN, 3.0, 5.0)]
    assert all(word in f.evidence[0].detail for f in flags)


def test_paste_is_instant() -> None:
    tr = FlagTracker(IID)
    tr.question_index = 2
    (flag,) = tr.browser_signal("paste", 20.0, "120")
    assert (flag.flag, flag.start_s, flag.end_s, flag.t) == (FlagType.PASTE, 20.0, 20.0, 20.0)
    assert flag.question_index == 2
    assert flag.evidence[0].value == 120.0 and "120 characters" in flag.evidence[0].detail


def test_unknown_browser_signal_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown browser signal"):
        FlagTracker(IID).browser_signal("devtools", 1.0, "")


def test_close_ends_open_flags() -> None:
    tr = FlagTracker(IID)
    opened = feed_faces(tr, [(t, 0, False) for t in ticks(0.0, 4.0)])
    opened += tr.browser_signal("tab_hidden", 2.0, "")
    assert spans(opened) == [(FlagType.FACE_MISSING, 0.0, None), (FlagType.TAB_HIDDEN, 2.0, None)]
    closed = tr.close(50.0)
    assert spans(closed) == [(FlagType.FACE_MISSING, 0.0, 50.0), (FlagType.TAB_HIDDEN, 2.0, 50.0)]
    assert tr.close(60.0) == []
    assert tr.observe_face(face(61.0, 0)) == []


def test_close_ends_a_looking_away_flag() -> None:
    tr = FlagTracker(IID)
    feed_faces(tr, [(t, 1, True) for t in ticks(0.0, 6.0)])
    assert spans(tr.close(7.0)) == [(FlagType.LOOKING_AWAY, 0.0, 7.0)]


def test_flags_round_trip_the_wire_format() -> None:
    from analyzers.events import from_wire

    tr = FlagTracker(IID)
    flags = feed_faces(tr, [(t, 0, False) for t in ticks(0.0, 3.5)]) + tr.close(4.0)
    assert [from_wire(f.to_wire()) for f in flags] == flags


# -- scoring ----------------------------------------------------------------------------------

COMPETENCIES = [("logic", 0.4), ("expression", 0.3), ("teamwork", 0.2), ("leadership", 0.1)]


def content(q: int, coverage: float, structure: tuple[str, ...], used_s: float) -> ContentMetrics:
    return ContentMetrics(
        interview_id=IID,
        t=used_s,
        question_index=q,
        coverage=coverage,
        covered=(),
        matches=(),
        structure=structure,
        words=200,
        time_used_s=used_s,
        time_limit_s=120.0,
    )


def delivery(
    rate: float, filler_ratio: float, long_pauses: int, window_s: float
) -> DeliveryMetrics:
    return DeliveryMetrics(
        interview_id=IID,
        t=window_s,
        speaking_rate=rate,
        rate_unit="wpm",
        pause_ratio=0.1,
        long_pauses=long_pauses,
        fillers=0,
        filler_ratio=filler_ratio,
        loudness_dbfs=-20.0,
        speech_s=window_s,
        window_s=window_s,
    )


def answer(
    q: int,
    competencies: tuple[str, ...],
    coverage: float,
    structure: tuple[str, ...],
    duration_s: float,
    d: DeliveryMetrics | None,
    limit_s: float = 120.0,
) -> AnswerEvidence:
    return AnswerEvidence(
        question_index=q,
        competencies=competencies,
        content=content(q, coverage, structure, duration_s),
        delivery=d,
        duration_s=duration_s,
        time_limit_s=limit_s,
        spans=(TranscriptSpan("data", "we looked at the data first", 10.0 + q, 10.4 + q, 0),),
    )


# Q1: logic + teamwork, coverage 0.5, STAR 2/4 = 0.5, 60 s of 120 s (completeness 1.0)
#     content = 10 × (0.6×0.5 + 0.2×0.5 + 0.2×1.0) = 6.0
#     delivery: 140 wpm → 1.0; fillers 3 % → 1 − 0.03/0.15 = 0.8; 2 long pauses in 1 min → 0.5
#               = 10 × (0.5×1.0 + 0.25×0.8 + 0.25×0.5) = 8.25 (expression, untagged: delivery only)
# Q2: logic + expression, coverage 1.0, ordinals 3/3 = 1.0, 90 s of 120 s → content 10.0
#     delivery: 187 wpm → 1 − 17/85 = 0.8; no fillers, no pauses → 10 × (0.4 + 0.25 + 0.25) = 9.0
#     expression = 0.5 × 10.0 + 0.5 × 9.0 = 9.5
# weights: Q1 max(60, 60) = 60, Q2 max(90, 60) = 90
#   logic = (6.0×60 + 10.0×90) / 150 = 8.4; teamwork = 6.0
#   expression = (8.25×60 + 9.5×90) / 150 = 9.0; leadership: no evidence → no score
# overall = (0.4×8.4 + 0.3×9.0 + 0.2×6.0) / (0.4 + 0.3 + 0.2) = 7.26 / 0.9 = 8.07 → 8.1
Q1 = answer(
    0, ("logic", "teamwork"), 0.5, ("situation", "action"), 60.0, delivery(140, 0.03, 2, 60)
)
Q2 = answer(
    1, ("logic", "expression"), 1.0, ("first", "second", "third"), 90.0, delivery(187, 0.0, 0, 90)
)


def test_hand_computed_example() -> None:
    scores = score_dimensions([Q1, Q2], COMPETENCIES, IID, 300.0)
    assert {s.dimension: s.value for s in scores} == {
        "logic": 8.4,
        "expression": 9.0,
        "teamwork": 6.0,
    }
    assert [s.dimension for s in scores] == ["logic", "expression", "teamwork"]  # job order
    assert overall(scores, COMPETENCIES) == 8.1
    assert content_parts(Q1).score == pytest.approx(6.0)
    assert Q1.delivery is not None and Q2.delivery is not None
    assert delivery_parts(Q1.delivery).score == pytest.approx(8.25)
    assert delivery_parts(Q2.delivery).score == pytest.approx(9.0)


def test_scores_carry_evidence_and_bilingual_reasons() -> None:
    scores = score_dimensions([Q1, Q2], COMPETENCIES, IID, 300.0)
    for s in scores:
        assert s.suggestion is True and s.interview_id == IID and s.t == 300.0
        assert 0.0 <= s.value <= 10.0
        en, zh = split_reason(s.reason)
        assert en and zh and en != zh
        assert f"{s.value:.1f}/10" in en and f"{s.value:.1f}/10" in zh
        assert any(e.kind == "metric" and e.value is not None for e in s.evidence)
    by_dim = {s.dimension: s for s in scores}
    logic_spans = [e for e in by_dim["logic"].evidence if e.kind == "transcript"]
    assert [(e.start_s, e.end_s) for e in logic_spans] == [(10.0, 10.4), (11.0, 11.4)]
    assert "data" in logic_spans[0].detail and "looked at the data" in logic_spans[0].detail
    en, zh = split_reason(by_dim["logic"].reason)
    assert en.startswith("Analytical thinking: 8.4/10 from 2 answers (Q1, Q2)")
    assert zh.startswith("综合分析/逻辑思维：8.4/10")
    assert "speaking rate" in split_reason(by_dim["expression"].reason)[0]


def test_overall_renormalises_weights_over_scored_dimensions() -> None:
    only_teamwork = score_dimensions([Q1], [("teamwork", 0.2), ("leadership", 0.8)], IID, 1.0)
    assert [(s.dimension, s.value) for s in only_teamwork] == [("teamwork", 6.0)]
    assert overall(only_teamwork, [("teamwork", 0.2), ("leadership", 0.8)]) == 6.0
    with pytest.raises(ValueError):
        overall([], COMPETENCIES)


@pytest.mark.parametrize(
    ("rate", "unit", "expected"),
    [
        (140, "wpm", 1.0),
        (110, "wpm", 1.0),
        (170, "wpm", 1.0),
        (82.5, "wpm", 0.5),  # 27.5 below 110, zero at 55
        (55, "wpm", 0.0),
        (300, "wpm", 0.0),
        (240, "cpm", 1.0),
        (330, "cpm", 0.8),  # 30 above 300, zero at 450
        (90, "cpm", 0.0),
    ],
)
def test_rate_band(rate: float, unit: str, expected: float) -> None:
    assert rate_score(rate, unit) == pytest.approx(expected)


def test_very_short_answers_are_capped() -> None:
    short = answer(
        0,
        ("logic", "expression"),
        1.0,
        ("situation", "task", "action", "result"),
        10.0,
        delivery(140, 0.0, 0, 10),
    )
    (logic, expression) = score_dimensions([short], [("logic", 1.0), ("expression", 1.0)], IID, 1.0)
    assert (logic.value, expression.value) == (4.0, 4.0)
    assert "very short" in logic.reason


def test_more_coverage_never_lowers_a_score() -> None:
    comps = [("logic", 1.0), ("expression", 1.0)]
    for duration in (10.0, 60.0, 120.0):
        previous = {"logic": -1.0, "expression": -1.0}
        for step in range(11):
            a = answer(
                0,
                ("logic", "expression"),
                step / 10,
                ("action",),
                duration,
                delivery(150, 0.02, 1, duration),
            )
            for s in score_dimensions([a, Q1], comps, IID, 1.0):
                assert 0.0 <= s.value <= 10.0
                assert s.value >= previous[s.dimension]
                previous[s.dimension] = s.value


def test_extreme_inputs_stay_in_range() -> None:
    wild = answer(
        0, ("logic", "expression"), 3.0, ("first",) * 9, 1e6, delivery(1e4, 5.0, 999, 1.0)
    )
    for s in score_dimensions([wild], [("logic", 1.0), ("expression", 1.0)], IID, 1.0):
        assert 0.0 <= s.value <= 10.0


def test_untagged_competencies_and_answers_without_delivery_give_no_score() -> None:
    a = answer(0, ("teamwork",), 1.0, (), 60.0, None)
    assert score_dimensions([a], [("logic", 1.0), ("expression", 1.0)], IID, 1.0) == []
