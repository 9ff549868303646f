"""Encryption at rest: AES-256-GCM (default) or SM4-GCM (国密), envelope keys, random access.

Every object (a sealed blob or an encrypted file) gets a random data key; the data key
is wrapped (AEAD) with a master key from a :class:`KeyRing`. The object's header names
the algorithm and the master key id, so an object is readable whatever the current
setting. Rotation (:meth:`KeyRing.rotate`, then :func:`rewrap` / :func:`rewrap_sealed`)
re-wraps data keys only; media bytes are never re-encrypted.

* Blobs (:func:`seal` / :func:`open_sealed`) for DB fields; the caller's AAD binds a
  blob to its row so blobs cannot be swapped between rows.
* Files (:class:`EncryptedFile`) for recordings: fixed-size chunks, each sealed with a
  fresh random nonce and bound to the file id, its index and a "last" flag. The writer
  is a seekable binary file object PyAV can mux into; the reader is a seekable binary
  file object PyAV can demux from, plus :meth:`EncryptedReader.read_range` for HTTP
  range requests.

SM4-GCM comes from OpenSSL through ``cryptography`` (``algorithms.SM4`` + ``modes.GCM``);
master keys are 32 bytes and the key-encryption key of each algorithm is derived from
them with HKDF (SHA-256 for AES, SM3 for SM4). Nothing here is thread-safe: use one
writer or reader per thread. Cost: one AEAD per 64 KiB chunk (AES-GCM with AES-NI is
~GB/s; SM4-GCM ~100 MB/s), so decrypt in a worker thread, never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupported
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

logger = logging.getLogger(__name__)

AES_256_GCM = "aes-256-gcm"
SM4_GCM = "sm4-gcm"
DEFAULT_ALGORITHM = AES_256_GCM

FORMAT_VERSION = 1
FILE_MAGIC = b"ILEF"
BLOB_MAGIC = b"ILSB"
FILE_HEADER_SIZE_BYTES = 256
"""Fixed, so :func:`rewrap` can rewrite the header in place with any key id."""
DEFAULT_CHUNK_SIZE_BYTES = 64 * 1024
MIN_CHUNK_SIZE_BYTES = 512
MAX_CHUNK_SIZE_BYTES = 16 * 1024 * 1024
MASTER_KEY_SIZE_BYTES = 32
NONCE_SIZE_BYTES = 12
TAG_SIZE_BYTES = 16
FILE_ID_SIZE_BYTES = 16
KEY_CHECK_SIZE_BYTES = 8
KEY_ID_MAX_BYTES = 64
CHUNK_OVERHEAD_BYTES = NONCE_SIZE_BYTES + TAG_SIZE_BYTES
KEY_FILE_MODE = 0o600
_UNFINISHED_SIZE = 2**64 - 1
"""Plaintext size in the header of a file whose writer has not closed it."""
_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ROTATED_ID_RE = re.compile(r"k(\d+)")

# File header: magic, version, algorithm code, chunk size, plaintext size, file id,
# key id length, key id (zero-padded), key check value, wrapped key length.
_FILE_FIXED = struct.Struct(
    f">4sBBIQ{FILE_ID_SIZE_BYTES}sB{KEY_ID_MAX_BYTES}s{KEY_CHECK_SIZE_BYTES}sB"
)
# Blob prefix: magic, version, algorithm code, key id length (the key id follows).
_BLOB_PREFIX = struct.Struct(">4sBBB")
_CHUNK_AAD = struct.Struct(f">{FILE_ID_SIZE_BYTES}sQB")


class CryptoError(Exception):
    """Base of every error raised by this module; messages never contain key material."""


class KeyFileError(CryptoError):
    """The key file or key string is malformed, or cannot be saved."""


class UnsupportedAlgorithmError(CryptoError):
    """Algorithm name or header code this build does not support."""


class UnknownKeyError(CryptoError):
    """The object was wrapped with a master key id the key ring does not hold."""


class WrongKeyError(CryptoError):
    """The key ring holds the key id, but not the key that wrapped this object."""


class FormatError(CryptoError):
    """Not an object of this module (bad magic) or an unsupported format version."""


class TamperedError(CryptoError):
    """Authentication failed: the object was modified, corrupted or rearranged."""


class TruncatedError(TamperedError):
    """The object ends early, or its writer never closed it (its last chunk is missing)."""


# --- algorithms -------------------------------------------------------------------


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class _Sm4Gcm:
    """SM4-GCM with the AESGCM calling convention (ciphertext || 16-byte tag)."""

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.SM4(key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        enc = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(associated_data or b"")
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < TAG_SIZE_BYTES:
            raise InvalidTag
        dec = Cipher(self._algorithm, modes.GCM(nonce, data[-TAG_SIZE_BYTES:])).decryptor()
        dec.authenticate_additional_data(associated_data or b"")
        return dec.update(data[:-TAG_SIZE_BYTES]) + dec.finalize()


@dataclass(frozen=True, slots=True)
class _Algorithm:
    name: str
    code: int
    """Stored in headers; never reuse a code for another algorithm."""
    key_size_bytes: int
    kdf_hash: Callable[[], hashes.HashAlgorithm]
    aead: Callable[[bytes], _Aead]


_ALGORITHMS = (
    _Algorithm(AES_256_GCM, 1, 32, hashes.SHA256, AESGCM),
    _Algorithm(SM4_GCM, 2, 16, hashes.SM3, _Sm4Gcm),
)
_BY_NAME = {a.name: a for a in _ALGORITHMS}
_BY_CODE = {a.code: a for a in _ALGORITHMS}
ALGORITHMS = tuple(_BY_NAME)
"""Algorithm names accepted by :class:`KeyRing`, :func:`seal` and :meth:`EncryptedFile.create`."""


def _algorithm(name: str) -> _Algorithm:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedAlgorithmError(
            f"unsupported algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None


def _check_available(alg: _Algorithm) -> None:
    """Fail at start-up, not at the first recording, if OpenSSL lacks the algorithm."""
    try:
        _kdf(alg, bytes(MASTER_KEY_SIZE_BYTES), b"probe", alg.key_size_bytes)
        alg.aead(bytes(alg.key_size_bytes)).encrypt(bytes(NONCE_SIZE_BYTES), b"", b"")
    except CryptographyUnsupported as exc:
        raise UnsupportedAlgorithmError(
            f"{alg.name} is not available in this OpenSSL build ({exc})"
        ) from None


def _algorithm_by_code(code: int) -> _Algorithm:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise UnsupportedAlgorithmError(f"unsupported algorithm code {code} in header") from None


def _kdf(alg: _Algorithm, master: bytes, purpose: bytes, length: int, salt: bytes = b"") -> bytes:
    info = b"interview-live/" + purpose + b"/" + alg.name.encode()
    return HKDF(alg.kdf_hash(), length, salt or None, info).derive(master)


# --- key ring ---------------------------------------------------------------------


class KeyRing:
    """Master keys by id; ``current_id`` wraps the data keys of new objects.

    The key file and key string are JSON: ``{"current": "k2", "keys": {"k1": "<base64
    of 32 bytes>", "k2": "..."}}``. ``algorithm`` is the setting for new objects only.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current_id: str,
        algorithm: str = DEFAULT_ALGORITHM,
        path: Path | None = None,
    ) -> None:
        _check_available(_algorithm(algorithm))
        for key_id, key in keys.items():
            _check_key_id(key_id, "key ring")
            if len(key) != MASTER_KEY_SIZE_BYTES:
                raise KeyFileError(f"key ring: key {key_id!r} is not {MASTER_KEY_SIZE_BYTES} bytes")
        if current_id not in keys:
            raise KeyFileError(f"key ring: current key {current_id!r} is not among the keys")
        self._keys = dict(keys)
        self._current_id = current_id
        self.algorithm = algorithm
        self.path = path
        """Key file saved by :meth:`rotate` / :meth:`remove`; None for a ring from a string."""

    def __repr__(self) -> str:
        return f"KeyRing(current={self._current_id!r}, ids={self.key_ids!r}, algorithm={self.algorithm!r})"

    @property
    def current_id(self) -> str:
        return self._current_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @classmethod
    def from_json(
        cls, text: str, algorithm: str = DEFAULT_ALGORITHM, source: str = "key string"
    ) -> KeyRing:
        """Parse the key JSON (e.g. from an environment variable named by ``source``)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{source}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
            raise KeyFileError(f'{source}: expected {{"current": ..., "keys": {{...}}}}')
        current = data.get("current")
        if not isinstance(current, str):
            raise KeyFileError(f"{source}: 'current' must be a key id string")
        keys: dict[str, bytes] = {}
        for key_id, encoded in data["keys"].items():
            _check_key_id(key_id, source)
            try:
                key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
            except binascii.Error:
                key = b""
            if len(key) != MASTER_KEY_SIZE_BYTES:
                raise KeyFileError(
                    f"{source}: keys.{key_id} must be base64 of {MASTER_KEY_SIZE_BYTES} bytes"
                )
            keys[key_id] = key
        if current not in keys:
            raise KeyFileError(f"{source}: current key {current!r} is not among 'keys'")
        return cls(keys, current, algorithm)

    @classmethod
    def load(cls, path: Path, algorithm: str = DEFAULT_ALGORITHM) -> KeyRing:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
        if os.name == "posix" and path.stat().st_mode & 0o077:
            logger.warning("%s: key file is readable by group/others; chmod 600 it", path)
        ring = cls.from_json(text, algorithm, source=str(path))
        ring.path = path
        return ring

    @classmethod
    def load_or_create(cls, path: Path, algorithm: str = DEFAULT_ALGORITHM) -> KeyRing:
        """Load the key file, or create it (mode 0600) with one random key ``k1``.

        Creation is atomic and never overwrites: when several processes start at once,
        all of them end up with the key of whichever created the file first.
        """
        _algorithm(algorithm)
        if not path.exists():
            ring = cls({"k1": os.urandom(MASTER_KEY_SIZE_BYTES)}, "k1", algorithm, path)
            tmp = ring._write_tmp(path)
            try:
                os.link(tmp, path)  # no-clobber publish
            except FileExistsError:
                pass
            except OSError as exc:
                raise KeyFileError(f"{path}: cannot create key file ({exc.strerror})") from None
            finally:
                tmp.unlink()
        return cls.load(path, algorithm)

    def to_json(self) -> str:
        keys = {k: base64.b64encode(v).decode("ascii") for k, v in self._keys.items()}
        return json.dumps({"current": self._current_id, "keys": keys}, indent=2) + "\n"

    def save(self) -> None:
        """Atomically replace the key file (mode 0600)."""
        if self.path is None:
            raise KeyFileError(
                "key ring came from a string: use save=False and store to_json() yourself"
            )
        tmp = self._write_tmp(self.path)
        try:
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyFileError(f"{self.path}: cannot save key file ({exc.strerror})") from None

    def rotate(self, *, save: bool = True) -> str:
        """Add a random key, make it current (and save the key file); returns its id.

        Other processes keep the old ring until they reload the key file.
        """
        numbers = [int(m.group(1)) for k in self._keys if (m := _ROTATED_ID_RE.fullmatch(k))]
        n = max(numbers, default=0) + 1
        while f"k{n}" in self._keys:
            n += 1
        key_id = f"k{n}"
        self._keys[key_id] = os.urandom(MASTER_KEY_SIZE_BYTES)
        previous, self._current_id = self._current_id, key_id
        if save:
            try:
                self.save()
            except KeyFileError:
                del self._keys[key_id]
                self._current_id = previous
                raise
        return key_id

    def remove(self, key_id: str, *, save: bool = True) -> None:
        """Drop an old key (after every object wrapped with it was re-wrapped)."""
        if key_id == self._current_id:
            raise KeyFileError(f"cannot remove the current key {key_id!r}")
        key = self._master(key_id)
        del self._keys[key_id]
        if save:
            try:
                self.save()
            except KeyFileError:
                self._keys[key_id] = key
                raise

    def _master(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownKeyError(
                f"master key {key_id!r} is not in the key ring (holds {', '.join(self._keys)})"
            ) from None

    def _write_tmp(self, path: Path) -> Path:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json())
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyFileError(f"{path}: cannot write key file ({exc.strerror})") from None
        return tmp


def _check_key_id(key_id: object, source: str) -> None:
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise KeyFileError(f"{source}: key id {key_id!r} must match {_KEY_ID_RE.pattern}")


# --- envelope: wrapped data keys ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kek:
    """Key-encryption key of one master key for one algorithm, plus its check value."""

    alg: _Algorithm
    key_id: str
    check: bytes
    aead: _Aead

    @classmethod
    def derive(cls, keyring: KeyRing, key_id: str, alg: _Algorithm) -> _Kek:
        master = keyring._master(key_id)
        kek = _kdf(alg, master, b"kek", alg.key_size_bytes)
        check = _kdf(alg, master, b"key-check", KEY_CHECK_SIZE_BYTES)
        return cls(alg, key_id, check, alg.aead(kek))

    def wrap(self, data_key: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE_BYTES)
        return nonce + self.aead.encrypt(nonce, data_key, aad)

    def unwrap(self, check: bytes, wrapped: bytes, aad: bytes, what: str) -> bytes:
        if check != self.check:
            raise WrongKeyError(
                f"{what}: master key {self.key_id!r} in the key ring is not the one that wrote it"
            )
        try:
            key = self.aead.decrypt(wrapped[:NONCE_SIZE_BYTES], wrapped[NONCE_SIZE_BYTES:], aad)
        except InvalidTag:
            raise TamperedError(f"{what}: header authentication failed") from None
        if len(key) != self.alg.key_size_bytes:
            raise TamperedError(f"{what}: data key has the wrong length")
        return key


def _wrapped_size_bytes(alg: _Algorithm) -> int:
    return NONCE_SIZE_BYTES + alg.key_size_bytes + TAG_SIZE_BYTES


# --- blobs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BlobHeader:
    alg: _Algorithm
    key_id: str
    check: bytes
    wrapped: bytes
    authenticated: bytes
    """Header bytes before the wrapped key (the wrap's AAD)."""
    body_offset: int


def _blob_header(alg: _Algorithm, key_id: str, check: bytes) -> bytes:
    kid = key_id.encode("ascii")
    return (
        _BLOB_PREFIX.pack(BLOB_MAGIC, FORMAT_VERSION, alg.code, len(kid))
        + kid
        + check
        + bytes([_wrapped_size_bytes(alg)])
    )


def _parse_blob(blob: bytes) -> _BlobHeader:
    if blob[: len(BLOB_MAGIC)] != BLOB_MAGIC:
        raise FormatError("not a sealed blob (bad magic)")
    if len(blob) < _BLOB_PREFIX.size:
        raise TruncatedError("sealed blob is truncated")
    _, version, code, kid_len = _BLOB_PREFIX.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise FormatError(f"sealed blob format version {version} is not supported")
    alg = _algorithm_by_code(code)
    pos = _BLOB_PREFIX.size
    kid = blob[pos : pos + kid_len]
    pos += kid_len
    check = blob[pos : pos + KEY_CHECK_SIZE_BYTES]
    pos += KEY_CHECK_SIZE_BYTES
    wrapped_len = _wrapped_size_bytes(alg)
    if len(blob) < pos + 1 + wrapped_len + NONCE_SIZE_BYTES + TAG_SIZE_BYTES:
        raise TruncatedError("sealed blob is truncated")
    if blob[pos] != wrapped_len:
        raise TamperedError("sealed blob: header authentication failed")
    authenticated = blob[: pos + 1]
    wrapped = blob[pos + 1 : pos + 1 + wrapped_len]
    try:
        key_id = kid.decode("ascii")
    except UnicodeDecodeError:
        raise TamperedError("sealed blob: key id is not ASCII") from None
    return _BlobHeader(alg, key_id, check, wrapped, authenticated, pos + 1 + wrapped_len)


def seal(
    keyring: KeyRing, plaintext: bytes, aad: bytes = b"", *, algorithm: str | None = None
) -> bytes:
    """Encrypt a small value (a DB field) into a self-describing blob.

    ``aad`` is authenticated, not stored: pass the same bytes to :func:`open_sealed`
    (e.g. ``b"interview/42/transcript"``) so a blob cannot be moved to another row.
    """
    alg = _algorithm(algorithm or keyring.algorithm)
    kek = _Kek.derive(keyring, keyring.current_id, alg)
    data_key = os.urandom(alg.key_size_bytes)
    header = _blob_header(alg, kek.key_id, kek.check)
    nonce = os.urandom(NONCE_SIZE_BYTES)
    body = alg.aead(data_key).encrypt(nonce, plaintext, aad)
    return header + kek.wrap(data_key, header) + nonce + body


def open_sealed(keyring: KeyRing, blob: bytes, aad: bytes = b"") -> bytes:
    """Decrypt a blob from :func:`seal`; ``aad`` must equal the one it was sealed with."""
    h = _parse_blob(blob)
    kek = _Kek.derive(keyring, h.key_id, h.alg)
    data_key = kek.unwrap(h.check, h.wrapped, h.authenticated, "sealed blob")
    nonce = blob[h.body_offset : h.body_offset + NONCE_SIZE_BYTES]
    try:
        return h.alg.aead(data_key).decrypt(nonce, blob[h.body_offset + NONCE_SIZE_BYTES :], aad)
    except InvalidTag:
        raise TamperedError("sealed blob: authentication failed (modified, or wrong aad)") from None


def is_sealed(blob: bytes) -> bool:
    """True if ``blob`` looks like a :func:`seal` output (magic and version only)."""
    return blob[: len(BLOB_MAGIC)] == BLOB_MAGIC and blob[4:5] == bytes([FORMAT_VERSION])


def rewrap_sealed(keyring: KeyRing, blob: bytes) -> bytes:
    """The blob with its data key wrapped by the current master key (body unchanged)."""
    h = _parse_blob(blob)
    if h.key_id == keyring.current_id:
        return blob
    data_key = _Kek.derive(keyring, h.key_id, h.alg).unwrap(
        h.check, h.wrapped, h.authenticated, "sealed blob"
    )
    kek = _Kek.derive(keyring, keyring.current_id, h.alg)
    header = _blob_header(h.alg, kek.key_id, kek.check)
    return header + kek.wrap(data_key, header) + blob[h.body_offset :]


# --- derived keys -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerivedKey:
    """An AEAD key derived with HKDF from one master key for one purpose, for many small
    objects where wrapping a data key for each would cost too much (message-bus entries: one
    AEAD call each). The caller stores ``key_id``, ``code`` and its salt with each object,
    uses a fresh random 96-bit nonce per call, and derives a new key (another random salt)
    well before 2**32 calls (the NIST SP 800-38D bound for random nonces). ``check``
    identifies the master key (another key under the same id) and is not secret. Thread-safe.
    """

    key_id: str
    algorithm: str
    code: int
    """The algorithm's header code, as in sealed blobs and encrypted files."""
    check: bytes
    _aead: _Aead

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        """Raises :class:`TamperedError` when authentication fails."""
        try:
            return self._aead.decrypt(nonce, data, aad)
        except InvalidTag:
            raise TamperedError("authentication failed") from None


def derive_key(
    keyring: KeyRing,
    key_id: str,
    purpose: bytes,
    *,
    algorithm: str | int | None = None,
    salt: bytes = b"",
) -> DerivedKey:
    """The :class:`DerivedKey` of master key ``key_id`` for ``purpose`` (and ``salt``).

    ``algorithm``: a name, a header code read from a stored object, or None for the ring's
    setting. Raises :class:`UnknownKeyError` and :class:`UnsupportedAlgorithmError`.
    """
    if algorithm is None:
        algorithm = keyring.algorithm
    alg = _algorithm_by_code(algorithm) if isinstance(algorithm, int) else _algorithm(algorithm)
    master = keyring._master(key_id)
    if alg.name != keyring.algorithm:  # the ring's own algorithm was checked when it was made
        _check_available(alg)
    key = _kdf(alg, master, purpose, alg.key_size_bytes, salt)
    check = _kdf(alg, master, purpose + b"/key-check", KEY_CHECK_SIZE_BYTES)
    return DerivedKey(key_id, alg.name, alg.code, check, alg.aead(key))


# --- files --------------------------------------------------------------------------


@dataclass(slots=True)
class _FileHeader:
    alg: _Algorithm
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
        alg = _algorithm_by_code(code)
        end = _FILE_FIXED.size + wrapped_len
        if (
            wrapped_len != _wrapped_size_bytes(alg)
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

    def unwrap(self, keyring: KeyRing, path: Path) -> tuple[_Kek, bytes]:
        kek = _Kek.derive(keyring, self.key_id, self.alg)
        data_key = kek.unwrap(self.check, self.wrapped, self.fixed(), str(path))
        if not MIN_CHUNK_SIZE_BYTES <= self.chunk_size_bytes <= MAX_CHUNK_SIZE_BYTES:
            raise TamperedError(f"{path}: chunk size {self.chunk_size_bytes} out of range")
        return kek, data_key

    def rewrap(self, kek: _Kek, data_key: bytes) -> None:
        """Wrap ``data_key`` again (fresh nonce) under ``kek`` with the current fields."""
        self.key_id, self.check = kek.key_id, kek.check
        self.wrapped = bytes(_wrapped_size_bytes(self.alg))  # length is part of the AAD
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

    def __init__(self, f: io.FileIO, header: _FileHeader, data_key: bytes, path: Path) -> None:
        self.f = f
        self.path = path
        self.file_id = header.file_id
        self.chunk_size_bytes = header.chunk_size_bytes
        self.record_size_bytes = header.chunk_size_bytes + CHUNK_OVERHEAD_BYTES
        self.aead = header.alg.aead(data_key)

    def offset(self, index: int) -> int:
        return FILE_HEADER_SIZE_BYTES + index * self.record_size_bytes

    def seal(self, index: int, plaintext: bytes, last: bool) -> None:
        nonce = os.urandom(NONCE_SIZE_BYTES)  # fresh for every (re-)seal
        aad = _CHUNK_AAD.pack(self.file_id, index, last)
        _write_at(self.f, self.offset(index), nonce + self.aead.encrypt(nonce, plaintext, aad))

    def open(self, index: int, length: int, last: bool) -> bytes:
        self.f.seek(self.offset(index))
        record = self.f.read(length + CHUNK_OVERHEAD_BYTES)
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
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
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

    def __init__(self, f: io.FileIO, header: _FileHeader, kek: _Kek, data_key: bytes, path: Path):
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


class EncryptedReader(_Positioned):
    """Readable, seekable binary file that decrypts; see :meth:`EncryptedFile.open`.

    Keeps one decrypted chunk cached, so sequential small reads decrypt each chunk once.
    """

    def __init__(self, f: io.FileIO, chunks: _Chunks, plaintext_size: int, path: Path):
        super().__init__()
        self._f = f
        self._chunks = chunks
        self._cs = chunks.chunk_size_bytes
        self._size = plaintext_size
        self._last = _chunk_count(plaintext_size, self._cs) - 1
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
        alg = _algorithm(algorithm or keyring.algorithm)
        if not MIN_CHUNK_SIZE_BYTES <= chunk_size_bytes <= MAX_CHUNK_SIZE_BYTES:
            raise ValueError(
                f"chunk_size_bytes must be {MIN_CHUNK_SIZE_BYTES}..{MAX_CHUNK_SIZE_BYTES}"
            )
        kek = _Kek.derive(keyring, keyring.current_id, alg)
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
            header = _read_header(f, path)
            _, data_key = header.unwrap(keyring, path)
            if header.plaintext_size == _UNFINISHED_SIZE:
                raise TruncatedError(f"{path}: the writer never closed it (see recover())")
            chunks = _Chunks(f, header, data_key, path)
            count = _chunk_count(header.plaintext_size, header.chunk_size_bytes)
            tail = header.plaintext_size - (count - 1) * header.chunk_size_bytes
            expected = chunks.offset(count - 1) + tail + CHUNK_OVERHEAD_BYTES
            actual = os.fstat(f.fileno()).st_size
            if actual < expected:
                raise TruncatedError(f"{path}: {actual} bytes on disk, {expected} expected")
            if actual > expected:
                raise TamperedError(f"{path}: {actual - expected} unexpected trailing bytes")
            chunks.open(count - 1, tail, last=True)
            return EncryptedReader(f, chunks, header.plaintext_size, path)
        except BaseException:
            f.close()
            raise


def is_encrypted_file(path: Path | str) -> bool:
    """True if ``path`` starts like an :class:`EncryptedFile` (magic and version only)."""
    with open(path, "rb") as f:
        head = f.read(len(FILE_MAGIC) + 1)
    return head == FILE_MAGIC + bytes([FORMAT_VERSION])


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
        header.rewrap(_Kek.derive(keyring, keyring.current_id, header.alg), data_key)
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
