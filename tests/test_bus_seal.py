"""Stream entries are sealed: Redis (and its AOF/RDB files) holds no personal data in the clear.

Real redis-server on loopback; producers and consumers are the production classes. A consumer
of another process is a :class:`BusCipher` over a key ring parsed from the same key JSON (what
``INTERVIEW_MASTER_KEYS`` gives every process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import redis.asyncio as aioredis

from loadtest.inprocess import make_job
from server.domain.models import Role
from server.live import streams
from server.live.analysis_remote import CONTEXT_PREFIX, META_PREFIX, RemoteAnalysis, work_stream
from server.live.analyzer_node import LEASE_PREFIX, AnalyzerNode
from server.live.results import RESULTS_STREAM, ResultsConsumer, analysis_entry
from server.live.streams import (
    BUS_MAGIC,
    BadEntry,
    BusCipher,
    GroupReader,
    KeyMismatch,
    StreamWriter,
    encode,
    ensure_group,
    unpack,
)
from server.security.keyring import MASTER_KEY_SIZE_BYTES, SM4_GCM, KeyRing
from tests.support.redis_server import redis_instance
from tests.support.server import running_server
from tests.test_api import invite

WAIT_S = 15.0
SENTENCE = "I led the flood response team in Wuhan for three years"
NAME = "Ada Lovelace-Zhang"
QUESTION = "Describe a time you handled a public emergency"
JFIF_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF"
"""SOI marker and the JFIF APP0 segment OpenCV writes: long enough that random ciphertext
does not contain it by chance (the 3-byte SOI alone would, once in ~16 M positions)."""
MSGPACK_KEYS = [
    msgpack.packb(key)
    for key in ("interview_id", "transcript_final", "event_id", "jpeg", "pcm", "meta")
]
"""The keys as msgpack writes them (``\xa3pcm``): a bare 3-byte ``pcm`` turns up by chance in
one ciphertext of a few hundred kilobytes (it failed a full run), 4 bytes once in ~4 GB."""


def _ring(key_id: str = "k1", algorithm: str = "aes-256-gcm") -> KeyRing:
    return KeyRing({key_id: os.urandom(MASTER_KEY_SIZE_BYTES)}, key_id, algorithm)


def _elsewhere(ring: KeyRing) -> KeyRing:
    """The same keys, as another process loads them from ``INTERVIEW_MASTER_KEYS``."""
    return KeyRing.from_json(ring.to_json(), ring.algorithm)


async def _until(predicate: Any, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def _final(iid: str, text: str, i: int) -> dict[str, Any]:
    event = {
        "v": 1,
        "type": "transcript_final",
        "interview_id": iid,
        "t": float(i),
        "question_index": 0,
        "text": text,
        "words": [],
    }
    return analysis_entry(event, f"analyzer-1:{i}")


def _assert_no_plaintext(raw: bytes, *needles: bytes) -> None:
    assert raw.startswith(BUS_MAGIC)
    for needle in needles:
        assert needle not in raw, f"{needle!r} is readable in Redis"


async def test_round_trip_leaves_only_ciphertext_in_redis() -> None:
    ring = _ring()
    with redis_instance() as server:
        redis = aioredis.Redis.from_url(server.url)
        writer = StreamWriter(redis, "analyzer", 1000, 10_000, cipher=BusCipher(ring))
        writer.start()
        consumer = BusCipher(_elsewhere(ring))
        try:
            await ensure_group(redis, RESULTS_STREAM, "persist")
            for i in range(5):
                writer.add(RESULTS_STREAM, _final("iv1", f"{SENTENCE} ({i})", i))

            async def written() -> bool:
                return writer.written == 5

            await _until(written)
            for _, fields in await redis.xrange(RESULTS_STREAM):
                _assert_no_plaintext(fields[b"m"], SENTENCE.encode(), *MSGPACK_KEYS)
            reader = GroupReader(redis, "persist", "api-1", block_ms=100, count=100)
            reader.add(RESULTS_STREAM)
            got = await reader.read()
            bodies = [unpack(consumer, stream, fields) for stream, _, fields in got]
            assert bodies == [{"v": 1, **_final("iv1", f"{SENTENCE} ({i})", i)} for i in range(5)]
        finally:
            await writer.aclose()
            await redis.aclose()


class _Pool:
    """Stands in for :class:`analyzers.pool.AnalyzerPool` (the worker processes are not under
    test): records what the analyzer node hands it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def open(self, iid: str, meta: dict[str, Any], sink: Any) -> None:
        self.calls.append(("open", iid, meta))

    def close(self, iid: str) -> None:
        self.calls.append(("close", iid))

    def forget(self, iid: str) -> None:
        pass

    def set_context(self, iid: str, context: dict[str, Any]) -> None:
        self.calls.append(("context", iid, context))

    def push_audio(self, iid: str, t: float, samples: Any) -> None:
        self.calls.append(("audio", iid, len(samples)))

    def push_video(self, iid: str, t: float, jpeg: bytes, pose: bool) -> None:
        self.calls.append(("video", iid, jpeg))

    def browser_signal(self, iid: str, kind: str, t: float, detail: str) -> None:
        self.calls.append(("signal", iid, kind))

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]


