"""Development recommendations: an org's training catalogue, matched to weak dimensions.

The catalogue is imported as CSV or JSON (course, competency, level, link; optional
description), validated row by row (every problem reported, nothing stored unless the whole
file is valid). After the interview the report recommends, for each of the candidate's
weakest dimensions, the catalogue's courses on that competency at the level the final score
calls for — the "recruitment → training" hand-over, also sent to HR systems as the webhook
``training.recommended`` when a person records a decision.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from common.competencies import name_of
from server.core.csvsafe import decode_upload_text
from server.hiring.jobs import COMPETENCY_ID

LEVELS = ("foundation", "intermediate", "advanced")
LEVEL_ALIASES: dict[str, str] = {
    "foundation": "foundation",
    "basic": "foundation",
    "beginner": "foundation",
    "基础": "foundation",
    "初级": "foundation",
    "入门": "foundation",
    "intermediate": "intermediate",
    "中级": "intermediate",
    "进阶": "intermediate",
    "advanced": "advanced",
    "高级": "advanced",
}
COLUMNS = ("course", "competency", "level", "link", "description")
REQUIRED_COLUMNS = ("course", "competency", "level")
MAX_COURSES = 2000
MAX_COURSE_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_LINK_CHARS = 500
LINK = re.compile(r"^https?://[^\s<>\"']+$")

FOUNDATION_BELOW = 4.0
"""A final dimension value (0–10) below this calls for foundation courses."""
INTERMEDIATE_BELOW = 6.0
"""Below this (and at least FOUNDATION_BELOW), intermediate courses."""
RECOMMEND_AT_MOST = 6.0
"""Dimensions scoring above this get no recommendation."""
WEAKEST_DIMENSIONS = 3
COURSES_PER_DIMENSION = 3


def _err(row: int | None, field: str, message: str) -> dict[str, Any]:
    return {"row": row, "field": field, "message": message}


def parse_catalogue(
    filename: str, content: bytes
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Courses and every problem (rows numbered as in the file: CSV data starts at row 2)."""
    text = decode_upload_text(content)
    if text is None:
        return [], [_err(None, "file", "the file is not UTF-8, UTF-16 or GBK text")]
    if filename.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        return _from_json(text)
    return _from_csv(text)


def _from_json(text: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [], [_err(None, "file", f"not valid JSON: {exc}"[:200])]
    if isinstance(data, dict):
        data = data.get("courses")
    if not isinstance(data, list):
        return [], [_err(None, "file", 'JSON must be a list of courses or {"courses": [...]}')]
    return _rows(((i + 1, item) for i, item in enumerate(data)), len(data))


def _from_csv(text: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [(h or "").strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        unknown = [h for h in header if h not in COLUMNS]
        if missing or unknown:
            return [], [_err(1, "header", f"missing column {c}") for c in missing] + [
                _err(1, "header", f"unknown column {u}") for u in unknown
            ]
        rows = [
            (n, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k})
            for n, row in enumerate(reader, start=2)
            if any((v or "").strip() for v in row.values() if isinstance(v, str))
        ]
    except csv.Error as exc:
        return [], [_err(None, "file", f"malformed CSV: {exc}")]
    return _rows(iter(rows), len(rows))


def _rows(items: Any, count: int) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    if count > MAX_COURSES:
        return [], [_err(None, "file", f"at most {MAX_COURSES} courses")]
    courses: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    for row, item in items:
        course, problems = _course(item, row)
        errors += problems
        if course is not None:
            courses.append(course)
    if not courses and not errors:
        errors.append(_err(None, "file", "no courses in the file"))
    return courses, errors


def _course(item: Any, row: int) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
    if not isinstance(item, Mapping):
        return None, [_err(row, "course", "each course must be an object")]
    errors = []
    values = {k: item.get(k) for k in COLUMNS}
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            errors.append(_err(row, key, "must be text"))
    if errors:
        return None, errors
    course = (values["course"] or "").strip()
    competency = (values["competency"] or "").strip().lower()
    level = LEVEL_ALIASES.get((values["level"] or "").strip().lower())
    link = (values["link"] or "").strip()
    description = (values["description"] or "").strip()
    if not course or len(course) > MAX_COURSE_CHARS:
        errors.append(_err(row, "course", f"a name of 1–{MAX_COURSE_CHARS} characters"))
    if not COMPETENCY_ID.match(competency):
        errors.append(_err(row, "competency", "a competency id like 'communication'"))
    if level is None:
        errors.append(_err(row, "level", "foundation, intermediate or advanced (基础/中级/高级)"))
    if link and (len(link) > MAX_LINK_CHARS or not LINK.match(link)):
        errors.append(_err(row, "link", "an http:// or https:// address"))
    if len(description) > MAX_DESCRIPTION_CHARS:
        errors.append(_err(row, "description", f"at most {MAX_DESCRIPTION_CHARS} characters"))
    if errors:
        return None, errors
    assert level is not None
    return {
        "course": course,
        "competency": competency,
        "level": level,
        "link": link,
        "description": description,
    }, []


def level_for(value: float) -> str:
    """The course level a final dimension value (0–10) calls for."""
    if value < FOUNDATION_BELOW:
        return "foundation"
    if value < INTERMEDIATE_BELOW:
        return "intermediate"
    return "advanced"


def recommend(
    dimensions: Sequence[Mapping[str, Any]], catalogue: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """For the weakest dimensions (final value ≤ RECOMMEND_AT_MOST, lowest first), the
    catalogue's courses on that competency, the called-for level first."""
    weak = sorted(
        (d for d in dimensions if d.get("final_value") is not None),
        key=lambda d: float(d["final_value"]),
    )
    out: list[dict[str, Any]] = []
    for dim in weak:
        value = float(dim["final_value"])
        if value > RECOMMEND_AT_MOST or len(out) >= WEAKEST_DIMENSIONS:
            break
        level = level_for(value)
        courses = [c for c in catalogue if c["competency"] == dim["dimension"]]
        rank = {name: abs(i - LEVELS.index(level)) for i, name in enumerate(LEVELS)}
        courses.sort(key=lambda c: (rank[c["level"]], c["course"]))
        out.append(
            {
                "dimension": dim["dimension"],
                "name": dim.get("name") or name_of(str(dim["dimension"])).to_dict(),
                "final_value": value,
                "level": level,
                "courses": [dict(c) for c in courses[:COURSES_PER_DIMENSION]],
            }
        )
    return out
