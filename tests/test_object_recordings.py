"""Recordings in an S3-compatible object store (``--recordings-url s3://bucket/prefix``),
against a real SeaweedFS started by the test on loopback: segments go up (in parts when big)
when they end and the local copy goes only after the upload is confirmed; playback reads the
encrypted object by range GETs (seeking never downloads the whole recording); erasure and
retention delete the objects; an upload that fails keeps the file and succeeds once the store
is back; a crashed process's leftovers are rescued by the sweep."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.core.config import ConfigError, ObjectLocation, load_settings
from server.security.encrypted_media import (
    OBJECT_OPEN_BYTES,
    SEND_WINDOW_BYTES,
    open_object_recording,
)
from server.security.keyring import KeyRing
from server.security.stream import DEFAULT_CHUNK_SIZE_BYTES, EncryptedFile
from server.storage.objects import MULTIPART_THRESHOLD_BYTES, ObjectStore
from tests.support.seaweed import SeaweedS3, seaweed_s3

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
