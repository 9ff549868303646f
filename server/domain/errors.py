"""The API's one shape of a field problem: ``{"row", "field", "message"}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of one input (a body, a question, a CSV row)."""

    row: int | None
    """Spreadsheet line (header = 1) for CSV/XLSX, 0-based list index for JSON, ``None`` for a
    request body or the file as a whole."""
    field: str
    """The field path (``text.zh``, ``plan[0].questions[1]``), CSV column, ``header`` or ``file``."""
    message: str
    """A human-readable explanation, in English."""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


def field_error(field: str, message: str, row: int | None = None) -> dict[str, Any]:
    """One problem as the JSON object the API answers."""
    return FieldError(row, field, message).to_dict()
