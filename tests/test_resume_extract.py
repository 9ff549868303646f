"""Résumé intake: files to text (server/resumes/resume_text.py) and text to a profile
(server/resumes/extract/). Fixtures are written here; PDF and DOCX files are built at test time."""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
from collections.abc import Iterable
from typing import Any

import docx
import pytest
from docx.oxml import parse_xml
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from server.resumes import resume_text
from server.resumes.extract import MAX_SOURCE_CHARS, extract_profile
from server.resumes.profile import Education, Experience, Profile, Sourced
from server.resumes.resume_docx import MAX_DOCX_XML_BYTES
from server.resumes.resume_errors import ResumeErrorCode, ResumeFileError
from server.resumes.resume_text import extract_text, normalize_text
from server.resumes.resume_zip import expand_zip
from server.resumes.screening import match, validate_requirements

REFERENCE = (2025, 6)
"""The month "present" / "至今" stands for in these tests."""

# --------------------------------------------------------------------------- file builders


def build_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one text line per string, drawn with a Type0 (Identity-H) font and a
    ToUnicode CMap: the way CJK PDFs from Word and WPS are made. An empty page has no text
    (a scanned page)."""
    cid = _cids(ch for page in pages for line in page for ch in line)
    contents = []
    for page in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
        ops += [f"<{_hex(cid, line)}> Tj T*" for line in page]
        contents.append("\n".join([*ops, "ET"]).encode() if page else b"")
    return _type0_pdf(cid, contents)


def build_positioned_pdf(items: list[tuple[float, float, float, str]]) -> bytes:
    """A one-page PDF like :func:`build_pdf`, each string drawn at its own ``(x, y, font
    size)`` in the order given: the text runs of a two-column layout as a producer writes
    them."""
    cid = _cids(ch for *_, line in items for ch in line)
    ops = [f"BT /F1 {size} Tf {x} {y} Td <{_hex(cid, line)}> Tj ET" for x, y, size, line in items]
    return _type0_pdf(cid, ["\n".join(ops).encode()])


def _cids(chars: Iterable[str]) -> dict[str, int]:
    return {ch: i + 1 for i, ch in enumerate(sorted(set(chars)))}


def _hex(cid: dict[str, int], line: str) -> str:
    return "".join(f"{cid[ch]:04X}" for ch in line)


def _type0_pdf(cid: dict[str, int], contents: list[bytes]) -> bytes:
    mapping = "\n".join(f"<{number:04X}> <{ord(ch):04X}>" for ch, number in cid.items())
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(cid)} beginbfchar\n{mapping}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()
    first_page = 6
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (
            b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(contents))),
            len(contents),
        ),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        _stream(cmap),
    ]
    for content in contents:
        number = first_page + len(objects) - 5
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (number + 1)
        )
        objects.append(_stream(content))
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_TEXT_BOX = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml">'
    '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>'
    "<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    "</wps:txbx></wps:wsp></w:drawing></mc:Choice>"
    "<mc:Fallback><w:pict><v:shape><v:textbox>"
    "<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
)


def build_docx() -> bytes:
    """A Chinese résumé laid out as Word templates do: a header, a text box, and a table with
    a merged heading cell."""
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "求职意向：财务主管"
    document.add_paragraph("陈静")
    box = document.add_paragraph()
    box._p.append(
        parse_xml(_TEXT_BOX.format(text="电话：137 1234 5678 邮箱：chenjing@example.com"))
    )
    table = document.add_table(rows=3, cols=4)
    rows = [
        ("教育经历", "2010.09-2014.06", "中南财经政法大学 会计学", "本科"),
        ("工作经历", "2014.07-2018.06", "普华永道中天会计师事务所", "审计员"),
        ("", "2018.07-至今", "广州某某集团有限公司", "财务主管"),
    ]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # one "工作经历" cell spanning both jobs
    document.add_paragraph("资格证书：注册会计师（CPA）、中级会计师")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def gbk_named_zip(name: str, data: bytes) -> bytes:
    """A zip as Chinese Windows makes it: the entry name in GBK, without the UTF-8 flag."""
    raw_name = name.encode("gbk")
    placeholder = "x" * (len(raw_name) - 4) + ".txt"
    archive = bytearray(build_zip([(placeholder, data)]))
    assert archive.count(placeholder.encode()) == 2  # local header + central directory
    return bytes(archive.replace(placeholder.encode(), raw_name))


# --------------------------------------------------------------------------- extract_text: formats

ZH_SAMPLE = (
    "姓名：张伟\r\n电话：１３８ １２３４ ５６７８\r\n\r\n\r\n技能：Ｐｙｔｈｏｎ、ＳＱＬ\t\t Excel"
)


def test_plain_text_is_normalised() -> None:
    assert extract_text("cv.txt", ZH_SAMPLE.encode("utf-8")) == (
        "姓名:张伟\n电话:138 1234 5678\n\n技能:Python、SQL | Excel"
    )  # the tabs are a column gap


@pytest.mark.parametrize(
    "encoded",
    [
        ZH_SAMPLE.encode("utf-8-sig"),
        ZH_SAMPLE.encode("utf-16"),  # with BOM, as Notepad's "Unicode"
        ZH_SAMPLE.encode("utf-16-le"),  # without BOM
        ZH_SAMPLE.encode("gb18030"),
        ZH_SAMPLE.encode("gbk"),
    ],
    ids=["utf8-bom", "utf16-bom", "utf16le", "gb18030", "gbk"],
)
def test_text_encodings(encoded: bytes) -> None:
    assert extract_text("简历.TXT", encoded) == extract_text("cv.txt", ZH_SAMPLE.encode())


def test_pdf_with_cjk_text() -> None:
    pdf = build_pdf(
        [["王强", "手机：+86 139 1234 5678", "工作经历"], ["2019.07-至今 某某公司 运营经理"]]
    )
    assert extract_text("王强.pdf", pdf) == (
        "王强\n手机:+86 139 1234 5678\n工作经历\n\n2019.07-至今 某某公司 运营经理"
    )  # a blank line between pages


def test_pdf_pages_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume_text, "MAX_PDF_PAGES", 1)
    assert extract_text("cv.pdf", build_pdf([["第一页"], ["第二页"]])) == "第一页"


def test_pdf_with_empty_user_password_is_opened() -> None:
    pdf = encrypted(build_pdf([["Jane Doe", "jane@example.com"]]), user_password="")
    assert extract_text("cv.pdf", pdf) == "Jane Doe\njane@example.com"


def test_docx_paragraphs_text_boxes_tables_and_header() -> None:
    assert extract_text("陈静.docx", build_docx()) == (
        "求职意向:财务主管\n"
        "陈静\n"
        "\n"
        "电话:137 1234 5678 邮箱:chenjing@example.com\n"
        "教育经历 | 2010.09-2014.06 | 中南财经政法大学 会计学 | 本科\n"
        "工作经历 | 2014.07-2018.06 | 普华永道中天会计师事务所 | 审计员\n"
        "2018.07-至今 | 广州某某集团有限公司 | 财务主管\n"
        "资格证书:注册会计师(CPA)、中级会计师"
    )


def test_docx_to_profile() -> None:
    profile = extract_profile(extract_text("陈静.docx", build_docx()), reference=REFERENCE)
    assert summary(profile) == {
        "name": "陈静",
        "email": "chenjing@example.com",
        "phone": "13712345678",
        "education": [("bachelor", "本科", "中南财经政法大学", "会计学", "2010-09", "2014-06")],
        "experience": [
            ("普华永道中天会计师事务所", "审计员", "2014-07", "2018-06", 48),  # 4 years
            ("广州某某集团有限公司", "财务主管", "2018-07", "present", 84),  # to 2025-06: 7 years
        ],
        "years": 11.0,  # 48 + 84 = 132 months, consecutive
        "skills": [],
        "certificates": ["注册会计师", "中级会计师"],
    }


def test_pdf_to_profile() -> None:
    pdf = build_pdf([ZH_MULTI.splitlines()])
    assert summary(extract_profile(extract_text("cv.pdf", pdf), REFERENCE)) == EXPECTED["zh_multi"]


# --------------------------------------------------------------------------- extract_text: errors


def error_code(filename: str, data: bytes, **kwargs: Any) -> ResumeErrorCode:
    with pytest.raises(ResumeFileError) as caught:
        extract_text(filename, data, **kwargs)
    assert caught.value.message
    return caught.value.code


def test_encrypted_pdf() -> None:
    pdf = encrypted(build_pdf([["Jane Doe"]]), user_password="secret")
    assert error_code("cv.pdf", pdf) == ResumeErrorCode.ENCRYPTED_PDF


def test_scanned_pdf_has_no_text() -> None:
    assert error_code("scan.pdf", build_pdf([[]])) == ResumeErrorCode.NO_TEXT


def test_not_a_pdf_named_pdf() -> None:
    assert error_code("cv.pdf", "张伟 简历".encode()) == ResumeErrorCode.CORRUPT


def test_truncated_pdf_is_corrupt() -> None:
    pdf = build_pdf([["Jane Doe"]])
    assert error_code("cv.pdf", pdf[:60]) == ResumeErrorCode.CORRUPT


def test_extension_and_content_must_agree() -> None:
    assert error_code("cv.docx", build_pdf([["Jane"]])) == ResumeErrorCode.TYPE_MISMATCH
    assert error_code("cv.txt", build_docx()) == ResumeErrorCode.TYPE_MISMATCH


def test_content_decides_without_extension() -> None:
    assert extract_text("cv", build_pdf([["Jane Doe"]])) == "Jane Doe"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("cv.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
        ("cv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
        ("cv.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        ("cv.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100),
        ("cv.xlsx", build_zip([("xl/workbook.xml", b"<workbook/>")])),
        ("cv.txt", bytes(range(256)) * 4),
    ],
    ids=["doc", "ole-no-extension", "png-named-pdf", "jpg", "xlsx", "binary-txt"],
)
def test_unsupported_types(filename: str, data: bytes) -> None:
    assert error_code(filename, data) == ResumeErrorCode.UNSUPPORTED_TYPE


def test_empty_files() -> None:
    assert error_code("cv.pdf", b"") == ResumeErrorCode.EMPTY
    assert error_code("cv.txt", b" \r\n\t ") == ResumeErrorCode.EMPTY


def test_too_large() -> None:
    assert error_code("cv.txt", b"a" * 101, max_bytes=100) == ResumeErrorCode.TOO_LARGE


def test_docx_zip_bomb_is_refused_before_reading() -> None:
    bomb = build_zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document>" + b" " * MAX_DOCX_XML_BYTES + b"</w:document>"),
        ]
    )
    assert len(bomb) < 100_000
    assert error_code("cv.docx", bomb) == ResumeErrorCode.TOO_LARGE


def test_damaged_docx_is_corrupt() -> None:
    assert error_code("cv.docx", build_zip([("word/document.xml", b"<not xml")])) == (
        ResumeErrorCode.CORRUPT
    )


def test_normalize_text_is_idempotent() -> None:
    once = normalize_text(ZH_SAMPLE)
    assert normalize_text(once) == once


# --------------------------------------------------------------------------- expand_zip


def test_expand_zip_skips_system_files_and_keeps_order() -> None:
    archive = build_zip(
        [
            ("简历/", b""),
            ("简历/张伟.pdf", b"%PDF-1"),
            ("__MACOSX/简历/._张伟.pdf", b"junk"),
            ("简历/.DS_Store", b"junk"),
            ("简历/~$李娜.docx", b"lock"),
            ("李娜.txt", "李娜".encode()),
        ]
    )
    assert expand_zip("bulk.zip", archive, max_files=10, max_total_bytes=1000) == [
        ("简历/张伟.pdf", b"%PDF-1"),
        ("李娜.txt", "李娜".encode()),
    ]


def test_expand_zip_decodes_gbk_names() -> None:
    archive = gbk_named_zip("张伟简历.txt", b"hello")
    assert expand_zip("bulk.zip", archive, max_files=10, max_total_bytes=1000) == [
        ("张伟简历.txt", b"hello")
    ]


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b.txt", "C:/x.txt"])
def test_expand_zip_refuses_path_tricks(name: str) -> None:
    with pytest.raises(ResumeFileError) as caught:
        expand_zip("bulk.zip", build_zip([(name, b"x")]), max_files=10, max_total_bytes=1000)
    assert caught.value.code == ResumeErrorCode.UNSAFE_PATH


def test_expand_zip_limits() -> None:
    files = [(f"{i}.txt", b"x" * 100) for i in range(5)]
    with pytest.raises(ResumeFileError) as caught:
        expand_zip("bulk.zip", build_zip(files), max_files=4, max_total_bytes=10_000)
    assert caught.value.code == ResumeErrorCode.TOO_MANY_FILES
    bomb = build_zip([("big.txt", b"0" * 1_000_000)])
    with pytest.raises(ResumeFileError) as caught:
        expand_zip("bulk.zip", bomb, max_files=4, max_total_bytes=100_000)
    assert caught.value.code == ResumeErrorCode.TOO_LARGE


def test_expand_zip_lying_size_is_corrupt() -> None:
    archive = bytearray(build_zip([("a.txt", b"x" * 10_000)]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = archive.find(signature)
        struct.pack_into("<I", archive, position + offset, 10)  # declare 10 bytes
    with pytest.raises(ResumeFileError) as caught:
        expand_zip("bulk.zip", bytes(archive), max_files=4, max_total_bytes=100)
    assert caught.value.code == ResumeErrorCode.CORRUPT


def test_expand_zip_single_docx_and_bad_archive() -> None:
    document = build_docx()
    assert expand_zip("cv.docx", document, max_files=4, max_total_bytes=10) == [
        ("cv.docx", document)
    ]
    with pytest.raises(ResumeFileError) as caught:
        expand_zip("bulk.zip", b"PK\x03\x04 broken", max_files=4, max_total_bytes=100)
    assert caught.value.code == ResumeErrorCode.CORRUPT


# --------------------------------------------------------------------------- extract_profile

ZH_KEY_VALUE = """个人简历
姓 名：李娜    性别：女
电话：138-1234-5678    邮箱：lina@example.com
学历：本科
求职意向：新媒体运营
工作经历
2019.07-至今 上海某某网络科技有限公司 新媒体运营经理
负责公司微信公众号、微博等平台的内容策划与运营。
2017.07-2019.06 杭州某某文化传媒有限公司 运营专员
教育背景
2013.09-2017.06 浙江大学 汉语言文学专业 本科
专业技能
熟练掌握Photoshop、Excel、PowerPoint；熟悉SQL
证书
大学英语六级、计算机二级
自我评价
5年互联网运营经验，具备良好的沟通能力。
"""

ZH_MULTI = """王强
手机：+86 139 1234 5678 | 邮箱：wangqiang@example.cn
【教育背景】
北京理工大学
计算机科学与技术 硕士
2012.09 - 2015.06
【工作经历】
北京某某科技有限公司
高级Java开发工程师 2018.03-2022.12
工作内容：负责订单系统的设计与开发。
深圳某某信息技术有限公司
Java开发工程师 2015.07-2018.02
工作内容：参与支付平台开发。
【技能】
Java、Spring Boot、MySQL、Redis、Linux
"""

ZH_TABLE = """基本信息 | 姓名 | 陈静 | 性别 | 女
联系电话 | 13712345678 | 电子邮箱 | chenjing@example.com
教育经历 | 2010.09-2014.06 | 中南财经政法大学 | 会计学 | 本科
工作经历 | 2014.07-2018.06 | 普华永道中天会计师事务所 | 审计员
 | 2018.07-至今 | 广州某某集团有限公司 | 财务主管
