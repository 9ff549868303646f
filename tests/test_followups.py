"""Personalised follow-up questions from a résumé profile (server/resumes/followups.py, followup_templates.py, followup_facts.py)."""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from importlib import resources
from typing import Any

import pytest

from common.competencies import BY_ID
from server.domain.models import Question, Section
from server.hiring.questionbank import validate_question
from server.resumes.followup_templates import (
    MAX_FACT_CHARS,
    PLACEHOLDERS,
    Kind,
    Template,
    TemplateError,
    load_templates,
    parse_templates,
)
from server.resumes.followups import build, personalise
from server.resumes.profile import Education, Experience, Profile, Sourced

NO_FILTER: dict[str, Any] = {}
"""A job without competencies: templates are not filtered."""


def job(employer: str | None, role: str | None, start: str, end: str, months: int | None):
    return Experience(employer, role, start, end, months, f"{start}–{end} {employer} {role}")


def sourced(*values: str) -> tuple[Sourced, ...]:
    return tuple(Sourced(v, f"…{v}…") for v in values)


def competencies(*ids: str) -> dict[str, Any]:
    return {"competencies": [{"id": i, "weight": 1 / len(ids)} for i in ids]}


def template_ids(questions: list[dict[str, Any]]) -> list[str]:
    return [re.sub(r"^fu-(.+)-[0-9a-f]{8}$", r"\1", q["id"]) for q in questions]


def all_text(question: dict[str, Any]) -> str:
    return " ".join([*question["text"].values(), *question["basis"].values()])


def raw_library() -> list[dict[str, Any]]:
    ref = resources.files("server").joinpath("data").joinpath("followups.json")
    return json.loads(ref.read_text(encoding="utf-8"))


ECOMMERCE_MANAGER = Profile(
    language="zh",
    experience=(
        job("杭州某某电商有限公司", "运营经理", "2021-07", "present", 36),
        job("某某超市", "收银员", "2019-01", "2021-06", 29),
    ),
    experience_years=5.4,
    skills=sourced("数据分析", "Excel"),
    text="2021.07–至今 杭州某某电商有限公司 运营经理，负责天猫店铺……",
)
SOFTWARE_ENGINEER = Profile(
    language="en",
    experience=(job("Acme Software Ltd", "Senior Software Engineer", "2019-03", "present", 60),),
    experience_years=5.0,
    skills=sourced("Python", "Docker", "English"),
)
FRESH_GRADUATE = Profile(
    language="zh",
    education=(
        Education("bachelor", "本科", "计算机科学与技术", "浙江大学", "2020-09", "2024-06", "…"),
    ),
    skills=sourced("Photoshop"),
)
CIVIL_SERVANT = Profile(
    language="zh",
    experience=(job("某某区某某街道办事处", "科员", "2018-07", "present", 70),),
    experience_years=5.8,
    skills=sourced("公文写作", "Office"),
)
AUDITOR = Profile(
    language="zh",
    experience=(job("某某会计师事务所", "审计经理", "2015-07", "present", 100),),
    experience_years=9.0,
    certificates=sourced("注册会计师（CPA）"),
)


# --------------------------------------------------------------------------- the library


def test_library_loads_validates_and_is_cached() -> None:
    templates = load_templates()
    assert len(templates) >= 24
    assert load_templates() is templates
    assert len({t.id for t in templates}) == len(templates)
    for t in templates:
        assert set(t.competencies) <= set(BY_ID), t.id
        assert 3 <= len(t.rubric) <= 4, t.id
        for point in t.rubric:
            assert point.text.zh and point.text.en, t.id
            assert point.keywords.get("zh") and point.keywords.get("en"), t.id
        assert t.placeholders and t.placeholders <= PLACEHOLDERS, t.id


def test_library_covers_every_kind_and_band() -> None:
    by_kind: dict[Kind, list[Template]] = {}
    for t in load_templates():
        by_kind.setdefault(t.kind, []).append(t)
    assert len(by_kind[Kind.INDUSTRY]) >= 10
    assert len(by_kind[Kind.ROLE]) >= 6
    assert len(by_kind[Kind.SKILL]) >= 7
    bands = {(t.when.min_years, t.when.max_years) for t in by_kind[Kind.BAND]}
    assert bands == {(None, 1.0), (1.0, 3.0), (3.0, 8.0), (8.0, None)}


