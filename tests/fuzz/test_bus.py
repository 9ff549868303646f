"""Fuzz what arrives over the Redis bus: ``streams.unpack`` and the two stream consumers.

Entries are random bytes, mutated msgpack, and valid envelopes (``{"v": 1, ...}``) with wrong
field types, missing or extra fields, huge numbers, NaN, nested junk. The unit under test gets
them the way the stream reader hands them over (``(stream, entry_id, fields)``), without Redis:

- ``unpack`` returns a ``v: 1`` mapping or raises ``BadEntry``, nothing else;
- ``ResultsConsumer._handle`` (real store and hub of a running server) returns promptly and
  raises nothing, counts what it skips, still stores the good event of the same batch, and
  publishes only strict JSON (dashboards parse it in the browser);
- ``AnalyzerNode._handle`` raises nothing and hands its pool only well-typed work (a dict of
  meta or context, a finite media time, PCM samples, JPEG bytes, a bool ``pose``, text for
  signals), and still forwards the good entry of the same batch. The pool is a recording
  double (the collaborator; the worker processes behind it are not under test).

Entries are sealed (``server.live.streams.BusCipher``): most are sealed with the consumers' keys so
the fuzzing reaches the decoding and validation behind the authentication; others are sealed
and then mutated, sealed for another stream or with other keys, or not sealed at all.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from server.live.analysis import interview_topic
from server.live.analyzer_node import AnalyzerNode, _Owned
from server.live.hub import Envelope, Subscription
from server.live.results import ResultsConsumer, analysis_entry, status_entry
from server.live.streams import FIELD, BadEntry, BusCipher, pack, unpack
from server.security.keyring import MASTER_KEY_SIZE_BYTES, KeyRing
from tests.support import fuzz_clients
from tests.support.fuzz_server import ServerThread, fuzz_settings

UNPACK_EXAMPLES = 300
RESULTS_EXAMPLES = 150
WORK_EXAMPLES = 200
HANDLE_TIMEOUT_S = 2.0
"""One batch takes milliseconds; longer is a hang (e.g. retrying an unstorable event)."""
UNUSED_REDIS = "redis://127.0.0.1:9/0"
"""The consumers are built with a Redis URL they never use here (``_handle`` needs none)."""
RESULTS = "il:results"
IID = "iv_fuzz"
STREAM = f"il:work:{IID}"


def _bus(key_id: str) -> BusCipher:
    return BusCipher(KeyRing({key_id: os.urandom(MASTER_KEY_SIZE_BYTES)}, key_id))


FUZZ_BUS = _bus("k1")
"""The consumers' keys."""
OTHER_KEY = _bus("k1")
"""Another key under the same id (a key file made on another machine)."""
UNKNOWN_KEY = _bus("k9")

# -- msgpack values ----------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
SAFE_INT = st.one_of(
    st.integers(-(2**20), 2**20),
    st.integers(2**48, 2**64 - 1),
    st.integers(-(2**63), -(2**48)),
)
"""msgpack's integer range, minus the sizes a ``bytes(n)`` would really allocate (MBs to TBs:
minutes of memset on a CI runner); ``test_regressions`` pins that case with ``2**62``."""
SCALARS = (
    st.none()
    | st.booleans()
    | SAFE_INT
    | st.floats()
    | TEXT
    | st.binary(max_size=40)
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8))
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)


@st.composite
def record(
    draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], version: bool = True
) -> dict[str, Any]:
    """``{"v": 1, ...}`` with each field mostly right, else junk or missing; sometimes an
    extra field. (Shrinking goes towards the right shape, so failures read well.)"""
    body: dict[str, Any] = {}
    if version:
        body["v"] = 1 if draw(st.integers(0, 4)) else draw(JUNK)
    for name, strategy in fields.items():
        roll = draw(st.integers(0, 9))
        if roll < 6:
            body[name] = draw(strategy)
        elif roll < 9:
            body[name] = draw(JUNK)
    if draw(st.integers(0, 4)) == 4:
        body["extra"] = draw(JUNK)
    return body


def _packed(body: Any) -> bytes:
    return msgpack.packb(body, use_bin_type=True)


@st.composite
def mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=9))
        elif op == "delete" and data:
            del data[i]
        else:
            del data[i:]
    return bytes(data)


def raw_fields(
    bodies: st.SearchStrategy[Any], stream: str
) -> st.SearchStrategy[dict[bytes, bytes]]:
    """Stream entry fields: a packed body, mutated bytes, random bytes (mostly sealed for
    ``stream`` with the consumers' keys), sealed and then mutated, sealed for another stream or
    with other keys, unsealed; a wrong field name."""
    packed = bodies.map(_packed)
    plain = st.one_of(
        packed, packed, packed, packed.flatmap(mutated), st.binary(max_size=80), JUNK.map(_packed)
    )
    sealed = plain.map(lambda raw: FUZZ_BUS.seal(stream, raw))
    payload = st.one_of(
        *[sealed] * 6,
        sealed.flatmap(mutated),
        plain,
        plain.map(lambda raw: FUZZ_BUS.seal(stream + "x", raw)),
        plain.map(lambda raw: OTHER_KEY.seal(stream, raw)),
        plain.map(lambda raw: UNKNOWN_KEY.seal(stream, raw)),
    )
    right = payload.map(lambda raw: {FIELD: raw})
    return st.one_of(right, right, right, right, payload.map(lambda raw: {b"x": raw}), st.just({}))


