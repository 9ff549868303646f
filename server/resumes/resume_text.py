"""Résumé files to plain text: PDF, DOCX and plain text, Chinese or English.

:func:`extract_text` turns one uploaded file into normalised text or raises
:class:`ResumeFileError` with a stable ``code`` the UI can translate, so a bulk upload reports
each bad file on its own. :func:`expand_zip` unpacks a bulk upload sent as one zip archive.

The type comes from the content (magic bytes), cross-checked with the file name's extension.
Every step is bounded: input bytes, PDF pages, uncompressed DOCX size, characters of text.
pypdf adds its own limits on decompression and parsing work (``pypdf.Configuration``).

Layout: a PDF page with a side column beside the main one is read column by column (see
"PDF columns" below); a DOCX table row is one line ``a | b | c``, unless a cell holds many
paragraphs (a page laid out as a table), then the cells' paragraphs stay lines, cell by cell.
Fields laid out in columns on one line are ``a | b | c`` too: a tab or two spaces or more in
text and DOCX (:func:`normalize_text`), a wide gap between two runs of a PDF row.

CPU work, plain and synchronous: the server runs it in a worker thread or process, never on
the event loop.
"""

from __future__ import annotations

import enum
import io
import math
import re
import string
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from pypdf import PasswordType, PdfReader

MAX_RESUME_BYTES = 10 * 1024 * 1024
"""Default largest accepted file, in bytes."""

MAX_PDF_PAGES = 30
"""Pages read from a PDF; later pages are ignored (no résumé is longer)."""

MAX_TEXT_CHARS = 100_000
"""Characters of text kept from one file; the rest is cut off."""

MAX_DOCX_XML_BYTES = 20 * 1024 * 1024
"""Largest uncompressed ``word/document.xml``, in bytes (zip-bomb guard)."""

MAX_DOCX_UNCOMPRESSED_BYTES = 60 * 1024 * 1024
"""Largest uncompressed size of all parts of a DOCX (python-docx loads every part), in bytes."""

MAX_DOCX_ENTRIES = 2_000
"""Most zip entries accepted in one DOCX."""

MAX_CELL_FIELD_LINES = 3
"""Lines a DOCX table cell holds as fields of its row; a longer cell is a column of a page
laid out as a table, and its lines stay lines."""

MAX_SKIPPED_ZIP_ENTRIES = 1_000
"""Directories and system files (``__MACOSX``, ``.DS_Store``) tolerated in a bulk zip."""

SNIFF_BYTES = 1024
"""Leading bytes searched for the ``%PDF-`` header (the spec tolerates junk before it)."""

MAX_CONTROL_CHAR_SHARE = 0.01
"""Share of control characters above which decoded "text" is taken for binary data."""

UTF16_NUL_SHARE = 0.3
"""Share of NUL bytes at odd (or even) positions that marks UTF-16 text without a BOM."""

TEXT_EXTENSIONS = frozenset({".txt", ".text"})


class ResumeErrorCode(enum.StrEnum):
    """Why a file could not be read (stable strings: the API returns them, the UI translates)."""

    TOO_LARGE = "too_large"
    """Over the byte limit (one file, or a zip's total uncompressed size)."""
    EMPTY = "empty"
    """No bytes, or only white space."""
    UNSUPPORTED_TYPE = "unsupported_type"
    """Not PDF, DOCX or plain text (legacy .doc, images, spreadsheets, binary data, ...)."""
    TYPE_MISMATCH = "type_mismatch"
    """The content is one supported type, the extension says another (``cv.pdf`` holding DOCX)."""
    ENCRYPTED_PDF = "encrypted_pdf"
    """A PDF that needs a password to open."""
    NO_TEXT = "no_text"
    """A PDF or DOCX without a text layer (a scanned image)."""
    CORRUPT = "corrupt"
    """Damaged, or not what its extension says (``.pdf`` without a PDF header)."""
    TOO_MANY_FILES = "too_many_files"
    """A bulk zip with more résumés than allowed."""
    UNSAFE_PATH = "unsafe_path"
    """A bulk zip entry named with an absolute path or ``..``."""
    ENCRYPTED_ARCHIVE = "encrypted_archive"
    """A bulk zip with password-protected entries."""


