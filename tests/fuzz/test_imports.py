"""Fuzz the file imports: questions (``POST /api/questions/import``: CSV, JSON, XLSX) and bulk
invitations (``POST /api/jobs/{job_id}/invitations/bulk``: CSV).

Files start valid and are mutated: cells replaced by formulas (``=cmd|' /C calc'!A0``),
huge text, odd numbers, quotes, line breaks and delimiters; rows and columns added, dropped
or duplicated; the header mangled; the text encoded as UTF-8 with and without BOM, UTF-16,
GB18030, Latin-1; bytes inserted; workbooks with odd cell types, far-away rows, padded XML
(a small zip bomb) or flipped bytes; and plain random bytes under any file name.

The server answers 201 or a 4xx JSON error, never 5xx, and an import is all or nothing: after
a 4xx the number of questions (or invitations) is what it was; after a 201 it grew by exactly
what the answer lists.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import openpyxl
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.writer.excel import ExcelWriter

from server.hiring.questionbank import CSV_COLUMNS
from tests.support import fuzz_clients
from tests.support.fuzz_server import ServerThread, fuzz_settings

QUESTION_EXAMPLES = 200
INVITATION_EXAMPLES = 120
OK_STATUSES = {201, 400, 413, 415, 422}

VALID_QUESTION_ROW = [
    "structured",
    "请谈谈你如何处理突发事件。",
    "How do you handle an emergency?",
    "logic;expression",
    "先控制局面|再报告",
    "Contain the situation|Report upwards",
    "30",
    "120",
    "video",
    "emergency;policy",
]
VALID_QUESTION = {
    "section": "structured",
    "text": {"zh": "请谈谈你如何处理突发事件。", "en": "How do you handle an emergency?"},
    "competencies": ["logic", "expression"],
    "rubric": [{"zh": "先控制局面", "en": "Contain the situation"}],
    "prep_s": 30,
    "answer_s": 120,
    "media": "video",
    "tags": ["emergency"],
}
INVITATION_HEADER = ["name", "email", "phone", "language"]
VALID_INVITATION_ROW = ["Ada Lovelace", "ada@example.com", "+44 (20) 1234-5678", "en"]

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://127.0.0.1:9/x","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "=1+1@example.com",
]
ODD_CELLS = st.one_of(
    st.sampled_from(FORMULAS),
    st.sampled_from(
        [
            "",
            " ",
            '"',
            '""',
            "a,b",
            "a\nb",
            "a\r\nb",
            "a;b|c",
            "|",
            ";",
            "\ufeff",
            "\x00",
            "NaN",
            "inf",
            "-1",
            "1e309",
            "99999999999999999999",
            "3.5",
            "zh-CN",
        ]
    ),
    st.text(max_size=30),
    st.integers(1000, 120_000).map(lambda n: "界" * n),  # huge cells
)
XLSX_TIMESTAMP = datetime(2026, 1, 1)
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030", "latin-1"]


# -- files -------------------------------------------------------------------------------------


@st.composite
def mutated_table(draw: st.DrawFn, header: list[str], row: list[str]) -> list[list[str]]:
    table = [list(header)] + [list(row) for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "add", "drop", "dup", "header"]))
        r = draw(st.integers(0, len(table) - 1))
        if op == "cell" and table[r]:
            table[r][draw(st.integers(0, len(table[r]) - 1))] = draw(ODD_CELLS)
        elif op == "add":
            table[r].insert(draw(st.integers(0, len(table[r]))), draw(ODD_CELLS))
        elif op == "drop" and table[r]:
            del table[r][draw(st.integers(0, len(table[r]) - 1))]
        elif op == "dup":
            table[r:r] = [list(table[r])] * draw(st.integers(1, 5))
        elif op == "header":
            table[0] = draw(st.permutations(table[0]))
    return table


@st.composite
def csv_bytes(draw: st.DrawFn, table: list[list[str]]) -> bytes:
    delimiter = draw(st.sampled_from([",", ",", ",", "\t", ";"]))
    if draw(st.booleans()):
        out = io.StringIO()
        ending = draw(st.sampled_from(["\r\n", "\n"]))
        csv.writer(out, delimiter=delimiter, lineterminator=ending).writerows(table)
        text = out.getvalue()
    else:  # joined without quoting: stray quotes and delimiters inside cells
        text = "\n".join(delimiter.join(r) for r in table)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if encoding == "utf-16-le" and draw(st.booleans()):
        data = codecs.BOM_UTF16_LE + data
    if draw(st.integers(0, 5)) == 0:  # a few stray bytes
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


def _xlsx(table: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in table:  # control characters cannot be in a workbook (openpyxl refuses them)
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    # Pinned timestamps: openpyxl's own save stamps the time into docProps/core.xml, which
    # changes the compressed size, and draws bounded by that size would then differ between
    # Hypothesis' replays of the same example (FlakyStrategyDefinition).
    book.properties.created = book.properties.modified = XLSX_TIMESTAMP
    out = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)).save()
    return out.getvalue()


def _rewrite_sheet(xlsx: bytes, edit: Any) -> bytes:
    """The workbook with its first sheet's XML passed through ``edit``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data)
            dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


