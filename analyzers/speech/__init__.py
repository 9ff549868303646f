"""What the candidate says: voice activity (Silero VAD), streaming Whisper transcription and the
per-language model map."""
