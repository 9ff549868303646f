"""Recording files in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW…).

Blocking: every method makes HTTP requests through boto3 (whose clients are thread-safe), so
call them from a worker thread (``asyncio.to_thread``), never on the event loop. Objects are
named like the database names the files: ``<prefix><interview id>/<file>``. What goes in is
already encrypted (``server.security.stream``); nothing here looks inside.

Reading is by HTTP range: :meth:`ObjectStore.open` fetches an object's first bytes (and learns
its size from ``Content-Range``) and hands back a :class:`RemoteObject`, a seekable read-only
file whose reads are range GETs, and whose :meth:`RemoteObject.prefetch` loads the span the
next reads need with one request.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.core.config import ObjectLocation
from server.security.stream import seek_target

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024
"""Objects from this size on go up in parts (one request per part, retried per part)."""
MULTIPART_PART_BYTES = 16 * 1024 * 1024
UPLOAD_PART_CONCURRENCY = 2
"""Parts in flight per upload (two cores; the uplink, not the CPU, is the limit)."""
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
REQUEST_ATTEMPTS = 3
"""botocore's own retries of one request (standard mode, with back-off) before it fails."""
MAX_PREFETCH_BYTES = 8 * 1024 * 1024
"""The largest span one :meth:`RemoteObject.prefetch` holds in memory."""
DELETE_BATCH = 1000
"""Keys per DeleteObjects request (the S3 limit)."""
DEFAULT_REGION = "us-east-1"
_STORED = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*/[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
"""A recording's name as the database keeps it: ``<interview id>/<file>``, nothing else."""
_FOLDER = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_CONTENT_RANGE = re.compile(r"^bytes \d+-\d+/(?P<size>\d+)$")


class StorageUnavailable(Exception):
    """The object store could not be reached or refused the request (credentials, bucket)."""


class BadName(ValueError):
    """A name that is not ``<interview id>/<file>``: never turned into an object key."""


def _unavailable(action: str, exc: Exception) -> StorageUnavailable:
    detail: object = exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()
    return StorageUnavailable(f"object store: {action}: {detail}")


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "404", "NotFound") or status == 404


