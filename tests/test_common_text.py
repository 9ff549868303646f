"""common.text: the one definition of Han characters and of the product's two languages."""

from __future__ import annotations

import pytest

from common.text import base_language, has_cjk, is_cjk, zh_or_en


@pytest.mark.parametrize(
    ("ch", "han"),
    [
        ("中", True),  # unified
        ("㐀", True),  # extension A
        ("𠀀", True),  # extension B (outside the BMP: names in résumés)
        ("豈", True),  # compatibility ideograph
        ("あ", False),  # kana
        ("한", False),  # Hangul
        ("，", False),  # full-width punctuation
        ("a", False),
    ],
)
def test_is_cjk(ch: str, han: bool) -> None:
    assert is_cjk(ch) is han


def test_has_cjk_finds_one_han_character_among_latin() -> None:
    assert has_cjk("使用 Excel")
    assert not has_cjk("Excel, PPT")
    assert not has_cjk("")


@pytest.mark.parametrize(
    ("tag", "base", "text_language"),
    [
        ("zh-CN", "zh", "zh"),
        ("zh_TW", "zh", "zh"),
        ("ZH", "zh", "zh"),
        ("en-US", "en", "en"),
        ("fr", "fr", "en"),
        ("", "", "en"),
        (None, "", "en"),
    ],
)
def test_language_tags(tag: str | None, base: str, text_language: str) -> None:
    assert base_language(tag) == base
    assert zh_or_en(tag) == text_language
