"""Field-level precision and recall of extracted résumé profiles against the corpus truth.

Every field is scored as a multiset of normalised values: a predicted value that matches a
true one is a true positive, a predicted value without a match a false positive, a true value
nobody predicted a false negative (a wrong value is both). Normalisation: NFKC, case-folded,
whitespace and punctuation removed; phones compare by national number; certificates match
when one contains the other ("CET-6" ~ "CET-6（2024年）"); total years match within
``YEARS_TOLERANCE``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loadtest.resumes import phone_key

YEARS_TOLERANCE = 0.25
"""Total working years within this many years of the truth count as right."""
SINGLE_FIELDS = ("name", "email", "phone", "highest_degree")
EDUCATION_FIELDS = ("degree", "school", "major", "start", "end")
EXPERIENCE_FIELDS = ("employer", "role", "start", "end")


def norm(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return re.sub(r"[\s\W_]+", "", text)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, other: Tally) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn


@dataclass
class Report:
    fields: dict[str, Tally] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    """A few human-readable differences (first ones), for the failure message."""

    def tally(self, name: str) -> Tally:
        return self.fields.setdefault(name, Tally())

    @property
    def overall(self) -> Tally:
        total = Tally()
        for t in self.fields.values():
            total.add(t)
        return total

    def table(self) -> str:
        rows = ["| field | precision | recall | TP | FP | FN |", "|---|---|---|---|---|---|"]
        for name, t in [*sorted(self.fields.items()), ("**all**", self.overall)]:
            rows.append(
                f"| {name} | {t.precision:.3f} | {t.recall:.3f} | {t.tp} | {t.fp} | {t.fn} |"
            )
        return "\n".join(rows)


def _multiset(
    report: Report, name: str, truth: Iterable[str], predicted: Iterable[str], where: str
) -> None:
    t, p = Counter(truth), Counter(predicted)
    hit = sum((t & p).values())
    tally = report.tally(name)
    tally.tp += hit
    tally.fp += sum(p.values()) - hit
    tally.fn += sum(t.values()) - hit
    if (t - p or p - t) and len(report.misses) < 60:
        report.misses.append(
            f"{where} {name}: missing {list((t - p).elements())} extra {list((p - t).elements())}"
        )


def _contained(
    report: Report, name: str, truth: list[str], predicted: list[str], where: str
) -> None:
    left = list(predicted)
    hits = 0
    for value in truth:
        match = next((p for p in left if p and value and (p in value or value in p)), None)
        if match is not None:
            left.remove(match)
            hits += 1
    tally = report.tally(name)
    tally.tp += hits
    tally.fp += len(left)
    tally.fn += len(truth) - hits
    if (left or hits < len(truth)) and len(report.misses) < 60:
        report.misses.append(f"{where} {name}: truth {truth} predicted {predicted}")


def score_case(
    report: Report, truth: dict[str, Any], predicted: dict[str, Any], where: str
) -> None:
    for key in SINGLE_FIELDS:
        key_fn = phone_key if key == "phone" else norm
        t = [key_fn(truth[key])] if truth.get(key) else []
        p = [key_fn(predicted[key])] if predicted.get(key) else []
        _multiset(report, key, t, p, where)
    for key in EDUCATION_FIELDS:
        t = [norm(e[key]) for e in truth["education"] if e.get(key)]
        p = [norm(e[key]) for e in predicted.get("education", []) if e.get(key)]
        _multiset(report, f"education.{key}", t, p, where)
    for key in EXPERIENCE_FIELDS:
        t = [norm(e[key]) for e in truth["experience"] if e.get(key)]
        p = [norm(e[key]) for e in predicted.get("experience", []) if e.get(key)]
        _multiset(report, f"experience.{key}", t, p, where)
    years = report.tally("experience_years")
    true_years, got = float(truth["experience_years"]), float(predicted["experience_years"])
    if abs(true_years - got) <= YEARS_TOLERANCE:
        years.tp += 1
    else:
        years.fp += 1 if got else 0
        years.fn += 1 if true_years else 0
        report.misses.append(f"{where} experience_years: truth {true_years} predicted {got}")
    _multiset(
        report,
        "skills",
        [norm(s) for s in truth["skills"]],
        [norm(s) for s in predicted.get("skills", [])],
        where,
    )
    _contained(
        report,
        "certificates",
        [norm(c) for c in truth["certificates"]],
        [norm(c) for c in predicted.get("certificates", [])],
        where,
    )
