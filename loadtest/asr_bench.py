"""Streaming ASR vs offline ``WhisperModel.transcribe`` on the same audio, side by side.

For each voice/speed, a long answer (sentences with pauses) is generated with espeak-ng and
recognised three ways with the same model in the same process: offline (the whole file in
one call), streaming finals only, and streaming with partial hypotheses. Reported: CPU
seconds (process time), WER against the text, and the final-transcript latency after the
speech ends (the VAD's end-of-utterance silence plus recognition time).

    python -m loadtest.asr_bench --json docs/asr-bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from analyzers.asr import AsrConfig, StreamingTranscriber, _set_encoder_window, load_model
from analyzers.events import TranscriptFinal, TranscriptPartial
from loadtest.run import SENTENCES
from loadtest.synth import read_wav_s16_mono, speech_wav

RATE_HZ = 16_000
CHUNK_S = 0.02
PAUSE_S = 1.5
VOICES = (("en-us", 150), ("en-gb", 175), ("en-us+f3", 150), ("en-us", 120))


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    def norm(s: str) -> str:
        return " ".join("".join(c for c in s.lower() if c.isalnum() or c.isspace()).split())

    return float(jiwer.wer(norm(reference), norm(hypothesis)))


def answer_audio(cache: Path, voice: str, wpm: int, repeats: int) -> tuple[np.ndarray, str]:
    parts, text = [np.zeros(RATE_HZ // 2, np.float32)], []
    for _ in range(repeats):
        for i, sentence in enumerate(SENTENCES):
            wav = speech_wav(
                sentence,
                cache / f"{voice}-{wpm}-{i}.wav",
                voice=voice,
                words_per_min=wpm,
                sample_rate_hz=RATE_HZ,
                trailing_silence_s=0.0,
            )
            pcm, _ = read_wav_s16_mono(wav)
            parts += [pcm.astype(np.float32) / 32768, np.zeros(int(PAUSE_S * RATE_HZ), np.float32)]
            text.append(sentence)
    return np.concatenate(parts), " ".join(text)


def streaming(model: Any, audio: np.ndarray, partials: bool) -> dict[str, Any]:
    config = AsrConfig() if partials else AsrConfig(partial_every_s=1e9)
    t = StreamingTranscriber(model, config, "bench")
    finals: list[TranscriptFinal] = []
    n_partials = 0
    step = int(CHUNK_S * RATE_HZ)
    started = time.process_time()
    for i in range(0, len(audio), step):
        t.push(audio[i : i + step], i / RATE_HZ)
        if t.has_final_due:
            finals += [e for e in t.finals() if isinstance(e, TranscriptFinal)]
        elif partials and t.partial_due:
            n_partials += sum(isinstance(e, TranscriptPartial) for e in t.partial())
    t.flush()
    finals += [e for e in t.finals() if isinstance(e, TranscriptFinal)]
    cpu = time.process_time() - started
    latencies = [config.min_silence_s + f.latency_s for f in finals]
    return {
        "cpu_s": cpu,
        "text": " ".join(f.text for f in finals),
        "finals": len(finals),
        "partials": n_partials,
        "latency_p50_s": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_s": float(np.percentile(latencies, 95)) if latencies else None,
    }


def offline(model: Any, audio: np.ndarray) -> dict[str, Any]:
    """Plain faster-whisper: the whole file, its default 30 s windows, default options."""
    _set_encoder_window(0)
    try:
        started = time.process_time()
        segments, _ = model.transcribe(audio, beam_size=1, language="en")
        text = " ".join(s.text.strip() for s in segments)
        return {"cpu_s": time.process_time() - started, "text": text}
    finally:
        _set_encoder_window(AsrConfig().encoder_window_min_s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=2, help="times the 4 sentences are spoken")
    p.add_argument("--json", dest="json_out")
    args = p.parse_args(argv)
    cache = Path(tempfile.gettempdir()) / "il-asr-bench"
    cache.mkdir(exist_ok=True)
    model = load_model(AsrConfig())
    rows = []
    for voice, wpm in VOICES:
        audio, text = answer_audio(cache, voice, wpm, args.repeats)
        off = offline(model, audio)
        fin = streaming(model, audio, partials=False)
        par = streaming(model, audio, partials=True)
        row = {
            "voice": voice,
            "wpm": wpm,
            "audio_s": round(len(audio) / RATE_HZ, 1),
            "offline_cpu_s": round(off["cpu_s"], 2),
            "offline_wer": round(wer(text, off["text"]), 4),
            "finals_cpu_s": round(fin["cpu_s"], 2),
            "finals_wer": round(wer(text, fin["text"]), 4),
            "finals_latency_p95_s": round(fin["latency_p95_s"] or 0, 3),
            "with_partials_cpu_s": round(par["cpu_s"], 2),
            "with_partials_wer": round(wer(text, par["text"]), 4),
            "partials": par["partials"],
            "finals": par["finals"],
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    total = {
        "offline_cpu_s": sum(r["offline_cpu_s"] for r in rows),
        "finals_cpu_s": sum(r["finals_cpu_s"] for r in rows),
        "with_partials_cpu_s": sum(r["with_partials_cpu_s"] for r in rows),
        "offline_wer_mean": float(np.mean([r["offline_wer"] for r in rows])),
        "finals_wer_mean": float(np.mean([r["finals_wer"] for r in rows])),
        "with_partials_wer_mean": float(np.mean([r["with_partials_wer"] for r in rows])),
    }
    total["finals_cpu_ratio"] = total["finals_cpu_s"] / total["offline_cpu_s"]
    total["with_partials_cpu_ratio"] = total["with_partials_cpu_s"] / total["offline_cpu_s"]
    result = {"rows": rows, "total": total}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    print(json.dumps(total, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
