"""Jobs and the years of experience (step 3 of :mod:`server.resumes.extract`).

Each line of an experience section holding a date range starts a job; its employer and role
come from that line and the adjacent short lines (before or after the dates, whichever
layout the section uses). ``experience_years`` is the union of the jobs' months,
internships listed but not counted; without any dated job, the largest claim
(``5年运营经验``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from common.text import CJK_RANGES as _HAN
from common.text import CJK_RE
from server.resumes.extract.dates import (
    MONTHS_PER_YEAR,
    RANGE_RE,
    date_value,
    month_interval,
    range_dates,
)
from server.resumes.extract.education import degree_of
from server.resumes.extract.fields import (
    DESCRIPTION_RE,
    EMPLOYER_EN_RE,
    FIELD_LABEL_RE,
    LEGAL_FORM_RE,
    MAX_ORG_CHARS,
    ROLE_WORDS_EN,
    ROLE_ZH_RE,
    WORD_RE,
    employer_of,
    ends_with_legal_form,
    is_location,
    is_plain_field,
    role_of,
    split_fields,
)
from server.resumes.extract.lexicon import word_list
from server.resumes.extract.lines import (
    BULLET_RE,
    MAX_ENTRY_NEIGHBOUR_LINES,
    Block,
    Line,
    Section,
    source_of,
)
from server.resumes.profile import Experience

MAX_HEADER_LINE_CHARS = 80
"""Longest line (in characters) that can name a job's employer or role."""

MAX_CLAIMED_YEARS = 50
"""Largest "N years of experience" believed by the fallback."""

