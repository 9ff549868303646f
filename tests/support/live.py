"""An examiner's view of one interview in tests: the live events of its topic, collected."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

SNAPSHOT_TIMEOUT_S = 10.0


@contextlib.asynccontextmanager
async def live_events(
    http: aiohttp.ClientSession, base_url: str, token: str, interview_id: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """A staff socket subscribed to ``interview_id``; yields the list its events (after the
    first snapshot) are appended to as they arrive, until the block ends."""
    ws = await http.ws_connect(f"{base_url}/ws?token={token}")
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                events.append(msg.json())

    try:
        await ws.send_json({"type": "subscribe", "topic": f"interview:{interview_id}"})
        first = await ws.receive_json(timeout=SNAPSHOT_TIMEOUT_S)
        assert first["type"] == "snapshot", first
        collector = asyncio.create_task(collect(), name=f"live-{interview_id}")
        try:
            yield events
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
    finally:
        await ws.close()


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == kind]


def finals(events: list[dict[str, Any]]) -> list[str]:
    """The final transcripts' texts, in order."""
    return [str(e["text"]) for e in of_type(events, "transcript_final")]


async def first_answer_recording(
    api: Any, http: aiohttp.ClientSession, interview_id: str, into: Path
) -> Path:
    """The first answer's one recording (the answer is done), downloaded to ``into``.

    ``api``: a staff client called as ``await api(method, path)``.
    """
    detail = await api("GET", f"/api/interviews/{interview_id}")
    answer = detail["answers"][0]
    assert answer["status"] == "done", answer
    assert len(answer["recording_urls"]) == 1, answer
    async with http.get(answer["recording_urls"][0]) as resp:
        assert resp.status == 200
        data = await resp.read()
    await asyncio.to_thread(into.write_bytes, data)
    return into


def partials_were_off(events: list[dict[str, Any]]) -> bool:
    """The server said it turned partial transcripts off for a while (``analysis_degraded``
    under CPU load): they are best effort, so their absence then is expected."""
    return any(
        "partial_transcripts" in (e.get("reduced") or [])
        for e in of_type(events, "analysis_degraded")
    )
