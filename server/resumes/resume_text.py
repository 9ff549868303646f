"""Résumé files to plain text: PDF, DOCX and plain text, Chinese or English.

:func:`extract_text` turns one uploaded file into normalised text or raises
:class:`~server.resumes.resume_errors.ResumeFileError` with a stable ``code`` the UI can
translate, so a bulk upload reports each bad file on its own (a bulk upload sent as one zip
archive is unpacked by :func:`server.resumes.resume_zip.expand_zip`).

The type comes from the content (magic bytes), cross-checked with the file name's extension.
Every step is bounded: input bytes, PDF pages, uncompressed DOCX size, characters of text.
pypdf adds its own limits on decompression and parsing work (``pypdf.Configuration``).

Layout: a PDF page with a side column beside the main one is read column by column
(:mod:`server.resumes.resume_pdf`); a DOCX table row is one line ``a | b | c``
(:mod:`server.resumes.resume_docx`). Fields laid out in columns on one line are ``a | b | c``
too: a tab or two spaces or more in text and DOCX (:func:`normalize_text`), a wide gap
between two runs of a PDF row.

CPU work, plain and synchronous: the server runs it in a worker thread or process, never on
the event loop.
"""

from __future__ import annotations

import enum
import io
import re
import string
import unicodedata
import zipfile

from pypdf import PasswordType, PdfReader

from server.resumes.resume_docx import is_docx, read_docx
from server.resumes.resume_errors import ResumeErrorCode, ResumeFileError
from server.resumes.resume_pdf import MIN_ROW_CHARS, page_text

MAX_RESUME_BYTES = 10 * 1024 * 1024
"""Default largest accepted file, in bytes."""

MAX_PDF_PAGES = 30
"""Pages read from a PDF; later pages are ignored (no résumé is longer)."""

MAX_TEXT_CHARS = 100_000
"""Characters of text kept from one file; the rest is cut off."""

SNIFF_BYTES = 1024
"""Leading bytes searched for the ``%PDF-`` header (the spec tolerates junk before it)."""

MAX_CONTROL_CHAR_SHARE = 0.01
"""Share of control characters above which decoded "text" is taken for binary data."""

UTF16_NUL_SHARE = 0.3
"""Share of NUL bytes at odd (or even) positions that marks UTF-16 text without a BOM."""

TEXT_EXTENSIONS = frozenset({".txt", ".text"})


class _Kind(enum.Enum):
    PDF = "PDF"
    DOCX = "Word document (DOCX)"
    TEXT = "plain text"


_EXTENSION_KINDS: dict[str, _Kind] = {
    ".pdf": _Kind.PDF,
    ".docx": _Kind.DOCX,
    **{ext: _Kind.TEXT for ext in TEXT_EXTENSIONS},
}

_UNSUPPORTED_EXTENSIONS: dict[str, str] = {
    ".doc": "legacy Word .doc files are not supported: save it as .docx or PDF",
    ".wps": "WPS files are not supported: save it as .docx or PDF",
    ".rtf": "RTF files are not supported: save it as .docx or PDF",
    ".zip": "a zip archive: upload it as a bulk upload",
}

_MAGIC_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy .doc or password-protected Office file"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
)

# --------------------------------------------------------------------------- public API


def extract_text(filename: str, data: bytes, max_bytes: int = MAX_RESUME_BYTES) -> str:
    """The normalised text of one résumé file (at most :data:`MAX_TEXT_CHARS` characters).

    Raises :class:`ResumeFileError`; any parser failure on hostile or damaged input becomes
    ``corrupt``, so callers handle one exception type.
    """
    if len(data) > max_bytes:
        raise ResumeFileError(
            ResumeErrorCode.TOO_LARGE, f"{len(data)} bytes, the limit is {max_bytes} bytes"
        )
    if not data.strip():
        raise ResumeFileError(ResumeErrorCode.EMPTY, "the file is empty")
    kind = _checked_kind(filename, data)
    try:
        raw = _READERS[kind](data)
    except ResumeFileError:
        raise
    except Exception as exc:  # hostile input can break a parser in any way
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"the {kind.value} could not be read ({type(exc).__name__})"
        ) from exc
    text = normalize_text(raw[: 2 * MAX_TEXT_CHARS])[:MAX_TEXT_CHARS]
    if not text.strip():
        if kind is _Kind.TEXT:
            raise ResumeFileError(ResumeErrorCode.EMPTY, "the file holds only white space")
        raise ResumeFileError(
            ResumeErrorCode.NO_TEXT,
            f"the {kind.value} has no text layer (a scanned image?): upload a text version",
        )
    return text


