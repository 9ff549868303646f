"""Mandarin interviews through the real recogniser and analysis pipeline: the bundled
multilingual Whisper base, Mandarin test speech from a neural voice (Kokoro, generated once
per run and cached), Simplified transcripts, rubric coverage, delivery, scores, answers in
the other language, and interviews whose language has no model.

CER thresholds come from ``python -m loadtest.asr_bench --language zh`` (docs/benchmarks.md):
streaming whisper-base averages 11.5 % CER over four voices and 15 % on jf_alpha, the voice
used here (single answers range up to about 20 %), so one answer must stay under 25 % and
the answer set under 18 %; Whisper's offline pass averages 9 %.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzers.events import Event, TranscriptFinal
from analyzers.pipeline import InterviewAnalysis
from analyzers.speech.asr import AsrConfig, AsrModels, StreamingTranscriber
from analyzers.speech.asr_models import TRANSCRIPTION_UNAVAILABLE, resolve_model_map, tiny_en_path
from analyzers.text import to_simplified
from loadtest.asr_bench import cer
from loadtest.candidate.synth_zh import MANDARIN_ANSWERS, mandarin_wav
from server.hiring.questionbank import load_builtin
from tests.support.checks import decode_audio, wer
from tests.support.media import speech_wav
from tests.support.server import TEST_MODELS_DIR

RATE_HZ = 16_000
CHUNK_S = 0.02
MAX_ANSWER_CER = 0.25
MAX_MEAN_CER = 0.18
MAX_ENGLISH_WER = 0.2


@functools.cache
def config() -> AsrConfig:
    resolved = resolve_model_map({}, TEST_MODELS_DIR)
    return AsrConfig(
        models=tuple((lang, info.path if info else "") for lang, info in resolved.items()),
        language="zh",
    )


@functools.cache
def models() -> AsrModels:
    return AsrModels(config())


@functools.cache
def mandarin(name: str, cache: Path) -> np.ndarray:
    wav = mandarin_wav(
        MANDARIN_ANSWERS[name], cache / f"{name}.wav", sample_rate_hz=RATE_HZ, trailing_silence_s=0
    )
    return decode_audio(wav)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zh-speech")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE_HZ), dtype=np.float32)


def stream(t: StreamingTranscriber, audio: np.ndarray) -> list[Event]:
    events: list[Event] = []
    step = int(CHUNK_S * RATE_HZ)
    for i in range(0, len(audio), step):
        t.push(audio[i : i + step], i / RATE_HZ)
        if t.has_final_due:
            events += t.finals()
        elif t.partial_due:
            events += t.partial()
    t.flush()
    return events + t.finals()


def finals_of(events: list[Event]) -> list[TranscriptFinal]:
    return [e for e in events if isinstance(e, TranscriptFinal)]


def test_mandarin_answers_become_simplified_transcripts(cache: Path) -> None:
    zh = models().for_language("zh")
    errors = []
    for name, text in MANDARIN_ANSWERS.items():
        audio = np.concatenate([silence(0.5), mandarin(name, cache), silence(1.0)])
        finals = finals_of(stream(StreamingTranscriber(zh, config(), "iv_zh"), audio))
        heard = "".join(f.text for f in finals)
        assert finals and all(f.language == "zh" for f in finals), heard
        assert to_simplified(heard) == heard, f"Traditional characters left in {heard!r}"
        assert re.search(r"[，。？！]", heard), f"no Chinese punctuation in {heard!r}"
        error = cer(text, heard)
        assert error <= MAX_ANSWER_CER, (name, error, heard)
        errors.append(error)
        if name == "excel":
            assert "excel" in heard.lower(), heard  # code-switching keeps the Latin word
    assert float(np.mean(errors)) <= MAX_MEAN_CER, errors


class RecordingModel:
    """The real model, noting how much audio each final decoded."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.final_audio_s: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def transcribe(self, audio: np.ndarray, **options: Any) -> Any:
        if options.get("word_timestamps"):
            self.final_audio_s.append(len(audio) / RATE_HZ)
        return self.model.transcribe(audio, **options)


def test_finals_hear_the_previous_words_within_the_context_window(cache: Path) -> None:
    """A sentence is decoded after the end of the one before (left context), but never more
    audio than the language's window: a long sentence brings its own context."""
    window_s = config().left_context_window_for("zh")
    assert window_s < config().max_utterance_s + config().left_context_for("zh")
    model = RecordingModel(models().for_language("zh"))
    transcriber = StreamingTranscriber(model, config(), "iv_zh")
    answer = np.concatenate([mandarin(name, cache) for name in ("self_introduction", "teamwork")])
    finals = finals_of(stream(transcriber, np.concatenate([silence(0.5), answer, silence(1.0)])))
    assert len(model.final_audio_s) == len(finals) >= 4, [f.text for f in finals]
    own_s = [f.end_s - f.start_s for f in finals]
    with_context = [a - o for a, o in zip(model.final_audio_s, own_s, strict=True) if a > o + 1]
    assert with_context, (model.final_audio_s, own_s)
    slack_s = 0.3 + 0.2  # the silence between context and utterance, speech kept after the end
    longest_s = max(window_s, max(own_s) + config().pre_roll_s) + slack_s
    assert max(model.final_audio_s) <= longest_s, (model.final_audio_s, own_s)
    heard = "".join(f.text for f in finals)
    assert (
        cer(MANDARIN_ANSWERS["self_introduction"] + MANDARIN_ANSWERS["teamwork"], heard)
        <= MAX_ANSWER_CER
    )


