"""Recordings are stored encrypted and played back decrypted, with byte ranges for seeking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loadtest.inprocess import make_job
from server.domain.models import Role
from server.security.encrypted_media import SEND_WINDOW_BYTES, parse_range
from server.security.stream import EncryptedFile
from tests.support.server import running_server
from tests.test_api import invite


def test_parse_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-", 100) == (0, 99)
    assert parse_range("bytes=10-19", 100) == (10, 19)
    assert parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range("bytes=-30", 100) == (70, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    for bad in ("bytes=100-", "bytes=20-10", "bytes=-0"):
        with pytest.raises(ValueError):
            parse_range(bad, 100)


async def test_encrypted_recording_is_served_decrypted_with_ranges(tmp_path: Path) -> None:
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        job = await make_job(srv, admin)
        inv = await invite(srv, admin, job["id"], "Mei")
        iid = inv["interview_id"]
        store = srv.svc.store
        answer = await store.ensure_answer(iid, 0, "q")
        rec_dir = srv.svc.settings.recordings_root / iid
        rec_dir.mkdir(parents=True)
        path = rec_dir / "00.webm"
        plain = os.urandom(3 * SEND_WINDOW_BYTES + 12_345)  # several windows and chunks
        with EncryptedFile.create(path, srv.svc.keyring) as writer:
            writer.write(plain)
        assert plain[1000:1100] not in path.read_bytes()
        rec_id = await store.add_recording(
            answer.id,
            iid,
            {
                "path": f"{iid}/00.webm",
                "container": "webm",
                "duration_s": 1.0,
                "video_frames": 1,
                "audio_packets": 1,
                "bytes": len(plain),
            },
        )
        url = f"{srv.base_url}/api/recordings/{rec_id}"
        auth = {"Authorization": f"Bearer {admin}"}
        async with srv.http.get(url, headers=auth) as resp:
            assert resp.status == 200 and resp.headers["Accept-Ranges"] == "bytes"
            assert await resp.read() == plain
        size = len(plain)
        across = (SEND_WINDOW_BYTES - 5, 2 * SEND_WINDOW_BYTES + 5)  # spans send windows
        for header, (first, last) in (
            ("bytes=0-99", (0, 99)),
            (f"bytes={across[0]}-{across[1]}", across),
            ("bytes=-1000", (size - 1000, size - 1)),
        ):
            async with srv.http.get(url, headers={**auth, "Range": header}) as resp:
                assert resp.status == 206, header
                assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
                assert await resp.read() == plain[first : last + 1]
        async with srv.http.get(url, headers={**auth, "Range": f"bytes={len(plain)}-"}) as resp:
            assert resp.status == 416
            assert resp.headers["Content-Range"] == f"bytes */{len(plain)}"
        # a tampered file is refused before any byte is sent
        raw = bytearray(path.read_bytes())
        raw[-20] ^= 0x01  # inside the last chunk, checked when the file is opened
        path.write_bytes(bytes(raw))
        async with srv.http.get(url, headers=auth) as resp:
            assert resp.status == 500
            assert (await resp.json())["error"] == "recording_unreadable"
