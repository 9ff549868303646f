"""Skills and certificates (step 5 of :mod:`server.resumes.extract`).

Items of the skills and certificates sections, plus word lists matched elsewhere:
``server/data/resume/skills.json`` and ``certificates.json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from common.text import CJK_RANGES as _HAN
from common.text import CJK_RE
from server.resumes.extract.dates import DATE_RE, RANGE_RE, YEAR
from server.resumes.extract.fields import DESCRIPTION_RE, WORD_RE, is_sentence, role_of
from server.resumes.extract.lexicon import word_list
from server.resumes.extract.lines import (
    BULLET_RE,
    Block,
    Line,
    Section,
    heading_section,
    plain_line,
    section_lines,
    source_of,
)
from server.resumes.profile import Sourced

if TYPE_CHECKING:
    from server.resumes.extract.experience import Job

MAX_ITEM_CHARS = 30
"""Longest skill item taken from a skills section, in characters."""

MAX_ITEM_CJK_CHARS = 10
"""Most Chinese characters in a skill item (longer is a sentence)."""

MAX_ITEM_WORDS = 4
"""Most Latin words in a skill item."""

MAX_CERT_CHARS = 60
"""Longest certificate item taken from a certificates section, in characters."""

SKILL_LEXICON_TECH = word_list("skills", "tech")
"""Unambiguous technology and tool names: matched anywhere in the text (Latin terms
word-bounded, case-insensitive), also outside the skills section (``built dashboards in
Tableau``)."""

SKILL_LEXICON_TECH_EXACT_CASE = word_list("skills", "tech_exact_case")
"""Technologies matched anywhere, but only as capitalised (``react to`` is no skill)."""

SKILL_LEXICON = word_list("skills", "general")
"""General skills (office tools, methods, languages): inside a skills section always; elsewhere
only when the résumé has no skills section (a job title ``新媒体运营经理`` or a duty ``data
analysis`` is no listed skill)."""

SKILL_LEXICON_EXACT_CASE = word_list("skills", "general_exact_case")
"""General skills matched only as capitalised (``excel at`` is no skill)."""

SKILL_LEXICON_SECTION_ONLY = word_list("skills", "section_only")
"""Ambiguous skills matched (case as written) only inside a skills section."""

CERTIFICATE_PATTERNS_ZH = word_list("certificates", "zh")
"""Chinese certificates matched anywhere (regular expressions)."""

CERTIFICATE_PATTERNS_EN = word_list("certificates", "en")
"""Latin-script certificates matched anywhere (regular expressions, word-bounded)."""

# --------------------------------------------------------------------------- skills


def find_skills(blocks: Sequence[Block]) -> list[Sourced]:
    """Items of the skills sections, then lexicon terms on the other lines (award sections
    excepted): every lexicon term when no skills section gave an item, else only technologies
    (:data:`SKILL_LEXICON_TECH`): a listed section is what the candidate claims, a duty or a
    job title mentioning ``data analysis`` is not. A term inside an item already found
    (``Photoshop`` after ``Adobe Photoshop``) is not repeated."""
    found: dict[str, Sourced] = {}
    itemised: set[int] = set()
    for section, line in section_lines(blocks, (Section.SKILLS, Section.SKILLS_CERTIFICATES)):
        itemised.add(id(line))
        for item in _section_items(line.text, _SKILL_PREFIX_RE, _ITEM_SPLIT_RE, _known_skill):
            if CERTIFICATE_RE.search(item) or is_award(item):
                continue
            if section is Section.SKILLS_CERTIFICATES and _is_certificate(item):
                continue
            for value in _skill_values(item, in_section=True):
                found.setdefault(value.casefold(), Sourced(value, source_of(line.raw)))
    pattern = _TECH_SKILL_RE if found else SKILL_LEXICON_RE
    for _, line in section_lines(blocks, _NOT_AWARDS):
        if id(line) in itemised:
            continue
        for term in _lexicon_matches(line.raw, pattern):
            if not any(_has_word(key, term.casefold()) for key in found):
                found[term.casefold()] = Sourced(term, source_of(line.raw))
    return list(found.values())


_ALL_SECTIONS = frozenset(Section)
_NOT_AWARDS = _ALL_SECTIONS - {Section.AWARDS}


def _skill_values(item: str, in_section: bool) -> list[str]:
    """The item as written when it names one skill (``SQL``, ``Adobe Photoshop``, ``财务报表分析``),
    else the lexicon terms inside it (``Python进行数据分析``, ``Excel和PPT``)."""
    terms = [m.group() for m in SKILL_LEXICON_RE.finditer(item)]
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
    if len(WORD_RE.findall(item)) > MAX_ITEM_WORDS or is_sentence(item):
        return False
    if (
        re.fullmatch(r"[\d\s.%+-]*", item)
        or DESCRIPTION_RE.match(item)
        or _SOFT_SKILL_RE.search(item)
    ):
        return False
    return not heading_section(item) and not _PROFICIENCY_ONLY_RE.fullmatch(item)


def _known_skill(text: str) -> bool:
    return bool(SKILL_LEXICON_RE.fullmatch(text) or _SKILL_SECTION_RE.fullmatch(text))


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
    text = BULLET_RE.sub("", text)
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
    certificates = [m.span() for m in CERTIFICATE_RE.finditer(line)]
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
SKILL_LEXICON_RE = _combined_skill_re(
    (*SKILL_LEXICON_TECH, *SKILL_LEXICON),
    (*SKILL_LEXICON_TECH_EXACT_CASE, *SKILL_LEXICON_EXACT_CASE),
)
"""Any term of the technology and general skill lists."""
_SKILL_SECTION_RE = _lexicon_re(SKILL_LEXICON_SECTION_ONLY, ignore_case=False)


# --------------------------------------------------------------------------- certificates


def not_certificates(
    lines: Sequence[Line], name: Sourced | None, jobs: Sequence[Job]
) -> frozenset[str]:
    """Lines a certificates section can hold by accident (a side column read before the main
    one): the candidate's name, the headline title under it, the roles of the jobs."""
    out = {job.experience.role for job in jobs if job.experience.role}
    if name is not None:
        out.add(name.value)
        after = [i + 1 for i, line in enumerate(lines[:-1]) if line.raw == name.source]
        if after and role_of(headline := plain_line(lines[after[0]].text)):
            out.add(headline)
    return frozenset(out)


