"""Test media generation lives in ``loadtest.synth`` (shared with the load generator)."""

from loadtest.synth import (
    MEDIA_CACHE_DIR,
    face_y4m,
    mux_webm,
    read_wav_s16_mono,
    speech_wav,
    write_wav_s16_mono,
)

__all__ = [
    "MEDIA_CACHE_DIR",
    "face_y4m",
    "mux_webm",
    "read_wav_s16_mono",
    "speech_wav",
    "write_wav_s16_mono",
]
