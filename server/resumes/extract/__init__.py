"""Résumé text to a structured :class:`~server.resumes.profile.Profile`, by rules (no model).

Tuned for Chinese and English résumés as they come out of :mod:`server.resumes.resume_text`
(one line per paragraph, table rows as ``a | b | c``). The steps, one module each:

1. :mod:`~server.resumes.extract.lines`: split the text into sections by headings
   (``教育背景``, ``【工作经历】``, ``WORK EXPERIENCE``, ``技能：Python、SQL``, a table row
   starting with a heading cell, ...). Lines before the first heading form the header block.
2. :mod:`~server.resumes.extract.contact`: contact fields (name, email, phone) from anywhere,
   name preferably from ``姓名：`` / ``Name:``.
3. :mod:`~server.resumes.extract.experience`: jobs from the experience sections: each line
   holding a date range starts a job; its employer and role come from that line and the
   adjacent short lines (before or after the dates, whichever layout the section uses);
   fields no word list recognises are placed by position (``Role at Employer``; else the
   first one is the employer, the next one the role); a Latin field holding an employer that
   ends with a legal form (``Co., Ltd.``, ``Inc.``) and a title is cut in two, either order,
   each side known by its own cue (:mod:`~server.resumes.extract.fields`). Without any
   experience heading, dated lines of the header block that name an employer or a role
   count. A line like ``5年运营经验`` is never a job.
   A job's length counts both end months, as HR reads a résumé: ``2019.07–2022.06`` is 36
   months (3.0 years), ``2015.07–2018.06`` then ``2018.07–2023.06`` is 96 months without gap,
   ``2019.07–至今`` includes the reference month. A year-only date stands for its July
   (``2016–2019`` is 36 months, end month not added; :mod:`~server.resumes.extract.dates`).
   ``experience_years`` is the union of the jobs' intervals (overlaps once), internships
   (``实习`` / ``intern`` or an internship heading) listed but not counted. Only when no dated
   job at all was found does it fall back to the largest claim (``5年运营经验``,
   ``工作年限：5年``, ``over 5 years of experience``).
4. :mod:`~server.resumes.extract.education`: education entries from the education sections
   (school, degree level, major, dates).
5. :mod:`~server.resumes.extract.skills`: skills and certificates from their sections plus a
   small lexicon matched elsewhere: when the résumé has a skills section, only technology
   names (``SKILL_LEXICON_TECH``) are taken from outside it. Awards and honours
   (``获奖情况``, ``Honors``) have their own section and are neither certificates nor skills;
   the candidate's name or a job title standing in a certificates section (a side column read
   out of order) is no certificate either.

The word lists (headings, skills, certificates, degrees, names, employer and role words,
places) are data: ``server/data/resume/*.json``, read once at import
(:mod:`~server.resumes.extract.lexicon`).

Precision over recall: a field stays ``None`` rather than holding a heading, a date or a
sentence. Every value keeps the line it came from (``source``, at most
:data:`MAX_SOURCE_CHARS` characters).

Pure CPU work: run it in a worker, not on the event loop.
"""

from __future__ import annotations

import datetime

from server.hiring.jobanalysis import detect_language
from server.resumes.extract.contact import find_name, first_email, first_phone
from server.resumes.extract.education import find_education
from server.resumes.extract.experience import experience_years, find_jobs
from server.resumes.extract.lines import MAX_SOURCE_CHARS, split_sections
from server.resumes.extract.skills import find_certificates, find_skills, not_certificates
from server.resumes.profile import Profile
from server.resumes.resume_text import MAX_TEXT_CHARS, normalize_text

__all__ = ["MAX_SOURCE_CHARS", "extract_profile"]


def extract_profile(text: str, reference: tuple[int, int] | None = None) -> Profile:
    """The profile of one résumé's text.

    ``reference`` is the (year, month) that "present" / "至今" stands for; default: this month.
    The text is normalised first (idempotent on :func:`server.resumes.resume_text.extract_text` output).
    """
    if reference is None:
        today = datetime.date.today()
        reference = (today.year, today.month)
    text = normalize_text(text[: 2 * MAX_TEXT_CHARS])[:MAX_TEXT_CHARS]
    blocks = split_sections(text)
    lines = [line for block in blocks for line in block.lines]
    jobs = find_jobs(blocks, reference)
    name = find_name(blocks)
    return Profile(
        language=detect_language(text),
        name=name,
        email=first_email(lines),
        phone=first_phone(lines),
        education=tuple(find_education(blocks)),
        experience=tuple(job.experience for job in jobs),
        experience_years=experience_years(jobs, lines),
        skills=tuple(find_skills(blocks)),
        certificates=tuple(find_certificates(blocks, not_certificates(lines, name, jobs))),
        text=text,
    )
