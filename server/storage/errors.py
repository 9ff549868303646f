"""What the repositories raise, for the layers above to map onto HTTP and session outcomes."""

from __future__ import annotations


class NotFound(LookupError):
    """No row with that id."""


class Conflict(RuntimeError):
    """The requested change does not fit the current state."""


class Superseded(Exception):
    """The interview was claimed by a newer session (on this or another process)."""
