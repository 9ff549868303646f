"""What a candidate may see of their own interview (never staff data, never other candidates)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from server.domain.answers import Answer
from server.domain.interviews import Interview
from server.domain.models import allowed_modes, interview_mode
from server.interview import flow
from server.security.turn import IceConfig
from server.storage.store import Store

CONSENT_TEXT_VERSION = "2026-11-v1"


def current_view(
    state: flow.FlowState, plan: list[dict[str, Any]], answers: list[Answer], now_s: float
) -> dict[str, Any] | None:
    """The candidate's view of the current question, or ``None`` before/after the questions."""
    if state.phase is flow.Phase.DONE:
        return None
    item = plan[state.index]
    answer = next((a for a in answers if a.idx == state.index), None)
    q = item["question"]
    return {
        "index": state.index,
        "phase": state.phase.value,
        "paused": not state.running,
        "remaining_s": round(flow.remaining(state, now_s), 2),
        "section": item["section"],
        "question": {
            "text": q["text"],
            "media": q["media"],
            "prep_s": q["prep_s"],
            "answer_s": q["answer_s"],
        },
        "scratchpad": answer.scratchpad if answer is not None else "",
        "text_answer": answer.text_answer if answer is not None else "",
    }


async def saved_current(interview: Interview, store: Store) -> dict[str, Any] | None:
    """The current question from the stored flow (used when no live session exists).

    A flow saved while running counts as paused at its last save (the connection or the
    server went away then).
    """
    if not interview.flow:
        return None
    state = flow.FlowState.from_dict(interview.flow)
    state = flow.pause(state, state.as_of_s)
    return current_view(state, interview.plan, await store.answers(interview.id), 0.0)


def remaining_length_s(interview: Interview, current: dict[str, Any] | None) -> float:
    """Seconds of question time left: the whole plan before the start, nothing once done,
    else the current phase's rest, the answer after a preparation and every later question."""
    plan = interview.plan
    if current is None:
        if interview.flow:
            return 0.0
        return float(sum(i["question"]["prep_s"] + i["question"]["answer_s"] for i in plan))
    index = int(current["index"])
    left = float(current["remaining_s"])
    if current["phase"] == flow.Phase.PREP.value:
        left += plan[index]["question"]["answer_s"]
    return left + sum(
        i["question"]["prep_s"] + i["question"]["answer_s"] for i in plan[index + 1 :]
    )


async def candidate_state(
    interview: Interview,
    store: Store,
    *,
    current: dict[str, Any] | None = None,
    ice: IceConfig | None = None,
) -> dict[str, Any]:
    """What the page shows and needs; ``ice_servers`` carry TURN credentials minted now, for
    what is left of the interview (a page fetching its state again gets fresh ones)."""
    job = await store.get_job(interview.job_id)
    org = await store.get_org(interview.org_id)
    sections = Counter(item["section"] for item in interview.plan)
    if current is None:
        current = await saved_current(interview, store)
    return {
        "interview_id": interview.id,
        "status": interview.status.value,
        "candidate_name": interview.candidate.get("name", ""),
        "job_title": job.title,
        "org_name": org["name"] if org else "",
        "language": interview.language,
        "consent_text_version": CONSENT_TEXT_VERSION,
        "modes": [m.value for m in allowed_modes(await store.org_settings(interview.org_id))],
        "mode": mode.value if (mode := interview_mode(interview)) is not None else None,
        "questions_total": len(interview.plan),
        "sections": [
            {"section": s, "count": sections[s]}
            for s in ("self_intro", "structured", "professional")
            if sections[s]
        ],
        "current": current,
        "ice_servers": (ice or IceConfig()).for_page(
            interview.id, remaining_length_s(interview, current), time.time()
        ),
    }
