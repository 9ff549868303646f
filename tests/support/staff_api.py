"""The staff REST calls the multi-process tests make against a node (login, calls, a job of
spoken questions, an invitation)."""

from __future__ import annotations

from typing import Any

import aiohttp

SECTIONS = ("self_intro", "structured", "professional")


async def login(http: aiohttp.ClientSession, base: str, creds: dict[str, str]) -> str:
    async with http.post(base + "/api/auth/login", json=creds) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["token"])


async def call(http: aiohttp.ClientSession, method: str, url: str, token: str, **kw: Any) -> Any:
    async with http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw) as r:
        body = await r.json(content_type=None)
        assert r.status < 400, (method, url, r.status, body)
        return body


async def spoken_job(
    http: aiohttp.ClientSession, base: str, admin: str, answer_s: int, media: tuple[str, ...]
) -> str:
    """A job with one question per entry of ``media`` (video, audio or text), one section each
    in the order of :data:`SECTIONS`, 1 s to prepare, ``answer_s`` to answer; its id."""
    ids = []
    sections = SECTIONS[: len(media)]
    for section, kind in zip(sections, media, strict=True):
        q = await call(
            http,
            "POST",
            base + "/api/questions",
            admin,
            json={
                "section": section,
                "text": {"en": f"A {section} question"},
                "competencies": ["expression"],
                "rubric": [{"en": "help people", "keywords": {"en": ["help", "people"]}}],
                "prep_s": 1,
                "answer_s": answer_s,
                "media": kind,
            },
        )
        ids.append(q["id"])
    job = await call(
        http,
        "POST",
        base + "/api/jobs",
        admin,
        json={
            "title": "Clerk",
            "department": "Office",
            "language": "en",
            "competencies": [{"id": "expression", "weight": 1.0}],
            "plan": [{"section": s, "questions": [i]} for s, i in zip(sections, ids, strict=True)],
        },
    )
    return str(job["id"])


async def invite(
    http: aiohttp.ClientSession, base: str, admin: str, job_id: str
) -> tuple[str, str]:
    """Invite a candidate to the job; the interview id and the link's token."""
    inv = await call(
        http,
        "POST",
        f"{base}/api/jobs/{job_id}/invitations",
        admin,
        json={"name": "Lin", "email": "lin@example.com"},
    )
    return str(inv["interview_id"]), str(inv["url"].rsplit("/i/", 1)[1])
