"""Master keys and envelope encryption: AES-256-GCM (default) or SM4-GCM (国密).

Every object (a sealed blob, :mod:`server.security.blob`, or an encrypted file,
:mod:`server.security.stream`) gets a random data key; the data key is wrapped (AEAD) with a
master key from a :class:`KeyRing`. The object's header names the algorithm and the master
key id, so an object is readable whatever the current setting. Rotation
(:meth:`KeyRing.rotate`, then :func:`~server.security.stream.rewrap` /
:func:`~server.security.blob.rewrap_sealed`) re-wraps data keys only; media bytes are never
re-encrypted. :func:`derive_key` gives keys for many small objects without a data key each.

SM4-GCM comes from OpenSSL through ``cryptography`` (``algorithms.SM4`` + ``modes.GCM``);
master keys are 32 bytes and the key-encryption key of each algorithm is derived from
them with HKDF (SHA-256 for AES, SM3 for SM4).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupported
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

AES_256_GCM = "aes-256-gcm"
SM4_GCM = "sm4-gcm"
DEFAULT_ALGORITHM = AES_256_GCM

FORMAT_VERSION = 1
"""Format version of sealed blobs and encrypted files."""
MASTER_KEY_SIZE_BYTES = 32
NONCE_SIZE_BYTES = 12
TAG_SIZE_BYTES = 16
KEY_CHECK_SIZE_BYTES = 8
KEY_ID_MAX_BYTES = 64
KEY_FILE_MODE = 0o600
_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ROTATED_ID_RE = re.compile(r"k(\d+)")


class CryptoError(Exception):
    """Base of every error raised by the key ring, blobs and encrypted files; messages never
    contain key material."""


class KeyFileError(CryptoError):
    """The key file or key string is malformed, or cannot be saved."""


class UnsupportedAlgorithmError(CryptoError):
    """Algorithm name or header code this build does not support."""


class UnknownKeyError(CryptoError):
    """The object was wrapped with a master key id the key ring does not hold."""


class WrongKeyError(CryptoError):
    """The key ring holds the key id, but not the key that wrapped this object."""


class FormatError(CryptoError):
    """Not a sealed blob or encrypted file (bad magic), or an unsupported format version."""


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
class Algorithm:
    """An AEAD algorithm as headers name it, with its key size and KDF hash."""

    name: str
    code: int
    """Stored in headers; never reuse a code for another algorithm."""
    key_size_bytes: int
    kdf_hash: Callable[[], hashes.HashAlgorithm]
    aead: Callable[[bytes], _Aead]


_ALGORITHMS = (
    Algorithm(AES_256_GCM, 1, 32, hashes.SHA256, AESGCM),
    Algorithm(SM4_GCM, 2, 16, hashes.SM3, _Sm4Gcm),
)
_BY_NAME = {a.name: a for a in _ALGORITHMS}
_BY_CODE = {a.code: a for a in _ALGORITHMS}
ALGORITHMS = tuple(_BY_NAME)
"""Algorithm names accepted by :class:`KeyRing`, :func:`~server.security.blob.seal` and
:meth:`~server.security.stream.EncryptedFile.create`."""


def algorithm_named(name: str) -> Algorithm:
    """The algorithm of a setting (``aes-256-gcm``, ``sm4-gcm``)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedAlgorithmError(
            f"unsupported algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None


def _check_available(alg: Algorithm) -> None:
    """Fail at start-up, not at the first recording, if OpenSSL lacks the algorithm."""
    try:
        _kdf(alg, bytes(MASTER_KEY_SIZE_BYTES), b"probe", alg.key_size_bytes)
        alg.aead(bytes(alg.key_size_bytes)).encrypt(bytes(NONCE_SIZE_BYTES), b"", b"")
    except CryptographyUnsupported as exc:
        raise UnsupportedAlgorithmError(
            f"{alg.name} is not available in this OpenSSL build ({exc})"
        ) from None


def algorithm_by_code(code: int) -> Algorithm:
    """The algorithm of a header code read from a stored object."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise UnsupportedAlgorithmError(f"unsupported algorithm code {code} in header") from None


def _kdf(alg: Algorithm, master: bytes, purpose: bytes, length: int, salt: bytes = b"") -> bytes:
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
        _check_available(algorithm_named(algorithm))
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
        algorithm_named(algorithm)
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
class Kek:
    """Key-encryption key of one master key for one algorithm, plus its check value."""

    alg: Algorithm
    key_id: str
    check: bytes
    aead: _Aead

    @classmethod
    def derive(cls, keyring: KeyRing, key_id: str, alg: Algorithm) -> Kek:
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


def wrapped_size_bytes(alg: Algorithm) -> int:
    """Length of a data key wrapped by :meth:`Kek.wrap`: nonce, key, tag."""
    return NONCE_SIZE_BYTES + alg.key_size_bytes + TAG_SIZE_BYTES


# --- header prefix ----------------------------------------------------------------

KEYED_PREFIX = struct.Struct(">4sBBB")
"""How a sealed blob (:mod:`server.security.blob`) and a message-bus entry
(:mod:`server.live.streams`) start: magic, format version, algorithm code, key id length; the
key id and the master key's check value (:data:`KEY_CHECK_SIZE_BYTES`) follow."""


def pack_keyed_prefix(magic: bytes, version: int, code: int, key_id: str, check: bytes) -> bytes:
    """A header's :data:`KEYED_PREFIX`, key id and check value."""
    kid = key_id.encode("ascii")
    return KEYED_PREFIX.pack(magic, version, code, len(kid)) + kid + check


@dataclass(frozen=True, slots=True)
class KeyedPrefix:
    """What :func:`unpack_keyed_prefix` read."""

    code: int
    """The algorithm's header code."""
    kid: bytes
    check: bytes
    end: int
    """Offset of the first byte after the check value."""

    def key_id(self, what: str) -> str:
        """The key id; raises :class:`TamperedError` when it is not ASCII."""
        try:
            return self.kid.decode("ascii")
        except UnicodeDecodeError:
            raise TamperedError(f"{what}: key id is not ASCII") from None


def unpack_keyed_prefix(raw: bytes, version: int, what: str) -> KeyedPrefix:
    """The prefix of a header from :func:`pack_keyed_prefix` whose magic the caller checked.

    Raises :class:`TruncatedError` when ``raw`` is shorter than :data:`KEYED_PREFIX` and
    :class:`FormatError` when its format version is not ``version``; messages start with
    ``what``. The key id and check value may be cut short: the caller checks the length of
    the whole header.
    """
    if len(raw) < KEYED_PREFIX.size:
        raise TruncatedError(f"{what} is truncated")
    _, found, code, kid_len = KEYED_PREFIX.unpack_from(raw)
    if found != version:
        raise FormatError(f"{what} format version {found} is not supported")
    kid_end = KEYED_PREFIX.size + kid_len
    end = kid_end + KEY_CHECK_SIZE_BYTES
    return KeyedPrefix(code, raw[KEYED_PREFIX.size : kid_end], raw[kid_end:end], end)


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
    alg = algorithm_by_code(algorithm) if isinstance(algorithm, int) else algorithm_named(algorithm)
    master = keyring._master(key_id)
    if alg.name != keyring.algorithm:  # the ring's own algorithm was checked when it was made
        _check_available(alg)
    key = _kdf(alg, master, purpose, alg.key_size_bytes, salt)
    check = _kdf(alg, master, purpose + b"/key-check", KEY_CHECK_SIZE_BYTES)
    return DerivedKey(key_id, alg.name, alg.code, check, alg.aead(key))
