"""Uploads a résumé intake must refuse: encrypted, scanned, disguised, truncated, empty,
unsupported and too large files."""

from __future__ import annotations

import io
import random

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter

from loadtest.resumes.blocks import build
from loadtest.resumes.layouts import LAYOUTS
from loadtest.resumes.people import People
from loadtest.resumes.render_docx import docx_bytes
from loadtest.resumes.render_pdf import CJK_FONT_PATH, PDF_LINE_MM, new_pdf, pdf_bytes
from loadtest.resumes.vocab import FIXED_TIMESTAMP, REFERENCE_DATE


def broken_files() -> list[tuple[str, bytes, str]]:
    """Uploads a résumé intake must refuse or report, as (filename, data, reason)."""
    rng = random.Random(7)
    good_pdf = _sample_pdf()
    writer = PdfWriter(clone_from=io.BytesIO(good_pdf))
    writer.encrypt(user_password="hr-2026", owner_password="owner-2026", algorithm="AES-256")
    encrypted = io.BytesIO()
    writer.write(encrypted)

    good_docx = docx_bytes([("para", "Jordan Reyes"), ("para", "jordan.reyes@example.com")], "en")
    photo = Image.new("RGB", (240, 320), (205, 215, 230))
    ImageDraw.Draw(photo).ellipse((70, 60, 170, 170), fill=(230, 190, 160))
    png = io.BytesIO()
    photo.save(png, format="PNG")
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + rng.randbytes(2048)
    ole_doc = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504) + rng.randbytes(3584)
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>登录 - 招聘系统</title></head>\n'
        "<body><p>会话已过期，请重新登录。</p></body></html>\n"
    ).encode()
    return [
        ("加密简历_王磊.pdf", encrypted.getvalue(), "encrypted PDF: needs a password to open"),
        ("scan_resume.pdf", _scanned_pdf(), "scanned PDF: one page image, no text layer"),
        ("resume.pdf", html, "named .pdf but the bytes are an HTML page"),
        ("简历.docx", good_docx[: len(good_docx) // 2], "truncated .docx: not a valid zip"),
        ("resume.txt", b"", "empty file"),
        ("photo.png", png.getvalue(), "unsupported type: PNG image"),
        ("resume.exe", exe, "unsupported type: Windows executable"),
        ("old_resume.doc", ole_doc, "unsupported type: legacy Word 97-2003 .doc"),
    ]


def too_large(limit_bytes: int) -> tuple[str, bytes, str]:
    """A real, valid résumé PDF just over ``limit_bytes`` (it carries a portfolio attachment)."""

    def build(attachment_bytes: int) -> bytes:
        pdf = new_pdf("en")
        pdf.add_page()
        pdf.set_font("body", size=11)
        pdf.multi_cell(0, PDF_LINE_MM, "Alex Morgan\nalex.morgan@example.com\nPortfolio attached.")
        pdf.embed_file(
            bytes=random.Random(limit_bytes).randbytes(attachment_bytes),  # incompressible
            basename="portfolio.bin",
            modification_date=FIXED_TIMESTAMP,
            compress=False,
        )
        return bytes(pdf.output())

    pad = max(1, limit_bytes - len(build(1)) + 2)
    data = build(pad)
    while len(data) <= limit_bytes:  # longer offsets in the xref can cost a few bytes
        pad += limit_bytes - len(data) + 1
        data = build(pad)
    return (
        "Alex_Morgan_Resume_with_portfolio.pdf",
        data,
        f"too large: {len(data)} > {limit_bytes} bytes",
    )


def _sample_pdf() -> bytes:
    """A small real résumé PDF (the base of the encrypted and too-large files)."""
    layout = LAYOUTS["en_pdf_classic"]
    person = People(REFERENCE_DATE).person("en", random.Random(3), "single", "tech", ("B.Sc.",))
    main, side = build(layout, person, random.Random(3), REFERENCE_DATE)
    return pdf_bytes(main, side, layout)


def _scanned_pdf() -> bytes:
    """A résumé page as a grey-scale photo-like image only: what a scanner or phone app makes."""
    width, height = 1240, 1754  # A4 at 150 dpi
    page = Image.new("L", (width, height), 246)
    draw = ImageDraw.Draw(page)
    title = ImageFont.truetype(str(CJK_FONT_PATH), 56, index=0)
    body = ImageFont.truetype(str(CJK_FONT_PATH), 30, index=0)
    draw.text((110, 120), "李 明 轩", font=title, fill=25)
    lines = [
        "电话：139 2046 7731    邮箱：lmx2046@example.cn",
        "",
        "教育背景",
        "2014.09 - 2018.06    华中科技大学    机械工程    本科",
        "",
        "工作经历",
        "2018.07 - 至今    武汉长风科技有限公司    机械设计工程师",
        "• 负责产线夹具设计，年节约成本约30万元",
    ]
    for i, line in enumerate(lines):
        draw.text((110, 240 + i * 52), line, font=body, fill=35)
    page = Image.blend(page, Image.effect_noise((width, height), 40), 0.08)  # paper and sensor
    page = page.rotate(0.6, resample=Image.Resampling.BILINEAR, fillcolor=246)  # a bit askew
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_TIMESTAMP)
    pdf.set_creator("CamScanner")
    pdf.add_page()
    pdf.image(page, x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())