def find_certificates(blocks: Sequence[Block], excluded: frozenset[str]) -> list[Sourced]:
    """Items of the certificates sections, then lexicon matches elsewhere (a match already
    inside an item, or in parentheses right after another match, is not repeated). An award
    (``国家奖学金``, ``Dean's List``), an ``excluded`` line (the name, a job title) or a
    Chinese job title (``合规专员``) is never a certificate."""
    found: dict[str, Sourced] = {}
    itemised: set[int] = set()
    for section, line in section_lines(blocks, (Section.CERTIFICATES, Section.SKILLS_CERTIFICATES)):
        for item in _certificate_items(line.text):
            if is_award(item) or item in excluded:
                continue
            if _is_certificate(item) or (
                section is Section.CERTIFICATES and not (CJK_RE.search(item) and role_of(item))
            ):
                found.setdefault(item.casefold(), Sourced(item, source_of(line.raw)))
                itemised.add(id(line))
    for _, line in section_lines(blocks, _ALL_SECTIONS):
        if id(line) in itemised:
            continue
        for value in _certificate_matches(line.text):
            if not any(value.casefold() in key for key in found):
                found[value.casefold()] = Sourced(value, source_of(line.raw))
    return list(found.values())


def _certificate_matches(text: str) -> Iterator[str]:
    previous_end = -1
    for match in CERTIFICATE_RE.finditer(text):
        between = text[previous_end : match.start()] if previous_end >= 0 else ""
        previous_end = match.end()
        if between.strip() == "(":  # 注册会计师(CPA): one certificate, two names
            continue
        yield match.group().strip()


def _certificate_items(text: str) -> list[str]:
    """Items of a certificates line, without dates (a year goes whole: ``2023年度``)."""
    text = _YEAR_PERIOD_RE.sub(" ", text)
    text = RANGE_RE.sub(" ", text)
    text = DATE_RE.sub(" ", text)
    out = []
    for item in _section_items(text, _CERT_PREFIX_RE, _CERT_SPLIT_RE, _known_certificate):
        item = item.strip(" .:-–—年月")
        if 2 <= len(item) <= MAX_CERT_CHARS and not is_sentence(item):
            out.append(item)
    return out


def _is_certificate(item: str) -> bool:
    return bool(CERTIFICATE_RE.search(item) or _CERTIFICATE_CUE_RE.search(item))


def _known_certificate(text: str) -> bool:
    return bool(CERTIFICATE_RE.fullmatch(text))


def is_award(item: str) -> bool:
    """An award or honour (``国家励志奖学金``, ``优秀员工``, ``Dean's List``), unless it names a
    certificate (``CFA``)."""
    return bool(_AWARD_RE.search(item)) and not CERTIFICATE_RE.search(item)


_YEAR_PERIOD_RE = re.compile(rf"(?<!\d){YEAR}\s*(?:年度|学年|年)")
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


CERTIFICATE_RE = _certificate_re()
"""Any certificate of :data:`CERTIFICATE_PATTERNS_ZH` and :data:`CERTIFICATE_PATTERNS_EN`."""
