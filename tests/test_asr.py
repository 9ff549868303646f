"""Streaming ASR with the real bundled Whisper tiny.en on generated speech."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzers.events import Event, TranscriptFinal, TranscriptPartial
from analyzers.speech.asr import (
    FINAL_TAIL_S,
    AsrConfig,
    StreamingTranscriber,
    agreed_prefix,
    load_model,
)
from analyzers.speech.filters import is_hallucination
from tests.support.checks import decode_audio, wer
from tests.support.media import speech_wav

RATE_HZ = 16_000
CHUNK_S = 0.02
SENTENCES = (
    "I have worked in public service for five years and I enjoy helping people solve their problems.",
    "First I would listen to the residents and then I would explain the new policy in simple words.",
    "Finally I would report the results to my manager and write a short summary for the team.",
)


@functools.cache
def model() -> Any:
    return load_model(AsrConfig())


def stream(transcriber: StreamingTranscriber, audio: np.ndarray, t0: float = 0.0) -> list[Event]:
    """Feed audio in 20 ms chunks as a live stream would, collecting events; between chunks
    the work a worker does: finals, else a final decoded ahead, else a partial."""
    events: list[Event] = []
    step = int(CHUNK_S * RATE_HZ)
    for i in range(0, len(audio), step):
        transcriber.push(audio[i : i + step], t0 + i / RATE_HZ)
        if transcriber.has_final_due:
            events += transcriber.finals()
        else:
            events += transcriber.idle()
    transcriber.flush()
    events += transcriber.finals()
    return events


def speech(tmp_path: Path, text: str, voice: str = "en-us", wpm: int = 150) -> np.ndarray:
    wav = speech_wav(
        text,
        tmp_path / f"{abs(hash((text, voice, wpm)))}.wav",
        voice=voice,
        words_per_min=wpm,
        trailing_silence_s=0.0,
    )
    return decode_audio(wav)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE_HZ), dtype=np.float32)


def test_long_answer_with_pauses_gives_one_final_per_sentence(tmp_path: Path) -> None:
    parts: list[np.ndarray] = [silence(1.0)]
    spans = []
    for sentence in SENTENCES:
        audio = speech(tmp_path, sentence)
        start = sum(len(p) for p in parts) / RATE_HZ
        spans.append((start, start + len(audio) / RATE_HZ))
        parts += [audio, silence(1.5)]
    t = StreamingTranscriber(model(), AsrConfig(), "iv_test")
    events = stream(t, np.concatenate(parts), t0=100.0)
    finals = [e for e in events if isinstance(e, TranscriptFinal)]
    assert len(finals) == len(SENTENCES), [f.text for f in finals]
    for final, sentence, (start, end) in zip(finals, SENTENCES, spans, strict=True):
        assert wer(sentence, final.text) <= 0.15, final.text
        assert final.start_s == pytest.approx(100.0 + start, abs=0.35)
        # espeak's clip ends with a little silence of its own, so speech ends slightly earlier
        assert 100.0 + end - 0.6 <= final.end_s <= 100.0 + end + 0.35
        assert final.words and final.words[0].start_s >= final.start_s - 0.1
        assert final.words[-1].end_s <= final.end_s + 0.5
    # partials come before the final of the same utterance, and their stable part only grows
    for final in finals:
        partials = [
            e
            for e in events
            if isinstance(e, TranscriptPartial) and e.utterance_id == final.utterance_id
        ]
        assert partials, "a 5 s utterance gets at least one partial"
        assert events.index(partials[-1]) < events.index(final)
        stable = [p.stable for p in partials]
        assert all(b.startswith(a) for a, b in zip(stable, stable[1:], strict=False))


@pytest.mark.parametrize(("voice", "wpm"), [("en-us", 120), ("en-gb", 175), ("en-us+f3", 150)])
def test_voices_and_speeds_match_offline_accuracy(tmp_path: Path, voice: str, wpm: int) -> None:
    """Streaming is as accurate as transcribing the whole file at once with the same model."""
    sentence = SENTENCES[0]
    audio = np.concatenate([silence(0.5), speech(tmp_path, sentence, voice, wpm), silence(1.0)])
    t = StreamingTranscriber(model(), AsrConfig(partial_every_s=1e9), "iv_test")
    finals = [e for e in stream(t, audio) if isinstance(e, TranscriptFinal)]
    streamed = wer(sentence, " ".join(f.text for f in finals))
    segments, _ = model().transcribe(audio, beam_size=1, language="en")
    offline = wer(sentence, " ".join(s.text for s in segments))
    assert streamed <= offline + 0.07, (streamed, offline)  # one word of 17
    assert streamed <= 0.35


def test_silence_and_noise_give_no_transcript() -> None:
    rng = np.random.default_rng(7)
    audio = np.concatenate(
        [silence(5.0), (rng.standard_normal(5 * RATE_HZ) * 0.003).astype(np.float32)]
    )
    t = StreamingTranscriber(model(), AsrConfig(), "iv_test")
    assert stream(t, audio) == []


def test_media_gap_closes_the_utterance(tmp_path: Path) -> None:
    audio = speech(tmp_path, SENTENCES[0])
    half = len(audio) // 2
    t = StreamingTranscriber(model(), AsrConfig(partial_every_s=1e9), "iv_test")
    events = stream(t, audio[:half], t0=0.0)
    events += stream(t, audio[half:], t0=60.0)  # 1 minute later (connection dropped)
    finals = [e for e in events if isinstance(e, TranscriptFinal)]
    assert len(finals) == 2
    assert finals[1].start_s >= 60.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", True),
        ("字幕由Amara.org社区提供", True),
        ("谢谢观看！", True),
        ("Thanks for watching!", True),
        ("  …  ", True),
        ("我认为应该先核实情况，再向群众解释政策。", False),
        ("I would thank the volunteers for watching the children.", False),
    ],
)
def test_hallucination_filter(text: str, expected: bool) -> None:
    assert is_hallucination(text) is expected


def test_each_language_keeps_its_own_silence_after_the_speech(tmp_path: Path) -> None:
    """The encoder window is the speech plus the language's tail (English 2 s), set for the
    transcription that runs and reset after it."""
    import faster_whisper.transcribe as fw_transcribe

    audio = speech(tmp_path, SENTENCES[0])
    config = AsrConfig(encoder_window_min_s=1.0)
    t = StreamingTranscriber(model(), config, "iv")
    calls: list[tuple[int, int]] = []
    padding = fw_transcribe.pad_or_trim

    def spy(array: Any, length: int = 3000, *, axis: int = -1) -> Any:
        out = padding(array, length, axis=axis)
        calls.append((array.shape[axis], out.shape[axis]))
        return out

    fw_transcribe.pad_or_trim = spy
    try:
        _, text = t._transcribe(audio, "en", final=True)
        english = list(calls)
        calls.clear()
        segments, _ = model().transcribe(audio, beam_size=1, language="en")
        list(segments)  # outside a streaming transcription: the default 1 s
    finally:
        fw_transcribe.pad_or_trim = padding
    assert wer(SENTENCES[0], text) <= 0.1
    assert english and all(out == -(-(n + 200) // 100) * 100 for n, out in english), english
    assert calls and all(out == -(-(n + 100) // 100) * 100 for n, out in calls), calls


@pytest.mark.parametrize(
    ("previous", "current", "n"),
    [
        ([], ["a", "b"], 0),
        (["I", "have"], ["I", "have", "worked"], 2),
        (["I", "have", "walked"], ["I", "have", "worked", "in"], 2),
        (["Hello,"], ["hello"], 1),
        (["我", "认", "为"], ["我", "认", "为", "应"], 3),
    ],
)
def test_local_agreement(previous: list[str], current: list[str], n: int) -> None:
    assert agreed_prefix(previous, current) == n


def test_short_encoder_window_is_applied(tmp_path: Path) -> None:
    """Guards the faster-whisper internals the shorter encoder window relies on."""
    import faster_whisper.transcribe as fw_transcribe

    model()  # loading installs the padding function
    calls: list[int] = []
    padding = fw_transcribe.pad_or_trim

    def spy(array: Any, length: int = 3000, *, axis: int = -1) -> Any:
        out = padding(array, length, axis=axis)
        calls.append(out.shape[axis])
        return out

    fw_transcribe.pad_or_trim = spy
    try:
        audio = speech(tmp_path, SENTENCES[0])
        segments, _ = model().transcribe(audio, beam_size=1, language="en")
        text = " ".join(s.text for s in segments)
    finally:
        fw_transcribe.pad_or_trim = padding
    # the default minimum or the speech and 1 s, in whole seconds; never Whisper's 30 s
    speech_frames = len(audio) * 100 // 16_000
    want = max(int(AsrConfig().encoder_window_min_s * 100), -(-(speech_frames + 100) // 100) * 100)
    assert calls and all(n == want < 3000 for n in calls), (calls, want)
    assert wer(SENTENCES[0], text) <= 0.1


def _trimmed(audio: np.ndarray) -> np.ndarray:
    """``audio`` without the near-silence espeak leaves before and after the speech."""
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0] : loud[-1] + 1]


def _finals(events: list[Event]) -> list[TranscriptFinal]:
    return [e for e in events if isinstance(e, TranscriptFinal)]


def test_a_final_decoded_ahead_is_the_final_it_would_have_been(tmp_path: Path) -> None:
    parts: list[np.ndarray] = [silence(1.0)]
    for sentence in SENTENCES:
        parts += [speech(tmp_path, sentence), silence(1.5)]
    audio = np.concatenate(parts)
    ahead = StreamingTranscriber(model(), AsrConfig(), "iv_a")
    after = StreamingTranscriber(model(), AsrConfig(speculative_finals=False), "iv_b")
    with_ahead, without = _finals(stream(ahead, audio)), _finals(stream(after, audio))
    assert [f.text for f in with_ahead] == [f.text for f in without]
    assert [f.words for f in with_ahead] == [f.words for f in without]
    assert [(f.start_s, f.end_s) for f in with_ahead] == [(f.start_s, f.end_s) for f in without]
    assert ahead.speculated_runs == ahead.speculated_used == len(SENTENCES)
    assert after.speculated_runs == 0
    # decoded while the last 0.25 s of the ending silence went by: ready that much sooner
    assert sum(f.latency_s for f in with_ahead) < sum(f.latency_s for f in without)
    assert AsrConfig().min_silence_s - FINAL_TAIL_S >= 0.2


def test_speech_after_a_pause_means_the_final_decoded_ahead_is_not_the_final(
    tmp_path: Path,
) -> None:
    first, second = (_trimmed(speech(tmp_path, s)) for s in SENTENCES[:2])
    pause_s = 0.35  # longer than the final's tail, shorter than the silence that ends it
    assert FINAL_TAIL_S < pause_s < AsrConfig().min_silence_s
    audio = np.concatenate([silence(1.0), first, silence(pause_s), second, silence(1.5)])
    ahead = StreamingTranscriber(model(), AsrConfig(), "iv_a")
    after = StreamingTranscriber(model(), AsrConfig(speculative_finals=False), "iv_b")
    with_ahead, without = _finals(stream(ahead, audio)), _finals(stream(after, audio))
    assert [f.text for f in with_ahead] == [f.text for f in without]
    assert ahead.speculated_runs > ahead.speculated_used  # the pause's decode was not used
    assert len(with_ahead) == 1 and wer(" ".join(SENTENCES[:2]), with_ahead[0].text) <= 0.15


def test_a_final_decoded_ahead_then_speech_is_the_next_partial(tmp_path: Path) -> None:
    """Speech after the pause: the decode ahead is shown as the partial hypothesis, without
    decoding again, and the next partial comes a period after the speech it was decoded for."""
    cfg = AsrConfig()
    first = _trimmed(speech(tmp_path, SENTENCES[0]))
    first_s = len(first) / RATE_HZ
    assert first_s > cfg.partial_after_s + 0.5  # a partial was due by the clock too
    pause_s = 0.35
    t = StreamingTranscriber(model(), cfg, "iv_a")
    t.push(np.concatenate([silence(1.0), first, silence(pause_s)]), 0.0)
    assert t.speculation_due
    t.speculate()
    decoded_cpu_s = t.cpu_s
    t.push(_trimmed(speech(tmp_path, SENTENCES[1]))[: RATE_HZ // 2], 1.0 + first_s + pause_s)
    assert t.partial_due
    [partial] = t.partial()
    assert isinstance(partial, TranscriptPartial)
    assert t.cpu_s == decoded_cpu_s  # nothing decoded again
    assert wer(SENTENCES[0], partial.unstable) <= 0.15 and partial.stable == ""
    assert not t.partial_due  # shown once; the next one is a period after the pause
    assert t._utterance is not None
    next_s = 1.0 + first_s + cfg.partial_every_s  # to a VAD window
    assert abs(t._utterance.next_partial_s - next_s) < 0.1


def test_a_final_decoded_ahead_is_not_used_after_the_question_changed(tmp_path: Path) -> None:
    """The question decides whether the previous final is left context: a final decoded for
    the old question is decoded again."""
    audio = np.concatenate([silence(1.0), _trimmed(speech(tmp_path, SENTENCES[0]))])
    t = StreamingTranscriber(model(), AsrConfig(), "iv_a")
    t.question_index = 0
    end_s = len(audio) / RATE_HZ
    t.push(np.concatenate([audio, silence(0.3)]), 0.0)
    assert t.speculation_due
    t.speculate()
    assert t.speculated_runs == 1
    t.question_index = 1  # the candidate moved on just before the silence ended the answer
    t.push(silence(0.3), end_s + 0.3)
    finals = _finals(t.finals())
    assert len(finals) == 1 and t.speculated_used == 0
    assert wer(SENTENCES[0], finals[0].text) <= 0.15
