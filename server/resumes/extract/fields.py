"""The fields of a résumé line and what each names: an employer, a role, a place, a label.

Word lists: ``server/data/resume/employers_roles.json`` and ``places.json``.
"""

from __future__ import annotations

import re

from common.text import CJK_RANGES as _HAN
from common.text import CJK_RE
from server.resumes.extract.dates import DATE_RE
from server.resumes.extract.lexicon import word_list

MAX_ORG_CHARS = 40
"""Longest employer or school name, in characters."""

MAX_LEGAL_NAME_CHARS = 60
"""Longest Latin-script employer name ending with a legal form (``Beijing … Technology Co.,
Ltd.``), in characters."""

MAX_FIELD_WORDS = 6
"""Most Latin words in a field that names an employer or a role."""

MAX_LEGAL_NAME_WORDS = 8
"""Most Latin words in an employer name ending with a legal form."""

_WORDS = "employers_roles"
_EMPLOYER_SUFFIX_ZH = "|".join(word_list(_WORDS, "employer_suffixes_zh"))
EMPLOYER_ZH_RE = re.compile(
    rf"^(?P<org>.{{1,{MAX_ORG_CHARS}}}?(?:{_EMPLOYER_SUFFIX_ZH}))(?:\([^)]*\))?$"
)
"""A whole field naming a Chinese employer (``某某科技有限公司``); group ``org``."""
_EMPLOYER_WORDS_EN = "|".join(word_list(_WORDS, "employer_words_en"))
EMPLOYER_EN_RE = re.compile(rf"(?<![A-Za-z])(?:{_EMPLOYER_WORDS_EN})(?![A-Za-z])")
"""A word of an English employer name (``Inc.``, ``Bank``, ``University``)."""
_DURATION_RE = re.compile(  # "(5年)", "(1年7个月)", "(3 yrs 2 mos)" after an employer
    r"\((?:\s*\d+(?:\.\d)?\s*(?:年|个月|月|years?|yrs?|months?|mos?)\s*)+\)", re.I
)
_FIELD_SPLIT_RE = re.compile(  # not the comma of "Acme, Inc." / "Co., Ltd." / "ACME, LLC"
    r"\s*(?:\||,(?!\s*(?i:inc|ltd|llc|llp|l\.l\.c|co|corp|limited|plc|gmbh|pty|pte)\b(?!-))|;|、"
    r"|\s[-–—·@/]\s|\s+at\s+|\s{2,})\s*"
)
LEGAL_FORM_RE = re.compile(  # the legal form ending a company name, as written or in capitals
    r"(?<![A-Za-z])(?:(?i:co\.?,?\s?ltd|pt[ey]\.?\s?ltd|co|inc|ltd|corp|llc|l\.l\.c|llp|plc|gmbh)"
    r"|Corporation|CORPORATION|Company|COMPANY|Limited|LIMITED)(?![A-Za-z-])\.?"
)
_ABBREVIATIONS = frozenset({"co", "ltd", "inc", "corp", "pty", "pte"})
"""Words whose full stop ends no sentence (``Acme Co., Ltd.``); a capital initial neither."""

_ROLE_SUFFIX_ZH = "|".join(word_list(_WORDS, "role_suffixes_zh"))
ROLE_ZH_RE = re.compile(rf"(?:{_ROLE_SUFFIX_ZH})$")
"""The ending of a Chinese job title (``经理``, ``工程师``)."""
ROLE_WORDS_EN = frozenset(word.lower() for word in word_list(_WORDS, "role_words_en"))
"""Words of an English job title, lowercase."""
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
"""A Latin word."""

LOCATIONS = frozenset(word_list("places", "locations"))
"""Lowercase city and country words: never an employer, a role or a name."""
_LOCATION_RE = re.compile(r"^(?:[A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?, ?[A-Z]{2})$")