资格证书 | 注册会计师(CPA)、中级会计师
"""

ZH_GRADUATE = """刘洋
电话：15012345678 邮箱：liuyang@example.com
教育背景
2020.09-2024.06 武汉大学 金融学 学士
实习经历
2023.07-2023.09 招商银行武汉分行 零售业务实习生
2022.07-2022.08 某某证券股份有限公司 研究部实习
校园经历
2021.09-2022.06 学生会 宣传部部长
技能证书
英语六级、计算机二级、Python、Excel
"""

ZH_SUMMARY_ONLY = """赵敏
联系方式：186 0000 1111
个人总结
8年以上人力资源管理经验，熟悉招聘与绩效管理。
工作经历
曾在多家互联网公司担任人力资源经理。
"""

ZH_OVERLAP = """姓名：孙磊
工作经验
2015年7月-2019年12月 某某市财政局 科员
2018年1月-2020年6月 某某咨询有限公司 兼职顾问
2020年7月-至今 某某区发展和改革委员会 副主任科员
教育背景
2011年9月-2015年6月 西南财经大学 财政学专业 本科
2015年9月-2018年6月 西南财经大学 公共管理 硕士研究生(在职)
"""

ZH_NO_HEADINGS = """周杰
13512345678
2016.07-2020.06 成都某某房地产开发有限公司 销售主管
2020.07-至今 成都某某商业管理有限公司 招商经理
本科 四川大学 市场营销 2012-2016
"""

ZH_DECORATED = """张伟 | 138 0013 8000 | zhangwei@example.com
■ 教 育 背 景
2014.09—2018.06  华东师范大学  英语专业  学士
—— 工作经历 ——
2018.07~2021.12  上海某某教育科技有限公司  课程顾问
2022.01至今  某某国际学校  英语教师
—— 技能 ——
英语专业八级，普通话二级甲等，教师资格证
"""

ZH_TABLE_HEADER_ROW = """简历
李  娜
手机：13900001111
工作经历
时间 | 单位 | 职务
2019.07-至今 | 字节跳动 | 产品经理
2017.03-2019.06 | 美团 | 产品助理
项目经历
2020.01-2020.06 负责推荐系统改版项目
专业技能
熟练使用Python进行数据分析，能够独立完成数据清洗与建模
熟悉Axure、Visio等原型工具
具有良好的沟通能力和团队合作精神
"""

EN_CLASSIC = """John A. Smith
john.smith@example.com | (415) 555-0134 | San Francisco, CA
SUMMARY
Data analyst with over 5 years of experience in SQL and Python.
PROFESSIONAL EXPERIENCE
Acme Corporation — Senior Data Analyst
Jul 2019 – Present
• Built dashboards in Tableau for the sales team.
• Managed a team of 3 analysts.
Beta Analytics Inc. — Data Analyst
Jan 2017 – Jun 2019
• Automated weekly reports with Python.
EDUCATION
University of California, Berkeley
B.A. in Statistics, 2012 – 2016
SKILLS
Python (pandas, NumPy), SQL, Tableau, Excel, R
CERTIFICATIONS
AWS Certified Cloud Practitioner
"""

EN_DATES_FIRST = """Maria Garcia
Phone: +1 415 555 0177
Email: maria.garcia@example.org
Work Experience
July 2019 to March 2022
Marketing Manager, Globex Ltd
Led a team of five marketers.
07/2016 - 06/2019
Marketing Specialist at Initech Co.
Education
MBA, Harvard Business School, 2014 - 2016
Bachelor of Arts in Economics, Boston University, 2010 - 2014
Skills
Project Management, SEO, Salesforce, Spanish
"""

EN_GRADUATE = """Emily Chen
emily.chen@example.edu · +44 20 7946 0958
Education
Imperial College London
MSc Data Science, Sep 2023 – Sep 2024
Internship
Data Science Intern, Initech Ltd — Jun 2024 – Aug 2024
Skills
Python, SQL, Machine Learning
Certifications
IELTS 7.5
"""

EN_YEARS_ONLY = """DR. ROBERT BROWN
Mobile: +86 138 0013 8000
Experience
2016 - 2019 Research Scientist, Stark Industries
2019 - present Principal Engineer, Wayne Enterprises Inc
Education
Ph.D. in Physics, Massachusetts Institute of Technology, 2011 - 2016
"""

EN_MIXED_LAYOUTS = """Curriculum Vitae
Name: Priya Patel
Tel: 010-12345678
EXPERIENCE:
Google LLC | Mountain View, CA | Jan 2020 - Present
Software Engineer
- Developed backend services in Go and Java.
Software Engineer | Stripe | San Francisco, CA | Jun 2017 - Dec 2019
PROJECTS
Open-source search engine (2018 - 2019)
Personal finance app, 2016 - 2017
EDUCATION:
Bachelor of Engineering in Computer Science
National University of Singapore
2013 - 2017
"""

EN_SUMMARY_ONLY = """Tom Baker
tom.baker@example.com
Profile
Sales professional with 7+ years of experience in B2B software sales.
Skills
Negotiation, CRM, Salesforce
"""

ZH_JOBBOARD = """张三
男 | 28岁 | 本科 | 5年工作经验
手机：13812345678 邮箱：zhangsan@163.com
现居住地：北京
求职意向
期望职位：数据分析师
期望城市：北京
工作经历
2020/03 - 至今  北京某某科技有限公司（5年）
数据分析师 | 数据部
工作描述：负责用户行为数据分析。
2018/07 - 2020/02  某某信息技术有限公司（1年7个月）
数据专员
教育经历
2014/09 - 2018/06  北京工业大学  统计学  本科
语言能力
英语：CET-6
技能
SQL：精通
Python：熟练
"""

ZH_CIVIL = """基本信息
姓名：黄丽 性别：女 出生年月：1992.05
政治面貌：中共党员 学历：硕士研究生
联系电话：0755-86001234 电子邮箱：huangli@example.gov.cn
学习经历
2010.09—2014.06 中山大学 行政管理专业 学士
2014.09—2017.06 中山大学 公共管理专业 硕士
工作经历
2017.07—2020.12 深圳市某某区人民政府办公室 科员
2021.01—至今 深圳市某某区应急管理局 四级主任科员
获奖情况
2019年 获评优秀公务员
"""

ZH_KV_JOBS = """姓名 | 吴刚 | 性别 | 男
工作经历
公司名称：杭州某某电子商务有限公司
职位：运营总监
工作时间：2019.07-至今
工作内容：负责天猫店铺整体运营。
公司名称：某某网络科技有限公司
职位：运营主管
工作时间：2016.03-2019.06
教育背景
毕业院校：浙江工商大学
专业：电子商务
学历：本科
毕业时间：2016.06
"""

EN_ONE_LINE = """Oliver Wright
oliver.wright@mail.co.uk | +44 7700 900123
Employment History
Senior Accountant, KPMG, London — 2018 – 2021
Accountant, Deloitte LLP, Manchester — 2015 – 2018
Education
BSc Accounting and Finance, University of Manchester (2012–2015)
Certifications
ACCA (2017); CFA Level II
"""

EN_COMPANY_DATES = """Sarah O'Neil
Experience
Initrode Inc.   March 2021 - Current
Operations Manager
• Reduced costs by 12%.
Hooli   Jan 2018 - Feb 2021
Operations Analyst
Education
Associate degree in Business, Santa Monica College, 2016
Skills: Excel, SQL, Power BI, Lean Six Sigma
"""

EN_KV_JOBS = """Name: Li Wei
Work Experience
Company: Huawei Technologies Co., Ltd.
Title: Network Engineer
Dates: 2018.07 - 2021.09
Company: ZTE Corporation
Title: Test Engineer
Dates: 2016.07 - 2018.06
"""

FIXTURES = {
    "zh_key_value": ZH_KEY_VALUE,
    "zh_multi": ZH_MULTI,
    "zh_table": ZH_TABLE,
    "zh_graduate": ZH_GRADUATE,
    "zh_summary_only": ZH_SUMMARY_ONLY,
    "zh_overlap": ZH_OVERLAP,
    "zh_no_headings": ZH_NO_HEADINGS,
    "zh_decorated": ZH_DECORATED,
    "zh_table_header_row": ZH_TABLE_HEADER_ROW,
    "en_classic": EN_CLASSIC,
    "en_dates_first": EN_DATES_FIRST,
    "en_graduate": EN_GRADUATE,
    "en_years_only": EN_YEARS_ONLY,
    "en_mixed_layouts": EN_MIXED_LAYOUTS,
    "en_summary_only": EN_SUMMARY_ONLY,
    "zh_job_board": ZH_JOBBOARD,
    "zh_civil_service": ZH_CIVIL,
    "zh_key_value_jobs": ZH_KV_JOBS,
    "en_one_line": EN_ONE_LINE,
    "en_company_dates": EN_COMPANY_DATES,
    "en_key_value_jobs": EN_KV_JOBS,
}

EXPECTED: dict[str, dict[str, Any]] = {
    "zh_key_value": {
        "name": "李娜",
        "email": "lina@example.com",
        "phone": "13812345678",
        "education": [("bachelor", "本科", "浙江大学", "汉语言文学", "2013-09", "2017-06")],
        "experience": [
            ("上海某某网络科技有限公司", "新媒体运营经理", "2019-07", "present", 72),  # to 2025-06
            ("杭州某某文化传媒有限公司", "运营专员", "2017-07", "2019-06", 24),
        ],
        "years": 8.0,  # 24 + 72 = 96 months
        "skills": ["Photoshop", "Excel", "PowerPoint", "SQL"],  # not 新媒体运营 of the job title
        "certificates": ["大学英语六级", "计算机二级"],
    },
    "zh_multi": {
        "name": "王强",
        "email": "wangqiang@example.cn",
        "phone": "+8613912345678",
        "education": [("master", "硕士", "北京理工大学", "计算机科学与技术", "2012-09", "2015-06")],
        "experience": [
            ("北京某某科技有限公司", "高级Java开发工程师", "2018-03", "2022-12", 58),  # 4*12+10
            ("深圳某某信息技术有限公司", "Java开发工程师", "2015-07", "2018-02", 32),  # 36-4
        ],
        "years": 7.5,  # 32 + 58 = 90 months, consecutive
        "skills": ["Java", "Spring Boot", "MySQL", "Redis", "Linux"],
        "certificates": [],
    },
    "zh_table": {
        "name": "陈静",
        "email": "chenjing@example.com",
        "phone": "13712345678",
        "education": [("bachelor", "本科", "中南财经政法大学", "会计学", "2010-09", "2014-06")],
        "experience": [
            ("普华永道中天会计师事务所", "审计员", "2014-07", "2018-06", 48),
            ("广州某某集团有限公司", "财务主管", "2018-07", "present", 84),  # to 2025-06
        ],
        "years": 11.0,  # 48 + 84 = 132 months
        "skills": [],
        "certificates": ["注册会计师", "中级会计师"],
    },
    "zh_graduate": {
        "name": "刘洋",
        "email": "liuyang@example.com",
        "phone": "15012345678",
        "education": [("bachelor", "学士", "武汉大学", "金融学", "2020-09", "2024-06")],
        "experience": [
            ("招商银行武汉分行", "零售业务实习生", "2023-07", "2023-09", 3),  # Jul, Aug, Sep
            ("某某证券股份有限公司", "研究部实习", "2022-07", "2022-08", 2),
        ],
        "years": 0.0,  # internships are listed, not counted
        "skills": ["Python", "Excel"],
        "certificates": ["英语六级", "计算机二级"],
    },
    "zh_summary_only": {
        "name": "赵敏",
        "email": None,
        "phone": "18600001111",
        "education": [],
        "experience": [],  # "8年以上…经验" is a claim, not a job
        "years": 8.0,  # the claim, used because no dated job exists
        "skills": ["绩效管理"],
        "certificates": [],
    },
    "zh_overlap": {
        "name": "孙磊",
        "email": None,
        "phone": None,
        "education": [
            ("bachelor", "本科", "西南财经大学", "财政学", "2011-09", "2015-06"),
            ("master", "硕士研究生", "西南财经大学", "公共管理", "2015-09", "2018-06"),
        ],
        "experience": [
            ("某某市财政局", "科员", "2015-07", "2019-12", 54),  # 4*12+6
            ("某某咨询有限公司", "兼职顾问", "2018-01", "2020-06", 30),  # 2*12+6
            ("某某区发展和改革委员会", "副主任科员", "2020-07", "present", 60),  # to 2025-06
        ],
        "years": 10.0,  # 2015-07..2020-06 once (60), then 2020-07..2025-06 (60)
        "skills": [],
        "certificates": [],
    },
    "zh_no_headings": {
        "name": "周杰",
        "email": None,
        "phone": "13512345678",
        "education": [("bachelor", "本科", "四川大学", "市场营销", "2012", "2016")],
        "experience": [
            ("成都某某房地产开发有限公司", "销售主管", "2016-07", "2020-06", 48),
            ("成都某某商业管理有限公司", "招商经理", "2020-07", "present", 60),  # to 2025-06
        ],
        "years": 9.0,  # 48 + 60 = 108 months
        "skills": [],
        "certificates": [],
    },
    "zh_decorated": {
        "name": "张伟",
        "email": "zhangwei@example.com",
        "phone": "13800138000",
        "education": [("bachelor", "学士", "华东师范大学", "英语", "2014-09", "2018-06")],
        "experience": [
            ("上海某某教育科技有限公司", "课程顾问", "2018-07", "2021-12", 42),  # 3*12+6
            ("某某国际学校", "英语教师", "2022-01", "present", 42),  # to 2025-06: 3*12+6
        ],
        "years": 7.0,  # 42 + 42 = 84 months
        "skills": ["英语"],
        "certificates": ["英语专业八级", "普通话二级甲等", "教师资格证"],
    },
    "zh_table_header_row": {
        "name": "李娜",
        "email": None,
        "phone": "13900001111",
        "education": [],
        "experience": [
            ("字节跳动", "产品经理", "2019-07", "present", 72),  # to 2025-06
            ("美团", "产品助理", "2017-03", "2019-06", 28),  # 2*12+4
        ],
        "years": 8.3,  # 72 + 28 = 100 months = 8.33
        "skills": ["Python", "数据分析", "Axure", "Visio"],
        "certificates": [],
    },
    "en_classic": {
        "name": "John A. Smith",
        "email": "john.smith@example.com",
        "phone": "4155550134",
        "education": [
            ("bachelor", "B.A.", "University of California", "Statistics", "2012", "2016")
        ],
        "experience": [
            ("Acme Corporation", "Senior Data Analyst", "2019-07", "present", 72),  # to 2025-06
            ("Beta Analytics Inc.", "Data Analyst", "2017-01", "2019-06", 30),  # 2*12+6
        ],
        "years": 8.5,  # 30 + 72 = 102 months
        "skills": ["Python", "SQL", "Tableau", "Excel", "R", "pandas", "NumPy"],
        "certificates": ["AWS Certified Cloud Practitioner"],
    },
    "en_dates_first": {
        "name": "Maria Garcia",
        "email": "maria.garcia@example.org",
        "phone": "+14155550177",
        "education": [
            ("master", "MBA", "Harvard Business School", None, "2014", "2016"),
            ("bachelor", "Bachelor of Arts", "Boston University", "Economics", "2010", "2014"),
        ],
        "experience": [
            ("Globex Ltd", "Marketing Manager", "2019-07", "2022-03", 33),  # 2*12+9
            ("Initech Co.", "Marketing Specialist", "2016-07", "2019-06", 36),
        ],
        "years": 5.8,  # 36 + 33 = 69 months = 5.75
        "skills": ["Project Management", "SEO", "Salesforce", "Spanish"],
        "certificates": [],
    },
    "en_graduate": {
        "name": "Emily Chen",
        "email": "emily.chen@example.edu",
        "phone": "+442079460958",
        "education": [
            ("master", "MSc", "Imperial College London", "Data Science", "2023-09", "2024-09")
        ],
        "experience": [("Initech Ltd", "Data Science Intern", "2024-06", "2024-08", 3)],
        "years": 0.0,
        "skills": ["Python", "SQL", "Machine Learning"],
        "certificates": ["IELTS 7.5"],
    },
    "en_years_only": {
        "name": "ROBERT BROWN",
        "email": None,
        "phone": "+8613800138000",
        "education": [
            (
                "doctor",
                "Ph.D.",
                "Massachusetts Institute of Technology",
                "Physics",
                "2011",
                "2016",
            )
        ],
        "experience": [
            ("Stark Industries", "Research Scientist", "2016", "2019", 36),
            ("Wayne Enterprises Inc", "Principal Engineer", "2019", "present", 72),
        ],
        # a year-only date stands for July: [2016-07, 2019-07) is 36, 2019-07..2025-06 is 72
        "years": 9.0,
        "skills": [],
        "certificates": [],
    },
    "en_mixed_layouts": {
        "name": "Priya Patel",
        "email": None,
        "phone": "01012345678",
        "education": [
            (
                "bachelor",
                "Bachelor of Engineering",
                "National University of Singapore",
                "Computer Science",
                "2013",
                "2017",
            )
        ],
        "experience": [
            ("Google LLC", "Software Engineer", "2020-01", "present", 66),  # to 2025-06: 5*12+6
            ("Stripe", "Software Engineer", "2017-06", "2019-12", 31),  # 2*12+7
        ],
        "years": 8.1,  # 31 + 66 = 97 months = 8.08
        "skills": ["Java"],  # "Go" counts only inside a skills section
        "certificates": [],
    },
    "en_summary_only": {
        "name": "Tom Baker",
        "email": "tom.baker@example.com",
        "phone": None,
        "education": [],
        "experience": [],
        "years": 7.0,
        "skills": ["Negotiation", "CRM", "Salesforce"],
        "certificates": [],
    },
    "zh_job_board": {
        "name": "张三",
        "email": "zhangsan@163.com",
        "phone": "13812345678",
        "education": [("bachelor", "本科", "北京工业大学", "统计学", "2014-09", "2018-06")],
        "experience": [
            ("北京某某科技有限公司", "数据分析师", "2020-03", "present", 64),  # "(5年)" dropped
            # 2018-07..2020-02 is 12+8 = 20 months (the board's own "1年7个月" counts one end)
            ("某某信息技术有限公司", "数据专员", "2018-07", "2020-02", 20),
        ],
        "years": 7.0,  # 20 + 64 (2020-03..2025-06: 5*12+4) = 84 months
        "skills": ["英语", "SQL", "Python"],  # not 数据分析 of the job title and duties
        "certificates": ["CET-6"],
    },
    "zh_civil_service": {
        "name": "黄丽",
        "email": "huangli@example.gov.cn",
        "phone": "075586001234",
        "education": [
            ("bachelor", "学士", "中山大学", "行政管理", "2010-09", "2014-06"),
            ("master", "硕士", "中山大学", "公共管理", "2014-09", "2017-06"),
        ],
        "experience": [
            ("深圳市某某区人民政府办公室", "科员", "2017-07", "2020-12", 42),  # 3*12+6
            ("深圳市某某区应急管理局", "四级主任科员", "2021-01", "present", 54),  # 4*12+6
        ],
        "years": 8.0,  # 42 + 54 = 96 months
        "skills": [],
        "certificates": [],  # 获评优秀公务员 is an award, not a certificate
    },
    "zh_key_value_jobs": {
        "name": "吴刚",
        "email": None,
        "phone": None,
        "education": [("bachelor", "本科", "浙江工商大学", "电子商务", None, "2016-06")],
        "experience": [
            ("杭州某某电子商务有限公司", "运营总监", "2019-07", "present", 72),  # to 2025-06
            ("某某网络科技有限公司", "运营主管", "2016-03", "2019-06", 40),  # 3*12+4
        ],
        "years": 9.3,  # 40 + 72 = 112 months = 9.33
        "skills": [],
        "certificates": [],
    },
    "en_one_line": {
        "name": "Oliver Wright",
        "email": "oliver.wright@mail.co.uk",
        "phone": "+447700900123",
        "education": [
            (
                "bachelor",
                "BSc",
                "University of Manchester",
                "Accounting and Finance",
                "2012",
                "2015",
            )
        ],
        "experience": [
            ("KPMG", "Senior Accountant", "2018", "2021", 36),  # year-only: July to July
            ("Deloitte LLP", "Accountant", "2015", "2018", 36),
        ],
        "years": 6.0,
        "skills": [],
        "certificates": ["ACCA", "CFA Level II"],
    },
    "en_company_dates": {
        "name": "Sarah O'Neil",
        "email": None,
        "phone": None,
        "education": [
            ("associate", "Associate degree", "Santa Monica College", "Business", None, "2016")
        ],
        "experience": [
            ("Initrode Inc.", "Operations Manager", "2021-03", "present", 52),  # 4*12+4
            ("Hooli", "Operations Analyst", "2018-01", "2021-02", 38),  # 3*12+2
        ],
        "years": 7.5,  # 38 + 52 = 90 months
        "skills": ["Excel", "SQL", "Power BI", "Lean Six Sigma"],
        "certificates": [],
    },
    "en_key_value_jobs": {
        "name": "Li Wei",
        "email": None,
        "phone": None,
        "education": [],
        "experience": [
            ("Huawei Technologies Co., Ltd.", "Network Engineer", "2018-07", "2021-09", 39),
            ("ZTE Corporation", "Test Engineer", "2016-07", "2018-06", 24),
        ],
        "years": 5.3,  # 24 + 39 = 63 months = 5.25, halves rounded up
        "skills": [],
        "certificates": [],
    },
}


def summary(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name.value if profile.name else None,
        "email": profile.email.value if profile.email else None,
        "phone": profile.phone.value if profile.phone else None,
        "education": [
            (e.degree, e.degree_text, e.school, e.major, e.start, e.end) for e in profile.education
        ],
        "experience": [(e.employer, e.role, e.start, e.end, e.months) for e in profile.experience],
        "years": profile.experience_years,
        "skills": [s.value for s in profile.skills],
        "certificates": [c.value for c in profile.certificates],
    }


@pytest.mark.parametrize("key", list(FIXTURES))
def test_profile(key: str) -> None:
    assert summary(extract_profile(FIXTURES[key], reference=REFERENCE)) == EXPECTED[key]


@pytest.mark.parametrize("key", list(FIXTURES))
def test_every_value_keeps_its_source(key: str) -> None:
    profile = extract_profile(FIXTURES[key], reference=REFERENCE)
    text = profile.text
    values: list[Sourced] = [v for v in (profile.name, profile.email, profile.phone) if v]
    for value in [*values, *profile.skills, *profile.certificates]:
        assert value.source in text.split("\n")
    entries: list[Education | Experience] = [*profile.education, *profile.experience]
    for entry in entries:
        assert entry.source and all(line in text.split("\n") for line in entry.source.split("\n"))


def test_sources_are_the_lines_as_written() -> None:
    profile = extract_profile(ZH_MULTI, reference=REFERENCE)
    assert profile.phone is not None
    assert profile.phone.source == "手机:+86 139 1234 5678 | 邮箱:wangqiang@example.cn"
    assert [e.source for e in profile.experience] == [
        "北京某某科技有限公司\n高级Java开发工程师 2018.03-2022.12",
        "深圳某某信息技术有限公司\nJava开发工程师 2015.07-2018.02",
    ]
    assert profile.education[0].source == "北京理工大学\n计算机科学与技术 硕士\n2012.09 - 2015.06"
    english = extract_profile(EN_CLASSIC, reference=REFERENCE)
    assert (
        english.experience[0].source == "Acme Corporation — Senior Data Analyst\nJul 2019 – Present"
    )


def test_language() -> None:
    assert extract_profile(ZH_KEY_VALUE).language == "zh"
    assert extract_profile(EN_CLASSIC).language == "en"


def test_sources_are_trimmed() -> None:
    long_line = "2019.07-至今 某某科技有限公司 运营经理 " + "负责" * 200
    profile = extract_profile("工作经历\n" + long_line, reference=REFERENCE)
    assert len(profile.experience[0].source) == MAX_SOURCE_CHARS


@pytest.mark.parametrize(
    "text",
    ["2019.07 - 2021.12", "2019年7月-2021年12月", "2019/07 - 2021/12", "Jul 2019 – Dec 2021",
     "July 2019 to December 2021", "07/2019 - 12/2021", "2019.07~2021.12", "2019.07至2021.12"],
)  # fmt: skip
def test_date_range_formats(text: str) -> None:
    profile = extract_profile(f"工作经历\n{text} 某某科技有限公司 运营经理", reference=REFERENCE)
    [job] = profile.experience
    assert (job.start, job.end, job.months) == ("2019-07", "2021-12", 30)  # 2*12+6


@pytest.mark.parametrize("present", ["至今", "现在", "Present", "now"])
def test_present_counts_to_the_reference(present: str) -> None:
    profile = extract_profile(f"Experience\n2024.01 - {present} Acme Inc, Analyst", (2025, 1))
    # 2024-01..2025-01, the reference month included: 13 months
    assert [(j.end, j.months) for j in profile.experience] == [("present", 13)]
    assert profile.experience_years == 1.1


# --------------------------------------------------------------------------- job lengths
# A month-precise job counts both its end months, the way HR reads a résumé.


def job_months(text: str, reference: tuple[int, int] = REFERENCE) -> list[int | None]:
    return [job.months for job in extract_profile(text, reference=reference).experience]


def years(text: str, reference: tuple[int, int] = REFERENCE) -> float:
    return extract_profile(text, reference=reference).experience_years


@pytest.mark.parametrize(
    "dates", ["2019.07-2022.06", "2019年7月-2022年6月", "Jul 2019 - Jun 2022", "07/2019 - 06/2022"]
)
def test_exactly_three_years(dates: str) -> None:
    text = f"工作经历\n{dates} 某某科技有限公司 运营经理\n"
    assert job_months(text) == [36]  # July 2019 to June 2022, both included
    assert years(text) == 3.0


def test_exactly_three_years_meets_three_years_required() -> None:
    required, errors = validate_requirements({"min_years": 3})
    assert not errors
    profile = extract_profile("工作经历\n2019.07-2022.06 某某科技有限公司 运营经理\n", REFERENCE)
    result = match(profile, required, "zh")
    assert result["eligible"]
    assert [c["explanation"] for c in result["criteria"]] == ["工作年限：3 年 ≥ 3 年 ✓"]


def test_english_month_names_count_both_ends() -> None:
    assert job_months("Experience\nJul 2019 – Dec 2021 Acme Inc, Analyst\n") == [30]  # 2*12+6


def test_one_month_job() -> None:
    assert job_months("工作经历\n2020.05-2020.05 某某科技有限公司 运营经理\n") == [1]


def test_consecutive_jobs_have_no_gap() -> None:
    text = (
        "工作经历\n"
        "2018.07-2023.06 杭州某某科技有限公司 数据分析师\n"
        "2015.07-2018.06 某某贸易有限公司 会计\n"
    )
    assert job_months(text) == [60, 36]
    assert years(text) == 8.0  # 96 months: no month lost between June and July 2018


def test_present_includes_the_reference_month() -> None:
    text = "工作经历\n2019.07-至今 某某科技有限公司 运营经理\n"
    assert job_months(text, (2026, 11)) == [89]  # 2019-07..2026-11: 7*12+5
    assert years(text, (2026, 11)) == 7.4  # 89 / 12 = 7.42
    assert job_months(text, (2019, 7)) == [1]  # started this month


def test_an_end_after_the_reference_is_cut_at_the_reference_month() -> None:
    text = "工作经历\n2024.01-2026.12 某某科技有限公司 运营经理\n"
    assert job_months(text) == [18]  # 2024-01..2025-06


@pytest.mark.parametrize(
    "dates", ["2025.07-至今", "2020.05-2020.04", "2020.05-2019"], ids=["future", "reversed", "year"]
)
def test_impossible_range_has_no_length(dates: str) -> None:
    text = f"工作经历\n{dates} 某某科技有限公司 运营经理\n"
    assert job_months(text) == [None]
    assert years(text) == 0.0


def test_year_only_range_is_unchanged() -> None:
    text = "Experience\n2016 - 2019 Research Scientist, Stark Industries\n"
    assert job_months(text) == [36]  # July 2016 to July 2019, the end month not added
    assert years(text) == 3.0


@pytest.mark.parametrize(
    ("dates", "months"),
    [
        ("2016 - 2019.06", 36),  # 2016-07..2019-06: a month-precise end counts
        ("2016.03 - 2019", 40),  # 2016-03 up to July 2019: 3*12+4
        ("2019 - 至今", 72),  # 2019-07..2025-06
    ],
)
def test_year_only_date_on_one_side(dates: str, months: int) -> None:
    assert job_months(f"工作经历\n{dates} 某某科技有限公司 运营经理\n") == [months]


def test_overlapping_jobs_count_once() -> None:
    text = (
        "工作经历\n"
        "2018.01-2020.12 某某科技有限公司 运营经理\n"
        "2020.01-2021.06 某某咨询有限公司 兼职顾问\n"
        "2019.03-2019.08 某某文化传媒有限公司 顾问\n"
    )
    assert job_months(text) == [36, 18, 6]
    assert years(text) == 3.5  # 2018-01..2021-06 once: 42 months, not 36 + 18 + 6 = 60


def test_same_month_end_and_start_counts_once() -> None:
    text = (
        "工作经历\n"
        "2018.01-2019.06 某某科技有限公司 运营经理\n"
        "2019.06-2020.12 某某咨询有限公司 运营总监\n"
    )
    assert job_months(text) == [18, 19]
    assert years(text) == 3.0  # June 2019 once: 2018-01..2020-12 is 36 months


def test_headings_and_dates_are_not_names() -> None:
    for text in (
        "个人简历\n求职意向：运营经理",
        "Curriculum Vitae\nSoftware Engineer",
        "2019.07-至今",
    ):
        assert extract_profile(text).name is None


def test_experience_claims_are_not_jobs_when_jobs_exist() -> None:
    profile = extract_profile(ZH_KEY_VALUE, reference=REFERENCE)
    assert all("经验" not in job.source for job in profile.experience)
    assert profile.experience_years == 8.0  # the dated jobs (96 months), not the claimed 5


def test_project_dates_are_not_jobs() -> None:
    profile = extract_profile(EN_MIXED_LAYOUTS, reference=REFERENCE)
    assert [job.employer for job in profile.experience] == ["Google LLC", "Stripe"]


def test_profile_round_trips_through_its_dict() -> None:
    profile = extract_profile(ZH_OVERLAP, reference=REFERENCE)
    again = Profile.from_dict(profile.to_dict(), text=profile.text)
    assert again == profile
    assert profile.to_dict()["highest_degree"] == "master"


# --------------------------------------------------------------------------- hostile input

PATHOLOGICAL = {
    "digits": "1" * 100_000,
    "dates": "2019-" * 20_000,
    "dots": "a." * 50_000,
    "email-like": "a" * 50_000 + "@" + "b" * 40_000,
    "capitals": "A" * 100_000,
    "dashes": "工作经历\n2019" + "-" * 100_000,
    "school-like": "Education\nUniversity of " + "Aaaa " * 20_000,
    "etc": "技能\n" + "等" * 100_000,
}
MAX_PATHOLOGICAL_S = 5.0
"""Generous bound (about 0.3 s each here): a quadratic regex takes minutes on these."""


@pytest.mark.parametrize("key", list(PATHOLOGICAL))
def test_pathological_text_is_fast(key: str) -> None:
    started = time.perf_counter()
    extract_profile(PATHOLOGICAL[key])
    assert time.perf_counter() - started < MAX_PATHOLOGICAL_S


@pytest.mark.parametrize("kind", ["pdf", "docx", "zip"])
def test_damaged_files_raise_only_resume_file_errors(kind: str) -> None:
    rng = random.Random(7)
    pdf = build_pdf([ZH_MULTI.splitlines()])
    originals = {
        "pdf": pdf,
        "docx": build_docx(),
        "zip": build_zip([("a.pdf", pdf), ("b.txt", b"hello")]),
    }
    for _ in range(100):
        data = bytearray(originals[kind])
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            if kind == "zip":
                expand_zip("bulk.zip", bytes(data), max_files=10, max_total_bytes=1_000_000)
            else:
                extract_text(f"cv.{kind}", bytes(data))
        except ResumeFileError as exc:
            assert exc.code in set(ResumeErrorCode)


# --------------------------------------------------------------------------- evaluation bug reports
# Each résumé below reproduces one kind of error seen on an independent corpus: written here, not
# copied from it.


def certificates(text: str) -> list[str]:
    return [c.value for c in extract_profile(text, reference=REFERENCE).certificates]


def skills(text: str) -> list[str]:
    return [s.value for s in extract_profile(text, reference=REFERENCE).skills]


def jobs(text: str) -> list[tuple[str | None, str | None]]:
    return [(j.employer, j.role) for j in extract_profile(text, reference=REFERENCE).experience]


def name(text: str) -> str | None:
    found = extract_profile(text, reference=REFERENCE).name
    return found.value if found else None


ZH_AWARDS = """林晓彤
电话:13800001111
教育背景
2019.09-2023.06 北京师范大学 心理学 本科
荣誉奖项
2021年 国家励志奖学金
2022年 校级优秀学生干部
2023年度优秀员工
证书
2021年 大学英语六级
2022年度 基金从业资格
"""

EN_HONOURS = """Daniel K. Brooks
daniel.brooks@example.com
Education
M.S. in Computer Science, University of Michigan, 2020 - 2022
Honors & Awards
Dean's List (2019, 2020)
Graduate Fellowship, 2021
Best Paper Award, ACM Student Research Competition
Certifications
AWS Certified Solutions Architect, 2023
"""


def test_awards_are_not_certificates() -> None:
    assert certificates(ZH_AWARDS) == ["大学英语六级", "基金从业资格"]
    assert certificates(EN_HONOURS) == ["AWS Certified Solutions Architect"]
    assert skills(EN_HONOURS) == []


def test_awards_listed_with_certificates_are_left_out() -> None:
    mixed = "证书及荣誉\n英语六级、国家奖学金、2023年度优秀员工、初级会计职称\n"
    assert certificates(mixed) == ["英语六级", "初级会计职称"]
    english = "Awards and Certifications\nPMP; Employee of the Year 2022; Six Sigma Green Belt\n"
    assert certificates(english) == ["PMP", "Six Sigma Green Belt"]


def test_a_year_is_cut_from_a_certificate_whole() -> None:
    assert certificates("证书\n2023年度 注册会计师\n2022年 证券从业资格\n") == [
        "注册会计师",
        "证券从业资格",
    ]


EN_SIDEBAR_MAIN = [
    "Mary R. Taylor",
    "Digital Marketing Manager",
    "EXPERIENCE",
    "Digital Marketing Manager, Brightwave Media Inc.",
    "Mar 2019 - Present",
    "- Led paid search campaigns across five markets.",
    "Marketing Specialist, Northwind Traders LLC",
    "Jun 2015 - Feb 2019",
    "EDUCATION",
    "B.A. in Communications, University of Texas, 2011 - 2015",
]
EN_SIDEBAR_SIDE = [
    "CONTACT",
    "mary.taylor@example.com",
    "+1 512 555 0199",
    "SKILLS",
    "Google Analytics",
    "A/B Testing",
    "CERTIFICATIONS",
    "Google Ads Certification",
    "HubSpot Inbound Certified",
]


def build_sidebar_pdf(main: list[str], side: list[str]) -> bytes:
    """An English two-column résumé as a template draws it: row by row, the main column on the
    left and a narrower side column on the right, the side rows a little lower."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for row in range(max(len(main), len(side))):
        if row < len(main):
            pdf.text(42, 60 + 17 * row, main[row])
        if row < len(side):
            pdf.text(400, 66 + 17 * row, side[row])
    return bytes(pdf.output())


