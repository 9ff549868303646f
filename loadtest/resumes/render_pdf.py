"""Blocks as a PDF (fpdf2) with a real text layer, in font subsets cut to the characters the
generator can print (made once, cached in ``.test-artifacts/fonts``)."""

from __future__ import annotations

import hashlib
import os
import string
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from loadtest.resumes.blocks import Block
from loadtest.resumes.layouts import Layout
from loadtest.resumes.vocab import DATA_FILES, FIXED_TIMESTAMP, data_text

PACKAGE_DIR = Path(__file__).resolve().parent
CJK_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
"""Debian ``fonts-wqy-microhei`` (Makefile ``system-deps``); a TrueType collection, face 0."""
LATIN_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
"""Debian ``fonts-dejavu-core``, in the base image."""
FONT_CACHE_DIR = PACKAGE_DIR.parents[1] / ".test-artifacts" / "fonts"
"""Subsets of the fonts above (only the characters of :func:`charset`), made once."""
FONT_CACHE_VERSION = 1
CACHE_FILE_MODE = 0o644

PDF_LINE_MM = 5.6
PDF_BODY_PT = 10.0
PDF_SIDEBAR_PT = 9.0
PDF_SIDEBAR_MM = 58.0
PDF_MARGIN_MM = 17.0


@cache
def charset() -> frozenset[str]:
    """Every character the generator can print: its modules' sources, its data files and
    printable ASCII."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(PACKAGE_DIR.glob("*.py"))]
    texts += [data_text(name) for name in DATA_FILES]
    return frozenset("".join(texts)) | frozenset(string.printable)


@cache
def _font_file(path: Path, number: int = 0) -> Path:
    """A subset of the font with only :func:`charset` (fpdf2 then loads it in milliseconds)."""
    chars = "".join(sorted(c for c in charset() if c.isprintable()))
    key_src = f"{FONT_CACHE_VERSION}|{path}|{number}|{path.stat().st_size}|{chars}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    cached = FONT_CACHE_DIR / f"{path.stem}-{number}-{key}.ttf"
    if cached.exists():
        return cached
    FONT_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    font = ttLib.TTFont(path, fontNumber=number, lazy=False)
    options = ft_subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: fontTools logs on each subset
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    fd, tmp_name = tempfile.mkstemp(dir=FONT_CACHE_DIR, suffix=".ttf.part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        font.save(tmp)
        tmp.chmod(CACHE_FILE_MODE)
        os.replace(tmp, cached)  # atomic: concurrent callers never see a partial file
    finally:
        tmp.unlink(missing_ok=True)
    return cached


def new_pdf(lang: str, family: str = "sans") -> FPDF:
    """An A4 document with the font subsets loaded as family "body" and fixed metadata."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_TIMESTAMP)
    pdf.set_creator("Microsoft® Word 2016" if lang == "en" else "WPS 文字")
    pdf.set_producer("Microsoft® Word 2016" if lang == "en" else "WPS 文字")
    pdf.set_margins(PDF_MARGIN_MM, 15, PDF_MARGIN_MM)
    pdf.set_auto_page_break(True, 15)
    if lang == "zh":
        cjk = _font_file(CJK_FONT_PATH, 0)
        pdf.add_font("body", "", cjk)  # no bold face: headings differ by size and colour
    else:
        stem = "DejaVuSans" if family == "sans" else "DejaVuSerif"
        pdf.add_font("body", "", _font_file(LATIN_FONT_DIR / f"{stem}.ttf"))
        pdf.add_font("body", "B", _font_file(LATIN_FONT_DIR / f"{stem}-Bold.ttf"))
    return pdf


def pdf_bytes(main: list[Block], side: list[Block], layout: Layout) -> bytes:
    """A PDF with a real text layer; ``side`` blocks go in a shaded right-hand column."""
    zh = layout.lang == "zh"
    pdf = new_pdf(layout.lang, layout.pdf_font)
    missing = {c for b in main + side for part in _texts(b) for c in part if c not in charset()}
    if missing:
        raise ValueError(f"characters outside the font subset: {sorted(missing)}")
    pdf.add_page()
    top = pdf.get_y()
    wrap = WrapMode.CHAR if zh else WrapMode.WORD
    if side:
        side_x = pdf.w - PDF_MARGIN_MM - PDF_SIDEBAR_MM
        pdf.set_fill_color(238, 242, 247)
        pdf.rect(side_x - 4, 0, pdf.w - side_x + 4, pdf.h, style="F")
        pdf.set_left_margin(side_x)
        pdf.set_xy(side_x, top + 14)
        _pdf_blocks(pdf, side, layout, wrap, PDF_SIDEBAR_PT)
        pdf.set_left_margin(PDF_MARGIN_MM)
        pdf.set_right_margin(pdf.w - side_x + 8)
        pdf.set_xy(PDF_MARGIN_MM, top)
    _pdf_blocks(pdf, main, layout, wrap)
    return bytes(pdf.output())


