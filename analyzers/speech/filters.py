"""What Whisper writes that nobody said: the credits and sign-offs it invents on silence or
noise (Chinese and English), its initial prompt echoed back, and segments it is confident hold
no speech. Finals and partials drop such segments (:func:`is_bad_segment`)."""

from __future__ import annotations

import re
from typing import Any

from analyzers.text import to_simplified

HALLUCINATIONS: tuple[str, ...] = (
    # Chinese subtitle credits and sign-offs Whisper invents on silence/noise
    "请不吝点赞",
    "订阅 转发 打赏",
    "点赞订阅",
    "字幕由amara.org社区提供",
    "amara.org",
    "中文字幕志愿者",
    "字幕志愿者",
    "字幕:",
    "优优独播剧场",
    "明镜与点点栏目",
    "谢谢观看",
    "感谢观看",
    "感谢收看",
    "请订阅",
    "点点关注",
    "本节目由",
    # English equivalents
    "thank you for watching",
    "thanks for watching",
    "subtitles by the amara.org community",
    "please subscribe",
    "like and subscribe",
)


def comparable(text: str) -> str:
    """Lower case without spaces, punctuation or symbols: the text to compare."""
    return re.sub(r"[\s\W_]+", "", text.lower())


def is_hallucination(text: str) -> bool:
    """True for empty text and for the well-known credits Whisper invents on silence."""
    norm = comparable(to_simplified(text))
    if not norm:
        return True
    return any(comparable(h) and comparable(h) in norm for h in HALLUCINATIONS)


def echoes_prompt(text: str, prompt: str | None) -> bool:
    """Whisper repeating its initial prompt instead of hearing speech (on silence or noise it
    writes the prompt back, whole or garbled: 以下是普通的讀体)."""
    if not prompt:
        return False
    said, asked = comparable(to_simplified(text)), comparable(prompt)
    if not said:
        return False
    common = 0
    for a, b in zip(said, asked, strict=False):
        if a != b:
            break
        common += 1
    return said in asked or common >= min(PROMPT_ECHO_PREFIX_CHARS, len(asked))


PROMPT_ECHO_PREFIX_CHARS = 4
"""A text starting with this many characters of the prompt is the prompt echoed."""


def is_bad_segment(segment: Any, prompt: str | None = None) -> bool:
    """A faster-whisper segment nobody said: a known credit, the prompt echoed, or text Whisper
    itself thinks unlikely where it hears no speech."""
    if is_hallucination(segment.text) or echoes_prompt(segment.text, prompt):
        return True
    # Whisper is confident there is no speech and the text is unlikely: invented.
    return bool(segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0)
