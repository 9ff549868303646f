"""Typed, versioned events that cross process and network boundaries.

Every event carries the interview id, a media time in seconds (from RTP/pts, not the wall
clock) and a per-interview sequence number (set by the publisher) so a dashboard can detect
gaps and resynchronise. ``to_wire`` gives a plain dict for msgpack (bus) or JSON (sockets).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

WIRE_VERSION = 1


class EventType(enum.StrEnum):
    TRANSCRIPT_PARTIAL = "transcript_partial"
    TRANSCRIPT_FINAL = "transcript_final"
    FACE_METRICS = "face_metrics"
    POSTURE_METRICS = "posture_metrics"
    DELIVERY_METRICS = "delivery_metrics"
    CONTENT_METRICS = "content_metrics"
    SCORE_UPDATE = "score_update"
    FLAG = "flag"
    ANALYZER_ERROR = "analyzer_error"
    ANALYSIS_DEGRADED = "analysis_degraded"


class FlagType(enum.StrEnum):
    FACE_MISSING = "face_missing"
    EXTRA_PERSON = "extra_person"
    LOOKING_AWAY = "looking_away"
    OUT_OF_FRAME = "out_of_frame"
    LONG_SILENCE = "long_silence"
    TAB_HIDDEN = "tab_hidden"
    PASTE = "paste"


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float
    """Media time of the word's start (seconds, same clock as the event's ``t``)."""
    end_s: float
    probability: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Common fields. Subclasses set ``TYPE``."""

    TYPE: ClassVar[EventType]
    interview_id: str
    t: float
    """Media time in seconds the event refers to (its end, for spans)."""
    question_index: int | None = None
    """The question being answered when the evidence was produced, if any."""
    seq: int = 0
    """Per-interview sequence number, assigned when published (0 = not yet)."""

    def to_wire(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.TYPE.value
        data["v"] = WIRE_VERSION
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptPartial(Event):
    TYPE: ClassVar[EventType] = EventType.TRANSCRIPT_PARTIAL
    utterance_id: int
    stable: str
    """Prefix two consecutive passes agreed on (will not change)."""
    unstable: str
    """The rest of the latest hypothesis (may still change)."""
    start_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptFinal(Event):
    TYPE: ClassVar[EventType] = EventType.TRANSCRIPT_FINAL
    utterance_id: int
    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()
    language: str = "en"
    latency_s: float = 0.0
    """Wall-clock seconds from the utterance's end being detected to this final."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceMetrics(Event):
    TYPE: ClassVar[EventType] = EventType.FACE_METRICS
    faces: int
    """Faces found in the frame."""
    yaw_deg: float | None = None
    """Head pose relative to the face-to-camera ray (positive: toward the image's right)."""
    pitch_deg: float | None = None
    """Positive: the face points up."""
    looking_away: bool = False
    """The head turned far from the candidate's neutral pose (see ``neutral_*``)."""
    facing_screen: bool = False
    """The head within a few degrees of the candidate's neutral pose: facing their screen
    (not eye contact: the camera sits above or below the screen)."""
    eye_contact: bool = False
    """Deprecated: the same as ``facing_screen`` (its former name)."""
    neutral_yaw_deg: float | None = None
    neutral_pitch_deg: float | None = None
    """The candidate's neutral head pose (looking at their screen), from the first seconds."""
    center_x: float | None = None
    """Face centre in the frame, 0..1 (None when no face)."""
    center_y: float | None = None
    size: float | None = None
    """Face box height relative to the frame height."""
    looking_away_ratio: float | None = None
    """Share of the last ``ratio_window_s`` (media time) spent looking away, 0..1."""
    facing_screen_ratio: float | None = None
    """Share of the last ``ratio_window_s`` facing the screen, 0..1."""
    eye_contact_ratio: float | None = None
    """Deprecated: the same as ``facing_screen_ratio``."""
    ratio_window_s: float = 0.0
    frames_analyzed: int = 0
    """Frames of this interview analysed so far: dashboards keep only the latest face event
    (latest wins), so this is how a reader knows how many were analysed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PostureMetrics(Event):
    TYPE: ClassVar[EventType] = EventType.POSTURE_METRICS
    in_frame: bool
    shoulders_level_deg: float | None = None
    """Shoulder line tilt in degrees (0 = level)."""
    lean: float | None = None
    """Signed horizontal offset of the head from the shoulder midpoint, in shoulder widths."""
    movement: float | None = None
    """Mean landmark displacement since the previous sample, in shoulder widths."""
    samples_analyzed: int = 0
    """Posture samples of this interview analysed so far (see ``FaceMetrics.frames_analyzed``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryMetrics(Event):
    TYPE: ClassVar[EventType] = EventType.DELIVERY_METRICS
    speaking_rate: float
    """Words per minute (characters per minute for Chinese)."""
    rate_unit: str
    pause_ratio: float
    long_pauses: int
    fillers: int
    filler_ratio: float
    loudness_dbfs: float | None
    speech_s: float
    window_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentMetrics(Event):
    TYPE: ClassVar[EventType] = EventType.CONTENT_METRICS
    coverage: float
    """Share of the question's rubric key points the answer covers, 0..1."""
    covered: tuple[int, ...]
    """Indices of the rubric points found."""
    matches: tuple[tuple[int, str], ...]
    """(rubric point index, matched keyword) evidence."""
    structure: tuple[str, ...]
    """Structure markers found: situation, task, action, result, first/second..."""
    words: int
    time_used_s: float
    time_limit_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    kind: str
    """"transcript", "written" (quoted from a written answer), "metric" or "flag"."""
    detail: str
    start_s: float | None = None
    end_s: float | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreUpdate(Event):
    TYPE: ClassVar[EventType] = EventType.SCORE_UPDATE
    dimension: str
    value: float
    """0..10, a suggestion for the human examiner."""
    reason: str
    evidence: tuple[Evidence, ...] = ()
    suggestion: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag(Event):
    TYPE: ClassVar[EventType] = EventType.FLAG
    flag: FlagType
    start_s: float
    end_s: float | None
    """None while the condition still holds."""
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyzerError(Event):
    TYPE: ClassVar[EventType] = EventType.ANALYZER_ERROR
    analyzer: str
    message: str
    recoverable: bool = True
    gap_s: float = 0.0
    """Media seconds not analysed because of the error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisDegraded(Event):
    """The interview's live analysis changed level because of its analyzer's load
    (``analyzers.degrade``); sent on every change, level 0 when full analysis is back. Final
    transcripts, recordings and flags are never reduced."""

    TYPE: ClassVar[EventType] = EventType.ANALYSIS_DEGRADED
    level: int
    """0 = full analysis; higher = more reduced (``analyzers.degrade.LEVELS``)."""
    reduced: tuple[str, ...] = ()
    """What is reduced, cumulative: ``partial_transcripts``, ``posture_rate``, ``face_rate``,
    ``posture_when_face_in_frame``."""
    reason: str = "server_load"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE.value: cls
    for cls in (
        TranscriptPartial,
        TranscriptFinal,
        FaceMetrics,
        PostureMetrics,
        DeliveryMetrics,
        ContentMetrics,
        ScoreUpdate,
        Flag,
        AnalyzerError,
        AnalysisDegraded,
    )
}


def from_wire(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_wire` output (ValueError on bad input)."""
    if not isinstance(data, dict) or data.get("v") != WIRE_VERSION:
        raise ValueError("not a version-1 event")
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if cls is TranscriptFinal and "words" in kwargs:
        kwargs["words"] = tuple(Word(**w) for w in kwargs["words"])
    if "evidence" in kwargs:
        kwargs["evidence"] = tuple(Evidence(**e) for e in kwargs["evidence"])
    if cls is Flag:
        kwargs["flag"] = FlagType(kwargs["flag"])
    for key in ("covered", "structure", "reduced"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    if "matches" in kwargs:
        kwargs["matches"] = tuple(tuple(m) for m in kwargs["matches"])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {cls.__name__}: {exc}") from None
