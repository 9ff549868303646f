"""Résumé text to a structured :class:`~server.resumes.profile.Profile`, by rules (no model).

Tuned for Chinese and English résumés as they come out of :mod:`server.resumes.resume_text`
(one line per paragraph, table rows as ``a | b | c``). The steps:

1. Split the text into sections by headings (``教育背景``, ``【工作经历】``, ``WORK EXPERIENCE``,
   ``技能：Python、SQL``, a table row starting with a heading cell, ...). Lines before the first
   heading form the header block.
2. Contact fields (name, email, phone) from anywhere, name preferably from ``姓名：`` / ``Name:``.
3. Jobs from the experience sections: each line holding a date range starts a job; its employer
   and role come from that line and the adjacent short lines (before or after the dates,
   whichever layout the section uses); fields no word list recognises are placed by position
   (``Role at Employer``; else the first one is the employer, the next one the role); a Latin
   field holding an employer that ends with a legal form (``Co., Ltd.``, ``Inc.``) and a title
   is cut in two, either order, each side known by its own cue. Without any experience
   heading, dated lines of the header block that name an employer or a role count. A line
   like ``5年运营经验`` is never a job.
   A job's length counts both end months, as HR reads a résumé: ``2019.07–2022.06`` is 36
   months (3.0 years), ``2015.07–2018.06`` then ``2018.07–2023.06`` is 96 months without gap,
   ``2019.07–至今`` includes the reference month. A year-only date stands for its July
   (``2016–2019`` is 36 months, end month not added).
   ``experience_years`` is the union of the jobs' intervals (overlaps once), internships
   (``实习`` / ``intern`` or an internship heading) listed but not counted. Only when no dated
   job at all was found does it fall back to the largest claim (``5年运营经验``,
   ``工作年限：5年``, ``over 5 years of experience``).
4. Education entries from the education sections (school, degree level, major, dates).
5. Skills and certificates from their sections plus a small lexicon matched elsewhere: when
   the résumé has a skills section, only technology names (:data:`SKILL_LEXICON_TECH`) are
   taken from outside it. Awards and honours (``获奖情况``, ``Honors``) have their own section
   and are neither certificates nor skills; the candidate's name or a job title standing in a
   certificates section (a side column read out of order) is no certificate either.

Precision over recall: a field stays ``None`` rather than holding a heading, a date or a
sentence. Every value keeps the line it came from (``source``, at most
:data:`MAX_SOURCE_CHARS` characters).

Pure CPU work: run it in a worker, not on the event loop.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from common.text import CJK_RANGES, CJK_RE
from server.hiring.jobanalysis import detect_language
from server.resumes.profile import Degree, Education, Experience, Profile, Sourced
from server.resumes.resume_text import MAX_TEXT_CHARS, normalize_text

MAX_SOURCE_CHARS = 200
"""Longest ``source`` kept for a value, in characters."""

NAME_SCAN_LINES = 8
"""Non-empty lines at the top searched for a bare name (without ``姓名：``)."""

NAME_SCAN_WIDE_LINES = 15
"""First lines searched, across headings, for a line that is only a name."""

NAME_CONTACT_LINES = 2
"""Lines before the first email or phone searched for a line that is only a name."""

MAX_HEADING_CHARS = 40
"""Longest line (in characters) that can be a section heading."""

MAX_HEADER_LINE_CHARS = 80
"""Longest line (in characters) that can name a job's employer or role."""

MAX_ENTRY_NEIGHBOUR_LINES = 3
"""Lines next to a job's date line searched for its employer and role."""

MAX_LINE_CHARS = 1_000
"""Longer lines (a PDF paragraph without breaks) are cut into pieces of at most this many
characters, at a space when possible: it bounds the work of every per-line rule."""

MAX_ORG_CHARS = 40
"""Longest employer or school name, in characters."""

MAX_LEGAL_NAME_CHARS = 60
"""Longest Latin-script employer name ending with a legal form (``Beijing … Technology Co.,
Ltd.``), in characters."""

MAX_FIELD_WORDS = 6
"""Most Latin words in a field that names an employer or a role."""

MAX_LEGAL_NAME_WORDS = 8
"""Most Latin words in an employer name ending with a legal form."""

MAX_ITEM_CHARS = 30
"""Longest skill item taken from a skills section, in characters."""

MAX_ITEM_CJK_CHARS = 10
"""Most Chinese characters in a skill item (longer is a sentence)."""

MAX_ITEM_WORDS = 4
"""Most Latin words in a skill item."""

MAX_CERT_CHARS = 60
"""Longest certificate item taken from a certificates section, in characters."""

MAX_CLAIMED_YEARS = 50
"""Largest "N years of experience" believed by the fallback."""

YEAR_ONLY_MONTH = 7
"""Month assumed for a year-only date when counting months (mid-year: ``2016–2019`` is 36,
July to July, the end month not counted; a month-precise end month is counted)."""

MONTHS_PER_YEAR = 12

# --------------------------------------------------------------------------- lexicons

# fmt: off
SKILL_LEXICON_TECH: tuple[str, ...] = (
    "Python", "Java", "JavaScript", "TypeScript", "C++", "C#", "SQL", "MySQL", "PostgreSQL",
    "MongoDB", "Redis", "Photoshop", "Illustrator", "After Effects", "AutoCAD", "SolidWorks",
    "SPSS", "Stata", "MATLAB", "Tableau", "Power BI", "Linux", "Git", "Docker", "Kubernetes",
    "Hadoop", "TensorFlow", "PyTorch", "pandas", "NumPy", "HTML", "CSS", "Vue", "Node.js",
    "Golang", "PHP", "Kotlin", "SAP", "Figma", "Axure", "Jira", "Salesforce", "R语言", "用友",
    "金蝶",
)
"""Unambiguous technology and tool names: matched anywhere in the text (Latin terms
word-bounded, case-insensitive), also outside the skills section (``built dashboards in
Tableau``)."""

SKILL_LEXICON_TECH_EXACT_CASE: tuple[str, ...] = ("SAS", "Spark", "AWS", "React")
"""Technologies matched anywhere, but only as capitalised here (``react to`` is no skill)."""

SKILL_LEXICON: tuple[str, ...] = (
    "PowerPoint", "PPT", "Microsoft Office", "MS Office", "Visio", "Premiere", "SEO", "SEM",
    "Machine Learning", "Deep Learning", "Data Analysis", "Project Management",
    "Financial Analysis", "Financial Modeling", "English", "Mandarin", "Cantonese", "Japanese",
    "数据分析", "数据挖掘", "数据可视化", "公文写作", "新媒体运营", "项目管理", "财务分析",
    "财务报表", "会计核算", "成本核算", "税务筹划", "机器学习", "深度学习", "办公软件", "活动策划",
    "文案策划", "品牌推广", "用户运营", "内容运营", "短视频运营", "视频剪辑", "平面设计",
    "供应链管理", "绩效管理", "薪酬管理", "统计分析", "英语", "日语", "粤语",
)
"""General skills (office tools, methods, languages): inside a skills section always; elsewhere
only when the résumé has no skills section (a job title ``新媒体运营经理`` or a duty ``data
analysis`` is no listed skill)."""

SKILL_LEXICON_EXACT_CASE: tuple[str, ...] = ("Excel",)
"""General skills matched only as capitalised here (``excel at`` is no skill)."""

SKILL_LEXICON_SECTION_ONLY: tuple[str, ...] = (
    "R", "C", "Go", "Word", "Office", "Swift", "Chinese", "French", "German", "Spanish",
)
"""Ambiguous skills matched (case as written) only inside a skills section."""

CERTIFICATE_PATTERNS_ZH: tuple[str, ...] = (
    r"(?:大学|专业)?英语(?:专业)?[四六八]级",
    r"(?:全国)?计算机(?:等级考试)?[一二三四]级",
    r"注册会计师",
    r"法律职业资格(?:证书)?|司法考试",
    r"教师资格证?书?",
    r"雅思\s*:?\s*\d(?:\.\d)?",
    r"托福\s*:?\s*\d{2,3}",
    r"普通话(?:水平测试)?\s*[一二三]级[甲乙]等",
    r"(?:初级|中级|高级)会计(?:师|职称|专业技术资格)",
    r"会计从业资格",
    r"(?:证券|基金|银行|期货)从业资格",
    r"人力资源管理师(?:[一二三四]级)?",
    r"[一二]级建造师",
    r"造价工程师",
    r"执业医师资格|护士执业资格",
    r"心理咨询师(?:[二三]级)?",
)
"""Chinese certificates matched anywhere (regular expressions)."""

CERTIFICATE_PATTERNS_EN: tuple[str, ...] = (
    r"CET-?\s?[46]",
    r"TEM-?[48]",
    r"CPA|Certified Public Accountant",
    r"PMP|Project Management Professional",
    r"CFA(?:\s*(?:Level\s*)?(?:III|II|I|[123]|[一二三]级))?|Chartered Financial Analyst",
    r"ACCA",
    r"AWS Certified(?:\s+[A-Z][\w-]*){1,4}"
    r"(?:\s+[-–—]\s+(?:Specialty|Associate|Professional|Foundational|Practitioner))?",
    r"IELTS\s*:?\s*\d(?:\.\d)?",
    r"TOEFL(?:\s*iBT)?\s*:?\s*\d{2,3}",
    r"CISSP|CCNA|CCNP|CCIE|PRINCE2|FRM|CMA|RHCE",
)
"""Latin-script certificates matched anywhere (regular expressions, word-bounded)."""
# fmt: on

# --------------------------------------------------------------------------- sections


class Section(enum.Enum):
    """What a block of lines is about, from its heading."""

    HEADER = "header"
    """Lines before the first heading (contact details; the whole text when no heading)."""
    EDUCATION = "education"
    EXPERIENCE = "experience"
    INTERNSHIP = "internship"
    """An experience section about internships (jobs there count as internships)."""
    SKILLS = "skills"
    CERTIFICATES = "certificates"
    SKILLS_CERTIFICATES = "skills_certificates"
    """A combined heading (``技能证书``): items are sorted by certificate cues."""
    AWARDS = "awards"
    """Awards and honours (``获奖情况``, ``Honors``): neither certificates nor skills."""
    SUMMARY = "summary"
    PROJECTS = "projects"
    OTHER = "other"
    """A recognised heading of no interest (hobbies, objective, ...): ends the previous section."""


