"""The generator's fixed inputs: word pools and date styles, read once from
``loadtest/data/resume_vocab.json``, the reference month and the files' timestamp."""

from __future__ import annotations

import datetime as dt
from importlib import resources

from pydantic import BaseModel, ConfigDict

REFERENCE_DATE = (2026, 11)
"""The month that "present" stands for unless a caller passes another."""
FIXED_TIMESTAMP = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
"""Creation time written into every file, so the same seed gives the same bytes."""
DATA_FILES = ("resume_vocab.json", "resume_layouts.json")
"""The generator's data files in ``loadtest/data/``."""


def data_text(name: str) -> str:
    """One of :data:`DATA_FILES`, as text."""
    return resources.files("loadtest").joinpath("data", name).read_text(encoding="utf-8")


class Strict(BaseModel):
    """Read from a data file: every key known, JSON types as declared, never changed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Profession(Strict):
    """One profession: what its people study, where and as what they work, what they list."""

    roles: tuple[str, ...]
    """Job titles; a career takes them in a shuffled order, one per job."""
    side_roles: tuple[str, ...]
    """Part-time engagements held next to a main job."""
    majors: tuple[str, ...]
    skills: tuple[str, ...]
    """A person lists 4 to 8 of them."""
    certs: tuple[str, ...]
    """Fresh graduates list only those in ``student_certs``."""
    duties: tuple[str, ...]
    """Bullet lines of the jobs, dealt out in turn."""
    industry: str = ""
    """Chinese: the company-name suffix; English: the words for the summary."""


class DateStyle(Strict):
    """How a date range is written: month style (of ``layouts.fmt_ym``), separator, the word
    for "present"; ``example`` shows the result."""

    month: str
    separator: str
    present: str
    example: str


class Pools(Strict):
    """The word pools of one language."""

    cities: tuple[str, ...]
    degrees: dict[str, str]
    """Degree words (``degree_text``) → Degree key."""
    fields: dict[str, Profession]
    schools: dict[str, tuple[str, ...]]
    """Degree level → schools; a degree's words → schools, for degrees with their own (MBA)."""


class ChinesePools(Pools):
    """Chinese names and company names besides the common pools."""

    surnames: tuple[tuple[str, str], ...]
    """(characters, pinyin)."""
    given_male: tuple[tuple[str, str], ...]
    given_female: tuple[tuple[str, str], ...]
    brands: tuple[str, ...]
    """Company names: city + brand + a suffix (mostly the profession's ``industry``)."""


class EnglishPools(Pools):
    """English names, phone area codes and employers besides the common pools."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    area_codes: tuple[str, ...]
    """US area codes (a UK city gets a UK number)."""
    employers: tuple[str, ...]


class Vocabulary(Strict):
    """``loadtest/data/resume_vocab.json``; ``about`` says what it holds."""

    about: str
    zh: ChinesePools
    en: EnglishPools
    no_major: frozenset[str]
    """Degrees that name their field themselves: the truth has ``major: None``."""
    student_certs: frozenset[str]
    """What a fresh graduate can hold (no licence that needs years of practice)."""
    study_years: dict[str, int]
    """Degree level → usual years of study."""
    month_names: dict[str, tuple[str, ...]]
    """Month style → the twelve month names."""
    date_styles: dict[str, DateStyle]

    def pools(self, lang: str) -> Pools:
        """The pools of "zh" or "en"."""
        return self.zh if lang == "zh" else self.en


VOCAB = Vocabulary.model_validate_json(data_text("resume_vocab.json"))