class ResumeFileError(Exception):
    """A file that cannot be turned into text; ``code`` says why, ``message`` says it to HR."""

    def __init__(self, code: ResumeErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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


def expand_zip(
    filename: str,
    data: bytes,
    max_files: int,
    max_total_bytes: int,
    *,
    max_file_bytes: int | None = None,
    on_too_large: Callable[[str, int], None] | None = None,
) -> list[tuple[str, bytes]]:
    """The files of a bulk upload sent as one zip: ``(path inside the zip, bytes)`` in order.

    Directories and system files (``__MACOSX/``, ``.DS_Store``, ``._*``, ``~$*``) are skipped.
    File names without the UTF-8 flag are decoded as UTF-8 when valid, else GB18030 (zips made
    on Chinese Windows). Refuses archives with more than ``max_files`` files, more than
    ``max_total_bytes`` uncompressed, encrypted entries, or absolute / ``..`` paths. A DOCX sent
    here is one résumé, not an archive: it comes back as the single file.

    ``max_file_bytes``: an entry declaring a larger uncompressed size is not unpacked; it is
    reported to ``on_too_large(name, declared bytes)`` and the rest of the archive is used
    (without the callback it refuses the archive). Sizes are the declared ones: an entry that
    holds more than it declares is ``corrupt`` (never read past its declared size), so the
    bytes returned stay within both budgets.
    """
    zf = _open_zip(filename, data)
    with zf:
        if _is_docx(zf):
            fits = _fits(filename, len(data), max_file_bytes, on_too_large)
            return [(filename, data)] if fits else []
        infos = zf.infolist()
        if len(infos) > max_files + MAX_SKIPPED_ZIP_ENTRIES:
            raise _too_many(len(infos), max_files)
        kept = [(name, info) for info in infos if (name := _entry_name(info)) is not None]
        if len(kept) > max_files:
            raise _too_many(len(kept), max_files)
        kept = [
            (name, info)
            for name, info in kept
            if _fits(name, info.file_size, max_file_bytes, on_too_large)
        ]
        total = sum(info.file_size for _, info in kept)
        if total > max_total_bytes:
            raise ResumeFileError(
                ResumeErrorCode.TOO_LARGE,
                f"{total} bytes uncompressed, the limit is {max_total_bytes} bytes",
            )
        return [(name, _read_entry(zf, info)) for name, info in kept]


def _fits(
    name: str,
    size: int,
    max_file_bytes: int | None,
    on_too_large: Callable[[str, int], None] | None,
) -> bool:
    """Whether a file of ``size`` bytes is within the per-file limit; one that is not is
    reported to ``on_too_large``, or refuses the archive without it."""
    if max_file_bytes is None or size <= max_file_bytes:
        return True
    if on_too_large is None:
        raise ResumeFileError(
            ResumeErrorCode.TOO_LARGE,
            f"{name} is {size} bytes uncompressed, the limit is {max_file_bytes} bytes",
        )
    on_too_large(name, size)
    return False


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
            if _is_docx(zf):
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


def _is_docx(zf: zipfile.ZipFile) -> bool:
    try:
        zf.getinfo("word/document.xml")
    except KeyError:
        return False
    return True


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
        runs = _RunCollector()
        text = page.extract_text(visitor_text=runs) or ""
        text = _column_text(runs) or _gapped_text(runs, text)
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


# --------------------------------------------------------------------------- PDF columns
#
# pypdf gives text in content-stream order. A template with a side column (contact, skills,
# certificates beside the main column) often draws both columns row by row, so the side
# column's lines come out between the main column's. The runs of text and their positions say
# where a second column starts: many runs start at the same x, and no run of those rows crosses
# that x. Such a page is read column by column, left column first.

MIN_COLUMN_ROWS = 6
"""Rows of text (two letters or digits at least: a bullet glyph is none) each column needs
before a page is read column by column."""

MIN_COLUMN_SHARE = 0.3
"""Share of the page's rows the columns must cover (a small table is read row by row)."""

MAX_DATED_SHARE = 0.6
"""Share of rows holding a year above which the two "columns" are the fields of dated rows
(a job table, right-aligned dates): those are read row by row."""

GRID_ROW_SHARE = 0.8
"""Share of right-hand rows sharing a baseline with left-hand text that makes a grid."""

MIN_GRID_COLUMN_ROWS = 10
"""Rows each side of a grid needs to be read as two columns (a template drawing both columns
on the same baselines); a smaller one is a table, or headings in a margin beside their
sections."""

MIN_ROW_CHARS = 2
"""Letters or digits that make a side of a row count as text."""

COLUMN_ALIGN_PT = 3.0
"""Runs starting less than this many points apart start at the same x."""

ROW_TOLERANCE_EM = 0.5
"""Runs whose baselines differ by less than this share of the font size are one row."""

WIDE_CHAR_EM = 1.0
"""Estimated advance of a CJK (wide) character, in font sizes."""

NARROW_CHAR_EM = 0.5
"""Estimated advance of any other character, in font sizes (Latin text averages about it)."""

FIELD_GAP_EM = 2.0
"""A gap (in font sizes) between two runs of one row that makes them two fields (`` | ``)."""

MAX_PAGE_RUNS = 5_000
"""Runs on a page above which no columns are looked for (bounds the work)."""

MAX_COLUMN_CANDIDATES = 8
"""x positions tried as the left edge of a second column."""

_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


class _Run:
    """One run of text as pypdf reports it: baseline start (x, y) in points, font size."""

    __slots__ = ("size", "text", "x", "y")

    def __init__(self, x: float, y: float, size: float, text: str) -> None:
        self.x, self.y, self.size, self.text = x, y, size, text

    @property
    def end(self) -> float:
        """Estimated x where the run ends (fonts' real widths are not needed to see a gutter)."""
        ems = sum(WIDE_CHAR_EM if _is_wide(ch) else NARROW_CHAR_EM for ch in self.text)
        return self.x + ems * self.size


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class _RunCollector:
    """pypdf ``visitor_text`` callback collecting the page's runs; gives up (``usable`` False)
    on rotated or mirrored text and on more than :data:`MAX_PAGE_RUNS` runs. ``pieces`` are
    the texts pypdf reported, in order, each with its run (None for white space): joined, they
    are the page's text."""

    def __init__(self) -> None:
        self.runs: list[_Run] = []
        self.pieces: list[tuple[str, _Run | None]] = []
        self.usable = True

    def __call__(self, text: Any, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if not self.usable or not isinstance(text, str):
            return
        if not text.strip():
            self.pieces.append((text, None))
            return
        try:
            matrix = _multiply([float(v) for v in tm], [float(v) for v in cm])
            em = float(size) * matrix[0]
        except (TypeError, ValueError):
            self.usable = False
            return
        a, b, c, d, e, f = matrix
        upright = abs(b) < 1e-6 and abs(c) < 1e-6 and a > 0 and d > 0
        if not (upright and all(map(math.isfinite, (e, f, em)))) or len(self.runs) >= MAX_PAGE_RUNS:
            self.usable = False
            return
        self.runs.append(_Run(e, f, em, " ".join(text.split())))
        self.pieces.append((text, self.runs[-1]))


def _multiply(m: list[float], n: list[float]) -> tuple[float, ...]:
    """The affine matrix ``m × n`` (PDF order ``[a b c d e f]``)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t,
            e * q + f * s + u)  # fmt: skip


def _column_text(collector: _RunCollector) -> str | None:
    """The page's text read column by column, or None when it has no two columns."""
    if not collector.usable or not collector.runs:
        return None
    rows = _rows(collector.runs)
    best: tuple[int, float, list[tuple[int, int]]] | None = None
    for edge in _column_edges(collector.runs):
        bands = [band for band in _bands(rows, edge) if _is_column_band(rows, band, edge)]
        covered = sum(stop - start for start, stop in bands)
        if (
            bands
            and covered >= MIN_COLUMN_SHARE * len(rows)
            and (best is None or covered > best[0])
        ):
            best = (covered, edge, bands)
    if best is None:
        return None
    _, edge, bands = best
    lines: list[str] = []
    done = 0
    for start, stop in bands:
        lines += [_row_text(row) for row in rows[done:start]]
        left = [[run for run in row if run.x < edge - COLUMN_ALIGN_PT] for row in rows[start:stop]]
        right = [
            [run for run in row if run.x >= edge - COLUMN_ALIGN_PT] for row in rows[start:stop]
        ]
        lines += [_row_text(row) for row in left + right if row]
        done = stop
    lines += [_row_text(row) for row in rows[done:]]
    return "\n".join(lines)


def _gapped_text(collector: _RunCollector, text: str) -> str:
    """pypdf's text of a page without columns, the space it wrote between two runs of one row
    far apart (:data:`FIELD_GAP_EM`, as :func:`_row_text` does) made `` | ``: a row of fields
    (``2019.07-至今 | 某某公司 | 运营经理``). The text as pypdf wrote it when its pieces do not
    add up to it."""
    if not collector.usable or "".join(piece for piece, _ in collector.pieces) != text:
        return text
    out: list[str] = []
    tail = ""  # white space written since the last run
    previous: _Run | None = None
    for piece, run in collector.pieces:
        if run is None:
            out.append(piece)
            tail += piece
            continue
        body = piece.lstrip()
        gap = tail + piece[: len(piece) - len(body)]
        if previous is not None and gap and "\n" not in gap and _is_field_gap(previous, run):
            while out and not out[-1].strip():
                out.pop()
            out[-1] = out[-1].rstrip()
            piece = " | " + body
        out.append(piece)
        tail = piece[len(piece.rstrip()) :]
        previous = None if "\n" in piece else run
    return "".join(out)


def _is_field_gap(previous: _Run, run: _Run) -> bool:
    size = max(run.size, previous.size)
    same_row = abs(previous.y - run.y) < ROW_TOLERANCE_EM * size
    return same_row and run.x - previous.end >= FIELD_GAP_EM * size


def _rows(runs: list[_Run]) -> list[list[_Run]]:
    """Runs grouped by baseline, top row first, each row left to right."""
    rows: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (-r.y, r.x)):
        if rows and rows[-1][0].y - run.y < ROW_TOLERANCE_EM * max(run.size, rows[-1][0].size):
            rows[-1].append(run)
        else:
            rows.append([run])
    return [sorted(row, key=lambda r: r.x) for row in rows]


def _column_edges(runs: list[_Run]) -> list[float]:
    """x positions where at least :data:`MIN_COLUMN_ROWS` runs start, the page's left margin
    excepted, most used first."""
    xs = sorted(run.x for run in runs)
    clusters: list[tuple[float, int]] = []
    for x in xs:
        if clusters and x - clusters[-1][0] <= COLUMN_ALIGN_PT:
            clusters[-1] = (clusters[-1][0], clusters[-1][1] + 1)
        else:
            clusters.append((x, 1))
    edges = [(count, x) for x, count in clusters[1:] if count >= MIN_COLUMN_ROWS]
    return [x for _, x in sorted(edges, reverse=True)[:MAX_COLUMN_CANDIDATES]]


def _bands(rows: list[list[_Run]], edge: float) -> list[tuple[int, int]]:
    """Stretches of consecutive rows, as ``(start, stop)``, in which no run crosses ``edge``."""
    bands: list[tuple[int, int]] = []
    start = 0
    for i, row in enumerate(rows):
        if any(run.x < edge - COLUMN_ALIGN_PT and run.end > edge for run in row):
            if i > start:
                bands.append((start, i))
            start = i + 1
    if len(rows) > start:
        bands.append((start, len(rows)))
    return bands


def _is_column_band(rows: list[list[_Run]], band: tuple[int, int], edge: float) -> bool:
    """Two columns: enough rows of text on each side of ``edge``, the right side starting at
    it; not the fields of dated rows; not a small grid (nearly every row of the shorter side on
    the baseline of the other side's text, fewer than :data:`MIN_GRID_COLUMN_ROWS` rows:
    ``姓名：… 性别：…``, headings in a margin), which reads well row by row."""
    left: list[str] = []
    right: list[str] = []
    both_left: list[str] = []
    aligned = 0
    for row in rows[band[0] : band[1]]:
        before = " ".join(run.text for run in row if run.x < edge - COLUMN_ALIGN_PT)
        after = [run for run in row if run.x >= edge - COLUMN_ALIGN_PT]
        after_text = " ".join(run.text for run in after)
        if _is_text(before):
            left.append(before)
        if _is_text(after_text):
            right.append(after_text)
            aligned += after[0].x <= edge + COLUMN_ALIGN_PT
            if _is_text(before):
                both_left.append(before)
    shorter = min(len(left), len(right))
    if shorter < MIN_COLUMN_ROWS or aligned < MIN_COLUMN_ROWS:
        return False
    if len(both_left) >= GRID_ROW_SHARE * shorter and shorter < MIN_GRID_COLUMN_ROWS:
        return False
    return _dated_share(right) <= MAX_DATED_SHARE and _dated_share(both_left) <= MAX_DATED_SHARE


def _is_text(text: str) -> bool:
    return sum(1 for ch in text if ch.isalnum()) >= MIN_ROW_CHARS


def _dated_share(texts: list[str]) -> float:
    return sum(1 for text in texts if _YEAR_RE.search(text)) / len(texts) if texts else 0.0


def _row_text(row: list[_Run]) -> str:
    """The row's runs left to right: a space between close runs, `` | `` across a wide gap."""
    out = row[0].text
    for previous, run in zip(row, row[1:], strict=False):
        wide = run.x - previous.end >= FIELD_GAP_EM * max(run.size, previous.size)
        out += (" | " if wide else " ") + run.text
    return out


# --------------------------------------------------------------------------- DOCX

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_W = "{" + _W_NS + "}"
_TAG_P = _W + "p"
_TAG_TBL = _W + "tbl"
_TAG_TR = _W + "tr"
_TAG_TC = _W + "tc"
_TAG_SDT = _W + "sdt"
_TAG_SDT_CONTENT = _W + "sdtContent"
_TAG_TXBX = _W + "txbxContent"
_TAG_T = _W + "t"
_TAG_TAB = _W + "tab"
_TAG_BR = _W + "br"
_TAG_CR = _W + "cr"
_TAG_FALLBACK = "{" + _MC_NS + "}Fallback"
_TEXT_TAGS = {_TAG_T: None, _TAG_TAB: "\t", _TAG_BR: "\n", _TAG_CR: "\n"}
"""A tab stays a tab: :func:`normalize_text` reads it as a column gap."""
_CELL_SEPARATOR = " | "


def _read_docx(data: bytes) -> str:
    """Headers, body, footers in document order: paragraphs, table rows as ``a | b | c``
    (merged cells once), text boxes (which python-docx's ``Paragraph.text`` leaves out)."""
    _check_docx_sizes(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError as exc:  # python-docx: "file ... is not a Word file, content type is ..."
        if "not a Word file" not in str(exc):
            raise
        raise ResumeFileError(
            ResumeErrorCode.UNSUPPORTED_TYPE, "not a Word document (a macro file or template?)"
        ) from exc
    headers: list[str] = []
    footers: list[str] = []
    for rel in document.part.rels.values():
        if rel.is_external or rel.reltype not in (RT.HEADER, RT.FOOTER):
            continue
        lines = "\n".join(_block_lines(rel.target_part.element))
        (headers if rel.reltype == RT.HEADER else footers).append(lines)
    body = "\n".join(_block_lines(document.element.body))
    return "\n".join([*dict.fromkeys(headers), body, *dict.fromkeys(footers)])


def _check_docx_sizes(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_DOCX_ENTRIES:
            raise ResumeFileError(ResumeErrorCode.TOO_LARGE, f"{len(infos)} parts in the DOCX")
        document_bytes = zf.getinfo("word/document.xml").file_size
        if document_bytes > MAX_DOCX_XML_BYTES:
            raise ResumeFileError(
                ResumeErrorCode.TOO_LARGE,
                f"word/document.xml is {document_bytes} bytes uncompressed, "
                f"the limit is {MAX_DOCX_XML_BYTES} bytes",
            )
        total = sum(info.file_size for info in infos)
        if total > MAX_DOCX_UNCOMPRESSED_BYTES:
            raise ResumeFileError(
                ResumeErrorCode.TOO_LARGE,
                f"the DOCX is {total} bytes uncompressed, "
                f"the limit is {MAX_DOCX_UNCOMPRESSED_BYTES} bytes",
            )


def _block_lines(container: Any) -> Iterator[str]:
    """Lines of a block container (body, cell, header, text box, content control)."""
    for child in container:
        if child.tag == _TAG_P:
            yield from _paragraph_lines(child)
        elif child.tag == _TAG_TBL:
            yield from _table_lines(child)
        elif child.tag in (_TAG_SDT, _TAG_SDT_CONTENT):
            yield from _block_lines(child if child.tag == _TAG_SDT_CONTENT else _sdt_content(child))


def _sdt_content(sdt: Any) -> list[Any]:
    return [child for child in sdt if child.tag == _TAG_SDT_CONTENT]


def _paragraph_lines(paragraph: Any) -> Iterator[str]:
    """The paragraph's own text, then the paragraphs of text boxes anchored in it."""
    own: list[str] = []
    boxes: list[Any] = []
    _collect_runs(paragraph, own, boxes)
    yield "".join(own)
    for box in boxes:
        yield from _block_lines(box)


def _collect_runs(element: Any, out: list[str], boxes: list[Any]) -> None:
    for child in element:
        tag = child.tag
        if tag == _TAG_TXBX:
            boxes.append(child)
        elif tag == _TAG_FALLBACK:
            continue  # the VML copy of a text box already found in mc:Choice
        elif tag in _TEXT_TAGS:
            replacement = _TEXT_TAGS[tag]
            out.append((child.text or "") if replacement is None else replacement)
        elif isinstance(tag, str):
            _collect_runs(child, out, boxes)


def _table_lines(table: Any) -> Iterator[str]:
    """A row as ``a | b | c`` (the lines of one cell are fields too: ``Chloe U. Jackson |
    Product Designer | chloe@example.com``); a row with a cell of more than
    :data:`MAX_CELL_FIELD_LINES` lines is a page laid out as a table (main column | side
    column): its cells' lines come cell by cell."""
    for row in table.iter(_TAG_TR):
        if _nearest_table(row) is not table:
            continue  # a nested table's row: its text comes with its cell
        cells: list[list[str]] = []
        for cell in row:
            if cell.tag != _TAG_TC:
                continue
            lines = [
                piece.strip()
                for line in _block_lines(cell)
                for piece in line.split("\n")
                if piece.strip()
            ]
            if lines and (not cells or cells[-1] != lines):
                cells.append(lines)
        if any(len(lines) > MAX_CELL_FIELD_LINES for lines in cells):
            yield from (line for lines in cells for line in lines)
        elif cells:
            yield _CELL_SEPARATOR.join(_joined_cell(lines) for lines in cells)


def _joined_cell(lines: list[str]) -> str:
    """A cell's lines as fields of its row, but a date range broken over two lines (``2019.07-``
    / ``2021.06``) stays one field."""
    out = lines[0]
    for line in lines[1:]:
        joined = out.endswith(_RANGE_JOINERS) or line.startswith(_RANGE_JOINERS)
        out += (" " if joined else _CELL_SEPARATOR) + line
    return out


_RANGE_JOINERS = ("-", "–", "—", "~", "至", "到")


def _nearest_table(row: Any) -> Any:
    parent = row.getparent()
    while parent is not None and parent.tag != _TAG_TBL:
        parent = parent.getparent()
    return parent


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
            return _strict(data[len(bom) :], encoding)
    candidates = (_utf16_without_bom(data), "utf-8", "gb18030")
    for candidate in candidates:
        if candidate and (decoded := _strict(data, candidate)) is not None:
            return decoded
    return None


def _strict(data: bytes, encoding: str) -> str | None:
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

_READERS = {_Kind.PDF: _read_pdf, _Kind.DOCX: _read_docx, _Kind.TEXT: _read_text}

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


# --------------------------------------------------------------------------- zip (bulk upload)

_SKIPPED_BASENAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_UNICODE_PATH_EXTRA_ID = 0x7075
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1


def _open_zip(filename: str, data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ResumeFileError(ResumeErrorCode.EMPTY, "the archive is empty")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"{filename} is not a readable zip archive"
        ) from exc


def _too_many(count: int, max_files: int) -> ResumeFileError:
    return ResumeFileError(
        ResumeErrorCode.TOO_MANY_FILES, f"{count} files in the archive, the limit is {max_files}"
    )


def _entry_name(info: zipfile.ZipInfo) -> str | None:
    """The entry's safe relative path, or None to skip it; raises on path tricks."""
    name = _decoded_name(info).replace("\\", "/")
    if info.is_dir() or name.endswith("/"):
        return None
    parts = name.split("/")
    if name.startswith("/") or ":" in parts[0] or ".." in parts or "\x00" in name:
        raise ResumeFileError(ResumeErrorCode.UNSAFE_PATH, f"unsafe path in the archive: {name!r}")
    base = parts[-1]
    if (
        parts[0] == "__MACOSX"
        or base.lower() in _SKIPPED_BASENAMES
        or base.startswith(("._", "~$"))
    ):
        return None
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise ResumeFileError(
            ResumeErrorCode.ENCRYPTED_ARCHIVE, f"{name} is password-protected in the archive"
        )
    return "/".join(part for part in parts if part not in ("", "."))


def _decoded_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")  # zipfile decoded the raw bytes as CP437
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    for encoding in ("utf-8", "gb18030"):
        decoded = _strict(raw, encoding)
        if decoded is not None:
            return decoded
    return info.filename


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when it matches the header name."""
    offset = 0
    while offset + 4 <= len(extra):
        field_id, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + size]
        offset += 4 + size
        if field_id != _UNICODE_PATH_EXTRA_ID or len(body) < 5 or body[0] != 1:
            continue
        (crc,) = struct.unpack_from("<I", body, 1)
        if crc == zlib.crc32(raw_name):
            return _strict(body[5:], "utf-8")
    return None


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, never more than its declared size (zipfile checks size and CRC)."""
    try:
        with zf.open(info) as handle:
            return handle.read(info.file_size + 1)[: info.file_size]
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"{info.filename} could not be unpacked"
        ) from exc