# fmt: off
_HEADINGS: dict[Section, tuple[str, ...]] = {
    Section.EDUCATION: (
        "教育背景", "教育经历", "学历", "学习经历", "教育", "教育情况", "学历背景", "教育信息",
        "education", "educational background", "education background", "academic background",
        "academic qualifications", "education and training",
    ),
    Section.EXPERIENCE: (
        "工作经历", "工作经验", "职业经历", "工作履历", "任职经历", "从业经历", "工作背景",
        "experience", "work experience", "professional experience", "employment history",
        "work history", "employment", "career history", "relevant experience",
        "employment experience", "professional background",
    ),
    Section.INTERNSHIP: (
        "实习经历", "实习经验", "internship", "internships", "internship experience",
    ),
    Section.SKILLS: (
        "技能", "专业技能", "技能特长", "个人技能", "职业技能", "技能专长", "语言能力",
        "计算机能力", "技术能力", "skills", "technical skills", "core skills", "key skills",
        "competencies", "core competencies", "computer skills", "it skills", "languages",
        "skills and tools", "tools", "technologies",
    ),
    Section.CERTIFICATES: (  # the mixed headings too: award items are left out of them
        "证书", "资格证书", "所获证书", "获得证书", "证书及荣誉", "证书与荣誉", "荣誉证书", "荣誉与证书",
        "获奖及证书", "获奖与证书", "奖项与证书", "certifications", "certificates", "certification",
        "licenses", "licences", "licenses and certifications", "certifications and licenses",
        "awards and certifications", "certifications and awards", "certificates and awards",
        "honors and certifications", "honours and certifications",
    ),
    Section.AWARDS: (
        "获奖", "获奖情况", "获奖经历", "荣誉奖励", "荣誉奖项", "奖项", "荣誉", "所获荣誉", "获奖荣誉",
        "奖励情况", "奖惩情况", "在校荣誉", "荣誉称号", "奖学金", "奖励", "awards", "honors",
        "honours", "honors and awards", "honours and awards", "awards and honors",
        "awards and honours", "academic honors", "academic honours", "scholarships",
        "scholarships and awards", "awards and scholarships", "honors and scholarships",
        "achievements", "awards and achievements",
    ),
    Section.SKILLS_CERTIFICATES: (
        "技能证书", "证书技能", "技能与证书", "技能及证书", "证书与技能", "技能和证书",
        "skills and certifications", "skills and certificates", "certifications and skills",
    ),
    Section.SUMMARY: (
        "自我评价", "个人总结", "自我介绍", "个人评价", "个人简介", "个人优势", "自我描述",
        "summary", "profile", "professional summary", "about me", "career summary",
        "personal statement", "personal profile", "professional profile",
    ),
    Section.PROJECTS: (
        "项目经历", "项目经验", "主要项目", "projects", "project experience", "selected projects",
        "key projects",
    ),
    Section.OTHER: (
        "基本信息", "个人信息", "个人资料", "联系方式", "求职意向", "兴趣爱好", "爱好", "校园经历",
        "在校经历", "社会实践", "社团经历", "培训经历", "其他", "附加信息", "论文", "科研经历",
        "志愿者经历", "personal information", "personal details", "contact", "contact information",
        "objective", "career objective", "interests", "hobbies", "activities",
        "extracurricular activities", "leadership", "volunteer experience", "volunteering",
        "references", "publications", "research", "training", "additional information",
    ),
}
# fmt: on

# --------------------------------------------------------------------------- character classes

_HAN = CJK_RANGES
_BULLET = r"•·●○■□◆◇▪▫►▶➢✓✔*\-–—>"
_BULLET_RE = re.compile(rf"^(?:[{_BULLET}]+|\d{{1,2}}[.、)](?!\d))\s*")
_NUMBERING_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.]|\(?[一二三四五六七八九十\d]{1,2}[)、.]|\d{1,2}\s|[IVX]+\.)\s*"
)
_DECORATION_RE = re.compile(r"[【】\[\]《》<>■□●○◆◇▶►▪•·*#=_~—–\-:|/\\()\s\d]+")

# --------------------------------------------------------------------------- dates

_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_MONTH_NUM = r"(?:0?[1-9]|1[0-2])"
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    rf"(?:(?<!\d){_YEAR}\s*(?:[./-]|年)\s*{_MONTH_NUM}(?!\d)(?:\s*月)?"
    rf"(?:\s*[./-]\s*\d{{1,2}}(?!\d)|\s*\d{{1,2}}\s*日)?"
    rf"|(?<![A-Za-z]){_MONTH_NAME}\.?\s*,?\s*{_YEAR}(?!\d)"
    rf"|(?<![\d.]){_MONTH_NUM}\s*[/.-]\s*{_YEAR}(?!\d)"
    rf"|(?<!\d){_YEAR}(?!\d)(?:\s*年)?)"
)
_PRESENT = r"(?:至今|今|现在|目前|present|now|current(?:ly)?|today|to date|ongoing)(?![A-Za-z])"
_RANGE_SEP = r"(?:\s*(?:[-–—~〜]+|至|到)\s*|\s+(?:to|until|till)\s+)"
_RANGE_RE = re.compile(rf"(?P<start>{_DATE}){_RANGE_SEP}(?P<end>{_DATE}|{_PRESENT})", re.I)
_DATE_RE = re.compile(_DATE, re.I)
_PRESENT_RE = re.compile(rf"^{_PRESENT}$", re.I)
_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_YM_RE = re.compile(rf"({_YEAR})\s*(?:[./-]|年)\s*({_MONTH_NUM})(?!\d)")
_MY_RE = re.compile(rf"({_MONTH_NUM})\s*[/.-]\s*({_YEAR})")
_NAMED_RE = re.compile(rf"({_MONTH_NAME})\.?\s*,?\s*({_YEAR})", re.I)
_Y_RE = re.compile(_YEAR)

# --------------------------------------------------------------------------- contact

_EMAIL_RE = re.compile(  # bounded parts, starting at a token boundary: linear time
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
    r"\.[A-Za-z]{2,24}(?![A-Za-z])"
)
_PHONE_RES = (
    # Chinese mobile, optional +86 / 0086 / (+86), any grouping of the 11 digits
    re.compile(
        r"(?<![\d+])(?:(?:\+|00)86[\s-]?|\(\+?86\)\s?|86[\s-])?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"
    ),
    # international with a leading +
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\d)"),
    # North American (415) 555-0134 / 415-555-0134 / 415.555.0134
    re.compile(r"(?<![\d(])(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]\d{4}(?!\d)"),
    # Chinese landline 010-12345678
    re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"),
)
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15

_NAME_KEY_RE = re.compile(
    r"(?:^|[|,;]\s*)(?:姓\s*名|full name|name)\s*(?::|\|)\s*(?P<value>[^|,;]+)", re.I
)
_CJK_NAME_RE = re.compile(rf"^[{_HAN}](?: ?[{_HAN}]){{1,3}}$")
_ETHNIC_NAME_RE = re.compile(rf"^[{_HAN}]{{1,6}}·[{_HAN}]{{1,8}}$")
_HONORIFIC_RE = re.compile(r"^(?:dr|mr|mrs|ms|miss|prof)\.?\s+", re.I)
_NAME_PARTICLES = frozenset({"de", "van", "von", "da", "del", "der", "bin", "al", "le", "la"})
_RESUME_TITLE_RE = re.compile(r"(?:的)?(?:个人|求职)?简历$|^(?:个人|求职)?简历\s*[-:]?\s*")
_NOT_NAME_RE = re.compile(
    "简历|求职|意向|信息|资料|电话|手机|邮箱|地址|性别|年龄|民族|籍贯|汉族|婚|党员|团员|经验|经历|"
    "技能|证书|评价|学历|专业|教育|工作|项目|联系|方式|基本|个人|应聘|岗位|职位|期望|薪资|城市|出生|"
    "政治|面貌|男|女|本科|硕士|博士|大专|全职|兼职|面议|在职|离职|到岗|考试|资格|证"
)
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯"
    "纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪"
    "简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎"
    "甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# fmt: off
_COMPOUND_SURNAMES = frozenset(
    {
        "上官", "东方", "令狐", "公孙", "南宫", "司徒", "司马", "呼延", "夏侯", "宇文", "尉迟", "慕容", "欧阳", "独孤", "皇甫",
        "端木", "西门", "诸葛", "轩辕", "长孙",
    }
)
# fmt: on

# --------------------------------------------------------------------------- employers, roles, places

_EMPLOYER_SUFFIX_ZH = (
    "有限责任公司|股份有限公司|有限公司|公司|集团|委员会|银行|分行|支行|医院|中心|研究院|研究所|"
    "事务所|大学|学院|学校|中学|小学|幼儿园|报社|电视台|出版社|协会|基金会|人民政府|政府|办事处|"
    "办公室|街道|工作室|法院|检察院|部队|厂|局|委|署|厅"
)
_EMPLOYER_ZH_RE = re.compile(
    rf"^(?P<org>.{{1,{MAX_ORG_CHARS}}}?(?:{_EMPLOYER_SUFFIX_ZH}))(?:\([^)]*\))?$"
)
_EMPLOYER_SPLIT_ZH_RE = re.compile(
    rf"^(?P<org>.{{2,{MAX_ORG_CHARS}}}(?:公司|集团|银行|分行|支行|医院|大学|学院|研究院|研究所|事务所|委员会|局))"
    r"(?P<rest>.+)$"
)
_EMPLOYER_WORDS_EN = (
    r"Ltd\.?|Limited|Inc\.?|Co\.|Company|Corp\.?|Corporation|LLC|LLP|PLC|plc|GmbH|AG|Group|"
    r"Holdings|Bank|Hospital|Bureau|Agency|Department|Ministry|Council|Commission|Authority|"
    r"University|College|Institute|School|Foundation|Centre|Center|Partners|Consulting|"
    r"Technologies|Labs|Government|Office of"
)
_EMPLOYER_EN_RE = re.compile(rf"(?<![A-Za-z])(?:{_EMPLOYER_WORDS_EN})(?![A-Za-z])")
_DURATION_RE = re.compile(  # "(5年)", "(1年7个月)", "(3 yrs 2 mos)" after an employer
    r"\((?:\s*\d+(?:\.\d)?\s*(?:年|个月|月|years?|yrs?|months?|mos?)\s*)+\)", re.I
)
_FIELD_SPLIT_RE = re.compile(  # not the comma of "Acme, Inc." / "Co., Ltd." / "ACME, LLC"
    r"\s*(?:\||,(?!\s*(?i:inc|ltd|llc|llp|l\.l\.c|co|corp|limited|plc|gmbh|pty|pte)\b(?!-))|;|、"
    r"|\s[-–—·@/]\s|\s+at\s+|\s{2,})\s*"
)
_LEGAL_FORM_RE = re.compile(  # the legal form ending a company name, as written or in capitals
    r"(?<![A-Za-z])(?:(?i:co\.?,?\s?ltd|pt[ey]\.?\s?ltd|co|inc|ltd|corp|llc|l\.l\.c|llp|plc|gmbh)"
    r"|Corporation|CORPORATION|Company|COMPANY|Limited|LIMITED)(?![A-Za-z-])\.?"
)
_ABBREVIATIONS = frozenset({"co", "ltd", "inc", "corp", "pty", "pte"})
"""Words whose full stop ends no sentence (``Acme Co., Ltd.``); a capital initial neither."""