FIELD_LABEL_RE = re.compile(  # "公司：", "Position:" before a field's value
    r"^(?P<label>公司名称|工作单位|公司|单位|任职单位|employer|company|organi[sz]ation|"
    r"职位|职务|岗位|担任职务|title|position|role|job title|时间|工作时间|dates?|period|"
    r"学校|毕业院校|毕业学校|院校|school|university|学历|最高学历|degree|专业|所学专业|major|"
    r"地点|城市|location|部门|department)\s*:\s*",
    re.I,
)
DESCRIPTION_RE = re.compile(  # how a duty or achievement starts
    r"^(?:负责|主要|工作内容|工作职责|职责|岗位职责|描述|业绩|成果|项目|参与|协助|完成|带领|通过|"
    r"responsib|duties|led |managed |built |developed |designed |worked |achievements?|project)",
    re.I,
)
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]")
_FULL_STOP_RE = re.compile(r"\.(?=\s|$)")
SENTENCE_MIN_WORDS = 5
"""Words before a full stop that make a sentence (``Acme Inc.`` is a name, not a sentence)."""


def split_fields(text: str) -> list[str]:
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
        if CJK_RE.search(part) and " " in part and not FIELD_LABEL_RE.match(part):
            out.extend(piece for piece in part.split(" ") if piece.strip(" -–—·"))
        else:
            out.append(part)
    return out


def is_sentence(text: str) -> bool:
    """Ends a sentence (``。``, ``;``), or has a full stop after enough words (an abbreviation
    such as ``Co.`` or an initial is no full stop)."""
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


def is_location(fragment: str) -> bool:
    """A city or country (``北京市``, ``Shanghai``), or ``Austin, TX``-style."""
    bare = re.sub(r"[市省]$", "", fragment.strip()).lower()
    return bare in LOCATIONS or bool(_LOCATION_RE.match(fragment.strip()))


def is_plain_field(
    fragment: str, max_chars: int = MAX_ORG_CHARS, max_words: int = MAX_FIELD_WORDS
) -> bool:
    """Short, not a sentence, not a description, has letters: can name an employer or a role."""
    if len(fragment) > max_chars or is_sentence(fragment):
        return False
    if DESCRIPTION_RE.match(fragment) or DATE_RE.search(fragment):
        return False
    if len(WORD_RE.findall(fragment)) > max_words:
        return False
    return bool(re.search(rf"[A-Za-z{_HAN}]", fragment))


def role_of(fragment: str) -> str | None:
    """The fragment when it is a job title (by its ending or its title words), else None."""
    if not is_plain_field(fragment):
        return None
    if CJK_RE.search(fragment):
        return fragment if ROLE_ZH_RE.search(fragment) else None
    words = [word.lower() for word in WORD_RE.findall(fragment)]
    if not words or len(words) > 6:
        return None
    if words[-1] in ROLE_WORDS_EN or (
        any(word in ROLE_WORDS_EN for word in words) and not EMPLOYER_EN_RE.search(fragment)
    ):
        return fragment
    return None


def employer_of(fragment: str) -> str | None:
    """The employer the fragment names (by its ending or an employer word), else None."""
    if CJK_RE.search(fragment):
        if not is_plain_field(fragment):
            return None
        match = EMPLOYER_ZH_RE.match(fragment)
        return match["org"] if match and len(match["org"]) >= 3 else None
    legal = ends_with_legal_form(fragment)
    if not is_plain_field(
        fragment,
        MAX_LEGAL_NAME_CHARS if legal else MAX_ORG_CHARS,
        MAX_LEGAL_NAME_WORDS if legal else MAX_FIELD_WORDS,
    ):
        return None
    match = EMPLOYER_EN_RE.search(fragment.title() if fragment.isupper() else fragment)
    if match is None and fragment.isupper():
        match = EMPLOYER_EN_RE.search(fragment)  # "LLC" is no title-case word
    if match and fragment.strip() != match.group().strip():
        return fragment
    return None


def ends_with_legal_form(fragment: str) -> bool:
    """Ends with a company's legal form (``Co., Ltd.``, ``Inc.``, ``GmbH``)."""
    return any(m.end() == len(fragment.rstrip()) for m in LEGAL_FORM_RE.finditer(fragment))
