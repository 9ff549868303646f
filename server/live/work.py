"""Work entries on Redis: :data:`analyzers.messages.Work` as msgpack bodies, and back.

One entry per message on the interview's work stream (the interview id is the stream's, not
the body's); :func:`server.live.streams.encode` adds the version ``v`` and seals nothing here.
Bodies, wire version 1::

    {"k": "open", "meta": {...}}            {"k": "context", "context": {...}}
    {"k": "audio", "t": s, "pcm": bytes}    16 kHz mono, little-endian int16
    {"k": "video", "t": s, "jpeg": bytes, "pose": bool}
    {"k": "signal", "kind": str, "t": s, "detail": str}
    {"k": "close"}

Reading checks every field the pool relies on and raises :class:`BadEntry` otherwise (extra
fields are ignored). Encoding frames and audio is CPU work: run :func:`work_body` in a thread.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from analyzers.messages import Audio, Close, Context, Open, Signal, Video, Work
from server.live.streams import BadEntry, finite, json_safe

JPEG_QUALITY = 80
PCM_SCALE = 32768.0
"""int16 full scale: samples in [-1, 1) ↔ PCM."""


def work_body(message: Work) -> dict[str, Any]:
    """The entry body of ``message``; raises ValueError for a frame that does not encode."""
    match message:
        case Open(meta=meta):
            return {"k": "open", "meta": meta}
        case Context(context=context):
            return {"k": "context", "context": context}
        case Audio(t=t, samples=samples):
            pcm = np.clip(samples * (PCM_SCALE - 1), -PCM_SCALE, PCM_SCALE - 1).astype("<i2")
            return {"k": "audio", "t": float(t), "pcm": pcm.tobytes()}
        case Video(t=t, frame=frame, pose=pose):
            return {"k": "video", "t": float(t), "jpeg": _jpeg(frame), "pose": pose}
        case Signal(kind=kind, t=t, detail=detail):
            return {"k": "signal", "kind": kind, "t": float(t), "detail": detail}
        case Close():
            return {"k": "close"}


def stored_body(message: Open | Context) -> dict[str, Any]:
    """What is kept beside the stream for a node taking the interview over (the latest
    metadata or context): ``{"meta": ...}`` or ``{"context": ...}``."""
    if isinstance(message, Open):
        return {"meta": message.meta}
    return {"context": message.context}


def work_message(interview_id: str, body: dict[str, Any]) -> Work:
    """The message of a body read from ``interview_id``'s work stream; raises BadEntry."""
    kind = body.get("k")
    t: Any = body.get("t")
    if kind == "open" and _json_object(body.get("meta")):
        return Open(interview_id, body["meta"])
    if kind == "context" and _json_object(body.get("context")):
        return Context(interview_id, body["context"])
    if kind == "close":
        return Close(interview_id)
    if finite(t):
        pcm, jpeg, pose = body.get("pcm"), body.get("jpeg"), body.get("pose")
        if kind == "audio" and isinstance(pcm, bytes) and len(pcm) % 2 == 0:
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / PCM_SCALE
            return Audio(interview_id, float(t), samples)
        if kind == "video" and isinstance(jpeg, bytes) and isinstance(pose, bool):
            return Video(interview_id, float(t), jpeg, pose)
        signal, detail = body.get("kind"), body.get("detail")
        if kind == "signal" and isinstance(signal, str) and isinstance(detail, str):
            return Signal(interview_id, signal, float(t), detail)
    raise BadEntry(f"malformed {str(kind)[:20]!r} work entry")


def _json_object(value: Any) -> bool:
    return isinstance(value, dict) and json_safe(value)


def _jpeg(frame: npt.NDArray[np.uint8] | bytes) -> bytes:
    if isinstance(frame, bytes):  # already encoded
        return frame
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return jpeg.tobytes()