def _texts(block: Block) -> list[str]:
    out: list[str] = []
    for part in block[1:]:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, list):
            for item in part:
                out.extend(item if isinstance(item, list) else [item])
    return out


def _pdf_blocks(
    pdf: FPDF, blocks: list[Block], layout: Layout, wrap: WrapMode, size: float = PDF_BODY_PT
) -> None:
    accent = (31, 78, 121) if layout.lang == "en" else (24, 96, 160)
    bold = "B" if layout.lang == "en" else ""
    for b in blocks:
        kind = b[0]
        if kind == "title":
            pdf.set_font("body", bold, 18)
            pdf.cell(0, 11, b[1], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif kind == "name":
            pdf.set_font("body", bold, 22)
            pdf.set_text_color(*accent)
            align = "C" if layout.header in {"spaced_name", "name_contact"} else "L"
            pdf.cell(0, 12, b[1], align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
        elif kind in {"line", "para"}:
            pdf.set_font("body", "", size)
            align = (
                "C"
                if kind == "line"
                and layout.header in {"spaced_name", "name_contact"}
                and pdf.get_y() < 45
                else "L"
            )
            pdf.multi_cell(
                0,
                PDF_LINE_MM,
                b[1],
                align=align,
                wrapmode=wrap,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        elif kind == "heading":
            pdf.ln(3)
            pdf.set_font("body", bold, 12.5)
            text = b[1].upper() if layout.deco == "upper" else b[1]
            if layout.deco == "bar":
                pdf.set_fill_color(*accent)
                pdf.set_text_color(255, 255, 255)
                pdf.cell(0, 7, f" {text}", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_text_color(0, 0, 0)
            else:
                pdf.set_text_color(*accent)
                pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_text_color(0, 0, 0)
                pdf.set_draw_color(*accent)
                pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.ln(1.5)
        elif kind == "entry":
            _, left, right, sub, bullets = b
            pdf.set_font("body", bold, size + 0.5)
            width = pdf.epw
            if right and pdf.get_string_width(left) + pdf.get_string_width(right) + 6 < width:
                right_w = pdf.get_string_width(right) + 2
                pdf.cell(width - right_w, PDF_LINE_MM + 0.4, left)
                pdf.set_font("body", "", size)
                pdf.cell(
                    right_w,
                    PDF_LINE_MM + 0.4,
                    right,
                    align="R",
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            else:
                pdf.multi_cell(
                    0,
                    PDF_LINE_MM + 0.4,
                    left,
                    wrapmode=wrap,
                    align="L",
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
                if right:
                    pdf.set_font("body", "", size)
                    pdf.cell(0, PDF_LINE_MM, right, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font("body", "", size)
            for line in sub:
                pdf.multi_cell(
                    0,
                    PDF_LINE_MM,
                    line,
                    wrapmode=wrap,
                    align="L",
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
            _pdf_bullets(pdf, bullets, layout.bullet, wrap)
            pdf.ln(1.2)
        elif kind == "bullets":
            pdf.set_font("body", "", size)
            _pdf_bullets(pdf, b[1], b[2], wrap)
        elif kind == "table":
            pdf.set_font("body", "", size)
            for row in b[1]:
                pdf.multi_cell(
                    0,
                    PDF_LINE_MM,
                    "    ".join(row),
                    wrapmode=wrap,
                    align="L",
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
        else:
            raise ValueError(kind)


def _pdf_bullets(pdf: FPDF, items: Sequence[str], mark: str, wrap: WrapMode) -> None:
    for item in items:
        pdf.set_x(pdf.l_margin + 3)
        pdf.multi_cell(
            pdf.epw - 3,
            PDF_LINE_MM,
            f"{mark} {item}",
            wrapmode=wrap,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