def test_two_column_pdf_is_read_column_by_column() -> None:
    text = extract_text("cv.pdf", build_sidebar_pdf(EN_SIDEBAR_MAIN, EN_SIDEBAR_SIDE))
    assert text.split("\n") == [*EN_SIDEBAR_MAIN, *EN_SIDEBAR_SIDE]
    profile = extract_profile(text, reference=REFERENCE)
    assert summary(profile) | {"education": None} == {
        "name": "Mary R. Taylor",
        "email": "mary.taylor@example.com",
        "phone": "+15125550199",
        "education": None,
        "experience": [
            # 2019-03..2025-06: 6*12+4; 2015-06..2019-02: 4*12-3
            ("Brightwave Media Inc.", "Digital Marketing Manager", "2019-03", "present", 76),
            ("Northwind Traders LLC", "Marketing Specialist", "2015-06", "2019-02", 45),
        ],
        "years": 10.1,  # 45 + 76 = 121 months
        "skills": ["Google Analytics", "A/B Testing"],
        "certificates": ["Google Ads Certification", "HubSpot Inbound Certified"],
    }


ZH_SIDEBAR_MAIN = [
    "钟天宇",
    "合规专员",
    "工作经历",
    "2020.07-至今 上海某某证券股份有限公司 合规专员",
    "负责反洗钱监测与合规审查。",
    "2018.07-2020.06 某某银行股份有限公司 柜员",
    "负责对公业务办理。",
    "教育背景",
    "2014.09-2018.06 华东政法大学 法学 本科",
    "主修课程:民法、刑法、证券法",
]
ZH_SIDEBAR_SIDE = [
    "联系方式",
    "电话:13812345678",
    "邮箱:zty@example.com",
    "专业技能",
    "Excel、Python",
    "Wind、Choice",
    "资格证书",
    "法律职业资格证书",
    "证券从业资格",
    "普通话二级甲等",
]