def test_silence_and_noise_give_no_chinese_text() -> None:
    """Whisper writes its prompt or subtitle credits on silence; none of it gets through."""
    rng = np.random.default_rng(11)
    audio = np.concatenate(
        [
            silence(3.0),
            (rng.standard_normal(4 * RATE_HZ) * 0.01).astype(np.float32),
            silence(2.0),
            (rng.standard_normal(2 * RATE_HZ) * 0.05).astype(np.float32),
        ]
    )
    t = StreamingTranscriber(models().for_language("zh"), config(), "iv_zh")
    assert finals_of(stream(t, audio)) == []


def emergency_meta() -> dict[str, Any]:
    question = next(q for q in load_builtin() if q.id == "bank-emergency-01").to_dict()
    return {
        "language": "zh",
        "answer_languages": ["zh", "en"],
        "competencies": [["emergency", 0.5], ["expression", 0.5]],
        "questions": [{**question, "competencies": ["emergency", "expression"]}],
    }


def run_answer(analysis: InterviewAnalysis, audio: np.ndarray) -> list[dict[str, Any]]:
    events = analysis.set_context({"question_index": 0, "phase": "answer"})
    step = 1600
    for i in range(0, len(audio), step):
        events += analysis.push_audio(i / RATE_HZ, audio[i : i + step])
        events += analysis.finals()
    return events + analysis.set_context({"question_index": None, "phase": "between"})


def test_chinese_rubric_points_are_covered_with_quoted_evidence(cache: Path) -> None:
    audio = np.concatenate([silence(0.5), mandarin("emergency", cache), silence(1.5)])
    analysis = InterviewAnalysis("iv_zh", models(), config(), emergency_meta())
    events = run_answer(analysis, audio)
    finals = [e for e in events if e["type"] == "transcript_final"]
    transcript = "".join(f["text"] for f in finals)
    content = [e for e in events if e["type"] == "content_metrics"][-1]
    # the answer speaks to "第一时间…汇报…预案" (point 0) and "转移群众" (point 1)
    assert {0, 1} <= set(content["covered"]), (content, transcript)
    for point, phrase in content["matches"]:
        assert phrase in to_simplified(transcript) or point not in (0, 1), (phrase, transcript)
    delivery = [e for e in events if e["type"] == "delivery_metrics"][-1]
    assert delivery["rate_unit"] == "cpm" and 150 <= delivery["speaking_rate"] <= 400, delivery
    scores = {e["dimension"]: e for e in events if e["type"] == "score_update"}
    assert set(scores) == {"emergency", "expression"}
    evidence = [ev for ev in scores["emergency"]["evidence"] if ev["kind"] == "transcript"]
    assert evidence and all(re.search(r"[\u4e00-\u9fff]", ev["detail"]) for ev in evidence)
    assert re.search(r"[\u4e00-\u9fff]", scores["emergency"]["reason"])  # a Chinese reason


def test_an_answer_in_english_in_a_chinese_job_is_transcribed_in_english(
    cache: Path, tmp_path: Path
) -> None:
    english = "First I would report to my manager and then move the residents to a safe place."
    audio = np.concatenate(
        [
            silence(0.5),
            mandarin("communication", cache),
            silence(1.5),
            decode_audio(speech_wav(english, tmp_path / "en.wav", trailing_silence_s=0)),
            silence(1.5),
        ]
    )
    analysis = InterviewAnalysis("iv_zh", models(), config(), emergency_meta())
    finals = [e for e in run_answer(analysis, audio) if e["type"] == "transcript_final"]
    by_language: dict[str, str] = {}
    for f in finals:
        by_language[f["language"]] = by_language.get(f["language"], "") + " " + f["text"]
    assert set(by_language) == {"zh", "en"}, finals
    assert wer(english, by_language["en"]) <= MAX_ENGLISH_WER, by_language["en"]
    assert cer(MANDARIN_ANSWERS["communication"], by_language["zh"]) <= MAX_ANSWER_CER


def test_without_a_model_for_the_language_nothing_is_transcribed_or_scored(
    cache: Path,
) -> None:
    english_only = AsrConfig(models=(("en", str(tiny_en_path())), ("*", "")), language="zh")
    analysis = InterviewAnalysis("iv_zh", AsrModels(english_only), english_only, emergency_meta())
    opening = analysis.opening_events()
    assert len(opening) == 1 and opening[0]["type"] == "analyzer_error"
    assert opening[0]["message"].startswith(TRANSCRIPTION_UNAVAILABLE)
    audio = np.concatenate([silence(0.5), mandarin("emergency", cache), silence(1.5)])
    events = run_answer(analysis, audio)
    kinds = {e["type"] for e in events}
    assert not kinds & {"transcript_final", "transcript_partial", "score_update", "content_metrics"}
