"""Personal data in database columns, sealed at rest (candidate details, answers, transcripts,
reminder mail).

A sealed value is ``enc1:`` + base64 of a :func:`server.security.blob.seal` blob whose additional
data names the row and column it belongs to, so a value copied into another row does not
open. Values written before encryption (no prefix) are read as they are. Sealing costs
microseconds; it runs where the SQL runs, on the database thread.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from server.core.config import Settings
from server.security.blob import open_sealed, seal
from server.security.keyring import KeyRing

PREFIX = "enc1:"


class FieldCipher:
    def __init__(self, keyring: KeyRing | None) -> None:
        """``keyring`` None: values are stored as they are (tools and tests without keys)."""
        self._keyring = keyring

    def seal(self, text: str, aad: str) -> str:
        if self._keyring is None:
            return text
        blob = seal(self._keyring, text.encode(), aad.encode())
        return PREFIX + base64.b64encode(blob).decode()

    def open(self, value: str | None, aad: str) -> str:
        if value is None or not value.startswith(PREFIX):
            return value or ""
        if self._keyring is None:
            raise ValueError("an encrypted value was found but no keys are loaded")
        blob = base64.b64decode(value[len(PREFIX) :])
        return open_sealed(self._keyring, blob, aad.encode()).decode()

    def seal_json(self, obj: Any, aad: str) -> str:
        return self.seal(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), aad)

    def open_json(self, value: str | None, aad: str) -> Any:
        text = self.open(value, aad)
        return json.loads(text) if text else None


def load_keyring(settings: Settings) -> KeyRing:
    """Master keys from the environment, else the data directory's key file (made once)."""
    if settings.master_keys:
        return KeyRing.from_json(
            settings.master_keys, settings.encryption, source="INTERVIEW_MASTER_KEYS"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return KeyRing.load_or_create(settings.master_key_file, settings.encryption)
