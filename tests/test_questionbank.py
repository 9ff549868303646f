"""The built-in question bank and the CSV/JSON/XLSX question import."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest

from common.competencies import CATALOGUE
from server.domain.models import Media, Section
from server.hiring.questionbank import (
    CSV_COLUMNS,
    MAX_IMPORT_ROWS,
    FieldError,
    ImportValidationError,
    load_builtin,
    parse_import,
    validate_question,
)

GOOD_ROW = {
    "section": "structured",
    "text_zh": "你如何看待基层减负？",
    "text_en": "What do you think about easing the burden on grassroots officials?",
    "competencies": "policy_execution; logic",
    "rubric_zh": "表明态度|分析原因|提出对策",
    "rubric_en": "States a position|Analyses causes|Proposes measures",
    "prep_s": "60",
    "answer_s": "180",
    "media": "video",
    "tags": "civil_service;policy",
}

GOOD_ROW_PARSED = {
    "section": "structured",
    "text": {
        "zh": "你如何看待基层减负？",
        "en": "What do you think about easing the burden on grassroots officials?",
    },
    "competencies": ["policy_execution", "logic"],
    "rubric": [
        {"zh": "表明态度", "en": "States a position"},
        {"zh": "分析原因", "en": "Analyses causes"},
        {"zh": "提出对策", "en": "Proposes measures"},
    ],
    "prep_s": 60,
    "answer_s": 180,
    "media": "video",
    "tags": ["civil_service", "policy"],
}

TEXT_ROW = {
    "section": "professional",
    "text_zh": "请写出用 SUMIFS 按部门汇总金额的公式。",
    "text_en": "",
    "competencies": "professional",
    "rubric_zh": "公式正确",
    "rubric_en": "",
    "prep_s": "0",
    "answer_s": "600",
    "media": "text",
    "tags": "",
}


def csv_text(rows: list[dict[str, str]], header: tuple[str, ...] = CSV_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("ignored").append(["not", "read"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def where(exc: pytest.ExceptionInfo[ImportValidationError]) -> list[tuple[int | None, str]]:
    return [(e.row, e.field) for e in exc.value.errors]


def bad(**changes: str) -> dict[str, str]:
    return {**GOOD_ROW, **changes}


# --------------------------------------------------------------------------- built-in bank


def test_builtin_bank_loads_and_is_cached() -> None:
    questions = load_builtin()
    assert len(questions) >= 40
    assert load_builtin() is questions
    assert all(q.builtin for q in questions)


def test_builtin_ids_unique() -> None:
    ids = [q.id for q in load_builtin()]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("bank-") for i in ids)


def test_every_builtin_question_validates() -> None:
    for index, question in enumerate(load_builtin()):
        data, errors = validate_question(question.to_dict(), index)
        assert errors == [], question.id
        assert data is not None


def test_builtin_bilingual_with_keywords() -> None:
    for q in load_builtin():
        assert q.text.zh and q.text.en, q.id
        assert 3 <= len(q.rubric) <= 5, q.id
        for point in q.rubric:
            assert point.text.zh and point.text.en, q.id
            assert len(point.keywords.get("zh", ())) >= 3, q.id
            assert len(point.keywords.get("en", ())) >= 3, q.id


def test_builtin_times_are_sensible() -> None:
    for q in load_builtin():
        assert 0 <= q.prep_s <= 120, q.id
        limit = 600 if q.media is Media.TEXT else 300
        assert 60 <= q.answer_s <= limit, q.id


def test_builtin_covers_sections_and_competencies() -> None:
    questions = load_builtin()
    by_section = {s: [q for q in questions if q.section is s] for s in Section}
    assert len(by_section[Section.SELF_INTRO]) >= 3
    assert len(by_section[Section.STRUCTURED]) >= 30
    assert len(by_section[Section.PROFESSIONAL]) >= 8
    text_tasks = [q for q in by_section[Section.PROFESSIONAL] if q.media is Media.TEXT]
    assert len(text_tasks) >= 4
    used = {c for q in questions for c in q.competencies}
    assert {c.id for c in CATALOGUE} <= used
    tags = {t for q in questions for t in q.tags}
    assert {"civil_service", "corporate", "emergency", "policy", "calculation"} <= tags


# --------------------------------------------------------------------------- validate_question


def test_validate_question_reports_every_error() -> None:
    data, errors = validate_question(
        {
            "section": "warmup",
            "text": {"zh": " ", "en": ""},
            "competencies": ["Logic", "ok_id"],
            "rubric": [{"zh": "好", "keywords": {"zh": "好"}}, {"en": ""}],
            "prep_s": 601,
            "answer_s": "120",
            "media": "pdf",
            "tags": ["x" * 41],
            "colour": "red",
        },
        7,
    )
    assert data is None
    assert {e.row for e in errors} == {7}
    assert [e.field for e in errors] == [
        "colour",
        "section",
        "text",
        "competencies[0]",
        "rubric[0].keywords.zh",
        "rubric[1]",
        "prep_s",
        "answer_s",
        "media",
        "tags[0]",
    ]


def test_validate_question_missing_fields_and_non_object() -> None:
    _, errors = validate_question({}, None)
    assert [e.field for e in errors] == [
        "section",
        "text",
        "competencies",
        "rubric",
        "prep_s",
        "answer_s",
    ]
    assert validate_question([1, 2], 3)[1] == [
        FieldError(3, "question", "must be an object with the question fields")
    ]


def test_validate_question_normalises() -> None:
    data, errors = validate_question(
        {
            "id": "ignored",
            "builtin": True,
            "section": " Professional ",
            "text": {"en": "  Explain SUMIFS.  "},
            "competencies": ["professional", "professional"],
            "rubric": [{"en": "Sum range first", "keywords": {"en": ["SUMIFS", "SUMIFS"]}}],
            "prep_s": 30.0,
            "answer_s": 300,
        },
        None,
    )
    assert errors == []
    assert data == {
        "section": "professional",
        "text": {"en": "Explain SUMIFS."},
        "competencies": ["professional"],
        "rubric": [{"en": "Sum range first", "keywords": {"en": ["SUMIFS"]}}],
        "prep_s": 30,
        "answer_s": 300,
        "media": "video",
        "tags": [],
    }


def test_validate_limits() -> None:
    base = {
        "section": "structured",
        "text": {"zh": "题" * 2000},
        "competencies": ["logic"],
        "rubric": [{"zh": "点"}] * 12,
        "prep_s": 0,
        "answer_s": 10,
        "media": "audio",
    }
    assert validate_question(base, 0)[1] == []
    too_much = {
        **base,
        "text": {"zh": "题" * 2001},
        "rubric": [{"zh": "点"}] * 13,
        "prep_s": True,
        "answer_s": 3601,
    }
    assert [e.field for e in validate_question(too_much, 0)[1]] == [
        "text.zh",
        "rubric",
        "prep_s",
        "answer_s",
    ]


def test_field_error_to_dict() -> None:
    assert FieldError(2, "prep_s", "bad").to_dict() == {
        "row": 2,
        "field": "prep_s",
        "message": "bad",
    }


# --------------------------------------------------------------------------- good imports


def test_csv_import_utf8() -> None:
    content = csv_text([GOOD_ROW, TEXT_ROW]).encode("utf-8")
    questions = parse_import("questions.csv", content)
    assert questions[0] == GOOD_ROW_PARSED
    assert questions[1]["media"] == "text"
    assert questions[1]["text"] == {"zh": "请写出用 SUMIFS 按部门汇总金额的公式。"}
    assert questions[1]["rubric"] == [{"zh": "公式正确"}]
    assert questions[1]["prep_s"] == 0
    assert questions[1]["tags"] == []
    assert all("id" not in q for q in questions)


def test_csv_import_utf8_bom_gbk_and_reordered_columns() -> None:
    reordered = tuple(reversed(CSV_COLUMNS))
    text = csv_text([GOOD_ROW], header=reordered)
    for content in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("gbk")):
        assert parse_import("题库.CSV", content) == [GOOD_ROW_PARSED]


def test_csv_blank_lines_and_defaults() -> None:
    row = {**GOOD_ROW, "media": "", "rubric_zh": "表明态度|分析原因|提出对策|"}
    content = csv_text([row]) + ",,,,,,,,,\r\n\r\n"
    assert parse_import("q.csv", content.encode()) == [GOOD_ROW_PARSED]


def test_json_import_wrapped_bare_and_exported() -> None:
    exported = load_builtin()[0].to_dict()
    wrapped = json.dumps({"questions": [exported]}, ensure_ascii=False).encode("utf-8")
    result = parse_import("bank.json", wrapped)
    assert len(result) == 1
    assert "id" not in result[0] and "builtin" not in result[0]
    assert result[0]["text"] == exported["text"]
    assert result[0]["rubric"] == exported["rubric"]
    bare = json.dumps([exported, exported]).encode("utf-8")
    assert len(parse_import("bank.JSON", bare)) == 2


def test_xlsx_import_with_numeric_cells() -> None:
    header = list(CSV_COLUMNS)
    row: list[Any] = [GOOD_ROW[c] for c in CSV_COLUMNS]
    row[CSV_COLUMNS.index("prep_s")] = 60
    row[CSV_COLUMNS.index("answer_s")] = 180.0
    text_row = [TEXT_ROW[c] or None for c in CSV_COLUMNS]
    content = xlsx_bytes([header, row, [], text_row])
    questions = parse_import("questions.xlsx", content)
    assert questions[0] == GOOD_ROW_PARSED
    assert questions[1]["media"] == "text"


def test_format_detected_from_content_without_extension() -> None:
    assert parse_import("upload", csv_text([GOOD_ROW]).encode()) == [GOOD_ROW_PARSED]
    doc = json.dumps([GOOD_ROW_PARSED]).encode()
    assert parse_import("upload", doc) == [GOOD_ROW_PARSED]
    content = xlsx_bytes([list(CSV_COLUMNS), [GOOD_ROW[c] for c in CSV_COLUMNS]])
    assert parse_import("export.csv", content) == [GOOD_ROW_PARSED]


# --------------------------------------------------------------------------- bad imports

BAD_ROWS = [
    GOOD_ROW,  # row 2: fine
    bad(section="intro", prep_s="sixty"),  # row 3
    bad(text_zh="", text_en=""),  # row 4
    GOOD_ROW,  # row 5: fine
    bad(competencies="Policy Execution;logic", media="slides"),  # row 6
    bad(rubric_en="Only one point"),  # row 7
    bad(rubric_zh="", rubric_en="", answer_s="5"),  # row 8
    bad(rubric_zh="表明态度||提出对策", rubric_en="A||C", tags="a;" + "t" * 41),  # row 9
]
BAD_ROWS_WHERE = [
    (3, "section"),
    (3, "prep_s"),
    (4, "text_zh"),
    (6, "competencies"),
    (6, "media"),
    (7, "rubric_en"),
    (8, "rubric_zh"),
    (8, "answer_s"),
    (9, "rubric_zh"),
    (9, "tags"),
]


def test_csv_bad_rows_are_all_reported() -> None:
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.csv", csv_text(BAD_ROWS).encode("utf-8"))
    assert where(exc) == BAD_ROWS_WHERE
    messages = {(e.row, e.field): e.message for e in exc.value.errors}
    assert "'sixty'" in messages[(3, "prep_s")]
    assert "has 1 points but rubric_zh has 3" in messages[(7, "rubric_en")]
    assert "rubric point 2" in messages[(9, "rubric_zh")]
    assert len(exc.value.to_list()) == len(BAD_ROWS_WHERE)


def test_gbk_csv_bad_rows_are_reported() -> None:
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.csv", csv_text(BAD_ROWS).encode("gbk"))
    assert where(exc) == BAD_ROWS_WHERE


def test_xlsx_bad_rows_use_sheet_line_numbers() -> None:
    rows: list[list[Any]] = [list(CSV_COLUMNS)]
    rows += [[r[c] for c in CSV_COLUMNS] for r in BAD_ROWS[:3]]
    rows += [[], [None] * len(CSV_COLUMNS)]  # rows 5 and 6 are blank
    rows += [[r[c] for c in CSV_COLUMNS] for r in BAD_ROWS[3:]]
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.xlsx", xlsx_bytes(rows))
    shifted = [(row + 2 if row > 4 else row, field) for row, field in BAD_ROWS_WHERE]
    assert where(exc) == shifted


def test_json_bad_items_use_zero_based_index() -> None:
    items: list[object] = [
        GOOD_ROW_PARSED,
        {**GOOD_ROW_PARSED, "section": None, "rubric": []},
        "not an object",
        {**GOOD_ROW_PARSED, "text": {"fr": "Bonjour"}, "answer_s": 9999},
    ]
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.json", json.dumps({"questions": items}).encode())
    assert where(exc) == [
        (1, "section"),
        (1, "rubric"),
        (2, "question"),
        (3, "text.fr"),
        (3, "answer_s"),
    ]


def test_wrong_header_names_missing_and_unknown_columns() -> None:
    header = ("section", "text", "text_en", "competencies", "rubric_zh", "rubric_en", "prep")
    content = csv_text([{"section": "structured"}], header=header).encode()
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.csv", content)
    assert where(exc) == [(1, "header")] * 3
    messages = [e.message for e in exc.value.errors]
    assert messages[0] == "missing columns: text_zh, prep_s, answer_s, media, tags"
    assert messages[1] == "unknown columns: text, prep"
    assert messages[2].startswith("expected header: section,text_zh,")


def test_wrong_header_in_xlsx() -> None:
    content = xlsx_bytes([["name", "email", "phone", "language"], ["A", "a@x.cn", "", "zh"]])
    with pytest.raises(ImportValidationError) as exc:
        parse_import("invitations.xlsx", content)
    assert where(exc) == [(1, "header")] * 3


@pytest.mark.parametrize(
    ("filename", "content", "field", "message"),
    [
        ("q.csv", b"", "file", "the file is empty"),
        ("q.json", b"  \n", "file", "the file is empty"),
        ("q.csv", ",".join(CSV_COLUMNS).encode() + b"\r\n", "file", "the file has a header"),
        ("q.json", b"[]", "questions", "the file has no questions"),
        ("q.json", b'{"items": []}', "questions", "expected"),
        ("q.json", b"{not json", "file", "not valid JSON"),
        ("q.xlsx", b"%PDF-1.7 not a workbook", "file", "not a valid .xlsx"),
        ("q.xlsx", b"PK\x03\x04garbage", "file", "not a readable .xlsx"),
        ("q.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "file", "legacy Excel"),
        ("q.pdf", b"%PDF-1.7", "file", "unsupported file type '.pdf'"),
        ("q.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file", "not a text CSV"),
        ("q.csv", b"section\xff\x80\xff,text", "file", "neither UTF-8 nor GBK"),
    ],
)
def test_unreadable_files(filename: str, content: bytes, field: str, message: str) -> None:
    with pytest.raises(ImportValidationError) as exc:
        parse_import(filename, content)
    assert where(exc) == [(None, field)]
    assert message in exc.value.errors[0].message


def test_row_limit() -> None:
    at_limit = csv_text([GOOD_ROW] * MAX_IMPORT_ROWS).encode()
    assert len(parse_import("q.csv", at_limit)) == MAX_IMPORT_ROWS
    over = csv_text([GOOD_ROW] * (MAX_IMPORT_ROWS + 1)).encode()
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.csv", over)
    assert where(exc) == [(None, "file")]
    assert "2001 questions is more than 2000" in exc.value.errors[0].message
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.json", json.dumps([GOOD_ROW_PARSED] * (MAX_IMPORT_ROWS + 1)).encode())
    assert where(exc) == [(None, "file")]


def test_xlsx_row_limit() -> None:
    row = [GOOD_ROW[c] for c in CSV_COLUMNS]
    content = xlsx_bytes([list(CSV_COLUMNS)] + [row] * (MAX_IMPORT_ROWS + 1))
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.xlsx", content)
    assert where(exc) == [(None, "file")]


def test_extra_cells_beyond_header_are_reported() -> None:
    content = csv_text([GOOD_ROW]).rstrip("\r\n") + ",surprise\r\n"
    with pytest.raises(ImportValidationError) as exc:
        parse_import("q.csv", content.encode())
    assert where(exc) == [(2, "row")]
