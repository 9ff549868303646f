"""One interview's analysis inside a worker: ASR, vision, delivery, content, flags, scores.

Fed by the worker loop (see ``analyzers.worker``); every method returns wire-ready event
dicts. The interview's questions, language and competency model arrive once in ``meta``;
the current question and phase arrive as ``context`` messages in stream order, so media
before and after a phase change is attributed correctly. Under load the worker's controller
sets a degradation level (:meth:`InterviewAnalysis.set_level`, ``analyzers.degrade``): what
is sampled and whether partials run follow :data:`analyzers.degrade.LEVELS`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzers.content import analyze_answer
from analyzers.degrade import LEVELS, Level, level, new_slot
from analyzers.delivery import DeliveryTracker, rms_dbfs
from analyzers.events import (
    AnalysisDegraded,
    AnalyzerError,
    ContentMetrics,
    DeliveryMetrics,
    Event,
    FaceMetrics,
    TranscriptFinal,
)
from analyzers.flags import FlagThresholds, FlagTracker
from analyzers.scoring import AnswerEvidence, TranscriptSpan, counts_in_scores, score_dimensions
from analyzers.speech.asr import AsrConfig, AsrModels, StreamingTranscriber
from analyzers.speech.asr_models import TRANSCRIPTION_UNAVAILABLE
from analyzers.text import join_texts
from common.text import base_language

GAZE_WINDOW_S = 10.0
POSE_EVERY_S = LEVELS[0].posture_every_s
"""Posture is analysed at 2 fps at full analysis (face at the sampling rate the server sends,
5 fps); degradation levels lower both (``analyzers.degrade``)."""


@dataclass
class _Answer:
    index: int
    question: dict[str, Any]
    start_t: float
    end_t: float | None = None
    finals: list[TranscriptFinal] = field(default_factory=list)
    content: ContentMetrics | None = None
    delivery: DeliveryMetrics | None = None


class InterviewAnalysis:
    def __init__(
        self, interview_id: str, models: AsrModels, asr: AsrConfig, meta: dict[str, Any]
    ) -> None:
        self.interview_id = interview_id
        self.language = str(meta.get("language") or asr.language or "en")
        primary = base_language(self.language) or "en"
        accepted = [base_language(str(lang)) for lang in meta.get("answer_languages") or ()]
        model = models.for_language(primary)
        alternates = {
            lang: found
            for lang in dict.fromkeys(accepted)
            if lang and lang != primary and (found := models.for_language(lang)) is not None
        }
        self.transcribing = model is not None
        """False when no model hears the interview's language: speech is still detected
        (silence flags) but nothing is transcribed or scored from transcripts."""
        self._asr = StreamingTranscriber(
            model, replace(asr, language=primary), interview_id, alternates=alternates
        )
        self._questions: list[dict[str, Any]] = list(meta.get("questions") or [])
        self._competencies = [(str(c), float(w)) for c, w in meta.get("competencies") or []]
        self._flags = FlagTracker(
            interview_id, FlagThresholds(**(meta.get("flag_thresholds") or {}))
        )
        self._delivery = DeliveryTracker()
        self._answers: dict[int, _Answer] = {}
        self._current: _Answer | None = None
        self._t = 0.0
        """Latest media time seen (audio or video)."""
        self._face: Any = None
        self._posture: Any = None
        self._level: Level = LEVELS[0]
        self._face_t: float | None = None
        """Media time of the last face sample (for the slot of a reduced face rate)."""
        self._pose_t: float | None = None
        """Media time of the last posture slot taken."""
        self._face_frames = 0
        """Frames analysed (reported in every face event)."""
        self._pose_samples = 0
        self._gaze: deque[tuple[float, bool, bool]] = deque()
        self._segments_seen = 0

    def opening_events(self) -> list[dict[str, Any]]:
        """What the examiner must know from the start (no model for the language)."""
        if self.transcribing:
            return []
        return [
            AnalyzerError(
                interview_id=self.interview_id,
                t=0.0,
                analyzer="asr",
                message=f"{TRANSCRIPTION_UNAVAILABLE}: no speech model is configured for "
                f"language {base_language(self.language)!r}; transcript-based scores are "
                "not applicable",
                recoverable=False,
            ).to_wire()
        ]

    @property
    def asr_cpu_s(self) -> float:
        return self._asr.cpu_s

    # -- inputs ---------------------------------------------------------------------------

    def push_audio(self, t: float, samples: npt.NDArray[np.float32]) -> list[dict[str, Any]]:
        self._t = max(self._t, t + len(samples) / 16_000)
        self._asr.push(samples, t)
        flags = self._flags.observe_speech(self._t, self._asr.speaking, self._current is not None)
        return [f.to_wire() for f in flags]

    def wants_video(self, t: float) -> bool:
        """Whether a frame at media time ``t`` would be analysed at the current level (the
        worker skips, and does not even decode, the others)."""
        face, pose = self._due(t)
        return face or pose

    def _due(self, t: float) -> tuple[bool, bool]:
        """(face, posture) due on a frame at ``t``: one sample per slot of media time, and
        posture only on a frame whose face is analysed too (so its out-of-frame evidence is
        always checked against the face of the same frame, whatever the face rate)."""
        lv = self._level
        face = lv.face_every_s is None or new_slot(self._face_t, t, lv.face_every_s)
        return face, face and new_slot(self._pose_t, t, lv.posture_every_s)

    def push_video(
        self, t: float, rgb: npt.NDArray[np.uint8], _pose_hint: bool
    ) -> list[dict[str, Any]]:
        from analyzers.vision.face import FaceAnalyzer
        from analyzers.vision.posture import PostureAnalyzer

        self._t = max(self._t, t)
        qi = self._current.index if self._current else None
        face_due, pose_due = self._due(t)
        events: list[Event] = []
        face: FaceMetrics | None = None
        if face_due:
            self._face_t = t
            if self._face is None:
                self._face = FaceAnalyzer(self.interview_id)
            face = self._with_ratios(self._face.analyze(rgb, t, qi))
            events.append(face)
            events += self._flags.observe_face(face)
        if pose_due:
            self._pose_t = t
            if self._level.posture_only_when_face_unclear and not self._flags.posture_decides(t):
                events += self._flags.observe_posture_skipped(t)
            else:
                if self._posture is None:
                    self._posture = PostureAnalyzer(self.interview_id)
                self._pose_samples += 1
                posture = replace(
                    self._posture.analyze(rgb, t, qi, face), samples_analyzed=self._pose_samples
                )
                events.append(posture)
                events += self._flags.observe_posture(posture)
        return [e.to_wire() for e in events]

    def _with_ratios(self, face: FaceMetrics) -> FaceMetrics:
        """Add rolling looking-away and facing-the-screen ratios over the last 10 s of video."""
        window = self._gaze
        window.append((face.t, face.looking_away, face.facing_screen))
        while window and window[0][0] < face.t - GAZE_WINDOW_S:
            window.popleft()
        n = len(window)
        self._face_frames += 1
        facing = round(sum(1 for _, _, facing in window if facing) / n, 3)
        return replace(
            face,
            frames_analyzed=self._face_frames,
            looking_away_ratio=round(sum(1 for _, away, _ in window if away) / n, 3),
            facing_screen_ratio=facing,
            eye_contact_ratio=facing,
            ratio_window_s=round(min(GAZE_WINDOW_S, face.t - window[0][0]), 2),
        )

    def set_context(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        """A phase change: ``{"question_index": int | None, "phase": "answer" | ...}``."""
        events: list[dict[str, Any]] = []
        index = context.get("question_index")
        answering = context.get("phase") == "answer" and isinstance(index, int)
        if self._current is not None and (not answering or index != self._current.index):
            events += self._end_answer()
        if answering and self._current is None and isinstance(index, int):
            question = self._questions[index] if 0 <= index < len(self._questions) else {}
            answer = self._answers.get(index)
            if answer is None:
                answer = _Answer(index, question, self._t)
                self._answers[index] = answer
            answer.end_t = None  # a resumed answer continues
            self._current = answer
            self._asr.question_index = index
            self._flags.question_index = index
            self._delivery.start_answer(index, self._t)
        return events

    def browser_signal(self, kind: str, t: float, detail: str) -> list[dict[str, Any]]:
        return [f.to_wire() for f in self._flags.browser_signal(kind, t or self._t, detail)]

    # -- work -----------------------------------------------------------------------------

    def finals(self) -> list[dict[str, Any]]:
        if not self._asr.has_final_due:
            return []
        events: list[Event] = []
        for final in self._asr.finals():
            assert isinstance(final, TranscriptFinal)
            events.append(final)
            answer = (
                self._answers.get(final.question_index)
                if final.question_index is not None
                else None
            )
            if answer is not None:
                answer.finals.append(final)
                self._delivery.add_final(final)
        events += self._speech_segments()
        if self._current is not None and self.transcribing:
            events += self._answer_metrics(self._current)
        return [e.to_wire() for e in events]

    def partial(self) -> list[dict[str, Any]]:
        """Idle-time transcription: the final of an utterance that may just have ended,
        decoded ahead, else a partial hypothesis (both off when the worker runs hot)."""
        if not self._level.partial_transcripts:
            return []
        return [e.to_wire() for e in self._asr.idle()]

    def set_level(self, n: int) -> list[dict[str, Any]]:
        """Analyse at degradation level ``n`` from now on; an ``analysis_degraded`` event
        when that changes the level."""
        new = level(n)
        if new == self._level:
            return []
        self._level = new
        return [
            AnalysisDegraded(
                interview_id=self.interview_id, t=self._t, level=new.level, reduced=new.reduced
            ).to_wire()
        ]

    def finish(self) -> list[dict[str, Any]]:
        events = self._end_answer()
        events += [f.to_wire() for f in self._flags.close(self._t)]
        events += self.set_level(0)  # its analysis is over: nothing stays reduced
        return events

    def close(self) -> None:
        for analyzer in (self._face, self._posture):
            if analyzer is not None:
                analyzer.close()
        self._face = self._posture = None

    # -- helpers --------------------------------------------------------------------------

    def _speech_segments(self) -> list[Event]:
        for start, end, rms in self._asr.speech_segments[self._segments_seen :]:
            self._delivery.add_speech(start, end, rms_dbfs(np.array([rms], dtype=np.float32)))
        self._segments_seen = len(self._asr.speech_segments)
        return []

    def _end_answer(self) -> list[dict[str, Any]]:
        answer = self._current
        if answer is None:
            return []
        self._asr.flush()
        events = self.finals()
        answer.end_t = self._t
        if self.transcribing:
            events += [e.to_wire() for e in self._answer_metrics(answer)]
        self._current = None
        self._asr.question_index = None
        self._flags.question_index = None
        return events

    def _answer_metrics(self, answer: _Answer) -> list[Event]:
        end_t = answer.end_t if answer.end_t is not None else self._t
        used_s = max(0.0, end_t - answer.start_t)
        transcript = join_texts(f.text for f in answer.finals)
        content = analyze_answer(
            answer.question,
            transcript,
            language=self.language,
            time_used_s=used_s,
            interview_id=self.interview_id,
            t=end_t,
            question_index=answer.index,
        )
        answer.content = content
        events: list[Event] = [content]
        if answer is self._current:  # the tracker holds the answer being given
            answer.delivery = self._delivery.metrics(self.interview_id, end_t, answer.index)
        if answer.delivery is not None:
            events.append(answer.delivery)
        events += score_dimensions(self._evidence(), self._competencies, self.interview_id, end_t)
        return events

    def _evidence(self) -> list[AnswerEvidence]:
        out = []
        for answer in self._answers.values():
            if answer.content is None or not counts_in_scores(answer.question):
                continue
            spans = tuple(_spans(answer))
            end_t = answer.end_t if answer.end_t is not None else self._t
            out.append(
                AnswerEvidence(
                    question_index=answer.index,
                    competencies=tuple(answer.question.get("competencies") or ()),
                    content=answer.content,
                    delivery=answer.delivery,
                    duration_s=max(0.0, end_t - answer.start_t),
                    time_limit_s=float(answer.question.get("answer_s") or 0.0),
                    spans=spans,
                )
            )
        return out


def _spans(answer: _Answer) -> list[TranscriptSpan]:
    """Where in the transcript each matched rubric keyword was said."""
    assert answer.content is not None
    spans = []
    for point, phrase in answer.content.matches:
        needle = phrase.lower()
        for final in answer.finals:
            if needle in final.text.lower():
                word = next((w for w in final.words if needle.split()[0] in w.text.lower()), None)
                start = word.start_s if word else final.start_s
                end = word.end_s if word else final.end_s
                spans.append(TranscriptSpan(phrase, final.text[:160], start, end, point))
                break
    return spans