ZH_SIDEBAR_CERTIFICATES = ["法律职业资格证书", "证券从业资格", "普通话二级甲等"]


def test_two_column_cjk_pdf_is_read_column_by_column() -> None:
    """Both columns on the same baselines, the way a generator draws them: a long grid."""
    items = []
    for row, (main, side) in enumerate(zip(ZH_SIDEBAR_MAIN, ZH_SIDEBAR_SIDE, strict=True)):
        items.append((40, 780 - 20 * row, 16 if row == 0 else 10, main))
        items.append((420, 780 - 20 * row, 10, side))
    text = extract_text("cv.pdf", build_positioned_pdf(items))
    assert text.split("\n") == [*ZH_SIDEBAR_MAIN, *ZH_SIDEBAR_SIDE]
    profile = extract_profile(text, reference=REFERENCE)
    assert profile.name is not None and profile.name.value == "钟天宇"
    assert [c.value for c in profile.certificates] == ZH_SIDEBAR_CERTIFICATES


def test_small_grid_stays_rows() -> None:
    """``姓名：… 性别：…`` drawn as a grid reads well row by row: it is no two-column page
    (its cells far apart are fields of their row)."""
    grid = [("姓名:钟天宇", "性别:男"), ("电话:13812345678", "邮箱:zty@example.com"),
            ("学历:本科", "年龄:28"), ("城市:上海", "政治面貌:团员"), ("期望:合规", "到岗:一周"),
            ("民族:汉", "籍贯:浙江"), ("身高:175", "婚否:未婚"), ("英语:六级", "驾照:C1")]  # fmt: skip
    items = [
        (x, 780 - 20 * row, 10, text)
        for row, pair in enumerate(grid)
        for x, text in zip((40, 300), pair, strict=True)
    ]
    items.append((40, 600, 10, "工作经历"))
    text = extract_text("cv.pdf", build_positioned_pdf(items))
    assert text.split("\n")[:2] == [
        "姓名:钟天宇 | 性别:男",
        "电话:13812345678 | 邮箱:zty@example.com",
    ]
    assert name(text) == "钟天宇"


