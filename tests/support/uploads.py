"""Uploaded text as spreadsheets and editors save it: every encoding a text upload accepts."""

from __future__ import annotations

import codecs

UPLOAD_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "gb18030")
"""UTF-8 with or without a byte-order mark, UTF-16 (with its mark) both ways, GBK/GB18030."""
_MARKS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}


def encoded(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``; UTF-16 led by its byte-order mark, as Excel's "Unicode text"
    and Notepad write it."""
    return _MARKS.get(encoding, b"") + text.encode(encoding)
