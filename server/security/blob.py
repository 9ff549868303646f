"""Sealed blobs: small values (database fields) encrypted into self-describing bytes.

:func:`seal` / :func:`open_sealed`; the caller's AAD binds a blob to its row so blobs cannot
be swapped between rows. Keys and the envelope: :mod:`server.security.keyring`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from server.security.keyring import (
    FORMAT_VERSION,
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
    pack_keyed_prefix,
    unpack_keyed_prefix,
    wrapped_size_bytes,
)

BLOB_MAGIC = b"ILSB"
"""Header: :data:`~server.security.keyring.KEYED_PREFIX` (key id, check value), wrapped key
length, wrapped key."""


@dataclass(frozen=True, slots=True)
class _BlobHeader:
    alg: Algorithm
    key_id: str
    check: bytes
    wrapped: bytes
    authenticated: bytes
    """Header bytes before the wrapped key (the wrap's AAD)."""
    body_offset: int


def _blob_header(alg: Algorithm, key_id: str, check: bytes) -> bytes:
    prefix = pack_keyed_prefix(BLOB_MAGIC, FORMAT_VERSION, alg.code, key_id, check)
    return prefix + bytes([wrapped_size_bytes(alg)])


def _parse_blob(blob: bytes) -> _BlobHeader:
    if blob[: len(BLOB_MAGIC)] != BLOB_MAGIC:
        raise FormatError("not a sealed blob (bad magic)")
    prefix = unpack_keyed_prefix(blob, FORMAT_VERSION, "sealed blob")
    alg = algorithm_by_code(prefix.code)
    pos = prefix.end
    wrapped_len = wrapped_size_bytes(alg)
    if len(blob) < pos + 1 + wrapped_len + NONCE_SIZE_BYTES + TAG_SIZE_BYTES:
        raise TruncatedError("sealed blob is truncated")
    if blob[pos] != wrapped_len:
        raise TamperedError("sealed blob: header authentication failed")
    authenticated = blob[: pos + 1]
    wrapped = blob[pos + 1 : pos + 1 + wrapped_len]
    key_id = prefix.key_id("sealed blob")
    return _BlobHeader(alg, key_id, prefix.check, wrapped, authenticated, pos + 1 + wrapped_len)


def seal(
    keyring: KeyRing, plaintext: bytes, aad: bytes = b"", *, algorithm: str | None = None
) -> bytes:
    """Encrypt a small value (a DB field) into a self-describing blob.

    ``aad`` is authenticated, not stored: pass the same bytes to :func:`open_sealed`
    (e.g. ``b"interview/42/transcript"``) so a blob cannot be moved to another row.
    """
    alg = algorithm_named(algorithm or keyring.algorithm)
    kek = Kek.derive(keyring, keyring.current_id, alg)
    data_key = os.urandom(alg.key_size_bytes)
    header = _blob_header(alg, kek.key_id, kek.check)
    nonce = os.urandom(NONCE_SIZE_BYTES)
    body = alg.aead(data_key).encrypt(nonce, plaintext, aad)
    return header + kek.wrap(data_key, header) + nonce + body


def open_sealed(keyring: KeyRing, blob: bytes, aad: bytes = b"") -> bytes:
    """Decrypt a blob from :func:`seal`; ``aad`` must equal the one it was sealed with."""
    h = _parse_blob(blob)
    kek = Kek.derive(keyring, h.key_id, h.alg)
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
    data_key = Kek.derive(keyring, h.key_id, h.alg).unwrap(
        h.check, h.wrapped, h.authenticated, "sealed blob"
    )
    kek = Kek.derive(keyring, keyring.current_id, h.alg)
    header = _blob_header(h.alg, kek.key_id, kek.check)
    return header + kek.wrap(data_key, header) + blob[h.body_offset :]
