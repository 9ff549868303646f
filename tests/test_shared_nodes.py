"""Nodes with data directories of their own share what makes them one deployment: the
database, the recordings folder (``--recordings-dir``), the master keys
(``INTERVIEW_MASTER_KEYS``) and the secret key (``INTERVIEW_SECRET_KEY``). A recording written
by one node plays, with byte ranges, from another whose data directory differs; its signed
link verifies on every node with the same secret key and on no other. A segment a crashed
node left unfinished is adopted where the interview continues, and plays."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

from loadtest.candidate.recordings import decode
from loadtest.inprocess import make_job
from server.core.config import ConfigError, load_settings
from server.domain.models import Role
from server.interview import session as session_module
from server.interview.recording_files import (
    delete_interview_files,
    existing_file,
    left_behind,
    prepare_root,
    segment_name,
    stored_name,
)
from server.security.keyring import KeyRing
from server.security.stream import EncryptedFile
from tests.support.candidate import ScriptedCandidate
from tests.support.media import face_y4m, mux_webm, speech_wav
from tests.support.server import running_server, store_url
from tests.test_api import invite


def test_the_secret_key_comes_from_the_environment_checked_and_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = secrets.token_hex(32)
    settings = load_settings(env={"INTERVIEW_SECRET_KEY": key, "INTERVIEW_DATA_DIR": str(tmp_path)})
    assert settings.secret_key == bytes.fromhex(key)
    assert key not in repr(settings) and repr(bytes.fromhex(key)) not in repr(settings)
    for bad, why in (
        ("not-hex-" + key[8:], "hexadecimal"),
        (key[:30], "too short"),
    ):
        with pytest.raises(ConfigError, match=f"INTERVIEW_SECRET_KEY.*{why}") as caught:
            load_settings(env={"INTERVIEW_SECRET_KEY": bad})
        assert bad not in str(caught.value)
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(env={}, secret_key=b"short")

    # a node that made its own key file before: the shared key wins, the difference is said
    (tmp_path / "secret.key").write_text(secrets.token_hex(32))
    with caplog.at_level(logging.WARNING):
        assert settings.with_secret().secret_key == bytes.fromhex(key)
    (warning,) = [
        r.getMessage() for r in caplog.records if "INTERVIEW_SECRET_KEY" in r.getMessage()
    ]
    assert "no longer verify" in warning and key not in warning
    # without the variable: the data directory's key, made once
    own = load_settings(env={}, data_dir=tmp_path / "own").with_secret()
    assert own.with_secret().secret_key == own.secret_key != settings.secret_key
    assert (tmp_path / "own" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_recordings_folder_is_a_setting_defaulting_to_the_data_directory() -> None:
    assert load_settings(env={}, data_dir=Path("/srv/a")).recordings_root == Path(
        "/srv/a/recordings"
    )
    shared = load_settings(
        env={"INTERVIEW_RECORDINGS_DIR": "/mnt/recordings", "INTERVIEW_DATA_DIR": "/srv/b"}
    )
    assert shared.recordings_root == Path("/mnt/recordings")


def test_recording_files_stay_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    prepare_root(root)
    assert root.stat().st_mode & 0o777 == 0o700
    (root / "iv_1").mkdir()
    (root / "iv_1" / "00-1.webm").write_bytes(b"x")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"keep")
    assert stored_name("iv_1", "00-1.webm") == "iv_1/00-1.webm"
    for bad in (("iv_1", "../x.webm"), ("..", "x.webm"), ("iv_1/sub", "x.webm")):
        with pytest.raises(ValueError):
            stored_name(*bad)
    assert existing_file(root, "iv_1/00-1.webm") == (root / "iv_1" / "00-1.webm").resolve()
    legacy = str(root / "iv_1" / "00-1.webm")  # an absolute path from before migration 5
    assert existing_file(root, legacy) == (root / "iv_1" / "00-1.webm").resolve()
    for escape in ("../secret.txt", str(outside), "iv_1/../../secret.txt", ""):
        assert existing_file(root, escape) is None
    # deleting an interview's recordings: its files, a segment nobody registered, the folder
    (root / "iv_1" / "01-2.webm").write_bytes(b"orphan of a crashed node")
    (root / "iv_2").mkdir()
    (root / "iv_2" / "00-3.webm").write_bytes(b"another interview")
    assert delete_interview_files(root, "iv_1", ["iv_1/00-1.webm", "../secret.txt"]) == 2
    assert not (root / "iv_1").exists() and (root / "iv_2" / "00-3.webm").exists()
    assert outside.read_bytes() == b"keep"
    assert delete_interview_files(root, "..", []) == 0 and outside.exists()
    # a folder the server cannot write in stops the start with a clear message
    with pytest.raises(ConfigError, match="recordings_dir: .*own the folder"):
        prepare_root(outside / "recordings")


async def test_a_recording_written_on_one_node_plays_from_another(tmp_path: Path) -> None:
    shared = tmp_path / "shared-recordings"
    keys = KeyRing.load_or_create(tmp_path / "master-keys.json").to_json()
    one_deployment = {
        "database_url": store_url(tmp_path / "a"),
        "recordings_dir": shared,
        "master_keys": keys,
        "secret_key": os.urandom(32),
        "analysis_workers": 0,
    }
    async with (
        running_server(tmp_path / "a", **one_deployment) as media,
        running_server(tmp_path / "b", **one_deployment) as api,
        running_server(tmp_path / "c", **{**one_deployment, "secret_key": os.urandom(32)}) as other,
    ):
        admin = await media.add_staff("admin", Role.ADMIN)
        job = await make_job(media, admin)
        iid = (await invite(media, admin, job["id"], "Mei"))["interview_id"]
        answer = await media.svc.store.ensure_answer(iid, 0, "q")
        plain = os.urandom(200_000)
        name = stored_name(iid, "00-1.webm")
        (shared / iid).mkdir()
        with EncryptedFile.create(shared / name, media.svc.keyring) as writer:
            writer.write(plain)
        info = {"path": name, "container": "webm", "duration_s": 1.0}
        counts = {"video_frames": 1, "audio_packets": 1, "bytes": len(plain)}
        rec_id = await media.svc.store.add_recording(answer.id, iid, {**info, **counts})
        assert not (tmp_path / "a" / "recordings" / iid).exists()  # not in a's data directory

        # the API node (another data directory) plays it, with ranges, to a bearer …
        url = f"{api.base_url}/api/recordings/{rec_id}"
        ranged = {"Authorization": f"Bearer {admin}", "Range": "bytes=70000-70999"}
        async with api.http.get(url, headers=ranged) as resp:
            assert resp.status == 206, await resp.text()
            assert resp.headers["Content-Range"] == f"bytes 70000-70999/{len(plain)}"
            assert await resp.read() == plain[70000:71000]
        # … and through the signed link it hands out, on any node with the same secret key
        detail = await api.call("GET", f"/api/interviews/{iid}", token=admin)
        (link,) = detail["answers"][0]["recording_urls"]
        query = link.split("?", 1)[1]
        for node in (api, media):
            async with node.http.get(f"{node.base_url}/api/recordings/{rec_id}?{query}") as resp:
                assert resp.status == 200 and await resp.read() == plain
        async with other.http.get(f"{other.base_url}/api/recordings/{rec_id}?{query}") as resp:
            assert resp.status == 403  # a node with a key of its own refuses the link


def test_only_old_unknown_segment_files_count_as_left_behind(tmp_path: Path) -> None:
    for name in ("00-1000.webm", "01-3000.webm", "01-2000.webm", "notes.txt", "02-9.webm"):
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - 60
    for name in ("00-1000.webm", "01-3000.webm", "01-2000.webm", "notes.txt"):
        os.utime(tmp_path / name, (old, old))
    found = left_behind(tmp_path, {"00-1000.webm"}, older_than_s=5)
    # by start time; a known file, a foreign one and one written just now are not
    assert found == [(1, tmp_path / "01-2000.webm"), (1, tmp_path / "01-3000.webm")]
    assert left_behind(tmp_path / "missing", set(), 5) == []


async def test_a_segment_a_crashed_node_left_is_adopted_where_the_interview_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "ADOPT_AFTER_S", 0.2)
    video = face_y4m(tmp_path / "face.y4m", seconds=4.0)
    audio = speech_wav("I enjoy helping people solve their problems.", tmp_path / "a.wav")
    webm = mux_webm(video, audio, tmp_path / "answer.webm", seconds=4.0).read_bytes()
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        admin = await srv.add_staff("admin", Role.ADMIN)
        job = await make_job(srv, admin)
        inv = await invite(srv, admin, job["id"], "Mei")
        iid, token = inv["interview_id"], inv["url"].rsplit("/i/", 1)[1]
        # the dead node's file: what its writer had sealed when the process was killed
        folder = srv.svc.settings.recordings_root / iid
        folder.mkdir(parents=True)
        left = folder / segment_name(0, time.time() - 30)
        writer = EncryptedFile.create(tmp_path / "writing", srv.svc.keyring)
        writer.write(webm)
        shutil.copy(tmp_path / "writing", left)  # the last chunk was still in memory
        writer.close()
        os.utime(left, (time.time() - 20, time.time() - 20))

        cand = ScriptedCandidate(srv.http, srv.base_url, token, video, audio)
        await cand.consent()
        await cand.connect_socket()  # the candidate is back: a session starts here
        try:
            deadline = time.monotonic() + 10
            while not (recordings := await srv.svc.store.recordings(iid)):
                assert time.monotonic() < deadline, "the segment left behind was not adopted"
                await asyncio.sleep(0.1)
        finally:
            await cand.disconnect()
        (rec,) = recordings
        assert rec.path == f"{iid}/{left.name}" and rec.media_start_s is None
        assert 2.0 < rec.duration_s <= 4.1 and rec.video_frames > 0 and rec.audio_packets > 0
        assert rec.bytes < len(webm)  # what was lost with the process: the unsealed tail
        detail = await srv.call("GET", f"/api/interviews/{iid}", token=admin)
        assert [r["id"] for r in detail["answers"][0]["recordings"]] == [rec.id]
        async with srv.http.get(
            f"{srv.base_url}/api/recordings/{rec.id}", headers={"Authorization": f"Bearer {admin}"}
        ) as resp:
            assert resp.status == 200
            played = decode(await resp.read())
        assert played.video_frames > 0 and played.audio_s > 1.0, played