def _frame() -> np.ndarray[Any, np.dtype[np.uint8]]:
    rng = np.random.default_rng(7)
    return rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8)


def _speech() -> np.ndarray[Any, np.dtype[np.float32]]:
    t = np.arange(1600, dtype=np.float32) / 16_000
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


async def test_work_streams_hold_no_media_or_question_text_and_open_on_the_analyzer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Media process → Redis → analyzer nodes. A node started with other keys does not take
    the interview (nor acknowledge its work); the node with the right keys does."""
    ring = _ring()
    iid = "iv_seal"
    stream = work_stream(iid)
    meta = {"language": "en", "candidate": NAME}
    context = {"question_index": 0, "question": QUESTION}
    audio = _speech()
    pcm_head = (np.clip(audio * 32767.0, -32768, 32767).astype("<i2").tobytes())[200:264]
    with redis_instance() as server:
        redis = aioredis.Redis.from_url(server.url)
        media = RemoteAnalysis(server.url, "media-1", BusCipher(ring))
        await media.start()
        wrong_pool, right_pool = _Pool(), _Pool()
        wrong = AnalyzerNode(server.url, "analyzer-x", wrong_pool, 4, BusCipher(_ring()))  # type: ignore[arg-type]
        right = AnalyzerNode(server.url, "analyzer-1", right_pool, 4, BusCipher(_elsewhere(ring)))  # type: ignore[arg-type]
        started: list[AnalyzerNode] = []
        try:
            media.open(iid, meta, lambda event: None)
            media.set_context(iid, context)
            media.push_audio(iid, 0.0, audio)
            media.push_video(iid, 0.1, _frame(), False)

            async def sent() -> bool:
                return int(await redis.xlen(stream)) == 4

            await _until(sent)
            entries = await redis.xrange(stream)
            jpeg = unpack(BusCipher(_elsewhere(ring)), stream, entries[-1][1])["jpeg"]
            assert jpeg.startswith(JFIF_HEADER)
            for _, fields in entries:
                _assert_no_plaintext(
                    fields[b"m"],
                    JFIF_HEADER,
                    jpeg[200:232],
                    pcm_head,
                    NAME.encode(),
                    QUESTION.encode(),
                    *MSGPACK_KEYS,
                )
            for key in (META_PREFIX + iid, CONTEXT_PREFIX + iid):
                _assert_no_plaintext(await redis.get(key), NAME.encode(), QUESTION.encode())

            with caplog.at_level(logging.ERROR, logger="server"):
                await wrong.start()
                started.append(wrong)
                await asyncio.sleep(1.5)  # three claim rounds
            assert wrong_pool.calls == [] and wrong.load() == (0, 4)
            assert await redis.get(LEASE_PREFIX + iid) is None  # given back at once
            assert await redis.exists(stream) and not await redis.xinfo_groups(stream)
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert any("different master key named 'k1'" in m for m in errors), errors
            assert any("another key named 'k1'" in m for m in errors), errors

            await right.start()
            started.append(right)

            async def analysed() -> bool:
                # the stored metadata and context first, then the stream from its start
                return right_pool.kinds() == ["open", "context", "context", "audio", "video"]

            await _until(analysed)
            assert right_pool.calls[0] == ("open", iid, meta)
            assert right_pool.calls[1] == right_pool.calls[2] == ("context", iid, context)
            assert right_pool.calls[4] == ("video", iid, jpeg)
            assert right.bad == 0 and wrong_pool.calls == []
        finally:
            for node in started:
                await node.aclose()
            await media.aclose()
            await redis.aclose()


async def test_entries_that_do_not_open_are_skipped_counted_and_acknowledged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another key under the same id, an unknown key id, an older version's plaintext and an
    entry copied from another stream: each is skipped, counted and acknowledged; the good
    entry after them is stored."""
    with redis_instance() as server:
        async with running_server(tmp_path / "data", analysis_workers=0) as node:
            admin = await node.add_staff("admin", Role.ADMIN)
            job = await make_job(node, admin)
            iid = (await invite(node, admin, job["id"], "Ada"))["interview_id"]
            redis = aioredis.Redis.from_url(server.url)
            own = BusCipher(_elsewhere(node.svc.keyring))
            consumer = ResultsConsumer(node.svc, server.url, "api-1", BusCipher(node.svc.keyring))
            try:
                same_id = BusCipher(_ring("k1"))
                unknown = BusCipher(_ring("k7"))
                for cipher, i in ((same_id, 1), (same_id, 2), (unknown, 3), (unknown, 4)):
                    fields = streams.pack(cipher, RESULTS_STREAM, _final(iid, f"wrong key {i}", i))
                    await redis.xadd(RESULTS_STREAM, fields)
                await redis.xadd(RESULTS_STREAM, {b"m": encode(_final(iid, "plaintext", 5))})
                moved = streams.pack(own, "il:work:other", _final(iid, "moved", 6))
                await redis.xadd(RESULTS_STREAM, moved)
                await redis.xadd(
                    RESULTS_STREAM, streams.pack(own, RESULTS_STREAM, _final(iid, SENTENCE, 7))
                )
                with caplog.at_level(logging.WARNING, logger="server"):
                    await consumer.start()

                    async def stored() -> bool:
                        events = await node.svc.store.analysis_events(iid, ["transcript_final"])
                        return [e["text"] for e in events] == [SENTENCE]

                    await _until(stored)
                assert consumer.bad == 6 and consumer.handled == 7
                pending = await redis.xpending(RESULTS_STREAM, "persist")
                assert pending["pending"] == 0  # acknowledged, never redelivered
                errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
                unknown_msgs = [m for m in errors if "unknown key 'k7'" in m]
                assert len(unknown_msgs) == 1, errors  # logged once, not per entry
                assert "give every process the same INTERVIEW_MASTER_KEYS" in unknown_msgs[0]
                assert len([m for m in errors if "another key named 'k1'" in m]) == 1
                warnings = " ".join(r.getMessage() for r in caplog.records)
                assert "not sealed" in warnings and "failed authentication" in warnings
            finally:
                await consumer.aclose()
                await redis.aclose()