def normalize_text(text: str) -> str:
    """NFKC (full-width ASCII to ASCII), ``\\n`` line ends, single spaces, trimmed lines,
    at most one blank line in a row; a column gap inside a line (a tab, or two spaces or more)
    becomes the field separator `` | `` (see :func:`_gap_text`). Idempotent."""
    text = unicodedata.normalize("NFKC", text)
    text = _LINE_BREAK_RE.sub("\n", text)
    text = _INVISIBLE_RE.sub("", text)
    lines = [_columns_line(line) for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- type detection


def _checked_kind(filename: str, data: bytes) -> _Kind:
    extension = _extension(filename)
    if extension in _UNSUPPORTED_EXTENSIONS:
        raise ResumeFileError(ResumeErrorCode.UNSUPPORTED_TYPE, _UNSUPPORTED_EXTENSIONS[extension])
    sniffed = _sniff(data)
    claimed = _EXTENSION_KINDS.get(extension)
    if extension and claimed is None:
        raise ResumeFileError(
            ResumeErrorCode.UNSUPPORTED_TYPE,
            f"{extension} files are not supported: upload PDF, DOCX or TXT",
        )
    if claimed is None or claimed is sniffed:
        return sniffed
    if sniffed is _Kind.TEXT:
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"named {extension} but it is not a valid {claimed.value}"
        )
    raise ResumeFileError(
        ResumeErrorCode.TYPE_MISMATCH,
        f"named {extension} but it is a {sniffed.value}: rename it and upload again",
    )


def _extension(filename: str) -> str:
    base = filename.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[1].lower() if "." in base.strip(".") else ""


def _sniff(data: bytes) -> _Kind:
    """PDF, DOCX or text by content; raises ``unsupported_type`` for known other formats."""
    if b"%PDF-" in data[:SNIFF_BYTES]:
        return _Kind.PDF
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    for magic, what in _MAGIC_UNSUPPORTED:
        if data.startswith(magic):
            raise ResumeFileError(
                ResumeErrorCode.UNSUPPORTED_TYPE, f"the file is {what}: upload PDF, DOCX or TXT"
            )
    return _Kind.TEXT


def _sniff_zip(data: bytes) -> _Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if is_docx(zf):
                return _Kind.DOCX
            names = set(zf.namelist())
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ResumeFileError(ResumeErrorCode.CORRUPT, "a damaged zip-based file") from exc
    what = "a zip archive: upload it as a bulk upload"
    if "xl/workbook.xml" in names:
        what = "an Excel workbook"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation"
    elif "mimetype" in names:
        what = "an OpenDocument file: save it as .docx or PDF"
    raise ResumeFileError(ResumeErrorCode.UNSUPPORTED_TYPE, f"the file is {what}")


# --------------------------------------------------------------------------- PDF


def _read_pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise ResumeFileError(
            ResumeErrorCode.ENCRYPTED_PDF, "the PDF is password-protected: upload an open copy"
        )
    parts: list[str] = []
    size = 0
    for index, page in enumerate(reader.pages):
        if index >= MAX_PDF_PAGES or size >= MAX_TEXT_CHARS:
            break
        text = page_text(page)
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


# --------------------------------------------------------------------------- plain text

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _read_text(data: bytes) -> str:
    """Decode by BOM, else the first strict decode of UTF-8, BOM-less UTF-16, GB18030."""
    text = _decode(data)
    if text is not None and not _mostly_controls(text):
        return text
    if text is not None or _mostly_controls(data.decode("latin-1")):
        raise ResumeFileError(ResumeErrorCode.UNSUPPORTED_TYPE, "the file is binary data, not text")
    raise ResumeFileError(
        ResumeErrorCode.CORRUPT, "the text is not UTF-8, UTF-16 or GB18030/GBK encoded"
    )


def _mostly_controls(text: str) -> bool:
    controls = sum(1 for ch in text if ch in _BINARY_CONTROLS)
    return controls > MAX_CONTROL_CHAR_SHARE * len(text)