_ROLE_SUFFIX_ZH = (
    "员|实习|"
    "经理|总监|主管|专员|工程师|科员|助理|主任|顾问|设计师|分析师|会计师|会计|出纳|文员|秘书|教师|老师|"
    "讲师|教授|律师|医生|医师|护士|销售|运营|编辑|记者|策划|实习生|开发|架构师|测试|代表|干事|组长|科长|"
    "处长|局长|行长|柜员|客服|翻译|研究员|审计师|审计|负责人|总经理|董事长|董事|总裁|合伙人|店长|督导|主播|"
    "采购|前台|行政|人事|培训师|咨询师|规划师|建筑师|技术员|操作员|司机|厨师|园长|辅导员|班主任|职员|专家|"
    "经纪人|管培生|管理培训生|储备干部|副总|主编|程序员|HRBP|HR|CEO|CTO|CFO|COO|"
    "法务|风控|设计|研发|质检|内勤|商务|财务|招聘|营销|文案|美工|前端|后端|算法|公关"
)
_ROLE_ZH_RE = re.compile(rf"(?:{_ROLE_SUFFIX_ZH})$")
_ROLE_WORDS_EN = frozenset(
    word.lower()
    for word in (
        "Manager Engineer Developer Specialist Officer Analyst Assistant Director Intern "
        "Consultant Coordinator Associate Administrator Accountant Designer Scientist Lead Head "
        "President VP Executive Representative Supervisor Clerk Teacher Lecturer Professor "
        "Researcher Nurse Editor Writer Architect Technician Programmer Advisor Adviser Auditor "
        "Controller Partner Founder Co-founder CEO CTO CFO COO Secretary Trainee Strategist "
        "Planner Buyer Recruiter Attorney Lawyer Counsel Tester Agent Operator Instructor Tutor "
        "Fellow Principal Owner Producer Marketer Receptionist Cashier Teller Chef Driver Paralegal "
        "Investigator Inspector Economist Statistician Translator Interpreter Journalist Reporter "
        "Librarian Pharmacist Physician Internship"
    ).split()
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")

_LOCATIONS = frozenset(
    "北京 上海 广州 深圳 杭州 南京 苏州 成都 重庆 武汉 西安 天津 长沙 郑州 青岛 厦门 宁波 合肥 济南 "
    "福州 大连 沈阳 哈尔滨 昆明 南昌 石家庄 太原 长春 贵阳 南宁 香港 澳门 台北 海口 珠海 东莞 佛山 无锡 "
    "中国 美国 英国 新加坡 远程 beijing shanghai guangzhou shenzhen hangzhou chengdu hong kong "
    "singapore london new york san francisco seattle boston chicago los angeles toronto "
    "vancouver sydney melbourne tokyo paris berlin remote china usa us uk united states "
    "united kingdom canada australia".split(" ")
)
_LOCATION_RE = re.compile(r"^(?:[A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?, ?[A-Z]{2})$")

_FIELD_LABEL_RE = re.compile(
    r"^(?P<label>公司名称|工作单位|公司|单位|任职单位|employer|company|organi[sz]ation|"
    r"职位|职务|岗位|担任职务|title|position|role|job title|时间|工作时间|dates?|period|"
    r"学校|毕业院校|毕业学校|院校|school|university|学历|最高学历|degree|专业|所学专业|major|"
    r"地点|城市|location|部门|department)\s*:\s*",
    re.I,
)
# fmt: off
_EMPLOYER_LABELS = frozenset(
    {
        "company", "employer", "organisation", "organization", "任职单位", "公司", "公司名称", "单位", "工作单位",
    }
)
# fmt: on
_ROLE_LABELS = frozenset(
    {"职位", "职务", "岗位", "担任职务", "title", "position", "role", "job title"}
)
# fmt: off
_IGNORED_LABELS = frozenset(
    {
        "date", "dates", "department", "location", "period", "地点", "城市", "工作时间", "时间", "部门",
    }
)
# fmt: on
_SCHOOL_LABELS = frozenset({"学校", "毕业院校", "毕业学校", "院校", "school", "university"})
_MAJOR_LABELS = frozenset({"专业", "所学专业", "major"})

_DESCRIPTION_RE = re.compile(
    r"^(?:负责|主要|工作内容|工作职责|职责|岗位职责|描述|业绩|成果|项目|参与|协助|完成|带领|通过|"
    r"responsib|duties|led |managed |built |developed |designed |worked |achievements?|project)",
    re.I,
)
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]")
_FULL_STOP_RE = re.compile(r"\.(?=\s|$)")
SENTENCE_MIN_WORDS = 5
"""Words before a full stop that make a sentence (``Acme Inc.`` is a name, not a sentence)."""
_INTERN_RE = re.compile(r"实习|(?<![A-Za-z])intern(?:ship)?(?![A-Za-z])", re.I)

# --------------------------------------------------------------------------- education

_DEGREE_PATTERNS: tuple[tuple[Degree, str], ...] = (
    (
        Degree.DOCTOR,
        r"博士(?:研究生)?|Ph\.?\s?D\.?|DPhil|Doctor of [A-Z][a-z]+(?: [A-Z][a-z]+)*|Doctorate",
    ),
    (
        Degree.MASTER,
        r"硕士(?:研究生)?|研究生|MBA|MPA|EMBA|M\.?\s?Sc\.?|M\.?\s?Eng\.?|M\.A\.|MA|M\.S\.|MS(?! Office)|"
        r"MFA|LLM|Master(?:'s|’s)?(?: of [A-Z][a-z]+(?: [A-Z][a-z]+)*| degree)?",
    ),
    (
        Degree.BACHELOR,
        r"本科|学士|专升本|B\.?\s?Sc\.?|B\.?\s?Eng\.?|B\.A\.|BA|B\.S\.|BS|BBA|LLB|"
        r"Bachelor(?:'s|’s)?(?: of [A-Z][a-z]+(?: [A-Z][a-z]+)*| degree)?",
    ),
    (
        Degree.ASSOCIATE,
        r"大专|专科|高职|Associate(?:'s|’s)? [Dd]egree|Associate of [A-Z][a-z]+(?: [A-Z][a-z]+)*",
    ),
    (Degree.HIGH_SCHOOL, r"高中|中专|职高|High School Diploma|High School|GED"),
)
_DEGREE_RES = tuple(
    (degree, re.compile(rf"(?<![A-Za-z])(?:{pattern})(?![A-Za-z])"))
    for degree, pattern in _DEGREE_PATTERNS
)
_SCHOOL_ZH_RE = re.compile(
    rf"[{_HAN}()]{{1,20}}(?:大学|学院|学校|中学|高级中学|党校|科学院|研究生院)"
)
_SCHOOL_PREFIX_ZH_RE = re.compile(r"^.*(?:毕业于|就读于|本科|硕士|博士|专业|研究生|大专|在读)")
_SCHOOL_EN_RE = re.compile(
    r"(?:[A-Z][\w'’.&-]{0,30} ){0,3}(?:University|College|Institute|School|Academy|Polytechnic)"
    r"(?: (?:of|for|at|in)(?: (?:(?:the|and|&) )?[A-Z][\w'’.&-]{0,30}){1,6})?"
)
_MAJOR_EN_RE = re.compile(
    r"(?:degree\s+)?(?:in|major(?:ed)?\s+in|major:)\s+(?P<major>[A-Z][\w&'-]*(?:\s+(?:and|&|of)?\s*[A-Z][\w&'-]*){0,5})"
)
_MAJOR_ZH_RE = re.compile(rf"(?P<major>[{_HAN}A-Za-z()]{{2,20}}?)专业")
_EDUCATION_NOISE_RE = re.compile(
    r"全日制|统招|在读|GPA|绩点|排名|主修课程|课程|荣誉|奖学金|Honou?rs|Dean|Cum Laude|Distinction|"
    r"Expected|Graduated|Full-time|Part-time|First Class|Courses|Coursework",
    re.I,
)
_GRADUATION_WORDS_RE = re.compile(r"毕业|入学|时间|graduat|expected|class of|dates?", re.I)
_CITY_STATE_RE = re.compile(r"(?<=,)\s*[A-Z][a-z]+(?: [A-Z][a-z]+)*,\s*[A-Z]{2}(?![A-Za-z])")

# --------------------------------------------------------------------------- claimed years

_CLAIMED_YEARS_RES = (
    re.compile(r"(?:工作年限|工作经验|从业年限|从业经验)\s*:?\s*(\d{1,2}(?:\.\d)?)\s*年"),
    re.compile(
        rf"(?<![\d.])(\d{{1,2}}(?:\.\d)?)\s*(?:\+|多)?\s*年(?:以上)?(?:的)?[{_HAN}]{{0,8}}?(?:工作|从业)?经验"
    ),
    re.compile(
        r"(?<![\d.])(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:years?|yrs?)(?:\s+of)?\s+(?:[\w-]+\s+){0,3}experience",
        re.I,
    ),
)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    """The content (without an inline heading such as ``技能：``)."""
    raw: str
    """The whole line as in the résumé (the ``source`` of what is found on it)."""


@dataclass(slots=True)
class _Block:
    section: Section
    lines: list[_Line] = field(default_factory=list)


YearMonth = tuple[int, int | None]
"""A parsed date: year, month (None when only the year is known)."""


# --------------------------------------------------------------------------- public API