XLSX_CELLS = st.one_of(
    ODD_CELLS,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.just(datetime(2024, 2, 29, 12, 0)),
    st.just("=1+1"),  # a formula: no cached value when read with data_only
)


@st.composite
def xlsx_bytes(draw: st.DrawFn) -> bytes:
    table: list[list[Any]] = draw(mutated_table(list(CSV_COLUMNS), VALID_QUESTION_ROW))
    for row in table[1:]:
        if row and draw(st.booleans()):
            row[draw(st.integers(0, len(row) - 1))] = draw(XLSX_CELLS)
    data = _xlsx(table)
    trick = draw(st.sampled_from(["none", "none", "far_row", "padding", "bad_xml", "flip"]))
    if trick == "far_row":  # an empty gap of many rows (kept small here; see test_regressions)
        n = draw(st.integers(10, 20_000))
        row = f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>structured</t></is></c></row>'
        data = _rewrite_sheet(
            data, lambda xml: xml.replace(b"</sheetData>", row.encode() + b"</sheetData>")
        )
    elif trick == "padding":  # compresses ~1000:1 (kept to 2 MB here)
        pad = b" " * draw(st.integers(1, 2 << 20))
        data = _rewrite_sheet(data, lambda xml: xml.replace(b"</sheetData>", pad + b"</sheetData>"))
    elif trick == "bad_xml":
        cut = draw(st.integers(0, 400))
        data = _rewrite_sheet(data, lambda xml: xml[: max(0, len(xml) - cut)] + b"<c r=")
    elif trick == "flip":
        raw = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        data = bytes(raw)
    return data


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)


@st.composite
def json_bytes(draw: st.DrawFn) -> bytes:
    questions = []
    for _ in range(draw(st.integers(0, 3))):
        q = dict(VALID_QUESTION)
        for key in draw(st.lists(st.sampled_from([*VALID_QUESTION, "id", "extra"]), max_size=3)):
            q[key] = draw(JSON_VALUES | ODD_CELLS)
        questions.append(q)
    doc: Any = draw(
        st.sampled_from(["wrapped", "wrapped", "bare", "junk"]).map(
            lambda shape: (
                {"questions": questions}
                if shape == "wrapped"
                else questions
                if shape == "bare"
                else None
            )
        )
    )
    if doc is None:
        doc = draw(JSON_VALUES)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16"])))


FILENAMES = st.sampled_from(
    ["q.csv", "q.json", "q.xlsx", "q.xls", "q.txt", "q", "Q.CSV", "a/../b.csv", "", "q.exe"]
)


def question_files() -> st.SearchStrategy[tuple[str, bytes]]:
    csv_file = mutated_table(list(CSV_COLUMNS), VALID_QUESTION_ROW).flatmap(csv_bytes)
    return st.one_of(
        st.tuples(st.sampled_from(["q.csv", "q.txt", "q"]), csv_file),
        st.tuples(st.sampled_from(["q.json", "q"]), json_bytes()),
        st.tuples(st.sampled_from(["q.xlsx", "q.csv", "q"]), xlsx_bytes()),
        st.tuples(FILENAMES, st.binary(max_size=300)),
        st.tuples(FILENAMES, csv_file | json_bytes() | xlsx_bytes()),
    )


