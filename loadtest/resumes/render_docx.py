"""Blocks as a Word document (python-docx), with fixed timestamps."""

from __future__ import annotations

import io
import zipfile

import docx
import docx.enum.text
import docx.oxml.ns
import docx.shared
from docx.document import Document
from docx.text.run import Run

from loadtest.resumes.blocks import Block
from loadtest.resumes.vocab import FIXED_TIMESTAMP

DOCX_TAB_STOP_CM = 16.5


def docx_bytes(blocks: list[Block], lang: str, headings: bool = True) -> bytes:
    """A .docx file; ``headings``: Word heading styles, else bold paragraphs."""
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = "Calibri" if lang == "en" else "Microsoft YaHei"
    normal.font.size = docx.shared.Pt(10.5)
    if lang == "zh":
        rpr = normal.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(docx.oxml.ns.qn("w:eastAsia"), "微软雅黑")
    core = document.core_properties
    core.author = core.last_modified_by = (
        "Administrator" if lang == "zh" else "Microsoft Office User"
    )
    core.created = core.modified = FIXED_TIMESTAMP.replace(tzinfo=None)
    core.revision = 3
    for b in blocks:
        kind = b[0]
        if kind == "title":
            para = document.add_paragraph()
            para.alignment = docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
            run = para.add_run(b[1])
            run.bold = True
            run.font.size = docx.shared.Pt(18)
        elif kind == "name":
            if headings:
                document.add_heading(b[1], level=0)
            else:
                _bold_paragraph(document, b[1], 20)
        elif kind in {"line", "para"}:
            document.add_paragraph(b[1])
        elif kind == "heading":
            if headings:
                document.add_heading(b[1], level=1)
            else:
                run = _bold_paragraph(document, b[1], 13)
                run.font.color.rgb = docx.shared.RGBColor(0x1F, 0x4E, 0x79)
        elif kind == "entry":
            _, left, right, sub, bullets = b
            para = document.add_paragraph()
            para.paragraph_format.tab_stops.add_tab_stop(
                docx.shared.Cm(DOCX_TAB_STOP_CM), docx.enum.text.WD_TAB_ALIGNMENT.RIGHT
            )
            para.add_run(left).bold = True
            if right:
                para.add_run(f"\t{right}")
            for line in sub:
                document.add_paragraph(line).runs[0].italic = lang == "en"
            for duty in bullets:
                document.add_paragraph(duty, style="List Bullet")
        elif kind == "bullets":
            for item in b[1]:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            rows, header = b[1], b[2]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid" if header or lang == "zh" else None
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    lines = value.split("\n")
                    cell.text = lines[0]
                    for extra in lines[1:]:
                        cell.add_paragraph(extra)
                    if (header and r == 0) or (not header and lang == "zh" and c % 2 == 0):
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
            if not header and lang == "en":
                table.cell(0, 0).paragraphs[0].runs[0].bold = True
                table.cell(0, 0).paragraphs[0].runs[0].font.size = docx.shared.Pt(20)
            document.add_paragraph()
        else:
            raise ValueError(kind)
    buf = io.BytesIO()
    document.save(buf)
    return _fixed_zip_times(buf.getvalue())


def _bold_paragraph(document: Document, text: str, size_pt: float) -> Run:
    """A paragraph of one bold run of ``size_pt`` (a heading without Word's heading styles)."""
    run = document.add_paragraph().add_run(text)
    run.bold = True
    run.font.size = docx.shared.Pt(size_pt)
    return run


def _fixed_zip_times(data: bytes) -> bytes:
    """The same zip with fixed member timestamps (python-docx stamps the current time)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info))
    return out.getvalue()
