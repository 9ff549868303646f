"""The built-in question bank and the import of custom questions (CSV, JSON, XLSX).

A pure module: it reads the packaged bank and parses bytes it is given, nothing else.
Validation reports *every* problem (row and field), so staff can fix a whole spreadsheet
in one go; an import with any bad row imports nothing.

Field names in errors are paths into the ``Question`` JSON shape (``text.zh``,
``rubric[2].en``, ``rubric[0].keywords.zh[1]``, ...). For CSV/XLSX imports they are mapped
back to the spreadsheet column (``text_zh``, ``rubric_en``, ...); messages count rubric
points from 1.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from importlib import resources
from typing import Any, TypeVar
from xml.etree import ElementTree

from server.core.csvsafe import declared_encoding, decode_upload_text
from server.domain.errors import FieldError
from server.domain.models import LANGUAGES, Media, Question, Section

MAX_IMPORT_ROWS = 2000
"""Most questions one import may hold; a bigger file is refused as a whole."""
MAX_TEXT_CHARS = 2000
"""Longest question text per language."""
MAX_RUBRIC_POINT_CHARS = 1000
"""Longest rubric point text per language."""
MAX_RUBRIC_POINTS = 12
MAX_KEYWORDS_PER_LANGUAGE = 50
MAX_KEYWORD_CHARS = 100
MAX_COMPETENCIES = 20
MAX_TAGS = 20
MAX_TAG_CHARS = 40
PREP_S_MIN, PREP_S_MAX = 0, 600
"""Preparation time bounds in seconds."""
ANSWER_S_MIN, ANSWER_S_MAX = 10, 3600
"""Answer time bounds in seconds."""
DEFAULT_MEDIA = Media.VIDEO
"""``media`` when a question leaves it out (or a CSV cell is empty)."""

COMPETENCY_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

CSV_COLUMNS: tuple[str, ...] = (
    "section",
    "text_zh",
    "text_en",
    "competencies",
    "rubric_zh",
    "rubric_en",
    "prep_s",
    "answer_s",
    "media",
    "tags",
)
"""The header of a CSV/XLSX import (any order)."""

_QUESTION_FIELDS = frozenset(
    {"section", "text", "competencies", "rubric", "prep_s", "answer_s", "media", "tags"}
)
_IGNORED_FIELDS = frozenset({"id", "builtin"})
"""Accepted so an exported question re-imports, but the caller assigns these."""
_LIST_SPLIT = re.compile(r"[;；]")
_RUBRIC_SPLIT = re.compile(r"[|｜]")
_BANK_RESOURCE = ("data", "question_bank.json")
_T = TypeVar("_T")


class ImportValidationError(ValueError):
    """An import was refused; ``errors`` lists every bad row and field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        summary = f"{len(self.errors)} problem(s)"
        if first is not None:
            where = f"row {first.row}, " if first.row is not None else ""
            summary += f"; first: {where}{first.field}: {first.message}"
        super().__init__(summary)

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.errors]


# --------------------------------------------------------------------------- built-in bank


@functools.cache
def load_builtin() -> tuple[Question, ...]:
    """The built-in question bank shipped in ``server/data/question_bank.json`` (cached).

    Raises ``RuntimeError`` if the packaged file is invalid: that is a bug, not user input.
    """
    ref = resources.files("server")
    for part in _BANK_RESOURCE:
        ref = ref.joinpath(part)
    items = json.loads(ref.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        raise RuntimeError("built-in question bank must be a JSON list")
    problems: list[FieldError] = []
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        data, errors = validate_question(item, index)
        problems.extend(errors)
        qid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(qid, str) or not qid:
            problems.append(FieldError(index, "id", "built-in questions need an id"))
            continue
        if qid in seen:
            problems.append(FieldError(index, "id", f"duplicate id {qid!r}"))
        seen.add(qid)
        if data is not None:
            questions.append(Question.from_dict({**data, "id": qid, "builtin": True}))
    if problems:
        detail = "; ".join(f"[{p.row}] {p.field}: {p.message}" for p in problems)
        raise RuntimeError(f"built-in question bank is invalid: {detail}")
    return tuple(questions)


def builtin_by_id() -> dict[str, Question]:
    """The built-in bank keyed by question id."""
    return {q.id: q for q in load_builtin()}


# --------------------------------------------------------------------------- validation


class _Errors:
    """Collects errors for one row."""

    def __init__(self, row: int | None) -> None:
        self.row = row
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(self.row, field, message))


