"""Chunked encrypted files for recordings (:class:`EncryptedFile`).

Fixed-size chunks, each sealed with a fresh random nonce and bound to the file id, its
index and a "last" flag. The writer is a seekable binary file object PyAV can mux into; the
reader is a seekable binary file object PyAV can demux from, plus
:meth:`EncryptedReader.read_range` for HTTP range requests. Keys and the envelope:
:mod:`server.security.keyring`.

Nothing here is thread-safe: use one writer or reader per thread. Cost: one AEAD per 64 KiB
chunk (AES-GCM with AES-NI is ~GB/s; SM4-GCM ~100 MB/s), so decrypt in a worker thread,
never on the event loop.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag

from server.security.keyring import (
    FORMAT_VERSION,
    KEY_CHECK_SIZE_BYTES,
    KEY_ID_MAX_BYTES,
    NONCE_SIZE_BYTES,
    TAG_SIZE_BYTES,
    Algorithm,
    FormatError,
    Kek,
    KeyRing,
    TamperedError,
    TruncatedError,
    algorithm_by_code,
    algorithm_named,
    wrapped_size_bytes,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

FILE_MAGIC = b"ILEF"
FILE_HEADER_SIZE_BYTES = 256
"""Fixed, so :func:`rewrap` can rewrite the header in place with any key id."""
DEFAULT_CHUNK_SIZE_BYTES = 64 * 1024
MIN_CHUNK_SIZE_BYTES = 512
MAX_CHUNK_SIZE_BYTES = 16 * 1024 * 1024
FILE_ID_SIZE_BYTES = 16
CHUNK_OVERHEAD_BYTES = NONCE_SIZE_BYTES + TAG_SIZE_BYTES
_UNFINISHED_SIZE = 2**64 - 1
"""Plaintext size in the header of a file whose writer has not closed it."""

# File header: magic, version, algorithm code, chunk size, plaintext size, file id,
# key id length, key id (zero-padded), key check value, wrapped key length.
_FILE_FIXED = struct.Struct(
    f">4sBBIQ{FILE_ID_SIZE_BYTES}sB{KEY_ID_MAX_BYTES}s{KEY_CHECK_SIZE_BYTES}sB"
)
_CHUNK_AAD = struct.Struct(f">{FILE_ID_SIZE_BYTES}sQB")


@dataclass(slots=True)
class _FileHeader:
    alg: Algorithm
    chunk_size_bytes: int
    plaintext_size: int
    file_id: bytes
    key_id: str
    check: bytes
    wrapped: bytes

    def fixed(self) -> bytes:
        """The authenticated part (the wrap's AAD)."""
        return _FILE_FIXED.pack(
            FILE_MAGIC,
            FORMAT_VERSION,
            self.alg.code,
            self.chunk_size_bytes,
            self.plaintext_size,
            self.file_id,
            len(self.key_id),
            self.key_id.encode("ascii"),
            self.check,
            len(self.wrapped),
        )

    def pack(self) -> bytes:
        return (self.fixed() + self.wrapped).ljust(FILE_HEADER_SIZE_BYTES, b"\0")

    @classmethod
    def parse(cls, raw: bytes, path: Path) -> _FileHeader:
        if raw[: len(FILE_MAGIC)] != FILE_MAGIC:
            raise FormatError(f"{path}: not an encrypted file (bad magic)")
        if len(raw) < FILE_HEADER_SIZE_BYTES:
            raise TruncatedError(f"{path}: truncated inside the header")
        (_, version, code, chunk, size, file_id, kid_len, kid, check, wrapped_len) = (
            _FILE_FIXED.unpack_from(raw)
        )
        if version != FORMAT_VERSION:
            raise FormatError(f"{path}: format version {version} is not supported")
        alg = algorithm_by_code(code)
        end = _FILE_FIXED.size + wrapped_len
        if (
            wrapped_len != wrapped_size_bytes(alg)
            or not 1 <= kid_len <= KEY_ID_MAX_BYTES
            or any(kid[kid_len:])
            or any(raw[end:FILE_HEADER_SIZE_BYTES])
        ):
            raise TamperedError(f"{path}: header authentication failed")
        try:
            key_id = kid[:kid_len].decode("ascii")
        except UnicodeDecodeError:
            raise TamperedError(f"{path}: header authentication failed") from None
        wrapped = raw[_FILE_FIXED.size : end]
        return cls(alg, chunk, size, file_id, key_id, check, wrapped)

    def unwrap(self, keyring: KeyRing, path: Path) -> tuple[Kek, bytes]:
        kek = Kek.derive(keyring, self.key_id, self.alg)
        data_key = kek.unwrap(self.check, self.wrapped, self.fixed(), str(path))
        if not MIN_CHUNK_SIZE_BYTES <= self.chunk_size_bytes <= MAX_CHUNK_SIZE_BYTES:
            raise TamperedError(f"{path}: chunk size {self.chunk_size_bytes} out of range")
        return kek, data_key

    def rewrap(self, kek: Kek, data_key: bytes) -> None:
        """Wrap ``data_key`` again (fresh nonce) under ``kek`` with the current fields."""
        self.key_id, self.check = kek.key_id, kek.check
        self.wrapped = bytes(wrapped_size_bytes(self.alg))  # length is part of the AAD
        self.wrapped = kek.wrap(data_key, self.fixed())


def _write_at(f: io.FileIO, offset: int, data: bytes) -> None:
    f.seek(offset)
    view = memoryview(data)
    while view:
        written = f.write(view)
        if not written:
            raise OSError(f"short write to {f.name}")
        view = view[written:]


def _read_header(f: io.FileIO, path: Path) -> _FileHeader:
    f.seek(0)
    return _FileHeader.parse(f.read(FILE_HEADER_SIZE_BYTES), path)


class _Chunks:
    """Seal and open the chunk records of one file (one data key, one file id)."""

    def __init__(self, f: io.RawIOBase, header: _FileHeader, data_key: bytes, path: Path) -> None:
        self.f = f
        self.path = path
        self.file_id = header.file_id
        self.chunk_size_bytes = header.chunk_size_bytes
        self.record_size_bytes = header.chunk_size_bytes + CHUNK_OVERHEAD_BYTES
        self.aead = header.alg.aead(data_key)

    def offset(self, index: int) -> int:
        return FILE_HEADER_SIZE_BYTES + index * self.record_size_bytes

    def seal(self, index: int, plaintext: bytes, last: bool) -> None:
        assert isinstance(self.f, io.FileIO)  # only local files are written
        nonce = os.urandom(NONCE_SIZE_BYTES)  # fresh for every (re-)seal
        aad = _CHUNK_AAD.pack(self.file_id, index, last)
        _write_at(self.f, self.offset(index), nonce + self.aead.encrypt(nonce, plaintext, aad))

    def open(self, index: int, length: int, last: bool) -> bytes:
        self.f.seek(self.offset(index))
        record = self.f.read(length + CHUNK_OVERHEAD_BYTES) or b""
        if len(record) != length + CHUNK_OVERHEAD_BYTES:
            raise TruncatedError(f"{self.path}: chunk {index} is truncated")
        aad = _CHUNK_AAD.pack(self.file_id, index, last)
        try:
            return self.aead.decrypt(record[:NONCE_SIZE_BYTES], record[NONCE_SIZE_BYTES:], aad)
        except InvalidTag:
            raise TamperedError(f"{self.path}: chunk {index} failed authentication") from None


def _chunk_count(size: int, chunk_size_bytes: int) -> int:
    """Chunks holding ``size`` plaintext bytes; an empty file still has one (empty) chunk."""
    return max(1, -(-size // chunk_size_bytes))


def seek_target(position: int, size: int, offset: int, whence: int) -> int:
    """Where ``seek(offset, whence)`` moves a file at ``position`` of ``size`` bytes.

    Raises:
        ValueError: an unknown ``whence`` or a negative target.
    """
    base = {io.SEEK_SET: 0, io.SEEK_CUR: position, io.SEEK_END: size}.get(whence)
    if base is None:
        raise ValueError(f"invalid whence {whence}")
    if base + offset < 0:
        raise ValueError(f"negative seek position {base + offset}")
    return base + offset


class _Positioned(io.RawIOBase):
    """Seeking in plaintext offsets, shared by the encrypting writer and the reader."""

    _pos: int
    _size: int

    @property
    def plaintext_size(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        self._pos = seek_target(self._pos, self._size, offset, whence)
        return self._pos


class EncryptedWriter(_Positioned):
    """Writable, seekable binary file that encrypts chunk by chunk; see :meth:`EncryptedFile.create`.

    The chunk under the write position is kept in memory and sealed when a write
    moves to another chunk, on :meth:`flush` and on :meth:`close`. A write into an
    already-sealed chunk decrypts it, patches it and re-seals it with a fresh nonce.
    :meth:`close` seals the final chunk with the "last" flag and records the size in
    the header; until then the file reads as truncated. PyAV never closes a file
    object it was given: close the container first, then the writer (with the writer
    closed first, PyAV silently skips the trailer).
    """

    def __init__(self, f: io.FileIO, header: _FileHeader, kek: Kek, data_key: bytes, path: Path):
        super().__init__()
        self._f = f
        self._header = header
        self._kek = kek
        self._data_key = data_key
        self._chunks = _Chunks(f, header, data_key, path)
        self._cs = header.chunk_size_bytes
        self._pos = 0
        self._size = 0
        self._index = 0
        self._buf = bytearray()
        self._dirty = True  # chunk 0 exists from the start, even if empty
        self.path = path

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def write(self, b: ReadableBuffer) -> int:
        self._checkClosed()
        data = memoryview(b).cast("B")
        if self._pos > self._size:  # a seek past the end: the gap reads as zeros
            gap, self._pos = self._pos - self._size, self._size
            while gap:
                gap -= self._write(bytes(min(gap, self._cs)))
        return self._write(data)

    def _write(self, data: memoryview | bytes) -> int:
        done = 0
        while done < len(data):
            index, offset = divmod(self._pos, self._cs)
            self._load(index)
            take = min(self._cs - offset, len(data) - done)
            self._buf[offset : offset + take] = data[done : done + take]
            self._dirty = True
            done += take
            self._pos += take
            self._size = max(self._size, self._pos)
        return done

    def flush(self) -> None:
        """Seal the chunk in memory (not as last) so everything written is on disk."""
        if self.closed or self._f.closed:
            return
        self._seal_current(last=False)
        self._f.flush()

    def close(self) -> None:
        """Seal the last chunk with the "last" flag, write the final header, close."""
        if self.closed:
            return
        try:
            last = _chunk_count(self._size, self._cs) - 1
            self._load(last)
            self._seal_current(last=True, force=True)
            self._header.plaintext_size = self._size
            self._header.rewrap(self._kek, self._data_key)
            _write_at(self._f, 0, self._header.pack())
        finally:
            self._f.close()
            super().close()

    def _seal_current(self, last: bool, force: bool = False) -> None:
        if self._dirty or force:
            self._chunks.seal(self._index, bytes(self._buf), last)
            self._dirty = False

    def _load(self, index: int) -> None:
        if index == self._index:
            return
        self._seal_current(last=False)
        start = index * self._cs
        if start < self._size:  # on disk, sealed (not last)
            length = min(self._cs, self._size - start)
            self._buf = bytearray(self._chunks.open(index, length, last=False))
        else:
            self._buf = bytearray()
        self._index = index


@runtime_checkable
class Prefetching(Protocol):
    """A source that can bring a span in with one request before it is read (a remote
    object: one range GET instead of one per chunk)."""

    def prefetch(self, offset: int, length: int) -> None: ...


class EncryptedReader(_Positioned):
    """Readable, seekable binary file that decrypts; see :meth:`EncryptedFile.open`.

    Keeps one decrypted chunk cached, so sequential small reads decrypt each chunk once.
    """

    def __init__(self, f: io.RawIOBase, chunks: _Chunks, plaintext_size: int, path: Path):
        super().__init__()
        self._f = f
        self._chunks = chunks
        self._cs = chunks.chunk_size_bytes
        self._size = plaintext_size
        self._last = _chunk_count(plaintext_size, self._cs) - 1
        self._record_end = (
            chunks.offset(self._last)
            + (plaintext_size - self._last * self._cs)
            + CHUNK_OVERHEAD_BYTES
        )
        """Where the last record ends: the file's size."""
        self._pos = 0
        self._cached_index = -1
        self._cached = b""
        self.path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._checkClosed()
        out = memoryview(buffer).cast("B")
        n = max(0, min(len(out), self._size - self._pos))
        out[:n] = self._slice(self._pos, self._pos + n)
        self._pos += n
        return n

    def read_range(self, start: int, end_inclusive: int) -> bytes:
        """Plaintext bytes ``start..end_inclusive`` (an HTTP byte range); decrypts only
        the chunks it needs. Does not move the read position."""
        self._checkClosed()
        if not 0 <= start <= end_inclusive < self._size:
            raise ValueError(f"range {start}-{end_inclusive} outside 0-{self._size - 1}")
        if isinstance(self._f, Prefetching):  # the records of every chunk in the range
            first, last = start // self._cs, end_inclusive // self._cs
            end = min(self._chunks.offset(last + 1), self._record_end)
            self._f.prefetch(self._chunks.offset(first), end - self._chunks.offset(first))
        return self._slice(start, end_inclusive + 1)

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()

    def _slice(self, start: int, stop: int) -> bytes:
        parts = []
        pos = start
        while pos < stop:
            index, offset = divmod(pos, self._cs)
            chunk = self._chunk(index)
            take = min(len(chunk) - offset, stop - pos)
            parts.append(chunk[offset : offset + take])
            pos += take
        return b"".join(parts)

    def _chunk(self, index: int) -> bytes:
        if index != self._cached_index:
            length = min(self._cs, self._size - index * self._cs)
            self._cached = self._chunks.open(index, length, last=index == self._last)
            self._cached_index = index
        return self._cached


class EncryptedFile:
    """Entry points for chunked encrypted files.

    Layout: a 256-byte header, then one record per chunk of plaintext (64 KiB by
    default): ``nonce(12) || ciphertext || tag(16)``, with AAD ``file id || chunk
    index (u64) || last flag (u8)``. Only the final record may be shorter.
    """

    @staticmethod
    def create(
        path: Path | str,
        keyring: KeyRing,
        algorithm: str | None = None,
        chunk_size_bytes: int = DEFAULT_CHUNK_SIZE_BYTES,
    ) -> EncryptedWriter:
        """Create (or truncate) ``path`` for writing; ``algorithm`` defaults to the ring's."""
        path = Path(path)
        alg = algorithm_named(algorithm or keyring.algorithm)
        if not MIN_CHUNK_SIZE_BYTES <= chunk_size_bytes <= MAX_CHUNK_SIZE_BYTES:
            raise ValueError(
                f"chunk_size_bytes must be {MIN_CHUNK_SIZE_BYTES}..{MAX_CHUNK_SIZE_BYTES}"
            )
        kek = Kek.derive(keyring, keyring.current_id, alg)
        data_key = os.urandom(alg.key_size_bytes)
        header = _FileHeader(
            alg=alg,
            chunk_size_bytes=chunk_size_bytes,
            plaintext_size=_UNFINISHED_SIZE,
            file_id=os.urandom(FILE_ID_SIZE_BYTES),
            key_id=kek.key_id,
            check=kek.check,
            wrapped=b"",
        )
        header.rewrap(kek, data_key)
        f = io.FileIO(path, "w+")
        try:
            _write_at(f, 0, header.pack())
        except BaseException:
            f.close()
            raise
        return EncryptedWriter(f, header, kek, data_key, path)

    @staticmethod
    def open(path: Path | str, keyring: KeyRing) -> EncryptedReader:
        """Open for reading: checks the header, the file length and the last chunk."""
        path = Path(path)
        f = io.FileIO(path, "r")
        try:
            return EncryptedFile.open_source(f, os.fstat(f.fileno()).st_size, path, keyring)
        except BaseException:
            f.close()
            raise

    @staticmethod
    def open_source(f: io.RawIOBase, size: int, path: Path, keyring: KeyRing) -> EncryptedReader:
        """:meth:`open` for any seekable binary source of ``size`` bytes (an object in an
        object store, say; ``path`` names it in errors). The reader closes ``f``."""
        f.seek(0)
        header = _FileHeader.parse(f.read(FILE_HEADER_SIZE_BYTES) or b"", path)
        _, data_key = header.unwrap(keyring, path)
        if header.plaintext_size == _UNFINISHED_SIZE:
            raise TruncatedError(f"{path}: the writer never closed it (see recover())")
        chunks = _Chunks(f, header, data_key, path)
        count = _chunk_count(header.plaintext_size, header.chunk_size_bytes)
        tail = header.plaintext_size - (count - 1) * header.chunk_size_bytes
        expected = chunks.offset(count - 1) + tail + CHUNK_OVERHEAD_BYTES
        if size < expected:
            raise TruncatedError(f"{path}: {size} bytes on disk, {expected} expected")
        if size > expected:
            raise TamperedError(f"{path}: {size - expected} unexpected trailing bytes")
        chunks.open(count - 1, tail, last=True)
        return EncryptedReader(f, chunks, header.plaintext_size, path)


def is_encrypted_file(path: Path | str) -> bool:
    """True if ``path`` starts like an :class:`EncryptedFile` (magic and version only)."""
    with open(path, "rb") as f:
        return is_encrypted_start(f.read(len(FILE_MAGIC) + 1))


def is_encrypted_start(head: bytes) -> bool:
    """True if a file's first bytes are those of an :class:`EncryptedFile`."""
    return head[: len(FILE_MAGIC) + 1] == FILE_MAGIC + bytes([FORMAT_VERSION])


def rewrap(path: Path | str, keyring: KeyRing) -> bool:
    """Re-wrap a closed file's data key with the current master key, in place.

    Rewrites the 256-byte header only (one write at offset 0, then fsync); chunk
    records are untouched. Returns False if the file already uses the current key.
    """
    path = Path(path)
    with io.FileIO(path, "r+") as f:
        header = _read_header(f, path)
        if header.plaintext_size == _UNFINISHED_SIZE:
            raise TruncatedError(f"{path}: the writer never closed it (see recover())")
        if header.key_id == keyring.current_id:
            return False
        _, data_key = header.unwrap(keyring, path)
        header.rewrap(Kek.derive(keyring, keyring.current_id, header.alg), data_key)
        _write_at(f, 0, header.pack())
        os.fsync(f.fileno())
    return True


def recover(path: Path | str, keyring: KeyRing) -> int:
    """Finalise a file whose writer never closed (process crash); returns its plaintext size.

    Keeps the leading chunks that authenticate (everything the writer had sealed: all
    chunks it moved past, and everything before its last :meth:`EncryptedWriter.flush`),
    drops the rest, seals the final kept chunk as last and writes the size. A recovered
    WebM has no cues and may end mid-cluster; FFmpeg still plays it. A closed file is
    left as it is.
    """
    path = Path(path)
    with io.FileIO(path, "r+") as f:
        header = _read_header(f, path)
        kek, data_key = header.unwrap(keyring, path)
        if header.plaintext_size != _UNFINISHED_SIZE:
            return header.plaintext_size
        chunks = _Chunks(f, header, data_key, path)
        body = os.fstat(f.fileno()).st_size - FILE_HEADER_SIZE_BYTES
        size, index, kept = 0, 0, b""
        while body - index * chunks.record_size_bytes >= CHUNK_OVERHEAD_BYTES:
            available = body - index * chunks.record_size_bytes - CHUNK_OVERHEAD_BYTES
            length = min(chunks.chunk_size_bytes, available)
            try:
                plaintext = chunks.open(index, length, last=False)
            except TamperedError:
                break
            kept, size = plaintext, size + len(plaintext)
            index += 1
            if length < chunks.chunk_size_bytes:
                break
        last = max(0, index - 1)
        chunks.seal(last, kept, last=True)
        f.truncate(chunks.offset(last) + len(kept) + CHUNK_OVERHEAD_BYTES)
        header.plaintext_size = size
        header.rewrap(kek, data_key)
        _write_at(f, 0, header.pack())
        os.fsync(f.fileno())
    return size


def is_finished(path: Path | str) -> bool:
    """True unless ``path`` is an encrypted file its writer has not closed (yet, or ever: a
    crashed process). Reads the header only; no key needed. A file that is not encrypted
    counts as finished."""
    path = Path(path)
    with io.FileIO(path, "r") as f:
        raw = f.read(FILE_HEADER_SIZE_BYTES)
    if not is_encrypted_start(raw):
        return True
    return _FileHeader.parse(raw, path).plaintext_size != _UNFINISHED_SIZE
