"""Chinese transcript text: Simplified script, punctuation, joining, prompt echoes, and the
per-utterance language choice."""

from __future__ import annotations

import pytest

from analyzers.speech.asr import ZH_INITIAL_PROMPT, pick_language
from analyzers.speech.filters import echoes_prompt, is_hallucination
from analyzers.text import (
    collapse_loops,
    join_texts,
    normalize_transcript,
    restore_zh_punctuation,
    to_simplified,
)
from common.text import base_language


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("張偉在區政府辦公室負責值班", "张伟在区政府办公室负责值班"),
        ("發現險情後第一時間轉移群眾", "发现险情后第一时间转移群众"),
        ("我們會認真核實，並向領導彙報", "我们会认真核实，并向领导汇报"),
        ("用Excel統計數據", "用Excel统计数据"),
        ("already simplified 简体", "already simplified 简体"),
    ],
)
def test_traditional_becomes_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Whisper's clause breaks: spaces and ASCII marks between Chinese clauses
        ("我叫张伟 今年三十岁 在区政府工作", "我叫张伟，今年三十岁，在区政府工作。"),
        ("首先, 我会核实情况. 然后向领导汇报", "首先，我会核实情况。然后向领导汇报。"),
        ("你觉得呢?我觉得可以!", "你觉得呢？我觉得可以！"),
        ("已经有标点。", "已经有标点。"),
        # Latin words and numbers inside Chinese stay as they are
        ("我用 Excel 统计数据", "我用 Excel 统计数据。"),
        ("预算是3.5万元", "预算是3.5万元。"),
        ("Hello, world", "Hello, world"),
    ],
)
def test_punctuation_is_restored(raw: str, expected: str) -> None:
    assert restore_zh_punctuation(raw) == expected


@pytest.mark.parametrize(
    ("looped", "expected"),
    [
        ("我会真诚道歉。请问问问问问问问问问问问问", "我会真诚道歉。请问"),
        ("我认认认认论论论论论论论", "我认论"),
        ("你设计计计计计计", "你设计"),
        ("the the the the the plan", "the plan"),
        ("每个月要整理10000份报表", "每个月要整理10000份报表"),  # digits are never a loop
        ("哈哈，好好学习，天天向上", "哈哈，好好学习，天天向上"),  # 2–3 repeats are speech
        ("very very good", "very very good"),
    ],
)
def test_decoding_loops_are_cut(looped: str, expected: str) -> None:
    assert collapse_loops(looped) == expected


def test_normalize_does_script_then_punctuation() -> None:
    assert normalize_transcript("張偉 負責值班", "zh") == "张伟，负责值班。"
    assert normalize_transcript("  I  would  listen ", "en") == "I would listen"


def test_join_glues_chinese_and_spaces_latin() -> None:
    assert join_texts(["我叫张伟。", "负责值班。"]) == "我叫张伟。负责值班。"
    assert join_texts(["I would listen.", "Then act."]) == "I would listen. Then act."
    assert join_texts(["我会用", "Excel", "统计"]) == "我会用 Excel 统计"
    assert join_texts(["", "好的。", "  "]) == "好的。"


@pytest.mark.parametrize(
    ("text", "echo"),
    [
        (ZH_INITIAL_PROMPT, True),
        ("以下是普通话的句子", True),
        ("以下是普通的讀体", True),  # garbled echo seen on silence
        ("以下是", True),
        ("我认为以下几点很重要", False),
        ("我叫张伟，负责值班。", False),
    ],
)
def test_prompt_echo(text: str, echo: bool) -> None:
    assert echoes_prompt(text, ZH_INITIAL_PROMPT) is echo
    assert echoes_prompt(text, None) is False


@pytest.mark.parametrize(
    "text",
    ["請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目", "字幕由Amara.org社區提供", "感謝收看"],
)
def test_credits_in_traditional_are_hallucinations(text: str) -> None:
    assert is_hallucination(text)


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ({"zh": 0.9, "en": 0.05}, "zh"),
        ({"zh": 0.05, "en": 0.9}, "en"),
        ({"zh": 0.35, "en": 0.6}, "zh"),  # 63 % of the two: not enough to switch
        ({"ja": 0.8, "zh": 0.1, "en": 0.05}, "zh"),  # only accepted languages count
        ({}, "zh"),
    ],
)
def test_language_choice(probs: dict[str, float], expected: str) -> None:
    assert pick_language(probs, "zh", ("zh", "en"), 0.7) == expected


def test_base_language() -> None:
    assert base_language("zh-CN") == "zh"
    assert base_language("en_US") == "en"
    assert base_language(None) == ""
