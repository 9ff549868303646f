"""Integrity flags with debouncing: face missing, extra person, looking away, out of frame,
long silence while answering, and browser signals (tab hidden / blur / fullscreen exit, paste).

Pure state machine, no I/O. Feed one :class:`FlagTracker` per interview, each stream in
media-time order (samples older than the stream's previous one are ignored). Every call returns
the flags it produced:

* A condition must hold continuously for its threshold before a flag *starts*; the flag is
  emitted with ``start_s`` = when the condition began and ``end_s=None``.
* When the condition stops, the same flag (same type and ``start_s``) is emitted again with
  ``end_s`` set. Consumers match the two by ``(flag, start_s)``.
* Hysteresis: contrary evidence lasting up to ``glitch_s`` (one missed detection) does not
  split a condition; it ends at the first contrary sample only once the contrary evidence has
  lasted longer than that.
* A gap in a stream longer than ``max_gap_s`` is "no evidence", not evidence: a condition does
  not survive it (an open flag ends at the last sample seen before the gap).
* ``looking_away`` is windowed: it starts when looking-away time within the last
  ``looking_away_window_s`` totals at least ``looking_away_min_s`` (a sample lasts until the
  next one, at most ``max_sample_s``), so thinking glances never flag. It ends once the
  candidate has looked back for ``looking_back_s``; counting then starts afresh.

Flags are reported to the examiner; they never change competency scores.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from analyzers.events import Evidence, FaceMetrics, Flag, FlagType, PostureMetrics

GLITCH_S = 0.5
"""Contrary evidence up to this long (seconds) does not split a condition."""
MAX_SAMPLE_S = 1.0
"""A face sample counts as lasting until the next one, but at most this long (seconds)."""
MAX_GAP_S = 2.0
"""A stream silent for longer than this (seconds) breaks any running condition."""
LOOKING_BACK_S = 2.0
"""An open looking-away flag ends after the candidate looks back this long (seconds)."""
FACE_EDGE_MARGIN = 0.1
"""A face centre within this share of the frame size from an edge counts as "at the edge"."""
FACE_STALE_S = 1.0
"""Face metrics older than this (seconds) are not used to corroborate out-of-frame posture."""
_EPS_S = 1e-6
"""Tolerance for float comparisons of media times (seconds)."""

BROWSER_SIGNALS: frozenset[str] = frozenset(
    {"tab_hidden", "tab_visible", "blur", "focus", "fullscreen_exit", "fullscreen_enter", "paste"}
)
"""Kinds :meth:`FlagTracker.browser_signal` accepts."""

_BROWSER_PAIRS: dict[str, tuple[str, bool]] = {
    # kind -> (open-state key, True = starts the flag)
    "tab_hidden": ("tab_hidden", True),
    "tab_visible": ("tab_hidden", False),
    "blur": ("blur", True),
    "focus": ("blur", False),
    "fullscreen_exit": ("fullscreen_exit", True),
    "fullscreen_enter": ("fullscreen_exit", False),
}
_BROWSER_DETAIL: dict[str, str] = {
    "tab_hidden": "tab hidden",
    "blur": "window lost focus (blur)",
    "fullscreen_exit": "left fullscreen",
}


@dataclass(frozen=True, slots=True)
class FlagThresholds:
    """How long (seconds) each condition must hold before it is flagged."""

    face_missing_s: float = 3.0
    extra_person_s: float = 2.0
    looking_away_window_s: float = 10.0
    looking_away_min_s: float = 5.0
    """Looking-away time within the window that starts the flag."""
    out_of_frame_s: float = 3.0
    long_silence_s: float = 20.0
    """Silence during an answer phase only."""
    glitch_s: float = GLITCH_S
    """Hysteresis: contrary evidence up to this long does not split a condition."""
    max_sample_s: float = MAX_SAMPLE_S
    """Longest duration one face sample counts for (looking-away window)."""
    max_gap_s: float = MAX_GAP_S
    """A stream silent for longer than this breaks any running condition."""
    looking_back_s: float = LOOKING_BACK_S
    """Looking back this long ends an open looking-away flag."""


@dataclass(slots=True)
class _Transition:
    """A debounced condition started (``end_s`` None) or ended."""

    start_s: float
    end_s: float | None
    held_s: float
    """How long the condition had held when the transition was detected."""


class _Debounced:
    """One condition with an onset threshold and glitch hysteresis."""

    def __init__(self, threshold_s: float, glitch_s: float, max_gap_s: float) -> None:
        self._threshold_s = threshold_s
        self._glitch_s = glitch_s
        self._max_gap_s = max_gap_s
        self._begin: float | None = None
        """When the current run of the condition began."""
        self._last_true: float = 0.0
        self._contrary_since: float | None = None
        self._last_t: float | None = None
        self.active = False

    @property
    def start_s(self) -> float | None:
        return self._begin

    def update(self, t: float, holds: bool, *, hard: bool = False) -> list[_Transition]:
        """Observe the condition at ``t``; ``hard`` contrary evidence ends it at once."""
        out: list[_Transition] = []
        if self._last_t is not None:
            if t < self._last_t:
                return out  # out of order
            if t - self._last_t > self._max_gap_s + _EPS_S:
                out += self.close(self._last_t)
        self._last_t = t
        if holds:
            if self._begin is None:
                self._begin = t
            self._last_true = t
            self._contrary_since = None
            held = t - self._begin
            if not self.active and held >= self._threshold_s - _EPS_S:
                self.active = True
                out.append(_Transition(self._begin, None, held))
        elif self._begin is not None:
            if self._contrary_since is None:
                self._contrary_since = t
            if hard or t - self._contrary_since > self._glitch_s + _EPS_S:
                out += self._end(self._contrary_since)
        return out

    def close(self, t: float) -> list[_Transition]:
        """End the condition at ``t`` (or at the pending contrary sample, if any)."""
        end = self._contrary_since if self._contrary_since is not None else t
        return self._end(end)

    def _end(self, end_s: float) -> list[_Transition]:
        begin, active = self._begin, self.active
        self._begin = None
        self._contrary_since = None
        self.active = False
        if begin is None or not active:
            return []
        return [_Transition(begin, max(end_s, begin), self._last_true - begin)]


class _LookingAway:
    """Windowed looking-away detector (see the module docstring)."""

    def __init__(self, th: FlagThresholds) -> None:
        self._th = th
        self._spans: deque[tuple[float, float]] = deque()
        """Looking-away spans (start_s, end_s) not yet out of the window."""
        self._prev: tuple[float, bool] | None = None
        self._back_since: float | None = None
        self.active_start: float | None = None
        self.total_s = 0.0

    def update(self, t: float, away: bool) -> _Transition | None:
        th = self._th
        if self._prev is not None:
            prev_t, prev_away = self._prev
            if t < prev_t:
                return None  # out of order
            if prev_away:
                self._spans.append((prev_t, prev_t + min(t - prev_t, th.max_sample_s)))
        self._prev = (t, away)
        window_start = t - th.looking_away_window_s
        while self._spans and self._spans[0][1] <= window_start:
            self._spans.popleft()
        self.total_s = sum(e - max(s, window_start) for s, e in self._spans)
        if self.active_start is None:
            if self.total_s >= th.looking_away_min_s - _EPS_S:
                self.active_start = max(self._spans[0][0], window_start)
                self._back_since = None
                return _Transition(self.active_start, None, self.total_s)
            return None
        if away:
            self._back_since = None
            return None
        if self._back_since is None:
            self._back_since = t
        if t - self._back_since >= th.looking_back_s - _EPS_S:
            return self._end(self._back_since)
        return None

    def close(self, t: float) -> _Transition | None:
        return self._end(self._back_since if self._back_since is not None else t)

    def _end(self, end_s: float) -> _Transition | None:
        start = self.active_start
        self.active_start = None
        self._back_since = None
        self._spans.clear()  # counting starts afresh after a flag
        if start is None:
            return None
        return _Transition(start, max(end_s, start), self.total_s)


class FlagTracker:
    """Debounced integrity flags for one interview.

    ``question_index`` may be set by the caller; flags carry the value current when emitted.
    A flag's ``t`` is the detection time for a start and ``end_s`` for an end. After
    :meth:`close`, every method returns ``[]``.
    """

    def __init__(self, interview_id: str, thresholds: FlagThresholds | None = None) -> None:
        th = thresholds or FlagThresholds()
        self.interview_id = interview_id
        self.thresholds = th
        self.question_index: int | None = None
        self._face_missing = _Debounced(th.face_missing_s, th.glitch_s, th.max_gap_s)
        self._extra_person = _Debounced(th.extra_person_s, th.glitch_s, th.max_gap_s)
        self._out_of_frame = _Debounced(th.out_of_frame_s, th.glitch_s, th.max_gap_s)
        self._silence = _Debounced(th.long_silence_s, th.glitch_s, th.max_gap_s)
        self._looking = _LookingAway(th)
        self._max_faces = 0
        """Most faces seen during the current extra-person run."""
        self._last_face: FaceMetrics | None = None
        self._browser_open: dict[str, float] = {}
        """Open browser flags: state key -> start_s."""
        self._closed = False

    # -- observations -------------------------------------------------------------------------

    def observe_face(self, m: FaceMetrics) -> list[Flag]:
        """One face-analysis sample: face_missing, extra_person, looking_away."""
        if self._closed:
            return []
        self._last_face = m
        out = [
            self._flag(FlagType.FACE_MISSING, tr, m.t, f"0 faces for {tr.held_s:.1f} s")
            for tr in self._face_missing.update(m.t, m.faces == 0)
        ]
        if self._extra_person.start_s is None:
            self._max_faces = 0
        if m.faces >= 2:
            self._max_faces = max(self._max_faces, m.faces)
        for tr in self._extra_person.update(m.t, m.faces >= 2):
            detail = f"up to {self._max_faces} faces for {tr.held_s:.1f} s"
            out.append(self._flag(FlagType.EXTRA_PERSON, tr, m.t, detail))
        glance = self._looking.update(m.t, m.faces >= 1 and m.looking_away)
        if glance is not None:
            out.append(self._looking_flag(glance, m.t))
        return out

    def observe_posture(self, m: PostureMetrics) -> list[Flag]:
        """One posture sample: out_of_frame, corroborated by the latest face sample if recent
        (face missing or at the frame edge); without recent face data posture alone decides."""
        return self._observe_out_of_frame(m.t, not m.in_frame and self.posture_decides(m.t))

    def posture_decides(self, t: float) -> bool:
        """Whether a posture sample at ``t`` could show the candidate out of frame: not when
        the latest face sample (at most ``FACE_STALE_S`` away) saw a face away from the frame
        edges, which rules it out whatever posture says."""
        face = self._last_face
        if face is None or abs(t - face.t) > FACE_STALE_S:
            return True
        return face.faces == 0 or _at_edge(face)

    def observe_posture_skipped(self, t: float) -> list[Flag]:
        """A posture sample at ``t`` left unanalysed because :meth:`posture_decides` said it
        could not matter: the same "not out of frame" evidence an analysed sample gives."""
        return self._observe_out_of_frame(t, False)

    def _observe_out_of_frame(self, t: float, holds: bool) -> list[Flag]:
        if self._closed:
            return []
        return [
            self._flag(FlagType.OUT_OF_FRAME, tr, t, f"out of frame for {tr.held_s:.1f} s")
            for tr in self._out_of_frame.update(t, holds)
        ]

    def observe_speech(self, t: float, speaking: bool, answering: bool) -> list[Flag]:
        """Voice activity at ``t``; silence counts only while ``answering`` (leaving the
        answer phase ends a long_silence flag at once)."""
        if self._closed:
            return []
        return [
            self._flag(
                FlagType.LONG_SILENCE, tr, t, f"silent for {tr.held_s:.1f} s while answering"
            )
            for tr in self._silence.update(t, answering and not speaking, hard=not answering)
        ]

    def browser_signal(self, kind: str, t: float, detail: str = "") -> list[Flag]:
        """A browser event (see :data:`BROWSER_SIGNALS`; ValueError for other kinds).

        tab_hidden/blur/fullscreen_exit start a ``tab_hidden`` flag that the matching
        tab_visible/focus/fullscreen_enter ends; ``paste`` (``detail`` = pasted length) is an
        instant flag (start = end). Repeated starts or unmatched ends produce nothing.
        """
        if kind not in BROWSER_SIGNALS:
            raise ValueError(f"unknown browser signal {kind!r}")
        if self._closed:
            return []
        if kind == "paste":
            length = _parse_length(detail)
            text = f"pasted {length} characters" if length is not None else f"paste {detail}"
            ev = Evidence(
                kind="metric",
                detail=text.strip(),
                start_s=t,
                end_s=t,
                value=None if length is None else float(length),
            )
            return [self._make(FlagType.PASTE, t, t, t, (ev,))]
        key, starts = _BROWSER_PAIRS[kind]
        if starts:
            if key in self._browser_open:
                return []
            self._browser_open[key] = t
            ev = Evidence(kind="metric", detail=_browser_detail(key, detail), start_s=t)
            return [self._make(FlagType.TAB_HIDDEN, t, t, None, (ev,))]
        start = self._browser_open.pop(key, None)
        if start is None:
            return []
        return [self._end_browser(key, start, max(t, start), detail)]

    def close(self, t: float) -> list[Flag]:
        """End every open flag at ``t`` (the end of the interview); idempotent."""
        if self._closed:
            return []
        self._closed = True
        out: list[Flag] = []
        for ftype, cond, what in (
            (FlagType.FACE_MISSING, self._face_missing, "0 faces"),
            (FlagType.EXTRA_PERSON, self._extra_person, f"up to {self._max_faces} faces"),
            (FlagType.OUT_OF_FRAME, self._out_of_frame, "out of frame"),
            (FlagType.LONG_SILENCE, self._silence, "silent while answering"),
        ):
            for tr in cond.close(t):
                out.append(self._flag(ftype, tr, t, f"{what} for {tr.held_s:.1f} s"))
        glance = self._looking.close(t)
        if glance is not None:
            out.append(self._looking_flag(glance, t))
        for key, start in sorted(self._browser_open.items(), key=lambda kv: kv[1]):
            out.append(self._end_browser(key, start, max(t, start), "interview ended"))
        self._browser_open.clear()
        return out

    # -- helpers ------------------------------------------------------------------------------

    def _flag(self, ftype: FlagType, tr: _Transition, now: float, detail: str) -> Flag:
        """A start (``end_s`` None) or end flag; evidence value = seconds the condition held."""
        end = tr.end_s
        ev = Evidence(
            kind="metric",
            detail=detail,
            start_s=tr.start_s,
            end_s=end if end is not None else now,
            value=round(tr.held_s, 3),
        )
        return self._make(ftype, now if end is None else end, tr.start_s, end, (ev,))

    def _looking_flag(self, tr: _Transition, now: float) -> Flag:
        if tr.end_s is None:
            window = self.thresholds.looking_away_window_s
            detail = f"looking away {tr.held_s:.1f} s of the last {window:g} s"
        else:
            detail = f"looking away from {tr.start_s:.1f} s to {tr.end_s:.1f} s"
        return self._flag(FlagType.LOOKING_AWAY, tr, now, detail)

    def _end_browser(self, key: str, start: float, end: float, detail: str) -> Flag:
        text = f"{_browser_detail(key, '')} for {end - start:.1f} s"
        if detail:
            text += f" ({detail})"
        ev = Evidence(kind="metric", detail=text, start_s=start, end_s=end, value=end - start)
        return self._make(FlagType.TAB_HIDDEN, end, start, end, (ev,))

    def _make(
        self,
        ftype: FlagType,
        t: float,
        start_s: float,
        end_s: float | None,
        evidence: tuple[Evidence, ...],
    ) -> Flag:
        return Flag(
            interview_id=self.interview_id,
            t=float(t),
            question_index=self.question_index,
            flag=ftype,
            start_s=start_s,
            end_s=end_s,
            evidence=evidence,
        )


def _at_edge(face: FaceMetrics) -> bool:
    for c in (face.center_x, face.center_y):
        if c is not None and (c < FACE_EDGE_MARGIN or c > 1.0 - FACE_EDGE_MARGIN):
            return True
    return False


def _browser_detail(key: str, detail: str) -> str:
    base = _BROWSER_DETAIL[key]
    return f"{base}: {detail}" if detail else base


def _parse_length(detail: str) -> int | None:
    try:
        return max(0, int(detail.strip()))
    except ValueError:
        return None
