"""server.crypto: key ring, sealed blobs, chunked encrypted files (PyAV mux/demux), tampering."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import stat
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from server.security.blob import is_sealed, open_sealed, rewrap_sealed, seal
from server.security.keyring import (
    AES_256_GCM,
    ALGORITHMS,
    SM4_GCM,
    FormatError,
    KeyFileError,
    KeyRing,
    TamperedError,
    TruncatedError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    WrongKeyError,
)
from server.security.stream import (
    CHUNK_OVERHEAD_BYTES,
    DEFAULT_CHUNK_SIZE_BYTES,
    FILE_HEADER_SIZE_BYTES,
    EncryptedFile,
    is_encrypted_file,
    recover,
    rewrap,
)

CS = DEFAULT_CHUNK_SIZE_BYTES
SMALL_CS = 512  # many chunk boundaries in few bytes
RECORD_BYTES = CS + CHUNK_OVERHEAD_BYTES
# File header offsets (format version 1; docs/security.md).
ALG_AT, CHUNK_SIZE_AT, FILE_ID_AT, KEY_ID_AT, KEY_CHECK_AT, WRAPPED_AT = 5, 6, 18, 35, 99, 108
EBML_MAGIC = bytes.fromhex("1a45dfa3")
VIDEO_FPS = 15
VIDEO_FRAMES = 45  # 3 s
VIDEO_W_PX, VIDEO_H_PX = 160, 120
AUDIO_RATE_HZ = 48000
AUDIO_FRAME_SAMPLES = 960
AUDIO_S = 3

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=ALGORITHMS)
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ring(alg: str) -> KeyRing:
    return KeyRing({"k1": os.urandom(32)}, "k1", alg)


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def write_file(path: Path, ring: KeyRing, data: bytes, piece_max: int = 40000, **kw: int) -> None:
    rng = random.Random(len(data))
    with EncryptedFile.create(path, ring, **kw) as w:
        pos = 0
        while pos < len(data):
            step = rng.randint(1, piece_max)
            assert w.write(data[pos : pos + step]) == len(data[pos : pos + step])
            pos += step
        assert w.tell() == w.plaintext_size == len(data)


def read_file(path: Path, ring: KeyRing) -> bytes:
    with EncryptedFile.open(path, ring) as r:
        return r.read()


def flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def body_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()[FILE_HEADER_SIZE_BYTES:]).hexdigest()


# -- blobs ---------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", "答案：候选人".encode() * 300])
def test_blob_round_trip(ring: KeyRing, plaintext: bytes) -> None:
    blob = seal(ring, plaintext, b"interview/42/transcript")
    assert is_sealed(blob) and not is_sealed(plaintext)
    assert len(plaintext) < 16 or plaintext[:16] not in blob
    assert open_sealed(ring, blob, b"interview/42/transcript") == plaintext


def test_blob_aad_binds_it_to_its_row(ring: KeyRing) -> None:
    blob = seal(ring, b"notes", b"interview/42/scratchpad")
    with pytest.raises(TamperedError, match="wrong aad"):
        open_sealed(ring, blob, b"interview/43/scratchpad")
    with pytest.raises(TamperedError):
        open_sealed(ring, blob)


def test_blob_tampering(ring: KeyRing) -> None:
    blob = seal(ring, b"secret transcript")
    for offset in (len(blob) - 1, len(blob) - 20, 30):  # tag, ciphertext, wrapped key
        bad = bytearray(blob)
        bad[offset] ^= 1
        with pytest.raises(TamperedError):
            open_sealed(ring, bytes(bad))
    with pytest.raises(TruncatedError):
        open_sealed(ring, blob[:40])
    with pytest.raises(FormatError):
        open_sealed(ring, b"plain text")


def test_blob_other_algorithm_and_rewrap(ring: KeyRing) -> None:
    other = SM4_GCM if ring.algorithm == AES_256_GCM else AES_256_GCM
    blob = seal(ring, b"value", b"aad", algorithm=other)
    assert open_sealed(ring, blob, b"aad") == b"value"
    ring.rotate(save=False)
    rewrapped = rewrap_sealed(ring, blob)
    assert rewrapped.endswith(blob[-30:]) and rewrapped != blob
    ring.remove("k1", save=False)
    assert open_sealed(ring, rewrapped, b"aad") == b"value"
    with pytest.raises(UnknownKeyError, match="'k1'"):
        open_sealed(ring, blob, b"aad")


# -- files: round trips --------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 3 * CS + 17])
def test_file_round_trip(tmp_path: Path, ring: KeyRing, size: int) -> None:
    data = payload(size)
    path = tmp_path / "f.enc"
    write_file(path, ring, data)
    chunks = max(1, -(-size // CS))
    assert path.stat().st_size == FILE_HEADER_SIZE_BYTES + size + chunks * CHUNK_OVERHEAD_BYTES
    assert is_encrypted_file(path)
    # Read with a ring whose setting is the other algorithm: the header decides.
    other = SM4_GCM if ring.algorithm == AES_256_GCM else AES_256_GCM
    reader_ring = KeyRing.from_json(ring.to_json(), other)
    with EncryptedFile.open(path, reader_ring) as r:
        assert r.readable() and r.seekable() and not r.writable()
        assert r.plaintext_size == size
        assert r.read() == data
        assert r.read(10) == b""
        r.seek(-min(size, 5), io.SEEK_END)
        assert r.read() == data[-min(size, 5) :]


def test_read_range_random(tmp_path: Path, ring: KeyRing) -> None:
    data = payload(5 * CS + 1234, seed=1)
    path = tmp_path / "f.enc"
    write_file(path, ring, data)
    rng = random.Random(2)
    with EncryptedFile.open(path, ring) as r:
        edges = [0, CS - 1, CS, CS + 1, len(data) - 1]
        cases = [(a, b) for a in edges for b in edges if a <= b]
        for _ in range(200):
            a = rng.randrange(len(data))
            cases.append((a, rng.randrange(a, min(len(data), a + 3 * CS))))
        for start, end in cases:
            assert r.read_range(start, end) == data[start : end + 1]
        assert r.tell() == 0  # read_range does not move the position
        with pytest.raises(ValueError):
            r.read_range(0, len(data))


def test_seek_back_rewrite_matches_bytesio(tmp_path: Path, ring: KeyRing) -> None:
    ops: list[Callable[[io.RawIOBase | io.BytesIO], object]] = [
        lambda f: f.write(payload(200_000, seed=3)),
        lambda f: f.seek(10),
        lambda f: f.write(b"HELLO"),
        lambda f: f.seek(0, io.SEEK_END),
        lambda f: f.write(payload(70_000, seed=4)),
        lambda f: f.seek(CS - 2),  # a patch across a sealed chunk boundary
        lambda f: f.write(b"abcd"),
        lambda f: f.seek(5, io.SEEK_END),  # a gap past the end reads as zeros
        lambda f: f.write(b"tail"),
    ]
    expected = io.BytesIO()
    path = tmp_path / "f.enc"
    with EncryptedFile.create(path, ring) as w:
        assert w.writable() and w.seekable() and not w.readable()
        for op in ops:
            assert op(w) == op(expected)
            assert w.tell() == expected.tell()
    assert read_file(path, ring) == expected.getvalue()


def test_random_ops_match_bytesio(tmp_path: Path, ring: KeyRing) -> None:
    rng = random.Random(5)
    expected = io.BytesIO()
    path = tmp_path / "f.enc"
    with EncryptedFile.create(path, ring, chunk_size_bytes=SMALL_CS) as w:
        for i in range(400):
            if rng.random() < 0.3:
                target = rng.randrange(expected.seek(0, io.SEEK_END) + SMALL_CS)
                assert w.seek(target) == expected.seek(target)
            else:
                data = payload(rng.randint(0, 3 * SMALL_CS), seed=i)
                w.write(data)
                expected.write(data)
            if rng.random() < 0.05:
                w.flush()
    assert read_file(path, ring) == expected.getvalue()


# -- files: PyAV ---------------------------------------------------------------------


def mux_webm(fileobj: io.RawIOBase | io.BytesIO) -> None:
    """A 3 s VP8 + Opus WebM, the same bytes every time; noisy frames span several chunks."""
    container = av.open(fileobj, mode="w", format="webm", container_options={"fflags": "+bitexact"})
    video = container.add_stream("libvpx", rate=VIDEO_FPS)
    video.width, video.height, video.pix_fmt = VIDEO_W_PX, VIDEO_H_PX, "yuv420p"
    audio = container.add_stream("libopus", rate=AUDIO_RATE_HZ)
    audio.layout = "mono"
    rng = np.random.default_rng(6)
    for i in range(VIDEO_FRAMES):
        img = rng.integers(0, 256, (VIDEO_H_PX, VIDEO_W_PX, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, VIDEO_FPS)
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    t = np.arange(AUDIO_RATE_HZ * AUDIO_S) / AUDIO_RATE_HZ
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for k in range(0, len(tone), AUDIO_FRAME_SAMPLES):
        af = av.AudioFrame.from_ndarray(
            tone[None, k : k + AUDIO_FRAME_SAMPLES], format="flt", layout="mono"
        )
        af.sample_rate, af.pts = AUDIO_RATE_HZ, k
        container.mux(audio.encode(af))
    container.mux(audio.encode(None))
    container.close()


def test_pyav_muxes_into_and_decodes_from_encrypted_file(tmp_path: Path, ring: KeyRing) -> None:
    assert {"libvpx", "libopus"} <= av.codecs_available
    path = tmp_path / "answer.webm.enc"
    with EncryptedFile.create(path, ring) as w:
        mux_webm(w)
    raw = path.read_bytes()
    expected = io.BytesIO()
    mux_webm(expected)
    with EncryptedFile.open(path, ring) as r:
        plaintext = r.read()
        assert plaintext == expected.getvalue()
        assert plaintext.startswith(EBML_MAGIC)
        assert r.plaintext_size > CS  # the muxer's final seek-back patched a sealed chunk
        r.seek(0)
        with av.open(r) as container:
            assert container.streams.video[0].codec_context.name == "vp8"
            video_frames = sum(1 for _ in container.decode(video=0))
        r.seek(0)
        with av.open(r) as container:
            audio_samples = sum(f.samples for f in container.decode(audio=0))
    assert video_frames == VIDEO_FRAMES
    assert audio_samples >= AUDIO_RATE_HZ * AUDIO_S - AUDIO_FRAME_SAMPLES
    assert EBML_MAGIC not in raw
    body = raw[FILE_HEADER_SIZE_BYTES:]  # the header holds only our own fields
    windows = {body[i : i + 16] for i in range(len(body) - 15)}
    assert not any(plaintext[i : i + 16] in windows for i in range(len(plaintext) - 15))
    flip(path, FILE_HEADER_SIZE_BYTES + 1000)  # PyAV re-raises our error from its read callback
    with EncryptedFile.open(path, ring) as r, pytest.raises(TamperedError, match="chunk 0"):
        av.open(r).close()


# -- files: tampering and keys -------------------------------------------------------


@pytest.fixture
def three_chunks(tmp_path: Path, ring: KeyRing) -> tuple[Path, bytes]:
    data = payload(2 * CS + 100, seed=7)
    path = tmp_path / "f.enc"
    write_file(path, ring, data)
    return path, data


def test_flipped_chunk_byte_fails_that_chunk(
    ring: KeyRing, three_chunks: tuple[Path, bytes]
) -> None:
    path, data = three_chunks
    flip(path, FILE_HEADER_SIZE_BYTES + RECORD_BYTES + 1000)  # inside chunk 1
    with EncryptedFile.open(path, ring) as r:
        assert r.read_range(0, CS - 1) == data[:CS]
        with pytest.raises(TamperedError, match="chunk 1 failed authentication") as exc:
            r.read_range(CS, CS + 5)
        assert type(exc.value) is TamperedError
        r.seek(0)
        with pytest.raises(TamperedError):
            r.read()


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (CHUNK_SIZE_AT + 2, TamperedError),
        (FILE_ID_AT, TamperedError),
        (WRAPPED_AT + 20, TamperedError),
        (FILE_HEADER_SIZE_BYTES - 1, TamperedError),  # padding
        (KEY_ID_AT, UnknownKeyError),
        (KEY_CHECK_AT, WrongKeyError),
        (0, FormatError),
    ],
)
def test_flipped_header_byte(
    ring: KeyRing, three_chunks: tuple[Path, bytes], offset: int, error: type[Exception]
) -> None:
    path, _ = three_chunks
    flip(path, offset)
    with pytest.raises(error) as exc:
        EncryptedFile.open(path, ring)
    assert type(exc.value) is error


def test_swapped_chunks(ring: KeyRing, three_chunks: tuple[Path, bytes]) -> None:
    path, data = three_chunks
    raw = bytearray(path.read_bytes())
    first, second = FILE_HEADER_SIZE_BYTES, FILE_HEADER_SIZE_BYTES + RECORD_BYTES
    raw[first:second], raw[second : second + RECORD_BYTES] = (
        raw[second : second + RECORD_BYTES],
        raw[first:second],
    )
    path.write_bytes(bytes(raw))
    with EncryptedFile.open(path, ring) as r:
        assert r.read_range(2 * CS, len(data) - 1) == data[2 * CS :]
        with pytest.raises(TamperedError, match="chunk 0"):
            r.read()


@pytest.mark.parametrize("cut", [1, 100 + CHUNK_OVERHEAD_BYTES, 100 + CHUNK_OVERHEAD_BYTES + 1])
def test_truncated_file(ring: KeyRing, three_chunks: tuple[Path, bytes], cut: int) -> None:
    path, _ = three_chunks
    os.truncate(path, path.stat().st_size - cut)
    with pytest.raises(TruncatedError):
        EncryptedFile.open(path, ring)


def test_trailing_bytes_and_missing_last_record(
    ring: KeyRing, three_chunks: tuple[Path, bytes]
) -> None:
    path, _ = three_chunks
    with open(path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(TamperedError, match="trailing"):
        EncryptedFile.open(path, ring)
    # Drop the last record but keep the header's size: still caught.
    os.truncate(path, FILE_HEADER_SIZE_BYTES + 2 * RECORD_BYTES)
    with pytest.raises(TruncatedError):
        EncryptedFile.open(path, ring)


def test_unsupported_algorithm(tmp_path: Path, three_chunks: tuple[Path, bytes]) -> None:
    with pytest.raises(UnsupportedAlgorithmError, match="chacha"):
        KeyRing({"k1": os.urandom(32)}, "k1", "chacha20")
    path, _ = three_chunks
    raw = bytearray(path.read_bytes())
    raw[ALG_AT] = 99
    path.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedAlgorithmError, match="code 99"):
        EncryptedFile.open(path, KeyRing({"k1": os.urandom(32)}, "k1"))


def test_wrong_and_unknown_master_key(ring: KeyRing, three_chunks: tuple[Path, bytes]) -> None:
    path, _ = three_chunks
    with pytest.raises(WrongKeyError, match="'k1'"):
        EncryptedFile.open(path, KeyRing({"k1": os.urandom(32)}, "k1"))
    with pytest.raises(UnknownKeyError, match="'k1'"):
        EncryptedFile.open(path, KeyRing({"k9": os.urandom(32)}, "k9"))
    with pytest.raises(WrongKeyError):
        open_sealed(KeyRing({"k1": os.urandom(32)}, "k1"), seal(ring, b"x"))


def test_unclosed_writer_reads_as_truncated_and_recovers(tmp_path: Path, ring: KeyRing) -> None:
    path, crashed = tmp_path / "f.enc", tmp_path / "crashed.enc"
    data = payload(3 * CS + 500, seed=8)
    with EncryptedFile.create(path, ring) as w:
        w.write(data[: 2 * CS + 10])
        shutil.copy(path, crashed)  # chunks 0 and 1 sealed, chunk 2 only in memory
        w.write(data[2 * CS + 10 :])
        w.flush()
        shutil.copy(path, tmp_path / "flushed.enc")
    with pytest.raises(TruncatedError, match="never closed"):
        EncryptedFile.open(crashed, ring)
    with pytest.raises(TruncatedError):
        rewrap(crashed, ring)
    assert recover(crashed, ring) == 2 * CS
    assert read_file(crashed, ring) == data[: 2 * CS]
    assert recover(tmp_path / "flushed.enc", ring) == len(data)
    assert read_file(tmp_path / "flushed.enc", ring) == data
    assert recover(path, ring) == len(data)  # closed: left as it is
    assert read_file(path, ring) == data


def test_every_seal_uses_a_fresh_nonce(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "f.enc"
    data = payload(CS + 1, seed=10)

    def chunk0_nonce() -> bytes:
        with open(path, "rb") as f:
            f.seek(FILE_HEADER_SIZE_BYTES)
            return f.read(12)

    with EncryptedFile.create(path, ring) as w:
        w.write(data)  # chunk 0 sealed when the write moved on to chunk 1
        first = chunk0_nonce()
        w.seek(0)
        w.write(data[:1])  # same plaintext again
        w.flush()
        second = chunk0_nonce()
    assert first != second
    assert read_file(path, ring) == data


def test_closed_objects_refuse_io(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "f.enc"
    w = EncryptedFile.create(path, ring)
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.write(b"x")
    r = EncryptedFile.open(path, ring)
    r.close()
    with pytest.raises(ValueError):
        r.read()
    assert not is_encrypted_file(Path(__file__))


# -- key ring and rotation -----------------------------------------------------------


def test_key_file_created_0600_and_reloaded(tmp_path: Path, alg: str) -> None:
    path = tmp_path / "keys.json"
    ring = KeyRing.load_or_create(path, alg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ring.current_id == "k1" and ring.path == path and ring.algorithm == alg
    assert KeyRing.load_or_create(path, alg).to_json() == ring.to_json() == path.read_text()
    assert "k1" in repr(ring) and json.loads(path.read_text())["keys"]["k1"] not in repr(ring)
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]


def test_rotation_rewraps_header_only(tmp_path: Path, alg: str) -> None:
    key_path = tmp_path / "keys.json"
    ring = KeyRing.load_or_create(key_path, alg)
    data = payload(CS + 99, seed=9)
    path = tmp_path / "f.enc"
    write_file(path, ring, data)
    before = body_sha256(path)
    assert ring.rotate() == "k2"
    assert json.loads(key_path.read_text())["current"] == "k2"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert rewrap(path, ring) is True
    assert rewrap(path, ring) is False
    assert body_sha256(path) == before
    ring.remove("k1")
    reloaded = KeyRing.load(key_path, alg)
    assert reloaded.key_ids == ("k2",)
    assert read_file(path, reloaded) == data
    with pytest.raises(KeyFileError, match="current"):
        reloaded.remove("k2")


def test_key_string_errors_name_the_problem() -> None:
    good = KeyRing({"k1": os.urandom(32)}, "k1").to_json()
    ring = KeyRing.from_json(good, source="INTERVIEW_KEYS")
    with pytest.raises(KeyFileError, match="to_json"):
        ring.rotate()
    assert ring.rotate(save=False) == "k2" and ring.current_id == "k2"
    bad_cases = {
        "{": "INTERVIEW_KEYS: not JSON",
        '{"current": "k1", "keys": {"k1": "AAAA"}}': r"keys\.k1 must be base64 of 32 bytes",
        '{"current": "k2", "keys": {}}': "current key 'k2'",
        '{"keys": {}}': "'current'",
        '{"current": "k 1", "keys": {"k 1": "AAAA"}}': "key id 'k 1'",
    }
    for text, message in bad_cases.items():
        with pytest.raises(KeyFileError, match=message):
            KeyRing.from_json(text, source="INTERVIEW_KEYS")