def validate_question(
    data: object, row: int | None
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Check every field of one question (``Question`` JSON shape, ``id`` optional).

    Returns the normalised question (stripped strings, ``media`` defaulted, de-duplicated
    lists; no ``id``/``builtin``) and ``[]``, or ``None`` and *all* the errors found.
    """
    errs = _Errors(row)
    if not isinstance(data, dict):
        errs.add("question", "must be an object with the question fields")
        return None, errs.items
    for key in data:
        if key not in _QUESTION_FIELDS and key not in _IGNORED_FIELDS:
            allowed = ", ".join(sorted(_QUESTION_FIELDS))
            errs.add(str(key), f"unknown field; allowed: {allowed}")

    section = _check_choice(data.get("section"), "section", Section, None, errs)
    text = _check_localized(data.get("text"), "text", MAX_TEXT_CHARS, "question text", errs)
    competencies = _check_competencies(data.get("competencies"), errs)
    rubric = _check_rubric(data.get("rubric"), errs)
    prep_s = _check_int(data.get("prep_s"), "prep_s", PREP_S_MIN, PREP_S_MAX, errs)
    answer_s = _check_int(data.get("answer_s"), "answer_s", ANSWER_S_MIN, ANSWER_S_MAX, errs)
    media = _check_choice(data.get("media"), "media", Media, DEFAULT_MEDIA, errs)
    tags = _check_tags(data.get("tags"), errs)

    if errs.items:
        return None, errs.items
    return {
        "section": section,
        "text": text,
        "competencies": competencies,
        "rubric": rubric,
        "prep_s": prep_s,
        "answer_s": answer_s,
        "media": media,
        "tags": tags,
    }, []


def _check_choice(
    value: object,
    field: str,
    enum_type: type[enum.StrEnum],
    default: enum.StrEnum | None,
    errs: _Errors,
) -> str | None:
    allowed = ", ".join(m.value for m in enum_type)
    if value is None or value == "":
        if default is not None:
            return default.value
        errs.add(field, f"is required; one of: {allowed}")
        return None
    if not isinstance(value, str) or value.strip().lower() not in {m.value for m in enum_type}:
        errs.add(field, f"{value!r} is not valid; one of: {allowed}")
        return None
    return value.strip().lower()


def _check_localized(
    value: object, field: str, limit: int, what: str, errs: _Errors
) -> dict[str, str] | None:
    if value is None:
        errs.add(field, f"{what} is missing; give it in zh and/or en")
        return None
    if not isinstance(value, dict):
        errs.add(field, f'{what} must be an object like {{"zh": "...", "en": "..."}}')
        return None

    def check(text: object, sub: str) -> str | None:
        if text is None:
            return ""
        if not isinstance(text, str):
            errs.add(sub, "must be a string")
            return None
        if len(text.strip()) > limit:
            errs.add(sub, f"is {len(text.strip())} characters long; at most {limit}")
            return None
        return text.strip()

    out = _check_per_language(value, field, check, errs)
    if out == {}:
        errs.add(field, f"{what} is empty; give it in zh and/or en")
        return None
    return out


def _check_per_language(
    value: dict[Any, Any], field: str, check: Callable[[object, str], _T | None], errs: _Errors
) -> dict[str, _T] | None:
    """``value``'s entries by language, each checked by ``check(entry, field path)``, which
    reports and returns None for a bad entry and returns an empty one to leave it out. None
    when a language is unknown or an entry is bad (every error reported)."""
    out: dict[str, _T] = {}
    ok = True
    for lang, item in value.items():
        sub = f"{field}.{lang}"
        if lang not in LANGUAGES:
            errs.add(sub, "unknown language; use zh or en")
            ok = False
            continue
        checked = check(item, sub)
        if checked is None:
            ok = False
        elif checked:
            out[lang] = checked
    return out if ok else None


def _check_list_size(
    value: object, field: str, need: str, unit: str, max_items: int, errs: _Errors
) -> list[Any] | None:
    """``value`` when it is a list of 1 to ``max_items`` entries, else None (error reported)."""
    if not isinstance(value, list) or not value:
        errs.add(field, f"needs at least one {need}")
        return None
    if len(value) > max_items:
        errs.add(field, f"has {len(value)} {unit}; at most {max_items}")
        return None
    return value


def _check_competencies(value: object, errs: _Errors) -> list[str] | None:
    need = "competency id (e.g. logic, expression)"
    ids = _check_list_size(value, "competencies", need, "ids", MAX_COMPETENCIES, errs)
    if ids is None:
        return None
    out: list[str] = []
    ok = True
    for i, cid in enumerate(ids):
        if not isinstance(cid, str) or not COMPETENCY_ID_RE.match(cid.strip()):
            errs.add(
                f"competencies[{i}]",
                f"{cid!r} is not a competency id (2–41 lowercase letters, digits or _, "
                "starting with a letter)",
            )
            ok = False
        elif cid.strip() not in out:
            out.append(cid.strip())
    return out if ok else None


def _check_rubric(value: object, errs: _Errors) -> list[dict[str, Any]] | None:
    points = _check_list_size(value, "rubric", "key point", "key points", MAX_RUBRIC_POINTS, errs)
    if points is None:
        return None
    out: list[dict[str, Any]] = []
    ok = True
    for i, point in enumerate(points):
        field = f"rubric[{i}]"
        what = f"rubric point {i + 1}"
        if not isinstance(point, dict):
            errs.add(field, f'{what} must be an object like {{"zh": "...", "en": "..."}}')
            ok = False
            continue
        texts = {k: v for k, v in point.items() if k != "keywords"}
        text = _check_localized(texts, field, MAX_RUBRIC_POINT_CHARS, what, errs)
        keywords = _check_keywords(point.get("keywords"), f"{field}.keywords", errs)
        if text is None or keywords is None:
            ok = False
            continue
        entry: dict[str, Any] = dict(text)
        if keywords:
            entry["keywords"] = keywords
        out.append(entry)
    return out if ok else None


def _check_keywords(value: object, field: str, errs: _Errors) -> dict[str, list[str]] | None:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errs.add(field, 'must be an object like {"zh": ["..."], "en": ["..."]}')
        return None
    return _check_per_language(
        value,
        field,
        lambda words, sub: _check_string_list(
            words, sub, MAX_KEYWORDS_PER_LANGUAGE, MAX_KEYWORD_CHARS, errs
        ),
        errs,
    )


def _check_tags(value: object, errs: _Errors) -> list[str] | None:
    if value is None:
        return []
    return _check_string_list(value, "tags", MAX_TAGS, MAX_TAG_CHARS, errs)


def _check_string_list(
    value: object, field: str, max_items: int, max_chars: int, errs: _Errors
) -> list[str] | None:
    if not isinstance(value, list):
        errs.add(field, "must be a list of strings")
        return None
    if len(value) > max_items:
        errs.add(field, f"has {len(value)} entries; at most {max_items}")
        return None
    out: list[str] = []
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errs.add(f"{field}[{i}]", "must be a non-empty string")
            ok = False
        elif len(item.strip()) > max_chars:
            errs.add(
                f"{field}[{i}]", f"is {len(item.strip())} characters long; at most {max_chars}"
            )
            ok = False
        elif item.strip() not in out:
            out.append(item.strip())
    return out if ok else None


def _check_int(value: object, field: str, low: int, high: int, errs: _Errors) -> int | None:
    if value is None or value == "":
        errs.add(field, f"is required: whole seconds from {low} to {high}")
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None:
        errs.add(field, f"{value!r} is not a whole number of seconds")
        return None
    if not low <= number <= high:
        errs.add(field, f"{number} is out of range; {low} to {high} seconds")
        return None
    return number


# --------------------------------------------------------------------------- import


class _Format(enum.Enum):
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_EXTENSIONS = {
    ".csv": _Format.CSV,
    ".txt": _Format.CSV,
    ".json": _Format.JSON,
    ".xlsx": _Format.XLSX,
}


def _file_error(message: str, field: str = "file") -> ImportValidationError:
    return ImportValidationError([FieldError(None, field, message)])


def parse_import(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Parse and validate an uploaded question file (``.csv``, ``.json`` or ``.xlsx``).

    Returns the validated questions (no ids; the caller assigns them). Raises
    ``ImportValidationError`` listing every bad row and field if anything is wrong: the
    import is all or nothing. CPU-bound for big files: call it off the event loop.
    """
    fmt = _detect_format(filename, content)
    if fmt is _Format.JSON:
        items = _read_json(content)
        results = [validate_question(item, index) for index, item in enumerate(items)]
    else:
        rows = _read_csv(content) if fmt is _Format.CSV else _read_xlsx(content)
        results = _tabular_questions(rows)
    errors = [e for _, errs in results for e in errs]
    if errors:
        raise ImportValidationError(errors)
    return [data for data, _ in results if data is not None]


def _detect_format(filename: str, content: bytes) -> _Format:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not content.strip():
        raise _file_error("the file is empty")
    if content.startswith(_OLE_MAGIC) or ext == ".xls":
        raise _file_error("legacy Excel .xls files are not supported; save as .xlsx or CSV")
    if content.startswith(_ZIP_MAGIC) and ext in ("", ".csv", ".txt", ".xlsx"):
        return _Format.XLSX  # a workbook, whatever it is called
    if ext in _EXTENSIONS:
        fmt = _EXTENSIONS[ext]
        if fmt is _Format.XLSX:
            raise _file_error("this is not a valid .xlsx workbook")
        return fmt
    if ext == "":
        head = (decode_upload_text(content) or "").lstrip(" \t\r\n")[:1]
        return _Format.JSON if head in ("{", "[") else _Format.CSV
    raise _file_error(f"unsupported file type {ext!r}; upload a .csv, .json or .xlsx file")


def _read_json(content: bytes) -> list[object]:
    text = decode_upload_text(content)
    if text is None:
        raise _file_error("JSON must be UTF-8, UTF-16 or GBK text")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _file_error(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _file_error("not valid JSON: nested too deeply") from None
    if isinstance(doc, dict) and isinstance(doc.get("questions"), list):
        items: list[object] = doc["questions"]
    elif isinstance(doc, list):
        items = doc
    else:
        raise _file_error('expected {"questions": [...]} or a list of questions', "questions")
    if not items:
        raise _file_error("the file has no questions", "questions")
    if len(items) > MAX_IMPORT_ROWS:
        raise _file_error(_too_many_rows(len(items)))
    return items


def _too_many_rows(count: int) -> str:
    return f"{count} questions is more than {MAX_IMPORT_ROWS} per import; split the file"


def _decode_text(content: bytes) -> str:
    """The CSV's text (:func:`~server.core.csvsafe.decode_upload_text`); NUL bytes without a
    byte-order mark mean a binary file."""
    if b"\x00" in content and declared_encoding(content) is None:
        raise _file_error("this is not a text CSV file (binary content)")
    text = decode_upload_text(content)
    if text is None:
        raise _file_error("the CSV is neither UTF-8 nor GBK text; save it as 'CSV UTF-8'")
    return text


_Rows = Iterator[tuple[int, list[str]]]
"""(spreadsheet line number, cells) for every row, header first."""


def _read_csv(content: bytes) -> _Rows:
    text = _decode_text(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise _file_error(f"malformed CSV near line {reader.line_num}: {exc}") from None
    return iter([(n, row) for n, row in enumerate(rows, start=1)])


XLSX_INFLATED_MAX_BYTES = 20 * 1024 * 1024
"""A workbook bigger than this once unzipped is refused (zip bombs)."""
XLSX_SCAN_COLUMNS_MAX = 64


def _read_xlsx(content: bytes) -> _Rows:
    import openpyxl  # lazily: only imports need it
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, KeyError, ValueError)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(i.file_size for i in archive.infolist()) > XLSX_INFLATED_MAX_BYTES:
                raise _file_error("the workbook is too large once unpacked")
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (*unreadable, InvalidFileException, OSError) as exc:
        raise _file_error(f"this is not a readable .xlsx workbook ({exc})") from None
    try:
        if not workbook.worksheets:
            raise _file_error("the workbook has no sheets")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong size; read what is there
        rows: list[tuple[int, list[str]]] = []
        data_rows = 0
        cells_seen = sheet.iter_rows(
            values_only=True, max_row=MAX_IMPORT_ROWS + 1000, max_col=XLSX_SCAN_COLUMNS_MAX
        )
        for number, values in enumerate(cells_seen, start=1):
            cells = [_cell_text(v) for v in values]
            if number > 1 and not any(c.strip() for c in cells):
                continue  # empty rows (a far-away cell makes openpyxl fill the gap) are not kept
            rows.append((number, cells))
            if number > 1:
                data_rows += 1
                if data_rows > MAX_IMPORT_ROWS:  # stop reading a huge sheet early
                    raise _file_error(
                        f"more than {MAX_IMPORT_ROWS} questions per import; split the file"
                    )
    except unreadable as exc:
        raise _file_error(f"this is not a readable .xlsx workbook ({exc})") from None
    finally:
        workbook.close()
    return iter(rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _tabular_questions(rows: _Rows) -> list[tuple[dict[str, Any] | None, list[FieldError]]]:
    first = next(rows, None)
    if first is None:
        raise _file_error("the file is empty")
    header_row, header = first
    columns = _check_header(header_row, header)
    body = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if not body:
        raise _file_error("the file has a header but no questions")
    if len(body) > MAX_IMPORT_ROWS:
        raise _file_error(_too_many_rows(len(body)))
    return [_tabular_question(n, cells, columns) for n, cells in body]


def _check_header(row: int, header: list[str]) -> dict[str, int]:
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    while names and not names[-1]:
        names.pop()
    expected = ",".join(CSV_COLUMNS)
    if not any(names):
        raise ImportValidationError(
            [FieldError(row, "header", f"the first row must be the header: {expected}")]
        )
    errors: list[FieldError] = []
    missing = [c for c in CSV_COLUMNS if c not in names]
    unknown = [n or f"(empty, column {i + 1})" for i, n in enumerate(names) if n not in CSV_COLUMNS]
    duplicate = sorted({n for n in names if n in CSV_COLUMNS and names.count(n) > 1})
    if missing:
        errors.append(FieldError(row, "header", f"missing columns: {', '.join(missing)}"))
    if unknown:
        errors.append(FieldError(row, "header", f"unknown columns: {', '.join(unknown)}"))
    if duplicate:
        errors.append(FieldError(row, "header", f"repeated columns: {', '.join(duplicate)}"))
    if errors:
        errors.append(FieldError(row, "header", f"expected header: {expected}"))
        raise ImportValidationError(errors)
    return {name: i for i, name in enumerate(names)}


def _split(cell: str, pattern: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in pattern.split(cell) if part.strip()]


def _split_points(cell: str) -> list[str]:
    parts = [part.strip() for part in _RUBRIC_SPLIT.split(cell.strip())] if cell.strip() else []
    while parts and not parts[-1]:
        parts.pop()  # a trailing "|" is not an extra point
    return parts


def _int_cell(cell: str) -> object:
    text = cell.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _tabular_question(
    row: int, cells: list[str], columns: dict[str, int]
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
        errors.append(FieldError(row, "row", "has values beyond the last header column"))

    def cell(name: str) -> str:
        i = columns[name]
        return cells[i].strip() if i < len(cells) else ""

    points_zh, points_en = _split_points(cell("rubric_zh")), _split_points(cell("rubric_en"))
    if points_zh and points_en and len(points_zh) != len(points_en):
        errors.append(
            FieldError(
                row,
                "rubric_en",
                f"has {len(points_en)} points but rubric_zh has {len(points_zh)}; "
                "point i of each column belong together",
            )
        )
    rubric = [
        {"zh": zh, "en": en}
        for zh, en in zip(
            points_zh + [""] * (len(points_en) - len(points_zh)),
            points_en + [""] * (len(points_zh) - len(points_en)),
            strict=True,
        )
    ]
    question = {
        "section": cell("section"),
        "text": {"zh": cell("text_zh"), "en": cell("text_en")},
        "competencies": _split(cell("competencies"), _LIST_SPLIT),
        "rubric": rubric,
        "prep_s": _int_cell(cell("prep_s")),
        "answer_s": _int_cell(cell("answer_s")),
        "media": cell("media") or None,
        "tags": _split(cell("tags"), _LIST_SPLIT),
    }
    data, field_errors = validate_question(question, row)
    errors.extend(FieldError(e.row, _column_of(e.field), e.message) for e in field_errors)
    return (None if errors else data), errors


_COLUMN_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"^text\.(zh|en)$"), lambda m: f"text_{m.group(1)}"),
    (re.compile(r"^text$"), lambda m: "text_zh"),
    (re.compile(r"^rubric\[\d+\]\.(zh|en)$"), lambda m: f"rubric_{m.group(1)}"),
    (re.compile(r"^rubric(\[\d+\])?$"), lambda m: "rubric_zh"),
    (re.compile(r"^(competencies|tags)\[\d+\]$"), lambda m: m.group(1)),
)


def _column_of(field: str) -> str:
    """The CSV column a validation field path refers to."""
    for pattern, column in _COLUMN_PATTERNS:
        match = pattern.match(field)
        if match:
            return column(match)
    return field
