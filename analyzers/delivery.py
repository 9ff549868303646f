"""Delivery metrics of one answer: speaking rate, pauses, fillers and loudness.

Pure and synchronous: the analyzer worker feeds a :class:`DeliveryTracker` with VAD speech
segments and final transcripts (all times are media seconds) and asks it for a
:class:`~analyzers.events.DeliveryMetrics` whenever it wants one.

Language is detected from the text: when CJK characters outnumber Latin words the rate is in
characters per minute ("cpm"), otherwise in words per minute ("wpm"). In both cases a unit is
one CJK character or one Latin/digit word, so mixed answers count everything once.

Filler rules
------------
English (on lower-cased word tokens):

* ``um``, ``uh``, ``er``, ``erm``, ``ah``, ``hmm`` and their stretched spellings
  (``umm``, ``uhh``, ``hmmm`` ...) always count.
* ``you know`` and ``i mean`` count unless they belong to a clause: ``you know`` after
  do/did/if/as/would/will/to, ``i mean`` after what/if/as.
* ``sort of`` and ``kind of`` count unless preceded by a determiner (``what kind of``,
  ``this sort of``, ``a kind of``).

Chinese ("pause mark" = ``，、。…？！；：``, their ASCII forms or a break between finals; "clause start" = the text's
start or just after a pause mark):

* ``嗯``, ``呃``, ``额`` count anywhere; a run (``嗯嗯``) counts once.
* ``啊`` counts only at a clause start (``啊，这个问题``), so the sentence-final particle in
  ``是啊``/``好啊`` does not count.
* ``那个``, ``这个``, ``就是`` (also ``就是说``) count only when used as a discourse filler:
  directly followed by a pause mark (``那个，``) or by a repetition of themselves
  (``那个那个``). ``那个人``/``这个问题``/``就是我们的目标`` do not count, nor does
  ``也就是说``.
* ``然后`` counts only when repeated (``然后然后``, ``然后，然后``): every occurrence but
  the last of a run, so a single ``然后，`` used as "then" does not count.

So ``嗯，我觉得，那个，就是说……`` has 3 fillers (嗯, 那个, 就是说).
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from analyzers.events import DeliveryMetrics, TranscriptFinal
from common.text import CJK_RANGES, CJK_RE

LONG_PAUSE_S = 3.0
"""A gap between two speech segments at least this long (seconds) is a long pause."""
SILENCE_FLOOR_DBFS = -100.0
"""Level reported for digital silence or an empty buffer (dBFS)."""
MAX_SEGMENTS_PER_ANSWER = 8192
"""Speech segments (and finals) kept per answer; the oldest go first beyond that."""
SECONDS_PER_MINUTE = 60.0

RATE_UNIT_WPM = "wpm"
RATE_UNIT_CPM = "cpm"

_LATIN_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
"""A run of letters/digits that is not CJK (CJK is removed before this is applied)."""
_EN_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_WIDE = r"\u3000-\u303f\uff00-\uffef"
_SPACE_NEAR_CJK_RE = re.compile(
    f"[ \\t]+(?=[{CJK_RANGES}{_WIDE}…])|(?<=[{CJK_RANGES}{_WIDE}…])[ \\t]+"
)

_EN_SINGLE_FILLER_RE = re.compile(r"^(?:u+m+|u+h+|e+r+m*|a+h+|h+m+)$")
_EN_PHRASE_FILLERS: dict[tuple[str, str], frozenset[str]] = {
    ("you", "know"): frozenset({"do", "did", "if", "as", "would", "will", "to", "don't"}),
    ("i", "mean"): frozenset({"what", "if", "as"}),
    ("sort", "of"): frozenset(
        {"what", "this", "that", "these", "those", "a", "an", "the", "any", "some", "every"}
        | {"which", "same", "one", "different", "other", "no", "each", "all", "right"}
    ),
}
_EN_PHRASE_FILLERS[("kind", "of")] = _EN_PHRASE_FILLERS[("sort", "of")]

_PAUSE = r"，,、。.…？?！!；;：:\n"
_ZH_FILLER_RE = re.compile(
    # 嗯/呃/额 anywhere (a run once)
    r"[嗯呃额]+"
    # 啊 at a clause start
    f"|(?:^|(?<=[{_PAUSE}]))啊+"
    # 那个/这个/就是(说) followed by a pause mark or by themselves
    f"|(?P<dem>那个|这个)(?=[{_PAUSE}]|(?P=dem))"
    f"|(?<!也)就是说?(?=[{_PAUSE}]|就是)"
    # 然后 followed (maybe after pause marks) by another 然后
    f"|然后(?=[{_PAUSE}]*然后)"
)


@dataclass(frozen=True, slots=True)
class _Segment:
    start_s: float
    end_s: float
    rms_dbfs: float


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of float PCM in [-1, 1], in dBFS (full-scale square wave = 0 dBFS).

    A full-scale sine reads about -3.01 dBFS. Empty or silent input gives
    :data:`SILENCE_FLOOR_DBFS`.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size == 0:
        return SILENCE_FLOOR_DBFS
    rms = math.sqrt(float(np.mean(x * x)))
    if not rms > 0.0:
        return SILENCE_FLOOR_DBFS
    return max(SILENCE_FLOOR_DBFS, 20.0 * math.log10(rms))


def count_units(text: str) -> tuple[int, int]:
    """(CJK characters, Latin/digit words) in ``text``."""
    cjk = len(CJK_RE.findall(text))
    latin = len(_LATIN_WORD_RE.findall(CJK_RE.sub(" ", text)))
    return cjk, latin


def count_fillers(text: str) -> int:
    """Filler words/phrases in ``text`` by the rules in the module docstring (both languages)."""
    return _count_en_fillers(text) + _count_zh_fillers(text)


def _count_en_fillers(text: str) -> int:
    tokens = _EN_WORD_RE.findall(text.lower().replace("\u2019", "'"))
    count = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _EN_SINGLE_FILLER_RE.match(token):
            count += 1
            i += 1
            continue
        if i + 1 < len(tokens):
            blockers = _EN_PHRASE_FILLERS.get((token, tokens[i + 1]))
            if blockers is not None and (i == 0 or tokens[i - 1] not in blockers):
                count += 1
                i += 2
                continue
        i += 1
    return count


def _count_zh_fillers(text: str) -> int:
    compact = _SPACE_NEAR_CJK_RE.sub("", text.strip())
    return len(_ZH_FILLER_RE.findall(compact))


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class DeliveryTracker:
    """Delivery statistics of the current answer of one interview.

    Before the first :meth:`start_answer` the answer is taken to start at media time 0.
    Not thread-safe: one tracker per interview, used from one worker thread.
    """

    def __init__(self) -> None:
        self._segments: deque[_Segment] = deque(maxlen=MAX_SEGMENTS_PER_ANSWER)
        self._finals: deque[TranscriptFinal] = deque(maxlen=MAX_SEGMENTS_PER_ANSWER)
        self._answer_start_s = 0.0
        self._question_index: int | None = None

    @property
    def question_index(self) -> int | None:
        """The question passed to the last :meth:`start_answer`."""
        return self._question_index

    def start_answer(self, question_index: int | None, t: float) -> None:
        """Start a new answer at media time ``t``; evidence ending before ``t`` is dropped."""
        self._question_index = question_index
        self._answer_start_s = t
        self._segments = deque(
            (s for s in self._segments if s.end_s > t), maxlen=MAX_SEGMENTS_PER_ANSWER
        )
        self._finals = deque(
            (f for f in self._finals if f.end_s > t), maxlen=MAX_SEGMENTS_PER_ANSWER
        )

    def add_speech(self, start_s: float, end_s: float, rms_dbfs: float) -> None:
        """Record a VAD speech segment and its RMS level; empty or inverted spans are ignored."""
        if end_s > start_s:
            self._segments.append(_Segment(float(start_s), float(end_s), float(rms_dbfs)))

    def add_final(self, final: TranscriptFinal) -> None:
        """Record a final transcript (its words carry media-time stamps)."""
        self._finals.append(final)

    def metrics(
        self,
        interview_id: str,
        t: float,
        question_index: int | None,
        window_s: float | None = None,
    ) -> DeliveryMetrics:
        """Metrics over the answer so far, or over its last ``window_s`` seconds.

        The span runs from the answer start (or ``t - window_s`` if later) to ``t``; pass a
        ``t`` up to which VAD segments have been reported, since an unreported tail counts as
        silence. Speech time is the union of the VAD segments in the span, or of the word
        timings when there are no segments. A word counts when its midpoint is in the span;
        a final without word timings counts when its own midpoint is.
        """
        span_start = self._answer_start_s
        if window_s is not None:
            span_start = max(span_start, t - window_s)
        span_s = max(0.0, t - span_start)

        clipped = [
            (max(s.start_s, span_start), min(s.end_s, t), s.rms_dbfs)
            for s in self._segments
            if s.end_s > span_start and s.start_s < t
        ]
        clipped = [c for c in clipped if c[1] > c[0]]

        text, word_spans = self._text_in(span_start, t)
        intervals = [(a, b) for a, b, _ in clipped] or [
            (max(a, span_start), min(b, t)) for a, b in word_spans if b > a
        ]
        speech = _merge(intervals)
        speech_s = sum(b - a for a, b in speech)
        long_pauses = sum(
            1
            for (_, prev_end), (start, _) in zip(speech, speech[1:], strict=False)
            if start - prev_end >= LONG_PAUSE_S
        )
        pause_ratio = min(1.0, max(0.0, 1.0 - speech_s / span_s)) if span_s > 0 else 0.0

        cjk, latin = count_units(text)
        units = cjk + latin
        unit = RATE_UNIT_CPM if cjk > latin else RATE_UNIT_WPM
        rate = units / speech_s * SECONDS_PER_MINUTE if speech_s > 0 else 0.0
        fillers = count_fillers(text)

        weight = sum(b - a for a, b, _ in clipped)
        loudness = sum((b - a) * level for a, b, level in clipped) / weight if weight > 0 else None

        return DeliveryMetrics(
            interview_id=interview_id,
            t=t,
            question_index=question_index,
            speaking_rate=rate,
            rate_unit=unit,
            pause_ratio=pause_ratio,
            long_pauses=long_pauses,
            fillers=fillers,
            filler_ratio=fillers / units if units else 0.0,
            loudness_dbfs=loudness,
            speech_s=speech_s,
            window_s=span_s,
        )

    def _text_in(self, start_s: float, end_s: float) -> tuple[str, list[tuple[float, float]]]:
        """Transcript text in [start_s, end_s] and the timings of the words in it."""
        parts: list[str] = []
        spans: list[tuple[float, float]] = []
        for final in self._finals:
            if final.words:
                inside = [w for w in final.words if start_s <= (w.start_s + w.end_s) / 2 <= end_s]
                spans.extend((w.start_s, w.end_s) for w in inside)
                if len(inside) == len(final.words):
                    parts.append(final.text)
                else:
                    parts.append(" ".join(w.text.strip() for w in inside))
            elif start_s <= (final.start_s + final.end_s) / 2 <= end_s:
                parts.append(final.text)
                spans.append((final.start_s, final.end_s))
        return "\n".join(p for p in parts if p), spans
