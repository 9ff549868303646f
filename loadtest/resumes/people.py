"""A person and their career, drawn from the word pools by a seeded ``random.Random``."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from loadtest.resumes.vocab import VOCAB, Profession

UNIQUE_TRIES = 500
CURRENT_JOB_SHARE = 0.6
"""How many working people are still in their latest job (else they left 1–5 months ago)."""

YM = tuple[int, int]
"""(year, month)."""
T = TypeVar("T")


@dataclass(slots=True)
class Edu:
    """One degree: level (a Degree key), its words, major, school, first and last month."""

    level: str
    degree_text: str
    major: str | None
    school: str
    start: YM
    end: YM


@dataclass(slots=True)
class Job:
    """One job, first and last month."""

    employer: str
    role: str
    start: YM
    end: YM | None
    """None = present."""
    duties: list[str]
    side: bool = False
    """A part-time engagement held next to a main job."""


@dataclass(slots=True)
class Person:
    """Everything a résumé shows about someone."""

    lang: str
    name: str
    email: str
    phone: str
    city: str
    gender: str
    birth: YM
    field: str
    education: list[Edu]
    """Most recent first."""
    jobs: list[Job]
    """Most recent first."""
    skills: list[str]
    certs: list[str]
    objective: str
    linkedin: str = ""


def ym_add(ym: YM, months: int) -> YM:
    """The month ``months`` later (earlier when negative)."""
    idx = ym[0] * 12 + ym[1] - 1 + months
    return idx // 12, idx % 12 + 1


def ym_idx(ym: YM) -> int:
    """Months since year 0, to count and compare months."""
    return ym[0] * 12 + ym[1] - 1


@dataclass(slots=True)
class People:
    """Makes the people of one call of ``corpus()`` or ``bulk()`` (names, e-mails, phones and
    file names stay unique within it)."""

    reference: YM
    used: set[str] = field(default_factory=set)

    def unique(self, make: Callable[[], str]) -> str:
        return self._unique_pair(lambda: (make(), None))[0]

    def _unique_pair(self, make: Callable[[], tuple[str, T]]) -> tuple[str, T]:
        """``make()`` until its first item (a name, an e-mail, a phone) is new in this call."""
        for _ in range(UNIQUE_TRIES):
            value, extra = make()
            if value not in self.used:
                self.used.add(value)
                return value, extra
        raise RuntimeError(f"no unique value in {UNIQUE_TRIES} tries")

    def person(
        self,
        lang: str,
        rng: random.Random,
        career: str | None,
        field: str | None,
        degrees: Sequence[str] | None,
        current: bool | None = None,
        certs: Sequence[str] | None = None,
    ) -> Person:
        """``career``: fresh | single | few | many; ``current``: the latest job goes on; None
        (and ``field``, ``degrees``, ``certs`` None) leaves the choice to ``rng``."""
        fields = VOCAB.pools(lang).fields
        field = field or rng.choice(sorted(fields))
        fld = fields[field]
        career = career or rng.choice(["fresh", "single", "few", "few", "many", "many"])
        if degrees is None:
            degrees = _random_degrees(lang, field, rng)

        gender = rng.choice(["男", "女"]) if lang == "zh" else ""
        if lang == "zh":
            pool = VOCAB.zh.given_male if gender == "男" else VOCAB.zh.given_female
            name, (sur_py, given_py) = self._unique_pair(lambda: _zh_name(pool, rng))
            email = self.unique(lambda: _zh_email(sur_py, given_py, rng))
            phone = self.unique(lambda: _zh_phone(rng))
            city = rng.choice(VOCAB.zh.cities)
            linkedin = ""
        else:
            name, (first, last) = self._unique_pair(lambda: _en_name(rng))
            email = self.unique(lambda: _en_email(first, last, rng))
            city = rng.choice(VOCAB.en.cities)
            phone = self.unique(lambda: _en_phone(rng, uk=city.endswith("UK")))
            slug = f"{first}-{last}".lower().replace("'", "")
            linkedin = f"linkedin.com/in/{slug}-{rng.randint(10, 99)}"

        jobs = _career(career, fld, lang, self.reference, rng, current)
        first_start = jobs[-1].start if jobs else None
        education = _education(degrees, lang, fld, first_start, self.reference, rng)
        birth = (education[-1].start[0] - 18 - rng.randint(0, 1), rng.randint(1, 12))
        skills = rng.sample(list(fld.skills), rng.randint(4, min(8, len(fld.skills))))
        cert_pool = [c for c in fld.certs if career != "fresh" or c in VOCAB.student_certs]
        n_certs = rng.randint(0 if career == "fresh" else 1, min(3, len(cert_pool)))
        drawn = _distinct_certs(rng.sample(cert_pool, len(cert_pool)))[:n_certs]
        certs = list(certs) if certs is not None else drawn
        objective = next((j.role for j in jobs if not j.side), rng.choice(fld.roles))
        return Person(lang, name, email, phone, city, gender, birth, field, education, jobs, skills, certs, objective, linkedin)  # fmt: skip


def _distinct_certs(certs: Sequence[str]) -> list[str]:
    """No one lists CPA twice, or both CET-4 and CET-6: keep the first of each family."""
    families = ["CPA", "CET", "CFA", "会计职称"]
    out: list[str] = []
    for cert in certs:
        if not any(f in cert and any(f in kept for kept in out) for f in families):
            out.append(cert)
    return out


def _zh_name(pool: Sequence[tuple[str, str]], rng: random.Random) -> tuple[str, tuple[str, str]]:
    """A 2–3 character name and its pinyin (surname, given name)."""
    sur, sur_py = rng.choice(VOCAB.zh.surnames)
    given, given_py = rng.choice(pool)
    if len(sur) == 2 and len(given) == 2:
        given, given_py = pool[0]
    return sur + given, (sur_py, given_py)


def _en_name(rng: random.Random) -> tuple[str, tuple[str, str]]:
    first, last = rng.choice(VOCAB.en.first), rng.choice(VOCAB.en.last)
    middle = f" {rng.choice(string.ascii_uppercase)}." if rng.random() < 0.2 else ""
    return f"{first}{middle} {last}", (first, last)


def _random_degrees(lang: str, field: str, rng: random.Random) -> list[str]:
    if lang == "zh":
        top = rng.choice(["bachelor", "bachelor", "master", "master", "doctor", "associate"])
        words = {"associate": ["大专", "专科"], "bachelor": ["本科", "本科", "学士"], "master": ["硕士", "硕士", "研究生"], "doctor": ["博士"]}  # fmt: skip
    else:
        top = rng.choice(["bachelor", "bachelor", "master", "master", "doctor", "associate"])
        if field == "research":
            top = rng.choice(["master", "doctor"])
        words = {
            "associate": ["Associate degree", "Associate of Applied Science"],
            "bachelor": ["B.Sc.", "Bachelor of Arts", "BEng", "B.A.", "Bachelor of Science"],
            "master": ["MSc", "M.S."] + (["MBA"] if field in {"finance", "marketing", "hr"} else []) + (["Master of Public Administration"] if field == "public" else []),
            "doctor": ["PhD", "Ph.D."],
        }  # fmt: skip
    chain = {"associate": ["associate"], "bachelor": ["bachelor"], "master": ["master", "bachelor"], "doctor": ["doctor", "master", "bachelor"]}[top]  # fmt: skip
    if top == "doctor" and rng.random() < 0.4:
        chain = ["doctor", "bachelor"]
    return [rng.choice(words[level]) for level in chain]


def _career(
    career: str,
    fld: Profession,
    lang: str,
    ref: YM,
    rng: random.Random,
    current: bool | None = None,
) -> list[Job]:
    """Jobs most recent first; "many" adds a part-time job overlapping the others."""
    count = {"fresh": 0, "single": 1, "few": 2, "many": rng.choice([2, 3])}[career]
    jobs: list[Job] = []
    if current is None:
        current = rng.random() < CURRENT_JOB_SHARE
    end: YM | None = None if current else ym_add(ref, -rng.randint(1, 5))
    employers: set[str] = set()
    roles = rng.sample(list(fld.roles), len(fld.roles))
    duties = rng.sample(list(fld.duties), len(fld.duties))  # dealt out in turn, like cards

    def deal(n: int) -> list[str]:
        return [duties[(len(jobs) * 2 + k) % len(duties)] for k in range(n)]

    for i in range(count):
        start = ym_add(end or ref, -(rng.randint(10, 46) - 1))
        employer = _employer(fld, lang, rng, employers)
        jobs.append(Job(employer, roles[i % len(roles)], start, end, deal(2)))
        # gap 0: the older job ended in the month this one started (that month counts once)
        end = ym_add(start, -rng.choice([0, 1, 1, 1, 2, 3, 5]))
    if career == "many":
        first, last = ym_idx(jobs[-1].start), ym_idx(jobs[0].end or ref)
        length = rng.randint(6, 16)
        start_idx = rng.randint(first + 2, last - length - 1)
        start = (start_idx // 12, start_idx % 12 + 1)
        employer = _employer(fld, lang, rng, employers)
        role = rng.choice(fld.side_roles)
        jobs.append(Job(employer, role, start, ym_add(start, length - 1), deal(1), side=True))
        jobs.sort(key=lambda j: ym_idx(j.start), reverse=True)
    return jobs


def _employer(fld: Profession, lang: str, rng: random.Random, used: set[str]) -> str:
    for _ in range(100):
        if lang == "zh":
            city, brand = rng.choice(VOCAB.zh.cities), rng.choice(VOCAB.zh.brands)
            suffix = fld.industry
            if rng.random() < 0.3 and "事务所" not in suffix:
                suffix = rng.choice(
                    ["信息技术有限公司", "数据服务有限公司", "电子商务有限公司", "文化传媒有限公司"]
                )
            name = f"{city}{brand}{suffix}"
            if suffix == "律师事务所":
                name = f"{rng.choice(['北京', '上海', '广东', '浙江'])}{brand}律师事务所"
        else:
            name = rng.choice(VOCAB.en.employers)
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("employer pool exhausted")


def _education(
    degrees: Sequence[str],
    lang: str,
    fld: Profession,
    first_job: YM | None,
    ref: YM,
    rng: random.Random,
) -> list[Edu]:
    """Most recent first; the last degree ends before the first job (or before ``ref``)."""
    if first_job is not None:
        grad_year = first_job[0] if first_job[1] >= 7 else first_job[0] - 1
    else:
        grad_year = ref[0] if ref[1] >= 7 else ref[0] - 1
    end: YM = (grad_year, rng.choice([6, 6, 7]))
    out: list[Edu] = []
    major = rng.choice(fld.majors)
    for text in degrees:
        level = VOCAB.pools(lang).degrees[text]
        years = VOCAB.study_years[level]
        if lang == "zh" and level == "master":
            years = rng.choice([2, 3])
        if lang == "en" and level == "master" and text == "MSc":
            years = rng.choice([1, 2])
        start: YM = (end[0] - years, 9)
        if level == "doctor" and lang == "en":
            start = (end[0] - 5, 9)
        school = _school(lang, level, text, rng, {e.school for e in out})
        this_major: str | None = None if text in VOCAB.no_major else major
        if level == "doctor" and rng.random() < 0.5:
            this_major = rng.choice(fld.majors)
        out.append(Edu(level, text, this_major, school, start, end))
        end = (start[0] - rng.choice([0, 0, 0, 1]), 6)
    return out


def _school(lang: str, level: str, text: str, rng: random.Random, taken: set[str]) -> str:
    schools = VOCAB.pools(lang).schools
    pool = schools.get(text) or schools[level]
    choices = [s for s in pool if s not in taken] or pool
    return rng.choice(choices)


def _zh_email(sur: str, given: str, rng: random.Random) -> str:
    domain = rng.choice(
        ["example.cn", "example.com", "mail.example.cn", "example.com.cn", "example.net"]
    )
    local = rng.choice(
        [
            f"{sur}{given}{rng.randint(80, 99)}",
            f"{given}.{sur}",
            f"{sur}_{given}{rng.randint(1, 9)}",
            f"{sur[0]}{given[0]}{rng.randint(1990, 2002)}",
            f"{rng.randint(10_000_000, 999_999_999)}",  # a QQ-style number
        ]
    )
    return f"{local}@{domain}"


def _en_email(first: str, last: str, rng: random.Random) -> str:
    first, last = first.lower(), last.lower().replace("'", "")
    domain = rng.choice(["example.com", "example.org", "example.net", "mail.example.com"])
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first}_{last}",
        ]
    )
    return f"{local}@{domain}"


def _zh_phone(rng: random.Random) -> str:
    prefix = rng.choice(
        ["138", "139", "137", "136", "135", "150", "151", "158", "186", "187", "188", "177", "199"]
    )
    a, b = rng.randint(0, 9999), rng.randint(0, 9999)
    style = rng.choice(["space", "plus86", "plain", "dash", "paren86"])
    return {
        "space": f"{prefix} {a:04d} {b:04d}",
        "plus86": f"+86 {prefix}-{a:04d}-{b:04d}",
        "plain": f"{prefix}{a:04d}{b:04d}",
        "dash": f"{prefix}-{a:04d}-{b:04d}",
        "paren86": f"(+86) {prefix}{a:04d}{b:04d}",
    }[style]


def _en_phone(rng: random.Random, uk: bool) -> str:
    if uk:  # Ofcom's range for drama: 07700 900000–900999
        return rng.choice(["+44 7700 900{:03d}", "07700 900{:03d}"]).format(rng.randint(0, 999))
    area = rng.choice(VOCAB.en.area_codes)
    line = f"01{rng.randint(0, 99):02d}"  # 555-0100..0199: reserved for fiction
    return rng.choice(
        [
            f"({area}) 555-{line}",
            f"+1 {area} 555 {line}",
            f"{area}-555-{line}",
            f"{area}.555.{line}",
        ]
    )


def phone_key(phone: str) -> str:
    """The national number in digits: "+86 138-0013-8000" and "138 0013 8000" give the same."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    compact = phone.replace(" ", "")
    for prefix, country in (("+86", "86"), ("(+86)", "86"), ("+1", "1"), ("+44", "44")):
        if compact.startswith(prefix) and digits.startswith(country):
            return digits[len(country) :]
    return digits[1:] if digits.startswith("0") else digits  # UK trunk prefix


def round_years(months: int) -> float:
    """Months → years, one decimal, half up (3 months → 0.3)."""
    return float((Decimal(months) / Decimal(12)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
