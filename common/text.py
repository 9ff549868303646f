"""Language tags and Chinese characters: one definition for the server and the analyzers."""

from __future__ import annotations

import re

CJK_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
"""Han ideographs: unified, extension A, compatibility and the supplementary extensions B–F
(for a regular expression character class)."""
CJK_RE = re.compile(f"[{CJK_RANGES}]")


def is_cjk(ch: str) -> bool:
    """``ch`` (one character) is a Han ideograph."""
    return CJK_RE.fullmatch(ch) is not None


def has_cjk(text: str) -> bool:
    """``text`` holds at least one Han ideograph."""
    return CJK_RE.search(text) is not None


def base_language(tag: str | None) -> str:
    """ "zh-CN" → "zh", "en-US" → "en", "" or None → ""."""
    return (tag or "").split("-")[0].split("_")[0].lower()


def zh_or_en(tag: str | None) -> str:
    """The product's texts come in "zh" and "en": any Chinese tag ("zh", "zh-CN", "zh_TW")
    is "zh", everything else "en"."""
    return "zh" if base_language(tag) == "zh" else "en"
