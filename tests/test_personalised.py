"""Personalised (résumé-based) questions: placed in the structured section, shown to examiners,
kept out of the dimension scores that rank candidates unless HR opts them in."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.answers import Answer
from server.interview.invitations import with_followups
from server.interview.written import score_written


def _q(qid: str, section: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "section": section,
        "text": {"en": f"question {qid}"},
        "competencies": ["emergency"],
        "rubric": [
            {"en": "evacuate", "keywords": {"en": ["evacuate"]}},
            {"en": "report", "keywords": {"en": ["report"]}},
        ],
        "prep_s": 10,
        "answer_s": 60,
        "media": "video",
        **extra,
    }


PLAN = [
    {"index": 0, "section": "self_intro", "question": _q("a", "self_intro")},
    {"index": 1, "section": "structured", "question": _q("b", "structured")},
    {"index": 2, "section": "structured", "question": _q("c", "structured")},
    {"index": 3, "section": "professional", "question": _q("d", "professional")},
]


def test_followups_go_after_the_structured_questions_and_the_plan_is_reindexed() -> None:
    extra = [_q("fu-1", "structured", personalised=True), _q("fu-2", "structured")]
    plan = with_followups(PLAN, extra)
    assert [item["question"]["id"] for item in plan] == ["a", "b", "c", "fu-1", "fu-2", "d"]
    assert [item["index"] for item in plan] == list(range(6))
    assert [bool(item.get("personalised")) for item in plan] == [False] * 3 + [True] * 2 + [False]
    assert with_followups(PLAN, []) is PLAN
    assert PLAN[3]["index"] == 3  # the job's plan is not changed


def _answers(texts: list[str]) -> list[Answer]:
    return [
        Answer(
            id=f"ans-{i}",
            interview_id="iv",
            idx=i,
            question_id=f"q{i}",
            status="done",
            started_at=0.0,
            ended_at=1.0,
            answer_used_s=60.0,
            end_reason="finished",
            scratchpad="",
            text_answer=t,
        )
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize("in_ranking", [False, True])
def test_personalised_answers_count_in_scores_only_when_opted_in(in_ranking: bool) -> None:
    questions = [
        _q("core", "structured"),
        _q("fu", "structured", personalised=True, in_ranking=in_ranking),
    ]
    meta = {"language": "en", "questions": questions, "competencies": [["emergency", 1.0]]}
    # the core answer covers nothing, the personalised one everything
    events = score_written("iv", meta, _answers(["no idea", "evacuate then report"]), 1)
    content, score = events[0], events[1]
    assert content["type"] == "content_metrics" and content["coverage"] == 1.0
    assert score["type"] == "score_update" and score["dimension"] == "emergency"
    core_only = score_written("iv", meta, _answers(["no idea"]), 0)[1]["value"]
    if in_ranking:
        assert score["value"] > core_only
    else:
        assert score["value"] == core_only  # the personalised answer changed nothing
