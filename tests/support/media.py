"""Test media generation lives in ``loadtest.candidate.synth`` (shared with the load generator)."""

from loadtest.candidate.synth import (
    MEDIA_CACHE_DIR,
    face_y4m,
    mux_webm,
    read_wav_s16_mono,
    speech_wav,
    write_wav_s16_mono,
)

__all__ = [
    "ENGLISH_ANSWER",
    "MEDIA_CACHE_DIR",
    "face_y4m",
    "mux_webm",
    "read_wav_s16_mono",
    "speech_wav",
    "write_wav_s16_mono",
]

ENGLISH_ANSWER = "I have worked in public service for five years and I enjoy helping people solve their problems."
"""What the fake microphone of the English browser tests says (looped; 7.3 s + 1 s pause)."""