def test_rows_with_dates_on_the_right_stay_rows() -> None:
    """A one-column résumé with right-aligned dates is no two-column layout, however long."""
    items = []
    for job in range(10):
        top = 780 - 32 * job
        items.append((40, top, 10, f"Company {chr(65 + job)} Holdings Ltd"))
        items.append((480, top, 10, f"{2000 + 2 * job} - {2002 + 2 * job}"))
        items.append((40, top - 16, 10, "Senior Analyst"))
    text = extract_text("cv.pdf", build_positioned_pdf(items))
    assert text.split("\n")[:3] == [
        "Company A Holdings Ltd | 2000 - 2002",
        "Senior Analyst",
        "Company B Holdings Ltd | 2002 - 2004",
    ]


def test_bullets_and_margin_headings_are_no_columns() -> None:
    """Bullet glyphs drawn as runs of their own, and headings in a left margin beside their
    sections: one column of text."""
    items: list[tuple[float, float, float, str]] = []
    for row in range(12):
        items.append((40, 780 - 16 * row, 10, "•"))
        items.append((52, 780 - 16 * row, 10, f"Delivered project number {row + 1} on time."))
    bullets = extract_text("cv.pdf", build_positioned_pdf(items)).split("\n")
    assert bullets[:2] == [
        "• Delivered project number 1 on time.",
        "• Delivered project number 2 on time.",
    ]
    items = []
    headings = ["Summary", "Experience", "Education", "Skills", "Languages", "Certifications"]
    for section, heading in enumerate(headings):
        top = 780 - 64 * section
        items.append((40, top, 10, heading))
        for row in range(4):
            items.append((160, top - 16 * row, 10, f"{heading} line {row + 1}"))
    margin = extract_text("cv.pdf", build_positioned_pdf(items)).split("\n")
    assert margin[:3] == ["Summary | Summary line 1", "Summary line 2", "Summary line 3"]


