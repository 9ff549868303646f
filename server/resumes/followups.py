"""Personalised follow-up questions built from a candidate's résumé profile.

Before an interview one or two questions are added to the structured section, each built
from a template (:mod:`server.resumes.followup_templates`) that fits what the résumé shows
(:mod:`server.resumes.followup_facts`): the industry and role of a job, the total years of
experience, a notable skill or certificate. The core questions of a job stay identical for
every candidate; these are marked ``"personalised": true`` and carry a ``"basis"``: the
résumé facts the question was built from, for the examiner (and so that rankings can leave
them out).

A template whose facts are missing is not eligible. Selection: see :func:`personalise`.
Pure functions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.localized import Localized
from common.text import is_cjk
from server.domain.models import Media, Section
from server.resumes.followup_facts import Facts, Item, facts_of, shorten, years_text
from server.resumes.followup_templates import (
    PERSONALISED_TAG,
    PLACEHOLDER_RE,
    Keywords,
    Kind,
    Template,
    is_ascii_alnum,
    load_templates,
)
from server.resumes.profile import Profile

MAX_FOLLOWUPS = 2
"""Most personalised questions one candidate gets."""
SHORT_SKILL_CHARS = 24
"""A skill or certificate up to this long is quoted whole; a longer one by the matched
keyword ("熟练使用Python进行数据分析" → "Python")."""
SNIPPET_CONTEXT_CHARS = 12
"""Characters either side of a keyword quoted from the résumé text in a basis."""
GENERIC_COMPETENCIES = ("logic", "expression")
"""Shown by any structured answer; the fallback when no template's own competencies are
in the job (see :func:`personalise`)."""
ID_HASH_CHARS = 8
JOB_PLACEHOLDERS = frozenset({"employer", "role", "years"})
SCHOOL_PLACEHOLDERS = frozenset({"school", "major"})


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class _Match:
    template: Template
    values: Mapping[str, Localized]
    basis: tuple[Localized, ...]
    items: frozenset[str]
    """Keys of the skills/certificates used."""


def _language(language: str) -> str:
    if isinstance(language, str) and language.lower().startswith("zh"):
        return "zh"
    if isinstance(language, str) and language.lower().startswith("en"):
        return "en"
    raise ValueError(f"unknown interview language {language!r}; use zh, zh-CN or en")


def _find_item(
    keywords: Keywords, pools: Sequence[tuple[Item, ...]], excluded: Keywords | None
) -> tuple[Item, str] | None:
    """The first item matching the earliest keyword, and how to quote it."""
    for pattern in keywords.patterns:
        for pool in pools:
            for item in pool:
                found = pattern.search(item.search)
                if not found or (excluded and excluded.find(item.search)):
                    continue
                if len(item.value) <= SHORT_SKILL_CHARS:
                    return item, item.value
                same = len(item.search) == len(item.plain)
                quoted = (item.plain if same else item.search)[found.start() : found.end()]
                return item, shorten(quoted)
    return None


def _snippet(facts: Facts, found: re.Match[str]) -> str:
    source = facts.text if len(facts.text) == len(facts.text_search) else facts.text_search
    start = max(0, found.start() - SNIPPET_CONTEXT_CHARS)
    end = min(len(source), found.end() + SNIPPET_CONTEXT_CHARS)
    text = source[start:end].strip()
    return ("…" if start else "") + text + ("…" if end < len(source) else "")


def _match(template: Template, facts: Facts, language: str) -> _Match | None:
    when = template.when
    values: dict[str, Localized] = {}
    basis: list[Localized] = []
    items: set[str] = set()
    excluded = (when.except_in or {}).get(language)

    if when.min_years is not None or when.max_years is not None:
        if facts.years is None:
            return None
        if when.min_years is not None and facts.years < when.min_years:
            return None
        if when.max_years is not None and facts.years >= when.max_years:
            return None
    if "total_years" in template.placeholders:
        if not facts.years:
            return None
        values["total_years"] = years_text(facts.years)

    for name, keywords, pools in (
        ("skill", when.skills, (facts.skills, facts.certificates)),
        ("certificate", when.certificates, (facts.certificates, facts.skills)),
    ):
        if keywords is None:
            continue
        picked = _find_item(keywords, pools, excluded)
        if picked is None:
            return None
        item, quoted = picked
        values[name] = Localized(quoted, quoted)
        items.add(item.key)
        label = (
            ("证书", "Certificate") if item.key.startswith("certificates") else ("技能", "Skill")
        )
        basis.append(Localized(f"{label[0]}：{item.value}", f"{label[1]}: {item.value}"))

    job_basis = _match_job(template, facts, values)
    if job_basis is None:
        return None
    basis[:0] = job_basis

    needed = template.placeholders & SCHOOL_PLACEHOLDERS
    if needed:
        school = next((s for s in facts.schools if s.provides(needed)), None)
        if school is None:
            return None
        for name in sorted(needed):
            fact = school.school if name == "school" else school.major
            values[name] = Localized(fact or "", fact or "")
        words = " ".join(v for v in (school.school, school.major) if v)
        basis.append(Localized(f"教育：{words}", f"Education: {words}"))

    banded = when.min_years is not None or when.max_years is not None
    if (banded or "total_years" in template.placeholders) and facts.years is not None:
        span = years_text(facts.years) if facts.years else Localized("无", "none")
        basis.append(Localized(f"工作年限：{span.zh}", f"Work experience: {span.en}"))
    return _Match(template, values, tuple(basis), frozenset(items))


def _match_job(
    template: Template, facts: Facts, values: dict[str, Localized]
) -> list[Localized] | None:
    """Fill the job placeholders; the basis lines used, or None if not eligible."""
    when = template.when
    needed = template.placeholders & JOB_PLACEHOLDERS
    if not (when.industry or when.role or needed):
        return []
    jobs = [
        j
        for j in facts.jobs
        if (when.industry is None or when.industry.find(j.search))
        and (when.role is None or when.role.find(j.role_search))
    ]
    usable = [j for j in jobs if j.provides(needed)]
    if usable:
        job = usable[0]
        for name in sorted(needed):
            if name == "years":
                values[name] = years_text((job.months or 0) / 12)
            else:
                fact = job.employer if name == "employer" else job.role
                values[name] = Localized(fact or "", fact or "")
        line = job.basis()
        return [line] if line.zh else []
    if needed or when.role or when.industry is None:
        return None
    # No job in the industry: a template without job facts may rest on a skill or the text.
    for item in facts.skills:
        if when.industry.find(item.search):
            return [Localized(f"技能：{item.value}", f"Skill: {item.value}")]
    found = when.industry.find(facts.text_search)
    if found is None:
        return None
    quote = _snippet(facts, found)
    return [Localized(f"原文“{quote}”", f"text “{quote}”")]


# --------------------------------------------------------------------------- output


def _render(text: str, values: Mapping[str, str], zh: bool) -> str:
    """Fill placeholders in one pass (a value is never expanded again); in Chinese text a
    space separates a substituted Latin word from the Chinese around it."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for found in PLACEHOLDER_RE.finditer(text):
        pieces.append((text[pos : found.start()], False))
        pieces.append((values[found.group(1)], True))
        pos = found.end()
    pieces.append((text[pos:], False))
    out = ""
    last_was_value = False
    for piece, is_value in pieces:
        if not piece:
            continue
        if zh and out and (is_value or last_was_value) and _needs_space(out[-1], piece[0]):
            out += " "
        out += piece
        last_was_value = is_value
    return out


