"""The résumé generator (loadtest/resumes/) makes what it claims: real text layers, the
stated encodings, ground truth that the file really shows, files broken in the stated way.

These tests check the generator, not the parser; every check recomputes what it can on its own
(month arithmetic, date spellings) instead of asking the generator.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import re
import time
import zipfile
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import docx
import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from loadtest.resumes import (
    LAYOUTS,
    ResumeCase,
    broken_files,
    bulk,
    corpus,
    phone_key,
    too_large,
    zip_of,
)
from server.resumes.profile import Degree, Education, Experience, Profile

REFERENCE = (2026, 11)
OTHER_REFERENCE = (2031, 2)
BULK_SAMPLE = 36  # two rounds of the 18 layouts; bulk(200) is timed in the report
MONTHS_SHORT = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS_LONG = (
    "January February March April May June July August September October November December".split()
)
PRESENT_WORDS = ("至今", "现在", "Present", "Current")


@cache
def _corpus() -> tuple[ResumeCase, ...]:
    return tuple(corpus(REFERENCE))


@cache
def _bulk() -> tuple[ResumeCase, ...]:
    return tuple(bulk(BULK_SAMPLE, OTHER_REFERENCE))


def document_text(case: ResumeCase) -> str:
    """All the text a reader gets out of the file, by the format's usual library."""
    if case.format == "pdf":
        reader = PdfReader(io.BytesIO(case.data))
        return "\n".join(page.extract_text() for page in reader.pages)
    if case.format == "docx":
        document = docx.Document(io.BytesIO(case.data))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts += [cell.text for row in table.rows for cell in row.cells]
        return "\n".join(parts)
    assert case.format == "txt"
    assert case.encoding is not None
    return case.data.decode(case.encoding)


def embedded_fonts(page: Any) -> list[str]:
    """Names of the fonts on a page whose program is embedded in the file."""
    names = []
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = described["/FontDescriptor"].get_object()
        if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            names.append(str(font["/BaseFont"]))
    return names


def squash(text: str) -> str:
    """Compare modulo layout: no whitespace (spaced-out names, wrapped lines), no case."""
    return "".join(text.split()).lower()


def months_of(start: str, end: str, reference: tuple[int, int]) -> set[int]:
    """Months worked, both end months included; "present" is the reference month."""

    def index(value: str) -> int:
        if value == "present":
            return reference[0] * 12 + reference[1] - 1
        year, month = value.split("-")
        return int(year) * 12 + int(month) - 1

    return set(range(index(start), index(end) + 1))


def date_spellings(value: str) -> list[str]:
    """Ways people write this truth date (independent of the generator's own table)."""
    if value == "present":
        return list(PRESENT_WORDS)
    if re.fullmatch(r"\d{4}", value):
        return [value]
    y, m = (int(x) for x in value.split("-"))
    return [
        f"{y}.{m:02d}",
        f"{y}年{m}月",
        f"{y}年{m:02d}月",
        f"{y}/{m:02d}",
        f"{y}-{m:02d}",
        f"{MONTHS_SHORT[m - 1]} {y}",
        f"{MONTHS_LONG[m - 1]} {y}",
        f"{m:02d}/{y}",
    ]


