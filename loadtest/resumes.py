"""Résumés with known ground truth, generated at test time (PDF, DOCX, TXT; Chinese and English).

The résumé parser is written without looking at this module, so its precision and recall
against :attr:`ResumeCase.truth` are an honest measure. The résumés imitate what people send:
headings in different words and orders, contact blocks in tables or side columns, many date,
phone and degree spellings, self-summaries that mention years, project and award lines that
carry dates but are not jobs.

Ground truth conventions (the parser's author should know these, not the layouts):

- ``truth`` has the keys of :meth:`server.profile.Profile.to_dict` except ``sources``; the
  education and experience entries have no ``source`` either (which span to cite is the
  parser's choice). Entries are listed in the order the résumé shows them.
- Values are written as the résumé writes them: ``name``, ``school``, ``employer``,
  ``role``, ``major``, ``degree_text``, skills and certificates verbatim; ``phone`` as printed
  (compare with :func:`phone_key`). The file may space a name out ("张 伟") or wrap a line:
  compare modulo whitespace.
- Dates are ``"YYYY-MM"``, ``"YYYY"`` where the résumé gives only a year (education in some
  layouts), or ``"present"`` (至今, Present, Current, ...).
- A job's ``months`` counts both end months (LinkedIn's way: Jul 2019 – Dec 2021 is 30 months);
  ``"present"`` means the ``reference_date`` month. ``experience_years`` is the number of
  distinct months covered by any job (overlaps once) / 12, rounded half up to one decimal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import random
import string
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import docx
import docx.enum.text
import docx.oxml.ns
import docx.shared
from fontTools import subset as ft_subset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter

REFERENCE_DATE = (2026, 11)
"""The month that "present" stands for unless a caller passes another."""

CJK_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
"""Debian ``fonts-wqy-microhei`` (Makefile ``system-deps``); a TrueType collection, face 0."""
LATIN_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
"""Debian ``fonts-dejavu-core``, in the base image."""
FONT_CACHE_DIR = Path(__file__).resolve().parents[1] / ".test-artifacts" / "fonts"
"""Subsets of the fonts above (only the characters this module can print), made once."""
FONT_CACHE_VERSION = 1
CACHE_FILE_MODE = 0o644

PDF_LINE_MM = 5.6
PDF_BODY_PT = 10.0
PDF_SIDEBAR_PT = 9.0
PDF_SIDEBAR_MM = 58.0
PDF_MARGIN_MM = 17.0
DOCX_TAB_STOP_CM = 16.5
UNIQUE_TRIES = 500
CURRENT_JOB_SHARE = 0.6
"""How many working people are still in their latest job (else they left 1–5 months ago)."""
FIXED_TIMESTAMP = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
"""Creation time written into every file, so the same seed gives the same bytes."""

# ---------------------------------------------------------------------------------------------
# Word pools. Every character a résumé can contain comes from a literal in this file (the
# font subsets rely on it).
# ---------------------------------------------------------------------------------------------

ZH_SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"), ("曾", "zeng"),
    ("田", "tian"), ("董", "dong"), ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("叶", "ye"),
    ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"), ("姚", "yao"),
    ("崔", "cui"), ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("范", "fan"), ("金", "jin"),
    ("欧阳", "ouyang"), ("司马", "sima"), ("上官", "shangguan"),
]  # fmt: skip
ZH_GIVEN_MALE = [
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("鹏", "peng"), ("辉", "hui"),
    ("建国", "jianguo"), ("浩然", "haoran"), ("宇轩", "yuxuan"), ("子豪", "zihao"), ("俊杰", "junjie"),
    ("志强", "zhiqiang"), ("海洋", "haiyang"), ("天宇", "tianyu"), ("博文", "bowen"), ("凯", "kai"),
    ("亮", "liang"), ("泽宇", "zeyu"), ("晨阳", "chenyang"),
]  # fmt: skip
ZH_GIVEN_FEMALE = [
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("琳", "lin"), ("雪", "xue"), ("慧", "hui"),
    ("秀英", "xiuying"), ("欣怡", "xinyi"), ("诗涵", "shihan"), ("梓涵", "zihan"), ("雨婷", "yuting"),
    ("思琪", "siqi"), ("佳怡", "jiayi"), ("晓燕", "xiaoyan"), ("颖", "ying"), ("玉兰", "yulan"),
    ("嘉欣", "jiaxin"), ("一诺", "yinuo"), ("晓雯", "xiaowen"),
]  # fmt: skip
ZH_CITIES = ["北京", "上海", "深圳", "杭州", "广州", "成都", "南京", "武汉", "苏州", "西安"]
ZH_BRANDS = [
    "星辰", "云帆", "蓝海", "启明", "华远", "恒信", "致远", "博雅", "锦程", "鼎盛",
    "瑞丰", "创思", "万象", "青禾", "远景", "数澜", "知行", "北辰", "嘉禾", "长风",
]  # fmt: skip

EN_FIRST = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Susan", "Sarah", "Daniel", "Emily", "Priya", "Carlos", "Aisha",
    "Wei", "Mei", "Olivia", "Ethan", "Sofia", "Omar", "Hannah", "Lucas", "Grace", "Noah",
    "Fatima", "Liam", "Rachel", "Kevin", "Ana", "Marcus", "Chloe", "Raj",
]  # fmt: skip
EN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Nguyen", "Patel", "Kim", "Chen", "O'Brien", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Young", "Okafor", "Kowalski", "Fischer", "Silva", "Murphy", "Singh",
]  # fmt: skip
EN_CITIES = [
    "San Francisco, CA", "Seattle, WA", "Austin, TX", "Boston, MA", "Chicago, IL",
    "New York, NY", "Denver, CO", "Atlanta, GA", "London, UK", "Toronto, ON",
]  # fmt: skip
US_AREA_CODES = ["415", "206", "512", "617", "312", "212", "303", "404", "650", "425"]
EN_EMPLOYERS = [
    "Contoso Ltd.", "Fabrikam Inc.", "Northwind Traders", "Tailspin Toys", "Adventure Works",
    "Litware Inc.", "Proseware Inc.", "Woodgrove Bank", "Alpine Ski House", "Fourth Coffee",
    "Blue Yonder Airlines", "Lucerne Publishing", "Trey Research", "Wide World Importers",
    "City Power & Light", "Humongous Insurance", "Relecloud", "VanArsdel Ltd.",
    "A. Datum Corporation", "Consolidated Messenger", "Margie's Travel", "Coho Winery",
]  # fmt: skip

DEGREES: dict[str, dict[str, str]] = {
    # degree_text → Degree key
    "zh": {
        "本科": "bachelor", "学士": "bachelor", "硕士": "master", "研究生": "master",
        "博士": "doctor", "大专": "associate", "专科": "associate",
    },
    "en": {
        "B.Sc.": "bachelor", "Bachelor of Arts": "bachelor", "BEng": "bachelor", "B.A.": "bachelor",
        "Bachelor of Science": "bachelor", "MSc": "master", "M.S.": "master",
        "Master of Public Administration": "master", "MBA": "master", "PhD": "doctor",
        "Ph.D.": "doctor", "Associate degree": "associate", "Associate of Applied Science": "associate",
    },
}  # fmt: skip
NO_MAJOR = {"MBA", "Master of Public Administration"}
"""Degrees that name their field themselves: the truth has ``major: None``."""
STUDENT_CERTS = {
    "CET-4", "CET-6", "计算机二级", "初级会计职称", "普通话二级甲等", "CFA一级", "CFA Level I",
    "Google Analytics Certification", "AWS Certified Solutions Architect", "TensorFlow Developer Certificate",
}  # fmt: skip
"""What a fresh graduate can hold (no licence that needs years of practice)."""
STUDY_YEARS = {"associate": 3, "bachelor": 4, "master": 2, "doctor": 5}


@dataclass(frozen=True, slots=True)
class _Field:
    """One profession: what its people study, where and as what they work, what they list."""

    roles: Sequence[str]
    side_roles: Sequence[str]
    majors: Sequence[str]
    skills: Sequence[str]
    certs: Sequence[str]
    duties: Sequence[str]
    industry: str = ""
    """Chinese: the company-name suffix; English: the words for the summary."""


ZH_FIELDS: dict[str, _Field] = {
    "tech": _Field(
        roles=[
            "后端开发工程师",
            "高级Java开发工程师",
            "前端开发工程师",
            "数据分析师",
            "算法工程师",
            "测试开发工程师",
            "技术经理",
        ],
        side_roles=["技术顾问（兼职）", "兼职讲师"],
        majors=["计算机科学与技术", "软件工程", "信息管理与信息系统", "电子信息工程", "统计学"],
        skills=[
            "Python",
            "Java",
            "Go",
            "SQL",
            "MySQL",
            "Redis",
            "Docker",
            "Kubernetes",
            "Linux",
            "Git",
            "Spring Boot",
            "Vue.js",
            "Kafka",
            "Spark",
            "TensorFlow",
        ],
        certs=["软考中级（软件设计师）", "PMP", "CET-6", "计算机二级", "AWS认证解决方案架构师"],
        duties=[
            "负责订单系统后端服务的设计与开发，支撑日均百万级请求",
            "主导服务拆分与容器化改造，发布耗时缩短60%",
            "编写单元测试与接口文档，线上缺陷率下降30%",
            "参与数据平台搭建，完成ETL任务20余个",
            "带领3人小组完成支付模块重构",
            "优化慢查询与缓存策略，接口平均响应时间从800ms降至120ms",
        ],
        industry="科技有限公司",
    ),
    "finance": _Field(
        roles=["会计", "审计助理", "财务分析师", "财务经理", "税务专员", "高级审计员"],
        side_roles=["财务顾问（兼职）"],
        majors=["会计学", "财务管理", "审计学", "金融学", "税收学"],
        skills=["Excel", "用友U8", "金蝶K3", "SAP", "Power BI", "财务建模", "税务筹划", "VBA"],
        certs=[
            "注册会计师（CPA）",
            "注册会计师(CPA)",
            "中级会计职称",
            "初级会计职称",
            "CET-6",
            "CFA一级",
        ],
        duties=[
            "负责总账核算、月结及年度财务报表编制",
            "参与上市公司年报审计，负责收入与应收账款科目",
            "搭建预算管理模型，协助完成年度预算编制",
            "完成增值税及企业所得税申报，年节税约50万元",
            "推动费用报销线上化，月结周期由10天缩短至6天",
            "负责应收应付管理及往来对账，清理历史挂账200余笔",
            "配合外部审计及税务稽查，准备审计资料",
        ],
        industry="会计师事务所（特殊普通合伙）",
    ),
    "ops": _Field(
        roles=["新媒体运营", "用户运营专员", "运营经理", "市场专员", "品牌经理", "电商运营主管"],
        side_roles=["自媒体运营（兼职）"],
        majors=["市场营销", "电子商务", "新闻学", "广告学", "汉语言文学"],
        skills=[
            "内容策划",
            "活动运营",
            "数据分析",
            "Excel",
            "SQL",
            "Photoshop",
            "短视频运营",
            "用户增长",
        ],
        certs=["CET-6", "CET-4", "计算机二级", "普通话二级甲等"],
        duties=[
            "负责公众号及小红书内容运营，粉丝从2万增长至15万",
            "策划双十一大促活动，活动GMV同比提升45%",
            "搭建用户分层运营体系，次月留存率提升8个百分点",
            "负责社群运营，管理用户群40余个",
            "统筹品牌联名活动3场，曝光量超500万",
            "撰写推文200余篇，单篇最高阅读量10万+",
        ],
        industry="网络科技有限公司",
    ),
    "law": _Field(
        roles=["法务专员", "律师助理", "执业律师", "法务经理", "合规专员"],
        side_roles=["法律顾问（兼职）"],
        majors=["法学", "知识产权", "国际法"],
        skills=["合同审查", "诉讼", "尽职调查", "知识产权", "劳动法", "Word", "Excel"],
        certs=["法律职业资格证", "CET-6", "律师执业证"],
        duties=[
            "负责公司各类合同的起草与审查，年均审查合同300余份",
            "处理劳动争议及商事诉讼案件20余件",
            "参与并购项目法律尽职调查",
            "为业务部门提供日常法律咨询及合规培训",
            "起草公司规章制度及劳动合同范本",
            "管理公司商标及专利申请事务，新增注册商标15件",
        ],
        industry="律师事务所",
    ),
    "hr": _Field(
        roles=["招聘专员", "HRBP", "人力资源经理", "薪酬绩效专员", "培训主管"],
        side_roles=["职业规划讲师（兼职）"],
        majors=["人力资源管理", "工商管理", "心理学", "行政管理"],
        skills=["招聘", "薪酬绩效", "员工关系", "北森", "Excel", "PPT", "劳动法"],
        certs=["人力资源管理师二级", "CET-4", "计算机二级", "PMP"],
        duties=[
            "负责技术岗位招聘，年度入职80余人",
            "搭建绩效考核体系并推动落地",
            "处理员工关系及劳动合同管理",
            "组织校园招聘，覆盖高校12所",
            "负责员工入离职手续及社保公积金办理",
            "设计新员工培训体系，试用期离职率下降20%",
        ],
        industry="人力资源服务有限公司",
    ),
}
ZH_SCHOOLS = {
    "bachelor": ["浙江大学", "武汉大学", "中山大学", "四川大学", "华中科技大学", "南京大学", "北京邮电大学", "对外经济贸易大学", "中央财经大学", "中国政法大学", "华东师范大学", "西安交通大学", "电子科技大学", "郑州大学", "苏州大学"],
    "master": ["北京大学", "清华大学", "复旦大学", "上海交通大学", "中国人民大学", "上海财经大学", "西南政法大学", "南开大学"],
    "doctor": ["北京大学", "清华大学", "中国科学院大学", "浙江大学", "复旦大学"],
    "associate": ["深圳职业技术学院", "浙江金融职业学院", "广东轻工职业技术学院", "南京工业职业技术学院"],
}  # fmt: skip

EN_FIELDS: dict[str, _Field] = {
    "tech": _Field(
        roles=[
            "Software Engineer",
            "Senior Software Engineer",
            "Backend Developer",
            "Data Engineer",
            "Engineering Manager",
            "Site Reliability Engineer",
        ],
        side_roles=["Freelance Developer", "Technical Advisor (part-time)"],
        majors=[
            "Computer Science",
            "Software Engineering",
            "Electrical Engineering",
            "Information Systems",
        ],
        skills=[
            "Python",
            "Java",
            "TypeScript",
            "Go",
            "SQL",
            "PostgreSQL",
            "React",
            "AWS",
            "Docker",
            "Kubernetes",
            "Terraform",
            "Git",
            "CI/CD",
        ],
        certs=[
            "AWS Certified Solutions Architect",
            "PMP",
            "Certified Kubernetes Administrator (CKA)",
            "Certified ScrumMaster (CSM)",
        ],
        duties=[
            "Built and operated payment APIs serving 40M requests per day",
            "Led a team of 5 engineers migrating 30 services to Kubernetes",
            "Cut p95 latency from 900 ms to 150 ms by redesigning the caching layer",
            "Mentored 4 junior developers and ran the on-call rotation",
            "Introduced contract tests, reducing production incidents by 35%",
        ],
        industry="software engineering",
    ),
    "finance": _Field(
        roles=[
            "Staff Accountant",
            "Financial Analyst",
            "Senior Auditor",
            "Controller",
            "FP&A Manager",
        ],
        side_roles=["Bookkeeping Consultant (part-time)"],
        majors=["Accounting", "Finance", "Economics"],
        skills=[
            "Excel",
            "Financial Modeling",
            "SAP",
            "QuickBooks",
            "Power BI",
            "NetSuite",
            "SQL",
            "GAAP",
        ],
        certs=["CPA", "CFA Level II", "CFA Level I", "Certified Internal Auditor (CIA)"],
        duties=[
            "Closed the books monthly for 3 subsidiaries ($120M revenue)",
            "Built a 5-year forecasting model used in the annual budget cycle",
            "Automated 14 reconciliations in Excel and Power Query",
            "Prepared board reporting packs and variance commentary every month",
            "Reduced month-end close from 10 to 6 business days",
            "Coordinated the external audit with a team of 4",
        ],
        industry="accounting and finance",
    ),
    "marketing": _Field(
        roles=[
            "Marketing Coordinator",
            "Content Strategist",
            "Digital Marketing Manager",
            "Brand Manager",
            "Growth Marketer",
        ],
        side_roles=["Freelance Copywriter"],
        majors=["Marketing", "Communications", "Journalism", "Business Administration"],
        skills=[
            "SEO",
            "Google Analytics",
            "HubSpot",
            "Salesforce",
            "Copywriting",
            "Adobe Photoshop",
            "A/B Testing",
            "Excel",
        ],
        certs=["Google Analytics Certification", "HubSpot Content Marketing Certification", "PMP"],
        duties=[
            "Grew organic traffic 3x in 18 months through an SEO content program",
            "Managed a $2M annual paid-media budget across 4 channels",
            "Launched 12 email campaigns with a 28% average open rate",
            "Ran A/B tests on landing pages, lifting conversion by 15%",
            "Produced a weekly newsletter read by 45,000 subscribers",
            "Coordinated 3 product launches with sales and design teams",
        ],
        industry="digital marketing",
    ),
    "public": _Field(
        roles=["Policy Analyst", "Program Manager", "Budget Analyst", "Grants Coordinator"],
        side_roles=["Adjunct Lecturer"],
        majors=["Political Science", "Public Policy", "Economics", "Sociology"],
        skills=[
            "Policy Analysis",
            "Stata",
            "R",
            "Excel",
            "Grant Writing",
            "Stakeholder Engagement",
            "GIS",
        ],
        certs=["PMP", "Certified Public Manager (CPM)"],
        duties=[
            "Analyzed housing programs covering 12,000 households",
            "Wrote 3 successful federal grant applications totalling $4.5M",
            "Briefed the city council on budget scenarios every quarter",
            "Coordinated 6 community agencies on a youth employment program",
            "Built a dashboard tracking 40 performance indicators for the mayor's office",
            "Drafted policy memos on transit funding and zoning reform",
        ],
        industry="public policy",
    ),
    "research": _Field(
        roles=[
            "Research Scientist",
            "Postdoctoral Researcher",
            "Data Scientist",
            "Machine Learning Engineer",
        ],
        side_roles=["Teaching Fellow", "Research Consultant (part-time)"],
        majors=["Physics", "Statistics", "Computational Biology", "Applied Mathematics"],
        skills=["Python", "PyTorch", "R", "MATLAB", "SQL", "Spark", "Bayesian Statistics", "LaTeX"],
        certs=["AWS Certified Machine Learning – Specialty", "TensorFlow Developer Certificate"],
        duties=[
            "Published 6 peer-reviewed papers (2 first-author) on sequence models",
            "Designed experiments on a 200-GPU cluster, cutting training cost by 40%",
            "Supervised 3 master's students",
            "Shipped a churn model that saved an estimated $1.2M per year",
            "Maintained an open-source library with 2,000 GitHub stars",
            "Presented results at 4 international conferences",
        ],
        industry="applied research",
    ),
    "hr": _Field(
        roles=["HR Generalist", "Recruiter", "HR Business Partner", "Talent Acquisition Manager"],
        side_roles=["Career Coach (part-time)"],
        majors=["Human Resources Management", "Psychology", "Business Administration"],
        skills=[
            "Workday",
            "Recruiting",
            "Onboarding",
            "Employee Relations",
            "Excel",
            "Compensation Analysis",
        ],
        certs=["SHRM-CP", "PHR", "PMP"],
        duties=[
            "Hired 60+ engineers and designers in one year",
            "Rolled out a new performance review process for 400 employees",
            "Handled employee relations cases and policy updates",
            "Cut time-to-hire from 45 to 28 days",
            "Designed onboarding for new hires in 3 countries",
            "Ran the annual engagement survey and action planning",
        ],
        industry="people operations",
    ),
}
EN_SCHOOLS = {
    "bachelor": ["University of Michigan", "University of Texas at Austin", "Ohio State University", "University of Washington", "Boston University", "Georgia Institute of Technology", "University of Manchester", "King's College London", "University of Toronto", "Purdue University", "Rutgers University"],
    "master": ["Columbia University", "Carnegie Mellon University", "University of Edinburgh", "New York University", "Duke University", "University of Chicago"],
    "doctor": ["Stanford University", "Massachusetts Institute of Technology", "University of Cambridge", "Cornell University"],
    "associate": ["Santa Monica College", "De Anza College", "Austin Community College", "Miami Dade College"],
}  # fmt: skip
EN_MBA_SCHOOLS = [
    "Kellogg School of Management",
    "Ross School of Business",
    "Booth School of Business",
]
EN_MPA_SCHOOLS = ["Harvard Kennedy School", "Maxwell School of Syracuse University"]

MONTHS_SHORT = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_LONG = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip

# Date range styles: (month style, separator, word for "present").
DATE_STYLES: dict[str, tuple[str, str, str]] = {
    "dot_tight": ("dot", "–", "至今"),  # 2019.07–至今
    "dot": ("dot", " - ", "至今"),  # 2019.07 - 2021.12
    "cn": ("cn", "-", "至今"),  # 2019年7月-2021年12月
    "cn0": ("cn0", " — ", "至今"),  # 2019年07月 — 至今
    "slash": ("slash", " - ", "至今"),  # 2019/07 - 2022/03
    "dash_tilde": ("dash", " ~ ", "现在"),  # 2019-07 ~ 现在
    "year_zh": ("year", "-", "至今"),  # 2015-2019
    "mon": ("mon", " – ", "Present"),  # Jul 2019 – Present
    "month": ("month", " - ", "Present"),  # September 2019 - March 2022
    "num": ("num", " - ", "Current"),  # 07/2019 - 03/2022
    "num_slash_en": ("slash", " – ", "Present"),  # 2019/07 – 2022/03
    "year": ("year", " - ", "Present"),  # 2016 - 2019
}


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResumeCase:
    """One generated résumé file and what a perfect parser would extract from it."""

    filename: str
    data: bytes
    language: str
    """"zh" or "en"."""
    truth: dict[str, Any]
    """``Profile.to_dict()`` shape without ``sources`` (see the module docstring)."""
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
    factory = _Factory(reference_date)
    return [
        factory.case(LAYOUTS[spec.layout], 100 + i, *spec[1:])
        for i, spec in enumerate(_CORPUS_SPECS)
    ]


def bulk(n: int = 200, reference_date: tuple[int, int] = REFERENCE_DATE) -> list[ResumeCase]:
    """``n`` varied résumés: every layout in turn, random careers, fields and degrees."""
    factory = _Factory(reference_date)
    names = sorted(LAYOUTS)
    cases = []
    for i in range(n):
        layout = LAYOUTS[names[i % len(names)]]
        cases.append(factory.case(layout, seed=10_000 + i))
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


def broken_files() -> list[tuple[str, bytes, str]]:
    """Uploads a résumé intake must refuse or report, as (filename, data, reason)."""
    rng = random.Random(7)
    good_pdf = _sample_pdf()
    writer = PdfWriter(clone_from=io.BytesIO(good_pdf))
    writer.encrypt(user_password="hr-2026", owner_password="owner-2026", algorithm="AES-256")
    encrypted = io.BytesIO()
    writer.write(encrypted)

    good_docx = _docx_bytes([("para", "Jordan Reyes"), ("para", "jordan.reyes@example.com")], "en")
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
        pdf = _new_pdf("en")
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


def phone_key(phone: str) -> str:
    """The national number in digits: "+86 138-0013-8000" and "138 0013 8000" give the same."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    compact = phone.replace(" ", "")
    for prefix, country in (("+86", "86"), ("(+86)", "86"), ("+1", "1"), ("+44", "44")):
        if compact.startswith(prefix) and digits.startswith(country):
            return digits[len(country) :]
    return digits[1:] if digits.startswith("0") else digits  # UK trunk prefix


