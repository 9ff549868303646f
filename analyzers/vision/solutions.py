"""mediapipe solutions whose graphs run on the calling thread (shared by face and posture).

A stock ``mp.solutions`` object builds a ``CalculatorGraph`` whose default executor is a thread
pool of min(cores, nodes) threads: 2 on the 2-core machine, so 8 native threads per interview
(two face detectors, face mesh, pose), parked between frames, and every calculator of these tiny
graphs is a hand-off between threads. The classes below are the same solutions with the default
executor set to mediapipe's ``ApplicationThreadExecutor``: the graph runs inside ``process()`` on
the calling thread (the binding releases the GIL while it waits, so other Python threads keep
running) and creates no threads. XNNPACK and TFLite already run single-threaded here (mediapipe's
desktop default is one XNNPACK thread and no TFLite pool: no other thread appears), so this
removes the last threads the solutions own; nothing spins.

Results are bit-identical (same models, same single-threaded kernels; ``tests/test_vision.py``
compares both executors frame by frame). The CPU saved is modest: measured with
``python -m loadtest.vision_bench`` (see :mod:`analyzers.vision.face` and :mod:`analyzers.vision.posture`),
0.3–0.7 ms per face frame at the production pace (1.1 ms back to back) and 0–1 ms per pose frame
(≈ 3 %), plus the threads. Under a busy process per core, one thread's wall time per frame is
longer than the stock graphs' (the scheduler favours their many short wake-ups), not its CPU.
"""

from __future__ import annotations

import os
from typing import Any, Self

from mediapipe.framework import calculator_pb2
from mediapipe.python import solution_base
from mediapipe.python.solutions import face_detection as mp_face_detection
from mediapipe.python.solutions import face_mesh as mp_face_mesh
from mediapipe.python.solutions import pose as mp_pose

APPLICATION_THREAD_EXECUTOR = "ApplicationThreadExecutor"
"""mediapipe's executor type that runs a graph on the thread that waits for it."""
_MEDIAPIPE_ROOT = os.sep.join(os.path.abspath(solution_base.__file__).split(os.sep)[:-3])
"""The directory ``SolutionBase`` resolves ``binary_graph_path`` against."""


def on_calling_thread(config: Any) -> Any:
    """``config`` (a ``CalculatorGraphConfig``) with its default executor on the calling thread.

    Any default-executor entry already present is replaced; named executors are kept.
    """
    executors = [e for e in config.executor if e.name]
    del config.executor[:]
    config.executor.extend(executors)
    default = config.executor.add()
    default.name = ""
    default.type = APPLICATION_THREAD_EXECUTOR
    config.num_threads = 0
    return config


class GraphOwner:
    """An analyzer that owns mediapipe graphs: :meth:`close` (also on ``with`` exit) releases
    them once; :meth:`_check_open` refuses frames after that."""

    def __init__(self, *graphs: Any) -> None:
        self._graphs = graphs
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

    def close(self) -> None:
        """Release the mediapipe graphs; idempotent."""
        if self._closed:
            return
        self._closed = True
        for graph in self._graphs:
            graph.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_graph_config(binary_graph_path: str) -> Any:
    """The ``CalculatorGraphConfig`` of a solution's ``.binarypb`` (path as solutions give it)."""
    config = calculator_pb2.CalculatorGraphConfig()
    with open(os.path.join(_MEDIAPIPE_ROOT, binary_graph_path), "rb") as f:
        config.ParseFromString(f.read())
    return config


class _OnCallingThread(solution_base.SolutionBase):  # type: ignore[misc]
    """Sits between a stock solution and ``SolutionBase`` in the MRO: the solution's
    ``super().__init__(binary_graph_path=...)`` lands here, the graph is loaded, its default
    executor replaced, and ``SolutionBase`` builds it from that config instead."""

    def __init__(
        self,
        binary_graph_path: str | None = None,
        graph_config: Any = None,
        **kwargs: Any,
    ) -> None:
        if binary_graph_path:
            config = load_graph_config(binary_graph_path)
        elif graph_config is not None and not isinstance(graph_config, str):
            config = calculator_pb2.CalculatorGraphConfig()
            config.CopyFrom(graph_config)
        else:
            raise ValueError("expected a binary graph path or a CalculatorGraphConfig message")
        super().__init__(graph_config=on_calling_thread(config), **kwargs)


class FaceDetection(mp_face_detection.FaceDetection, _OnCallingThread):  # type: ignore[misc]
    """``mp.solutions.face_detection.FaceDetection`` on the calling thread."""


class FaceMesh(mp_face_mesh.FaceMesh, _OnCallingThread):  # type: ignore[misc]
    """``mp.solutions.face_mesh.FaceMesh`` on the calling thread."""


class Pose(mp_pose.Pose, _OnCallingThread):  # type: ignore[misc]
    """``mp.solutions.pose.Pose`` on the calling thread."""
