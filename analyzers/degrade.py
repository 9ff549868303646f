"""Graceful degradation: an overloaded analyzer worker lowers the quality of live analysis in a
stated order, says so on every affected interview's live topic, and restores it when the load
falls. Admission control (``server.live.nodes``) refuses new sessions only beyond this.

Levels, cumulative (every interview pinned to a worker runs at its worker's level; the
pipeline reads :data:`LEVELS`, nothing else decides what a level means):

=====  ========  ======================  =======  =========================================
level  partials  posture                 face     what the examiner loses
=====  ========  ======================  =======  =========================================
0      on        2 fps                   5 fps    nothing: full analysis
1      off       2 fps                   5 fps    words appearing while the candidate speaks
                                                  (the transcript comes sentence by sentence;
                                                  finals unchanged)
2      off       1 fps                   5 fps    posture metrics half as often
3      off       1 fps                   2.5 fps  face and gaze metrics half as often; flag
                                                  times known to 0.4 s instead of 0.2 s
4      off       1 fps, only while the   2.5 fps  posture metrics while the face is plainly
                 face is missing or at            in frame (flags as at level 3, see below)
                 the frame edge
=====  ========  ======================  =======  =========================================

("partials": partial transcripts, and finals decoded ahead of their utterance's end, which
only make finals sooner; 5 fps is every frame ``media.fanout`` samples.)

Never reduced at any level: final transcripts (and what is computed from them: delivery and
content metrics, score suggestions), recordings, browser signals and the flags' rules and
thresholds. Flags see the level's samples, so their times are known to a sample (0.4 s for
face-based ones from level 3, 1 s for ``out_of_frame`` from level 2) and a condition lasting
within one sample of its threshold may go unflagged; posture is only ever sampled on a frame
whose face is analysed too, so ``out_of_frame`` is always checked against the face of the same
frame. Level 4 keeps exactly level 3's flags: posture only ever raises ``out_of_frame`` when
the face sample saw no face or a face at the frame edge, so a posture sample skipped while the
face is plainly in frame is recorded as the "not out of frame" evidence it would have given
(:meth:`analyzers.flags.FlagTracker.posture_decides`; ``tests/test_degrade.py`` plays the same
video at levels 0, 3 and 4 and gets the same flags).

Where frames are dropped: ``media.fanout`` keeps sampling (and downscaling) at 5 fps: in a
cluster the controller runs on the analyzer node, far from the media node's fan-out, and
downscaling is ≈ 0.4 % of a core per candidate against ≈ 3 % for analysing a frame
(docs/bench/profile-8c-before.md). From level 3 the pool sends a worker only the frames that
start a face slot (:func:`new_slot`), so half of them no longer cross the process boundary;
the worker skips, before decoding them when they came as JPEG, the frames its level does not
analyse. Handing frames over is worth saving: in a 16-candidate load test on the 2-core
development machine (load generator on the same cores), before the pool dropped any, the
workers' busy ratios were 0.2–0.5 while their input queues were full, so the media process
handing frames over, not the analysis, was the limit there.

The rule, per worker, evaluated on each of its load reports (``analyzers.worker`` sends one
every ``STATS_EVERY_S`` = 2 s):

* **hot**: busy ratio ≥ :data:`BUSY_HOT_RATIO` (CPU seconds per wall second over the report's
  period), or ≥ :data:`BACKLOG_HOT_S` seconds of input waiting in its queue, or at least
  :data:`SKIPPED_HOT_SHARE` of the period's frames skipped as stale (the worker was more than
  1 s behind);
* **cool**: busy ratio ≤ :data:`BUSY_COOL_RATIO`, backlog ≤ :data:`BACKLOG_COOL_S` and no
  frame skipped; anything in between holds the level;
* one level **up** once it has been hot for :data:`STEP_UP_AFTER_S` at the current level;
  one level **down** once it has been cool for the current step-down wait at the current
  level (:data:`STEP_DOWN_AFTER_S`). Reports whose period began before the last change are
  not counted: each level is judged on its own load.
* **rebound**: stepping up again within :data:`REBOUND_WINDOW_S` of stepping down doubles
  the step-down wait (up to :data:`STEP_DOWN_AFTER_MAX_S`), so a load that sits on a level's
  edge does not flap; a step up that is not a rebound resets it.
* a worker with no interview goes back to level 0 at once.

The controller is a pure state machine over explicit timestamps (no clock, no I/O):
``analyzers.pool`` feeds it and sends the result to the worker as
:class:`analyzers.messages.Degrade` messages, one per interview.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BUSY_HOT_RATIO = 0.85
"""Busy ratio (CPU s / wall s of the report's period) at or above which a worker is hot."""
BUSY_COOL_RATIO = 0.6
"""Busy ratio at or below which a worker is cool (with no backlog and no skipped frame)."""
BACKLOG_HOT_S = 1.0
"""Seconds of input (at the rate it arrives) waiting in the worker's queue: hot at or above
this (frames this far behind would be skipped as stale anyway)."""
BACKLOG_COOL_S = 0.3
"""Seconds of input waiting at or below which the backlog counts as cool."""
SKIPPED_HOT_SHARE = 0.1
"""Share of the frames sent in a period that the worker skipped as stale, at or above which
it is hot: 4.5 of 5 fps is the load test's real-time face rate. One stale frame now and then
(a long final transcript) is not heat; any at all rules out cool."""
STEP_UP_AFTER_S = 2.0
"""Hot this long at the current level → one level up."""
STEP_DOWN_AFTER_S = 10.0
"""Cool this long at the current level → one level down (the wait before any rebound)."""
STEP_DOWN_AFTER_MAX_S = 80.0
"""The step-down wait doubles on each rebound up to this."""
REBOUND_WINDOW_S = 30.0
"""A step up this soon after a step down is a rebound."""
_SLOT_EPS = 1e-6
"""Slack, in slots, when a media time is assigned to its sampling slot."""
_PERIOD_SLACK_S = 0.25
"""A report's period may start this much before the change it follows and still count
(the worker's clock and the pool's differ by the queue's delay)."""


@dataclass(frozen=True, slots=True)
class Level:
    """What one degradation level analyses (see the table in the module docstring)."""

    level: int
    partial_transcripts: bool
    """Partial hypotheses computed while the candidate speaks."""
    posture_every_s: float
    """One posture sample per slot of this many seconds of media time."""
    face_every_s: float | None
    """One face sample per slot of this many seconds; None: every frame sent (5 fps)."""
    posture_only_when_face_unclear: bool
    """Posture only while the face is missing or at the frame edge (see the docstring)."""
    reduced: tuple[str, ...]
    """What is reduced compared with level 0 (names for machines; the event carries them)."""
    meaning: str


LEVELS: tuple[Level, ...] = (
    Level(0, True, 0.5, None, False, (), "full analysis"),
    Level(1, False, 0.5, None, False, ("partial_transcripts",), "partial transcripts off"),
    Level(
        2,
        False,
        1.0,
        None,
        False,
        ("partial_transcripts", "posture_rate"),
        "partial transcripts off, posture at 1 fps",
    ),
    Level(
        3,
        False,
        1.0,
        0.4,
        False,
        ("partial_transcripts", "posture_rate", "face_rate"),
        "partial transcripts off, posture at 1 fps, face at 2.5 fps",
    ),
    Level(
        4,
        False,
        1.0,
        0.4,
        True,
        ("partial_transcripts", "posture_rate", "face_rate", "posture_when_face_in_frame"),
        "partial transcripts off, face at 2.5 fps, posture at 1 fps only while the face is "
        "missing or at the frame edge",
    ),
)
MAX_LEVEL = LEVELS[-1].level


def level(n: int) -> Level:
    """The level ``n``, clamped to the table."""
    return LEVELS[min(max(n, 0), MAX_LEVEL)]


def new_slot(last_t: float | None, t: float, every_s: float) -> bool:
    """Whether media time ``t`` falls in another ``every_s`` slot than ``last_t`` (None: no
    sample yet). One sample per slot is how every reduced rate is taken; a time within a
    millionth of a slot of its start counts as in it (frame times are sums of floats)."""
    if last_t is None:
        return True
    return math.floor(t / every_s + _SLOT_EPS) != math.floor(last_t / every_s + _SLOT_EPS)


@dataclass(frozen=True, slots=True)
class Load:
    """One load report of a worker."""

    t_s: float
    """When the report's period ended (monotonic seconds, the controller's clock)."""
    period_s: float
    """How long the period was."""
    busy_ratio: float
    backlog_s: float
    """Input waiting in the worker's queue, in seconds of its arrival rate."""
    skipped_frames: int
    """Stale frames the worker skipped in the period."""
    frames: int
    """Frames sent to the worker in the period."""

    @property
    def hot(self) -> bool:
        skipping = (
            self.skipped_frames > 0 and self.skipped_frames >= SKIPPED_HOT_SHARE * self.frames
        )
        return self.busy_ratio >= BUSY_HOT_RATIO or self.backlog_s >= BACKLOG_HOT_S or skipping

    @property
    def cool(self) -> bool:
        return (
            self.busy_ratio <= BUSY_COOL_RATIO
            and self.backlog_s <= BACKLOG_COOL_S
            and self.skipped_frames == 0
        )


class DegradeController:
    """One worker's level, from its load reports (the rule in the module docstring)."""

    def __init__(self) -> None:
        self.level = 0
        self.highest = 0
        """The highest level reached since start (for reports)."""
        self.changes = 0
        self._changed_at: float | None = None
        self._hot_since: float | None = None
        self._cool_since: float | None = None
        self._down_wait_s = STEP_DOWN_AFTER_S
        self._last_down_at: float | None = None

    def observe(self, load: Load) -> int | None:
        """Take one report; the new level when it changes, else None."""
        start = load.t_s - max(load.period_s, 0.0)
        if self._changed_at is not None and start < self._changed_at - _PERIOD_SLACK_S:
            return None  # the period mixes the previous level's load
        if load.hot:
            self._cool_since = None
            self._hot_since = start if self._hot_since is None else self._hot_since
            if self.level < MAX_LEVEL and load.t_s - self._hot_since >= STEP_UP_AFTER_S:
                rebound = (
                    self._last_down_at is not None
                    and load.t_s - self._last_down_at <= REBOUND_WINDOW_S
                )
                self._down_wait_s = (
                    min(2 * self._down_wait_s, STEP_DOWN_AFTER_MAX_S)
                    if rebound
                    else STEP_DOWN_AFTER_S
                )
                return self._change(self.level + 1, load.t_s)
        elif load.cool:
            self._hot_since = None
            self._cool_since = start if self._cool_since is None else self._cool_since
            if self.level > 0 and load.t_s - self._cool_since >= self._down_wait_s:
                self._last_down_at = load.t_s
                return self._change(self.level - 1, load.t_s)
        else:
            self._hot_since = self._cool_since = None
        return None

    def reset(self, t_s: float) -> int | None:
        """No interview left on the worker: level 0 at once (None if it already was)."""
        self._hot_since = self._cool_since = None
        self._down_wait_s = STEP_DOWN_AFTER_S
        self._last_down_at = None
        return self._change(0, t_s) if self.level else None

    def _change(self, new: int, t_s: float) -> int:
        self.level = new
        self.highest = max(self.highest, new)
        self.changes += 1
        self._changed_at = t_s
        self._hot_since = self._cool_since = None
        return new