def test_many_text_runs_are_read_in_bounded_time() -> None:
    items = []
    for row in range(2_400):
        items.append((40 + row % 7 * 3, 800 - row * 0.33, 10, f"w{row}"))
        items.append((300 + row % 11 * 2.9, 800 - row * 0.33, 10, f"v{row}"))
    started = time.perf_counter()
    extract_text("cv.pdf", build_positioned_pdf(items))
    assert time.perf_counter() - started < MAX_PATHOLOGICAL_S


def test_side_column_read_first_does_not_make_the_name_a_certificate() -> None:
    english = "\n".join([*EN_SIDEBAR_SIDE, *EN_SIDEBAR_MAIN])
    assert name(english) == "Mary R. Taylor"
    assert certificates(english) == ["Google Ads Certification", "HubSpot Inbound Certified"]
    chinese = "\n".join([*ZH_SIDEBAR_SIDE, *ZH_SIDEBAR_MAIN])
    assert name(chinese) == "钟天宇"
    assert certificates(chinese) == ZH_SIDEBAR_CERTIFICATES


def test_words_of_a_job_search_are_no_names() -> None:
    assert name("求职意向\n全职\n面议\n资格证书\n司法考试\n") is None


def test_name_next_to_the_contact_lines_after_the_main_column() -> None:
    text = "\n".join(
        [*EN_SIDEBAR_MAIN[2:], "Mary R. Taylor", *EN_SIDEBAR_SIDE[1:3], *EN_SIDEBAR_SIDE[3:]]
    )
    assert name(text) == "Mary R. Taylor"


