"""Education entries: school, degree level, major, dates (step 4 of
:mod:`server.resumes.extract`).

Degree words: ``server/data/resume/degrees.json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from common.text import CJK_RANGES as _HAN
from common.text import CJK_RE
from server.resumes.extract.dates import DATE_RE, RANGE_RE, date_value, parse_date, range_dates
from server.resumes.extract.fields import (
    FIELD_LABEL_RE,
    LOCATIONS,
    MAX_ORG_CHARS,
    is_location,
    is_plain_field,
    split_fields,
)
from server.resumes.extract.lexicon import list_keys, word_list
from server.resumes.extract.lines import (
    MAX_ENTRY_NEIGHBOUR_LINES,
    Block,
    Line,
    Section,
    section_lines,
    source_of,
)
from server.resumes.profile import Degree, Education

_SCHOOL_LABELS = frozenset({"学校", "毕业院校", "毕业学校", "院校", "school", "university"})
_MAJOR_LABELS = frozenset({"专业", "所学专业", "major"})

_DEGREES = "degrees"


def _degree_re(key: str) -> re.Pattern[str]:
    alternatives = "|".join(word_list(_DEGREES, key))
    return re.compile(rf"(?<![A-Za-z])(?:{alternatives})(?![A-Za-z])")


_DEGREE_RES = tuple((Degree.from_key(key), _degree_re(key)) for key in list_keys(_DEGREES))
"""Each degree level, highest first, with its words (``server/data/resume/degrees.json``)."""
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
            source=source_of("\n".join(self.raws)),
        )


def find_education(blocks: Sequence[Block]) -> list[Education]:
    """The entries of the education sections; without any, the header lines that name a
    degree."""
    entries: list[_School] = []
    for block in blocks:
        if block.section is Section.EDUCATION:
            entries.extend(_block_schools(block.lines))
    if not any(entry.school or entry.degree for entry in entries):
        header = [line for _, line in section_lines(blocks, (Section.HEADER,))]
        entries = [e for e in (_school_fields(line) for line in header) if e.degree is not None]
    return _dedupe_schools([entry for entry in entries if entry.school or entry.degree])


def _block_schools(lines: Sequence[Line]) -> list[_School]:
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


def _school_fields(line: Line) -> _School:
    """What one education line says. Its dates count only when it also names a school or a
    degree, or holds nothing else (``2015.09-2019.06``, ``毕业时间：2019.06``): not the year
    of a scholarship."""
    text = _CITY_STATE_RE.sub(" | ", line.text)
    found = _School(raws=[line.raw])
    dates: tuple[str | None, str | None] = (None, None)
    if match := RANGE_RE.search(text):
        start, end, present = range_dates(match)
        dates = (date_value(start), "present" if present else date_value(end))
        text = text[: match.start()] + " | " + text[match.end() :]
    elif match := DATE_RE.search(text):
        dates = (None, date_value(parse_date(match.group())))
        text = text[: match.start()] + " | " + text[match.end() :]
    leftovers: list[str] = []
    for fragment in split_fields(text):
        _take_school_fragment(found, fragment, leftovers)
    if found.school or found.degree or all(_GRADUATION_WORDS_RE.search(f) for f in leftovers):
        found.start, found.end = dates
    if found.major is None and (found.degree or (found.school and CJK_RE.search(found.school))):
        found.major = next((f for f in leftovers if _is_major(f)), None)
        found.weak_major = found.major is not None
    return found


def _take_school_fragment(found: _School, fragment: str, leftovers: list[str]) -> None:
    label_match = FIELD_LABEL_RE.match(fragment)
    label = label_match["label"].lower() if label_match else None
    value = fragment[label_match.end() :].strip() if label_match else fragment
    if not value:
        return
    if label in _MAJOR_LABELS:
        found.major = found.major or _clean_major(value)
        return
    degree = degree_of(value)
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


def degree_of(text: str) -> tuple[Degree, str] | None:
    """The degree level named first in ``text`` and the words naming it."""
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
        if city and city[1].lower() in LOCATIONS:
            end += city.end()
        name = text[match.start() : end].strip()
        return name if len(name.split()) >= 2 else None
    return text.strip() if labelled and len(text) <= MAX_ORG_CHARS else None


def _is_major(fragment: str) -> bool:
    if not is_plain_field(fragment) or _EDUCATION_NOISE_RE.search(fragment):
        return False
    if is_location(fragment) or degree_of(fragment) or _school(fragment, labelled=False):
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
