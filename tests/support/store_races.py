"""One racing process of ``tests/test_store_races.py``: it opens the store by URL like a server
process would, then runs each race at the same moment as the others (a barrier before each) and
reports what it saw."""

from __future__ import annotations

import asyncio
import multiprocessing.synchronize
from dataclasses import dataclass
from ipaddress import ip_network
from multiprocessing.queues import Queue
from typing import Any

from server.core.metrics import Metrics
from server.domain.models import Role, Status
from server.outbound.webhooks import dispatch_due
from server.security.netguard import NetGuard, guarded_session
from server.security.ratelimit import DatabaseLimits
from server.storage.db import open_database
from server.storage.errors import Conflict, Superseded
from server.storage.repos.candidates import NewCandidate
from server.storage.store import Store

AUDIT_EVENTS_PER_PROCESS = 10
FLOW_SAVES_PER_PROCESS = 5
DUPLICATED_RESULTS = 5
"""Analysis events every process delivers (the same ``event_id`` s: a redelivery)."""
WEBHOOK_DELIVERIES = 40
"""Due deliveries every process's dispatcher tries to send at the same moment."""
LOCKED_ACCOUNT = "same-account"


@dataclass(frozen=True)
class RaceSetup:
    url: str
    """The database the processes race on."""
    fresh_url: str
    """A new database every process opens (and so migrates) at the same moment."""
    seeds: dict[str, str]
    """The ids of the rows raced on: org, job, interview, owned, answer, candidate."""
    loopback: str
    """The network the dispatchers may deliver webhooks to (the test's receiver)."""


def candidate_file(org: str, job: str, file_hash: str) -> NewCandidate:
    """A résumé file as intake would add it (nothing in it matters here)."""
    return NewCandidate(
        org_id=org,
        job_id=job,
        batch_id=None,
        filename="cv.pdf",
        file_hash=file_hash,
        file_bytes=1,
        profile={},
        text="",
        match={"score": 1.0, "eligible": True},
    )


def result_events(interview_id: str) -> list[dict[str, Any]]:
    return [
        {"interview_id": interview_id, "type": "flag", "t": float(n), "event_id": f"evt-{n}"}
        for n in range(DUPLICATED_RESULTS)
    ]


def race(
    index: int,
    setup: RaceSetup,
    barrier: multiprocessing.synchronize.Barrier,
    results: Queue[tuple[int, dict[str, Any]]],
) -> None:
    """The process's entry point; puts ``(index, {race: outcome})`` on ``results``."""
    results.put((index, asyncio.run(_races(index, setup, barrier))))


async def _races(
    index: int, setup: RaceSetup, barrier: multiprocessing.synchronize.Barrier
) -> dict[str, Any]:
    me = f"node-{index}"
    seeds = setup.seeds
    seen: dict[str, Any] = {}

    async def together() -> None:
        await asyncio.to_thread(barrier.wait)

    await together()
    fresh = open_database(setup.fresh_url)  # every process migrates a new database at once
    await fresh.open()
    await fresh.close()

    db = open_database(setup.url)
    await db.open()
    try:
        store = Store(db)

        await together()
        seen["claim"] = await store.claim_candidate(seeds["candidate"], ["waiting"], me)

        await together()
        change = await store.set_status(seeds["interview"], Status.OPENED, me)
        seen["status"] = change is not None

        await together()
        await store.add_analysis_events(result_events(seeds["interview"]))

        await together()
        for n in range(AUDIT_EVENTS_PER_PROCESS):
            await store.add_event(None, seeds["org"], "race", me, {"n": n})

        await together()
        await store.claim_interview(seeds["owned"], me)
        saved = 0
        for n in range(FLOW_SAVES_PER_PROCESS):
            try:
                await store.save_flow(seeds["owned"], {"by": me, "n": n}, me)
                saved += 1
            except Superseded:
                break
        seen["flow_saves"] = saved

        await together()
        info = {"path": f"{seeds['interview']}/{me}.webm", "container": "webm", "duration_s": 1.0}
        counts = {"video_frames": 1, "audio_packets": 1, "bytes": 1}
        await store.add_recording(seeds["answer"], seeds["interview"], {**info, **counts})

        await together()
        try:
            await store.create_user(seeds["org"], "same-name", "hash", Role.HR)
            seen["user"] = True
        except Conflict:
            seen["user"] = False

        await together()
        same_file = candidate_file(seeds["org"], seeds["job"], "f" * 64)
        seen["candidate"] = await store.add_candidate(**same_file)

        await together()  # one wrong password each for one account, all at once
        wait_s = await DatabaseLimits(store).login_failures.hit(LOCKED_ACCOUNT)
        seen["password_counted"] = wait_s == 0.0

        await together()  # every process dispatches the due webhook deliveries
        guard = NetGuard((ip_network(setup.loopback),))
        async with guarded_session(guard) as http:
            sent = 0
            while n := await dispatch_due(store, Metrics(), http):
                sent += n
        seen["webhooks_sent"] = sent
    finally:
        await db.close()
    return seen