def extract_profile(text: str, reference: tuple[int, int] | None = None) -> Profile:
    """The profile of one résumé's text.

    ``reference`` is the (year, month) that "present" / "至今" stands for; default: this month.
    The text is normalised first (idempotent on :func:`server.resumes.resume_text.extract_text` output).
    """
    if reference is None:
        today = datetime.date.today()
        reference = (today.year, today.month)
    text = normalize_text(text[: 2 * MAX_TEXT_CHARS])[:MAX_TEXT_CHARS]
    blocks = _split_sections(text)
    lines = [line for block in blocks for line in block.lines]
    experience = _experience(blocks, reference)
    name = _name(blocks)
    return Profile(
        language=detect_language(text),
        name=name,
        email=_first_email(lines),
        phone=_first_phone(lines),
        education=tuple(_education(blocks)),
        experience=tuple(job.experience for job in experience),
        experience_years=_experience_years(experience, lines),
        skills=tuple(_skills(blocks)),
        certificates=tuple(_certificates(blocks, _not_certificates(lines, name, experience))),
        text=text,
    )


def _split_sections(text: str) -> list[_Block]:
    """The text's lines grouped by heading; the first block is the header (maybe empty)."""
    blocks = [_Block(Section.HEADER)]
    for raw in (piece for line in text.split("\n") for piece in _cut_long(line)):
        raw = raw.strip()
        plain = _plain_line(raw)
        if not plain:
            continue
        heading = _heading(plain)
        if heading is None:
            blocks[-1].lines.append(_Line(plain, raw))
            continue
        section, rest = heading
        if not (rest and section is blocks[-1].section):  # "学历：本科" inside 教育背景 goes on
            blocks.append(_Block(section))
        if rest:
            blocks[-1].lines.append(_Line(rest, raw))
    return blocks


def _plain_line(text: str) -> str:
    """The line without Markdown emphasis and heading marks (``# Ana Chen``, ``**Skills**``)."""
    return _MARKDOWN_RE.sub("", text).strip()


_MARKDOWN_RE = re.compile(r"^#{1,6}\s+|\*\*|__")


def _cut_long(line: str) -> Iterator[str]:
    while len(line) > MAX_LINE_CHARS:
        cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS)
        cut = cut if cut > 0 else MAX_LINE_CHARS
        yield line[:cut]
        line = line[cut:]
    yield line


# --------------------------------------------------------------------------- headings


def _heading_index() -> dict[str, Section]:
    return {
        _heading_key(title): section for section, titles in _HEADINGS.items() for title in titles
    }


def _heading_key(text: str) -> str:
    return _DECORATION_RE.sub("", text.replace("&", "and")).lower()


def _heading(line: str) -> tuple[Section, str] | None:
    """(section, content after the heading) when the line is or starts with a heading.
    A list item (``• Leadership``) is no heading; a weak heading word (``Languages``,
    ``荣誉``) must stand alone on its line."""
    if _LIST_ITEM_RE.match(line):
        return None
    if (section := _heading_section(line)) is not None:
        return section, ""
    for head, rest in _heading_splits(line):
        if not rest or _heading_key(head) in _WEAK_HEADINGS:
            continue
        if (section := _heading_section(head)) is not None:
            return section, rest.strip()
    return None


def _heading_splits(line: str) -> Iterator[tuple[str, str]]:
    """Ways a line may start with a heading: ``技能：…``, ``教育背景 | …``, ``【技能】…``."""
    for separator in (":", " | "):
        if separator in line:
            head, rest = line.split(separator, 1)
            yield head, rest
    bracket = re.match(r"^\s*[【\[](?P<head>[^】\]]{1,20})[】\]](?P<rest>.*)$", line)
    if bracket:
        yield bracket["head"], bracket["rest"]


def _heading_section(text: str) -> Section | None:
    text = _NUMBERING_RE.sub("", text.strip())
    if not text or len(text) > MAX_HEADING_CHARS or re.search(r"[\d@]", text):
        return None
    cjk = "".join(CJK_RE.findall(text))
    latin = _heading_key(CJK_RE.sub("", text))
    found = [_HEADING_INDEX.get(part) for part in (cjk, latin) if part]
    if not found or None in found:
        return None
    return found[0]


_HEADING_INDEX = _heading_index()
# fmt: off
_WEAK_HEADINGS = frozenset(
    _heading_key(title)
    for title in (
        "教育", "荣誉", "爱好", "其他", "论文", "奖项", "languages", "tools", "technologies",
        "leadership", "research", "training", "activities", "interests", "employment", "profile",
        "contact", "references", "publications", "certification", "volunteering", "honors",
        "honours", "awards", "experience", "summary", "奖励", "奖学金", "scholarships",
        "achievements",
    )
)
# fmt: on
_LIST_ITEM_RE = re.compile(r"^(?:[•*·>]|[-–]\s)")


# --------------------------------------------------------------------------- contact


def _name(blocks: Sequence[_Block]) -> Sourced | None:
    """``姓名：`` / ``Name:`` anywhere; else a name among the fields of the top lines; else a line
    that is only a name (see :func:`_standalone_name`) among the first lines of any section
    but skills, before the first job or school (a side column read before the main one puts
    the name after its certificates); else such a line just before the first email or phone
    (a side column read after the main one)."""
    lines = [line for block in blocks for line in block.lines]
    for line in lines:
        for match in _NAME_KEY_RE.finditer(line.raw):
            value = _name_value(match["value"], explicit=True)
            if value:
                return Sourced(value, _source(line.raw))
    for line in _top_lines(blocks):
        for fragment in _name_fragments(_plain_line(line.raw)):
            value = _name_value(fragment, explicit=False)
            if value:
                return Sourced(value, _source(line.raw))
    early = _early_lines(blocks)
    for i, line in enumerate(early):
        value = _standalone_name(line.text)
        if value and (CJK_RE.search(value) or _name_is_placed(value, early, i)):
            return Sourced(value, _source(line.raw))
    contact = next(
        (i for i, line in enumerate(lines) if _EMAIL_RE.search(line.raw) or _phone_in(line.raw)),
        None,
    )
    for i in range(contact or 0)[::-1][:NAME_CONTACT_LINES]:
        value = _standalone_name(lines[i].text)
        if value:
            return Sourced(value, _source(lines[i].raw))
    return None


def _early_lines(blocks: Sequence[_Block]) -> list[_Line]:
    """The first :data:`NAME_SCAN_WIDE_LINES` lines, up to the first job, school or project
    section, lines of skills sections left out."""
    out: list[_Line] = []
    count = 0
    for block in blocks:
        if block.section in _BODY_SECTIONS or count >= NAME_SCAN_WIDE_LINES:
            break
        for line in block.lines[: NAME_SCAN_WIDE_LINES - count]:
            count += 1
            if block.section not in (Section.SKILLS, Section.SKILLS_CERTIFICATES):
                out.append(line)
    return out


_BODY_SECTIONS = (Section.EXPERIENCE, Section.INTERNSHIP, Section.EDUCATION, Section.PROJECTS)


def _standalone_name(text: str) -> str | None:
    """The line when all of it is a person's name (no separators, digits, skill, certificate
    or award words)."""
    if re.search(r"[|,;/:@\d]", text):
        return None
    value = _name_value(text, explicit=False)
    if value is None or _SKILL_LEXICON_RE.search(value) or _CERTIFICATE_RE.search(value):
        return None
    return None if _is_award(value) else value


def _name_is_placed(value: str, lines: Sequence[_Line], i: int) -> bool:
    """A Latin name away from the top is believed with a middle initial (``Mary R. Taylor``)
    or next to a job title or contact line."""
    if re.search(r"\s[A-Z]\.?\s", value):
        return True
    around = [lines[n].text for n in (i - 1, i + 1) if 0 <= n < len(lines)]
    return any(_role_of(text) or _EMAIL_RE.search(text) or _phone_in(text) for text in around)


def _top_lines(blocks: Sequence[_Block]) -> list[_Line]:
    """The first lines of the résumé (headings excluded), where a bare name can stand."""
    out: list[_Line] = []
    for block in blocks:
        if block.section not in (Section.HEADER, Section.OTHER):
            break
        out.extend(block.lines)
    return out[:NAME_SCAN_LINES]


def _name_fragments(raw: str) -> list[str]:
    text = _RESUME_TITLE_RE.sub("", raw).strip()
    parts = [part.strip() for part in re.split(r"[|,;/]|\s[-–—]\s", text) if part.strip()]
    out: list[str] = []
    for part in parts[:3]:
        if CJK_RE.search(part):
            out.append(part)
            out.extend(part.split(" ") if not _CJK_NAME_RE.match(part) else [])
        else:
            out.append(part)
    return out


def _name_value(value: str, explicit: bool) -> str | None:
    value = value.strip()
    if explicit:
        value = re.split(r"\s*\S+\s*:", value)[0].strip()
        if CJK_RE.match(value) and not _CJK_NAME_RE.match(value):
            value = re.split(r"[\s(]", value)[0]
    if CJK_RE.search(value):
        return _cjk_name(value, explicit)
    return _latin_name(value)


def _cjk_name(value: str, explicit: bool) -> str | None:
    if _ETHNIC_NAME_RE.match(value):
        return value
    if not _CJK_NAME_RE.match(value) or _NOT_NAME_RE.search(value):
        return None
    compact = value.replace(" ", "")
    if _heading_section(compact) or _ROLE_ZH_RE.search(compact) or _EMPLOYER_ZH_RE.match(compact):
        return None
    if compact in _LOCATIONS:
        return None
    if not explicit and compact[0] not in _SURNAMES and compact[:2] not in _COMPOUND_SURNAMES:
        return None
    return compact


def _latin_name(value: str) -> str | None:
    value = _HONORIFIC_RE.sub("", value)
    words = value.split()
    if not 2 <= len(words) <= 4 or any(ch.isdigit() or ch == "@" for ch in value):
        return None
    for index, word in enumerate(words):
        lowered = word.lower().strip(".")
        if lowered in _NAME_PARTICLES or (
            0 < index < len(words) - 1 and re.fullmatch(r"[A-Z]\.?", word)
        ):
            continue
        if not _is_name_word(word) or lowered in _NAME_STOPWORDS:
            return None
    if value.lower() in _LOCATIONS or _EMPLOYER_EN_RE.search(value) or _heading_section(value):
        return None
    return value


