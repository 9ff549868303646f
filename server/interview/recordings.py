"""Where recordings are kept: one contract, two backends.

- :class:`FolderStorage` (the default): the recordings folder (``--recordings-dir``), local or
  a mount every node shares. Media nodes write there, API nodes read and delete there.
- :class:`ObjectStorage` (``--recordings-url s3://bucket/prefix``): an S3-compatible object
  store. A media node still writes each segment into its own recordings folder (the spool) as
  before; when the segment ends (closed, registered), an upload task puts the encrypted file
  in the store in a worker thread, confirms it, and only then deletes the local copy. A
  failed upload is retried with back-off and never loses the file; what is left in the spool
  (a crash, a full queue, a restart) is found by the sweep, which also adopts the segments a
  crashed process of this node left unfinished. API nodes play objects by range GETs and
  delete them; a segment not uploaded yet plays from the spool of the process that wrote it.

Both hand playback a :class:`~server.security.encrypted_media.RangeSource` (or, for a local
file written before encryption, its path). The bytes are the same encrypted files either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from server.core.config import ObjectLocation, Settings
from server.core.metrics import Metrics
from server.interview.recording_files import (
    SEGMENT_NAME,
    adopted_info,
    delete_interview_files,
    existing_file,
    resolve,
    stored_name,
)
from server.security.encrypted_media import (
    OBJECT_OPEN_BYTES,
    RangeSource,
    adopt_recording,
    open_object_recording,
    open_recording,
)
from server.security.keyring import KeyRing
from server.security.stream import is_finished
from server.storage.errors import NotFound
from server.storage.objects import BadName, ObjectStore, StorageUnavailable
from server.storage.store import Store

logger = logging.getLogger(__name__)

UPLOAD_QUEUE_MAX = 256
"""Segments waiting for an upload task; past it a segment waits in the spool for the sweep."""
UPLOAD_TASKS = 2
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
"""Back-off between attempts at one segment while the object store fails."""
SWEEP_EVERY_S = 30.0
"""How often the spool is looked through for segments no upload task holds."""
SPOOL_ADOPT_AFTER_S = 30.0
"""An unfinished segment untouched this long, of an interview with no session on this
process, was left by a crashed process of this node: the sweep finalises and registers it."""


class RecordingStorage(ABC):
    """Where recordings are kept; :attr:`root` is where this process's recorder writes."""

    def __init__(self, root: Path, keyring: KeyRing) -> None:
        self.root = root
        self._keyring = keyring
        self._probe: asyncio.Task[None] | None = None

    async def ready(self) -> None:
        """Return when recordings can be kept now (``/readyz``); raise what is wrong.

        One probe runs at a time, in a thread: a hung mount holds that one thread, and later
        callers (which give up after their own timeout) wait for the same probe.
        """
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(
                asyncio.to_thread(self.check), name="recordings-probe"
            )
            self._probe.add_done_callback(_retrieve)
        await asyncio.shield(self._probe)

    def check(self) -> None:
        """Blocking: that this process can write its recordings folder (a probe file)."""
        check_writable(self.root)

    @abstractmethod
    async def open(self, stored: str) -> RangeSource | Path | None:
        """The recording the database names ``stored``, opened for playback; None when it is
        missing. Raises ``CryptoError`` (it does not decrypt) or :class:`StorageUnavailable`."""

    @abstractmethod
    async def delete_interview(self, interview_id: str, stored: Iterable[str]) -> int:
        """Delete the interview's recordings (the named ones and anything else of the
        interview's); returns how many files or objects went. Raises
        :class:`StorageUnavailable` when the object store cannot delete them (nothing is
        then forgotten: the caller keeps the rows and tries again)."""

    def segment_finished(self, stored: str) -> None:
        """A segment of this process, closed and registered (or adopted): keep it (the
        folder already does)."""
        return None

    async def start(self, live: Callable[[], Collection[str]] | None) -> None:
        """Start background work; ``live`` (media processes): the interviews with a session
        on this process."""
        return None

    async def aclose(self) -> None:
        """Stop background work; segments not kept yet stay in the spool."""
        return None

    @property
    def pending(self) -> int:
        """Segments waiting for upload (held by upload tasks or queued)."""
        return 0


def _retrieve(task: asyncio.Task[None]) -> None:
    """Read a probe's outcome even when every caller gave up waiting for it."""
    if not task.cancelled():
        task.exception()


PROBE_NAME = ".ready-probe-{pid}"


def check_writable(root: Path) -> None:
    """Raise OSError unless a file can be created, written and removed in ``root``."""
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    probe = root / PROBE_NAME.format(pid=os.getpid())
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"ok")
        os.fsync(fd)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


async def open_local(root: Path, keyring: KeyRing, stored: str) -> RangeSource | Path | None:
    """A recording in the folder ``root``, opened for playback (see
    :meth:`RecordingStorage.open`)."""
    path = await asyncio.to_thread(existing_file, root, stored)
    if path is None:
        return None
    reader = await open_recording(path, keyring)
    return path if reader is None else reader