def invitation_files() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_table(INVITATION_HEADER, VALID_INVITATION_ROW).flatmap(csv_bytes),
        st.binary(max_size=300),
        xlsx_bytes(),
    )


# -- the fuzzers ---------------------------------------------------------------------------------


@dataclass
class Imports:
    server: ServerThread
    admin: str
    job_id: str

    def upload(self, path: str, filename: str, content: bytes) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(content), filename=filename or "upload")
        status, content_type, body = self.server.request("POST", path, token=self.admin, data=form)
        assert status < 500, f"{status}: {body[:300]!r}"
        assert status in OK_STATUSES, (status, body[:300])
        assert content_type == "application/json", (status, content_type)
        answer = json.loads(body)
        if status >= 400:
            assert isinstance(answer.get("error"), str), answer
        return status, answer

    def count(self, path: str) -> int:
        return len(self.server.call("GET", path, token=self.admin))


@pytest.fixture(scope="module")
def imports(fuzz_server: ServerThread) -> Imports:
    base = fuzz_clients.setup(fuzz_server)
    return Imports(fuzz_server, base.admin, base.job["id"])


@given(file=question_files())
@fuzz_settings(QUESTION_EXAMPLES)
def test_question_import(imports: Imports, file: tuple[str, bytes]) -> None:
    note(f"file={file[0]!r}, {_short(file[1])}")
    before = imports.count("/api/questions")
    status, answer = imports.upload("/api/questions/import", *file)
    after = imports.count("/api/questions")
    if status == 201:
        assert answer["imported"] == len(answer["questions"]) > 0
        assert after == before + answer["imported"], "the answer and the bank disagree"
    else:
        assert after == before, f"{status} but {after - before} questions were imported"


@given(content=invitation_files())
@fuzz_settings(INVITATION_EXAMPLES)
def test_bulk_invitations(imports: Imports, content: bytes) -> None:
    note(f"content={_short(content)}")
    listing = f"/api/jobs/{imports.job_id}/interviews"
    before = imports.count(listing)
    status, answer = imports.upload(
        f"/api/jobs/{imports.job_id}/invitations/bulk", "people.csv", content
    )
    after = imports.count(listing)
    if status == 201:
        assert after == before + len(answer["created"]) > before
    else:
        assert after == before, f"{status} but {after - before} invitations were created"


@pytest.fixture(scope="module")
def exported(imports: Imports) -> Iterator[dict[str, list[list[str]]]]:
    """Candidates whose name and e-mail are formulas, then the job's CSV downloads."""
    table = [[*INVITATION_HEADER, "group"]]
    for i, formula in enumerate(FORMULAS[:4]):
        email = f"=1+{i}@example.com"
        table.append([formula, email, "", "zh-CN" if i % 2 else "en", formula[:60]])
    out = io.StringIO()
    csv.writer(out).writerows(table)
    content = out.getvalue().encode()
    status, _ = imports.upload(
        f"/api/jobs/{imports.job_id}/invitations/bulk", "people.csv", content
    )
    assert status == 201
    server, admin, job = imports.server, imports.admin, imports.job_id
    server.call("POST", f"/api/jobs/{job}/reminders", token=admin, json={}, expect=201)
    downloads = {}
    for name, path in (
        ("export", f"/api/jobs/{job}/export?format=csv"),
        ("reminders", f"/api/jobs/{job}/reminders?format=csv"),
    ):
        status, _, body = server.request("GET", path, token=admin)
        assert status == 200, (path, status)
        downloads[name] = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    yield downloads


@pytest.mark.parametrize("download", ["export", "reminders"])
def test_csv_downloads_neutralise_formulas(
    exported: dict[str, list[list[str]]], download: str
) -> None:
    """Cells from candidates' input never start a spreadsheet formula (CSV injection)."""
    risky = [
        cell
        for row in exported[download][1:]
        for cell in row
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(cell)
    ]
    assert not risky, f"{download}.csv has cells a spreadsheet runs as formulas: {risky}"


def _short(content: bytes) -> str:
    """The input for the failure report (schemathesis' pytest plugin blanks Hypothesis' own)."""
    text = repr(content)
    return text if len(text) <= 2000 else f"{text[:2000]}... ({len(content)} bytes)"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
