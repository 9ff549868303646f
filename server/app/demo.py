"""Demo data: an org, an admin, a civil-service style job with a full plan, screening and four
résumés (two invited automatically), 3 invitations."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from server.app.demo_resumes import DEMO_SCREENING, demo_resumes
from server.core.config import Settings
from server.core.services import Services
from server.domain.models import Media, Question, Role, Section
from server.hiring.jobs import validate_job
from server.hiring.questionbank import load_builtin
from server.interview.invitations import invite
from server.interview.recordings import FolderStorage
from server.live.hub import Hub
from server.live.nodes import Admission, NodeRegistry
from server.resumes.candidates import CandidateStore
from server.resumes.intake import ParsePool
from server.security.auth import hash_password
from server.security.fields import FieldCipher, load_keyring
from server.security.ratelimit import Limits
from server.storage.db import open_database
from server.storage.store import Store

DEMO_FILE = "demo-admin.json"
DEMO_CANDIDATES = (
    {"name": "张伟", "email": "zhang.wei@example.com", "language": "zh-CN"},
    {"name": "李娜", "email": "li.na@example.com", "language": "zh-CN"},
    {"name": "Alex Chen", "email": "alex.chen@example.com", "language": "en"},
)
DEMO_COMPETENCIES = (
    ("logic", 0.25),
    ("expression", 0.2),
    ("policy_execution", 0.2),
    ("professional", 0.2),
    ("leadership", 0.15),
)


def demo_plan(bank: tuple[Question, ...]) -> list[dict[str, Any]]:
    """1 self-introduction, 3 structured (policy, emergency, organising), 2 professional."""

    def pick(section: Section, n: int, prefer_tags: tuple[str, ...] = ()) -> list[str]:
        pool = [q for q in bank if q.section is section]
        ranked = sorted(pool, key=lambda q: (not set(prefer_tags) & set(q.tags), q.id))
        chosen: list[str] = []
        for tag in prefer_tags:  # one per preferred tag first, for variety
            for q in ranked:
                if tag in q.tags and q.id not in chosen:
                    chosen.append(q.id)
                    break
        chosen += [q.id for q in ranked if q.id not in chosen]
        return chosen[:n]

    professional = [q for q in bank if q.section is Section.PROFESSIONAL]
    text_q = next(q.id for q in professional if q.media is Media.TEXT)
    spoken_q = next(q.id for q in professional if q.media is not Media.TEXT)
    return [
        {"section": "self_intro", "questions": pick(Section.SELF_INTRO, 1)},
        {
            "section": "structured",
            "questions": pick(Section.STRUCTURED, 3, ("policy", "emergency", "civil_service")),
        },
        {"section": "professional", "questions": [spoken_q, text_q]},
    ]


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


async def _seed_resumes(svc: Services, job_id: str) -> None:
    """Screening settings and a few résumés for the demo job (parsed here, in a thread)."""
    from server.resumes.intake import store_candidate
    from server.resumes.resume_worker import parse_resume

    await svc.store.update_job_data(job_id, {"screening": DEMO_SCREENING})
    job = await svc.store.get_job(job_id)
    reference = time.localtime()
    for filename, text in await asyncio.to_thread(demo_resumes):
        data = text.encode()
        parsed = await asyncio.to_thread(
            parse_resume, filename, data, (reference.tm_year, reference.tm_mon)
        )
        if "error" in parsed:
            raise RuntimeError(f"demo résumé {filename}: {parsed['message']}")
        await store_candidate(svc, job, None, filename, data, parsed)


async def seed(settings: Settings) -> dict[str, Any]:
    """Seed once, then add 3 fresh invitations on every run; returns the demo JSON."""
    settings = settings.with_secret()
    db = open_database(settings.db_url)
    await db.open()
    try:
        keyring = load_keyring(settings)
        store = Store(db, FieldCipher(keyring))
        svc = Services(  # offline: no live sessions, no other nodes, résumés parsed here
            settings=settings,
            db=db,
            store=store,
            hub=Hub(),
            limits=Limits(),
            keyring=keyring,
            candidates=CandidateStore(db, FieldCipher(keyring)),
            intake=ParsePool(),
            admission=Admission(settings),
            registry=NodeRegistry(settings, lambda: (0, 0)),
            recordings=FolderStorage(settings.recordings_root, keyring),
            bank=load_builtin(),
        )
        creds_file = settings.data_dir / DEMO_FILE
        org = await store.first_org()
        if org is None or not creds_file.exists():
            org_id = org["id"] if org else await store.create_org("示例市人力资源和社会保障局")
            password = secrets.token_urlsafe(12)
            username = "admin"
            existing = await store.user_by_username(username)
            if existing is None:
                await store.create_user(org_id, username, hash_password(password), Role.ADMIN, "")
            else:
                await store.set_password(existing["id"], hash_password(password))
            job_body = {
                "title": "综合管理岗（市政务服务中心）",
                "department": "市政务服务中心",
                "description": "负责政务服务窗口管理、政策宣传解读、突发事件应急处置、数据统计分析与公文起草。",
                "language": "zh-CN",
                "competencies": [{"id": c, "weight": w} for c, w in DEMO_COMPETENCIES],
                "plan": demo_plan(svc.bank),
            }
            job_data, errors, conflicts = validate_job(job_body, {q.id: q for q in svc.bank})
            if errors or conflicts:
                raise RuntimeError(f"demo job is invalid: {errors + conflicts}")
            job_id = await store.create_job(org_id, job_data)
            await _seed_resumes(svc, job_id)
            creds = {"username": username, "password": password, "org_id": org_id, "job_id": job_id}
            await asyncio.to_thread(_write_private_json, creds_file, creds)
        creds = await asyncio.to_thread(_read_json, creds_file)
        job = await store.get_job(creds["job_id"])
        created = await invite(svc, job, list(DEMO_CANDIDATES), settings.invitation_ttl_h, "demo")
        resume_candidates = await svc.candidates.list_for_job(job.id)
        return {
            "admin": {"username": creds["username"], "password": creds["password"]},
            "org_id": creds["org_id"],
            "job_id": creds["job_id"],
            "admin_url": f"{settings.base_url}/admin",
            "invitations": [
                {"interview_id": c["interview_id"], "url": c["url"], "name": c["name"]}
                for c in created
            ],
            "resume_candidates": [
                {
                    "candidate_id": c.candidate_id,
                    "name": c.profile.get("name"),
                    "score": c.match["score"],
                    "status": c.status,
                    "interview_id": c.interview_id,
                }
                for c in resume_candidates
            ],
        }
    finally:
        await db.close()
