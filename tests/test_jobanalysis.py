"""Job analysis: competency suggestion from the lexicon, weights, question suggestion."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from common.competencies import BY_ID, CATALOGUE
from common.localized import Localized
from server.domain.models import SECTION_ORDER, Media, Question, Section
from server.hiring.jobanalysis import (
    LEXICON_PATH,
    MAX_DESCRIPTION_CHARS,
    JobAnalysis,
    _to_hundredths,
    analyze,
    default_lexicon,
    detect_language,
    load_lexicon,
    parse_lexicon,
)

ZH_BRAND = (
    "岗位职责：1. 负责公司品牌策划与推广方案的制定；2. 负责线上线下活动执行，协调供应商与内部各部门；"
    "3. 通过数据分析评估活动效果，输出复盘报告。任职要求：本科及以上学历，市场营销相关专业，"
    "3年以上工作经验，良好的沟通能力。"
)
EN_DATA = (
    "We are hiring a Data Analyst to turn data into insights. You will build dashboards and KPI "
    "reports in SQL and Tableau, run A/B tests, and present findings to stakeholders. "
    "Requirements: 2+ years of experience in analytics, strong Excel and Python skills, "
    "excellent communication skills."
)
ZH_EMERGENCY = (
    "岗位：区应急管理局科员。职责：负责辖区突发事件应急处置和应急预案编制，组织开展应急演练；"
    "开展安全生产监督检查，贯彻落实安全生产法律法规和上级决策部署；做好值班值守和信息报送工作。"
    "要求：政治素质好，具有较强的应变能力和执行力，能适应经常性加班。"
)
ZH_POLICY_OFFICE = (
    "岗位：市发展改革委综合科科员。主要从事政策研究、文稿起草、综合协调等工作。"
    "要求：中共党员，具有较强的文字功底和综合分析能力，熟悉公文写作，能吃苦耐劳。"
)
ZH_SERVICE_WINDOW = (
    "岗位：街道政务服务中心窗口工作人员。负责窗口服务、接待来访群众、咨询解答和业务受理，"
    "做好群众工作，化解矛盾纠纷。要求：服务意识强，有较好的沟通能力，服从组织安排。"
)
ZH_BACKEND = (
    "高级后端研发工程师：负责微服务架构设计与开发，精通Java，熟悉MySQL、Redis、Kafka，"
    "有大规模分布式系统经验；具备良好的学习能力和团队合作精神。"
)
EN_SALES = (
    "Sales Executive: prospect new customers, negotiate contracts, manage key accounts, exceed "
    "quarterly sales targets and keep CRM records up to date. Excellent interpersonal skills."
)
UNRELATED_ZH = "今天天气很好，我们去公园散步，然后吃了一碗面。"
UNRELATED_EN = "The quick brown fox jumps over the lazy dog."

ALL_DESCRIPTIONS = (
    ZH_BRAND,
    EN_DATA,
    ZH_EMERGENCY,
    ZH_POLICY_OFFICE,
    ZH_SERVICE_WINDOW,
    ZH_BACKEND,
    EN_SALES,
    UNRELATED_ZH,
    UNRELATED_EN,
)


def ids(analysis: JobAnalysis) -> list[str]:
    return [c.id for c in analysis.competencies]


def hundredths(analysis: JobAnalysis) -> list[int]:
    return [round(c.weight * 100) for c in analysis.competencies]


# --------------------------------------------------------------------------- competencies


@pytest.mark.parametrize(
    ("description", "top_n", "expected_top", "expected_first"),
    [
        pytest.param(
            ZH_BRAND,
            3,
            {"market_sensitivity", "communication", "data_driven"},
            None,
            id="zh-brand-brief-example",
        ),
        pytest.param(EN_DATA, 1, {"data_driven"}, "data_driven", id="en-data-analyst"),
        pytest.param(
            ZH_EMERGENCY,
            2,
            {"emergency_handling", "policy_execution"},
            "emergency_handling",
            id="zh-civil-service-emergency",
        ),
        pytest.param(
            ZH_POLICY_OFFICE, 2, {"expression", "logic"}, None, id="zh-civil-service-policy-office"
        ),
        pytest.param(
            ZH_SERVICE_WINDOW,
            2,
            {"customer_service", "communication"},
            "customer_service",
            id="zh-civil-service-window",
        ),
        pytest.param(ZH_BACKEND, 1, {"professional"}, "professional", id="zh-backend-engineer"),
        pytest.param(
            EN_SALES, 2, {"market_sensitivity", "communication"}, None, id="en-sales-executive"
        ),
    ],
)
def test_suggested_competencies(
    description: str, top_n: int, expected_top: set[str], expected_first: str | None
) -> None:
    result = analyze(description, [])
    assert not result.fallback
    assert set(ids(result)[:top_n]) == expected_top
    if expected_first is not None:
        assert ids(result)[0] == expected_first
    for c in result.competencies:
        assert c.matched, f"{c.id} suggested without a matched keyword"
        assert c.name == BY_ID[c.id].name


def test_policy_office_also_suggests_policy_execution() -> None:
    assert "policy_execution" in ids(analyze(ZH_POLICY_OFFICE, []))


@pytest.mark.parametrize("description", ALL_DESCRIPTIONS)
@pytest.mark.parametrize("max_competencies", [1, 3, 5])
def test_weights_sum_to_one_and_are_ordered(description: str, max_competencies: int) -> None:
    result = analyze(description, [], max_competencies=max_competencies)
    weights = [c.weight for c in result.competencies]
    assert 1 <= len(weights) <= max_competencies
    assert sum(hundredths(result)) == 100
    assert math.isclose(math.fsum(weights), 1.0, abs_tol=1e-9)
    assert all(w == round(w, 2) for w in weights)
    assert weights == sorted(weights, reverse=True)
    assert all(w >= 0.05 for w in weights)
    assert len(set(ids(result))) == len(weights)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1.0], [100]),
        ([1.0, 1.0, 1.0], [34, 33, 33]),
        ([0.335, 0.335, 0.33], [34, 33, 33]),
        ([2.0, 1.0], [67, 33]),
        ([10.0, 10.0, 10.0, 1.0, 1.0], [30, 30, 30, 5, 5]),
        ([31.0, 31.0, 30.0, 4.0, 4.0], [30, 30, 30, 5, 5]),
        ([30.0, 25.0, 25.0], [38, 31, 31]),
    ],
)
def test_rounding_keeps_sum_and_order(scores: list[float], expected: list[int]) -> None:
    out = _to_hundredths(scores)
    assert out == expected
    assert sum(out) == 100
    assert out == sorted(out, reverse=True)


@pytest.mark.parametrize("description", [UNRELATED_ZH, UNRELATED_EN, "负责运营商客户端维护"])
def test_fallback_when_nothing_matches(description: str) -> None:
    result = analyze(description, [])
    assert result.fallback
    assert ids(result) == ["logic", "professional", "communication", "expression"]
    assert hundredths(result) == [30, 25, 25, 20]
    assert all(c.matched == () for c in result.competencies)


def test_fallback_respects_max_competencies() -> None:
    result = analyze(UNRELATED_EN, [], max_competencies=2)
    assert result.fallback
    assert ids(result) == ["logic", "professional"]
    assert sum(hundredths(result)) == 100


@pytest.mark.parametrize(
    ("description", "competency", "surface"),
    [
        ("Strong EXCEL skills", "data_driven", "EXCEL"),  # case-insensitive
        ("Build dashboards weekly", "data_driven", "dashboards"),  # plural
        ("Run A/B tests", "data_driven", "A/B tests"),
        ("A data-driven team", "data_driven", "data-driven"),
        ("A data driven team", "data_driven", "data driven"),  # space matches hyphen keyword
        ("You will negotiate contracts", "communication", "negotiate"),  # trailing *
        ("熟练使用SQL进行取数", "data_driven", "SQL"),  # Latin keyword inside Chinese text
        ("岗位：数据分析师", "data_driven", "数据分析"),  # Chinese substring
    ],
)
def test_keyword_matching(description: str, competency: str, surface: str) -> None:
    result = {c.id: c for c in analyze(description, []).competencies}
    assert surface in result[competency].matched


@pytest.mark.parametrize(
    ("description", "absent"),
    [
        ("Excellent written skills", "data_driven"),  # "Excel" needs a word boundary
        ("岗位：数据分析师", "logic"),  # "分析" is hidden by the longer "数据分析"
        ("负责服务器运维", "customer_service"),  # "服务" is hidden by "服务器"
        ("负责运营商网络", "market_sensitivity"),  # "运营" is hidden by the ignore term "运营商"
    ],
)
def test_keyword_matching_boundaries(description: str, absent: str) -> None:
    assert absent not in ids(analyze(description, []))


def test_repeated_keywords_have_diminishing_returns() -> None:
    once = analyze("数据分析；沟通协调", [])
    many = analyze("数据分析；" * 10 + "沟通协调", [])
    share_once = {c.id: c.weight for c in once.competencies}["data_driven"]
    share_many = {c.id: c.weight for c in many.competencies}["data_driven"]
    assert share_many > share_once
    assert share_many < 0.85  # linear counting would give 15 / 16.3 = 0.92


def test_fullwidth_text_is_normalised() -> None:
    assert "data_driven" in ids(analyze("熟练使用ＳＱＬ和Ｅｘｃｅｌ", []))


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZH_BRAND, "zh"),
        (ZH_BACKEND, "zh"),  # many Latin tech words, still Chinese
        ("熟练使用SQL、Excel、Python、Tableau、Power BI", "zh"),
        (EN_DATA, "en"),
        ("Join 字节跳动 as a data analyst working on growth dashboards for our apps.", "en"),
        ("12345 !!!", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_analysis_reports_language() -> None:
    assert analyze(ZH_BRAND, []).language == "zh"
    assert analyze(EN_DATA, []).language == "en"


# --------------------------------------------------------------------------- questions


def q(
    qid: str,
    section: Section,
    competencies: tuple[str, ...],
    *,
    zh: str = "题目",
    en: str = "Question",
    media: Media = Media.VIDEO,
) -> Question:
    return Question(
        id=qid,
        section=section,
        text=Localized(zh=zh, en=en),
        competencies=competencies,
        rubric=(),
        prep_s=30,
        answer_s=120,
        media=media,
    )


BANK: tuple[Question, ...] = (
    q("si-en-only", Section.SELF_INTRO, ("expression",), zh=""),
    q("si-both", Section.SELF_INTRO, ("expression",)),
    q("st-market", Section.STRUCTURED, ("market_sensitivity", "communication")),
    q("st-data", Section.STRUCTURED, ("data_driven", "logic")),
    q("st-emergency", Section.STRUCTURED, ("emergency_handling",)),
    q("st-policy", Section.STRUCTURED, ("policy_execution", "integrity")),
    q(
        "st-en-only",
        Section.STRUCTURED,
        ("market_sensitivity", "communication", "data_driven"),
        zh="",
    ),
    q("st-teamwork", Section.STRUCTURED, ("teamwork",)),
    q("pr-data-text", Section.PROFESSIONAL, ("professional", "data_driven"), media=Media.TEXT),
    q("pr-market-video", Section.PROFESSIONAL, ("market_sensitivity",)),
    q("pr-emergency-text", Section.PROFESSIONAL, ("emergency_handling",), media=Media.TEXT),
    q("pr-unrelated-audio", Section.PROFESSIONAL, ("learning",), media=Media.AUDIO),
)


def question_ids(analysis: JobAnalysis) -> list[str]:
    return [s.question.id for s in analysis.questions]


@pytest.mark.parametrize("description", ALL_DESCRIPTIONS)
def test_question_plan_rules(description: str) -> None:
    result = analyze(description, BANK)
    questions = [s.question for s in result.questions]
    sections = [x.section for x in questions]
    assert sections.count(Section.SELF_INTRO) == 1
    assert sections[0] is Section.SELF_INTRO
    assert Section.STRUCTURED in sections
    assert any(x.section is Section.PROFESSIONAL and x.media is Media.TEXT for x in questions)
    assert sections == sorted(sections, key=SECTION_ORDER.index)
    assert len(questions) <= 8
    assert len({x.id for x in questions}) == len(questions)
    assert all(s.reason for s in result.questions)


def test_questions_follow_competencies_and_language() -> None:
    result = analyze(ZH_BRAND, BANK)
    chosen = question_ids(result)
    assert chosen[0] == "si-both"  # the self-intro with Chinese text
    assert "st-market" in chosen and "st-data" in chosen
    # the same coverage without Chinese text ranks lower
    assert "st-en-only" not in chosen or chosen.index("st-market") < chosen.index("st-en-only")
    assert "st-emergency" not in chosen  # covers nothing suggested
    reasons = {s.question.id: s.reason for s in result.questions}
    assert "市场敏感度" in reasons["st-market"] and "沟通协调" in reasons["st-market"]
    assert "自我介绍" in reasons["si-both"]


def test_emergency_ad_picks_emergency_questions() -> None:
    chosen = question_ids(analyze(ZH_EMERGENCY, BANK))
    assert chosen[1] == "st-emergency"
    assert "pr-emergency-text" in chosen
    assert "st-policy" in chosen


def test_english_reasons_are_english() -> None:
    result = analyze(EN_DATA, BANK)
    reasons = {s.question.id: s.reason for s in result.questions}
    assert reasons["st-data"].startswith("Covers: Data-driven decisions")
    assert result.questions[0].question.id in {"si-both", "si-en-only"}


def test_text_question_is_included_even_without_overlap() -> None:
    bank = (
        q("si", Section.SELF_INTRO, ()),
        q("st", Section.STRUCTURED, ("emergency_handling",)),
        q("pr-video", Section.PROFESSIONAL, ("emergency_handling",)),
        q("pr-text", Section.PROFESSIONAL, ("learning",), media=Media.TEXT),
    )
    result = analyze(ZH_EMERGENCY, bank)
    reasons = {s.question.id: s.reason for s in result.questions}
    assert question_ids(result) == ["si", "st", "pr-text", "pr-video"]
    assert "文字作答" in reasons["pr-text"]


@pytest.mark.parametrize(
    ("bank", "expected"),
    [
        ((), []),
        ((q("pr", Section.PROFESSIONAL, ("learning",)),), ["pr"]),  # no text question in bank
        ((q("si", Section.SELF_INTRO, ()), q("si2", Section.SELF_INTRO, ("expression",))), ["si"]),
    ],
)
def test_small_banks(bank: tuple[Question, ...], expected: list[str]) -> None:
    assert question_ids(analyze(EN_SALES, bank)) == expected


@pytest.mark.parametrize("max_questions", [3, 4, 8])
def test_max_questions(max_questions: int) -> None:
    result = analyze(ZH_BRAND, BANK, max_questions=max_questions)
    assert len(result.questions) <= max_questions
    if max_questions == 3:
        assert len(result.questions) == 3


def test_deterministic_regardless_of_bank_order() -> None:
    forward = analyze(ZH_BRAND, BANK)
    assert analyze(ZH_BRAND, tuple(reversed(BANK))) == forward
    assert analyze(ZH_BRAND, BANK) == forward


def test_to_dict_matches_protocol() -> None:
    data = analyze(ZH_BRAND, BANK).to_dict()
    assert set(data) == {"language", "fallback", "competencies", "questions"}
    assert data["language"] == "zh" and data["fallback"] is False
    for c in data["competencies"]:
        assert set(c) == {"id", "name", "weight", "matched"}
        assert set(c["name"]) == {"zh", "en"}
        assert isinstance(c["matched"], list)
    for s in data["questions"]:
        assert set(s) == {"question", "reason"}
        assert Question.from_dict(s["question"]).id == s["question"]["id"]
    json.dumps(data, ensure_ascii=False)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("description", "message"),
    [
        (None, "string"),
        (123, "string"),
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("岗" * (MAX_DESCRIPTION_CHARS + 1), "limit"),
    ],
)
def test_bad_description_raises(description: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyze(description, BANK)


def test_longest_description_is_accepted() -> None:
    text = (ZH_BRAND * (MAX_DESCRIPTION_CHARS // len(ZH_BRAND) + 1))[:MAX_DESCRIPTION_CHARS]
    assert not analyze(text, BANK).fallback


@pytest.mark.parametrize(
    ("max_competencies", "max_questions", "message"),
    [(0, 8, "max_competencies"), (5, 2, "max_questions")],
)
def test_bad_limits_raise(max_competencies: int, max_questions: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyze(ZH_BRAND, BANK, max_competencies=max_competencies, max_questions=max_questions)


# --------------------------------------------------------------------------- lexicon


def test_packaged_lexicon_covers_the_catalogue() -> None:
    lexicon = default_lexicon()
    assert lexicon.version >= 1
    covered = {t.competency for t in lexicon.terms if t.competency is not None}
    assert covered == {c.id for c in CATALOGUE}
    assert load_lexicon().version == lexicon.version


def _raw_lexicon() -> dict[str, Any]:
    with LEXICON_PATH.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _break_unknown_id(d: dict[str, Any]) -> None:
    d["entries"][0]["competency"] = "no_such_competency"


def _break_duplicate(d: dict[str, Any]) -> None:
    d["entries"].append({"competency": "data_driven", "zh": ["数据分析"], "en": [], "weight": 1})


def _break_weight(d: dict[str, Any]) -> None:
    d["entries"][0]["weight"] = 0


def _break_fallback(d: dict[str, Any]) -> None:
    d["fallback"] = {"logic": 0.5, "expression": 0.4}


def _break_version(d: dict[str, Any]) -> None:
    d["version"] = "one"


def _break_keywords(d: dict[str, Any]) -> None:
    d["entries"][0]["zh"] = ["ok", ""]


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (_break_unknown_id, r"entries\[0\]\.competency"),
        (_break_duplicate, "already listed"),
        (_break_weight, r"entries\[0\]\.weight"),
        (_break_fallback, "sum to 1.00"),
        (_break_version, "version"),
        (_break_keywords, r"entries\[0\]\.zh"),
    ],
)
def test_bad_lexicon_is_rejected(breaker: Any, message: str) -> None:
    data = copy.deepcopy(_raw_lexicon())
    breaker(data)
    with pytest.raises(ValueError, match=message):
        parse_lexicon(data)
