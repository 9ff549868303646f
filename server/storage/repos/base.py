"""What every repository holds: the database and the cipher for sealed columns."""

from __future__ import annotations

import time

from server.security.fields import FieldCipher
from server.storage.db import Connection, Database, Row
from server.storage.errors import NotFound


class Repository:
    """The base of the repositories (they share one :class:`Database` and one cipher)."""

    def __init__(self, db: Database, fields: FieldCipher | None = None) -> None:
        """``fields`` seals personal data in columns (see :mod:`server.security.fields`)."""
        self.db = db
        self.fields = fields or FieldCipher(None)


def epoch_s() -> float:
    """The wall-clock time stored in ``created_at``-style columns (seconds since the epoch)."""
    return time.time()


def existing_row(conn: Connection, sql: str, key: str, what: str) -> Row:
    """The row ``sql`` selects by ``key`` (its one ``?``) in a transaction; :class:`NotFound`
    naming ``what`` and the key when there is none."""
    row: Row | None = conn.execute(sql, (key,)).fetchone()
    if row is None:
        raise NotFound(f"{what} {key} not found")
    return row
