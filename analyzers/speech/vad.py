"""Streaming voice activity detection with the Silero VAD model faster-whisper ships.

faster-whisper's ``SileroVADModel`` scores a whole array at once and resets its recurrent
state on every call; :class:`StreamingVad` keeps the state (h, c and the 64-sample context)
between calls so audio can be fed as it arrives, 32 ms window by window.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 16_000
WINDOW_SAMPLES = 512
"""32 ms at 16 kHz: the window size the Silero model expects."""
CONTEXT_SAMPLES = 64
WINDOW_S = WINDOW_SAMPLES / SAMPLE_RATE_HZ


@functools.cache
def _session() -> object:
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)


class StreamingVad:
    """Speech probability per 32 ms window of a 16 kHz mono stream."""

    def __init__(self) -> None:
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Speech probabilities for every complete window now available (may be empty)."""
        buf = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n = len(buf) // WINDOW_SAMPLES
        self._pending = buf[n * WINDOW_SAMPLES :]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        windows = buf[: n * WINDOW_SAMPLES].reshape(n, WINDOW_SAMPLES)
        contexts = np.empty((n, CONTEXT_SAMPLES), dtype=np.float32)
        contexts[0] = self._context
        contexts[1:] = windows[:-1, -CONTEXT_SAMPLES:]
        batch = np.concatenate([contexts, windows], axis=1)
        # The exported model runs its recurrent state across the batch axis (as in
        # faster-whisper's own VAD call), so consecutive windows go in one run.
        out, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        return np.asarray(out, dtype=np.float32).reshape(-1)[:n]
