"""Job validation and the interview plan snapshot taken when a candidate is invited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from common.competencies import name_of
from server.domain.jobs import Job
from server.domain.models import SECTION_ORDER, Media, Question, Section

WEIGHT_TOLERANCE = 0.001
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 20_000
MAX_QUESTIONS_PER_SECTION = 30
COMPETENCY_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)


def _err(field: str, message: str) -> dict[str, Any]:
    return {"row": None, "field": field, "message": message}


def validate_job(
    data: Mapping[str, Any], questions: Mapping[str, Question]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Normalised job data, the problems of the job itself and its conflicts with the question
    bank (a question that is not there, of another section, no professional question answered
    in text); both lists empty when the job is valid.

    Competency weights are relative: a dimension listed twice is one dimension with the weights
    added, and weights that do not sum to 1 are scaled so that they do."""
    errors: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for key, limit, required in (
        ("title", MAX_TITLE_CHARS, True),
        ("department", MAX_TITLE_CHARS, True),
        ("description", MAX_DESCRIPTION_CHARS, False),
    ):
        value = data.get(key, "")
        if not isinstance(value, str):
            errors.append(_err(key, "must be a string"))
        elif required and not value.strip():
            errors.append(_err(key, "is required"))
        elif len(value) > limit:
            errors.append(_err(key, f"must be at most {limit} characters"))
        else:
            out[key] = value.strip()
    language = data.get("language", "zh-CN")
    if language not in LANGUAGES:
        errors.append(_err("language", f"must be one of {', '.join(LANGUAGES)}"))
    out["language"] = language
    out["answer_languages"] = _answer_languages(data.get("answer_languages", []), errors)

    out["competencies"] = _competencies(data.get("competencies"), errors)
    out["plan"] = _plan(data.get("plan"), questions, errors, conflicts)
    return out, errors, conflicts


AnswerLanguage = Literal["zh", "en"]
ANSWER_LANGUAGES: tuple[str, ...] = get_args(AnswerLanguage)
"""Languages an answer may be given in besides the interview's own (identified per utterance)."""


def _answer_languages(raw: Any, errors: list[dict[str, Any]]) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        errors.append(_err("answer_languages", 'must be a list such as ["zh", "en"]'))
        return []
    unknown = [x for x in raw if x not in ANSWER_LANGUAGES]
    if unknown:
        errors.append(
            _err("answer_languages", f"unknown {unknown[0]!r}; use {', '.join(ANSWER_LANGUAGES)}")
        )
        return []
    return list(dict.fromkeys(raw))


def _competencies(raw: Any, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors.append(_err("competencies", "must be a non-empty list"))
        return []
    by_id: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(raw):
        where = f"competencies[{i}]"
        if not isinstance(item, dict):
            errors.append(_err(where, "must be an object with id and weight"))
            continue
        cid = item.get("id")
        weight = item.get("weight")
        if not isinstance(cid, str) or not COMPETENCY_ID.match(cid):
            errors.append(_err(f"{where}.id", "must be an id like 'logic' (a-z, 0-9, _)"))
            continue
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            errors.append(_err(f"{where}.weight", "must be a number in (0, 1]"))
            continue
        if cid in by_id:  # the same dimension again: its weights add up
            by_id[cid]["weight"] += float(weight)
            continue
        name = item.get("name")
        if isinstance(name, dict) and (name.get("zh") or name.get("en")):
            name_out = {k: str(v) for k, v in name.items() if k in ("zh", "en") and v}
        else:
            name_out = name_of(cid).to_dict()
        by_id[cid] = {"id": cid, "name": name_out, "weight": float(weight)}
    result = list(by_id.values())
    total = sum(c["weight"] for c in result)
    if result and abs(total - 1.0) > WEIGHT_TOLERANCE:  # relative weights: scaled to sum to 1
        for c in result:
            c["weight"] /= total
    return result


def _plan(
    raw: Any,
    questions: Mapping[str, Question],
    errors: list[dict[str, Any]],
    conflicts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.append(_err("plan", "must be a list of sections"))
        return []
    by_section: dict[str, list[str]] = {}
    for i, item in enumerate(raw):
        where = f"plan[{i}]"
        section = item.get("section") if isinstance(item, dict) else None
        if not isinstance(section, str) or section not in {s.value for s in Section}:
            errors.append(
                _err(f"{where}.section", "must be self_intro, structured or professional")
            )
            continue
        section = item["section"]
        if section in by_section:
            errors.append(_err(f"{where}.section", f"{section} appears twice"))
            continue
        ids = item.get("questions")
        if not isinstance(ids, list) or not all(isinstance(q, str) for q in ids):
            errors.append(_err(f"{where}.questions", "must be a list of question ids"))
            continue
        if len(ids) > MAX_QUESTIONS_PER_SECTION:
            errors.append(_err(f"{where}.questions", f"at most {MAX_QUESTIONS_PER_SECTION}"))
        for j, qid in enumerate(ids):
            q = questions.get(qid)
            if q is None:
                conflicts.append(_err(f"{where}.questions[{j}]", f"unknown question {qid}"))
            elif q.section.value != section:
                conflicts.append(
                    _err(f"{where}.questions[{j}]", f"{qid} is a {q.section.value} question")
                )
        by_section[section] = ids
    intro = by_section.get(Section.SELF_INTRO, [])
    if len(intro) != 1:
        errors.append(_err("plan.self_intro", "needs exactly one self-introduction question"))
    if not by_section.get(Section.STRUCTURED):
        errors.append(_err("plan.structured", "needs at least one structured question"))
    professional = by_section.get(Section.PROFESSIONAL, [])
    if not professional:
        errors.append(_err("plan.professional", "needs at least one professional-test question"))
    elif not any(questions[q].media is Media.TEXT for q in professional if q in questions):
        conflicts.append(_err("plan.professional", "needs at least one question answered in text"))
    return [
        {"section": s.value, "questions": by_section[s.value]}
        for s in SECTION_ORDER
        if s.value in by_section
    ]


def snapshot_plan(job: Job, questions: Mapping[str, Question]) -> list[dict[str, Any]]:
    """The flat, ordered question list an invitation freezes (later job edits don't change it)."""
    items: list[dict[str, Any]] = []
    for section in job.plan:
        for qid in section["questions"]:
            items.append(
                {
                    "index": len(items),
                    "section": section["section"],
                    "question": questions[qid].to_dict(),
                }
            )
    return items
