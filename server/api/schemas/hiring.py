"""Question bank and job bodies. The handlers' validators (server/hiring) state the same rules
with their own messages; these models are what a client is promised."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from server.api.schemas.common import INTEGRAL, NON_BLANK, Localized, Model, Out
from server.domain.models import Media, Section
from server.hiring import jobs, questionbank

COMPETENCY_ID = r"^[a-z][a-z0-9_]{1,40}$"


def _one_language(max_chars: int) -> dict[str, Any]:
    text = {"type": "string", "pattern": NON_BLANK, "maxLength": max_chars}
    return {
        "anyOf": [
            {"required": ["zh"], "properties": {"zh": text}},
            {"required": ["en"], "properties": {"en": text}},
        ]
    }


class QuestionText(BaseModel):
    """Text in Chinese and/or English; at least one of them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_one_language(questionbank.MAX_TEXT_CHARS)
    )
    zh: Annotated[str, Field(max_length=questionbank.MAX_TEXT_CHARS)] | None = None
    en: Annotated[str, Field(max_length=questionbank.MAX_TEXT_CHARS)] | None = None


Keyword = Annotated[str, Field(pattern=NON_BLANK, max_length=questionbank.MAX_KEYWORD_CHARS)]
Keywords = Annotated[list[Keyword], Field(max_length=questionbank.MAX_KEYWORDS_PER_LANGUAGE)]


class RubricKeywords(BaseModel):
    """Words that show an answer covers the point, per language."""

    model_config = ConfigDict(extra="forbid")
    zh: Keywords | None = None
    en: Keywords | None = None


class RubricPoint(BaseModel):
    """One key point a good answer covers, with optional keywords per language."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_one_language(questionbank.MAX_RUBRIC_POINT_CHARS)
    )
    zh: Annotated[str, Field(max_length=questionbank.MAX_RUBRIC_POINT_CHARS)] | None = None
    en: Annotated[str, Field(max_length=questionbank.MAX_RUBRIC_POINT_CHARS)] | None = None
    keywords: RubricKeywords | None = None


CompetencyId = Annotated[str, Field(pattern=COMPETENCY_ID)]
Tag = Annotated[str, Field(pattern=NON_BLANK, max_length=questionbank.MAX_TAG_CHARS)]


class QuestionIn(BaseModel):
    """A question of the bank as a client writes it (``id``/``builtin`` are ignored)."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    builtin: bool | None = None
    section: Section
    text: QuestionText
    competencies: Annotated[
        list[CompetencyId], Field(min_length=1, max_length=questionbank.MAX_COMPETENCIES)
    ]
    rubric: Annotated[
        list[RubricPoint], Field(min_length=1, max_length=questionbank.MAX_RUBRIC_POINTS)
    ]
    prep_s: Annotated[int, Field(ge=questionbank.PREP_S_MIN, le=questionbank.PREP_S_MAX), INTEGRAL]
    answer_s: Annotated[
        int, Field(ge=questionbank.ANSWER_S_MIN, le=questionbank.ANSWER_S_MAX), INTEGRAL
    ]
    media: Media = Media.VIDEO
    tags: Annotated[list[Tag], Field(max_length=questionbank.MAX_TAGS)] = []


class QuestionOut(Out):
    id: str
    section: Section
    text: Localized
    competencies: list[str]
    rubric: list[dict[str, Any]]
    prep_s: int
    answer_s: int
    media: Media
    tags: list[str] = []
    builtin: bool = False


class ImportedQuestions(Out):
    imported: int
    questions: list[QuestionOut]


class CompetencyWeight(BaseModel):
    """One dimension of the job's competency model and its weight. Weights are relative: a job
    keeps them scaled to sum to 1, a dimension listed twice once with the weights added."""

    id: CompetencyId
    name: Localized | None = None
    weight: Annotated[float, Field(gt=0, le=1)]


class PlanSection(BaseModel):
    """The questions (ids from the bank, of this section) asked in one section."""

    section: Section
    questions: Annotated[list[str], Field(max_length=jobs.MAX_QUESTIONS_PER_SECTION)]


Title = Annotated[str, Field(pattern=NON_BLANK, max_length=jobs.MAX_TITLE_CHARS)]


def _section_once(section: str, min_questions: int, max_questions: int | None) -> dict[str, Any]:
    questions: dict[str, Any] = {"minItems": min_questions}
    if max_questions is not None:
        questions["maxItems"] = max_questions
    of_section = {"properties": {"section": {"const": section}}, "required": ["section"]}
    return {
        "contains": of_section,
        "minContains": 1,
        "maxContains": 1,
        "items": {"if": of_section, "then": {"properties": {"questions": questions}}},
    }


PLAN_RULES = {
    "allOf": [
        _section_once(Section.SELF_INTRO, 1, 1),
        _section_once(Section.STRUCTURED, 1, None),
        _section_once(Section.PROFESSIONAL, 1, None),
    ]
}
"""Each section once: one self-introduction question, at least one structured and one
professional-test question."""


class JobIn(Model):
    """A job as HR writes it: each section once, the plan has structured and professional
    questions. Weights are relative (the job keeps them scaled to sum to 1). Every question
    must be in the bank, of its section, and one professional question answered in text:
    409 otherwise."""

    title: Title
    department: Title
    description: Annotated[str, Field(max_length=jobs.MAX_DESCRIPTION_CHARS)] = ""
    language: jobs.Language = "zh-CN"
    answer_languages: list[jobs.AnswerLanguage] = Field(
        default=[],
        description="Languages answers may be given in besides the interview's own; each "
        "utterance is transcribed in the one identified",
    )
    competencies: Annotated[list[CompetencyWeight], Field(min_length=1)]
    plan: Annotated[list[PlanSection], Field(json_schema_extra=PLAN_RULES)]


class Job(Out):
    id: str
    org_id: str
    title: str
    department: str
    description: str = ""
    language: str
    answer_languages: list[str] = []
    competencies: list[CompetencyWeight]
    plan: list[PlanSection]
    counts: dict[str, int]
    created_at: float
    updated_at: float


class AnalyzeIn(Model):
    description: Annotated[str, Field(pattern=NON_BLANK)]


class ExaminersIn(Model):
    examiners: Annotated[list[str], Field(max_length=200)]


class Competency(Out):
    id: str
    name: Localized
