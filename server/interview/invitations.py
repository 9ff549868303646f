"""Creating invitations: freeze the job's plan, sign one link per candidate, announce them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from server.core.services import Services
from server.domain.jobs import Job
from server.domain.models import Question
from server.hiring.jobs import snapshot_plan
from server.interview.progress import job_topic
from server.security.auth import make_invitation_token


async def question_index(svc: Services, org_id: str) -> dict[str, Question]:
    """Built-in bank plus the org's own questions, by id."""
    index = {q.id: q for q in svc.bank}
    for data in await svc.store.org_questions(org_id):
        index[data["id"]] = Question.from_dict(data)
    return index


def invitation_url(svc: Services, interview_id: str, expires_at: int, nonce: str) -> str:
    token = make_invitation_token(svc.settings.secret_key, interview_id, expires_at, nonce)
    return f"{svc.settings.base_url}/i/{token}"


async def invite(
    svc: Services,
    job: Job,
    candidates: Sequence[dict[str, Any]],
    hours: int,
    actor: str,
    followups: Sequence[list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Create one interview per candidate (all or none); returns their links.

    ``followups``: per candidate, personalised questions (Question-shaped dicts marked
    ``personalised``) added at the end of the structured section of that candidate's plan.
    """
    plan = snapshot_plan(job, await question_index(svc, job.org_id))
    expires_at = int(time.time() + hours * 3600)
    nonces = [secrets.token_urlsafe(9) for _ in candidates]
    if followups is None:
        ids = await svc.store.create_interviews(job, plan, candidates, expires_at, nonces, actor)
    else:
        ids = []
        for cand, nonce, extra in zip(candidates, nonces, followups, strict=True):
            ids += await svc.store.create_interviews(
                job, with_followups(plan, extra), [cand], expires_at, [nonce], actor
            )
    counts = await svc.store.status_counts(job.id)
    created = []
    for iid, nonce, cand in zip(ids, nonces, candidates, strict=True):
        created.append(
            {
                "interview_id": iid,
                "url": invitation_url(svc, iid, expires_at, nonce),
                "expires_at": expires_at,
                "name": cand["name"],
                "email": cand["email"],
            }
        )
        svc.hub.publish(
            job_topic(job.id),
            {
                "type": "status",
                "interview_id": iid,
                "job_id": job.id,
                "status": "invited",
                "previous": None,
                "counts": counts,
            },
        )
    return created


def with_followups(plan: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``plan`` with ``extra`` questions after its last structured question, re-indexed."""
    if not extra:
        return plan
    structured = [i for i, item in enumerate(plan) if item["section"] == "structured"]
    at = structured[-1] + 1 if structured else len(plan)
    added = [{"section": "structured", "question": q, "personalised": True} for q in extra]
    items = [*plan[:at], *added, *plan[at:]]
    return [{**item, "index": i} for i, item in enumerate(items)]
