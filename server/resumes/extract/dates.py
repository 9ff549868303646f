"""Dates and date ranges as résumés write them (``2019.07``, ``Jul 2019``, ``2019.07–至今``)
and the months a range covers."""

from __future__ import annotations

import re

YEAR_ONLY_MONTH = 7
"""Month assumed for a year-only date when counting months (mid-year: ``2016–2019`` is 36,
July to July, the end month not counted; a month-precise end month is counted)."""

MONTHS_PER_YEAR = 12

YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
"""A plausible year, as a regular expression."""
_MONTH_NUM = r"(?:0?[1-9]|1[0-2])"
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    rf"(?:(?<!\d){YEAR}\s*(?:[./-]|年)\s*{_MONTH_NUM}(?!\d)(?:\s*月)?"
    rf"(?:\s*[./-]\s*\d{{1,2}}(?!\d)|\s*\d{{1,2}}\s*日)?"
    rf"|(?<![A-Za-z]){_MONTH_NAME}\.?\s*,?\s*{YEAR}(?!\d)"
    rf"|(?<![\d.]){_MONTH_NUM}\s*[/.-]\s*{YEAR}(?!\d)"
    rf"|(?<!\d){YEAR}(?!\d)(?:\s*年)?)"
)
_PRESENT = r"(?:至今|今|现在|目前|present|now|current(?:ly)?|today|to date|ongoing)(?![A-Za-z])"
_RANGE_SEP = r"(?:\s*(?:[-–—~〜]+|至|到)\s*|\s+(?:to|until|till)\s+)"
RANGE_RE = re.compile(rf"(?P<start>{_DATE}){_RANGE_SEP}(?P<end>{_DATE}|{_PRESENT})", re.I)
"""A date range; "present" (``至今``) may end it."""
DATE_RE = re.compile(_DATE, re.I)
_PRESENT_RE = re.compile(rf"^{_PRESENT}$", re.I)
MONTH_NAMES = {
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
_YM_RE = re.compile(rf"({YEAR})\s*(?:[./-]|年)\s*({_MONTH_NUM})(?!\d)")
_MY_RE = re.compile(rf"({_MONTH_NUM})\s*[/.-]\s*({YEAR})")
_NAMED_RE = re.compile(rf"({_MONTH_NAME})\.?\s*,?\s*({YEAR})", re.I)
_Y_RE = re.compile(YEAR)

YearMonth = tuple[int, int | None]
"""A parsed date: year, month (None when only the year is known)."""


def parse_date(text: str) -> YearMonth | None:
    """The first date written in ``text`` (``2019.07``, ``Jul 2019``, ``07/2019``, ``2019``)."""
    text = text.strip()
    if match := _YM_RE.search(text):
        return int(match[1]), int(match[2])
    if match := _NAMED_RE.search(text):
        return int(match[2]), MONTH_NAMES[match[1].lower()]
    if match := _MY_RE.search(text):
        return int(match[2]), int(match[1])
    if match := _Y_RE.search(text):
        return int(match.group()), None
    return None


def date_value(date: YearMonth | None) -> str | None:
    """A date as a profile stores it: ``"2019-07"``, or ``"2019"`` without a month."""
    if date is None:
        return None
    year, month = date
    return f"{year:04d}" if month is None else f"{year:04d}-{month:02d}"


def range_dates(match: re.Match[str]) -> tuple[YearMonth | None, YearMonth | None, bool]:
    """(start, end, end is "present")."""
    start = parse_date(match["start"])
    if _PRESENT_RE.match(match["end"].strip()):
        return start, None, True
    return start, parse_date(match["end"]), False


def _month_index(date: YearMonth) -> int:
    year, month = date
    return year * MONTHS_PER_YEAR + (month or YEAR_ONLY_MONTH) - 1


def month_interval(
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