async def test_an_entry_copied_to_another_stream_fails_authentication() -> None:
    cipher = BusCipher(_ring())
    with redis_instance() as server:
        redis = aioredis.Redis.from_url(server.url)
        try:
            await redis.xadd(
                "il:work:a", streams.pack(cipher, "il:work:a", {"k": "context", "context": {}})
            )
            ((_, fields),) = await redis.xrange("il:work:a")
            assert unpack(cipher, "il:work:a", fields)["k"] == "context"
            await redis.xadd("il:work:b", fields)
            await ensure_group(redis, "il:work:b", "analyzers")
            reader = GroupReader(redis, "analyzers", "n1", block_ms=100, count=10)
            reader.add("il:work:b")
            ((stream, _, copied),) = await reader.read()
            with pytest.raises(BadEntry, match="failed authentication"):
                unpack(cipher, stream, copied)
        finally:
            await redis.aclose()


async def test_durable_redis_files_hold_no_transcript(tmp_path: Path) -> None:
    """AOF (after a rewrite) and RDB snapshot: the sentence is absent, while the same sentence
    stored unsealed under another key is found (so the scan would see it)."""
    ring = _ring()
    control = f"{SENTENCE} (control)".encode()
    with redis_instance(durable=True) as server:
        redis = aioredis.Redis.from_url(server.url)
        writer = StreamWriter(redis, "analyzer", 1000, 10_000, cipher=BusCipher(ring))
        writer.start()
        try:
            # uncompressed snapshots, so a substring search over the files is conclusive
            await redis.config_set("rdbcompression", "no")
            writer.add(RESULTS_STREAM, _final("iv1", SENTENCE, 1))
            await redis.set("control", control)

            async def written() -> bool:
                return writer.written == 1

            await _until(written)
            await redis.bgrewriteaof()

            async def rewritten() -> bool:
                info = await redis.info("persistence")
                return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

            await asyncio.sleep(0.1)
            await _until(rewritten)
            await redis.save()
            data_dir = Path((await redis.config_get("dir"))["dir"])
            names, dump = await asyncio.to_thread(_read_all, data_dir)
            assert any(n.endswith(".rdb") for n in names)
            assert any(n.startswith("appendonly.aof") for n in names)
            assert control in dump, f"the scan missed the unsealed control value ({names})"
            leaked = SENTENCE.encode() in dump.replace(control, b"")
            assert not leaked, "the transcript is readable in Redis's files"
            assert b"transcript_final" not in dump
        finally:
            await writer.aclose()
            await redis.aclose()