def build_docx_name_table() -> bytes:
    """A DOCX whose first table row holds the name (and title) | the contact details."""
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.text = "Chloe U. Jackson"
    left.add_paragraph("Senior Product Designer")
    right.text = "chloe.jackson@example.com"
    right.add_paragraph("+1 312 555 0147")
    document.add_paragraph("Experience")
    document.add_paragraph("Senior Product Designer, Lumen Labs Inc., 2020 - Present")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_name_in_a_docx_table_cell() -> None:
    text = extract_text("cv.docx", build_docx_name_table())
    assert text.split("\n")[0] == (
        "Chloe U. Jackson | Senior Product Designer | chloe.jackson@example.com | +1 312 555 0147"
    )
    profile = extract_profile(text, reference=REFERENCE)
    assert profile.name is not None and profile.name.value == "Chloe U. Jackson"
    assert profile.phone is not None and profile.phone.value == "+13125550147"


def test_docx_cell_lines_are_fields_but_a_broken_date_range_stays_whole() -> None:
    document = docx.Document()
    dates, employer, role = document.add_table(rows=1, cols=3).rows[0].cells
    dates.text = "2019.07-"
    dates.add_paragraph("2021.06")
    employer.text = "上海某某证券股份有限公司"
    employer.add_paragraph("合规部")
    role.text = "合规专员"
    out = io.BytesIO()
    document.save(out)
    assert extract_text("cv.docx", out.getvalue()) == (
        "2019.07- 2021.06 | 上海某某证券股份有限公司 | 合规部 | 合规专员"
    )


def test_docx_layout_table_is_read_cell_by_cell() -> None:
    """A template laid out as one table row: the main column and a side column, each a cell
    of many paragraphs."""
    document = docx.Document()
    main, side = document.add_table(rows=1, cols=2).rows[0].cells
    main.text = "Chloe U. Jackson"
    for line in ("Experience", "Product Designer, Lumen Labs Inc.", "2020 - Present"):
        main.add_paragraph(line)
    side.text = "Skills"
    for line in ("Figma", "User Research", "Prototyping"):
        side.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    text = extract_text("cv.docx", out.getvalue())
    assert text.split("\n") == [
        "Chloe U. Jackson",
        "Experience",
        "Product Designer, Lumen Labs Inc.",
        "2020 - Present",
        "Skills",
        "Figma",
        "User Research",
        "Prototyping",
    ]


@pytest.mark.parametrize(
    "header",
    ["# Ana Chen", "**Ana Chen**", "## **Ana Chen**", "Ana R. Chen", "Ana R Chen", "ANA CHEN"],
)
def test_name_with_markdown_or_a_middle_initial(header: str) -> None:
    text = f"{header}\nana.chen@example.com | (206) 555-0123\n## Skills\n- Python\n- SQL\n"
    expected = header.strip("#* ")
    assert name(text) == expected
    assert skills(text) == ["Python", "SQL"]


def test_markdown_bold_heading() -> None:
    text = "# Ana Chen\n**Skills**\n- Figma\n- Sketch\n**Certifications**\n- PMP\n"
    assert skills(text) == ["Figma", "Sketch"]
    assert certificates(text) == ["PMP"]


def test_a_dash_inside_a_certificate_is_part_of_it() -> None:
    text = (
        "Certifications\n"
        "AWS Certified Machine Learning – Specialty\n"
        "Google Cloud Professional Data Engineer - 2022\n"
        "Microsoft Certified: Azure Data Scientist Associate | CET-4/6\n"
    )
    assert certificates(text) == [
        "AWS Certified Machine Learning – Specialty",
        "Google Cloud Professional Data Engineer",
        "Microsoft Certified: Azure Data Scientist Associate",
        "CET-4/6",
    ]
    summary_line = "Summary\nHolder of the AWS Certified Machine Learning – Specialty.\n"
    assert certificates(summary_line) == ["AWS Certified Machine Learning – Specialty"]


def test_slash_terms_and_named_tools_stay_whole() -> None:
    text = (
        "Skills\n"
        "A/B Testing, Adobe Photoshop, CI/CD, TCP/IP, UI/UX\n"
        "Excel/PowerPoint, Java/Go, HTML5/CSS3\n"
        "Experience\n"
        "Designer, Acme Inc., 2020 - 2022\n"
        "Retouched product photos in Photoshop.\n"
    )
    assert skills(text) == [
        "A/B Testing",
        "Adobe Photoshop",
        "CI/CD",
        "TCP/IP",
        "UI/UX",
        "Excel",
        "PowerPoint",
        "Java",
        "Go",
        "HTML5",
        "CSS3",
    ]


def test_skill_sentences_still_give_their_terms() -> None:
    assert skills("专业技能\n熟练使用Python进行数据分析;Excel和PPT\n") == [
        "Python",
        "数据分析",
        "Excel",
        "PPT",
    ]


EN_SKILLS_AND_DUTIES = """Grace Liu
Summary
Analyst fluent in English with a background in data analysis and project management.
Experience
Marketing Analyst, Acme Inc., 2020 - 2024
- Ran SEO audits and built Tableau dashboards; automated reports with Python.
Skills
SQL, Excel, Stakeholder Management
"""


def test_with_a_skills_section_only_technologies_are_taken_from_elsewhere() -> None:
    assert skills(EN_SKILLS_AND_DUTIES) == ["SQL", "Excel", "Stakeholder Management", "Tableau",
                                            "Python"]  # fmt: skip
    without_section = EN_SKILLS_AND_DUTIES.split("Skills\n")[0]
    assert skills(without_section) == [
        "English",
        "data analysis",
        "project management",
        "SEO",
        "Tableau",
        "Python",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Lumen Studio | Growth Hacker | Jan 2020 - Present", ("Lumen Studio", "Growth Hacker")),
        ("Growth Hacker | Lumen Studio Inc. | Jan 2020 - Present",
         ("Lumen Studio Inc.", "Growth Hacker")),
        ("Content Wrangler, Acme Inc., Jan 2020 - Present", ("Acme Inc.", "Content Wrangler")),
        ("Content Wrangler at Zephyr, Jan 2020 - Present", ("Zephyr", "Content Wrangler")),
        ("Jan 2020 - Present\nContent Wrangler at Zephyr", ("Zephyr", "Content Wrangler")),
        ("Product Designer — Lumen Labs\nJan 2020 – Present", ("Lumen Labs", "Product Designer")),
        ("Lumen Labs – Product Designer\nJan 2020 – Present", ("Lumen Labs", "Product Designer")),
        ("上海某某证券股份有限公司 | 法务 | 2020.07-至今", ("上海某某证券股份有限公司", "法务")),
        ("2020.07-至今 | 上海某某证券股份有限公司 | 风控", ("上海某某证券股份有限公司", "风控")),
        ("合规专员 | 上海某某证券股份有限公司 | 2020.07-至今",
         ("上海某某证券股份有限公司", "合规专员")),
        ("北京某某科技有限公司 — 品牌公关 — 2020.07-至今", ("北京某某科技有限公司", "品牌公关")),
        ("2020.07-至今 北京某某科技有限公司 UI设计", ("北京某某科技有限公司", "UI设计")),
        ("某某网络科技有限公司 | 市场部 | 2020.07-至今", ("某某网络科技有限公司", None)),
        ("Acme Corporation | Chicago, IL | 2019 - 2022", ("Acme Corporation", None)),
        ("Acme Corporation | Austin, TX | 2019 - 2022", ("Acme Corporation", None)),
        ("Acme Corporation | Full-time | 2019 - 2022", ("Acme Corporation", None)),
    ],
)  # fmt: skip
def test_employer_and_role_in_either_order(line: str, expected: tuple[str, str | None]) -> None:
    heading = "工作经历" if any("\u4e00" <= ch <= "\u9fff" for ch in line) else "Experience"
    assert jobs(f"{heading}\n{line}\n") == [expected]


