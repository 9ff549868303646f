"""Recordings at rest: encrypted while written, decrypted on the fly for byte ranges.

The recorder writes each answer through :class:`server.security.stream.EncryptedWriter` (in its
writer thread). Playback (:func:`server.api.http.send_recording`) answers ``Range`` requests
(the examiner's player seeks) by decrypting only the chunks a window needs, in a worker thread,
window by window, so a whole recording is never in memory and the event loop never decrypts.
A recording whose writer died (its media node crashed) is finalised and read back by
:func:`adopt_recording`, so it can be played like the others. A recording in an object store
is read the same way over range GETs (:func:`open_object_recording`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from media.recorder import ProbedSegment, probe_segment
from server.security.keyring import CryptoError, KeyRing, TamperedError
from server.security.stream import (
    FILE_HEADER_SIZE_BYTES,
    FILE_MAGIC,
    EncryptedFile,
    EncryptedReader,
    is_encrypted_file,
    is_encrypted_start,
    recover,
)
from server.storage.objects import RemoteObject, StorageUnavailable

logger = logging.getLogger(__name__)

SEND_WINDOW_BYTES = 512 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def recording_opener(keyring: KeyRing) -> Any:
    """The recorder's file factory: every answer file encrypted with a fresh data key."""
    return partial(_create, keyring=keyring)


def _create(path: Path, keyring: KeyRing) -> Any:
    return EncryptedFile.create(path, keyring)


def recording_adopter(keyring: KeyRing) -> Any:
    """:func:`adopt_recording` with the deployment's keys."""
    return partial(adopt_recording, keyring=keyring)


def adopt_recording(path: Path, keyring: KeyRing) -> ProbedSegment | None:
    """Finalise a recording its writer never closed (the process died) and say what it
    holds; None when nothing of it can be read. Keeps what the writer had sealed (see
    :func:`server.security.stream.recover`); a closed file is only read. Blocking: run it in
    a thread; only for a file no process writes any more."""
    if not is_encrypted_file(path):  # written before encryption was on
        return probe_segment(str(path), path.stat().st_size)
    size = recover(path, keyring)
    if size == 0:
        return None
    with EncryptedFile.open(path, keyring) as reader:
        probed = probe_segment(reader, size)
    return probed if probed.video_frames + probed.audio_packets else None


class RangeSource(Protocol):
    """A recording's plaintext, read by byte range (blocking: from a worker thread)."""

    path: Path

    @property
    def plaintext_size(self) -> int: ...

    def read_range(self, start: int, end_inclusive: int) -> bytes: ...

    def close(self) -> None: ...


class PlainObject:
    """An object written before encryption was on, sent as it is (:class:`RangeSource`)."""

    def __init__(self, source: RemoteObject) -> None:
        self._source = source
        self.path = source.path

    @property
    def plaintext_size(self) -> int:
        return self._source.size

    def read_range(self, start: int, end_inclusive: int) -> bytes:
        self._source.prefetch(start, end_inclusive - start + 1)
        self._source.seek(start)
        return self._source.read(end_inclusive - start + 1) or b""

    def close(self) -> None:
        self._source.close()


OBJECT_OPEN_BYTES = FILE_HEADER_SIZE_BYTES
"""What the first GET of an object reads: the encrypted file's header."""


def open_object_recording(source: RemoteObject, keyring: KeyRing) -> RangeSource:
    """A reader of an object's plaintext (checked like a local file: header, length, last
    chunk). Blocking: run it in a thread. Raises :class:`CryptoError` (logged) when it
    cannot be opened, ``StorageUnavailable`` when the store cannot be read."""
    head = source.read(len(FILE_MAGIC) + 1) or b""
    if not is_encrypted_start(head):
        return PlainObject(source)
    try:
        return EncryptedFile.open_source(source, source.size, source.path, keyring)
    except CryptoError as exc:
        source.close()
        _log_crypto(source.path, exc)
        raise
    except BaseException:
        source.close()
        raise


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single ``bytes=`` range; None = whole file.

    Raises ``ValueError`` for a range that cannot be satisfied (416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or odd ranges: send the whole file (allowed by RFC 9110)
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix: the last N bytes
        length = int(last_s)
        if length == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - length), size - 1
    first = int(first_s)
    last = min(int(last_s), size - 1) if last_s else size - 1
    if first >= size or last < first:
        raise ValueError("range outside the file")
    return first, last


async def open_recording(path: Path, keyring: KeyRing) -> EncryptedReader | None:
    """A reader of the recording's plaintext, or None for a file written before encryption
    was on (sent as it is). Raises :class:`CryptoError` (logged) when it cannot be opened."""
    if not await asyncio.to_thread(is_encrypted_file, path):
        return None
    try:
        return await asyncio.to_thread(EncryptedFile.open, path, keyring)
    except CryptoError as exc:
        _log_crypto(path, exc)
        raise


async def plaintext_windows(
    reader: RangeSource, first: int, last: int
) -> AsyncGenerator[bytes, None]:
    """Plaintext bytes ``first..last`` (inclusive), decrypted in a worker thread one window
    (:data:`SEND_WINDOW_BYTES`) at a time; ends early (logged) at a chunk that does not
    decrypt or cannot be fetched."""
    position = first
    while position <= last:
        end = min(last, position + SEND_WINDOW_BYTES - 1)
        try:
            data = await asyncio.to_thread(reader.read_range, position, end)
        except CryptoError as exc:
            _log_crypto(reader.path, exc)
            return
        except StorageUnavailable as exc:
            logger.error(
                "recording %s: reading stopped at byte %d: %s", reader.path.name, position, exc
            )
            return
        yield data
        position = end + 1


def _log_crypto(path: Path, exc: CryptoError) -> None:
    if isinstance(exc, TamperedError):
        logger.error("INTEGRITY: recording %s fails authentication: %s", path.name, exc)
    else:
        logger.error("recording %s cannot be decrypted: %s", path.name, exc)