# -- unpack --------------------------------------------------------------------------------------

WORK_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "k": st.sampled_from(["open", "audio", "video", "context", "signal", "close"]),
    "t": st.floats(-1e3, 1e6) | st.sampled_from([math.nan, math.inf, -math.inf]),
    "pcm": st.binary(max_size=64),
    "jpeg": st.binary(max_size=64),
    "pose": st.booleans(),
    "meta": st.dictionaries(TEXT, JUNK, max_size=3),
    "context": st.dictionaries(TEXT, JUNK, max_size=3),
    "kind": st.sampled_from(["tab_hidden", "paste", "blur"]) | TEXT,
    "detail": TEXT,
}


@given(fields=raw_fields(record(WORK_FIELDS), STREAM))
@fuzz_settings(UNPACK_EXAMPLES)
def test_unpack_returns_a_v1_mapping_or_raises_bad_entry(fields: dict[bytes, bytes]) -> None:
    note(f"fields={fields!r}")
    try:
        body = unpack(FUZZ_BUS, STREAM, fields)
    except BadEntry:
        return
    assert isinstance(body, dict) and body["v"] == 1


# -- ResultsConsumer._handle ---------------------------------------------------------------------

EVENT_TYPES = ["transcript_final", "flag", "score_update", "face_metrics", "analyzer_error"]


@dataclass
class Results:
    server: ServerThread
    consumer: ResultsConsumer
    interview_id: str
    live: Subscription
    sentinels: int = 0

    def sentinel(self) -> tuple[str, bytes, dict[bytes, bytes]]:
        """A good, durable event: whatever else is in the batch, it must be stored."""
        self.sentinels += 1
        event = {
            "type": "transcript_final",
            "v": 1,
            "interview_id": self.interview_id,
            "t": 1.0,
            "question_index": 0,
            "text": "sentinel",
        }
        body = analysis_entry(event, f"fuzz-sentinel-{self.sentinels}")
        return (RESULTS, b"0-1", pack(FUZZ_BUS, RESULTS, body))


@pytest.fixture(scope="module")
def results(fuzz_server: ServerThread) -> Iterator[Results]:
    base = fuzz_clients.setup(fuzz_server)
    srv = fuzz_server.server
    created = fuzz_server.call(
        "POST",
        f"/api/jobs/{base.job['id']}/invitations",
        token=base.admin,
        json={"name": "Ada", "email": "ada@example.com"},
        expect=201,
    )
    iid = created["interview_id"]

    async def make() -> tuple[ResultsConsumer, Subscription]:
        live = srv.svc.hub.subscribe()
        topic = interview_topic(iid)
        live.add(topic)
        live.activate(topic, {"type": "snapshot", "topic": topic, "seq": 0})
        return ResultsConsumer(srv.svc, UNUSED_REDIS, "fuzz", FUZZ_BUS), live

    consumer, live = fuzz_server.run(make())
    yield Results(fuzz_server, consumer, iid, live)
    live.close()
    fuzz_server.run(consumer.aclose())


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _result_bodies(interview_id: str) -> st.SearchStrategy[dict[str, Any]]:
    event = record(
        {
            "type": st.sampled_from(EVENT_TYPES),
            "interview_id": st.just(interview_id) | TEXT,
            "t": st.floats(0, 1e4),
            "question_index": st.integers(-1, 5),
            "text": TEXT,
            "value": st.floats(),
        },
        version=False,
    )
    return record(
        {
            "kind": st.sampled_from(["analysis", "status"]),
            "event_id": TEXT,
            "event": event,
            "topics": st.lists(st.just(interview_topic(interview_id)) | TEXT, max_size=2),
            "message": st.dictionaries(TEXT, JUNK, max_size=3),
        }
    )