def _is_ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _needs_space(before: str, after: str) -> bool:
    return (_is_ascii_letter(before) and (is_cjk(after) or is_ascii_alnum(after))) or (
        is_cjk(before) and _is_ascii_letter(after)
    )


def _question(found: _Match, competencies: tuple[str, ...]) -> dict[str, Any]:
    t = found.template
    zh_values = {k: v.zh for k, v in found.values.items()}
    en_values = {k: v.en for k, v in found.values.items()}
    basis = Localized(
        "简历：" + "；".join(b.zh for b in found.basis),
        "Résumé: " + "; ".join(b.en for b in found.basis),
    )
    facts = json.dumps({"values": zh_values, "basis": basis.zh}, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(facts.encode("utf-8")).hexdigest()[:ID_HASH_CHARS]
    tags = list(dict.fromkeys((PERSONALISED_TAG, t.kind.value, *t.tags)))
    return {
        "id": f"fu-{t.id}-{digest}",
        "section": Section.STRUCTURED.value,
        "text": {
            "zh": _render(t.text.zh, zh_values, zh=True),
            "en": _render(t.text.en, en_values, zh=False),
        },
        "competencies": list(competencies),
        "rubric": [p.to_dict() for p in t.rubric],
        "prep_s": t.prep_s,
        "answer_s": t.answer_s,
        "media": Media.VIDEO.value,
        "tags": tags,
        "builtin": False,
        "personalised": True,
        "basis": {"zh": basis.zh, "en": basis.en},
    }


def _job_competency_ids(job: Mapping[str, Any]) -> frozenset[str] | None:
    raw = job.get("competencies") if isinstance(job, Mapping) else None
    if not isinstance(raw, list):
        return None
    ids = frozenset(c["id"] for c in raw if isinstance(c, Mapping) and isinstance(c.get("id"), str))
    return ids or None


def build(template: Template, profile: Profile, language: str) -> dict[str, Any] | None:
    """The question one template makes for this candidate, or None when not eligible
    (no job filtering and no selection: for previews and tests)."""
    found = _match(template, facts_of(profile), _language(language))
    return None if found is None else _question(found, template.competencies)


def personalise(
    profile: Profile, job: Mapping[str, Any], language: str, count: int = MAX_FOLLOWUPS
) -> list[dict[str, Any]]:
    """Up to ``count`` personalised structured questions for one candidate.

    ``language`` is the interview language ("zh", "zh-CN" or "en"); both texts are filled,
    it decides which skills count (``except_in``). Returns ``Question.to_dict()``-shaped
    dicts plus ``"personalised": True`` and ``"basis": {"zh", "en"}``; ``[]`` when the
    résumé offers nothing to build on.

    Selection:

    1. A template is eligible when its conditions hold and every placeholder has a fact.
    2. Job competencies: with ``job["competencies"]`` given, only templates whose
       competencies intersect it, each question keeping just the shared ids. If no
       eligible template intersects, the eligible ones are used on
       :data:`GENERIC_COMPETENCIES` present in the job; if the job has none, ``[]``.
       A job without competencies does not filter.
    3. Ranked by specificity (skill + industry > industry > skill > role > years band),
       then ``priority``, then id. Picked in that order, skipping a template of a kind
       already picked or resting on a skill/certificate already used.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_FOLLOWUPS:
        raise ValueError(f"count must be 0 to {MAX_FOLLOWUPS}")
    lang = _language(language)
    if count == 0:
        return []
    facts = facts_of(profile)
    matches = [m for t in load_templates() if (m := _match(t, facts, lang)) is not None]

    wanted = _job_competency_ids(job)
    pool: list[tuple[_Match, tuple[str, ...]]]
    if wanted is None:
        pool = [(m, m.template.competencies) for m in matches]
    else:
        pool = [
            (m, shared)
            for m in matches
            if (shared := tuple(c for c in m.template.competencies if c in wanted))
        ]
        if not pool:
            generic = tuple(c for c in GENERIC_COMPETENCIES if c in wanted)
            if not generic:
                return []
            pool = [(m, generic) for m in matches]

    pool.sort(
        key=lambda mc: (-mc[0].template.specificity, -mc[0].template.priority, mc[0].template.id)
    )
    out: list[dict[str, Any]] = []
    kinds: set[Kind] = set()
    used: set[str] = set()
    for found, competencies in pool:
        if len(out) >= count:
            break
        if found.template.kind in kinds or found.items & used:
            continue
        kinds.add(found.template.kind)
        used |= found.items
        out.append(_question(found, competencies))
    return out