# fmt: off
def _is_name_word(word: str) -> bool:
    """``Smith``, ``O'Neil``, ``McDonald``, ``José``, ``SMITH``, or an initial ``A.``."""
    if len(word) == 2 and word.endswith("."):
        return word[0].isupper()
    letters = word.replace("-", "").replace("'", "").replace("’", "")
    return len(word) >= 2 and word[0].isupper() and letters.isalpha() and word[-1].isalpha()


_NAME_STOPWORDS = frozenset(
    {
        "curriculum", "vitae", "resume", "résumé", "cv", "profile", "summary", "contact",
        "information", "personal", "details", "page", "objective", "references", "address",
        "phone", "email", "mobile", "senior", "junior", "data", "software", "sales", "marketing",
        "certified", "certification", "certificate", "analytics", "management", "testing",
        "development", "engineering", "design", "skills",
    }
    | _ROLE_WORDS_EN
    | set(_MONTH_NAMES)
    | {word for place in _LOCATIONS for word in place.split()}
)
# fmt: on


def _first_email(lines: Iterable[_Line]) -> Sourced | None:
    for line in lines:
        match = _EMAIL_RE.search(line.raw)
        if match:
            return Sourced(match.group().rstrip("."), _source(line.raw))
    return None


def _first_phone(lines: Iterable[_Line]) -> Sourced | None:
    for line in lines:
        value = _phone_in(line.raw)
        if value:
            return Sourced(value, _source(line.raw))
    return None


def _phone_in(text: str) -> str | None:
    text = _EMAIL_RE.sub(" ", text)
    dates = [m.span() for m in _RANGE_RE.finditer(text)]
    for pattern in _PHONE_RES:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end in dates):
                continue
            value = _normalise_phone(match.group())
            if value:
                return value
    return None


def _normalise_phone(written: str) -> str | None:
    digits = re.sub(r"\D", "", written)
    international = written.lstrip("(").startswith("+")
    if written.startswith("00"):
        digits, international = digits[2:], True
    if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        international = True
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return None
    return ("+" if international else "") + digits


# --------------------------------------------------------------------------- dates


def _parse_date(text: str) -> YearMonth | None:
    text = text.strip()
    if match := _YM_RE.search(text):
        return int(match[1]), int(match[2])
    if match := _NAMED_RE.search(text):
        return int(match[2]), _MONTH_NAMES[match[1].lower()]
    if match := _MY_RE.search(text):
        return int(match[2]), int(match[1])
    if match := _Y_RE.search(text):
        return int(match.group()), None
    return None


def _date_value(date: YearMonth | None) -> str | None:
    if date is None:
        return None
    year, month = date
    return f"{year:04d}" if month is None else f"{year:04d}-{month:02d}"


def _range_dates(match: re.Match[str]) -> tuple[YearMonth | None, YearMonth | None, bool]:
    """(start, end, end is "present")."""
    start = _parse_date(match["start"])
    if _PRESENT_RE.match(match["end"].strip()):
        return start, None, True
    return start, _parse_date(match["end"]), False


def _month_index(date: YearMonth) -> int:
    year, month = date
    return year * MONTHS_PER_YEAR + (month or YEAR_ONLY_MONTH) - 1


def _interval(
    start: YearMonth | None, end: YearMonth | None, present: bool, reference: tuple[int, int]
) -> tuple[int, int] | None:
    """``[first, last)`` as month indices, both end months counted the way résumés are read:
    ``2019.07–2022.06`` is 36 months, "present" includes the ``reference`` month. A year-only
    end stands for its July, exclusive (``2016–2019`` stays 36 months). ``last`` is clipped to
    the end of the ``reference`` month. None when a date is missing, the start is after the
    end or the start is after ``reference``."""
    if start is None or (end is None and not present):
        return None
    now = _month_index(reference)
    first = _month_index(start)
    if end is None:  # present
        stated, last = now, now + 1
    else:
        stated = _month_index(end)
        last = stated + 1 if end[1] is not None else stated
    if first > min(stated, now):
        return None
    return first, min(last, now + 1)


# --------------------------------------------------------------------------- fragments


def _fragments(text: str) -> list[str]:
    """A line cut into fields: on ``|``, commas, semicolons, spaced dashes, `` at ``, and on
    spaces between Chinese fields (``某某公司 运营经理``)."""
    parts = _FIELD_SPLIT_RE.split(_DURATION_RE.sub(" ", text))
    out: list[str] = []
    for part in parts:
        part = part.strip(" -–—·:")
        if part.count("(") != part.count(")"):
            part = part.strip("()")
        if not part:
            continue
        if CJK_RE.search(part) and " " in part and not _FIELD_LABEL_RE.match(part):
            out.extend(piece for piece in part.split(" ") if piece.strip(" -–—·"))
        else:
            out.append(part)
    return out


def _is_sentence(text: str) -> bool:
    if _SENTENCE_END_RE.search(text):
        return True
    stops = [
        match.start()
        for match in _FULL_STOP_RE.finditer(text)
        if not _is_abbreviation(_word_before(text, match.start()))
    ]
    return bool(stops) and len(text[: stops[-1]].split()) >= SENTENCE_MIN_WORDS


def _word_before(text: str, end: int) -> str:
    """The Latin letters right before ``end``."""
    start = end
    while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
        start -= 1
    return text[start:end]


def _is_abbreviation(word: str) -> bool:
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _is_location(fragment: str) -> bool:
    bare = re.sub(r"[市省]$", "", fragment.strip()).lower()
    return bare in _LOCATIONS or bool(_LOCATION_RE.match(fragment.strip()))


def _is_plain_field(
    fragment: str, max_chars: int = MAX_ORG_CHARS, max_words: int = MAX_FIELD_WORDS
) -> bool:
    """Short, not a sentence, not a description, has letters: can name an employer or a role."""
    if len(fragment) > max_chars or _is_sentence(fragment):
        return False
    if _DESCRIPTION_RE.match(fragment) or _DATE_RE.search(fragment):
        return False
    if len(_WORD_RE.findall(fragment)) > max_words:
        return False
    return bool(re.search(rf"[A-Za-z{_HAN}]", fragment))


def _role_of(fragment: str) -> str | None:
    if not _is_plain_field(fragment):
        return None
    if CJK_RE.search(fragment):
        return fragment if _ROLE_ZH_RE.search(fragment) else None
    words = [word.lower() for word in _WORD_RE.findall(fragment)]
    if not words or len(words) > 6:
        return None
    if words[-1] in _ROLE_WORDS_EN or (
        any(word in _ROLE_WORDS_EN for word in words) and not _EMPLOYER_EN_RE.search(fragment)
    ):
        return fragment
    return None


def _employer_of(fragment: str) -> str | None:
    if CJK_RE.search(fragment):
        if not _is_plain_field(fragment):
            return None
        match = _EMPLOYER_ZH_RE.match(fragment)
        return match["org"] if match and len(match["org"]) >= 3 else None
    legal = _ends_with_legal_form(fragment)
    if not _is_plain_field(
        fragment,
        MAX_LEGAL_NAME_CHARS if legal else MAX_ORG_CHARS,
        MAX_LEGAL_NAME_WORDS if legal else MAX_FIELD_WORDS,
    ):
        return None
    match = _EMPLOYER_EN_RE.search(fragment.title() if fragment.isupper() else fragment)
    if match is None and fragment.isupper():
        match = _EMPLOYER_EN_RE.search(fragment)  # "LLC" is no title-case word
    if match and fragment.strip() != match.group().strip():
        return fragment
    return None


def _ends_with_legal_form(fragment: str) -> bool:
    return any(m.end() == len(fragment.rstrip()) for m in _LEGAL_FORM_RE.finditer(fragment))


# --------------------------------------------------------------------------- experience


@dataclass(slots=True)
class _JobFields:
    employer: str | None = None
    role: str | None = None
    leftovers: list[tuple[str, str | None]] = field(default_factory=list)
    """Plain fields no lexicon recognised, each with its `` at `` hint (see :func:`_at_hint`)."""


@dataclass(frozen=True, slots=True)
class _Job:
    experience: Experience
    internship: bool
    """实习 / intern in the role or line, or listed under an internship heading."""
    interval: tuple[int, int] | None
    """``[first, last)`` as month indices, both end months included (see :func:`_interval`)."""


def _experience(blocks: Sequence[_Block], reference: tuple[int, int]) -> list[_Job]:
    job_sections = (Section.EXPERIENCE, Section.INTERNSHIP)
    jobs: list[_Job] = []
    has_section = any(block.section in job_sections for block in blocks)
    for block in blocks:
        if block.section in job_sections:
            jobs.extend(_block_jobs(block, reference, strict=False))
        elif block.section is Section.HEADER and not has_section:
            jobs.extend(_block_jobs(block, reference, strict=True))
    unique = {
        (j.experience.employer, j.experience.role, j.experience.start, j.experience.end): j
        for j in jobs
    }
    return list(unique.values())


def _block_jobs(block: _Block, reference: tuple[int, int], strict: bool) -> Iterator[_Job]:
    """Jobs in one section. ``strict``: only lines that name an employer or role by lexicon
    (outside an experience section a bare date range is no evidence of a job)."""
    lines = block.lines
    dated = [(i, m) for i, line in enumerate(lines) if (m := _RANGE_RE.search(line.text))]
    if not dated:
        return
    header_before = any(_is_header_line(line.text) for line in lines[: dated[0][0]])
    dated_rows = {i for i, _ in dated}
    for i, match in dated:
        if strict and _degree(lines[i].text):
            continue  # "本科 四川大学 2012-2016": education, not a job
        neighbours = _neighbours(lines, i, dated_rows, header_before)
        job = _job_fields(lines[i].text, match, [lines[n].text for n in neighbours], strict)
        if job.employer is None and job.role is None:
            continue
        start, end, present = _range_dates(match)
        interval = _interval(start, end, present, reference)
        used = sorted({i, *neighbours})
        source = "\n".join(lines[n].raw for n in used)
        internship = block.section is Section.INTERNSHIP or bool(_INTERN_RE.search(source))
        experience = Experience(
            employer=job.employer,
            role=job.role,
            start=_date_value(start),
            end="present" if present else _date_value(end),
            months=None if interval is None else interval[1] - interval[0],
            source=_source(source),
        )
        yield _Job(experience, internship, interval)


