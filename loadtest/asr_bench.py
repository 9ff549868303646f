"""Streaming ASR vs offline ``WhisperModel.transcribe`` on the same audio, side by side.

English (default): for each espeak-ng voice/speed, a long answer (sentences with pauses) is
recognised with the bundled tiny.en. Chinese (``--language zh``): the Mandarin interview
answers of :mod:`loadtest.candidate.synth_zh` (Kokoro voices), recognised with the bundled multilingual
base. Each audio is recognised three ways with the same model in the same process: offline
(the whole file in one call, stock options), streaming finals only, and streaming with
partial hypotheses. Reported: CPU seconds (process time), the error rate against the text
(WER for English; CER for Chinese, both sides in Simplified script without punctuation), and
the final-transcript latency after the speech ends (the VAD's end-of-utterance silence plus
recognition time).

    python -m loadtest.asr_bench --json docs/bench/asr.json
    python -m loadtest.asr_bench --language zh --beam 5 --json docs/bench/asr-zh.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzers.events import TranscriptFinal, TranscriptPartial
from analyzers.speech.asr import (
    ZH_INITIAL_PROMPT,
    AsrConfig,
    StreamingTranscriber,
    _set_encoder_window,
    load_model,
)
from analyzers.speech.asr_models import join_bundled_base
from analyzers.text import join_texts, to_simplified
from loadtest.candidate.client import SENTENCES
from loadtest.candidate.synth import read_wav_s16_mono, speech_wav

RATE_HZ = 16_000
CHUNK_S = 0.02
PAUSE_S = 1.5
SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("--min-silence", "min_silence_s", "seconds of silence that end an utterance"),
    (
        "--left-context",
        "left_context_s",
        "seconds of the previous utterance decoded again before a final (default: the "
        "language's setting)",
    ),
    (
        "--context-window",
        "left_context_window_s",
        "longest audio (left context + utterance, s) a final decodes (default: the language's "
        "setting)",
    ),
    (
        "--encoder-window",
        "encoder_window_min_s",
        "shortest audio window (s) the encoder sees in streaming; 0 = always 30 s",
    ),
    (
        "--encoder-tail",
        "encoder_tail_s",
        "seconds of silence the encoder window keeps after the speech (streaming; default: the "
        "language's)",
    ),
    (
        "--speculate-after",
        "speculate_after_silence_s",
        "seconds of silence after which a final is decoded ahead",
    ),
    (
        "--speculate-min-speech",
        "speculate_min_speech_s",
        "shortest speech (s) whose final is decoded ahead",
    ),
)
"""Numeric streaming settings the benchmark can change: flag, ``AsrConfig`` field, help."""
PARTIAL_WORD_SLACK_S = 0.2
"""A final's word counts as heard by a partial when it ends at most this after the partial's
speech end (word timestamps are approximate)."""
VOICES = (("en-us", 150), ("en-gb", 175), ("en-us+f3", 150), ("en-us", 120))
ZH_VOICES = (
    ("jf_alpha", 1.0),
    ("jf_gongitsune", 1.0),
    ("jm_kumo", 1.0),
    ("jf_alpha", 0.85),
    ("jf_nezumi", 1.0),
    ("jf_tebukuro", 1.0),
)
"""Kokoro voice and speed (1.0 ≈ 250 characters per minute): every voice the package ships,
one of them also slower."""


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    def norm(s: str) -> str:
        return " ".join("".join(c for c in s.lower() if c.isalnum() or c.isspace()).split())

    return float(jiwer.wer(norm(reference), norm(hypothesis)))


def rss_mb() -> float:
    """Resident memory of this process (Linux), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def cer_units(text: str) -> list[str]:
    """Units of Chinese CER: Simplified CJK characters and Latin/digit words, lower-cased;
    punctuation and spaces dropped."""
    return re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", to_simplified(text).lower())


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate on Chinese text (:func:`cer_units`; a Latin word is one unit)."""
    import jiwer

    ref = cer_units(reference)
    if not ref:
        raise ValueError("reference has no characters")
    return float(jiwer.wer(" ".join(ref), " ".join(cer_units(hypothesis)) or "∅"))


def answer_audio(
    language: str, cache: Path, voice: str, pace: float, repeats: int
) -> tuple[np.ndarray, str]:
    """The language's answers spoken one after another with PAUSE_S between them, and their
    text: English, SENTENCES by espeak-ng (``pace`` in words per minute); Chinese, the
    answers of :mod:`loadtest.candidate.synth_zh` by Kokoro (``pace`` is its speed)."""
    from loadtest.candidate.synth_zh import MANDARIN_ANSWERS, mandarin_wav

    zh = language == "zh"
    texts = list(MANDARIN_ANSWERS.values()) if zh else list(SENTENCES)
    parts, said = [np.zeros(RATE_HZ // 2, np.float32)], []
    for _ in range(repeats):
        for i, text in enumerate(texts):
            path = cache / f"{language}-{voice}-{pace}-{i}.wav"
            if zh:
                wav = mandarin_wav(
                    text,
                    path,
                    voice=voice,
                    speed=pace,
                    sample_rate_hz=RATE_HZ,
                    trailing_silence_s=0,
                )
            else:
                wav = speech_wav(
                    text,
                    path,
                    voice=voice,
                    words_per_min=int(pace),
                    sample_rate_hz=RATE_HZ,
                    trailing_silence_s=0,
                )
            pcm, _ = read_wav_s16_mono(wav)
            parts += [pcm.astype(np.float32) / 32768, np.zeros(int(PAUSE_S * RATE_HZ), np.float32)]
            said.append(text)
    return np.concatenate(parts), ("" if zh else " ").join(said)


def _partial_pairs(
    partials: list[TranscriptPartial], finals: list[TranscriptFinal]
) -> list[tuple[str, str]]:
    """(what the final says up to the partial's speech end, the partial's text) per partial:
    how right each hypothesis was about the words heard so far."""
    by_id = {f.utterance_id: f for f in finals}
    pairs = []
    for p in partials:
        final = by_id.get(p.utterance_id)
        if final is not None:
            heard = [w.text for w in final.words if w.end_s <= p.t + PARTIAL_WORD_SLACK_S]
            if heard:
                pairs.append((join_texts(heard), join_texts([p.stable, p.unstable])))
    return pairs


def streaming(model: Any, audio: np.ndarray, partials: bool, base: AsrConfig) -> dict[str, Any]:
    config = base if partials else replace(base, partial_every_s=1e9)
    t = StreamingTranscriber(model, config, "bench")
    finals: list[TranscriptFinal] = []
    partial_events: list[TranscriptPartial] = []
    step = int(CHUNK_S * RATE_HZ)
    started = time.process_time()
    for i in range(0, len(audio), step):
        t.push(audio[i : i + step], i / RATE_HZ)
        if t.has_final_due:
            finals += [e for e in t.finals() if isinstance(e, TranscriptFinal)]
        else:  # as a worker: a final decoded ahead, else a partial (never due without partials)
            partial_events += [e for e in t.idle() if isinstance(e, TranscriptPartial)]
    t.flush()
    finals += [e for e in t.finals() if isinstance(e, TranscriptFinal)]
    cpu = time.process_time() - started
    latencies = [config.min_silence_s + f.latency_s for f in finals]
    return {
        "cpu_s": cpu,
        "text": join_texts(f.text for f in finals),
        "finals": len(finals),
        "partials": len(partial_events),
        "partial_pairs": _partial_pairs(partial_events, finals),
        "speculated": t.speculated_runs,
        "speculated_used": t.speculated_used,
        "speculated_shown": t.speculated_shown,
        "latency_p50_s": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_s": float(np.percentile(latencies, 95)) if latencies else None,
    }


def offline(model: Any, audio: np.ndarray, config: AsrConfig) -> dict[str, Any]:
    """Plain faster-whisper: the whole file, its default 30 s windows, default options (the
    same language, beam size and initial prompt as streaming)."""
    _set_encoder_window(0)
    try:
        started = time.process_time()
        segments, _ = model.transcribe(
            audio,
            beam_size=config.beam_for(config.language),
            language=config.language,
            initial_prompt=config.initial_prompt or None,
        )
        text = join_texts(s.text.strip() for s in segments)
        return {"cpu_s": time.process_time() - started, "text": text}
    finally:
        _set_encoder_window(config.encoder_window_min_s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--language", choices=("en", "zh"), default="en")
    p.add_argument(
        "--repeats",
        type=int,
        default=0,
        help="times the answers are spoken; 0 = the language's default: 2 for English, 1 for "
        "Chinese (Kokoro speaks a text the same way every time, so a second pass adds no new "
        "sample, and the offline pass, conditioned on its own earlier text, would copy it)",
    )
    p.add_argument(
        "--beam", type=int, default=0, help="beam size (streaming and offline); 0 = the language's"
    )
    p.add_argument(
        "--prompt",
        choices=("none", "zh-hint"),
        default="none",
        help="initial prompt: none (the server's default) or the Simplified-Chinese hint",
    )
    defaults = AsrConfig()
    for flag, field, explained in SETTINGS:
        p.add_argument(
            flag, type=float, dest=field, default=getattr(defaults, field), help=explained
        )
    p.add_argument(
        "--no-speculate",
        action="store_true",
        help="decode finals only after the utterance ended (no final decoded ahead)",
    )
    p.add_argument("--models-dir", default=str(Path(tempfile.gettempdir()) / "il-models"))
    p.add_argument("--json", dest="json_out")
    args = p.parse_args(argv)
    if not args.repeats:
        args.repeats = 1 if args.language == "zh" else 2
    cache = Path(tempfile.gettempdir()) / "il-asr-bench"
    cache.mkdir(exist_ok=True)
    config = AsrConfig(
        language=args.language,
        beam_size=args.beam,
        initial_prompt=ZH_INITIAL_PROMPT if args.prompt == "zh-hint" else "",
        speculative_finals=not args.no_speculate,
        **{field: getattr(args, field) for _, field, _ in SETTINGS},
    )
    voices: tuple[tuple[str, float], ...] = VOICES
    error: Callable[[str, str], float] = wer
    if args.language == "zh":
        base = str(join_bundled_base(Path(args.models_dir)))
        config = replace(config, models=(("zh", base),))
        voices, error = ZH_VOICES, cer
    rss_before = rss_mb()
    load_started = time.monotonic()
    model = load_model(config)
    load_s = time.monotonic() - load_started
    model_rss_mb = rss_mb() - rss_before
    rows = []
    for voice, pace in voices:
        audio, text = answer_audio(args.language, cache, voice, pace, args.repeats)
        off = offline(model, audio, config)
        fin = streaming(model, audio, False, config)
        par = streaming(model, audio, True, config)
        row = {
            "voice": voice,
            "pace": pace,
            "audio_s": round(len(audio) / RATE_HZ, 1),
            "offline_cpu_s": round(off["cpu_s"], 2),
            "offline_error": round(error(text, off["text"]), 4),
            "finals_cpu_s": round(fin["cpu_s"], 2),
            "finals_error": round(error(text, fin["text"]), 4),
            "finals_latency_p50_s": round(fin["latency_p50_s"] or 0, 3),
            "finals_latency_p95_s": round(fin["latency_p95_s"] or 0, 3),
            "with_partials_cpu_s": round(par["cpu_s"], 2),
            "with_partials_error": round(error(text, par["text"]), 4),
            "partials": par["partials"],
            "partials_error": round(
                float(np.mean([error(ref, hyp) for ref, hyp in par["partial_pairs"]] or [0.0])), 4
            ),
            "partials_from_decodes_ahead": par["speculated_shown"],
            "finals": par["finals"],
            "finals_speculated": fin["speculated"],
            "finals_speculated_used": fin["speculated_used"],
            "offline_text": off["text"],
            "finals_text": fin["text"],
        }
        rows.append(row)
        print(
            json.dumps({k: v for k, v in row.items() if not k.endswith("_text")}), file=sys.stderr
        )
    total = {
        "language": args.language,
        "metric": "cer" if args.language == "zh" else "wer",
        "beam": config.beam_for(args.language),
        "prompt": config.initial_prompt,
        "min_silence_s": config.min_silence_s,
        "speculative_finals": config.speculative_finals,
        "speculate_after_silence_s": config.speculate_after_silence_s,
        "speculate_min_speech_s": config.speculate_min_speech_s,
        "left_context_s": config.left_context_for(args.language),
        "left_context_window_s": config.left_context_window_for(args.language),
        "offline_cpu_s": sum(r["offline_cpu_s"] for r in rows),
        "finals_cpu_s": sum(r["finals_cpu_s"] for r in rows),
        "with_partials_cpu_s": sum(r["with_partials_cpu_s"] for r in rows),
        "audio_s": sum(r["audio_s"] for r in rows),
        "offline_error_mean": float(np.mean([r["offline_error"] for r in rows])),
        "finals_error_mean": float(np.mean([r["finals_error"] for r in rows])),
        "with_partials_error_mean": float(np.mean([r["with_partials_error"] for r in rows])),
        "model_load_s": round(load_s, 2),
        "model_rss_mb": round(model_rss_mb, 1),
        "finals_latency_p95_s_max": max(r["finals_latency_p95_s"] for r in rows),
    }
    total["finals_cpu_ratio"] = total["finals_cpu_s"] / total["offline_cpu_s"]
    total["with_partials_cpu_ratio"] = total["with_partials_cpu_s"] / total["offline_cpu_s"]
    total["finals_cpu_s_per_audio_s"] = total["finals_cpu_s"] / total["audio_s"]
    result = {"rows": rows, "total": total}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(total, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
