"""Résumés with known ground truth, generated at test time (PDF, DOCX, TXT; Chinese and English).

The résumé parser is written without looking at this package, so its precision and recall
against :attr:`ResumeCase.truth` are an honest measure. The résumés imitate what people send:
headings in different words and orders, contact blocks in tables or side columns, many date,
phone and degree spellings, self-summaries that mention years, project and award lines that
carry dates but are not jobs.

Ground truth conventions (the parser's author should know these, not the layouts):

- ``truth`` has the keys of :meth:`server.profile.Profile.to_dict` except ``sources``; the
  education and experience entries have no ``source`` either (which span to cite is the
  parser's choice). Entries are listed in the order the résumé shows them.
- Values are written as the résumé writes them: ``name``, ``school``, ``employer``,
  ``role``, ``major``, ``degree_text``, skills and certificates verbatim; ``phone`` as printed
  (compare with :func:`phone_key`). The file may space a name out ("张 伟") or wrap a line:
  compare modulo whitespace.
- Dates are ``"YYYY-MM"``, ``"YYYY"`` where the résumé gives only a year (education in some
  layouts), or ``"present"`` (至今, Present, Current, ...).
- A job's ``months`` counts both end months (LinkedIn's way: Jul 2019 – Dec 2021 is 30 months);
  ``"present"`` means the ``reference_date`` month. ``experience_years`` is the number of
  distinct months covered by any job (overlaps once) / 12, rounded half up to one decimal.

Modules: ``vocab`` and ``layouts`` (read from ``loadtest/data/resume_*.json``), ``people``
(a seeded person and career), ``blocks`` (a person in a layout), ``render_txt``,
``render_docx``, ``render_pdf``, then ``corpus`` and ``broken`` (the public cases).
"""

from __future__ import annotations

from loadtest.resumes.broken import broken_files, too_large
from loadtest.resumes.corpus import ResumeCase, bulk, corpus, zip_of
from loadtest.resumes.layouts import LAYOUTS
from loadtest.resumes.people import phone_key, round_years
from loadtest.resumes.vocab import REFERENCE_DATE

__all__ = [
    "LAYOUTS",
    "REFERENCE_DATE",
    "ResumeCase",
    "broken_files",
    "bulk",
    "corpus",
    "phone_key",
    "round_years",
    "too_large",
    "zip_of",
]
