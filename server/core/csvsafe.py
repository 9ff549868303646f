"""Spreadsheet-safe cells for CSV/XLSX downloads (no formula injection), and the text of an
uploaded CSV/JSON file as spreadsheets in China save it."""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an XLSX (XML) cell cannot hold."""


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def xlsx_cell(value: Any) -> Any:
    """``safe_cell``, and control characters XML cannot hold shown as U+FFFD (a name typed
    with one would otherwise fail the whole export)."""
    value = safe_cell(value)
    return XML_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value


def decode_upload_text(content: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GBK/GB18030 as Excel in China writes; None when
    neither decodes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
