"""What SQLite's single writer guaranteed holds on PostgreSQL too: real processes race on one
database (the same moment, a barrier before each race) and there is one winner, one copy, one
unbroken audit chain, one send of each webhook delivery, one lockout count — on both
backends."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loadtest.postgres import PostgresCluster
from server.domain.models import Status
from server.security.ratelimit import LOGIN_FAILURES_PER_ACCOUNT
from server.storage.db import open_database
from server.storage.store import Store
from tests.support.server import LOOPBACK
from tests.support.store_races import (
    AUDIT_EVENTS_PER_PROCESS,
    DUPLICATED_RESULTS,
    FLOW_SAVES_PER_PROCESS,
    WEBHOOK_DELIVERIES,
    RaceSetup,
    candidate_file,
    race,
)

PROCESSES = 20
RACE_TIMEOUT_S = 120.0
RECEIVER_DELAY_S = 0.02
"""How long the webhook receiver takes per request: sends overlap, as with a real receiver."""


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on loopback that counts each delivery id it is sent."""

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _ReceiverHandler)
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}/hook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(RECEIVER_DELAY_S)
        with self.server.lock:
            self.server.received[self.headers["X-InterviewLive-Delivery"]] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Raced:
    backend: str
    seeds: dict[str, str]
    seen: list[dict[str, Any]]
    """What each process saw, by process index."""
    after: dict[str, Any]
    """The database's state after all the races."""
    received: dict[str, int]
    """How often the webhook receiver got each delivery, by delivery id."""


async def _seed(url: str, hook_url: str) -> dict[str, str]:
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
        await store.create_hook(org, hook_url, "s" * 32, ["interview.completed"])
        for n in range(WEBHOOK_DELIVERIES):
            await store.queue_deliveries(org, "interview.completed", f'{{"n":{n}}}')
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
            "deliveries": [
                (d["status"], d["attempts"])
                for hook in await store.list_hooks(seeds["org"])
                for d in await store.hook_deliveries(hook["id"])
            ],
            "counted_failures": (
                await db.fetchone("SELECT COUNT(*) AS n FROM attempts WHERE kind='login_account'")
            )["n"],  # type: ignore[index]
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
    with receiver() as hooks:
        setup = RaceSetup(url, fresh_url, asyncio.run(_seed(url, hooks.url)), f"{LOOPBACK}/32")
        seen = _race(setup)
        received = dict(hooks.received)
    after = asyncio.run(_state(setup))
    return Raced(request.param, setup.seeds, [seen[i] for i in range(PROCESSES)], after, received)


def _race(setup: RaceSetup) -> dict[int, dict[str, Any]]:
    """Run :func:`race` in :data:`PROCESSES` processes; what each saw, by process index."""
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
    return seen


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


def test_a_wrong_password_in_every_process_is_counted_up_to_the_lockout(raced: Raced) -> None:
    counted = [seen["password_counted"] for seen in raced.seen]
    assert counted.count(True) == LOGIN_FAILURES_PER_ACCOUNT, counted
    assert raced.after["counted_failures"] == LOGIN_FAILURES_PER_ACCOUNT


def test_each_due_webhook_delivery_is_sent_once_by_one_of_the_dispatchers(raced: Raced) -> None:
    assert len(raced.received) == WEBHOOK_DELIVERIES
    assert set(raced.received.values()) == {1}, raced.received
    assert raced.after["deliveries"] == [("delivered", 1)] * WEBHOOK_DELIVERIES
    sent = [seen["webhooks_sent"] for seen in raced.seen]
    assert sum(sent) == WEBHOOK_DELIVERIES
    assert len([n for n in sent if n]) > 1, sent  # they did race: several processes sent