def _neighbours(
    lines: Sequence[_Line], i: int, dated_rows: set[int], header_before: bool
) -> list[int]:
    """Indices of the short lines next to date line ``i`` that belong to its job."""
    found: list[int] = []
    step = -1 if header_before else 1
    n = i + step
    while 0 <= n < len(lines) and abs(n - i) <= MAX_ENTRY_NEIGHBOUR_LINES:
        if n in dated_rows or not _is_header_line(lines[n].text):
            break
        found.append(n)
        n += step
    if header_before:
        after = i + 1
        if (
            after < len(lines)
            and after not in dated_rows
            and _is_header_line(lines[after].text)
            and after + 1 not in dated_rows
            and not (after + 1 < len(lines) and _is_header_line(lines[after + 1].text))
        ):
            found.append(after)
    return found


def _is_header_line(text: str) -> bool:
    """A short line naming an employer or a role (no bullet, no sentence)."""
    if len(text) > MAX_HEADER_LINE_CHARS or _BULLET_RE.match(text) or _DESCRIPTION_RE.match(text):
        return False
    if _AT_LINE_RE.match(text):
        return True
    fragments = _job_fragments(text)
    return any(_role_of(f) or _employer_of(f) or _labelled(f)[0] for f in fragments)


_AT_LINE_RE = re.compile(r"^[A-Z][\w&'’.-]*(?: [A-Z][\w&'’.-]*){0,5} (?:at|@) [A-Z0-9]")
"""``Content Wrangler at Zephyr``: a title-case role, then its employer."""


def _labelled(fragment: str) -> tuple[str | None, str]:
    """(``employer``/``role``/``ignore`` or None, value) for ``公司：…``-style fragments."""
    match = _FIELD_LABEL_RE.match(fragment)
    if not match:
        return None, fragment
    label = match["label"].lower()
    value = fragment[match.end() :].strip()
    if label in _EMPLOYER_LABELS:
        return "employer", value
    if label in _ROLE_LABELS:
        return "role", value
    return ("ignore" if label in _IGNORED_LABELS else None), value


def _job_fields(
    date_line: str, match: re.Match[str], others: Sequence[str], strict: bool
) -> _JobFields:
    job = _JobFields()
    rest = (date_line[: match.start()] + " | " + date_line[match.end() :]).strip(" |")
    for text in (rest, *others):
        text = _US_PLACE_RE.sub(" | ", text)
        for fragment in _job_fragments(text):
            _take_fragment(job, fragment, _at_hint(text, fragment))
    if not strict:
        _fill_from_leftovers(job)
    return job


def _job_fragments(text: str) -> list[str]:
    """The fields of a job line (:func:`_fragments`), a Latin field holding an employer that
    ends with a legal form and a job title, in either order, cut in two (``Blue Lake Trading
    Co. Accountant``, ``Data Analyst Hangzhou Cloud Tech Co., Ltd.``)."""
    return [piece for fragment in _fragments(text) for piece in _legal_name_split(fragment)]


def _legal_name_split(fragment: str) -> list[str]:
    """``[employer, role]`` or ``[role, employer]`` when the field is both, each side known by
    its own cue (a legal form ending the employer, a title word ending the role, no employer
    word in it); else ``[fragment]``."""
    if CJK_RE.search(fragment):
        return [fragment]
    for form in _LEGAL_FORM_RE.finditer(fragment):
        employer, role = fragment[: form.end()].strip(), fragment[form.end() :].strip(" ,")
        if role and _employer_of(employer) and _is_bare_role(role):
            return [employer, role]
    if not _ends_with_legal_form(fragment):
        return [fragment]
    words = fragment.split()
    for cut in range(len(words) - 2, 0, -1):  # the last title word ends the role
        role, employer = " ".join(words[:cut]), " ".join(words[cut:])
        if words[cut - 1].lower() in _ROLE_WORDS_EN and _is_bare_role(role):
            return [role, employer] if _employer_of(employer) else [fragment]
    return [fragment]


def _is_bare_role(text: str) -> bool:
    """A job title ending with a title word, without an employer word."""
    words = _WORD_RE.findall(text)
    return (
        bool(words)
        and words[-1].lower() in _ROLE_WORDS_EN
        and _role_of(text) is not None
        and not _EMPLOYER_EN_RE.search(text)
    )


def _at_hint(text: str, fragment: str) -> str | None:
    """``role`` / ``employer`` for the fragment before / after `` at `` (``Analyst at Zephyr``)."""
    if f"{fragment} at " in text or f"{fragment} @ " in text:
        return "role"
    if f" at {fragment}" in text or f" @ {fragment}" in text:
        return "employer"
    return None


def _fill_from_leftovers(job: _JobFields) -> None:
    """Employer and role that no lexicon recognised, by position: `` at `` says which is
    which; else the first field left is the employer, the next one the role (``Lumen Studio |
    Growth Hacker``, ``某某公司 | 法务``)."""
    left = list(job.leftovers)
    if job.employer is None:
        pick = _leftover(left, "employer")
        if pick is not None:
            job.employer = pick[0]
            left.remove(pick)
    if job.role is None:
        pick = _leftover(left, "role")
        if pick is not None and _may_be_role(pick[0]):
            job.role = pick[0]


def _leftover(left: list[tuple[str, str | None]], kind: str) -> tuple[str, str | None] | None:
    return next((lo for lo in left if lo[1] == kind), None) or next(
        (lo for lo in left if lo[1] is None), None
    )


def _may_be_role(text: str) -> bool:
    words = _WORD_RE.findall(text)
    return (
        len(words) <= MAX_ROLE_WORDS
        and not re.search(r"\d", text)
        and not _NOT_ROLE_RE.search(text)
        and _degree(text) is None
    )


MAX_ROLE_WORDS = 6
"""Most words in a job title taken by position (no role word recognised)."""

_NOT_ROLE_RE = re.compile(
    r"[部处科室组]$|中心$|团队|事业群|全职|兼职|(?<![A-Za-z])(?:department|dept|team|division|"
    r"full[- ]time|part[- ]time|contract|freelance|temporary|permanent|hybrid|on-?site)(?![A-Za-z])",
    re.I,
)
_US_PLACE_RE = re.compile(  # "Austin, TX": a place, not two fields
    r"(?<![A-Za-z])[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}, ?(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|"
    r"IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|"
    r"TX|UT|VT|VA|WA|WV|WI|WY|ON|BC|QC|AB)(?![A-Za-z])"
)


def _take_fragment(job: _JobFields, fragment: str, hint: str | None = None) -> None:
    kind, value = _labelled(fragment)
    if kind == "employer" and value and job.employer is None:
        job.employer = value
        return
    if kind == "role" and value and job.role is None:
        job.role = value
        return
    if kind is not None or not value:
        return
    split = _EMPLOYER_SPLIT_ZH_RE.match(value)
    if split and _ROLE_ZH_RE.search(split["rest"]) and job.employer is None:
        job.employer, value = split["org"], split["rest"]
    role, employer = _role_of(value), _employer_of(value)
    if role and employer:  # "Hospital Administrator": the last word decides
        words = _WORD_RE.findall(value)
        employer, role = (
            (None, role) if words and words[-1].lower() in _ROLE_WORDS_EN else (employer, None)
        )
    if employer:
        job.employer = job.employer or employer
    elif role:
        job.role = job.role or role
    elif _is_plain_field(value) and not _is_location(value):
        job.leftovers.append((value, hint))


def _experience_years(jobs: Sequence[_Job], lines: Sequence[_Line]) -> float:
    """Union of the non-internship jobs' intervals (both end months counted, see
    :func:`_interval`) in years (one decimal). Without any job at all, the largest "N years of
    experience" the résumé claims (``5年运营经验``, ``工作年限：5年``, ``over 5 years of
    experience``); 0.0 when it claims none."""
    if not jobs:
        return _claimed_years(lines)
    intervals = sorted(job.interval for job in jobs if job.interval and not job.internship)
    total = 0
    current: tuple[int, int] | None = None
    for first, last in intervals:
        if current is None or first > current[1]:
            total += 0 if current is None else current[1] - current[0]
            current = (first, last)
        else:
            current = (current[0], max(current[1], last))
    total += 0 if current is None else current[1] - current[0]
    return _years(total)


