"""DOCX résumés to text lines (python-docx, with the XML walked directly).

Headers, body and footers in document order; a table row is one line ``a | b | c``, unless
a cell holds many paragraphs (a page laid out as a table), then the cells' paragraphs stay
lines, cell by cell; text boxes are read where they are anchored. Sizes are checked before
python-docx loads the parts (zip-bomb guard).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from server.resumes.resume_errors import ResumeErrorCode, ResumeFileError

MAX_DOCX_XML_BYTES = 20 * 1024 * 1024
"""Largest uncompressed ``word/document.xml``, in bytes (zip-bomb guard)."""

MAX_DOCX_UNCOMPRESSED_BYTES = 60 * 1024 * 1024
"""Largest uncompressed size of all parts of a DOCX (python-docx loads every part), in bytes."""

MAX_DOCX_ENTRIES = 2_000
"""Most zip entries accepted in one DOCX."""

MAX_CELL_FIELD_LINES = 3
"""Lines a DOCX table cell holds as fields of its row; a longer cell is a column of a page
laid out as a table, and its lines stay lines."""

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
"""A tab stays a tab: :func:`~server.resumes.resume_text.normalize_text` reads it as a
column gap."""
_CELL_SEPARATOR = " | "


def is_docx(zf: zipfile.ZipFile) -> bool:
    """Whether the zip is a Word document (it holds ``word/document.xml``)."""
    try:
        zf.getinfo("word/document.xml")
    except KeyError:
        return False
    return True


def read_docx(data: bytes) -> str:
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