@given(data=st.data())
@fuzz_settings(RESULTS_EXAMPLES)
def test_results_consumer_skips_bad_entries(results: Results, data: st.DataObject) -> None:
    fields = data.draw(
        st.lists(raw_fields(_result_bodies(results.interview_id), RESULTS), min_size=1, max_size=5),
        label="entries",
    )
    note(f"entries={fields!r}")
    entries = [(RESULTS, f"{i}-0".encode(), f) for i, f in enumerate(fields)]
    entries.append(results.sentinel())
    consumer, srv = results.consumer, results.server.server
    unreadable = 0
    for _, _, f in entries:
        try:
            unpack(FUZZ_BUS, RESULTS, f)
        except BadEntry:
            unreadable += 1
    bad, handled = consumer.bad, consumer.handled

    async def handle() -> list[dict[str, Any]]:
        await consumer._handle(entries)
        return await srv.svc.store.analysis_events(results.interview_id)

    stored = results.server.run(handle(), HANDLE_TIMEOUT_S)
    assert consumer.handled == handled + len(entries)
    assert consumer.bad - bad >= unreadable, "unreadable entries were not counted"
    assert any(e.get("event_id") == f"fuzz-sentinel-{results.sentinels}" for e in stored), (
        "the good event of the batch was not stored"
    )
    while results.live.qsize():
        message = results.live.get_nowait()
        if isinstance(message, Envelope):
            _strict_json(message.text)


# -- AnalyzerNode._handle ------------------------------------------------------------------------

SENTINEL_T = 4242.5


@dataclass
class RecordingPool:
    """Stands in for :class:`analyzers.pool.AnalyzerPool`: records calls, checks their types
    (what a worker process would otherwise receive)."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def _check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def _time(self, method: str, t: Any) -> None:
        self._check(isinstance(t, float) and math.isfinite(t), f"{method}: t={t!r}")

    def open(self, iid: str, meta: Any, sink: Any) -> None:
        self.calls.append(("open", (iid,)))
        self._check(isinstance(meta, dict), f"open: meta={meta!r}")

    def close(self, iid: str) -> None:
        self.calls.append(("close", (iid,)))

    def forget(self, iid: str) -> None:
        self.calls.append(("forget", (iid,)))

    def set_context(self, iid: str, context: Any) -> None:
        self.calls.append(("context", (iid,)))
        self._check(isinstance(context, dict), f"set_context: context={context!r}")

    def push_audio(self, iid: str, t: Any, samples: Any) -> None:
        self.calls.append(("audio", (iid, t)))
        self._time("push_audio", t)
        self._check(
            isinstance(samples, np.ndarray) and samples.dtype == np.float32 and samples.ndim == 1,
            f"push_audio: samples={samples!r}",
        )

    def push_video(self, iid: str, t: Any, jpeg: Any, pose: Any) -> None:
        self.calls.append(("video", (iid, t)))
        self._time("push_video", t)
        self._check(isinstance(jpeg, bytes), f"push_video: jpeg={type(jpeg)}")
        self._check(isinstance(pose, bool), f"push_video: pose={pose!r}")

    def browser_signal(self, iid: str, kind: Any, t: Any, detail: Any) -> None:
        self.calls.append(("signal", (iid, t)))
        self._time("browser_signal", t)
        self._check(isinstance(kind, str) and isinstance(detail, str), f"signal: {kind!r}")


@dataclass
class Work:
    server: ServerThread
    node: AnalyzerNode
    pool: RecordingPool


@pytest.fixture(scope="module")
def work(fuzz_server: ServerThread) -> Iterator[Work]:
    pool = RecordingPool()

    async def make() -> AnalyzerNode:
        return AnalyzerNode(UNUSED_REDIS, "fuzz-node", pool, 4, FUZZ_BUS)  # type: ignore[arg-type]

    node = fuzz_server.run(make())
    yield Work(fuzz_server, node, pool)
    fuzz_server.run(node._redis.aclose())


GOOD_OPEN = pack(FUZZ_BUS, STREAM, {"k": "open", "meta": {"language": "en"}})
GOOD_AUDIO = pack(FUZZ_BUS, STREAM, {"k": "audio", "t": SENTINEL_T, "pcm": b"\x00\x01" * 8})


@given(
    fields=st.lists(raw_fields(record(WORK_FIELDS), STREAM), min_size=1, max_size=6),
    opened=st.booleans(),
)
@fuzz_settings(WORK_EXAMPLES)
def test_analyzer_node_skips_bad_work(work: Work, fields: list[Any], opened: bool) -> None:
    note(f"opened={opened}, entries={fields!r}")
    work.node._owned[IID] = _Owned(opened=opened)
    work.pool.calls.clear()
    work.pool.problems.clear()
    entries = [(STREAM, f"{i}-0".encode(), f) for i, f in enumerate(fields)]
    entries += [(STREAM, b"98-0", GOOD_OPEN), (STREAM, b"99-0", GOOD_AUDIO)]
    work.server.run(work.node._handle(entries), HANDLE_TIMEOUT_S)
    assert not work.pool.problems, f"ill-typed work reached the pool: {work.pool.problems}"
    assert work.pool.calls[-1] == ("audio", (IID, SENTINEL_T)), "the good entry was lost"


def test_status_entries_round_trip() -> None:
    """The producers' own shapes are readable (the fuzzers start from them)."""
    body = unpack(FUZZ_BUS, RESULTS, pack(FUZZ_BUS, RESULTS, status_entry(["job:1"], {})))
    assert body["kind"] == "status" and body["topics"] == ["job:1"]