def _years(months: int) -> float:
    """Months as years with one decimal, halves rounded up (63 months is 5.3 years)."""
    return float((Decimal(months) / MONTHS_PER_YEAR).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _claimed_years(lines: Sequence[_Line]) -> float:
    best = 0.0
    for line in lines:
        for pattern in _CLAIMED_YEARS_RES:
            for match in pattern.finditer(line.raw):
                years = float(match[1])
                if years <= MAX_CLAIMED_YEARS:
                    best = max(best, years)
    return best


# --------------------------------------------------------------------------- education


@dataclass(slots=True)
class _School:
    degree: Degree | None = None
    degree_text: str | None = None
    major: str | None = None
    school: str | None = None
    start: str | None = None
    end: str | None = None
    raws: list[str] = field(default_factory=list)
    weak_major: bool = False
    """The major is a guess from a leftover field, replaced by an explicit one when merging."""

    def conflicts(self, other: _School) -> bool:
        return any(
            getattr(self, key) is not None and getattr(other, key) is not None
            for key in ("degree", "school", "end")
        )

    def merge(self, other: _School) -> None:
        if self.weak_major and other.major and not other.weak_major:
            self.major = None
        if self.major is None:
            self.weak_major = other.weak_major
        for key in ("degree", "degree_text", "major", "school", "start", "end"):
            if getattr(self, key) is None:
                setattr(self, key, getattr(other, key))
        self.raws.extend(raw for raw in other.raws if raw not in self.raws)

    def freeze(self) -> Education:
        return Education(
            degree=self.degree.key if self.degree else None,
            degree_text=self.degree_text,
            major=self.major,
            school=self.school,
            start=self.start,
            end=self.end,
            source=_source("\n".join(self.raws)),
        )


def _education(blocks: Sequence[_Block]) -> list[Education]:
    entries: list[_School] = []
    for block in blocks:
        if block.section is Section.EDUCATION:
            entries.extend(_block_schools(block.lines))
    if not any(entry.school or entry.degree for entry in entries):
        header = [
            line for block in blocks if block.section is Section.HEADER for line in block.lines
        ]
        entries = [e for e in (_school_fields(line) for line in header) if e.degree is not None]
    return _dedupe_schools([entry for entry in entries if entry.school or entry.degree])


def _block_schools(lines: Sequence[_Line]) -> list[_School]:
    entries: list[_School] = []
    current: _School | None = None
    for line in lines:
        found = _school_fields(line)
        if (
            found.school is None
            and found.degree is None
            and found.major is None
            and found.end is None
        ):
            continue
        if (
            current is None
            or current.conflicts(found)
            or len(current.raws) > MAX_ENTRY_NEIGHBOUR_LINES
        ):
            current = found
            entries.append(current)
        else:
            current.merge(found)
    return entries


def _dedupe_schools(entries: list[_School]) -> list[Education]:
    """Drop a bare degree (``学历：本科``) that a fuller entry of the same level repeats."""
    out: list[Education] = []
    for entry in entries:
        bare = entry.school is None and entry.major is None and entry.end is None
        if bare and any(o is not entry and o.degree == entry.degree and o.school for o in entries):
            continue
        out.append(entry.freeze())
    return out


def _school_fields(line: _Line) -> _School:
    """What one education line says. Its dates count only when it also names a school or a
    degree, or holds nothing else (``2015.09-2019.06``, ``毕业时间：2019.06``): not the year
    of a scholarship."""
    text = _CITY_STATE_RE.sub(" | ", line.text)
    found = _School(raws=[line.raw])
    dates: tuple[str | None, str | None] = (None, None)
    if match := _RANGE_RE.search(text):
        start, end, present = _range_dates(match)
        dates = (_date_value(start), "present" if present else _date_value(end))
        text = text[: match.start()] + " | " + text[match.end() :]
    elif match := _DATE_RE.search(text):
        dates = (None, _date_value(_parse_date(match.group())))
        text = text[: match.start()] + " | " + text[match.end() :]
    leftovers: list[str] = []
    for fragment in _fragments(text):
        _take_school_fragment(found, fragment, leftovers)
    if found.school or found.degree or all(_GRADUATION_WORDS_RE.search(f) for f in leftovers):
        found.start, found.end = dates
    if found.major is None and (found.degree or (found.school and CJK_RE.search(found.school))):
        found.major = next((f for f in leftovers if _is_major(f)), None)
        found.weak_major = found.major is not None
    return found


def _take_school_fragment(found: _School, fragment: str, leftovers: list[str]) -> None:
    label_match = _FIELD_LABEL_RE.match(fragment)
    label = label_match["label"].lower() if label_match else None
    value = fragment[label_match.end() :].strip() if label_match else fragment
    if not value:
        return
    if label in _MAJOR_LABELS:
        found.major = found.major or _clean_major(value)
        return
    degree = _degree(value)
    if degree and found.degree is None:
        found.degree, found.degree_text = degree
        if (major := _major_after_degree(value, degree[1])) and found.major is None:
            found.major = major
    school = _school(value, labelled=label in _SCHOOL_LABELS)
    if school:
        found.school = school if found.school is None else f"{found.school} {school}"
        after = value[value.find(school) + len(school) :]
        if (zh_major := _MAJOR_ZH_RE.search(after)) and found.major is None:
            found.major = _clean_major(zh_major["major"])
        return
    if (zh_major := _MAJOR_ZH_RE.search(value)) and found.major is None:
        found.major = _clean_major(zh_major["major"])
        return
    if not degree:
        leftovers.append(value)


def _degree(text: str) -> tuple[Degree, str] | None:
    best: tuple[int, Degree, str] | None = None
    for degree, pattern in _DEGREE_RES:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), degree, match.group().strip())
    return None if best is None else (best[1], best[2])


def _major_after_degree(text: str, degree_text: str) -> str | None:
    after = text[text.find(degree_text) + len(degree_text) :].lstrip(" .,:-–—")
    if match := _MAJOR_EN_RE.match(after):
        return _clean_major(match["major"])
    bare = after.strip(" .,-–—:")
    if bare and not CJK_RE.search(bare) and _is_major(bare):
        return bare
    return None


def _school(text: str, labelled: bool) -> str | None:
    if CJK_RE.search(text):
        matches = list(_SCHOOL_ZH_RE.finditer(text))
        if not matches:
            return text.strip() if labelled and len(text) <= MAX_ORG_CHARS else None
        name = _SCHOOL_PREFIX_ZH_RE.sub("", matches[0].group()).strip("()")
        return name if len(name) >= 3 else None
    source = text.title() if text.isupper() else text
    match = _SCHOOL_EN_RE.search(source)
    if match:
        end = match.end()
        city = re.match(r"\s+([A-Z][a-z]+(?: [A-Z][a-z]+)?)", text[end:])
        if city and city[1].lower() in _LOCATIONS:
            end += city.end()
        name = text[match.start() : end].strip()
        return name if len(name.split()) >= 2 else None
    return text.strip() if labelled and len(text) <= MAX_ORG_CHARS else None


def _is_major(fragment: str) -> bool:
    if not _is_plain_field(fragment) or _EDUCATION_NOISE_RE.search(fragment):
        return False
    if _is_location(fragment) or _degree(fragment) or _school(fragment, labelled=False):
        return False
    if re.search(r"\d", fragment):
        return False
    if CJK_RE.search(fragment):
        return 2 <= len(fragment) <= 20 and not re.search("[A-Za-z]{3,}", fragment)
    words = fragment.split()
    return 1 <= len(words) <= 5 and all(
        w[0].isupper() or w.lower() in ("and", "of", "&", "in") for w in words
    )


def _clean_major(text: str) -> str | None:
    text = re.sub(r"专业$", "", text.strip(" .,:;()-–—"))
    text = re.sub(r"^(?:主修|所学|本科|硕士|博士|研究生|大专|专科)+", "", text)
    return text if 2 <= len(text) <= MAX_ORG_CHARS else None


# --------------------------------------------------------------------------- skills


def _skills(blocks: Sequence[_Block]) -> list[Sourced]:
    """Items of the skills sections, then lexicon terms on the other lines (award sections
    excepted): every lexicon term when no skills section gave an item, else only technologies
    (:data:`SKILL_LEXICON_TECH`): a listed section is what the candidate claims, a duty or a
    job title mentioning ``data analysis`` is not. A term inside an item already found
    (``Photoshop`` after ``Adobe Photoshop``) is not repeated."""
    found: dict[str, Sourced] = {}
    itemised: set[int] = set()
    for block in blocks:
        if block.section not in (Section.SKILLS, Section.SKILLS_CERTIFICATES):
            continue
        for line in block.lines:
            itemised.add(id(line))
            for item in _section_items(line.text, _SKILL_PREFIX_RE, _ITEM_SPLIT_RE, _known_skill):
                if _CERTIFICATE_RE.search(item) or _is_award(item):
                    continue
                if block.section is Section.SKILLS_CERTIFICATES and _is_certificate(item):
                    continue
                for value in _skill_values(item, in_section=True):
                    found.setdefault(value.casefold(), Sourced(value, _source(line.raw)))
    pattern = _TECH_SKILL_RE if found else _SKILL_LEXICON_RE
    for block in blocks:
        if block.section is Section.AWARDS:
            continue
        for line in block.lines:
            if id(line) in itemised:
                continue
            for term in _lexicon_matches(line.raw, pattern):
                if not any(_has_word(key, term.casefold()) for key in found):
                    found[term.casefold()] = Sourced(term, _source(line.raw))
    return list(found.values())


def _skill_values(item: str, in_section: bool) -> list[str]:
    """The item as written when it names one skill (``SQL``, ``Adobe Photoshop``, ``财务报表分析``),
    else the lexicon terms inside it (``Python进行数据分析``, ``Excel和PPT``)."""
    terms = [m.group() for m in _SKILL_LEXICON_RE.finditer(item)]
    if in_section:
        terms += [m.group() for m in _SKILL_SECTION_RE.finditer(item)]
    longer = bool(terms) and len(item) > max(len(term) for term in terms) + 2
    if longer and (len(terms) > 1 or not _is_skill_name(item)):
        return terms
    if _is_skill_item(item):
        return [item]
    return terms


def _is_skill_name(item: str) -> bool:
    """One name, not a phrase: Latin words each capitalised (``Adobe Photoshop``, ``SQL
    Server``), or Han characters only, without a conjunction or a verb."""
    if not _is_skill_item(item):
        return False
    if CJK_RE.search(item):
        return bool(_CJK_ONLY_RE.fullmatch(item)) and not _CJK_PHRASE_RE.search(item)
    words = item.split()
    return len(words) <= MAX_SKILL_NAME_WORDS and all(
        w[0].isupper() or w[0].isdigit() for w in words
    )


MAX_SKILL_NAME_WORDS = 3
"""Most words in a skill item kept whole around a lexicon term (``Microsoft Power BI``)."""

_CJK_ONLY_RE = re.compile(f"[{_HAN}]+")
_CJK_PHRASE_RE = re.compile("[和与及或并]|进行|使用|运用|完成|能够|负责")


def _is_skill_item(item: str) -> bool:
    if len(item) > MAX_ITEM_CHARS or len(CJK_RE.findall(item)) > MAX_ITEM_CJK_CHARS:
        return False
    if len(_WORD_RE.findall(item)) > MAX_ITEM_WORDS or _is_sentence(item):
        return False
    if (
        re.fullmatch(r"[\d\s.%+-]*", item)
        or _DESCRIPTION_RE.match(item)
        or _SOFT_SKILL_RE.search(item)
    ):
        return False
    return not _heading_section(item) and not _PROFICIENCY_ONLY_RE.fullmatch(item)


def _known_skill(text: str) -> bool:
    return bool(_SKILL_LEXICON_RE.fullmatch(text) or _SKILL_SECTION_RE.fullmatch(text))


def _has_word(text: str, word: str) -> bool:
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or after.isalnum()) or CJK_RE.match(word):
            return True
        start = text.find(word, start + 1)
    return False


