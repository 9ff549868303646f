"""The résumé layouts (which words, which order, which date style), read once from
``loadtest/data/resume_layouts.json``, and how dates are written."""

from __future__ import annotations

from typing import TypeVar

from loadtest.resumes.people import YM
from loadtest.resumes.vocab import VOCAB, Strict, data_text

T = TypeVar("T")


class Layout(Strict):
    """One way of writing a résumé; a field left out of the data file takes its default."""

    name: str
    lang: str
    fmt: str
    header: str
    """kv | kv2 | title_kv | name_contact | spaced_name | info_table | contact_table | sidebar | kv_en | markdown"""
    sections: tuple[tuple[str, str], ...]
    """(key, heading) in résumé order; keys: summary experience education projects skills
    certificates awards."""
    date: str
    """A key of the date styles (``resume_vocab.json``), for jobs."""
    edu_date: str
    """The same for education."""
    exp_style: str
    """date_first | pipe | stacked | table | role_at | role_comma"""
    edu_style: str
    """date_first | pipe | stacked | table | degree_first"""
    skills: str
    """kv | comma | bullets | grouped | spaced"""
    certs: str
    """kv | comma | bullets"""
    deco: str = "plain"
    """Heading style: plain | bracket | numbered | equals | upper | underline | markdown | bar"""
    bullet: str = "•"
    oldest_first: bool = False
    encoding: str = "utf-8"
    newline: str = "\n"
    pdf_font: str = "sans"
    docx_headings: bool = True
    """DOCX: Word heading styles (True) or bold paragraphs (False)."""


class _LayoutFile(Strict):
    about: str
    layouts: tuple[Layout, ...]


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in _LayoutFile.model_validate_json(data_text("resume_layouts.json")).layouts
}


def fmt_ym(ym: YM, style: str) -> str:
    """A month in one of the month styles of the date styles."""
    y, m = ym
    return {
        "dot": f"{y}.{m:02d}",
        "cn": f"{y}年{m}月",
        "cn0": f"{y}年{m:02d}月",
        "slash": f"{y}/{m:02d}",
        "dash": f"{y}-{m:02d}",
        "mon": f"{VOCAB.month_names['mon'][m - 1]} {y}",
        "month": f"{VOCAB.month_names['month'][m - 1]} {y}",
        "num": f"{m:02d}/{y}",
        "year": f"{y}",
    }[style]


def date_range(start: YM, end: YM | None, style: str) -> str:
    """A date range in the date style ``style`` (None: "present")."""
    written = VOCAB.date_styles[style]
    last = written.present if end is None else fmt_ym(end, written.month)
    return f"{fmt_ym(start, written.month)}{written.separator}{last}"


def ordered(items: list[T], layout: Layout) -> list[T]:
    """``items`` (most recent first) in the order the layout lists them."""
    return list(reversed(items)) if layout.oldest_first else list(items)
