"""Screening: requirement validation, per-criterion matching and the score shown to HR.

Every expected score below is computed by hand in the comment next to it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from server.resumes.profile import Education, Experience, Profile, Sourced
from server.resumes.screening import (
    MAX_TERMS,
    match,
    should_auto_invite,
    validate_requirements,
)

SKILLS_LINE = "技能：Python、SQL、Excel"
CPA_LINE = "证书：注册会计师（2019 年取得）"
EDUCATION_LINE = "2012.09-2016.06 浙江大学 计算机科学与技术 本科"
JOB_LINE = "2018.07-至今 杭州某科技有限公司 后端工程师，负责金融风控数据平台的设计、开发与运维，支撑日均千万级交易的实时风险评估"
TEXT = "\n".join(["张三", EDUCATION_LINE, JOB_LINE, SKILLS_LINE, CPA_LINE])


def education(degree: str | None, text: str = "本科", major: str = "计算机科学与技术") -> Education:
    return Education(
        degree=degree,
        degree_text=text,
        major=major,
        school="浙江大学",
        start="2012-09",
        end="2016-06",
        source=EDUCATION_LINE,
    )


def zh_profile(**changes: Any) -> Profile:
    """A bachelor with 5.5 years, Python/SQL/Excel and the CPA (written 注册会计师)."""
    base = Profile(
        language="zh",
        name=Sourced("张三", "张三"),
        education=(education("bachelor"),),
        experience=(
            Experience(
                employer="杭州某科技有限公司",
                role="后端工程师",
                start="2018-07",
                end="present",
                months=66,
                source=JOB_LINE,
            ),
        ),
        experience_years=5.5,
        skills=(
            Sourced("Python", SKILLS_LINE),
            Sourced("SQL", SKILLS_LINE),
            Sourced("Excel", SKILLS_LINE),
        ),
        certificates=(Sourced("注册会计师", CPA_LINE),),
        text=TEXT,
    )
    return dataclasses.replace(base, **changes)


def requirements(**raw: Any) -> dict[str, Any]:
    out, errors = validate_requirements(raw)
    assert errors == []
    return out


def explanations(result: dict[str, Any]) -> list[str]:
    return [c["explanation"] for c in result["criteria"]]


# --- matching -------------------------------------------------------------------------------


def test_all_must_haves_met_scores_100_with_sources() -> None:
    req = requirements(
        min_degree="bachelor",
        min_years=3,
        required_skills=["Python", "SQL"],
        required_certificates=["CPA"],
    )
    result = match(zh_profile(), req, "zh")
    # 5 must-haves, 5 met, no nice-to-haves: 100 × 5/5 = 100.0
    assert result["score"] == 100.0
    assert result["eligible"] is True
    assert result["criteria"] == [
        {
            "kind": "degree",
            "must": True,
            "required": "bachelor",
            "found": "bachelor",
            "met": True,
            "weight": 1,
            "source": EDUCATION_LINE,
            "explanation": "学历：本科 ≥ 本科 ✓",
        },
        {
            "kind": "years",
            "must": True,
            "required": 3,
            "found": 5.5,
            "met": True,
            "weight": 1,
            "source": JOB_LINE,
            "explanation": "工作年限：5.5 年 ≥ 3 年 ✓",
        },
        {
            "kind": "skill",
            "must": True,
            "required": "Python",
            "found": "Python",
            "met": True,
            "weight": 1,
            "source": SKILLS_LINE,
            "explanation": "Python：已找到 ✓ （技能：Python、SQL、Excel）",
        },
        {
            "kind": "skill",
            "must": True,
            "required": "SQL",
            "found": "SQL",
            "met": True,
            "weight": 1,
            "source": SKILLS_LINE,
            "explanation": "SQL：已找到 ✓ （技能：Python、SQL、Excel）",
        },
        {
            "kind": "certificate",
            "must": True,
            "required": "CPA",
            "found": "注册会计师",
            "met": True,
            "weight": 1,
            "source": CPA_LINE,
            "explanation": "CPA：已找到 ✓ （证书：注册会计师（2019 年取得））",
        },
    ]


def test_missing_skill_is_not_eligible() -> None:
    req = requirements(min_degree="bachelor", required_skills=["Python", "Go"])
    result = match(zh_profile(), req, "zh")
    # 3 must-haves (degree, Python, Go), 2 met: 100 × 2/3 = 66.67 → 66.7
    assert result["score"] == 66.7
    assert result["eligible"] is False
    go = result["criteria"][2]
    assert go == {
        "kind": "skill",
        "must": True,
        "required": "Go",
        "found": None,
        "met": False,
        "weight": 1,
        "source": None,
        "explanation": "Go：未找到 ✗",
    }


def test_a_skill_named_only_in_the_text_counts_and_its_line_is_the_proof() -> None:
    # "金融" is not an extracted skill, but the job line names it: found, with that line shown.
    result = match(zh_profile(), requirements(required_skills=["金融"]), "zh")
    criterion = result["criteria"][0]
    assert criterion["met"] is True and criterion["found"] == "金融"
    assert "金融" in criterion["source"] and criterion["source"] in zh_profile().text
    assert result["score"] == 100.0
    absent = match(zh_profile(), requirements(required_skills=["Golang"]), "zh")
    assert absent["criteria"][0]["met"] is False and absent["score"] == 0.0


def test_degree_lower_and_missing() -> None:
    req = requirements(min_degree="bachelor")
    lower = zh_profile(education=(education("associate", "大专"),))
    result = match(lower, req, "zh")
    # 1 must-have, 0 met: 100 × 0/1 = 0.0
    assert result["score"] == 0.0
    assert result["eligible"] is False
    assert result["criteria"][0]["found"] == "associate"
    assert explanations(result) == ["学历：大专 < 本科 ✗"]
    assert explanations(match(lower, req, "en")) == ["degree: associate < bachelor ✗"]

    none = zh_profile(education=(education(None, "进修"),))
    result = match(none, req, "zh")
    assert result["criteria"][0]["found"] is None
    assert result["criteria"][0]["source"] is None
    assert explanations(result) == ["学历：未找到 ✗"]
    assert explanations(match(none, req, "en")) == ["degree: not found ✗"]


def test_highest_degree_counts_and_its_source_is_shown() -> None:
    master_line = "2016.09-2019.06 复旦大学 金融学 硕士"
    two = (education("bachelor"), dataclasses.replace(education("master"), source=master_line))
    result = match(zh_profile(education=two), requirements(min_degree="master"), "zh")
    assert explanations(result) == ["学历：硕士 ≥ 硕士 ✓"]
    assert result["criteria"][0]["source"] == master_line


def test_years_short() -> None:
    req = requirements(min_years=3)
    result = match(zh_profile(experience_years=2.5), req, "zh")
    # 1 must-have, 0 met: 0.0
    assert result["score"] == 0.0
    assert result["eligible"] is False
    assert explanations(result) == ["工作年限：2.5 年 < 3 年 ✗"]
    assert explanations(match(zh_profile(experience_years=2.5), req, "en")) == [
        "experience: 2.5 years < 3 years ✗"
    ]
    # singular, and a whole number shown without ".0"
    one = match(zh_profile(experience_years=1.0), requirements(min_years=1), "en")
    assert explanations(one) == ["experience: 1 year ≥ 1 year ✓"]


def test_nice_to_haves_weighted_partially_met() -> None:
    req = requirements(
        required_skills=["Python"],
        nice_to_have=[
            {"kind": "skill", "value": "Excel", "weight": 3},
            {"kind": "certificate", "value": "PMP", "weight": 1},
        ],
    )
    result = match(zh_profile(), req, "zh")
    # must: 1/1 → 60 × 1 = 60; nice: Excel (3) met, PMP (1) not → 40 × 3/4 = 30; 60 + 30 = 90.0
    assert result["score"] == 90.0
    assert result["eligible"] is True
    assert [(c["kind"], c["must"], c["weight"], c["met"]) for c in result["criteria"]] == [
        ("skill", True, 1, True),
        ("skill", False, 3, True),
        ("certificate", False, 1, False),
    ]
    assert explanations(result)[2] == "PMP：未找到 ✗"


def test_nice_to_have_miss_keeps_candidate_eligible() -> None:
    req = requirements(
        min_degree="bachelor",
        min_years=3,
        nice_to_have=[
            {"kind": "degree", "value": "master", "weight": 2},
            {"kind": "keyword", "value": "金融", "weight": 1},
        ],
    )
    result = match(zh_profile(), req, "zh")
    # must: 2/2 → 60; nice: master (2) not met, 金融 (1) met → 40 × 1/3 = 13.33; 73.33 → 73.3
    assert result["score"] == 73.3
    assert result["eligible"] is True
    assert explanations(result) == [
        "学历：本科 ≥ 本科 ✓",
        "工作年限：5.5 年 ≥ 3 年 ✓",
        "学历：本科 < 硕士 ✗",
        # the line is longer than 60 characters: the explanation shows its first 59 and "…"
        "金融：已找到 ✓ （2018.07-至今 杭州某科技有限公司 后端工程师，负责金融风控数据平台的设计、开发与运维，支撑日均千万级交易的实时…）",
    ]
    keyword = result["criteria"][3]
    assert keyword["found"] == "金融"
    assert keyword["source"] == JOB_LINE  # the full line, only the explanation is shortened


def test_only_nice_to_haves() -> None:
    req = requirements(
        nice_to_have=[
            {"kind": "degree", "value": "master", "weight": 2},
            {"kind": "years", "value": 5, "weight": 3},
            {"kind": "major", "value": "计算机", "weight": 5},
        ]
    )
    result = match(zh_profile(), req, "zh")
    # no must-haves; weights 2 + 3 + 5 = 10, met 3 (5.5 ≥ 5) + 5 (计算机科学与技术): 100 × 8/10 = 80.0
    assert result["score"] == 80.0
    assert result["eligible"] is True
    assert explanations(result) == [
        "学历：本科 < 硕士 ✗",
        "工作年限：5.5 年 ≥ 5 年 ✓",
        f"计算机：已找到 ✓ （{EDUCATION_LINE}）",
    ]
    assert result["criteria"][2]["found"] == "计算机"


def test_no_requirements_scores_100() -> None:
    empty: tuple[dict[str, Any] | None, ...] = (None, {})
    for raw in empty:
        req, errors = validate_requirements(raw)
        assert errors == []
        assert req == {
            "min_degree": None,
            "min_years": None,
            "required_skills": [],
            "required_certificates": [],
            "nice_to_have": [],
            "auto_invite_threshold": None,
        }
        # nothing to check: 100.0 and eligible
        assert match(zh_profile(), req, "zh") == {"score": 100.0, "eligible": True, "criteria": []}


def test_criteria_order_is_stable() -> None:
    req = requirements(
        nice_to_have=[
            {"kind": "keyword", "value": "风控", "weight": 1},
            {"kind": "years", "value": 8, "weight": 1},
        ],
        required_certificates=["CPA"],
        required_skills=["SQL", "Python"],
        min_years=1,
        min_degree="associate",
    )
    result = match(zh_profile(), req, "zh")
    assert [(c["kind"], c["required"]) for c in result["criteria"]] == [
        ("degree", "associate"),
        ("years", 1),
        ("skill", "SQL"),
        ("skill", "Python"),
        ("certificate", "CPA"),
        ("keyword", "风控"),
        ("years", 8),
    ]
    assert match(zh_profile(), req, "zh") == result


# --- term matching --------------------------------------------------------------------------


def test_single_letter_r_matches_whole_words_only() -> None:
    text = "熟悉 React、Rust、Ruby，参与 R&D 团队；rapid prototyping"
    profile = zh_profile(skills=(Sourced("React", text), Sourced("Rust", text)), text=text)
    req = requirements(required_skills=["R"], nice_to_have=[{"kind": "keyword", "value": "R"}])
    result = match(profile, req, "en")
    assert explanations(result) == ["R: not found ✗", "R: not found ✗"]

    stats = "统计分析：R、SPSS"
    profile = zh_profile(skills=(Sourced("R", stats),), text=stats)
    result = match(profile, req, "en")
    assert explanations(result) == [f"R: found ✓ ({stats})", f"R: found ✓ ({stats})"]


def test_java_does_not_match_javascript() -> None:
    line = "前端：JavaScript、TypeScript"
    profile = zh_profile(skills=(Sourced("JavaScript", line),), text=line)
    java = match(profile, requirements(required_skills=["Java"]), "zh")
    assert explanations(java) == ["Java：未找到 ✗"]
    js = match(profile, requirements(required_skills=["javascript", "JS"]), "zh")
    assert [c["found"] for c in js["criteria"]] == ["JavaScript", "JavaScript"]  # JS is an alias
    # a version number may follow a word
    versioned = zh_profile(skills=(Sourced("Java8", "技能：Java8"),))
    assert match(versioned, requirements(required_skills=["Java"]), "zh")["eligible"] is True


def test_c_does_not_match_cpp_or_csharp() -> None:
    profile = zh_profile(skills=(Sourced("C++", "C++"), Sourced("C#", "C#")))
    assert match(profile, requirements(required_skills=["C"]), "en")["eligible"] is False
    assert match(profile, requirements(required_skills=["c++", "C#"]), "en")["eligible"] is True


def test_full_width_case_and_spacing_tolerant() -> None:
    result = match(zh_profile(), requirements(required_skills=["Ｐｙｔｈｏｎ", "sql"]), "zh")
    assert result["eligible"] is True
    assert [c["found"] for c in result["criteria"]] == ["Python", "SQL"]

    line = "技能：Ｐｙｔｈｏｎ、SpringBoot"
    profile = zh_profile(
        skills=(Sourced("Ｐｙｔｈｏｎ", line), Sourced("SpringBoot", line)),
        text="项目 管理 经验三年",
    )
    req = requirements(
        required_skills=["python", "Spring Boot"],
        nice_to_have=[{"kind": "keyword", "value": "项目管理", "weight": 1}],
    )
    result = match(profile, req, "zh")
    # found keeps the résumé's own characters
    assert [c["found"] for c in result["criteria"]] == ["Ｐｙｔｈｏｎ", "SpringBoot", "项目 管理"]
    assert result["score"] == 100.0


def test_latin_word_inside_chinese_text() -> None:
    profile = zh_profile(skills=(), text="熟悉Python3开发与数据分析")
    req = requirements(nice_to_have=[{"kind": "keyword", "value": "python"}])
    result = match(profile, req, "zh")
    assert result["criteria"][0]["found"] == "Python"
    assert result["criteria"][0]["source"] == "熟悉Python3开发与数据分析"


def test_aliases_match_both_ways() -> None:
    # 注册会计师 in the résumé, CPA required (see the all-met test); and the other way round:
    cpa_line = "Certificates: CPA (2019)"
    profile = zh_profile(certificates=(Sourced("CPA", cpa_line), Sourced("CET6", "CET6 580")))
    req = requirements(required_certificates=["注册会计师", "英语六级", "PMP"])
    result = match(profile, req, "zh")
    # 3 must-haves, 2 met: 100 × 2/3 = 66.7
    assert result["score"] == 66.7
    assert explanations(result) == [
        f"注册会计师：已找到 ✓ （{cpa_line}）",
        "英语六级：已找到 ✓ （CET6 580）",
        "PMP：未找到 ✗",
    ]
    assert [c["found"] for c in result["criteria"]] == ["CPA", "CET6", None]

    law = zh_profile(certificates=(Sourced("法律职业资格证", "法律职业资格证 A 类"),))
    assert match(law, requirements(required_certificates=["司法考试"]), "zh")["eligible"] is True


def test_zh_and_en_explanations() -> None:
    req = requirements(
        min_degree="master",
        min_years=3,
        required_skills=["Python", "Go"],
    )
    assert explanations(match(zh_profile(), req, "zh-CN")) == [
        "学历：本科 < 硕士 ✗",
        "工作年限：5.5 年 ≥ 3 年 ✓",
        "Python：已找到 ✓ （技能：Python、SQL、Excel）",
        "Go：未找到 ✗",
    ]
    assert explanations(match(zh_profile(), req, "en")) == [
        "degree: bachelor < master ✗",
        "experience: 5.5 years ≥ 3 years ✓",
        "Python: found ✓ (技能：Python、SQL、Excel)",
        "Go: not found ✗",
    ]


# --- auto-invite ----------------------------------------------------------------------------


def test_threshold_logic_never_rejects() -> None:
    nice = [
        {"kind": "skill", "value": "Excel", "weight": 3},
        {"kind": "certificate", "value": "PMP", "weight": 1},
    ]
    # eligible, score 90 (see test_nice_to_haves_weighted_partially_met)
    for threshold, invited in ((95, False), (90, True), (0, True), (None, False)):
        req = requirements(
            required_skills=["Python"], nice_to_have=nice, auto_invite_threshold=threshold
        )
        result = match(zh_profile(), req, "zh")
        assert result["score"] == 90.0
        assert result["eligible"] is True
        assert should_auto_invite(result, req) is invited

    # ineligible (Go missing) but above the threshold: 60 × 1/2 + 40 × 3/4 = 30 + 30 = 60.0
    req = requirements(
        required_skills=["Python", "Go"], nice_to_have=nice, auto_invite_threshold=50
    )
    result = match(zh_profile(), req, "zh")
    assert result["score"] == 60.0
    assert result["eligible"] is False
    assert should_auto_invite(result, req) is False
    assert set(result) == {"score", "eligible", "criteria"}  # no "rejected" verdict anywhere


# --- validation -----------------------------------------------------------------------------


def test_validation_normalises() -> None:
    req, errors = validate_requirements(
        {
            "min_degree": "Bachelor",
            "min_years": 2.5,
            "required_skills": [
                " Python ",
                "python",
                "ＰＹＴＨＯＮ",
                "Spring  Boot",
                "spring-boot",
            ],
            "required_certificates": ["CET-6", "cet6"],
            "nice_to_have": [
                {"kind": "skill", "value": "Excel"},
                {"kind": "skill", "value": "excel", "weight": 3},  # counts once, as the first
                {"kind": "years", "value": 2},
                {"kind": "years", "value": 2.0, "weight": 5},
            ],
            "auto_invite_threshold": 70,
        }
    )
    assert errors == []
    assert req == {
        "min_degree": "bachelor",
        "min_years": 2.5,
        "required_skills": ["Python", "Spring Boot"],
        "required_certificates": ["CET-6"],
        "nice_to_have": [
            {"kind": "skill", "value": "Excel", "weight": 1},
            {"kind": "years", "value": 2, "weight": 1},
        ],
        "auto_invite_threshold": 70,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"min_salary": 10}, "requirements.min_salary"),
        ({"min_years": -1}, "requirements.min_years"),
        ({"min_years": 51}, "requirements.min_years"),
        ({"min_years": "3"}, "requirements.min_years"),
        ({"min_years": True}, "requirements.min_years"),
        ({"min_years": float("nan")}, "requirements.min_years"),
        ({"min_degree": "phd"}, "requirements.min_degree"),
        ({"min_degree": 3}, "requirements.min_degree"),
        ({"required_skills": "Python"}, "requirements.required_skills"),
        (
            {"required_skills": [f"skill{i}" for i in range(MAX_TERMS + 1)]},
            "requirements.required_skills",
        ),
        ({"required_skills": ["Python", 3]}, "requirements.required_skills[1]"),
        ({"required_skills": ["  "]}, "requirements.required_skills[0]"),
        ({"required_skills": ["x" * 61]}, "requirements.required_skills[0]"),
        ({"required_skills": ["---"]}, "requirements.required_skills[0]"),
        ({"required_certificates": [None]}, "requirements.required_certificates[0]"),
        ({"nice_to_have": {"kind": "skill"}}, "requirements.nice_to_have"),
        ({"nice_to_have": ["Excel"]}, "requirements.nice_to_have[0]"),
        (
            {"nice_to_have": [{"kind": "skill", "value": "Excel", "weight": 0}]},
            "requirements.nice_to_have[0].weight",
        ),
        (
            {"nice_to_have": [{"kind": "skill", "value": "Excel", "weight": 11}]},
            "requirements.nice_to_have[0].weight",
        ),
        (
            {"nice_to_have": [{"kind": "skill", "value": "Excel", "weight": "3"}]},
            "requirements.nice_to_have[0].weight",
        ),
        (
            {"nice_to_have": [{"kind": "language", "value": "English"}]},
            "requirements.nice_to_have[0].kind",
        ),
        (
            {"nice_to_have": [{"kind": "degree", "value": "mba"}]},
            "requirements.nice_to_have[0].value",
        ),
        ({"nice_to_have": [{"kind": "years", "value": -2}]}, "requirements.nice_to_have[0].value"),
        ({"nice_to_have": [{"kind": "skill", "value": ""}]}, "requirements.nice_to_have[0].value"),
        (
            {"nice_to_have": [{"kind": "skill", "value": "Excel", "bonus": 1}]},
            "requirements.nice_to_have[0].bonus",
        ),
        (
            {"nice_to_have": [{"kind": "skill", "value": f"s{i}"} for i in range(31)]},
            "requirements.nice_to_have",
        ),
        ({"auto_invite_threshold": 150}, "requirements.auto_invite_threshold"),
        ({"auto_invite_threshold": -5}, "requirements.auto_invite_threshold"),
        ({"auto_invite_threshold": "70"}, "requirements.auto_invite_threshold"),
        (["Python"], "requirements"),
        ("bachelor", "requirements"),
    ],
)
def test_validation_errors_name_the_field(raw: Any, field: str) -> None:
    _, errors = validate_requirements(raw)
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["row"] is None
    assert errors[0]["message"]


def test_validation_messages_are_clear() -> None:
    _, errors = validate_requirements(
        {
            "min_salary": 10,
            "min_degree": "phd",
            "min_years": -1,
            "auto_invite_threshold": 150,
            "nice_to_have": [{"kind": "skill", "value": "Excel", "weight": 0}],
        }
    )
    assert errors == [
        {
            "row": None,
            "field": "requirements.min_salary",
            "message": "unknown key; expected one of min_degree, min_years, required_skills, "
            "required_certificates, nice_to_have, auto_invite_threshold",
        },
        {
            "row": None,
            "field": "requirements.min_degree",
            "message": "must be one of high_school, associate, bachelor, master, doctor",
        },
        {
            "row": None,
            "field": "requirements.min_years",
            "message": "must be a number from 0 to 50",
        },
        {
            "row": None,
            "field": "requirements.nice_to_have[0].weight",
            "message": "must be a number from 1 to 10",
        },
        {
            "row": None,
            "field": "requirements.auto_invite_threshold",
            "message": "must be a number from 0 to 100",
        },
    ]


def test_thirty_skills_are_fine_and_duplicates_do_not_count() -> None:
    skills = [f"skill{i}" for i in range(MAX_TERMS)] + ["SKILL0"]
    req, errors = validate_requirements({"required_skills": skills})
    assert errors == []
    assert len(req["required_skills"]) == MAX_TERMS