class FolderStorage(RecordingStorage):
    """The recordings folder, possibly a mount every node shares: nothing to move."""

    async def open(self, stored: str) -> RangeSource | Path | None:
        return await open_local(self.root, self._keyring, stored)

    async def delete_interview(self, interview_id: str, stored: Iterable[str]) -> int:
        return await asyncio.to_thread(
            delete_interview_files, self.root, interview_id, list(stored)
        )


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """A segment file in the spool."""

    stored: str
    path: Path
    index: int
    finished: bool
    idle_s: float
    """Since it was last written."""


def scan_spool(root: Path) -> list[SpoolEntry]:
    """Every segment file in the interview folders under ``root`` (blocking)."""
    found = []
    now = time.time()
    with contextlib.suppress(FileNotFoundError):
        for folder in root.iterdir():
            if folder.is_symlink() or not folder.is_dir():
                continue
            for entry in folder.iterdir():
                match = SEGMENT_NAME.match(entry.name)
                if match is None or entry.is_symlink() or not entry.is_file():
                    continue
                try:
                    finished = is_finished(entry)
                    idle_s = now - entry.stat().st_mtime
                    stored = stored_name(folder.name, entry.name)
                except (OSError, ValueError):
                    continue  # gone meanwhile, or not ours to read
                found.append(SpoolEntry(stored, entry, int(match["index"]), finished, idle_s))
    return found


