"""The public résumé cases: one generated file with its ground truth, the curated corpus,
bulk corpora and zip bundles."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from loadtest.resumes.blocks import build, filename
from loadtest.resumes.layouts import LAYOUTS, Layout, ordered
from loadtest.resumes.people import YM, People, Person, round_years, ym_idx
from loadtest.resumes.render_docx import docx_bytes
from loadtest.resumes.render_pdf import pdf_bytes
from loadtest.resumes.render_txt import txt
from loadtest.resumes.vocab import FIXED_TIMESTAMP, REFERENCE_DATE, VOCAB


@dataclass(frozen=True, slots=True)
class ResumeCase:
    """One generated résumé file and what a perfect parser would extract from it."""

    filename: str
    data: bytes
    language: str
    """"zh" or "en"."""
    truth: dict[str, Any]
    """``Profile.to_dict()`` shape without ``sources`` (see the package docstring)."""
    layout: str
    """Name of the layout (see :data:`LAYOUTS`)."""
    encoding: str | None = None
    """TXT only: the codec that decodes ``data`` ("utf-8", "utf-8-sig", "gb18030")."""
    seed: int = 0
    """The seed that made it (same seed and layout, same bytes)."""

    @property
    def format(self) -> str:
        """ "pdf", "docx" or "txt"."""
        return self.filename.rsplit(".", 1)[-1].lower()


def corpus(reference_date: tuple[int, int] = REFERENCE_DATE) -> list[ResumeCase]:
    """The 24 curated résumés: 12 Chinese + 12 English, 8 each PDF / DOCX / TXT, every layout."""
    people = People(reference_date)
    return [
        _case(people, LAYOUTS[spec.layout], 100 + i, *spec[1:])
        for i, spec in enumerate(_CORPUS_SPECS)
    ]


def bulk(n: int = 200, reference_date: tuple[int, int] = REFERENCE_DATE) -> list[ResumeCase]:
    """``n`` varied résumés: every layout in turn, random careers, fields and degrees."""
    people = People(reference_date)
    names = sorted(LAYOUTS)
    cases = []
    for i in range(n):
        layout = LAYOUTS[names[i % len(names)]]
        cases.append(_case(people, layout, seed=10_000 + i))
    return cases


def zip_of(cases: Iterable[ResumeCase | tuple[str, bytes] | tuple[str, bytes, str]]) -> bytes:
    """The files bundled in one zip archive, in memory (names as given; UTF-8 where needed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in cases:
            name, data = (item.filename, item.data) if isinstance(item, ResumeCase) else item[:2]
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def _case(
    people: People,
    layout: Layout,
    seed: int,
    career: str | None = None,
    field: str | None = None,
    degrees: Sequence[str] | None = None,
    current: bool | None = None,
    certs: Sequence[str] | None = None,
) -> ResumeCase:
    """``career``: fresh | single | few | many; ``current``: the latest job goes on;
    None (and ``field``, ``degrees``, ``certs`` None) leaves the choice to the seed."""
    rng = random.Random(seed)
    person = people.person(layout.lang, rng, career, field, degrees, current, certs)
    blocks, side = build(layout, person, rng, people.reference)
    expected = _truth(person, layout, people.reference)
    name = people.unique(lambda: filename(person, layout, rng))
    encoding = None
    if layout.fmt == "pdf":
        data = pdf_bytes(blocks, side, layout)
    elif layout.fmt == "docx":
        data = docx_bytes(blocks, layout.lang, layout.docx_headings)
    else:
        encoding = layout.encoding
        text = txt(blocks, layout)
        data = text.replace("\n", layout.newline).encode(encoding)
    return ResumeCase(name, data, layout.lang, expected, layout.name, encoding, seed)


def _truth_date(ym: YM | None, style: str) -> str:
    if ym is None:
        return "present"
    if VOCAB.date_styles[style].month == "year":
        return f"{ym[0]:04d}"
    return f"{ym[0]:04d}-{ym[1]:02d}"


def _truth(person: Person, layout: Layout, ref: YM) -> dict[str, Any]:
    """What a perfect parser extracts (the conventions are in the package docstring)."""
    education = [
        {
            "degree": e.level,
            "degree_text": e.degree_text,
            "major": e.major,
            "school": e.school,
            "start": _truth_date(e.start, layout.edu_date),
            "end": _truth_date(e.end, layout.edu_date),
        }
        for e in ordered(person.education, layout)
    ]
    experience = []
    months_worked: set[int] = set()
    for job in ordered(person.jobs, layout):
        first, last = ym_idx(job.start), ym_idx(job.end or ref)
        months_worked.update(range(first, last + 1))
        experience.append(
            {
                "employer": job.employer,
                "role": job.role,
                "start": _truth_date(job.start, layout.date),
                "end": _truth_date(job.end, layout.date),
                "months": last - first + 1,
            }
        )
    order = ["doctor", "master", "bachelor", "associate", "high_school"]
    levels = [e.level for e in person.education]
    return {
        "language": person.lang,
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "education": education,
        "highest_degree": next((lv for lv in order if lv in levels), None),
        "experience": experience,
        "experience_years": round_years(len(months_worked)),
        "skills": list(person.skills),
        "certificates": list(person.certs),
    }


class _Spec(NamedTuple):
    """One curated résumé of :func:`corpus` (every layout appears once, six of them twice)."""

    layout: str
    career: str
    field: str
    degrees: tuple[str, ...]
    """Degree words, highest first."""
    current: bool | None = None
    """Still in the latest job; None: decided by the seed."""
    certs: tuple[str, ...] | None = None
    """Certificates to list; None: drawn from the field's pool."""


# fmt: off
_CORPUS_SPECS = [
    _Spec("zh_pdf_title_kv", "few", "tech", ("硕士", "本科"), current=True),
    _Spec("zh_pdf_big_name", "many", "ops", ("本科",)),
    _Spec("zh_pdf_sidebar", "single", "law", ("研究生", "学士"), certs=("法律职业资格证", "CET-6")),
    _Spec("zh_pdf_title_kv", "fresh", "finance", ("本科",)),
    _Spec("zh_docx_info_table", "single", "hr", ("大专",)),
    _Spec("zh_docx_exp_table", "many", "finance", ("硕士", "本科"), certs=("注册会计师(CPA)", "中级会计职称")),
    _Spec("zh_docx_headings", "few", "tech", ("博士", "硕士", "本科")),
    _Spec("zh_docx_info_table", "many", "law", ("本科",)),
    _Spec("zh_txt_kv", "few", "finance", ("学士",), current=False),
    _Spec("zh_txt_gb18030", "many", "tech", ("本科",), certs=("计算机二级", "PMP")),
    _Spec("zh_txt_bom", "single", "ops", ("专科",)),
    _Spec("zh_txt_kv", "many", "hr", ("研究生", "本科")),
    _Spec("en_pdf_classic", "many", "tech", ("MSc", "B.Sc."), current=True, certs=("AWS Certified Solutions Architect", "PMP")),
    _Spec("en_pdf_twocol", "few", "marketing", ("Bachelor of Arts",)),
    _Spec("en_pdf_academic_cv", "single", "research", ("PhD", "MSc", "BEng")),
    _Spec("en_pdf_classic", "single", "finance", ("MBA", "Bachelor of Arts"), certs=("CPA", "CFA Level II")),
    _Spec("en_docx_contact_table", "few", "public", ("Master of Public Administration", "B.A.")),
    _Spec("en_docx_exp_table", "many", "finance", ("B.Sc.",), current=False),
    _Spec("en_docx_plain", "fresh", "tech", ("BEng",)),
    _Spec("en_docx_exp_table", "few", "hr", ("Associate degree",)),
    _Spec("en_txt_upper", "many", "research", ("Ph.D.", "B.Sc.")),
    _Spec("en_txt_kv", "single", "tech", ("Bachelor of Science",)),
    _Spec("en_txt_markdown", "few", "marketing", ("MBA", "B.A.")),
    _Spec("en_txt_upper", "single", "hr", ("Associate of Applied Science",)),
]
# fmt: on