@pytest.mark.parametrize(
    ("employer", "role", "expected"),
    [
        ("杭州某某电商有限公司", "运营专员", "ecommerce-peak-incident"),
        ("Acme Software Ltd", "Engineer", "software-release-incident"),
        ("中国某某银行", "柜员", "finance-error-risk"),
        ("某某街道办事处", "科员", "public-service-residents"),
        ("Riverside Primary School", "Teacher", "education-student-progress"),
        ("某某市第一人民医院", "护士", "healthcare-patient-conflict"),
        ("某某汽车零部件制造有限公司", "工艺员", "manufacturing-quality-root-cause"),
        ("某某文化传媒有限公司", "文案", "media-campaign"),
        ("某某物流有限公司", "调度员", "logistics-disruption"),
        ("某某律师事务所", "律师", "law-complex-matter"),
        ("某某有限公司", "销售代表", "role-sales-win-back"),
        ("Globex", "Data Analyst", "role-analyst-influence"),
        ("Globex", "Backend Developer", "role-engineer-tradeoff"),
        ("某某有限公司", "行政专员", "role-admin-priorities"),
        ("Initech", "Project Manager", "role-project-recovery"),
        ("某某有限公司", "部门经理", "role-team-lead"),
    ],
)
def test_each_industry_and_role_has_a_question(employer: str, role: str, expected: str) -> None:
    profile = Profile(
        language="zh",
        experience=(job(employer, role, "2019-01", "present", 50),),
        experience_years=4.2,
    )
    questions = personalise(profile, NO_FILTER, "zh")
    assert template_ids(questions)[0] == expected


def _full_profile(t: Template, language: str) -> Profile:
    """A profile with every fact, matching ``t``'s conditions."""
    w = t.when
    excluded = (w.except_in or {}).get(language)
    years = 5.0
    if w.max_years is not None:
        years = (w.max_years + (w.min_years or 0.0)) / 2
    elif w.min_years is not None:
        years = w.min_years + 2
    employer = f"某某{w.industry.words[0]}有限公司" if w.industry else "某某有限公司"
    role = w.role.words[0] if w.role else "专员"
    return Profile(
        language="zh",
        education=(
            Education("bachelor", "本科", "汉语言文学", "某某大学", "2010-09", "2014-06", "…"),
        ),
        experience=(job(employer, role, "2014-07", "present", round(years * 12)),),
        experience_years=years,
        skills=sourced(next(s for s in w.skills.words if not (excluded and excluded.find(s))))
        if w.skills
        else (),
        certificates=sourced(w.certificates.words[0]) if w.certificates else (),
    )


@pytest.mark.parametrize("template", load_templates(), ids=lambda t: t.id)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_template_renders_cleanly(template: Template, language: str) -> None:
    question = build(template, _full_profile(template, language), language)
    assert question is not None, "a matching, fully filled profile must be eligible"
    for text in [*question["text"].values(), *question["basis"].values()]:
        assert "{" not in text and "}" not in text
        assert "None" not in text
        assert text.strip() == text and "  " not in text
    assert question["basis"]["zh"].startswith("简历：") and len(question["basis"]["zh"]) > 3
    assert question["basis"]["en"].startswith("Résumé: ")
    assert question["personalised"] is True
    assert "personalised" in question["tags"]
    assert question["id"].startswith(f"fu-{template.id}-")
    shape = {
        k: v for k, v in question.items() if k not in ("id", "builtin", "personalised", "basis")
    }
    assert validate_question(shape, 0)[1] == []
    assert Question.from_dict(question).section is Section.STRUCTURED


# --------------------------------------------------------------------------- validation


