"""The built-in competency catalogue: stable ids with zh/en names and a one-line definition.

Jobs may also define their own competency ids; these are the ones the question bank,
the job-analysis lexicon and the scoring rules know about.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.localized import Localized


@dataclass(frozen=True, slots=True)
class CompetencyInfo:
    id: str
    name: Localized
    definition: Localized


def _c(cid: str, zh: str, en: str, dzh: str, den: str) -> CompetencyInfo:
    return CompetencyInfo(cid, Localized(zh, en), Localized(dzh, den))


CATALOGUE: tuple[CompetencyInfo, ...] = (
    _c(
        "logic",
        "综合分析/逻辑思维",
        "Analytical thinking",
        "分析问题成因、权衡利弊、条理清晰地推理",
        "Analyses causes, weighs trade-offs, reasons clearly",
    ),
    _c(
        "expression",
        "语言表达",
        "Verbal expression",
        "表达准确、简洁、有条理，适应听众",
        "Speaks accurately, concisely and in a structured way",
    ),
    _c(
        "policy_execution",
        "政策理解与执行",
        "Policy understanding and execution",
        "准确把握政策精神并落实到具体工作",
        "Understands policy intent and turns it into concrete action",
    ),
    _c(
        "professional",
        "专业能力",
        "Professional ability",
        "岗位所需的专业知识与技能",
        "Job-specific knowledge and skills",
    ),
    _c(
        "leadership",
        "组织协调/领导力",
        "Organising and leadership",
        "计划、组织资源、带动团队达成目标",
        "Plans, organises resources and leads a team to a goal",
    ),
    _c(
        "emergency_handling",
        "应急应变",
        "Emergency handling",
        "突发情况下冷静判断、分清轻重、快速处置",
        "Stays calm, prioritises and acts fast in an emergency",
    ),
    _c(
        "communication",
        "沟通协调",
        "Communication and coordination",
        "与各方有效沟通、化解分歧、推动协作",
        "Communicates with all parties, resolves conflicts, drives cooperation",
    ),
    _c(
        "market_sensitivity",
        "市场敏感度",
        "Market sensitivity",
        "洞察市场与用户变化并据此调整策略",
        "Reads market and customer changes and adapts strategy",
    ),
    _c(
        "data_driven",
        "数据驱动决策",
        "Data-driven decisions",
        "用数据发现问题、验证假设、支持决策",
        "Uses data to find problems, test hypotheses and decide",
    ),
    _c(
        "teamwork",
        "团队合作",
        "Teamwork",
        "主动配合、分享信息、承担共同责任",
        "Cooperates, shares information, owns shared results",
    ),
    _c(
        "integrity",
        "职业操守",
        "Integrity and public service ethics",
        "廉洁自律、依法依规、服务群众",
        "Acts lawfully and honestly, serves the public",
    ),
    _c(
        "learning",
        "学习与自我提升",
        "Learning agility",
        "快速学习新知识并反思改进",
        "Learns quickly, reflects and improves",
    ),
    _c(
        "customer_service",
        "服务意识",
        "Service orientation",
        "理解并满足服务对象的合理需求",
        "Understands and meets the reasonable needs of those served",
    ),
)

BY_ID: dict[str, CompetencyInfo] = {c.id: c for c in CATALOGUE}


def name_of(competency_id: str) -> Localized:
    """The display name of a catalogue competency, or the id itself for custom ones."""
    info = BY_ID.get(competency_id)
    return info.name if info else Localized(competency_id, competency_id)
