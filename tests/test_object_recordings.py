"""Recordings in an S3-compatible object store (``--recordings-url s3://bucket/prefix``),
against a real SeaweedFS started by the test on loopback: segments go up (in parts when big)
when they end and the local copy goes only after the upload is confirmed; playback reads the
encrypted object by range GETs (seeking never downloads the whole recording); erasure and
retention delete the objects; an upload that fails keeps the file and succeeds once the store
is back; a crashed process's leftovers are rescued by the sweep."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from loadtest.candidate.recordings import decode
from loadtest.inprocess import make_job
from server.api.routes_privacy import DAY_S, sweep_retention
from server.core.config import ConfigError, ObjectLocation, load_settings
from server.domain.models import Role
from server.interview import recordings as recordings_module
from server.interview.recording_files import segment_name, stored_name
from server.interview.recordings import ObjectStorage
from server.security.encrypted_media import (
    OBJECT_OPEN_BYTES,
    SEND_WINDOW_BYTES,
    open_object_recording,
)
from server.security.keyring import KeyRing
from server.security.stream import DEFAULT_CHUNK_SIZE_BYTES, EncryptedFile
from server.storage.objects import MULTIPART_THRESHOLD_BYTES, ObjectStore
from tests.support.media import ENGLISH_ANSWER, face_y4m, mux_webm, speech_wav
from tests.support.seaweed import SeaweedS3, seaweed_s3
from tests.support.server import RunningServer, running_server
from tests.test_api import invite
from tests.test_interview_media import answering

CHUNK = DEFAULT_CHUNK_SIZE_BYTES
UPLOAD_WAIT_S = 20.0


@pytest.fixture(scope="module")
def weed() -> Iterator[SeaweedS3]:
    with seaweed_s3() as store:
        yield store


def _objects(weed: SeaweedS3, prefix: str) -> ObjectStore:
    return ObjectStore(
        ObjectLocation.parse(f"s3://{weed.bucket}/{prefix}"),
        endpoint=weed.endpoint,
        access_key=weed.access_key,
        secret_key=weed.secret_key,
    )


def test_object_store_settings_are_checked_and_the_secret_never_shown() -> None:
    env = {
        "INTERVIEW_RECORDINGS_URL": "s3://interview-recordings/eu/prod",
        "INTERVIEW_S3_ENDPOINT": "https://s3.example.org",
        "INTERVIEW_S3_ACCESS_KEY": "AKIAEXAMPLE",
        "INTERVIEW_S3_SECRET_KEY": "very-secret-value",
        "INTERVIEW_S3_REGION": "eu-central-1",
    }
    settings = load_settings(env=env)
    assert ObjectLocation.parse(settings.recordings_url) == ObjectLocation(
        "interview-recordings", "eu/prod/"
    )
    assert settings.s3_region == "eu-central-1" and "very-secret-value" not in repr(settings)
    for key, value, why in (
        ("INTERVIEW_RECORDINGS_URL", "https://bucket/x", "s3://bucket"),
        ("INTERVIEW_RECORDINGS_URL", "s3://Bad_Bucket", "s3://bucket"),
        ("INTERVIEW_RECORDINGS_URL", "s3://bucket/a/../b", "'..'"),
        ("INTERVIEW_S3_ENDPOINT", "s3.example.org", "http"),
        ("INTERVIEW_S3_SECRET_KEY", "", "both"),
    ):
        with pytest.raises(ConfigError, match=why) as caught:
            load_settings(env={**env, key: value})
        assert "very-secret-value" not in str(caught.value)
    with pytest.raises(ConfigError, match="without recordings_url"):
        load_settings(env={"INTERVIEW_S3_ENDPOINT": "http://127.0.0.1:8333"})


def test_objects_go_up_in_parts_and_come_back_by_range(weed: SeaweedS3, tmp_path: Path) -> None:
    objects = _objects(weed, "unit")
    big = tmp_path / "big"
    data = os.urandom(MULTIPART_THRESHOLD_BYTES + 3 * 1024 * 1024)
    big.write_bytes(data)
    assert objects.upload(big, "iv_1/00-1.webm") == len(data)
    head = weed.client().head_object(Bucket=weed.bucket, Key="unit/iv_1/00-1.webm")
    assert head["ETag"].strip('"').endswith("-2")  # two parts: a multipart upload
    small = tmp_path / "small"
    small.write_bytes(b"x" * 1000)
    objects.upload(small, "iv_1/01-2.webm")

    remote = objects.open("iv_1/00-1.webm", 256)
    assert remote is not None and remote.size == len(data)
    remote.seek(5_000_000)
    assert remote.read(100) == data[5_000_000:5_000_100]
    remote.prefetch(10_000_000, 1_000_000)
    requests = remote.requests
    remote.seek(10_500_000)
    assert remote.read(1000) == data[10_500_000:10_501_000] and remote.requests == requests
    assert objects.open("iv_1/missing.webm", 256) is None

    assert sorted(objects.names_under("iv_1")) == ["iv_1/00-1.webm", "iv_1/01-2.webm"]
    assert objects.delete(objects.names_under("iv_1")) == 2
    assert objects.names_under("iv_1") == [] and weed.keys("unit/") == []
    for bad in ("../x/00.webm", "iv_1/../../x", "/abs/x", "iv_1"):
        assert not objects.is_name(bad)


def test_an_encrypted_object_is_read_by_ranges_across_its_chunks(
    weed: SeaweedS3, tmp_path: Path
) -> None:
    ring = KeyRing.load_or_create(tmp_path / "keys.json")
    plain = os.urandom(3 * SEND_WINDOW_BYTES + 12_345)
    path = tmp_path / "00-1.webm"
    with EncryptedFile.create(path, ring) as writer:
        writer.write(plain)
    objects = _objects(weed, "enc")
    objects.upload(path, "iv_2/00-1.webm")
    remote = objects.open("iv_2/00-1.webm", OBJECT_OPEN_BYTES)
    assert remote is not None
    reader = open_object_recording(remote, ring)
    try:
        assert reader.plaintext_size == len(plain)
        opened = remote.requests  # header, then the last chunk (checked at opening)
        assert opened == 2
        first, last = CHUNK - 10, 2 * CHUNK + 10  # across two chunk boundaries
        assert reader.read_range(first, last) == plain[first : last + 1]
        assert remote.requests == opened + 1  # one GET for all three chunks' records
        window = reader.read_range(SEND_WINDOW_BYTES - 5, 2 * SEND_WINDOW_BYTES + 5)
        assert window == plain[SEND_WINDOW_BYTES - 5 : 2 * SEND_WINDOW_BYTES + 6]
        tail = reader.read_range(len(plain) - 1000, len(plain) - 1)
        assert tail == plain[-1000:]
    finally:
        reader.close()
    # the ranges asked for, not the object: a seek costs what it reads
    assert remote.requests <= opened + 3
    # a tampered object is refused at opening, as a tampered file is
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 1
    path.write_bytes(bytes(raw))
    objects.upload(path, "iv_2/00-1.webm")
    tampered = objects.open("iv_2/00-1.webm", OBJECT_OPEN_BYTES)
    assert tampered is not None
    with pytest.raises(Exception, match="authentication"):
        open_object_recording(tampered, ring)


@pytest.fixture
def media_files(tmp_path: Path) -> tuple[Path, Path]:
    return face_y4m(tmp_path / "face.y4m", seconds=4.0), speech_wav(
        ENGLISH_ANSWER, tmp_path / "speech.wav"
    )


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


def _spooled(srv: RunningServer, interview_id: str) -> list[Path]:
    folder = srv.svc.recordings.root / interview_id
    return sorted(folder.iterdir()) if folder.exists() else []


async def _stored_segment(srv: RunningServer, admin: str, plain: bytes) -> tuple[str, str, Path]:
    """An interview with one encrypted segment in the spool, registered as a media node
    registers it: (interview id, recording id, the spooled file)."""
    job = await make_job(srv, admin)
    iid = (await invite(srv, admin, job["id"], "Mei"))["interview_id"]
    answer = await srv.svc.store.ensure_answer(iid, 0, "q")
    name = stored_name(iid, segment_name(0, time.time()))
    path = srv.svc.recordings.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with EncryptedFile.create(path, srv.svc.keyring) as writer:
        writer.write(plain)
    info = {"path": name, "container": "webm", "duration_s": 1.0, "video_frames": 1}
    rec_id = await srv.svc.store.add_recording(
        answer.id, iid, {**info, "audio_packets": 1, "bytes": len(plain)}
    )
    return iid, rec_id, path


def _metric(srv: RunningServer, name: str, **labels: str) -> float:
    value = srv.svc.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


async def test_a_recorded_answer_goes_up_when_it_ends_and_plays_by_range_until_erased(
    weed: SeaweedS3, tmp_path: Path, media_files: tuple[Path, Path]
) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, **weed.settings("live")
    ) as srv:
        admin, iid, cand = await answering(srv, media_files)
        await asyncio.sleep(4)
        await cand.send({"type": "finish_answer"})
        await cand.wait_phase(1, "prep")
        (rec,) = await srv.svc.store.recordings(iid)
        key = f"live/{rec.path}"

        async def uploaded() -> bool:
            return key in await asyncio.to_thread(weed.keys, "live/") and not _spooled(srv, iid)

        await _until(uploaded, "the segment was not uploaded (or its local copy kept)", 20)
        await cand.disconnect()
        size = weed.client().head_object(Bucket=weed.bucket, Key=key)["ContentLength"]
        assert _metric(srv, "interview_live_recording_uploads_total", outcome="uploaded") == 1
        assert _metric(srv, "interview_live_recording_upload_bytes_total") == size

        url = f"{srv.base_url}/api/recordings/{rec.id}"
        auth = {"Authorization": f"Bearer {admin}"}
        async with srv.http.get(url, headers=auth) as resp:
            assert resp.status == 200, await resp.text()
            whole = await resp.read()
        played = await asyncio.to_thread(decode, whole)
        assert played.video_frames > 20 and played.audio_s > 2.0, played
        assert len(whole) == rec.bytes and len(whole) > CHUNK
        first, last = CHUNK - 100, CHUNK + 100  # across the encrypted chunks' boundary
        async with srv.http.get(url, headers={**auth, "Range": f"bytes={first}-{last}"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(whole)}"
            assert await resp.read() == whole[first : last + 1]

        await srv.call("POST", f"/api/interviews/{iid}/revoke", token=admin)  # not running
        await srv.call("DELETE", f"/api/interviews/{iid}/personal-data", token=admin)
        assert await asyncio.to_thread(weed.keys, f"live/{iid}/") == []
        assert await srv.svc.store.recordings(iid) == []


async def test_retention_deletes_the_objects(weed: SeaweedS3, tmp_path: Path) -> None:
    async with running_server(
        tmp_path / "data", analysis_workers=0, **weed.settings("retention")
    ) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        me = await srv.call("GET", "/api/me", token=admin)
        iid, _rec_id, path = await _stored_segment(srv, admin, os.urandom(100_000))
        srv.svc.recordings.segment_finished(f"{iid}/{path.name}")

        async def uploaded() -> bool:
            return not path.exists()

        await _until(uploaded, "not uploaded", UPLOAD_WAIT_S)
        assert await asyncio.to_thread(weed.keys, f"retention/{iid}/") == [
            f"retention/{iid}/{path.name}"
        ]
        await srv.svc.db.execute(
            "INSERT INTO decisions(interview_id, reviewer_id, reviewer, recommendation, comment,"
            " created_at) VALUES(?,?,?,?,?,?)",
            iid,
            me["id"],
            "admin",
            "advance",
            "",
            time.time() - 40 * DAY_S,
        )
        await srv.call(
            "PUT", "/api/org/settings", token=admin, json={"retention": {"recordings_days": 30}}
        )
        (removed,) = await sweep_retention(srv.svc)
        assert removed["interview_id"] == iid and removed["files_deleted"] == 1
        assert await asyncio.to_thread(weed.keys, f"retention/{iid}/") == []


async def _readyz(srv: RunningServer) -> tuple[int, list[str]]:
    async with srv.http.get(srv.base_url + "/readyz") as resp:
        return resp.status, (await resp.json()).get("failed", [])


async def test_an_upload_that_fails_keeps_the_file_and_goes_up_once_the_store_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings_module, "RETRY_MAX_S", 2.0)  # the test waits less
    with seaweed_s3() as weed:
        async with running_server(
            tmp_path / "data", analysis_workers=0, **weed.settings("outage")
        ) as srv:
            admin = await srv.add_staff("admin", Role.ADMIN)
            plain = os.urandom(300_000)
            assert await _readyz(srv) == (200, [])
            await asyncio.to_thread(weed.stop)  # the store goes away
            assert await _readyz(srv) == (503, ["recordings"])  # traffic is held back
            iid, rec_id, path = await _stored_segment(srv, admin, plain)
            srv.svc.recordings.segment_finished(f"{iid}/{path.name}")

            async def failed() -> bool:
                return _metric(srv, "interview_live_recording_uploads_total", outcome="failed") > 0

            await _until(failed, "no failed upload counted", UPLOAD_WAIT_S)
            assert path.is_file()  # kept for the next try
            # meanwhile this node (it wrote the file) still plays it from its spool
            url = f"{srv.base_url}/api/recordings/{rec_id}"
            auth = {"Authorization": f"Bearer {admin}", "Range": "bytes=70000-70999"}
            async with srv.http.get(url, headers=auth) as resp:
                assert resp.status == 206 and await resp.read() == plain[70000:71000]

            started = time.monotonic()
            await asyncio.to_thread(weed.start)  # back, same address and data

            async def uploaded() -> bool:
                return not path.exists()

            await _until(uploaded, "not uploaded after the store came back", 40)
            print(f"uploaded {time.monotonic() - started:.1f} s after the store was restarted")
            assert await asyncio.to_thread(weed.keys, f"outage/{iid}/") == [
                f"outage/{iid}/{path.name}"
            ]
            async with srv.http.get(url, headers=auth) as resp:
                assert resp.status == 206 and await resp.read() == plain[70000:71000]
            assert srv.svc.recordings.pending == 0

            async def ready() -> bool:
                return await _readyz(srv) == (200, [])

            await _until(ready, "not ready after the store came back", 30)


async def test_the_sweep_rescues_what_a_crashed_process_left_in_the_spool(
    weed: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings_module, "SPOOL_ADOPT_AFTER_S", 5.0)
    video = face_y4m(tmp_path / "face.y4m", seconds=4.0)
    audio = speech_wav("I enjoy helping people solve their problems.", tmp_path / "a.wav")
    webm = mux_webm(video, audio, tmp_path / "answer.webm", seconds=4.0).read_bytes()
    async with running_server(
        tmp_path / "data", analysis_workers=0, **weed.settings("rescue")
    ) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        # a closed, registered segment whose upload the crash interrupted …
        iid, _rec, closed = await _stored_segment(srv, admin, os.urandom(50_000))
        # … and the segment the process was writing: what its writer had sealed
        left = closed.parent / segment_name(0, time.time() + 1)
        writer = EncryptedFile.create(tmp_path / "writing", srv.svc.keyring)
        writer.write(webm)
        shutil.copy(tmp_path / "writing", left)  # the last chunk was still in memory
        writer.close()
        for path in (closed, left):
            os.utime(path, (time.time() - 60, time.time() - 60))

        storage = srv.svc.recordings
        assert isinstance(storage, ObjectStorage)
        await storage.sweep()  # what a restarted node does first

        async def rescued() -> bool:
            return not _spooled(srv, iid)

        await _until(rescued, "the spool was not emptied", UPLOAD_WAIT_S)
        recordings = await srv.svc.store.recordings(iid)
        assert sorted(r.path for r in recordings) == sorted(
            f"{iid}/{p.name}" for p in (closed, left)
        )
        assert sorted(await asyncio.to_thread(weed.keys, f"rescue/{iid}/")) == sorted(
            f"rescue/{r.path}" for r in recordings
        )
        adopted = next(r for r in recordings if r.path.endswith(left.name))
        assert 2.0 < adopted.duration_s <= 4.1 and adopted.video_frames > 0
        async with srv.http.get(
            f"{srv.base_url}/api/recordings/{adopted.id}",
            headers={"Authorization": f"Bearer {admin}"},
        ) as resp:
            assert resp.status == 200
            played = await asyncio.to_thread(decode, await resp.read())
        assert played.video_frames > 0 and played.audio_s > 1.0, played
