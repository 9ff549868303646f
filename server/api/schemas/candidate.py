"""What the candidate's page sends: consent, device check, WebRTC offer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from server.api.schemas.common import Model, Out


def _accepting(mode: str, required_mode: bool, then: dict[str, Any]) -> dict[str, Any]:
    kind = {
        "properties": {"decision": {"const": "accept"}, "mode": {"const": mode}},
        "required": ["decision", "mode"] if required_mode else ["decision"],
    }
    return {"if": kind, "then": {"properties": then}}


CONSENT_RULES: dict[str, Any] = {
    "allOf": [
        # video (the default mode) records and analyses; audio records; text records nothing
        _accepting("video", False, {"recording": {"const": True}, "analysis": {"const": True}}),
        _accepting("audio", True, {"recording": {"const": True}}),
        _accepting("text", True, {"recording": {"const": False}}),
    ]
}


class ConsentIn(Model):
    """Separate consents to recording and to automated analysis (a person always decides).
    Accepting needs the consents the chosen mode depends on; the organisation must offer
    the mode (409 otherwise)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=CONSENT_RULES)

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


class IceServer(Out):
    """An ``RTCIceServer`` for the page's peer connection. A TURN relay of the deployment comes
    with a username/password pair minted for this session (TURN REST API: the username opens
    with the unix time it expires at); a fresh pair comes with every state."""

    urls: str | list[str] = Field(description="stun:, turn: or turns: URLs")
    username: str | None = Field(
        None, description="TURN only: ``<expiry unix time>:<session tag>``"
    )
    credential: str | None = Field(
        None, description="TURN only: the password for ``username`` (valid until its expiry)"
    )


class CandidateState(Out):
    status: str
    ice_servers: list[IceServer] = Field(
        description="what to give RTCPeerConnection as iceServers (empty: direct connection only)"
    )


class Ping(Out):
    server_time: float


class UploadTest(Out):
    bytes: int
    server_ms: float


AnyObject = dict[str, Any]