class ObjectStore:
    """One bucket (and key prefix) on one S3-compatible endpoint."""

    def __init__(
        self,
        location: ObjectLocation,
        endpoint: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "",
    ) -> None:
        """``endpoint``: empty for AWS itself (virtual-hosted addressing), else the server's
        URL (path-style addressing, which every S3-compatible server speaks). Without keys,
        boto3's default chain is used (an instance role, say)."""
        self.location = location
        keys: dict[str, Any] = (
            {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
            if access_key
            else {}
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=region or DEFAULT_REGION,
            config=Config(
                s3={"addressing_style": "path" if endpoint else "auto"},
                retries={"max_attempts": REQUEST_ATTEMPTS, "mode": "standard"},
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
                # checksums only where S3 requires them: not every compatible server knows
                # the newer ones (the bytes are authenticated by their own encryption anyway)
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
            **keys,
        )
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD_BYTES,
            multipart_chunksize=MULTIPART_PART_BYTES,
            max_concurrency=UPLOAD_PART_CONCURRENCY,
        )

    def key(self, stored: str) -> str:
        """The object key of a recording the database names ``stored``.

        Raises:
            BadName: ``stored`` is not ``<interview id>/<file>``.
        """
        if _STORED.fullmatch(stored) is None:
            raise BadName(f"not a recording name: {stored!r}")
        return self.location.prefix + stored

    @staticmethod
    def is_name(stored: str) -> bool:
        """Whether ``stored`` is a recording name that :meth:`key` accepts."""
        return _STORED.fullmatch(stored) is not None

    def check(self) -> None:
        """That the bucket is there and these credentials may use it."""
        try:
            self._client.head_bucket(Bucket=self.location.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(f"bucket {self.location.bucket}", exc) from None

    def upload(self, path: Path, stored: str) -> int:
        """Put the file at ``path`` as ``stored`` (in parts from
        :data:`MULTIPART_THRESHOLD_BYTES` on) and confirm the object's size; returns it.

        Raises:
            StorageUnavailable: the upload failed or the stored object differs in size.
        """
        key = self.key(stored)
        size = path.stat().st_size
        try:
            self._client.upload_file(str(path), self.location.bucket, key, Config=self._transfer)
            stored_size = self._client.head_object(Bucket=self.location.bucket, Key=key)[
                "ContentLength"
            ]
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(f"upload {key}", exc) from None
        if stored_size != size:
            raise StorageUnavailable(f"object store: {key} holds {stored_size} bytes, not {size}")
        return size

    def open(self, stored: str, first_bytes: int) -> RemoteObject | None:
        """The object, with its first ``first_bytes`` read (one GET, which also tells the
        size); None when there is no such object."""
        key = self.key(stored)
        try:
            response = self._client.get_object(
                Bucket=self.location.bucket, Key=key, Range=f"bytes=0-{first_bytes - 1}"
            )
            head = response["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return RemoteObject(self, key, 0, b"")  # an empty object
            raise _unavailable(f"read {key}", exc) from None
        except BotoCoreError as exc:
            raise _unavailable(f"read {key}", exc) from None
        match = _CONTENT_RANGE.match(str(response.get("ContentRange", "")))
        size = int(match["size"]) if match else len(head)  # no range support: the whole object
        return RemoteObject(self, key, size, head)

    def read(self, key: str, first: int, last: int) -> bytes:
        """Bytes ``first..last`` (inclusive) of the object ``key``: one range GET."""
        try:
            response = self._client.get_object(
                Bucket=self.location.bucket, Key=key, Range=f"bytes={first}-{last}"
            )
            data: bytes = response["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(f"read {key}", exc) from None
        if len(data) != last - first + 1:
            raise StorageUnavailable(
                f"object store: {key}: {len(data)} bytes for range {first}-{last}"
            )
        return data

    def names_under(self, folder: str) -> list[str]:
        """The stored names of every object in ``folder`` (an interview's id)."""
        if _FOLDER.fullmatch(folder) is None:
            raise BadName(f"not an interview folder: {folder!r}")
        prefix = f"{self.location.prefix}{folder}/"
        names = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix
            )
            for page in pages:
                names += [
                    item["Key"][len(self.location.prefix) :] for item in page.get("Contents", [])
                ]
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(f"list {prefix}", exc) from None
        return names

    def delete(self, stored: Iterable[str]) -> int:
        """Delete the named objects (missing ones count as deleted: S3 does not tell);
        returns how many were asked for."""
        keys = [self.key(name) for name in stored]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            try:
                response = self._client.delete_objects(
                    Bucket=self.location.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as exc:
                raise _unavailable("delete", exc) from None
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageUnavailable(
                    f"object store: delete {first.get('Key')}: {first.get('Code')} "
                    f"({len(response['Errors'])} not deleted)"
                )
        return len(keys)


class RemoteObject(io.RawIOBase):
    """A read-only, seekable file over one object: a read is a range GET of what it asks
    for, unless :meth:`prefetch` already brought that span in (one span is kept)."""

    def __init__(self, store: ObjectStore, key: str, size: int, head: bytes) -> None:
        super().__init__()
        self._store = store
        self.key = key
        self.size = size
        self.path = Path(key)
        self._pos = 0
        self._span_start = 0
        self._span = head
        self.requests = 1
        """Range GETs made for this object so far (the opening one included)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = seek_target(self._pos, self.size, offset, whence)
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        n = max(0, min(len(out), self.size - self._pos))
        if n:
            out[:n] = self._bytes(self._pos, n)
            self._pos += n
        return n

    def prefetch(self, offset: int, length: int) -> None:
        """Bring bytes ``offset..offset+length`` in with one request (capped at
        :data:`MAX_PREFETCH_BYTES` and the object's end) unless they are already here."""
        last = min(self.size, offset + min(length, MAX_PREFETCH_BYTES)) - 1
        if last < offset or self._holds(offset, last - offset + 1):
            return
        self._span = self._store.read(self.key, offset, last)
        self._span_start = offset
        self.requests += 1

    def _holds(self, offset: int, n: int) -> bool:
        return self._span_start <= offset and offset + n <= self._span_start + len(self._span)

    def _bytes(self, offset: int, n: int) -> bytes:
        if self._holds(offset, n):
            start = offset - self._span_start
            return self._span[start : start + n]
        self.requests += 1
        return self._store.read(self.key, offset, offset + n - 1)