def _decode(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return strict_decode(data[len(bom) :], encoding)
    candidates = (_utf16_without_bom(data), "utf-8", "gb18030")
    for candidate in candidates:
        if candidate and (decoded := strict_decode(data, candidate)) is not None:
            return decoded
    return None


def strict_decode(data: bytes, encoding: str) -> str | None:
    """``data`` decoded with ``encoding``, or None when it is not valid in it."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    if len(data) < 2 or len(data) % 2:
        return None
    half = len(data) // 2
    if data[1::2].count(0) >= UTF16_NUL_SHARE * half:
        return "utf-16-le"
    if data[0::2].count(0) >= UTF16_NUL_SHARE * half:
        return "utf-16-be"
    return None


_BINARY_CONTROLS = frozenset(chr(c) for c in [*range(0, 9), *range(14, 32), 127])

_READERS = {_Kind.PDF: _read_pdf, _Kind.DOCX: read_docx, _Kind.TEXT: _read_text}

# --------------------------------------------------------------------------- normalisation

_LINE_BREAK_RE = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff]")
_SPACE_RUN_RE = re.compile(r"[^\S\n]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_GAP_RE = re.compile(r"[^\S\n]*\t[^\S\n]*|[^\S\n]{2,}")
"""A column gap: white space holding a tab, or two spaces or more (NFKC made ``\\u3000`` a
space)."""
_FIELD_SEPARATOR = " | "
_NAME_LIKE_RE = re.compile(r"[^\W\d_]+(?:['’.·-][^\W\d_]+)*\.?")
"""One word of letters: a part of a name or a title spaced out for display."""
MAX_NAME_LIKE_RUNS = 4
"""Most runs of a line of single words that is read as one spaced-out name or title."""
_LIST_MARKER_RE = re.compile(r"\(?(?:\d{1,2}|[A-Za-z]|[一二三四五六七八九十]{1,2})[.)、]")
_NUMBER_RE = re.compile(r"[\d+()./ -]+")
_JOINED_END = (":", "|", ",", ";", "/", "-", "–", "—", "~", "、", "至", "到", "。", "!", "?")
"""A run ending with one of these is joined to the next by a plain space: the line already
says how its parts relate (a label, a list, a range still open, a sentence ended)."""
_JOINED_START = ("|", ",", ";", "/", "-", "–", "—", "~", "、", "至", "到")
"""A run starting with one of these is joined to the previous one by a plain space."""


def _columns_line(line: str) -> str:
    """The line trimmed, white space runs made single spaces, each column gap between two
    runs of text made `` | ``; but a line of at most :data:`MAX_NAME_LIKE_RUNS` single words
    is a name or title spaced out for display (``Zhang  Wei``, ``欧阳  娜娜``), and a gap
    :func:`_gap_text` finds no boundary stays a space."""
    runs = [_SPACE_RUN_RE.sub(" ", run) for run in _GAP_RE.split(line.strip())]
    if len(runs) <= MAX_NAME_LIKE_RUNS and all(_NAME_LIKE_RE.fullmatch(run) for run in runs):
        return " ".join(runs)
    out = [runs[0]]
    for left, right in zip(runs, runs[1:], strict=False):
        out += [_gap_text(left, right), right]
    return "".join(out)


def _gap_text(left: str, right: str) -> str:
    """`` | `` between two fields; a space when either run is not a field on its own: fewer
    than two letters or digits (a name spaced out letter by letter ``张  伟``, a bullet, a
    dash), a list number, both numbers (``138  0013  8000``), a label or a range or list
    still open (``姓名:  李娜``, ``2019.07 -  2021.06``), or the end of a sentence
    (``Led the team.  Built …``)."""
    if min(_alnum_count(left), _alnum_count(right)) < MIN_ROW_CHARS:
        return " "
    if _LIST_MARKER_RE.fullmatch(left) or (
        _NUMBER_RE.fullmatch(left) and _NUMBER_RE.fullmatch(right)
    ):
        return " "
    if left.endswith(_JOINED_END) or right.startswith(_JOINED_START):
        return " "
    return " " if _ends_sentence(left) else _FIELD_SEPARATOR


def _alnum_count(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _ends_sentence(run: str) -> bool:
    """A lowercase word and a full stop end the run (``Inc.``, ``Ltd.`` end a name)."""
    if not run.endswith("."):
        return False
    body = run[:-1]
    word = body[len(body.rstrip(string.ascii_letters)) :]
    return len(word) >= MIN_ROW_CHARS and word.islower()
