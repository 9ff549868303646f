"""Transcript text: one definition of CJK, script normalisation, punctuation and joining.

Whisper writes Chinese in either script and switches mid-answer (張偉 … 张伟), often without
sentence punctuation, or with ASCII commas and spaces between clauses. Everything downstream
(live transcript, rubric matching, fillers, reports) sees text normalised here first:
Simplified script (OpenCC ``t2s``), full-width Chinese punctuation between Chinese clauses,
and a sentence end. Latin words inside Chinese (code-switching: "Excel", "PPT") are kept.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from typing import Any

from common.text import CJK_RANGES, CJK_RE, base_language, has_cjk

_WIDE_PUNCT = "，。、；：？！…—“”‘’（）《》「」"
_ASCII_TO_WIDE = {",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"}
_CJK_OR_WIDE_RE = re.compile(f"[{CJK_RANGES}{_WIDE_PUNCT}]")
_SPACE_BETWEEN_CJK_RE = re.compile(f"(?<=[{CJK_RANGES}])\\s+(?=[{CJK_RANGES}])")
_SPACE_NEAR_WIDE_RE = re.compile(f"\\s+(?=[{_WIDE_PUNCT}])|(?<=[{_WIDE_PUNCT}])\\s+")
_ASCII_PUNCT_NEAR_CJK_RE = re.compile(
    f"(?<=[{CJK_RANGES}])\\s*([,?!;:]|\\.(?!\\d))\\s*|\\s*([,?!;:])\\s*(?=[{CJK_RANGES}])"
)
_REPEATED_PUNCT_RE = re.compile(f"([{_WIDE_PUNCT}])\\1+")


_converter_lock = threading.Lock()


@functools.cache
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    jieba.initialize()  # loads the dictionary once (~1 s; jieba locks it itself)
    return jieba


def zh_words(text: str) -> list[str]:
    """Chinese words of ``text`` (jieba, precise mode), punctuation and spaces dropped."""
    return [
        w for w in _jieba().lcut(to_simplified(text)) if w.strip() and any(c.isalnum() for c in w)
    ]


@functools.cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (OpenCC ``t2s``); other text passes unchanged."""
    if not has_cjk(text):
        return text
    with _converter_lock:  # one converter per process, shared by threads
        return str(_t2s().convert(text))


def restore_zh_punctuation(text: str) -> str:
    """Chinese punctuation for a Chinese clause run: ASCII marks next to Chinese become
    full-width, a space between two Chinese clauses becomes ``，``, and a text that ends in
    Chinese gets ``。``. Spaces around Latin words ("用 Excel 做") are left as they are."""
    text = text.strip()
    if not has_cjk(text):
        return text
    text = _ASCII_PUNCT_NEAR_CJK_RE.sub(lambda m: _ASCII_TO_WIDE[m.group(1) or m.group(2)], text)
    text = _SPACE_BETWEEN_CJK_RE.sub("，", text)
    text = _SPACE_NEAR_WIDE_RE.sub("", text)
    text = _REPEATED_PUNCT_RE.sub(r"\1", text)
    if CJK_RE.match(text[-1]):
        text += "。"
    return text


_LOOP_RE = re.compile(r"((?:(?!\d)\S){1,4}?)(?:\s*\1){3,}")
"""A unit of up to 4 non-digit characters repeated 4+ times in a row (问问问问, 我认我认我认我认);
digits never count (10000)."""


def collapse_loops(text: str) -> str:
    """Cut a decoding loop (a short unit repeated many times) down to one occurrence.

    A small Whisper model sometimes repeats a character or word until its token limit at
    the end of an utterance (请问问问问…); no one speaks a unit four times in a row.
    """
    return _LOOP_RE.sub(r"\1", text)


def normalize_transcript(text: str, language: str) -> str:
    """What a recogniser's text becomes before anything else sees it."""
    text = collapse_loops(" ".join(text.split()))
    if base_language(language) == "zh" or has_cjk(text):
        return restore_zh_punctuation(to_simplified(text))
    return text


def join_texts(parts: Iterable[str]) -> str:
    """Join transcript pieces: no space between Chinese pieces or next to Chinese
    punctuation, one space otherwise (also between a Chinese and a Latin piece)."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        left, right = out[-1:], part[0]
        glued = (_CJK_OR_WIDE_RE.match(left) and _CJK_OR_WIDE_RE.match(right)) or (
            left in _WIDE_PUNCT or right in _WIDE_PUNCT
        )
        if out and not glued:
            out += " "
        out += part
    return out