_SPLIT_SUFFIX_ZH = "|".join(word_list("employers_roles", "employer_split_suffixes_zh"))
_EMPLOYER_SPLIT_ZH_RE = re.compile(  # "某某公司运营经理": an employer, then its role
    rf"^(?P<org>.{{2,{MAX_ORG_CHARS}}}(?:{_SPLIT_SUFFIX_ZH}))(?P<rest>.+)$"
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
_INTERN_RE = re.compile(r"实习|(?<![A-Za-z])intern(?:ship)?(?![A-Za-z])", re.I)

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


@dataclass(slots=True)
class _JobFields:
    employer: str | None = None
    role: str | None = None
    leftovers: list[tuple[str, str | None]] = field(default_factory=list)
    """Plain fields no lexicon recognised, each with its `` at `` hint (see :func:`_at_hint`)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One job found, with what counting the years needs."""

    experience: Experience
    internship: bool
    """实习 / intern in the role or line, or listed under an internship heading."""
    interval: tuple[int, int] | None
    """``[first, last)`` as month indices, both end months included (see :func:`month_interval`)."""


def find_jobs(blocks: Sequence[Block], reference: tuple[int, int]) -> list[Job]:
    """The jobs of the experience and internship sections (without any, the header block's
    dated lines that name an employer or a role), each once."""
    job_sections = (Section.EXPERIENCE, Section.INTERNSHIP)
    jobs: list[Job] = []
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


def _block_jobs(block: Block, reference: tuple[int, int], strict: bool) -> Iterator[Job]:
    """Jobs in one section. ``strict``: only lines that name an employer or role by lexicon
    (outside an experience section a bare date range is no evidence of a job)."""
    lines = block.lines
    dated = [(i, m) for i, line in enumerate(lines) if (m := RANGE_RE.search(line.text))]
    if not dated:
        return
    header_before = any(_is_header_line(line.text) for line in lines[: dated[0][0]])
    dated_rows = {i for i, _ in dated}
    for i, match in dated:
        if strict and degree_of(lines[i].text):
            continue  # "本科 四川大学 2012-2016": education, not a job
        neighbours = _neighbours(lines, i, dated_rows, header_before)
        job = _job_fields(lines[i].text, match, [lines[n].text for n in neighbours], strict)
        if job.employer is None and job.role is None:
            continue
        start, end, present = range_dates(match)
        interval = month_interval(start, end, present, reference)
        used = sorted({i, *neighbours})
        source = "\n".join(lines[n].raw for n in used)
        internship = block.section is Section.INTERNSHIP or bool(_INTERN_RE.search(source))
        experience = Experience(
            employer=job.employer,
            role=job.role,
            start=date_value(start),
            end="present" if present else date_value(end),
            months=None if interval is None else interval[1] - interval[0],
            source=source_of(source),
        )
        yield Job(experience, internship, interval)


def _neighbours(
    lines: Sequence[Line], i: int, dated_rows: set[int], header_before: bool
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
    if len(text) > MAX_HEADER_LINE_CHARS or BULLET_RE.match(text) or DESCRIPTION_RE.match(text):
        return False
    if _AT_LINE_RE.match(text):
        return True
    fragments = _job_fragments(text)
    return any(role_of(f) or employer_of(f) or _labelled(f)[0] for f in fragments)


_AT_LINE_RE = re.compile(r"^[A-Z][\w&'’.-]*(?: [A-Z][\w&'’.-]*){0,5} (?:at|@) [A-Z0-9]")
"""``Content Wrangler at Zephyr``: a title-case role, then its employer."""


def _labelled(fragment: str) -> tuple[str | None, str]:
    """(``employer``/``role``/``ignore`` or None, value) for ``公司：…``-style fragments."""
    match = FIELD_LABEL_RE.match(fragment)
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
    """The fields of a job line (:func:`split_fields`), a Latin field holding an employer that
    ends with a legal form and a job title, in either order, cut in two (``Blue Lake Trading
    Co. Accountant``, ``Data Analyst Hangzhou Cloud Tech Co., Ltd.``)."""
    return [piece for fragment in split_fields(text) for piece in _legal_name_split(fragment)]


def _legal_name_split(fragment: str) -> list[str]:
    """``[employer, role]`` or ``[role, employer]`` when the field is both, each side known by
    its own cue (a legal form ending the employer, a title word ending the role, no employer
    word in it); else ``[fragment]``."""
    if CJK_RE.search(fragment):
        return [fragment]
    for form in LEGAL_FORM_RE.finditer(fragment):
        employer, role = fragment[: form.end()].strip(), fragment[form.end() :].strip(" ,")
        if role and employer_of(employer) and _is_bare_role(role):
            return [employer, role]
    if not ends_with_legal_form(fragment):
        return [fragment]
    words = fragment.split()
    for cut in range(len(words) - 2, 0, -1):  # the last title word ends the role
        role, employer = " ".join(words[:cut]), " ".join(words[cut:])
        if words[cut - 1].lower() in ROLE_WORDS_EN and _is_bare_role(role):
            return [role, employer] if employer_of(employer) else [fragment]
    return [fragment]


def _is_bare_role(text: str) -> bool:
    """A job title ending with a title word, without an employer word."""
    words = WORD_RE.findall(text)
    return (
        bool(words)
        and words[-1].lower() in ROLE_WORDS_EN
        and role_of(text) is not None
        and not EMPLOYER_EN_RE.search(text)
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
    words = WORD_RE.findall(text)
    return (
        len(words) <= MAX_ROLE_WORDS
        and not re.search(r"\d", text)
        and not _NOT_ROLE_RE.search(text)
        and degree_of(text) is None
    )


MAX_ROLE_WORDS = 6
"""Most words in a job title taken by position (no role word recognised)."""

_NOT_ROLE_RE = re.compile(
    r"[部处科室组]$|中心$|团队|事业群|全职|兼职|(?<![A-Za-z])(?:department|dept|team|division|"
    r"full[- ]time|part[- ]time|contract|freelance|temporary|permanent|hybrid|on-?site)(?![A-Za-z])",
    re.I,
)
_US_PLACE_RE = re.compile(  # "Austin, TX": a place, not two fields
    r"(?<![A-Za-z])[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}, ?(?:"
    + "|".join(word_list("places", "region_codes"))
    + r")(?![A-Za-z])"
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
    if split and ROLE_ZH_RE.search(split["rest"]) and job.employer is None:
        job.employer, value = split["org"], split["rest"]
    role, employer = role_of(value), employer_of(value)
    if role and employer:  # "Hospital Administrator": the last word decides
        words = WORD_RE.findall(value)
        employer, role = (
            (None, role) if words and words[-1].lower() in ROLE_WORDS_EN else (employer, None)
        )
    if employer:
        job.employer = job.employer or employer
    elif role:
        job.role = job.role or role
    elif is_plain_field(value) and not is_location(value):
        job.leftovers.append((value, hint))


def experience_years(jobs: Sequence[Job], lines: Sequence[Line]) -> float:
    """Union of the non-internship jobs' intervals (both end months counted, see
    :func:`month_interval`) in years (one decimal). Without any job at all, the largest "N years of
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


def _claimed_years(lines: Sequence[Line]) -> float:
    best = 0.0
    for line in lines:
        for pattern in _CLAIMED_YEARS_RES:
            for match in pattern.finditer(line.raw):
                years = float(match[1])
                if years <= MAX_CLAIMED_YEARS:
                    best = max(best, years)
    return best