_SKILL_PREFIX_RE = re.compile(
    r"^(?:(?:能)?熟练(?:掌握|使用|运用|操作)?|精通|熟悉|掌握|了解|能够使用|会使用|具备|擅长|良好的?|"
    r"proficient (?:in|with)|familiar with|experienced (?:in|with)|skilled in|knowledge of|"
    r"expert in|strong|advanced|basic|working knowledge of|fluent in)\s*",
    re.I,
)
_PROFICIENCY_ONLY_RE = re.compile(
    r"fluent|native|proficient|basic|intermediate|advanced|good|excellent|熟练|精通|良好|一般|母语|流利",
    re.I,
)
_SOFT_SKILL_RE = re.compile(
    r"能力|良好|较强|流利|优秀|认真|负责|沟通|团队|善于|乐于|吃苦|耐劳|积极|^能|^可以|^具有|^对|"
    r"\b(?:ability|strong|excellent|good|team player|communication|hard-working|detail)",
    re.I,
)
_OBJECTIVE_RE = re.compile(
    r"^(?:求职意向|期望职位|应聘职位|应聘岗位|意向岗位|目标职位|objective|desired position)\s*:",
    re.I,
)
_ITEM_SPLIT_RE = re.compile(r"[,;、|]|\s[-–—·]\s|(?:^|\s)[•·●■◆▪]\s*")
"""Separators of skill items: list punctuation, bullets, a spaced dash (``Python - advanced``).
A slash is handled by :func:`_slash_parts`."""
_CERT_SPLIT_RE = re.compile(r"[,;、|]|(?:^|\s)[•·●■◆▪]\s*")
"""Separators of certificate items: list punctuation and bullets only; a spaced dash is part of
the name (``AWS Certified Machine Learning – Specialty``)."""
_ITEM_LABEL_RE = re.compile(r"^(?P<label>[^:]{1,12}):\s*(?P<rest>.*)$")
_ITEM_SUFFIX_RE = re.compile(r"(?:(?<![甲乙丙])等[^等]*|\s?etc\.?)$", re.I)
MIN_SLASH_PART_LETTERS = 3
"""Latin letters each side of a "/" needs to make two items (``Excel/PowerPoint``; not ``A/B
Testing``, ``CI/CD``, ``TCP/IP``, ``UI/UX``)."""
MIN_SLASH_PART_HAN = 2
"""Han characters each side of a "/" needs to make two items (``英语六级/计算机二级``)."""


def _section_items(
    text: str,
    prefix_re: re.Pattern[str],
    split_re: re.Pattern[str],
    known: Callable[[str], bool],
) -> list[str]:
    """Items of a skills or certificates line: split on ``split_re`` and on slashes between
    whole items, without bullets, labels (``编程语言：``), proficiency words and trailing
    ``等``; lists in parentheses become items, other parentheses are dropped. ``known`` says
    whether a text is a term of the lexicon (a label that is one is an item: ``SQL：精通``)."""
    text = _BULLET_RE.sub("", text)
    items: list[str] = []
    label = _ITEM_LABEL_RE.match(text)
    if label:
        if known(label["label"].strip()):
            items.append(label["label"].strip())
        text = label["rest"]
    for inner in re.findall(r"\(([^()]*)\)", text):
        if split_re.search(inner) or "/" in inner:
            text += "," + inner
    text = re.sub(r"\([^()]*\)", "", text)
    for piece in split_re.split(text):
        for part in _slash_parts(piece.strip(" .:-"), known):
            while (stripped := prefix_re.sub("", part)) != part:
                part = stripped
            part = _ITEM_SUFFIX_RE.sub("", part).strip(" .:-")
            if part:
                items.append(part)
    return items


def _slash_parts(piece: str, known: Callable[[str], bool]) -> list[str]:
    """``Excel/PowerPoint`` is two items, ``A/B Testing``, ``CI/CD``, ``CET-4/6`` are one: a
    slash separates items only when each side is a known term or long enough to be one."""
    parts = [part.strip() for part in piece.split("/")]
    if len(parts) > 1 and all(part and (known(part) or _substantial(part)) for part in parts):
        return parts
    return [piece]


def _substantial(part: str) -> bool:
    latin = sum(1 for ch in part if ch.isascii() and ch.isalpha())
    return latin >= MIN_SLASH_PART_LETTERS or len(CJK_RE.findall(part)) >= MIN_SLASH_PART_HAN


def _lexicon_matches(line: str, pattern: re.Pattern[str]) -> Iterator[str]:
    """Skill-lexicon matches on one line, in order; none inside a certificate (``AWS Certified
    …``) or on the line of the job sought (``求职意向：``)."""
    if _OBJECTIVE_RE.match(line):
        return
    certificates = [m.span() for m in _CERTIFICATE_RE.finditer(line)]
    for match in pattern.finditer(line):
        if not any(start <= match.start() < end for start, end in certificates):
            yield match.group()


def _lexicon_re(terms: Iterable[str], ignore_case: bool) -> re.Pattern[str]:
    alternatives = []
    for term in sorted(terms, key=len, reverse=True):
        escaped = re.escape(term)
        if CJK_RE.search(term[0]):
            alternatives.append(escaped)
        else:
            alternatives.append(rf"(?<![A-Za-z0-9_+#.]){escaped}(?![A-Za-z0-9_+#])")
    return re.compile("|".join(alternatives), re.I if ignore_case else 0)


def _combined_skill_re(insensitive: Sequence[str], exact: Sequence[str]) -> re.Pattern[str]:
    either = _lexicon_re(insensitive, ignore_case=True).pattern
    cased = _lexicon_re(exact, ignore_case=False).pattern
    # 英语 inside 大学英语六级 / 英语四级 is a certificate, not the skill
    return re.compile(rf"(?:(?i:{either})|{cased})(?<!大学英语)(?<!专业英语)(?![四六八]级)")


_TECH_SKILL_RE = _combined_skill_re(SKILL_LEXICON_TECH, SKILL_LEXICON_TECH_EXACT_CASE)
_SKILL_LEXICON_RE = _combined_skill_re(
    (*SKILL_LEXICON_TECH, *SKILL_LEXICON),
    (*SKILL_LEXICON_TECH_EXACT_CASE, *SKILL_LEXICON_EXACT_CASE),
)
_SKILL_SECTION_RE = _lexicon_re(SKILL_LEXICON_SECTION_ONLY, ignore_case=False)


# --------------------------------------------------------------------------- certificates


def _not_certificates(
    lines: Sequence[_Line], name: Sourced | None, jobs: Sequence[_Job]
) -> frozenset[str]:
    """Lines a certificates section can hold by accident (a side column read before the main
    one): the candidate's name, the headline title under it, the roles of the jobs."""
    out = {job.experience.role for job in jobs if job.experience.role}
    if name is not None:
        out.add(name.value)
        after = [i + 1 for i, line in enumerate(lines[:-1]) if line.raw == name.source]
        if after and _role_of(headline := _plain_line(lines[after[0]].text)):
            out.add(headline)
    return frozenset(out)


def _certificates(blocks: Sequence[_Block], excluded: frozenset[str]) -> list[Sourced]:
    """Items of the certificates sections, then lexicon matches elsewhere (a match already
    inside an item, or in parentheses right after another match, is not repeated). An award
    (``国家奖学金``, ``Dean's List``), an ``excluded`` line (the name, a job title) or a
    Chinese job title (``合规专员``) is never a certificate."""
    found: dict[str, Sourced] = {}
    itemised: set[int] = set()
    for block in blocks:
        if block.section not in (Section.CERTIFICATES, Section.SKILLS_CERTIFICATES):
            continue
        for line in block.lines:
            for item in _certificate_items(line.text):
                if _is_award(item) or item in excluded:
                    continue
                if _is_certificate(item) or (
                    block.section is Section.CERTIFICATES
                    and not (CJK_RE.search(item) and _role_of(item))
                ):
                    found.setdefault(item.casefold(), Sourced(item, _source(line.raw)))
                    itemised.add(id(line))
    for block in blocks:
        for line in block.lines:
            if id(line) in itemised:
                continue
            for value in _certificate_matches(line.text):
                if not any(value.casefold() in key for key in found):
                    found[value.casefold()] = Sourced(value, _source(line.raw))
    return list(found.values())


def _certificate_matches(text: str) -> Iterator[str]:
    previous_end = -1
    for match in _CERTIFICATE_RE.finditer(text):
        between = text[previous_end : match.start()] if previous_end >= 0 else ""
        previous_end = match.end()
        if between.strip() == "(":  # 注册会计师(CPA): one certificate, two names
            continue
        yield match.group().strip()


def _certificate_items(text: str) -> list[str]:
    """Items of a certificates line, without dates (a year goes whole: ``2023年度``)."""
    text = _YEAR_PERIOD_RE.sub(" ", text)
    text = _RANGE_RE.sub(" ", text)
    text = _DATE_RE.sub(" ", text)
    out = []
    for item in _section_items(text, _CERT_PREFIX_RE, _CERT_SPLIT_RE, _known_certificate):
        item = item.strip(" .:-–—年月")
        if 2 <= len(item) <= MAX_CERT_CHARS and not _is_sentence(item):
            out.append(item)
    return out


def _is_certificate(item: str) -> bool:
    return bool(_CERTIFICATE_RE.search(item) or _CERTIFICATE_CUE_RE.search(item))


def _known_certificate(text: str) -> bool:
    return bool(_CERTIFICATE_RE.fullmatch(text))


def _is_award(item: str) -> bool:
    """An award or honour (``国家励志奖学金``, ``优秀员工``, ``Dean's List``), unless it names a
    certificate (``CFA``)."""
    return bool(_AWARD_RE.search(item)) and not _CERTIFICATE_RE.search(item)


_YEAR_PERIOD_RE = re.compile(rf"(?<!\d){_YEAR}\s*(?:年度|学年|年)")
_CERT_PREFIX_RE = re.compile(
    r"^(?:获得|取得|通过|持有|已获|获评|荣获|被评为|obtained|passed|holder of)\s*", re.I
)
_CERTIFICATE_CUE_RE = re.compile(
    r"证|资格|等级|[一二三四五六八]级|注册|执业|初级|中级|"
    r"certified|certificate|certification|licen[cs]e",
    re.I,
)
_AWARD_RE = re.compile(
    r"奖|优秀|三好|标兵|先进|称号|荣誉|冠军|亚军|季军|金牌|银牌|铜牌|[一二三特]等|"
    r"(?<![A-Za-z])(?:scholarships?|fellowships?|awards?|prizes?|honou?rs?|dean'?s list|medal|"
    r"winner|champion|finalist|cum laude|of the year|distinction)(?![A-Za-z])",
    re.I,
)


def _certificate_re() -> re.Pattern[str]:
    parts = [f"(?:{pattern})" for pattern in CERTIFICATE_PATTERNS_ZH]
    parts += [
        rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])" for pattern in CERTIFICATE_PATTERNS_EN
    ]
    return re.compile("|".join(parts))


_CERTIFICATE_RE = _certificate_re()


# --------------------------------------------------------------------------- helpers


def _source(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_SOURCE_CHARS else text[: MAX_SOURCE_CHARS - 1] + "…"
