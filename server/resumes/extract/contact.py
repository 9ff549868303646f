"""The candidate's name, email and phone (step 2 of :mod:`server.resumes.extract`).

Word lists: ``server/data/resume/names.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from common.text import CJK_RANGES as _HAN
from common.text import CJK_RE
from server.resumes.extract.dates import MONTH_NAMES, RANGE_RE
from server.resumes.extract.fields import (
    EMPLOYER_EN_RE,
    EMPLOYER_ZH_RE,
    LOCATIONS,
    ROLE_WORDS_EN,
    ROLE_ZH_RE,
    role_of,
)
from server.resumes.extract.lexicon import word_list
from server.resumes.extract.lines import (
    Block,
    Line,
    Section,
    heading_section,
    plain_line,
    source_of,
)
from server.resumes.extract.skills import CERTIFICATE_RE, SKILL_LEXICON_RE, is_award
from server.resumes.profile import Sourced

NAME_SCAN_LINES = 8
"""Non-empty lines at the top searched for a bare name (without ``姓名：``)."""

NAME_SCAN_WIDE_LINES = 15
"""First lines searched, across headings, for a line that is only a name."""

NAME_CONTACT_LINES = 2
"""Lines before the first email or phone searched for a line that is only a name."""

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
_NAME_PARTICLES = frozenset(word_list("names", "particles"))
_RESUME_TITLE_RE = re.compile(r"(?:的)?(?:个人|求职)?简历$|^(?:个人|求职)?简历\s*[-:]?\s*")
_NOT_NAME_RE = re.compile("|".join(word_list("names", "not_name")))
_SURNAMES = frozenset("".join(word_list("names", "surnames")))
_COMPOUND_SURNAMES = frozenset(word_list("names", "compound_surnames"))


def find_name(blocks: Sequence[Block]) -> Sourced | None:
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
                return Sourced(value, source_of(line.raw))
    for line in _top_lines(blocks):
        for fragment in _name_fragments(plain_line(line.raw)):
            value = _name_value(fragment, explicit=False)
            if value:
                return Sourced(value, source_of(line.raw))
    early = _early_lines(blocks)
    for i, line in enumerate(early):
        value = _standalone_name(line.text)
        if value and (CJK_RE.search(value) or _name_is_placed(value, early, i)):
            return Sourced(value, source_of(line.raw))
    contact = next(
        (i for i, line in enumerate(lines) if _EMAIL_RE.search(line.raw) or _phone_in(line.raw)),
        None,
    )
    for i in range(contact or 0)[::-1][:NAME_CONTACT_LINES]:
        value = _standalone_name(lines[i].text)
        if value:
            return Sourced(value, source_of(lines[i].raw))
    return None


def _early_lines(blocks: Sequence[Block]) -> list[Line]:
    """The first :data:`NAME_SCAN_WIDE_LINES` lines, up to the first job, school or project
    section, lines of skills sections left out."""
    out: list[Line] = []
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
    if value is None or SKILL_LEXICON_RE.search(value) or CERTIFICATE_RE.search(value):
        return None
    return None if is_award(value) else value


def _name_is_placed(value: str, lines: Sequence[Line], i: int) -> bool:
    """A Latin name away from the top is believed with a middle initial (``Mary R. Taylor``)
    or next to a job title or contact line."""
    if re.search(r"\s[A-Z]\.?\s", value):
        return True
    around = [lines[n].text for n in (i - 1, i + 1) if 0 <= n < len(lines)]
    return any(role_of(text) or _EMAIL_RE.search(text) or _phone_in(text) for text in around)


def _top_lines(blocks: Sequence[Block]) -> list[Line]:
    """The first lines of the résumé (headings excluded), where a bare name can stand."""
    out: list[Line] = []
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
    if heading_section(compact) or ROLE_ZH_RE.search(compact) or EMPLOYER_ZH_RE.match(compact):
        return None
    if compact in LOCATIONS:
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
    if value.lower() in LOCATIONS or EMPLOYER_EN_RE.search(value) or heading_section(value):
        return None
    return value


def _is_name_word(word: str) -> bool:
    """``Smith``, ``O'Neil``, ``McDonald``, ``José``, ``SMITH``, or an initial ``A.``."""
    if len(word) == 2 and word.endswith("."):
        return word[0].isupper()
    letters = word.replace("-", "").replace("'", "").replace("’", "")
    return len(word) >= 2 and word[0].isupper() and letters.isalpha() and word[-1].isalpha()


_NAME_STOPWORDS = frozenset(
    set(word_list("names", "stopwords"))
    | ROLE_WORDS_EN
    | set(MONTH_NAMES)
    | {word for place in LOCATIONS for word in place.split()}
)


def first_email(lines: Iterable[Line]) -> Sourced | None:
    """The first email address in the lines."""
    for line in lines:
        match = _EMAIL_RE.search(line.raw)
        if match:
            return Sourced(match.group().rstrip("."), source_of(line.raw))
    return None


def first_phone(lines: Iterable[Line]) -> Sourced | None:
    """The first phone number in the lines, digits only (``+`` when international); a
    number inside a date range is none."""
    for line in lines:
        value = _phone_in(line.raw)
        if value:
            return Sourced(value, source_of(line.raw))
    return None


def _phone_in(text: str) -> str | None:
    text = _EMAIL_RE.sub(" ", text)
    dates = [m.span() for m in RANGE_RE.finditer(text)]
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