def check_truth_in_text(case: ResumeCase, reference: tuple[int, int]) -> None:
    truth = case.truth
    text = document_text(case)
    flat = squash(text)
    where = f"{case.layout} {case.filename}"
    for key in ("name", "email"):
        assert squash(truth[key]) in flat, f"{where}: {key} {truth[key]!r} not in the text"
    assert phone_key(truth["phone"]) in re.sub(r"\D", "", text), f"{where}: phone"
    for edu in truth["education"]:
        for key in ("school", "major", "degree_text"):
            if edu[key] is not None:
                assert squash(edu[key]) in flat, f"{where}: education {key} {edu[key]!r}"
        for key in ("start", "end"):
            assert any(s in text for s in date_spellings(edu[key])), f"{where}: {edu[key]}"
    for job in truth["experience"]:
        for key in ("employer", "role"):
            assert squash(job[key]) in flat, f"{where}: experience {key} {job[key]!r}"
        for key in ("start", "end"):
            assert any(s in text for s in date_spellings(job[key])), f"{where}: {job[key]}"
        assert job["months"] == len(months_of(job["start"], job["end"], reference)), where
    for item in truth["skills"] + truth["certificates"]:
        assert squash(item) in flat, f"{where}: {item!r} not in the text"

    worked: set[int] = set()
    for job in truth["experience"]:
        worked |= months_of(job["start"], job["end"], reference)
    years = float((Decimal(len(worked)) / 12).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    assert truth["experience_years"] == years, where

    levels = [Degree.from_key(e["degree"]) for e in truth["education"]]
    assert truth["highest_degree"] == (max(levels).key if levels else None), where


def test_truth_has_the_profile_contract_shape() -> None:
    profile_keys = set(Profile(language="en").to_dict()) - {"sources"}
    edu_keys = {f.name for f in dataclasses.fields(Education)} - {"source"}
    job_keys = {f.name for f in dataclasses.fields(Experience)} - {"source"}
    for case in _corpus():
        assert set(case.truth) == profile_keys
        assert case.truth["language"] == case.language
        assert all(set(e) == edu_keys for e in case.truth["education"])
        assert all(set(j) == job_keys for j in case.truth["experience"])
        assert all(Degree.from_key(e["degree"]) for e in case.truth["education"])


def test_corpus_covers_languages_formats_layouts_and_careers() -> None:
    cases = _corpus()
    assert len(cases) >= 24
    assert Counter(c.language for c in cases) == {"zh": 12, "en": 12}
    formats = Counter(c.format for c in cases)
    assert set(formats) == {"pdf", "docx", "txt"} and min(formats.values()) >= 6
    assert {c.layout for c in cases} == set(LAYOUTS) and len(LAYOUTS) >= 8
    for key in ("filename", "email", "phone", "name"):
        values = [c.filename if key == "filename" else c.truth[key] for c in cases]
        assert len(set(values)) == len(values), f"duplicate {key}"
    assert all(
        re.search(r"@(\w+\.)*example\.(com|cn|net|org)(\.cn)?$", c.truth["email"]) for c in cases
    )

    jobs = [c.truth["experience"] for c in cases]
    assert any(not j for j in jobs), "a fresh graduate"
    assert any(len(j) == 1 for j in jobs)
    overlapping = [
        j
        for j in jobs
        if sum(x["months"] for x in j)
        > len(set().union(*(months_of(x["start"], x["end"], REFERENCE) for x in j)))
    ]
    assert any(3 <= len(j) <= 4 for j in overlapping), "3–4 jobs, one overlapping"
    assert any(x["end"] == "present" for j in jobs for x in j)

    zh_names = [c.truth["name"] for c in cases if c.language == "zh"]
    assert all(2 <= len(n) <= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", n) for n in zh_names)

    texts = "\n".join(document_text(c) for c in cases)
    assert re.search(r"\d年[\u4e00-\u9fff]*经验", texts), "a summary that mentions years (zh)"
    assert re.search(r"\d\+? years of experience", texts), "a summary that mentions years (en)"


def test_corpus_spells_dates_phones_degrees_and_certificates_many_ways() -> None:
    cases = _corpus()
    texts = "\n".join(document_text(c) for c in cases)
    for pattern in [
        r"\d{4}\.\d{2}–至今",  # 2019.07–至今
        r"\d{4}年\d{1,2}月-\d{4}年\d{1,2}月",  # 2019年7月-2021年12月
        r"\d{4}/\d{2} - \d{4}/\d{2}",  # 2019/07 - 2022/03
        r"[A-Z][a-z]{2} \d{4} – Present",  # Jul 2019 – Present
        r"\d{2}/\d{4} - \d{2}/\d{4}",  # 07/2019 - 03/2022
        r"\b\d{4} - \d{4}\b",  # 2016 - 2019
    ]:
        assert re.search(pattern, texts), pattern
    phones = {c.truth["phone"] for c in cases}
    for pattern in [
        r"1\d\d \d{4} \d{4}",  # 138 0013 8000
        r"\+86 1\d\d-\d{4}-\d{4}",  # +86 138-0013-8000
        r"\(\d{3}\) 555-01\d\d",  # (415) 555-0134
        r"\+1 \d{3} 555 01\d\d",  # +1 415 555 0134
    ]:
        assert any(re.fullmatch(pattern, p) for p in phones), pattern
    degree_words = {e["degree_text"] for c in cases for e in c.truth["education"]}
    assert {"本科", "学士", "硕士", "研究生", "博士", "大专", "专科"} <= degree_words
    assert {
        "B.Sc.",
        "Bachelor of Arts",
        "BEng",
        "MSc",
        "Master of Public Administration",
    } <= degree_words
    assert {"MBA", "PhD", "Associate degree"} <= degree_words
    certificates = {x for c in cases for x in c.truth["certificates"]}
    wanted = {"法律职业资格证", "PMP", "CET-6", "计算机二级", "CPA", "AWS Certified Solutions Architect", "CFA Level II"}  # fmt: skip
    assert wanted <= certificates
    assert any(x.startswith("注册会计师") for x in certificates)


def test_pdfs_have_a_real_text_layer() -> None:
    pdfs = [c for c in _corpus() if c.format == "pdf"]
    assert {c.language for c in pdfs} == {"zh", "en"}
    for case in pdfs:
        reader = PdfReader(io.BytesIO(case.data))
        assert not reader.is_encrypted
        text = "".join(page.extract_text() for page in reader.pages)
        assert squash(case.truth["email"]) in squash(text), case.layout
        assert squash(case.truth["name"]) in squash(text), case.layout
        if case.language == "zh":
            assert re.search(r"[\u4e00-\u9fff]{4}", text), "Chinese glyphs extract as Chinese"
            fonts = [font for page in reader.pages for font in embedded_fonts(page)]
            assert any("WenQuanYi" in name for name in fonts), fonts


def test_docx_files_open_and_carry_the_email() -> None:
    for case in (c for c in _corpus() if c.format == "docx"):
        document = docx.Document(io.BytesIO(case.data))
        in_paragraphs = any(case.truth["email"] in p.text for p in document.paragraphs)
        in_tables = any(
            case.truth["email"] in cell.text
            for table in document.tables
            for row in table.rows
            for cell in row.cells
        )
        assert in_paragraphs or in_tables, case.layout
    layouts = {c.layout: docx.Document(io.BytesIO(c.data)) for c in _corpus() if c.format == "docx"}
    assert layouts["zh_docx_info_table"].tables, "header info in a table"
    assert len(layouts["en_docx_exp_table"].tables) >= 2, "experience (and education) in tables"


def test_txt_files_decode_with_their_declared_encoding() -> None:
    txts = [c for c in _corpus() if c.format == "txt"]
    encodings = Counter(c.encoding for c in txts)
    assert encodings["gb18030"] >= 1 and encodings["utf-8-sig"] >= 1 and encodings["utf-8"] >= 1
    for case in txts:
        assert case.encoding is not None
        text = case.data.decode(case.encoding)
        assert case.truth["name"] in text
        if case.encoding == "utf-8-sig":
            assert case.data.startswith(codecs.BOM_UTF8)
        elif case.encoding == "gb18030":
            assert b"\r\n" in case.data, "Windows line ends"
            with pytest.raises(UnicodeDecodeError):
                case.data.decode("utf-8")
        else:
            assert not case.data.startswith(codecs.BOM_UTF8)


def test_truth_appears_in_each_file_and_adds_up() -> None:
    for case in _corpus():
        check_truth_in_text(case, REFERENCE)


def test_bulk_is_varied_consistent_and_honours_the_reference_date() -> None:
    cases = _bulk()
    assert len(cases) == BULK_SAMPLE
    assert {c.layout for c in cases} == set(LAYOUTS)
    assert len({c.filename for c in cases}) == len(cases)
    assert len({c.truth["email"] for c in cases}) == len(cases)
    assert {c.data for c in cases}.isdisjoint({c.data for c in _corpus()})
    for case in cases:
        check_truth_in_text(case, OTHER_REFERENCE)
    assert any(j["end"] == "present" for c in cases for j in c.truth["experience"])


def test_generation_is_deterministic() -> None:
    again = corpus(REFERENCE)
    assert [(c.filename, c.data, c.truth) for c in again] == [
        (c.filename, c.data, c.truth) for c in _corpus()
    ]


def test_zip_of_bundles_the_files() -> None:
    cases = _corpus()[:6]
    extra = ("notes.txt", b"hello")
    with zipfile.ZipFile(io.BytesIO(zip_of([*cases, extra]))) as zf:
        assert zf.namelist() == [c.filename for c in cases] + ["notes.txt"]
        assert all(zf.read(c.filename) == c.data for c in cases)
        assert zf.testzip() is None


def test_broken_files_are_broken_as_stated() -> None:
    files = {name: (data, reason) for name, data, reason in broken_files()}
    assert len(files) >= 6

    encrypted = PdfReader(io.BytesIO(files["加密简历_王磊.pdf"][0]))
    assert encrypted.is_encrypted
    with pytest.raises(FileNotDecryptedError):
        encrypted.pages[0].extract_text()
    assert encrypted.decrypt("hr-2026")  # a real résumé behind the password
    assert "example.com" in encrypted.pages[0].extract_text()

    scanned = PdfReader(io.BytesIO(files["scan_resume.pdf"][0]))
    assert not scanned.is_encrypted and len(scanned.pages) == 1
    assert scanned.pages[0].extract_text().strip() == ""
    assert len(scanned.pages[0].images) == 1

    not_pdf = files["resume.pdf"][0]
    assert not not_pdf.startswith(b"%PDF")
    with pytest.raises(PdfReadError):
        PdfReader(io.BytesIO(not_pdf))

    bad_docx = files["简历.docx"][0]
    assert bad_docx.startswith(b"PK") and not zipfile.is_zipfile(io.BytesIO(bad_docx))
    with pytest.raises(Exception, match="zip|Package not found"):
        docx.Document(io.BytesIO(bad_docx))

    assert files["resume.txt"][0] == b""
    assert Image.open(io.BytesIO(files["photo.png"][0])).format == "PNG"
    assert files["resume.exe"][0].startswith(b"MZ")
    assert files["old_resume.doc"][0].startswith(bytes.fromhex("d0cf11e0a1b11ae1"))


@pytest.mark.parametrize("limit", [10_000, 2 * 1024 * 1024])
def test_too_large_is_a_valid_pdf_just_over_the_limit(limit: int) -> None:
    name, data, reason = too_large(limit)
    assert name.endswith(".pdf") and reason
    assert limit < len(data) < limit + 64 * 1024
    reader = PdfReader(io.BytesIO(data))
    assert "Alex Morgan" in reader.pages[0].extract_text()
    assert "portfolio.bin" in reader.attachments


def test_corpus_builds_quickly() -> None:
    started = time.perf_counter()
    corpus(REFERENCE)
    assert time.perf_counter() - started < 10.0