def _broken(change: str) -> list[dict[str, Any]]:
    items = copy.deepcopy(raw_library()[:1])
    t = items[0]
    if change == "competency":
        t["competencies"] = ["data_driven", "mind_reading"]
    elif change == "placeholder":
        t["text"]["zh"] += "{salary}"
        t["text"]["en"] += "{salary}"
    elif change == "mismatch":
        t["text"]["en"] = t["text"]["en"].replace("{employer}", "the company")
    elif change == "brace":
        t["text"]["zh"] += "{"
    elif change == "keywords":
        del t["rubric"][0]["keywords"]["en"]
    elif change == "rubric":
        t["rubric"] = t["rubric"][:2]
    elif change == "kind":
        t["kind"] = "role"
    elif change == "condition":
        t["when"]["age"] = [30]
    elif change == "duplicate":
        items.append(copy.deepcopy(t))
    elif change == "skill":
        del t["when"]["skills"]
        t["text"] = {"zh": "{skill}？", "en": "{skill}?"}
    return items


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("competency", "unknown competency 'mind_reading'"),
        ("placeholder", "unknown placeholder {salary}"),
        ("mismatch", "same placeholders"),
        ("brace", "unmatched brace"),
        ("keywords", "keywords in zh and en"),
        ("rubric", "3 to 4 points"),
        ("kind", "role template needs"),
        ("condition", "when.age: unknown condition"),
        ("duplicate", "duplicate id"),
        ("skill", "{skill} needs a when.skills"),
    ],
)
def test_invalid_templates_fail_loudly(change: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_templates(_broken(change))
    assert any(message in p for p in caught.value.problems), caught.value.problems
    assert "ecommerce-data-conversion" in str(caught.value)


def test_the_packaged_file_parses_unchanged() -> None:
    assert [t.id for t in parse_templates(raw_library())] == [t.id for t in load_templates()]


# --------------------------------------------------------------------------- candidates


def test_ecommerce_operations_manager_gets_a_data_question() -> None:
    questions = personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh")
    first = questions[0]
    assert template_ids(questions)[0] == "ecommerce-data-conversion"
    assert "杭州某某电商有限公司" in first["text"]["zh"]
    assert "3年" in first["text"]["zh"]  # the job's own length, not the 5.4-year career
    assert "for 3 years" in first["text"]["en"]
    assert "转化率" in first["text"]["zh"]
    assert (
        first["basis"]["zh"] == "简历：2021.07–至今 杭州某某电商有限公司 运营经理；技能：数据分析"
    )
    assert first["basis"]["en"].startswith("Résumé: 2021.07–present 杭州某某电商有限公司")
    assert first["section"] == "structured" and first["media"] == "video"
    assert first["builtin"] is False
    assert first["tags"][:2] == ["personalised", "industry"]
    # The second question is another kind and does not lean on the same skill.
    assert len(questions) == 2
    assert template_ids(questions)[1] not in ("ecommerce-peak-incident", "skill-data-analysis")


def test_software_engineer_with_python_gets_a_technical_question() -> None:
    questions = personalise(SOFTWARE_ENGINEER, NO_FILTER, "en")
    first = questions[0]
    assert template_ids(questions)[0] == "software-skill-problem"
    assert "Python" in first["text"]["en"]
    assert "Acme Software Ltd" in first["text"]["en"]
    assert "professional" in first["competencies"]
    # Chinese text spaces the Latin words it quotes.
    assert "使用 Python" not in first["text"]["zh"] and " Python " in first["text"]["zh"]


def test_fresh_graduate_is_asked_about_study_not_years() -> None:
    questions = personalise(FRESH_GRADUATE, NO_FILTER, "zh")
    assert template_ids(questions) == ["band-fresh-major"]
    first = questions[0]
    assert "浙江大学" in first["text"]["zh"] and "计算机科学与技术" in first["text"]["zh"]
    assert re.search(r"实习|项目|竞赛", first["text"]["zh"])
    assert re.search(r"internship|project", first["text"]["en"])
    assert not re.search(r"\d\s*年|不到|year", first["text"]["zh"] + first["text"]["en"])
    assert "工作年限：无" in first["basis"]["zh"]


def test_fresh_graduate_with_community_service_in_the_text() -> None:
    profile = Profile(
        language="zh",
        education=FRESH_GRADUATE.education,
        text="2023.07 在某某社区居委会参加暑期志愿服务，协助开展垃圾分类宣传。",
    )
    questions = personalise(profile, NO_FILTER, "zh")
    assert template_ids(questions) == ["public-service-volunteer", "band-fresh-major"]
    assert "社区居委会" in questions[0]["basis"]["zh"]


def test_civil_servant_with_official_writing() -> None:
    questions = personalise(CIVIL_SERVANT, NO_FILTER, "zh")
    first = questions[0]
    assert template_ids(questions)[0] == "public-service-writing"
    assert "某某区某某街道办事处" in first["text"]["zh"] and "公文写作" in first["text"]["zh"]
    assert "policy_execution" in first["competencies"]
    assert "skill-official-writing" not in template_ids(questions)


def test_finance_person_with_cpa() -> None:
    questions = personalise(AUDITOR, NO_FILTER, "zh")
    assert template_ids(questions) == ["finance-error-risk", "skill-finance-certificate"]
    assert "8年" in questions[0]["text"]["zh"]
    assert "注册会计师（CPA）" in questions[1]["text"]["zh"]
    assert questions[1]["basis"]["en"] == "Résumé: Certificate: 注册会计师（CPA）"


def test_certificate_filed_under_skills_still_counts() -> None:
    profile = Profile(language="en", skills=sourced("PMP"), experience_years=4.0)
    assert template_ids(personalise(profile, NO_FILTER, "en")) == ["skill-pmp-practice"]


def test_nothing_useful_gives_no_question() -> None:
    """No job, school, skill or certificate to quote: no personalised question at all
    (a generic question would not be personal and would only lengthen the interview)."""
    assert personalise(Profile(language="zh"), NO_FILTER, "zh") == []
    bare = Profile(
        language="en",
        name=Sourced("Jane Doe", "Jane Doe"),
        email=Sourced("jane@example.com", "jane@example.com"),
        experience=(job(None, None, "2020", "2021", None),),
        experience_years=1.0,
        text="Jane Doe, jane@example.com",
    )
    assert personalise(bare, NO_FILTER, "en") == []


def test_missing_fact_makes_a_template_ineligible() -> None:
    profile = Profile(
        language="zh",
        experience=(job("某某电商有限公司", "None", "2020-01", "present", None),),
        experience_years=3.5,
        skills=sourced("数据分析"),
    )
    questions = personalise(profile, NO_FILTER, "zh")
    # Every industry and role template needs the role or the job's length; none is known.
    assert template_ids(questions) == ["skill-data-analysis"]
    assert "None" not in all_text(questions[0])


def test_hostile_employer_names_are_cut_and_cleaned() -> None:
    evil = "Evil\x00Corp\u202e{role}<script>alert(1)</script>\n\u200b" * 5
    profile = Profile(
        language="en",
        experience=(job(evil, "Manager\t{years}\x1b[31m", "2020-01", "present", 13),),
        experience_years=1.1,
    )
    questions = personalise(profile, NO_FILTER, "en")
    assert questions
    for q in questions:
        text = all_text(q)
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
        assert not set("{}<>") & set(text)
        employer = re.search(r"at (.+?) for ", q["text"]["en"]) or re.search(
            r"at (.+?)\.", q["text"]["en"]
        )
        assert employer is not None
        assert len(employer.group(1)) <= MAX_FACT_CHARS
        assert employer.group(1).startswith("EvilCorprolescriptalert(1)/script")
        assert employer.group(1).endswith("…")


def test_long_skill_is_quoted_by_its_keyword() -> None:
    profile = Profile(
        language="zh",
        skills=sourced("熟练使用Python进行数据清洗、分析与自动化报表开发"),
        experience_years=0.0,
    )
    first = personalise(profile, NO_FILTER, "zh")[0]
    assert template_ids([first]) == ["skill-python-sql-automation"]
    assert "列出了 Python。" in first["text"]["zh"]


def test_most_recent_then_longest_job_is_used() -> None:
    profile = Profile(
        language="en",
        experience=(
            job("Old Bank", "Teller", "2012-01", "2015-12", 48),
            job("New Bank", "Credit Analyst", "2016-01", "present", 90),
            job("Side Bank", "Advisor", "2016-01", "present", 12),
        ),
        experience_years=11.9,
    )
    first = personalise(profile, NO_FILTER, "en")[0]
    assert "at New Bank for 8 years" in first["text"]["en"]


@pytest.mark.parametrize(
    ("months", "zh", "en"),
    [(5, "不到1年", "less than a year"), (12, "1年", "for 1 year."), (29, "2年", "2 years")],
)
def test_years_are_rounded_for_reading(months: int, zh: str, en: str) -> None:
    profile = Profile(
        language="zh",
        experience=(job("某某银行", "柜员", "2022-01", "present", months),),
        experience_years=months / 12,
    )
    first = personalise(profile, NO_FILTER, "zh")[0]
    assert zh in first["text"]["zh"] and en in first["text"]["en"]


def test_foreign_language_is_not_asked_in_that_language() -> None:
    profile = Profile(language="en", skills=sourced("English (CET-6)"), experience_years=2.0)
    assert personalise(profile, NO_FILTER, "en") == []
    assert template_ids(personalise(profile, NO_FILTER, "zh-CN")) == ["skill-foreign-language-use"]
    native = Profile(language="en", skills=sourced("English (native)"), experience_years=2.0)
    assert personalise(native, NO_FILTER, "zh") == []


def test_same_input_same_ids_and_different_facts_different_ids() -> None:
    first = personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh")
    again = personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh")
    assert first == again
    assert [q["id"] for q in first] == [q["id"] for q in personalise(ECOMMERCE_MANAGER, {}, "en")]
    other = Profile(
        language="zh",
        experience=(job("另一家电商公司", "运营经理", "2021-07", "present", 36),),
        experience_years=3.0,
        skills=sourced("数据分析"),
    )
    assert personalise(other, NO_FILTER, "zh")[0]["id"] != first[0]["id"]


def test_no_two_questions_of_one_kind_or_on_one_skill() -> None:
    for profile in (ECOMMERCE_MANAGER, SOFTWARE_ENGINEER, CIVIL_SERVANT, AUDITOR):
        questions = personalise(profile, NO_FILTER, profile.language)
        kinds = [q["tags"][1] for q in questions]
        assert len(kinds) == len(set(kinds))
        skills = [
            line for q in questions for line in q["basis"]["en"].split("; ") if "Skill" in line
        ]
        assert len(skills) == len(set(skills))


def test_count_and_language() -> None:
    assert len(personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh", count=1)) == 1
    assert personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh", count=0) == []
    with pytest.raises(ValueError, match="count"):
        personalise(ECOMMERCE_MANAGER, NO_FILTER, "zh", count=3)
    with pytest.raises(ValueError, match="language"):
        personalise(ECOMMERCE_MANAGER, NO_FILTER, "fr")


# --------------------------------------------------------------------------- job competencies


def test_only_templates_on_the_jobs_competencies() -> None:
    questions = personalise(ECOMMERCE_MANAGER, competencies("leadership", "integrity"), "zh")
    assert questions
    for q in questions:
        assert q["competencies"] == ["leadership"]
    assert "ecommerce-data-conversion" not in template_ids(questions)


def test_competencies_are_trimmed_to_the_jobs() -> None:
    questions = personalise(ECOMMERCE_MANAGER, competencies("data_driven", "logic"), "zh")
    assert template_ids(questions)[0] == "ecommerce-data-conversion"
    assert questions[0]["competencies"] == ["data_driven", "logic"]


def test_falls_back_to_generic_competencies_in_the_job() -> None:
    # Nothing the engineer is eligible for assesses "expression" or the custom id...
    job_data = competencies("expression", "stakeholder_care")
    questions = personalise(SOFTWARE_ENGINEER, job_data, "en")
    # ...so the best questions are used, scored on the generic competency the job has.
    assert template_ids(questions)[0] == "software-skill-problem"
    assert all(q["competencies"] == ["expression"] for q in questions)


def test_no_shared_or_generic_competency_gives_nothing() -> None:
    assert personalise(SOFTWARE_ENGINEER, competencies("stakeholder_care"), "en") == []