def round_years(months: int) -> float:
    """Months → years, one decimal, half up (3 months → 0.3)."""
    return float((Decimal(months) / Decimal(12)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# A person and their career
# ---------------------------------------------------------------------------------------------

YM = tuple[int, int]
T = TypeVar("T")


@dataclass(slots=True)
class _Edu:
    level: str
    degree_text: str
    major: str | None
    school: str
    start: YM
    end: YM


@dataclass(slots=True)
class _Job:
    employer: str
    role: str
    start: YM
    end: YM | None
    """None = present."""
    duties: list[str]
    side: bool = False
    """A part-time engagement held next to a main job."""


@dataclass(slots=True)
class _Person:
    lang: str
    name: str
    email: str
    phone: str
    city: str
    gender: str
    birth: YM
    field: str
    education: list[_Edu]
    """Most recent first."""
    jobs: list[_Job]
    """Most recent first."""
    skills: list[str]
    certs: list[str]
    objective: str
    linkedin: str = ""


def _ym_add(ym: YM, months: int) -> YM:
    idx = ym[0] * 12 + ym[1] - 1 + months
    return idx // 12, idx % 12 + 1


def _ym_idx(ym: YM) -> int:
    return ym[0] * 12 + ym[1] - 1


@dataclass(slots=True)
class _Factory:
    """Makes cases for one call of :func:`corpus` or :func:`bulk` (names stay unique within it)."""

    reference: YM
    used: set[str] = field(default_factory=set)

    def _unique(self, make: Callable[[], str]) -> str:
        return self._unique_pair(lambda: (make(), None))[0]

    def _unique_pair(self, make: Callable[[], tuple[str, T]]) -> tuple[str, T]:
        """``make()`` until its first item (a name, an e-mail, a phone) is new in this call."""
        for _ in range(UNIQUE_TRIES):
            value, extra = make()
            if value not in self.used:
                self.used.add(value)
                return value, extra
        raise RuntimeError(f"no unique value in {UNIQUE_TRIES} tries")

    def case(
        self,
        layout: _Layout,
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
        person = self._person(layout.lang, rng, career, field, degrees, current, certs)
        blocks, side = _build(layout, person, rng, self.reference)
        truth = _truth(person, layout, self.reference)
        filename = self._unique(lambda: _filename(person, layout, rng))
        encoding = None
        if layout.fmt == "pdf":
            data = _pdf_bytes(blocks, side, layout)
        elif layout.fmt == "docx":
            data = _docx_bytes(blocks, layout.lang, layout.docx_headings)
        else:
            encoding = layout.encoding
            text = _txt(blocks, layout)
            data = text.replace("\n", layout.newline).encode(encoding)
        return ResumeCase(filename, data, layout.lang, truth, layout.name, encoding, seed)

    def _person(
        self,
        lang: str,
        rng: random.Random,
        career: str | None,
        field: str | None,
        degrees: Sequence[str] | None,
        current: bool | None = None,
        certs: Sequence[str] | None = None,
    ) -> _Person:
        fields = ZH_FIELDS if lang == "zh" else EN_FIELDS
        field = field or rng.choice(sorted(fields))
        fld = fields[field]
        career = career or rng.choice(["fresh", "single", "few", "few", "many", "many"])
        if degrees is None:
            degrees = _random_degrees(lang, field, rng)

        gender = rng.choice(["男", "女"]) if lang == "zh" else ""
        if lang == "zh":
            pool = ZH_GIVEN_MALE if gender == "男" else ZH_GIVEN_FEMALE
            name, (sur_py, given_py) = self._unique_pair(lambda: _zh_name(pool, rng))
            email = self._unique(lambda: _zh_email(sur_py, given_py, rng))
            phone = self._unique(lambda: _zh_phone(rng))
            city = rng.choice(ZH_CITIES)
            linkedin = ""
        else:
            name, (first, last) = self._unique_pair(lambda: _en_name(rng))
            email = self._unique(lambda: _en_email(first, last, rng))
            city = rng.choice(EN_CITIES)
            phone = self._unique(lambda: _en_phone(rng, uk=city.endswith("UK")))
            slug = f"{first}-{last}".lower().replace("'", "")
            linkedin = f"linkedin.com/in/{slug}-{rng.randint(10, 99)}"

        jobs = _career(career, fld, lang, self.reference, rng, current)
        first_start = jobs[-1].start if jobs else None
        education = _education(degrees, lang, fld, first_start, self.reference, rng)
        birth = (education[-1].start[0] - 18 - rng.randint(0, 1), rng.randint(1, 12))
        skills = rng.sample(list(fld.skills), rng.randint(4, min(8, len(fld.skills))))
        cert_pool = [c for c in fld.certs if career != "fresh" or c in STUDENT_CERTS]
        n_certs = rng.randint(0 if career == "fresh" else 1, min(3, len(cert_pool)))
        drawn = _distinct_certs(rng.sample(cert_pool, len(cert_pool)))[:n_certs]
        certs = list(certs) if certs is not None else drawn
        objective = next((j.role for j in jobs if not j.side), rng.choice(fld.roles))
        return _Person(lang, name, email, phone, city, gender, birth, field, education, jobs, skills, certs, objective, linkedin)  # fmt: skip


def _distinct_certs(certs: Sequence[str]) -> list[str]:
    """No one lists CPA twice, or both CET-4 and CET-6: keep the first of each family."""
    families = ["CPA", "CET", "CFA", "会计职称"]
    out: list[str] = []
    for cert in certs:
        if not any(f in cert and any(f in kept for kept in out) for f in families):
            out.append(cert)
    return out


def _zh_name(pool: Sequence[tuple[str, str]], rng: random.Random) -> tuple[str, tuple[str, str]]:
    """A 2–3 character name and its pinyin (surname, given name)."""
    sur, sur_py = rng.choice(ZH_SURNAMES)
    given, given_py = rng.choice(pool)
    if len(sur) == 2 and len(given) == 2:
        given, given_py = pool[0]
    return sur + given, (sur_py, given_py)


def _en_name(rng: random.Random) -> tuple[str, tuple[str, str]]:
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    middle = f" {rng.choice(string.ascii_uppercase)}." if rng.random() < 0.2 else ""
    return f"{first}{middle} {last}", (first, last)


def _random_degrees(lang: str, field: str, rng: random.Random) -> list[str]:
    if lang == "zh":
        top = rng.choice(["bachelor", "bachelor", "master", "master", "doctor", "associate"])
        words = {"associate": ["大专", "专科"], "bachelor": ["本科", "本科", "学士"], "master": ["硕士", "硕士", "研究生"], "doctor": ["博士"]}  # fmt: skip
    else:
        top = rng.choice(["bachelor", "bachelor", "master", "master", "doctor", "associate"])
        if field == "research":
            top = rng.choice(["master", "doctor"])
        words = {
            "associate": ["Associate degree", "Associate of Applied Science"],
            "bachelor": ["B.Sc.", "Bachelor of Arts", "BEng", "B.A.", "Bachelor of Science"],
            "master": ["MSc", "M.S."] + (["MBA"] if field in {"finance", "marketing", "hr"} else []) + (["Master of Public Administration"] if field == "public" else []),
            "doctor": ["PhD", "Ph.D."],
        }  # fmt: skip
    chain = {"associate": ["associate"], "bachelor": ["bachelor"], "master": ["master", "bachelor"], "doctor": ["doctor", "master", "bachelor"]}[top]  # fmt: skip
    if top == "doctor" and rng.random() < 0.4:
        chain = ["doctor", "bachelor"]
    return [rng.choice(words[level]) for level in chain]


def _career(
    career: str, fld: _Field, lang: str, ref: YM, rng: random.Random, current: bool | None = None
) -> list[_Job]:
    """Jobs most recent first; "many" adds a part-time job overlapping the others."""
    count = {"fresh": 0, "single": 1, "few": 2, "many": rng.choice([2, 3])}[career]
    jobs: list[_Job] = []
    if current is None:
        current = rng.random() < CURRENT_JOB_SHARE
    end: YM | None = None if current else _ym_add(ref, -rng.randint(1, 5))
    employers: set[str] = set()
    roles = rng.sample(list(fld.roles), len(fld.roles))
    duties = rng.sample(list(fld.duties), len(fld.duties))  # dealt out in turn, like cards

    def deal(n: int) -> list[str]:
        return [duties[(len(jobs) * 2 + k) % len(duties)] for k in range(n)]

    for i in range(count):
        start = _ym_add(end or ref, -(rng.randint(10, 46) - 1))
        employer = _employer(fld, lang, rng, employers)
        jobs.append(_Job(employer, roles[i % len(roles)], start, end, deal(2)))
        # gap 0: the older job ended in the month this one started (that month counts once)
        end = _ym_add(start, -rng.choice([0, 1, 1, 1, 2, 3, 5]))
    if career == "many":
        first, last = _ym_idx(jobs[-1].start), _ym_idx(jobs[0].end or ref)
        length = rng.randint(6, 16)
        start_idx = rng.randint(first + 2, last - length - 1)
        start = (start_idx // 12, start_idx % 12 + 1)
        employer = _employer(fld, lang, rng, employers)
        role = rng.choice(fld.side_roles)
        jobs.append(_Job(employer, role, start, _ym_add(start, length - 1), deal(1), side=True))
        jobs.sort(key=lambda j: _ym_idx(j.start), reverse=True)
    return jobs


def _employer(fld: _Field, lang: str, rng: random.Random, used: set[str]) -> str:
    for _ in range(100):
        if lang == "zh":
            city, brand = rng.choice(ZH_CITIES), rng.choice(ZH_BRANDS)
            suffix = fld.industry
            if rng.random() < 0.3 and "事务所" not in suffix:
                suffix = rng.choice(
                    ["信息技术有限公司", "数据服务有限公司", "电子商务有限公司", "文化传媒有限公司"]
                )
            name = f"{city}{brand}{suffix}"
            if suffix == "律师事务所":
                name = f"{rng.choice(['北京', '上海', '广东', '浙江'])}{brand}律师事务所"
        else:
            name = rng.choice(EN_EMPLOYERS)
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("employer pool exhausted")


def _education(
    degrees: Sequence[str],
    lang: str,
    fld: _Field,
    first_job: YM | None,
    ref: YM,
    rng: random.Random,
) -> list[_Edu]:
    """Most recent first; the last degree ends before the first job (or before ``ref``)."""
    if first_job is not None:
        grad_year = first_job[0] if first_job[1] >= 7 else first_job[0] - 1
    else:
        grad_year = ref[0] if ref[1] >= 7 else ref[0] - 1
    end: YM = (grad_year, rng.choice([6, 6, 7]))
    out: list[_Edu] = []
    major = rng.choice(fld.majors)
    for text in degrees:
        level = DEGREES[lang][text]
        years = STUDY_YEARS[level]
        if lang == "zh" and level == "master":
            years = rng.choice([2, 3])
        if lang == "en" and level == "master" and text == "MSc":
            years = rng.choice([1, 2])
        start: YM = (end[0] - years, 9)
        if level == "doctor" and lang == "en":
            start = (end[0] - 5, 9)
        school = _school(lang, level, text, rng, {e.school for e in out})
        this_major: str | None = None if text in NO_MAJOR else major
        if level == "doctor" and rng.random() < 0.5:
            this_major = rng.choice(fld.majors)
        out.append(_Edu(level, text, this_major, school, start, end))
        end = (start[0] - rng.choice([0, 0, 0, 1]), 6)
    return out


def _school(lang: str, level: str, text: str, rng: random.Random, taken: set[str]) -> str:
    if text == "MBA":
        pool = EN_MBA_SCHOOLS
    elif text == "Master of Public Administration":
        pool = EN_MPA_SCHOOLS
    else:
        pool = (ZH_SCHOOLS if lang == "zh" else EN_SCHOOLS)[level]
    choices = [s for s in pool if s not in taken] or pool
    return rng.choice(choices)


def _zh_email(sur: str, given: str, rng: random.Random) -> str:
    domain = rng.choice(
        ["example.cn", "example.com", "mail.example.cn", "example.com.cn", "example.net"]
    )
    local = rng.choice(
        [
            f"{sur}{given}{rng.randint(80, 99)}",
            f"{given}.{sur}",
            f"{sur}_{given}{rng.randint(1, 9)}",
            f"{sur[0]}{given[0]}{rng.randint(1990, 2002)}",
            f"{rng.randint(10_000_000, 999_999_999)}",  # a QQ-style number
        ]
    )
    return f"{local}@{domain}"


def _en_email(first: str, last: str, rng: random.Random) -> str:
    first, last = first.lower(), last.lower().replace("'", "")
    domain = rng.choice(["example.com", "example.org", "example.net", "mail.example.com"])
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first}_{last}",
        ]
    )
    return f"{local}@{domain}"


def _zh_phone(rng: random.Random) -> str:
    prefix = rng.choice(
        ["138", "139", "137", "136", "135", "150", "151", "158", "186", "187", "188", "177", "199"]
    )
    a, b = rng.randint(0, 9999), rng.randint(0, 9999)
    style = rng.choice(["space", "plus86", "plain", "dash", "paren86"])
    return {
        "space": f"{prefix} {a:04d} {b:04d}",
        "plus86": f"+86 {prefix}-{a:04d}-{b:04d}",
        "plain": f"{prefix}{a:04d}{b:04d}",
        "dash": f"{prefix}-{a:04d}-{b:04d}",
        "paren86": f"(+86) {prefix}{a:04d}{b:04d}",
    }[style]


def _en_phone(rng: random.Random, uk: bool) -> str:
    if uk:  # Ofcom's range for drama: 07700 900000–900999
        return rng.choice(["+44 7700 900{:03d}", "07700 900{:03d}"]).format(rng.randint(0, 999))
    area = rng.choice(US_AREA_CODES)
    line = f"01{rng.randint(0, 99):02d}"  # 555-0100..0199: reserved for fiction
    return rng.choice(
        [
            f"({area}) 555-{line}",
            f"+1 {area} 555 {line}",
            f"{area}-555-{line}",
            f"{area}.555.{line}",
        ]
    )


# ---------------------------------------------------------------------------------------------
# Truth
# ---------------------------------------------------------------------------------------------


def _truth_date(ym: YM | None, style: str) -> str:
    if ym is None:
        return "present"
    if DATE_STYLES[style][0] == "year":
        return f"{ym[0]:04d}"
    return f"{ym[0]:04d}-{ym[1]:02d}"


def _truth(person: _Person, layout: _Layout, ref: YM) -> dict[str, Any]:
    education = [
        {
            "degree": e.level,
            "degree_text": e.degree_text,
            "major": e.major,
            "school": e.school,
            "start": _truth_date(e.start, layout.edu_date),
            "end": _truth_date(e.end, layout.edu_date),
        }
        for e in _ordered(person.education, layout)
    ]
    experience = []
    months_worked: set[int] = set()
    for job in _ordered(person.jobs, layout):
        first, last = _ym_idx(job.start), _ym_idx(job.end or ref)
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


def _ordered(items: list[T], layout: _Layout) -> list[T]:
    return list(reversed(items)) if layout.oldest_first else list(items)


# ---------------------------------------------------------------------------------------------
# Layouts: which words, which order, which date style; then a generic block list
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    name: str
    lang: str
    fmt: str
    header: str
    """kv | kv2 | title_kv | name_contact | spaced_name | info_table | contact_table | sidebar | kv_en | markdown"""
    sections: tuple[tuple[str, str], ...]
    """(key, heading) in résumé order; keys: summary experience education projects skills
    certificates awards."""
    date: str
    edu_date: str
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


def _layouts() -> dict[str, _Layout]:
    zh_std = (
        ("education", "教育背景"),
        ("experience", "工作经历"),
        ("skills", "专业技能"),
        ("certificates", "证书"),
    )
    items = [
        _Layout(
            "zh_pdf_title_kv", "zh", "pdf", "title_kv",
            (("education", "教育背景"), ("experience", "工作经历"), ("projects", "项目经历"), ("skills", "专业技能"), ("certificates", "资格证书"), ("summary", "自我评价")),
            date="dot_tight", edu_date="dot", exp_style="date_first", edu_style="date_first",
            skills="kv", certs="comma", deco="bar",
        ),
        _Layout(
            "zh_pdf_big_name", "zh", "pdf", "spaced_name",
            (("summary", "个人优势"), ("experience", "工作经验"), ("education", "教育经历"), ("skills", "技能特长"), ("certificates", "资格证书"), ("awards", "荣誉奖项")),
            date="cn", edu_date="cn", exp_style="pipe", edu_style="pipe",
            skills="kv", certs="bullets", deco="plain", bullet="·",
        ),
        _Layout(
            "zh_pdf_sidebar", "zh", "pdf", "sidebar",
            (("experience", "职业经历"), ("education", "学历"), ("skills", "技能"), ("certificates", "证书")),
            date="slash", edu_date="year_zh", exp_style="stacked", edu_style="stacked",
            skills="bullets", certs="bullets", deco="plain", bullet="-",
        ),
        _Layout(
            "zh_docx_info_table", "zh", "docx", "info_table",
            (("education", "教育经历"), ("experience", "工作经历"), ("skills", "专业技能"), ("certificates", "获得证书"), ("summary", "自我评价")),
            date="dot", edu_date="dot", exp_style="date_first", edu_style="date_first",
            skills="kv", certs="kv", docx_headings=False,
        ),
        _Layout(
            "zh_docx_exp_table", "zh", "docx", "name_contact",
            (("summary", "个人简介"), ("experience", "工作经历"), ("education", "教育背景"), ("skills", "专业技能"), ("certificates", "证书")),
            date="cn0", edu_date="dot", exp_style="table", edu_style="table",
            skills="bullets", certs="comma",
        ),
        _Layout(
            "zh_docx_headings", "zh", "docx", "kv2",
            (("experience", "职业经历"), ("projects", "项目经验"), ("education", "学历"), ("skills", "技能"), ("certificates", "证书"), ("awards", "获奖情况")),
            date="dash_tilde", edu_date="dash_tilde", exp_style="stacked", edu_style="pipe",
            skills="comma", certs="comma",
        ),
        _Layout(
            "zh_txt_kv", "zh", "txt", "kv", zh_std,
            date="dot", edu_date="dot", exp_style="date_first", edu_style="date_first",
            skills="kv", certs="kv", deco="bracket", oldest_first=True,
        ),
        _Layout(
            "zh_txt_gb18030", "zh", "txt", "name_contact",
            (("summary", "个人简介"), ("experience", "工作经历"), ("education", "教育背景"), ("skills", "专业技能"), ("certificates", "证书")),
            date="cn", edu_date="year_zh", exp_style="pipe", edu_style="pipe",
            skills="kv", certs="comma", deco="numbered", encoding="gb18030", newline="\r\n",
        ),
        _Layout(
            "zh_txt_bom", "zh", "txt", "kv",
            (("experience", "工作经验"), ("education", "学历"), ("skills", "技能特长"), ("certificates", "资格证书"), ("summary", "自我评价")),
            date="slash", edu_date="slash", exp_style="stacked", edu_style="date_first",
            skills="bullets", certs="bullets", deco="equals", bullet="●", encoding="utf-8-sig", newline="\r\n",
        ),
        _Layout(
            "en_pdf_classic", "en", "pdf", "name_contact",
            (("experience", "Professional Experience"), ("education", "Education"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="mon", edu_date="mon", exp_style="role_at", edu_style="stacked",
            skills="comma", certs="bullets", deco="upper",
        ),
        _Layout(
            "en_pdf_twocol", "en", "pdf", "sidebar",
            (("summary", "Summary"), ("experience", "Work Experience"), ("education", "Education"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="num", edu_date="num", exp_style="stacked", edu_style="stacked",
            skills="bullets", certs="bullets", deco="plain",
        ),
        _Layout(
            "en_pdf_academic_cv", "en", "pdf", "title_kv",
            (("education", "Academic Background"), ("experience", "Employment History"), ("skills", "Technical Skills"), ("certificates", "Certificates"), ("awards", "Honors and Awards")),
            date="month", edu_date="year", exp_style="role_comma", edu_style="degree_first",
            skills="grouped", certs="comma", deco="underline", pdf_font="serif",
        ),
        _Layout(
            "en_docx_contact_table", "en", "docx", "contact_table",
            (("summary", "Profile"), ("experience", "Work Experience"), ("education", "Education"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="mon", edu_date="year", exp_style="role_at", edu_style="degree_first",
            skills="comma", certs="comma",
        ),
        _Layout(
            "en_docx_exp_table", "en", "docx", "name_contact",
            (("education", "Education"), ("experience", "Employment History"), ("skills", "Core Skills"), ("certificates", "Licenses & Certifications")),
            date="num_slash_en", edu_date="num_slash_en", exp_style="table", edu_style="table",
            skills="bullets", certs="bullets",
        ),
        _Layout(
            "en_docx_plain", "en", "docx", "kv_en",
            (("summary", "Summary"), ("experience", "Experience"), ("education", "Education"), ("certificates", "Certifications"), ("skills", "Skills")),
            date="month", edu_date="month", exp_style="stacked", edu_style="stacked",
            skills="spaced", certs="bullets", docx_headings=False, oldest_first=True,
        ),
        _Layout(
            "en_txt_upper", "en", "txt", "name_contact",
            (("summary", "Summary"), ("experience", "Professional Experience"), ("education", "Education"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="num", edu_date="year", exp_style="pipe", edu_style="pipe",
            skills="comma", certs="comma", deco="upper", bullet="-",
        ),
        _Layout(
            "en_txt_kv", "en", "txt", "kv_en",
            (("education", "Education"), ("experience", "Work Experience"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="mon", edu_date="mon", exp_style="role_comma", edu_style="degree_first",
            skills="kv", certs="kv", deco="underline", bullet="*",
        ),
        _Layout(
            "en_txt_markdown", "en", "txt", "markdown",
            (("summary", "About"), ("experience", "Experience"), ("education", "Education"), ("skills", "Skills"), ("certificates", "Certifications")),
            date="mon", edu_date="year", exp_style="stacked", edu_style="degree_first",
            skills="bullets", certs="bullets", deco="markdown", bullet="-",
        ),
    ]  # fmt: skip
    return {layout.name: layout for layout in items}


LAYOUTS: dict[str, _Layout] = _layouts()


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


def _fmt_ym(ym: YM, style: str) -> str:
    y, m = ym
    return {
        "dot": f"{y}.{m:02d}",
        "cn": f"{y}年{m}月",
        "cn0": f"{y}年{m:02d}月",
        "slash": f"{y}/{m:02d}",
        "dash": f"{y}-{m:02d}",
        "mon": f"{MONTHS_SHORT[m - 1]} {y}",
        "month": f"{MONTHS_LONG[m - 1]} {y}",
        "num": f"{m:02d}/{y}",
        "year": f"{y}",
    }[style]


def _range(start: YM, end: YM | None, style: str) -> str:
    part, sep, present = DATE_STYLES[style]
    return f"{_fmt_ym(start, part)}{sep}{present if end is None else _fmt_ym(end, part)}"


Block = tuple[Any, ...]
"""("title", text) ("name", text) ("line", text) ("heading", text) ("para", text)
("entry", left, right, sub_lines, bullets) ("bullets", items, mark) ("table", rows, header)"""


def _build(
    layout: _Layout, p: _Person, rng: random.Random, ref: YM
) -> tuple[list[Block], list[Block]]:
    """The résumé as blocks (main column, side column)."""
    zh = layout.lang == "zh"
    main: list[Block] = []
    side: list[Block] = []
    colon = "：" if zh else ": "
    worked = {m for j in p.jobs for m in range(_ym_idx(j.start), _ym_idx(j.end or ref) + 1)}
    years = round_years(len(worked))

    # Header
    h = layout.header
    if h in {"kv", "title_kv", "kv2"} and zh:
        if h == "title_kv":
            main.append(("title", "个人简历"))
        pairs = [
            ("姓名", p.name),
            ("性别", p.gender),
            ("出生年月", _fmt_ym(p.birth, "dot")),
            ("电话", p.phone),
            ("邮箱", p.email),
            ("求职意向", p.objective),
            ("现居地", p.city),
        ]
        if p.jobs and rng.random() < 0.6:
            pairs.insert(3, ("工作年限", f"{max(1, int(years))}年"))
        if h == "kv2":
            main.append(("name", p.name))
            pairs = pairs[1:]
            main += [
                ("line", "    ".join(f"{k}{colon}{v}" for k, v in pairs[i : i + 2]))
                for i in range(0, len(pairs), 2)
            ]
        else:
            main += [("line", f"{k}{colon}{v}") for k, v in pairs]
    elif h in {"title_kv", "kv_en"}:
        if h == "title_kv":
            main.append(("title", "Curriculum Vitae"))
            main.append(("name", p.name))
            main += [
                ("line", f"{k}: {v}")
                for k, v in [("Email", p.email), ("Phone", p.phone), ("Address", p.city)]
            ]
        else:
            main += [
                ("line", f"{k}: {v}")
                for k, v in [
                    ("Name", p.name),
                    ("Phone", p.phone),
                    ("Email", p.email),
                    ("Location", p.city),
                ]
            ]
    elif h in {"name_contact", "spaced_name"}:
        shown = " ".join(p.name) if h == "spaced_name" else p.name
        main.append(("name", shown))
        if zh:
            main.append(("line", f"电话：{p.phone} | 邮箱：{p.email} | {p.city}"))
            main.append(("line", f"求职意向：{p.objective}"))
        else:
            sep = rng.choice([" | ", " · ", "  •  "])
            main.append(("line", sep.join([p.city, p.phone, p.email, p.linkedin])))
    elif h == "markdown":
        main.append(("line", f"# {p.name}"))
        main.append(("line", f"{p.email} · {p.phone} · {p.city}"))
    elif h == "info_table":
        main.append(("title", "个人简历"))
        rows = [
            ["姓名", p.name, "性别", p.gender],
            ["出生年月", _fmt_ym(p.birth, "dot"), "现居地", p.city],
            ["联系电话", p.phone, "电子邮箱", p.email],
            ["求职意向", p.objective, "到岗时间", "一个月内"],
        ]
        main.append(("table", rows, False))
    elif h == "contact_table":
        headline = p.jobs[0].role if p.jobs else f"{p.education[0].major or 'Graduate'} graduate"
        main.append(
            ("table", [[f"{p.name}\n{headline}", f"{p.phone}\n{p.email}\n{p.city}"]], False)
        )
    elif h == "sidebar":
        main.append(("name", p.name))
        main.append(("line", p.objective))
        if zh:
            side += [
                ("heading", "联系方式"),
                ("line", f"手机：{p.phone}"),
                ("line", f"邮箱：{p.email}"),
                ("line", f"现居：{p.city}"),
            ]
        else:
            side += [
                ("heading", "Contact"),
                ("line", p.phone),
                ("line", p.email),
                ("line", p.city),
                ("line", p.linkedin),
            ]
    else:
        raise ValueError(f"unknown header {h!r}")

    numerals = "一二三四五六七八九"
    n_heading = 0
    for key, word in layout.sections:
        content = _section(key, layout, p, rng, ref, years)
        if not content:
            continue
        target = side if layout.header == "sidebar" and key in {"skills", "certificates"} else main
        heading = f"{numerals[n_heading]}、{word}" if layout.deco == "numbered" else word
        n_heading += 1
        target.append(("heading", heading))
        target.extend(content)
    return main, side


def _section(
    key: str, layout: _Layout, p: _Person, rng: random.Random, ref: YM, years: float
) -> list[Block]:
    zh = layout.lang == "zh"
    bullet = layout.bullet
    if key == "summary":
        return [("para", _summary(p, zh, years, rng))]
    if key == "experience":
        jobs = _ordered(p.jobs, layout)
        if not jobs:
            return [("para", "应届毕业生，暂无全职工作经历。")] if zh else []
        if layout.exp_style == "table":
            head = (
                ["时间", "公司名称", "职位", "工作内容"]
                if zh
                else ["Dates", "Employer", "Title", "Highlights"]
            )
            rows = [[_range(j.start, j.end, layout.date), j.employer, j.role, "；".join(j.duties) if zh else "; ".join(j.duties)] for j in jobs]  # fmt: skip
            return [("table", [head, *rows], True)]
        return [_job_entry(j, layout) for j in jobs]
    if key == "education":
        edus = _ordered(p.education, layout)
        if layout.edu_style == "table":
            head = (
                ["时间", "学校", "专业", "学历"] if zh else ["Dates", "School", "Program", "Degree"]
            )
            rows = [
                [_range(e.start, e.end, layout.edu_date), e.school, e.major or "", e.degree_text]
                for e in edus
            ]
            return [("table", [head, *rows], True)]
        return [_edu_entry(e, layout, rng) for e in edus]
    if key == "projects":
        if not p.jobs:
            return []
        job = p.jobs[0]
        start = _ym_add(job.start, 2)
        end = _ym_add(start, 5)
        if _ym_idx(end) > _ym_idx(job.end or ref):
            return []
        name = rng.choice(
            ["智能客服平台", "数据中台建设", "会员体系升级", "费用管控系统", "合同管理系统"]
        )
        return [
            ("entry", f"{_range(start, end, layout.date)}  {name}", None, ["角色：项目负责人"], [])
        ]
    if key == "skills":
        s = p.skills
        if layout.skills == "kv":
            if zh:
                return [("line", "技能：" + "、".join(s))]
            return [("line", "Skills: " + ", ".join(s))]
        if layout.skills == "comma":
            sep = rng.choice(["，", "、"]) if zh else ", "
            return [("para", sep.join(s))]
        if layout.skills == "bullets":
            return [("bullets", list(s), bullet)]
        if layout.skills == "spaced":
            return [("para", " | ".join(s))]
        if layout.skills == "grouped":
            half = max(1, len(s) // 2)
            return [
                ("line", "Programming: " + ", ".join(s[:half])),
                ("line", "Tools and methods: " + ", ".join(s[half:])),
            ]
        raise ValueError(layout.skills)
    if key == "certificates":
        c = p.certs
        if not c:
            return []
        if layout.certs == "kv":
            return [
                ("line", ("证书：" + "、".join(c)) if zh else "Certifications: " + ", ".join(c))
            ]
        if layout.certs == "comma":
            return [("para", ("、" if zh else ", ").join(c))]
        year = max(2000, (p.jobs[-1].start[0] if p.jobs else p.education[0].end[0]))
        if zh:
            return [
                (
                    "bullets",
                    [f"{cert}（{year + i}年）" if i == 0 else cert for i, cert in enumerate(c)],
                    bullet,
                )
            ]
        return [
            (
                "bullets",
                [f"{cert} ({year + 1})" if i == 0 else cert for i, cert in enumerate(c)],
                bullet,
            )
        ]
    if key == "awards":
        y = p.education[-1].end[0]
        if zh:
            items = [f"{y - 2}年 国家励志奖学金", f"{y - 1}年 校级优秀学生干部"]
            if p.jobs:
                items.append(f"{p.jobs[0].start[0]}年度优秀员工")
            return [("bullets", items, bullet)]
        return [
            (
                "bullets",
                [f"Dean's List ({y - 3}, {y - 2})", f"Graduate Fellowship, {y - 1}"],
                bullet,
            )
        ]
    raise ValueError(key)


def _summary(p: _Person, zh: bool, years: float, rng: random.Random) -> str:
    n = max(1, round(years))
    if zh:
        if not p.jobs:
            return f"{p.education[0].end[0]}届应届毕业生，在校期间担任学生会干部，具备良好的沟通能力和团队合作精神，能快速学习新知识。"
        trade = {
            "tech": "互联网研发",
            "finance": "财务审计",
            "ops": "互联网运营",
            "law": "法律事务",
            "hr": "人力资源",
        }[p.field]
        return rng.choice(
            [
                f"{n}年{trade}经验，熟悉{p.skills[0]}与{p.skills[1]}，责任心强，抗压能力强。",
                f"拥有{n}年以上{trade}工作经验，曾带领5人团队，善于沟通协调，学习能力强。",
            ]
        )
    if not p.jobs:
        return f"Recent graduate (class of {p.education[0].end[0]}) with internship-level exposure to {p.skills[0]} and {p.skills[1]}; eager to learn and ship."
    trade = EN_FIELDS[p.field].industry
    return rng.choice(
        [
            f"{p.objective} with {n}+ years of experience in {trade}. Strong in {p.skills[0]} and {p.skills[1]}.",
            f"Over {n} years in {trade}, including 2 years leading a small team. Known for clear writing and calm delivery.",
        ]
    )


def _job_entry(j: _Job, layout: _Layout) -> Block:
    dates = _range(j.start, j.end, layout.date)
    s = layout.exp_style
    duties = list(j.duties)
    if s == "date_first":
        return ("entry", f"{dates}    {j.employer}    {j.role}", None, [], duties)
    if s == "pipe":
        return ("entry", f"{j.employer} | {j.role} | {dates}", None, [], duties)
    if s == "stacked":
        sub = [f"职位：{j.role}" if layout.lang == "zh" and layout.fmt == "txt" else j.role]
        return ("entry", j.employer, dates, sub, duties)
    if s == "role_at":
        return ("entry", f"{j.role} — {j.employer}", dates, [], duties)
    if s == "role_comma":
        return ("entry", f"{j.role}, {j.employer}", dates, [], duties)
    raise ValueError(s)


def _edu_entry(e: _Edu, layout: _Layout, rng: random.Random) -> Block:
    dates = _range(e.start, e.end, layout.edu_date)
    s = layout.edu_style
    major = e.major or ""
    if layout.lang == "zh":
        if s == "date_first":
            return (
                "entry",
                "    ".join(x for x in [dates, e.school, major, e.degree_text] if x),
                None,
                [],
                [],
            )
        if s == "pipe":
            return (
                "entry",
                " | ".join(x for x in [e.school, major, e.degree_text, dates] if x),
                None,
                [],
                [],
            )
        if s == "stacked":
            return ("entry", e.school, dates, [f"{major}  {e.degree_text}".strip()], [])
        raise ValueError(s)
    degree = f"{e.degree_text} in {major}" if major else e.degree_text
    if e.degree_text in {"MSc", "BEng", "B.Sc."} and major and rng.random() < 0.5:
        degree = f"{e.degree_text} {major}"
    if s == "degree_first":
        return ("entry", f"{degree}, {e.school}", dates, [], [])
    if s == "pipe":
        return ("entry", f"{e.school} | {degree} | {dates}", None, [], [])
    if s == "stacked":
        return ("entry", e.school, dates, [degree], [])
    raise ValueError(s)


def _filename(p: _Person, layout: _Layout, rng: random.Random) -> str:
    ext = layout.fmt
    if layout.lang == "zh":
        pattern = rng.choice(
            [
                "{n}_简历.{e}",
                "简历-{n}-{r}.{e}",
                "{n}的简历.{e}",
                "{r}-{n}.{e}",
                "个人简历（{n}）.{e}",
            ]
        )
        return pattern.format(n=p.name, r=p.objective.replace("/", "-"), e=ext)
    compact = p.name.replace(" ", "_").replace(".", "").replace("'", "")
    pattern = rng.choice(["{c}_Resume.{e}", "resume_{l}.{e}", "CV - {n}.{e}", "{c}_CV_2026.{e}"])
    return pattern.format(c=compact, n=p.name, l=compact.split("_")[-1].lower(), e=ext)


# ---------------------------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------------------------


def _txt(blocks: list[Block], layout: _Layout) -> str:
    zh = layout.lang == "zh"
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind in {"title", "name", "line"}:
            out.append(b[1])
        elif kind == "heading":
            out.append("")
            out.extend(_txt_heading(b[1], layout.deco, zh))
        elif kind == "para":
            out.append(b[1])
        elif kind == "entry":
            _, left, right, sub, bullets = b
            if layout.deco == "markdown":
                out.append(f"### {left}" + (f" ({right})" if right else ""))
            else:
                out.append(left + (f"    {right}" if right else ""))
            out.extend(sub)
            out.extend(f"{layout.bullet} {d}" for d in bullets)
            if layout.deco in {"equals", "markdown", "underline"}:
                out.append("")
        elif kind == "bullets":
            out.extend(f"{b[2]} {item}" for item in b[1])
        elif kind == "table":
            out.extend("\t".join(cell.replace("\n", " ") for cell in row) for row in b[1])
        else:
            raise ValueError(kind)
    return "\n".join(out).rstrip() + "\n"


def _txt_heading(word: str, deco: str, zh: bool) -> list[str]:
    if deco == "bracket":
        return [f"【{word}】"]
    if deco == "equals":
        return [f"===== {word} ====="]
    if deco == "upper":
        return [word.upper()]
    if deco == "underline":
        return [word, "-" * len(word)]
    if deco == "markdown":
        return [f"## {word}"]
    return [word]


# ---------------------------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------------------------


def _docx_bytes(blocks: list[Block], lang: str, headings: bool = True) -> bytes:
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
                run = document.add_paragraph().add_run(b[1])
                run.bold = True
                run.font.size = docx.shared.Pt(20)
        elif kind in {"line", "para"}:
            document.add_paragraph(b[1])
        elif kind == "heading":
            if headings:
                document.add_heading(b[1], level=1)
            else:
                run = document.add_paragraph().add_run(b[1])
                run.bold = True
                run.font.size = docx.shared.Pt(13)
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


# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------


@cache
def _charset() -> frozenset[str]:
    """Every character this module can print: its own source plus printable ASCII."""
    return frozenset(Path(__file__).read_text(encoding="utf-8")) | frozenset(string.printable)


@cache
def _font_file(path: Path, number: int = 0) -> Path:
    """A subset of the font with only :func:`_charset` (fpdf2 then loads it in milliseconds)."""
    chars = "".join(sorted(c for c in _charset() if c.isprintable()))
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


def _new_pdf(lang: str, family: str = "sans") -> FPDF:
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


def _pdf_bytes(main: list[Block], side: list[Block], layout: _Layout) -> bytes:
    zh = layout.lang == "zh"
    pdf = _new_pdf(layout.lang, layout.pdf_font)
    missing = {c for b in main + side for part in _texts(b) for c in part if c not in _charset()}
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
    pdf: FPDF, blocks: list[Block], layout: _Layout, wrap: WrapMode, size: float = PDF_BODY_PT
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


def _sample_pdf() -> bytes:
    """A small real résumé PDF (the base of the encrypted and too-large files)."""
    layout = LAYOUTS["en_pdf_classic"]
    person = _Factory(REFERENCE_DATE)._person("en", random.Random(3), "single", "tech", ("B.Sc.",))
    main, side = _build(layout, person, random.Random(3), REFERENCE_DATE)
    return _pdf_bytes(main, side, layout)


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
