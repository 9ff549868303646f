"""Delivery (rate, pauses, fillers, loudness) and content (rubric coverage, structure)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from analyzers.content import analyze_answer, keywords_for, stem, structure_markers
from analyzers.delivery import (
    LONG_PAUSE_S,
    SILENCE_FLOOR_DBFS,
    DeliveryTracker,
    count_fillers,
    rms_dbfs,
)
from analyzers.events import TranscriptFinal, Word, from_wire
from server.hiring.questionbank import load_builtin

IID = "iv-1"


def final(text: str, start_s: float, end_s: float, words: tuple[Word, ...] = ()) -> TranscriptFinal:
    return TranscriptFinal(
        interview_id=IID,
        t=end_s,
        utterance_id=0,
        text=text,
        start_s=start_s,
        end_s=end_s,
        words=words,
    )


def bank_question(qid: str) -> dict[str, Any]:
    return next(q for q in load_builtin() if q.id == qid).to_dict()


# --- delivery -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "rate"),
    [
        (" ".join(["word"] * 150), "wpm", 150.0),  # 150 words / 60 s of speech
        ("我们" * 150 + "。", "cpm", 300.0),  # 300 CJK characters / 60 s; punctuation ignored
        ("我们用了 API 接口", "cpm", 7.0),  # 6 CJK + 1 word = 7 units, CJK majority
    ],
)
def test_speaking_rate(text: str, unit: str, rate: float) -> None:
    tracker = DeliveryTracker()
    tracker.start_answer(1, 10.0)
    tracker.add_speech(10.0, 40.0, -20.0)
    tracker.add_speech(42.0, 72.0, -26.0)
    tracker.add_final(final(text, 10.0, 72.0))
    m = tracker.metrics(IID, 72.0, 1)
    assert m.rate_unit == unit
    assert m.speaking_rate == pytest.approx(rate)
    assert m.speech_s == pytest.approx(60.0)
    assert m.window_s == pytest.approx(62.0)
    assert m.pause_ratio == pytest.approx(2.0 / 62.0)
    assert m.long_pauses == 0
    assert m.loudness_dbfs == pytest.approx(-23.0)  # duration-weighted mean of -20 and -26
    assert m.question_index == 1 and m.interview_id == IID and m.t == 72.0


@pytest.mark.parametrize(
    ("segments", "t", "window_s", "speech_s", "pause_ratio", "long_pauses"),
    [
        # gaps 1, 4, 4 s -> two long pauses; 10 s of silence in a 30 s span
        ([(1, 5), (6, 10), (14, 20), (24, 30)], 30.0, None, 20.0, 10 / 30, 2),
        # a gap of exactly LONG_PAUSE_S counts
        ([(0, 2), (2 + LONG_PAUSE_S, 7)], 7.0, None, 4.0, 3 / 7, 1),
        # overlapping segments are merged, trailing unreported time is silence
        ([(0, 5), (3, 8)], 10.0, None, 8.0, 0.2, 0),
        # last 10 s only: (24, 30) inside, (14, 20) ends at the window start
        ([(1, 5), (6, 10), (14, 20), (24, 30)], 30.0, 10.0, 6.0, 0.4, 0),
        # a segment straddling the window start is clipped to it
        ([(0, 25), (29, 30)], 30.0, 10.0, 6.0, 0.4, 1),
        # nothing said yet
        ([], 5.0, None, 0.0, 1.0, 0),
    ],
)
def test_pauses(
    segments: list[tuple[float, float]],
    t: float,
    window_s: float | None,
    speech_s: float,
    pause_ratio: float,
    long_pauses: int,
) -> None:
    tracker = DeliveryTracker()
    tracker.start_answer(0, 0.0)
    for start, end in segments:
        tracker.add_speech(start, end, -30.0)
    m = tracker.metrics(IID, t, 0, window_s=window_s)
    assert m.speech_s == pytest.approx(speech_s)
    assert m.pause_ratio == pytest.approx(pause_ratio)
    assert m.long_pauses == long_pauses
    assert m.loudness_dbfs == (None if not segments else pytest.approx(-30.0))


def test_start_answer_resets() -> None:
    tracker = DeliveryTracker()
    tracker.add_speech(0.0, 20.0, -10.0)
    tracker.add_final(final("um um um", 0.0, 20.0))
    tracker.start_answer(2, 30.0)
    tracker.add_speech(30.0, 40.0, -30.0)
    tracker.add_final(final("hello there", 30.0, 40.0))
    m = tracker.metrics(IID, 40.0, 2)
    assert (m.speech_s, m.fillers, m.loudness_dbfs) == (10.0, 0, -30.0)
    assert m.speaking_rate == pytest.approx(12.0)  # 2 words / 10 s
    assert tracker.question_index == 2


def test_word_timings_without_vad() -> None:
    """No VAD segments: speech time is the union of word timings; window picks words."""
    words = (Word("I", 0.0, 0.5), Word("agree", 0.5, 1.0), Word("um", 2.0, 3.0))
    tracker = DeliveryTracker()
    tracker.add_final(final("I agree um", 0.0, 3.0, words))
    m = tracker.metrics(IID, 3.0, None)
    assert m.speech_s == pytest.approx(2.0)
    assert m.speaking_rate == pytest.approx(90.0)  # 3 words / 2 s
    assert m.pause_ratio == pytest.approx(1 / 3)
    assert (m.fillers, m.loudness_dbfs) == (1, None)
    last = tracker.metrics(IID, 3.0, None, window_s=1.5)  # only "um"
    assert (last.fillers, last.filler_ratio, last.speech_s) == (1, 1.0, 1.0)


@pytest.mark.parametrize(
    ("text", "fillers"),
    [
        ("um so I uh think you know", 3),
        ("Umm, well, erm... I mean, it was kind of hard. Hmm.", 5),
        ("What kind of person are you? Do you know what I mean?", 0),
        ("ah, this sort of thing is sort of fine", 2),  # ah + the second "sort of"
        # 嗯 (anywhere), 那个 + pause mark, 就是说 + pause mark
        ("嗯，我觉得，那个，就是说……", 3),
        ("那个人就是我们要找的，这个问题也就是说，很重要", 0),
        ("那个那个，我们然后，然后去了", 3),  # 那个 repeated + 那个， + repeated 然后
        ("然后我们去了，然后又回来了", 0),  # 然后 as plain "then"
        ("啊，这个，是啊，好啊", 2),  # clause-initial 啊 + 这个，; particles 啊 not
        ("嗯嗯 我 觉得 呃 ， 可以", 2),  # ASR spacing is ignored; a run counts once
    ],
)
def test_fillers(text: str, fillers: int) -> None:
    assert count_fillers(text) == fillers


@pytest.mark.parametrize(
    ("text", "fillers", "ratio"),
    [
        ("um so I uh think you know", 3, 3 / 7),  # 7 words
        ("嗯，我觉得，那个，就是说……", 3, 3 / 9),  # 9 characters
    ],
)
def test_filler_ratio(text: str, fillers: int, ratio: float) -> None:
    tracker = DeliveryTracker()
    tracker.add_speech(0.0, 4.0, -20.0)
    tracker.add_final(final(text, 0.0, 4.0))
    m = tracker.metrics(IID, 4.0, None)
    assert m.fillers == fillers
    assert m.filler_ratio == pytest.approx(ratio)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (np.ones(480, dtype=np.float32), 0.0),
        (np.full(480, -0.5, dtype=np.float32), 20 * math.log10(0.5)),
        (np.sin(np.linspace(0, 2 * np.pi * 10, 4800, endpoint=False)).astype(np.float32), -3.0103),
        (np.zeros(480, dtype=np.float32), SILENCE_FLOOR_DBFS),
        (np.zeros(0, dtype=np.float32), SILENCE_FLOOR_DBFS),
    ],
)
def test_rms_dbfs(samples: np.ndarray, expected: float) -> None:
    assert rms_dbfs(samples) == pytest.approx(expected, abs=1e-3)


def test_delivery_metrics_wire_roundtrip() -> None:
    tracker = DeliveryTracker()
    tracker.add_speech(0.0, 1.0, -20.0)
    m = tracker.metrics(IID, 1.0, 0)
    assert from_wire(m.to_wire()) == m


# --- content ------------------------------------------------------------------------------

# bank-emergency-01 (rainstorm at night): 0 = act at once / report / plan, 1 = evacuate,
# 2 = shelter and supplies, 3 = patrol and review.
EN_TWO_POINTS = (
    "Straight away I would phone my supervisor and put the emergency response plan into "
    "action. Then we would start relocating the older people who live alone near the river."
)
ZH_ALL_POINTS = (
    "首先，我会第一时间向领导汇报，启动应急预案。其次，组织村干部逐户通知，把独居老人和低洼地带的"
    "群众撤离到安置点，做好物资和医疗保障，清点人数。最后，持续巡查险情，灾后排查隐患，总结复盘。"
)


@pytest.mark.parametrize(
    ("transcript", "language", "coverage", "covered", "some_matches"),
    [
        # synonyms (straight away ~ right away, emergency response plan ~ contingency plan,
        # older people ~ elderly) and inflections (relocating ~ relocate)
        (
            EN_TWO_POINTS,
            "en",
            0.5,
            (0, 1),
            {(0, "Straight away"), (0, "emergency response plan"), (1, "relocating")},
        ),
        (ZH_ALL_POINTS, "zh", 1.0, (0, 1, 2, 3), {(0, "汇报"), (2, "安置点"), (3, "巡查")}),
        # answering in the other language, or mixing: keywords of both languages count
        ("我会立即报告 and then evacuate everyone.", "en", 0.5, (0, 1), {(1, "evacuate")}),
        ("", "en", 0.0, (), set()),
        ("……，。 ?!", "zh", 0.0, (), set()),
    ],
)
def test_coverage(
    transcript: str,
    language: str,
    coverage: float,
    covered: tuple[int, ...],
    some_matches: set[tuple[int, str]],
) -> None:
    m = analyze_answer(
        bank_question("bank-emergency-01"),
        transcript,
        language=language,
        time_used_s=95.0,
        interview_id=IID,
        t=200.0,
        question_index=3,
    )
    assert m.coverage == pytest.approx(coverage)
    assert m.covered == covered
    assert some_matches <= set(m.matches)
    assert {i for i, _ in m.matches} == set(covered)
    assert (m.time_used_s, m.time_limit_s, m.question_index, m.t) == (95.0, 180.0, 3, 200.0)
    assert from_wire(m.to_wire()) == m


def test_nested_matches_reported_once() -> None:
    m = analyze_answer(
        bank_question("bank-emergency-01"),
        EN_TWO_POINTS,
        language="en",
        time_used_s=0.0,
        interview_id=IID,
        t=0.0,
        question_index=None,
    )
    assert (0, "response plan") not in m.matches  # inside "emergency response plan"


@pytest.mark.parametrize(
    ("transcript", "words"),
    [
        ("I'd call 120 now", 5),  # i, d, call, 120, now
        ("我会立即报告。OK", 7),  # 6 CJK characters + "ok"
    ],
)
def test_words_count(transcript: str, words: int) -> None:
    m = analyze_answer(
        bank_question("bank-emergency-01"),
        transcript,
        language="en",
        time_used_s=0.0,
        interview_id=IID,
        t=0.0,
        question_index=None,
    )
    assert m.words == words


@pytest.mark.parametrize(
    ("transcript", "covered"),
    [
        ("The budget is tight and the timelines are short.", (0,)),  # 2 of 4 content words
        ("We have a budget.", ()),  # 1 of 4 < 40 %
        ("预算有限，时间紧张", (0,)),  # zh text: 预算, 时间 of 说明/明预/预算/时间
    ],
)
def test_points_without_keywords(transcript: str, covered: tuple[int, ...]) -> None:
    question = {
        "rubric": [
            {"en": "Explains the budget constraints and the timeline", "zh": "说明预算和时间"}
        ],
        "answer_s": 60,
    }
    m = analyze_answer(
        question,
        transcript,
        language="en",
        time_used_s=10.0,
        interview_id=IID,
        t=0.0,
        question_index=0,
    )
    assert m.covered == covered


def test_keywords_for() -> None:
    keywords = keywords_for(bank_question("bank-emergency-01"))
    assert len(keywords) == 4
    assert keywords[0][:2] == ["报告", "预案"]  # zh first, then en
    assert "contingency plan" in keywords[0] and "evacuate" in keywords[1]
    assert keywords_for({"rubric": [{"en": "no keywords"}]}) == [[]]
    assert keywords_for({}) == []


@pytest.mark.parametrize(
    "words",
    [
        ("coordinating", "coordinated", "coordinate", "coordinates"),
        ("residents", "resident"),
        ("policies", "policy"),
        ("planning", "planned", "plans", "plan"),
        ("organising", "organize", "organised", "organizing"),
        ("promptly", "prompt"),
        ("agreed", "agree"),
        ("boxes", "box"),
        ("focus", "focused", "focuses"),
        ("behaviour", "behavior"),
    ],
)
def test_stem_merges_inflections(words: tuple[str, ...]) -> None:
    assert len({stem(w) for w in words}) == 1


@pytest.mark.parametrize(
    ("word", "stemmed"), [("focus", "focus"), ("crisis", "crisis"), ("bus", "bus")]
)
def test_stem_keeps_non_plurals(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


@pytest.mark.parametrize(
    ("transcript", "markers"),
    [
        (
            "The situation was tense. My task was to calm people. The action I took was simple. "
            "First, I listened. Second, I explained. Finally, I followed up. "
            "The result: no complaints. In summary, patience works.",
            ("situation", "task", "action", "result", "first", "second", "finally", "conclusion"),
        ),
        ("Firstly we talk, secondly we act, thirdly we check.", ("first", "second", "third")),
        ("The first time I saw it, I waited a second.", ()),
        (
            "背景是人手不足，我的任务是协调。采取的措施有三点：首先，其次，再次，最后。成效明显，总之很成功。",
            (
                "situation",
                "task",
                "action",
                "result",
                "first",
                "second",
                "third",
                "finally",
                "conclusion",
            ),
        ),
        ("第一，摸底；第二，宣传；综上所述，要长期坚持。", ("first", "second", "conclusion")),
        ("我会第一时间赶到现场，这是我第一次遇到。", ()),
        ("一是要快，二是要准。", ("first", "second")),
        ("", ()),
    ],
)
def test_structure_markers(transcript: str, markers: tuple[str, ...]) -> None:
    assert structure_markers(transcript) == markers
