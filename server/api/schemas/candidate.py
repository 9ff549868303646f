"""What the candidate's page sends: consent, device check, WebRTC offer."""

from __future__ import annotations

from typing import Any, Literal

from server.api.schemas.common import Model, Out


class ConsentIn(Model):
    """Separate consents to recording and to automated analysis (a person always decides)."""

    decision: Literal["accept", "decline"]
    mode: Literal["video", "audio", "text"] = "video"
    recording: bool
    analysis: bool
    text_version: str | None = None


class DeviceCheckIn(Model):
    camera: bool
    microphone: bool
    webrtc: bool
    rtt_ms: float | None = None
    upload_kbps: float | None = None


class OfferIn(Model):
    type: Literal["offer"]
    sdp: str


class Answer(Out):
    type: Literal["answer"]
    sdp: str


class CandidateState(Out):
    status: str


class Ping(Out):
    server_time: float


class UploadTest(Out):
    bytes: int
    server_ms: float


AnyObject = dict[str, Any]