def _read_all(directory: Path) -> tuple[list[str], bytes]:
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return [p.name for p in files], b"".join(p.read_bytes() for p in files)


def test_rotation_old_entries_still_open() -> None:
    ring = _ring()
    writer = BusCipher(ring)
    old = writer.seal("s", b"before rotation")
    stale = BusCipher(_elsewhere(ring))  # a process not given the new key yet
    ring.rotate(save=False)
    new = writer.seal("s", b"after rotation")
    assert b"k1" in old[:12] and b"k2" in new[:12]  # the format names the key id
    reader = BusCipher(_elsewhere(ring))
    assert reader.open("s", old) == b"before rotation"
    assert reader.open("s", new) == b"after rotation"
    assert stale.open("s", old) == b"before rotation"
    with pytest.raises(KeyMismatch, match="unknown key 'k2'"):
        stale.open("s", new)


def test_algorithm_is_named_in_each_entry() -> None:
    """An SM4-GCM entry opens in a process whose setting is AES (and back)."""
    ring = _ring(algorithm=SM4_GCM)
    sealed = BusCipher(ring).seal("s", b"guomi")
    assert sealed[5] == 2  # algorithm code 2: sm4-gcm
    aes_reader = BusCipher(KeyRing.from_json(ring.to_json(), "aes-256-gcm"))
    assert aes_reader.open("s", sealed) == b"guomi"
    assert BusCipher(ring).open("s", aes_reader.seal("s", b"aes")) == b"aes"


def test_a_writer_changes_its_salt_before_the_nonce_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "SEALS_PER_SALT_MAX", 3)
    cipher = BusCipher(_ring())
    sealed = [cipher.seal("s", bytes([i])) for i in range(4)]
    salts = [s[7 + 2 + 8 : 7 + 2 + 8 + streams.SALT_SIZE_BYTES] for s in sealed]
    assert salts[0] == salts[1] == salts[2] != salts[3]
    assert [cipher.open("s", s) for s in sealed] == [bytes([i]) for i in range(4)]
