"""Spreadsheet-safe cells for CSV/XLSX downloads (no formula injection), and the text of an
uploaded CSV/JSON file as spreadsheets in China save it (UTF-8, UTF-16 or GBK)."""

from __future__ import annotations

import codecs
import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an XLSX (XML) cell cannot hold."""
UPLOAD_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Byte-order marks and the encoding each declares (UTF-16 is read only with its mark)."""
UNMARKED_ENCODINGS = ("utf-8", "gb18030")
"""Tried in order for an upload without a byte-order mark."""


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


def declared_encoding(content: bytes) -> str | None:
    """The encoding a leading byte-order mark declares, if there is one."""
    return next((encoding for bom, encoding in UPLOAD_BOMS if content.startswith(bom)), None)


def decode_upload_text(content: bytes) -> str | None:
    """The text of an uploaded CSV or JSON file, the one decoder of every text upload: UTF-8
    or UTF-16 (LE or BE) as its byte-order mark declares, else UTF-8, else GB18030 (GBK as
    Excel in China saves it); None when none of these decodes it."""
    declared = declared_encoding(content)
    for encoding in (declared,) if declared else UNMARKED_ENCODINGS:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
