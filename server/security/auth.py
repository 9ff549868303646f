"""Credentials: password hashes, staff bearer tokens, signed invitation links and signed URLs.

Pure functions (no I/O); the store persists what they produce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_SALT_BYTES = 16
SCRYPT_KEY_BYTES = 32
SIGNATURE_BYTES = 18
MAX_PASSWORD_CHARS = 1024


def same_text(a: str, b: str) -> bool:
    """Constant-time equality of two strings of any characters (``hmac.compare_digest`` on
    ``str`` refuses non-ASCII, which a client controls in a token or a query string)."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_id(prefix: str) -> str:
    """A random, URL-safe identifier such as ``job_3f9c…``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def hash_password(password: str) -> str:
    """scrypt hash in the form ``scrypt$N$r$p$salt$key`` (hex)."""
    if not password or len(password) > MAX_PASSWORD_CHARS:
        raise ValueError("password must be 1..1024 characters")
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_KEY_BYTES
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against :func:`hash_password` output."""
    try:
        scheme, n, r, p, salt_hex, key_hex = encoded.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_CHARS:
            return False
        key = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(key_hex) // 2,
        )
    except ValueError:
        return False
    return same_text(key.hex(), key_hex)


def new_staff_token() -> tuple[str, str]:
    """A bearer token for a staff login and the hash the store keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: bytes, *parts: str) -> str:
    mac = hmac.new(secret, "|".join(parts).encode(), hashlib.sha256).digest()
    return _b64(mac[:SIGNATURE_BYTES])


@dataclass(frozen=True, slots=True)
class InvitationClaims:
    interview_id: str
    expires_at: int
    nonce: str


def make_invitation_token(secret: bytes, interview_id: str, expires_at: int, nonce: str) -> str:
    """A signed, expiring token that names one interview: ``id.exp.nonce.sig``."""
    sig = _sign(secret, "inv", interview_id, str(expires_at), nonce)
    return f"{interview_id}.{expires_at}.{nonce}.{sig}"


def parse_invitation_token(secret: bytes, token: str) -> InvitationClaims | None:
    """The claims of a well-formed token with a valid signature, else ``None``.

    Expiry and revocation are checked by the caller against the clock and the store.
    """
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 200:
        return None
    interview_id, exp, nonce, sig = parts
    if not (exp.isascii() and exp.isdigit()):
        return None
    expected = _sign(secret, "inv", interview_id, exp, nonce)
    if not same_text(expected, sig):
        return None
    return InvitationClaims(interview_id, int(exp), nonce)


def sign_path(secret: bytes, path: str, expires_at: int, subject: str) -> str:
    """Query string that authorises a GET of ``path`` until ``expires_at`` for ``subject``."""
    sig = _sign(secret, "url", path, str(expires_at), subject)
    return f"exp={expires_at}&sub={subject}&sig={sig}"


def check_signed_path(
    secret: bytes, path: str, exp: str, subject: str, sig: str, now_s: float
) -> bool:
    if not (exp.isascii() and exp.isdigit()) or int(exp) < now_s:
        return False
    return same_text(_sign(secret, "url", path, exp, subject), sig)