def remove_local(path: Path) -> None:
    """Delete a spooled file, and its interview folder once empty (blocking)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(OSError):  # not empty: another segment
        path.parent.rmdir()


class ObjectStorage(RecordingStorage):
    """An S3-compatible object store, with this process's recordings folder as the spool."""

    def __init__(
        self,
        root: Path,
        keyring: KeyRing,
        objects: ObjectStore,
        store: Store,
        metrics: Metrics,
    ) -> None:
        super().__init__(root, keyring)
        self.objects = objects
        self._store = store
        self._metrics = metrics
        self._queue: asyncio.Queue[str] = asyncio.Queue(UPLOAD_QUEUE_MAX)
        self._held: set[str] = set()
        """Queued or being uploaded: the sweep leaves these alone."""
        self._given_up: set[str] = set()
        """Spooled files the sweep could not make anything of (logged once)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._live: Callable[[], Collection[str]] = frozenset

    @property
    def pending(self) -> int:
        return len(self._held)

    def check(self) -> None:
        """Blocking: the spool is writable and the bucket answers to these credentials."""
        check_writable(self.root)
        self.objects.check()

    async def start(self, live: Callable[[], Collection[str]] | None) -> None:
        try:
            await asyncio.to_thread(self.objects.check)
        except StorageUnavailable as exc:  # recording goes on; uploads wait for the store
            logger.error("%s (%s); recordings wait in %s", exc, self.objects.location, self.root)
        if live is None:
            return
        self._live = live
        self._tasks = [
            asyncio.create_task(self._upload_forever(), name=f"recording-upload-{n}")
            for n in range(UPLOAD_TASKS)
        ]
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="recording-sweep"))

    async def aclose(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._held:
            logger.info(
                "%d recording segments wait in %s for the next start", len(self._held), self.root
            )

    # -- playback and deletion (any node) ---------------------------------------------------

    async def open(self, stored: str) -> RangeSource | Path | None:
        try:
            source = await asyncio.to_thread(self.objects.open, stored, OBJECT_OPEN_BYTES)
        except BadName:
            logger.error("not reading %s: not a recording name", stored)
            return None
        except StorageUnavailable:
            source = None
            if await asyncio.to_thread(existing_file, self.root, stored) is None:
                raise
        if source is None:  # not uploaded yet: in this process's spool, if it wrote it
            return await open_local(self.root, self._keyring, stored)
        return await asyncio.to_thread(open_object_recording, source, self._keyring)

    async def delete_interview(self, interview_id: str, stored: Iterable[str]) -> int:
        names = set(stored)
        try:
            names |= set(await asyncio.to_thread(self.objects.names_under, interview_id))
        except BadName as exc:
            logger.error("not deleting recordings of %r: %s", interview_id, exc)
            return 0
        ours = [
            n
            for n in names
            if self.objects.is_name(n) and PurePosixPath(n).parts[0] == interview_id
        ]
        for name in names.difference(ours):
            logger.error("not deleting %s: not a recording of %s", name, interview_id)
        deleted = await asyncio.to_thread(self.objects.delete, ours)
        return deleted + await asyncio.to_thread(
            delete_interview_files, self.root, interview_id, list(names)
        )

    # -- uploads (media nodes) --------------------------------------------------------------

    def segment_finished(self, stored: str) -> None:
        if stored in self._held or not self._tasks:
            return
        try:
            self._queue.put_nowait(stored)
        except asyncio.QueueFull:
            logger.warning("upload queue full; %s waits in the spool for the sweep", stored)
            return
        self._held.add(stored)

    async def _upload_forever(self) -> None:
        while True:
            stored = await self._queue.get()
            try:
                await self._upload_until_kept(stored)
            finally:
                self._held.discard(stored)

    async def _upload_until_kept(self, stored: str) -> None:
        delay_s = RETRY_FIRST_S
        while True:
            try:
                await self._upload(stored)
                return
            except Exception as exc:  # the store or the database: the file stays, try again
                self._metrics.recording_uploads.labels("failed").inc()
                logger.warning(
                    "upload of %s failed (%s); the file is kept, next try in %.0f s",
                    stored,
                    exc,
                    delay_s,
                )
            await asyncio.sleep(delay_s)
            delay_s = min(RETRY_MAX_S, delay_s * 2)

    async def _registered(self, stored: str) -> bool:
        interview_id = PurePosixPath(stored).parts[0]
        return any(r.path == stored for r in await self._store.recordings(interview_id))

    async def _upload(self, stored: str) -> None:
        """Put one closed, registered segment in the store, then drop the local copy. A
        segment whose row is gone (erased, or expired) is deleted instead, also from the
        store if the erasure came while it was going up."""
        path = resolve(self.root, stored)
        if path is None or not await asyncio.to_thread(path.is_file):
            return  # deleted here meanwhile (erasure on this process)
        if not await self._registered(stored):
            logger.info("%s was erased before its upload; deleting the local copy", stored)
            await asyncio.to_thread(remove_local, path)
            return
        started = time.perf_counter()
        size = await asyncio.to_thread(self.objects.upload, path, stored)
        if not await self._registered(stored):
            await asyncio.to_thread(self.objects.delete, [stored])
            await asyncio.to_thread(remove_local, path)
            return
        await asyncio.to_thread(remove_local, path)
        elapsed_s = time.perf_counter() - started
        self._metrics.recording_uploads.labels("uploaded").inc()
        self._metrics.recording_upload_bytes.inc(size)
        self._metrics.recording_upload_duration.observe(elapsed_s)
        logger.info("uploaded %s (%d bytes, %.2f s)", stored, size, elapsed_s)

    # -- the sweep (media nodes) ------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                logger.exception("recording sweep failed; trying again later")
            await asyncio.sleep(SWEEP_EVERY_S)

    async def sweep(self) -> None:
        """Queue the spool's closed segments no task holds; adopt (finalise and register)
        what a crashed process of this node left of an interview that has no session here."""
        live = set(self._live())
        for entry in await asyncio.to_thread(scan_spool, self.root):
            if entry.stored in self._held or entry.stored in self._given_up:
                continue
            interview_id = PurePosixPath(entry.stored).parts[0]
            if entry.finished and await self._registered(entry.stored):
                self.segment_finished(entry.stored)
            elif interview_id not in live and entry.idle_s > SPOOL_ADOPT_AFTER_S:
                await self._adopt(interview_id, entry)

    async def _adopt(self, interview_id: str, entry: SpoolEntry) -> None:
        try:
            interview = await self._store.get_interview(interview_id)
        except NotFound:
            interview = None
        if (
            interview is None
            or interview.erased_at is not None
            or any(e["kind"] == "retention_deleted" for e in await self._store.events(interview_id))
        ):
            logger.info("%s: its interview's recordings were removed; deleting it", entry.stored)
            await asyncio.to_thread(remove_local, entry.path)
            return
        probed = None
        if 0 <= entry.index < len(interview.plan):
            try:
                probed = await asyncio.to_thread(adopt_recording, entry.path, self._keyring)
            except Exception:
                logger.exception("cannot adopt the recording %s left behind", entry.stored)
        if probed is None:
            logger.error("%s left behind holds nothing playable; it stays", entry.stored)
            self._given_up.add(entry.stored)
            return
        question = interview.plan[entry.index]["question"]
        answer = await self._store.ensure_answer(interview_id, entry.index, question["id"])
        await self._store.add_recording(answer.id, interview_id, adopted_info(entry.stored, probed))
        logger.warning(
            "adopted recording %s (%.1f s) that a crashed process left unfinished",
            entry.stored,
            probed.duration_s,
        )
        self.segment_finished(entry.stored)


def recording_storage(
    settings: Settings, keyring: KeyRing, store: Store, metrics: Metrics
) -> RecordingStorage:
    """The backend the settings name: the object store of ``recordings_url``, else the folder."""
    if not settings.recordings_url:
        return FolderStorage(settings.recordings_root, keyring)
    objects = ObjectStore(
        ObjectLocation.parse(settings.recordings_url),
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
    )
    return ObjectStorage(settings.recordings_root, keyring, objects, store, metrics)
