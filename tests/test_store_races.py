"""What SQLite's single writer guaranteed holds on PostgreSQL too: real processes race on one
database (the same moment, a barrier before each race) and there is one winner, one copy, one
unbroken audit chain — on both backends."""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import dataclass
from typing import Any

import pytest

from server.domain.models import Status
from server.storage.db import open_database
from server.storage.store import Store
from tests.support.postgres import PostgresCluster
from tests.support.store_races import (
    AUDIT_EVENTS_PER_PROCESS,
    DUPLICATED_RESULTS,
    FLOW_SAVES_PER_PROCESS,
    RaceSetup,
    candidate_file,
    race,
)

PROCESSES = 20
RACE_TIMEOUT_S = 120.0


@dataclass
class Raced:
    backend: str
    seeds: dict[str, str]
    seen: list[dict[str, Any]]
    """What each process saw, by process index."""
    after: dict[str, Any]
    """The database's state after all the races."""


async def _seed(url: str) -> dict[str, str]:
    db = open_database(url)
    await db.open()
    try:
        store = Store(db)
        org = await store.create_org("Org")
        job = await store.get_job(await store.create_job(org, {"title": "T", "department": "D"}))
        interview, owned = await store.create_interviews(
            job, [], [{"name": "A"}, {"name": "B"}], 2e9, ["n1", "n2"], "hr"
        )
        answer = await store.ensure_answer(interview, 0, "q0")
        candidate, _ = await store.add_candidate(**candidate_file(org, job.id, "c" * 64))
        return {
            "org": org,
            "job": job.id,
            "interview": interview,
            "owned": owned,
            "answer": answer.id,
            "candidate": candidate,
        }
    finally:
        await db.close()


async def _state(setup: RaceSetup) -> dict[str, Any]:
    fresh = open_database(setup.fresh_url)
    await fresh.open()  # migrated by the racing processes: nothing left to do
    await fresh.close()
    seeds = setup.seeds
    db = open_database(setup.url)
    await db.open()
    try:
        store = Store(db)
        owned = await db.fetchone("SELECT owner, flow FROM interviews WHERE id=?", seeds["owned"])
        assert owned is not None
        race_events = await db.fetchall("SELECT prev_hash FROM events WHERE kind='race'")
        chained = await db.fetchall("SELECT prev_hash FROM events WHERE hash IS NOT NULL")
        return {
            "candidate": (await store.get_candidate(seeds["candidate"])).status,
            "claimed_by": (
                await db.fetchone(
                    "SELECT claimed_by FROM candidates WHERE id=?", seeds["candidate"]
                )
            )["claimed_by"],  # type: ignore[index]
            "status": (await store.get_interview(seeds["interview"])).status,
            "opened_events": [
                e
                for e in await store.events(seeds["interview"])
                if e["data"] == {"status": "opened"}
            ],
            "results": await store.analysis_events(seeds["interview"]),
            "chain": await store.verify_audit_chain(),
            "race_events": len(race_events),
            "chained": len(chained),
            "distinct_prev": len({r["prev_hash"] for r in chained}),
            "owner": owned["owner"],
            "flow": owned["flow"],
            "seqs": sorted(r.to_dict()["seq"] for r in await store.recordings(seeds["interview"])),
            "users": len(await store.users(seeds["org"])),
        }
    finally:
        await db.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def raced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Raced:
    data_dir = tmp_path_factory.mktemp("races")
    if request.param == "sqlite":
        url, fresh_url = (
            f"sqlite:///{data_dir / name}" for name in ("db.sqlite3", "fresh.sqlite3")
        )
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        url, fresh_url = cluster.new_database(), cluster.new_database()
    setup = RaceSetup(url, fresh_url, asyncio.run(_seed(url)))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=race, args=(i, setup, barrier, results)) for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        seen: dict[int, dict[str, Any]] = dict(
            results.get(timeout=RACE_TIMEOUT_S) for _ in processes
        )
    finally:
        barrier.abort()  # a process that failed leaves the others waiting: release them
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
    after = asyncio.run(_state(setup))
    return Raced(request.param, setup.seeds, [seen[i] for i in range(PROCESSES)], after)


def test_one_process_claims_the_invitation(raced: Raced) -> None:
    winners = [i for i, seen in enumerate(raced.seen) if seen["claim"] == "waiting"]
    assert len(winners) == 1, raced.seen
    assert [seen["claim"] for seen in raced.seen].count(None) == PROCESSES - 1
    assert raced.after["candidate"] == "inviting"
    assert raced.after["claimed_by"] == f"node-{winners[0]}"


def test_one_process_moves_the_status_and_it_is_audited_once(raced: Raced) -> None:
    assert [seen["status"] for seen in raced.seen].count(True) == 1
    assert raced.after["status"] is Status.OPENED
    assert len(raced.after["opened_events"]) == 1


def test_a_result_delivered_by_every_process_is_stored_once(raced: Raced) -> None:
    stored = [e["event_id"] for e in raced.after["results"]]
    assert sorted(stored) == [f"evt-{n}" for n in range(DUPLICATED_RESULTS)]


def test_concurrent_audit_appends_make_one_unforked_chain(raced: Raced) -> None:
    after = raced.after
    assert after["race_events"] == PROCESSES * AUDIT_EVENTS_PER_PROCESS
    assert after["chain"]["ok"], after["chain"]
    assert after["chain"]["checked"] == after["chained"]
    assert after["distinct_prev"] == after["chained"]  # no two events on one predecessor


def test_only_the_last_claimant_of_an_interview_saves_its_flow(raced: Raced) -> None:
    owner = raced.after["owner"]
    owner_index = int(owner.removeprefix("node-"))
    assert raced.seen[owner_index]["flow_saves"] == FLOW_SAVES_PER_PROCESS
    assert raced.after["flow"] == f'{{"by":"{owner}","n":{FLOW_SAVES_PER_PROCESS - 1}}}'


def test_recording_segments_of_one_answer_are_numbered_without_a_repeat(raced: Raced) -> None:
    assert raced.after["seqs"] == list(range(PROCESSES))


def test_one_process_gets_a_user_name_and_one_adds_a_file(raced: Raced) -> None:
    assert [seen["user"] for seen in raced.seen].count(True) == 1
    assert raced.after["users"] == 1
    added = [seen["candidate"] for seen in raced.seen]
    assert len({candidate_id for candidate_id, _ in added}) == 1
    assert [created for _, created in added].count(True) == 1
