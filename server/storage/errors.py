"""What the repositories raise, for the layers above to map onto HTTP and session outcomes."""

from __future__ import annotations


class NotFound(LookupError):
    """No row with that id."""


class Conflict(RuntimeError):
    """The requested change does not fit the current state."""


class Superseded(Exception):
    """The interview was claimed by a newer session (on this or another process)."""


class Busy(RuntimeError):
    """The database could not run the work now (locked by another process, a lost deadlock,
    a dropped connection): transient, the caller may try again."""