# --------------------------------------------------------------------------- columns in a line

EN_COLUMNS = """Zhang Wei
zhang.wei@example.com  +86 138 0013 8000
Work Experience
2018.07 - 2023.06  Hangzhou Cloud Tech Co., Ltd.  Data Analyst
2015.07 - 2018.06  Blue Lake Trading Co.  Accountant
Education
2011.09 - 2015.06  Zhejiang University  Bachelor of Economics
"""

EN_COLUMNS_EXPECTED = {
    "name": "Zhang Wei",
    "email": "zhang.wei@example.com",
    "phone": "+8613800138000",
    "education": [
        ("bachelor", "Bachelor of Economics", "Zhejiang University", None, "2011-09", "2015-06")
    ],
    "experience": [
        ("Hangzhou Cloud Tech Co., Ltd.", "Data Analyst", "2018-07", "2023-06", 60),
        ("Blue Lake Trading Co.", "Accountant", "2015-07", "2018-06", 36),
    ],
    "years": 8.0,  # 36 + 60 = 96 months: consecutive, no gap, no overlap
    "skills": [],
    "certificates": [],
}

ZH_COLUMNS = """张  伟
电话:13800138000
工作经历
2019.07-至今    上海某某网络科技有限公司    运营经理
2016.07-2019.06\t北京某某信息技术有限公司\t产品助理
"""


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("2018.07 - 2023.06  Hangzhou Cloud Tech Co., Ltd.  Data Analyst",
         "2018.07 - 2023.06 | Hangzhou Cloud Tech Co., Ltd. | Data Analyst"),
        ("2019.07-至今\t上海某某网络科技有限公司 \t 运营经理",
         "2019.07-至今 | 上海某某网络科技有限公司 | 运营经理"),
        ("zhang.wei@example.com  +86 138 0013 8000", "zhang.wei@example.com | +86 138 0013 8000"),
        ("Blue Lake Trading Co.  Accountant", "Blue Lake Trading Co. | Accountant"),
        ("张  伟", "张 伟"),  # a name spaced out for display
        ("张\u3000\u3000伟", "张 伟"),
        ("王   小   明", "王 小 明"),
        ("欧阳  娜娜", "欧阳 娜娜"),
        ("Zhang  Wei", "Zhang Wei"),
        ("姓  名:  李娜    性别:女", "姓 名: 李娜 | 性别:女"),
        ("•  Python", "• Python"),
        ("1.\tLed the team", "1. Led the team"),
        ("2019.07  -  2021.06", "2019.07 - 2021.06"),
        ("Data Analyst  |  Acme", "Data Analyst | Acme"),
        ("+86 138  0013  8000", "+86 138 0013 8000"),
        ("Led the team of five.  Built the dashboards.",
         "Led the team of five. Built the dashboards."),
        ("负责数据分析。  完成周报", "负责数据分析。 完成周报"),
        ("   indented  ", "indented"),
    ],
)  # fmt: skip
def test_a_wide_gap_is_a_field_boundary(raw: str, normalised: str) -> None:
    assert normalize_text(raw) == normalised
    assert normalize_text(normalised) == normalised


def test_jobs_laid_out_in_columns() -> None:
    assert summary(extract_profile(EN_COLUMNS, reference=REFERENCE)) == EN_COLUMNS_EXPECTED
    tabs = EN_COLUMNS.replace("  ", "\t")
    assert summary(extract_profile(tabs, reference=REFERENCE)) == EN_COLUMNS_EXPECTED
    text = extract_text("cv.txt", EN_COLUMNS.encode())
    assert text.split("\n")[3] == "2018.07 - 2023.06 | Hangzhou Cloud Tech Co., Ltd. | Data Analyst"


def test_chinese_jobs_laid_out_in_columns() -> None:
    profile = extract_profile(ZH_COLUMNS, reference=REFERENCE)
    assert summary(profile) | {"education": None} == {
        "name": "张伟",
        "email": None,
        "phone": "13800138000",
        "education": None,
        "experience": [
            ("上海某某网络科技有限公司", "运营经理", "2019-07", "present", 72),  # to 2025-06
            ("北京某某信息技术有限公司", "产品助理", "2016-07", "2019-06", 36),
        ],
        "years": 9.0,  # 36 + 72 = 108 months
        "skills": [],
        "certificates": [],
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2018.07 - 2023.06  Data Analyst  Hangzhou Cloud Tech Co., Ltd.",
         ("Hangzhou Cloud Tech Co., Ltd.", "Data Analyst")),
        ("2018.07 - 2023.06\tSenior Accountant\tBlue Lake Trading Co.",
         ("Blue Lake Trading Co.", "Senior Accountant")),
        ("Blue Lake Trading Co.  Accountant  2015.07 - 2018.06",
         ("Blue Lake Trading Co.", "Accountant")),
        ("2015.07 - 2018.06  HANGZHOU CLOUD TECH CO., LTD.  Accountant",
         ("HANGZHOU CLOUD TECH CO., LTD.", "Accountant")),
        ("2015.07 - 2018.06  Beijing Zijie Network Technology Co., Ltd.  Data Analyst",
         ("Beijing Zijie Network Technology Co., Ltd.", "Data Analyst")),
        ("Data Analyst, Acme, Inc., 2020 - 2022", ("Acme, Inc.", "Data Analyst")),
        ("Acme Holdings, LLC, Co-founder, 2020 - 2022", ("Acme Holdings, LLC", "Co-founder")),
        # one space only: each side is still recognised by its own cue
        ("2015.07 - 2018.06 Blue Lake Trading Co. Accountant",
         ("Blue Lake Trading Co.", "Accountant")),
        ("2018.07 - 2023.06 Hangzhou Cloud Tech Co., Ltd. Data Analyst",
         ("Hangzhou Cloud Tech Co., Ltd.", "Data Analyst")),
        ("2018.07 - 2023.06 Data Analyst Hangzhou Cloud Tech Co., Ltd.",
         ("Hangzhou Cloud Tech Co., Ltd.", "Data Analyst")),
        ("2018.07 - 2023.06 Sales Department Manager", (None, "Sales Department Manager")),
    ],
)  # fmt: skip
def test_employer_and_role_by_their_own_cues(
    line: str, expected: tuple[str | None, str | None]
) -> None:
    assert jobs(f"Experience\n{line}\n") == [expected]


def test_pdf_fields_apart_on_one_row() -> None:
    """A one-column PDF whose rows hold fields far apart (dates | employer | role): pypdf
    writes one space between them, the runs' positions say they are fields."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for row, line in enumerate(EN_COLUMNS.splitlines()):
        for x, field in zip((42, 160, 400), line.split("  "), strict=False):
            pdf.text(x, 60 + 17 * row, field)
    text = extract_text("cv.pdf", bytes(pdf.output()))
    assert text.split("\n")[3:5] == [
        "2018.07 - 2023.06 | Hangzhou Cloud Tech Co., Ltd. | Data Analyst",
        "2015.07 - 2018.06 | Blue Lake Trading Co. | Accountant",
    ]
    profile = extract_profile(text, reference=REFERENCE)
    assert summary(profile) == EN_COLUMNS_EXPECTED


def test_cjk_pdf_fields_apart_on_one_row() -> None:
    items: list[tuple[float, float, float, str]] = [
        (40, 800, 16, "张伟"),
        (40, 780, 12, "工作经历"),
    ]
    for row, fields in enumerate(
        [("2019.07-至今", "上海某某网络科技有限公司", "运营经理"),
         ("2016.07-2019.06", "北京某某信息技术有限公司", "产品助理")]
    ):  # fmt: skip
        for x, field in zip((40, 200, 440), fields, strict=True):
            items.append((x, 760 - 20 * row, 10, field))
    text = extract_text("cv.pdf", build_positioned_pdf(items))
    assert text.split("\n") == [
        "张伟",
        "工作经历",
        "2019.07-至今 | 上海某某网络科技有限公司 | 运营经理",
        "2016.07-2019.06 | 北京某某信息技术有限公司 | 产品助理",
    ]


def test_docx_tabs_are_field_boundaries() -> None:
    document = docx.Document()
    document.add_paragraph("工作经历")
    document.add_paragraph("2019.07-至今\t上海某某网络科技有限公司\t运营经理")
    document.add_paragraph("姓名:\t李娜")
    out = io.BytesIO()
    document.save(out)
    assert extract_text("cv.docx", out.getvalue()).split("\n") == [
        "工作经历",
        "2019.07-至今 | 上海某某网络科技有限公司 | 运营经理",
        "姓名: 李娜",
    ]
