"""Typed messages between the analyzer pool and its worker processes, one class per kind.

In (pool → worker): :class:`Open`, :class:`Context`, :class:`Audio`, :class:`Video`,
:class:`Signal`, :class:`Close` (the per-interview :data:`Work`, which also travels over
Redis between media and analyzer nodes: ``server.live.work`` is its msgpack form),
:class:`Degrade` (from the pool's own load controller, never over Redis), :class:`Media` (the
pool's batches of audio and video) and :class:`Stop`.
Out (worker → pool): :class:`Ready`, :class:`Events`, :class:`Stats`, :class:`Stopped`.
On the process queues the objects themselves are pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# -- pool → worker ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """Start analysing an interview (again, after a restart: a fresh analysis)."""

    interview_id: str
    meta: dict[str, Any]
    """Language, competencies, questions, flag thresholds (``InterviewAnalysis``'s meta)."""


@dataclass(frozen=True, slots=True)
class Context:
    interview_id: str
    context: dict[str, Any]
    """Where the interview is: ``{"question_index", "phase"}``."""


@dataclass(frozen=True, slots=True)
class Audio:
    interview_id: str
    t: float
    """Media time of the first sample, seconds."""
    samples: npt.NDArray[np.float32]
    """16 kHz mono in [-1, 1]."""


@dataclass(frozen=True, slots=True)
class Video:
    interview_id: str
    t: float
    """Media time of the frame, seconds."""
    frame: npt.NDArray[np.uint8] | bytes
    """An RGB frame (same machine) or its JPEG bytes (over Redis; decoded in the worker)."""
    pose: bool
    """Whether posture is analysed on this frame."""


@dataclass(frozen=True, slots=True)
class Signal:
    """A browser signal (tab hidden, paste…): evidence for integrity flags."""

    interview_id: str
    kind: str
    t: float
    detail: str


@dataclass(frozen=True, slots=True)
class Close:
    """Finish the interview's analysis (last finals, closing flags) and drop it."""

    interview_id: str


@dataclass(frozen=True, slots=True)
class Degrade:
    """Analyse the interview at this degradation level from now on (the worker's load
    controller decided it: ``analyzers.degrade``)."""

    interview_id: str
    level: int
    """An index of ``analyzers.degrade.LEVELS``; 0 = full analysis."""


@dataclass(frozen=True, slots=True)
class Media:
    """Audio and video of any of the worker's interviews, in the order they were pushed: the
    pool sends media in one queue item per flush (``analyzers.pool.MEDIA_FLUSH_S``)."""

    items: tuple[Audio | Video, ...]


@dataclass(frozen=True, slots=True)
class Stop:
    """Close every interview and end the worker process."""


Work = Open | Context | Audio | Video | Signal | Close
"""What is sent about one interview, in order (also over Redis)."""
Control = Work | Degrade
"""Everything the pool sends about one interview."""
ToWorker = Control | Media | Stop

# -- worker → pool ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    """The models are loaded."""


@dataclass(frozen=True, slots=True)
class Events:
    events: list[dict[str, Any]]
    """Wire dicts of ``analyzers.events`` (``Event.to_wire``), in order."""


@dataclass(frozen=True, slots=True)
class Stats:
    """The worker's load since its previous report."""

    interviews: int
    skipped_frames: int
    """Stale video frames not analysed."""
    busy_s: float
    """CPU time spent on batches."""
    wall_s: float
    asr_cpu_s: float


@dataclass(frozen=True, slots=True)
class Stopped:
    """The worker closed its interviews after :class:`Stop`."""


FromWorker = Ready | Events | Stats | Stopped
