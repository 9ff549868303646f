"""Spreadsheet-safe cells for CSV/XLSX downloads (no formula injection), and the text of an
uploaded CSV/JSON file as spreadsheets in China save it."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def decode_upload_text(content: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GBK/GB18030 as Excel in China writes; None when
    neither decodes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
