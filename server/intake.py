"""Résumé intake: parse files in a worker process, screen, store, invite those above the bar.

Parsing (PDF/DOCX text extraction and field rules) is CPU work in pure Python, so it runs in a
separate low-priority process (``ParsePool``): live interviews on the same machine keep their
event loop and, thanks to the lower priority, their CPU. A batch keeps at most
``PARSE_IN_FLIGHT`` files at the worker; everything else of the batch waits as bytes.

Each file ends as a stored candidate (profile with sources, match explanation, encrypted
original) or as a per-file error; one bad file never stops the batch. Progress is saved and
published on the job's live topic (``resume_progress``) as files finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from server import screening, webhooks
from server.crypto import seal
from server.http import Services
from server.invitations import invite
from server.profile import Profile
from server.progress import job_topic
from server.resume_worker import lower_priority, parse_resume

logger = logging.getLogger(__name__)

PARSE_IN_FLIGHT = 2
"""Files of a batch read and queued for the parse worker at once."""
PARSE_TIMEOUT_S = 60.0
"""A file taking longer than this is reported as an error (and the worker replaced)."""
PROGRESS_EVERY_S = 0.5
MAX_FILES_PER_BATCH = 1000
MAX_BATCH_BYTES = 200 * 1024 * 1024
AUTO_ACTOR = "auto-screening"
RESUME_DIR = "resumes"


class ParsePool:
    """One low-priority worker process for résumé parsing, started on first use.

    Files are parsed one at a time (the timeout counts parsing, not waiting); a file that
    hangs or kills the worker is reported and the worker replaced.
    """

    def __init__(self, parse: Callable[..., dict[str, Any]] = parse_resume) -> None:
        """``parse``: a module-level function (it runs in the worker process)."""
        self._parse = parse
        self._executor: ProcessPoolExecutor | None = None
        self._slot = asyncio.Semaphore(1)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=lower_priority,
            )
        return self._executor

    async def parse(self, filename: str, data: bytes) -> dict[str, Any]:
        now = time.localtime()
        async with self._slot:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._pool(), self._parse, filename, data, (now.tm_year, now.tm_mon)
            )
            try:
                return await asyncio.wait_for(future, PARSE_TIMEOUT_S)
            except TimeoutError:
                self._restart()
                return {"error": "timeout", "message": f"not parsed within {PARSE_TIMEOUT_S:.0f} s"}
            except BrokenProcessPool:
                self._restart()
                return {"error": "parse_failed", "message": "the parser stopped on this file"}

    def _restart(self) -> None:
        """Kill the worker (a hung parse cannot be cancelled otherwise); the next file
        starts a new one."""
        executor, self._executor = self._executor, None
        if executor is not None:
            # ProcessPoolExecutor has no public way to kill a busy worker
            for process in list(getattr(executor, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
            executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)


# -- the server side ------------------------------------------------------------------------


def file_key(secret: bytes, data: bytes) -> str:
    """A keyed hash of a file (recognises re-uploads without storing a plain hash)."""
    return hmac.new(secret, b"resume-file\0" + data, hashlib.sha256).hexdigest()


def screening_of(job: dict[str, Any]) -> dict[str, Any]:
    """The job's screening settings with defaults (requirements, follow-ups)."""
    stored = job.get("screening") or {}
    requirements, _ = screening.validate_requirements(stored.get("requirements") or {})
    return {
        "requirements": requirements,
        "followups": {**DEFAULT_FOLLOWUPS, **(stored.get("followups") or {})},
    }


DEFAULT_FOLLOWUPS = {"count": 2, "in_ranking": False}
"""Personalised questions per invited résumé candidate, and whether they count in rankings."""


def job_language(job: dict[str, Any]) -> str:
    return "zh" if str(job.get("language", "zh-CN")).startswith("zh") else "en"


def rematch(job: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """The candidate's match against the job's current requirements (CPU: call in a thread)."""
    profile = Profile.from_dict(candidate["profile"], candidate.get("text", ""))
    return screening.match(profile, screening_of(job)["requirements"], job_language(job))


async def store_candidate(
    svc: Services,
    job: dict[str, Any],
    batch_id: str | None,
    filename: str,
    data: bytes,
    parsed: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Screen and store one parsed résumé; ``(candidate, created)``."""
    settings = screening_of(job)
    profile = Profile.from_dict(parsed["profile"], parsed["text"])
    result = await asyncio.to_thread(
        screening.match, profile, settings["requirements"], job_language(job)
    )
    candidate_id, created = await svc.candidates.add(
        org_id=job["org_id"],
        job_id=job["id"],
        batch_id=batch_id,
        filename=filename,
        file_hash=file_key(svc.settings.secret_key, data),
        file_bytes=len(data),
        profile=parsed["profile"],
        text=parsed["text"],
        match=result,
    )
    if created:
        path = await asyncio.to_thread(_save_encrypted, svc, job["id"], candidate_id, data)
        await svc.candidates.set_file(candidate_id, str(path))
    candidate = await svc.candidates.get(candidate_id)
    if created and screening.should_auto_invite(result, settings["requirements"]):
        try:
            candidate = await invite_candidate(svc, job, candidate, AUTO_ACTOR)
        except CannotInvite as exc:  # stored; waits for a person
            candidate["note"] = f"not invited automatically: {exc}"
    return candidate, created


def _save_encrypted(svc: Services, job_id: str, candidate_id: str, data: bytes) -> Path:
    folder = svc.settings.data_dir / RESUME_DIR / job_id
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{candidate_id}.bin"
    blob = seal(svc.keyring, data, resume_aad(candidate_id))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(blob)
    return path


def resume_aad(candidate_id: str) -> bytes:
    return f"resume/{candidate_id}".encode()


class CannotInvite(Exception):
    """The résumé lacks what an invitation needs (a name and an e-mail address)."""


async def invite_candidate(
    svc: Services, job: dict[str, Any], candidate: dict[str, Any], actor: str, hours: int = 0
) -> dict[str, Any]:
    """Invite a résumé candidate (with personalised follow-ups); returns the updated candidate.

    Raises :class:`CannotInvite` when the profile has no name or e-mail address.
    """
    profile_data = candidate["profile"]
    name, email = profile_data.get("name"), profile_data.get("email")
    if not name or not email:
        raise CannotInvite("the résumé has no " + ("name" if not name else "e-mail address"))
    settings = screening_of(job)
    extra: list[dict[str, Any]] = []
    count = int(settings["followups"]["count"])
    if count > 0:
        from server import followups

        profile = Profile.from_dict(profile_data)
        extra = await asyncio.to_thread(
            followups.personalise, profile, job, job_language(job), count
        )
        if settings["followups"]["in_ranking"]:
            extra = [{**q, "in_ranking": True} for q in extra]
    person = {"name": name, "email": email}
    if profile_data.get("phone"):
        person["phone"] = profile_data["phone"]
    (created,) = await invite(
        svc,
        job,
        [person],
        hours or svc.settings.invitation_ttl_h,
        actor,
        followups=[extra],
    )
    await svc.candidates.set_status(candidate["candidate_id"], "invited", created["interview_id"])
    await webhooks.emit(
        svc,
        job["org_id"],
        "candidate.invited",
        {
            "candidate_id": candidate["candidate_id"],
            "interview_id": created["interview_id"],
            "job_id": job["id"],
            "invited_by": actor,
            "match_score": candidate["match"]["score"],
            "url": created["url"],
        },
    )
    from server.reminders import queue_invitation

    await queue_invitation(svc, job, created)
    updated = await svc.candidates.get(candidate["candidate_id"])
    updated["invitation"] = {"url": created["url"], "expires_at": created["expires_at"]}
    return updated


async def run_batch(
    svc: Services,
    job: dict[str, Any],
    batch_id: str,
    files: Sequence[tuple[str, bytes]],
    errors: list[dict[str, str]],
) -> dict[str, Any]:
    """Parse, screen and store every file; returns ``{"candidates", "errors"}``.

    ``errors``: per-file problems found before parsing (kept in the result)."""
    done, failed = 0, len(errors)
    candidates: list[dict[str, Any]] = []
    last_progress = 0.0
    total = len(files) + len(errors)
    pending = iter(files)
    parsed_files: asyncio.Queue[tuple[str, bytes, dict[str, Any]]] = asyncio.Queue(PARSE_IN_FLIGHT)

    async def parse_next() -> None:
        for filename, data in pending:  # shared by the parser tasks: each file once
            try:
                parsed = await svc.intake.parse(filename, data)
            except Exception as exc:
                logger.exception("parse worker failed on %s", filename)
                parsed = {"error": "parse_failed", "message": type(exc).__name__}
            await parsed_files.put((filename, data, parsed))

    async def progress(force: bool) -> None:
        nonlocal last_progress
        now = time.monotonic()
        if not force and now - last_progress < PROGRESS_EVERY_S:
            return
        last_progress = now
        await svc.candidates.batch_progress(batch_id, done, failed)
        svc.hub.publish(
            job_topic(job["id"]),
            {
                "type": "resume_progress",
                "batch_id": batch_id,
                "job_id": job["id"],
                "total": total,
                "done": done + failed,
                "failed": failed,
            },
        )

    parsers = [
        asyncio.create_task(parse_next(), name=f"resume-parse-{batch_id}-{i}")
        for i in range(PARSE_IN_FLIGHT)
    ]
    try:
        for _ in files:
            filename, data, parsed = await parsed_files.get()
            if "error" in parsed:
                failed += 1
                errors.append(
                    {"file": filename, "error": parsed["error"], "message": parsed["message"]}
                )
            else:
                candidate, created = await store_candidate(
                    svc, job, batch_id, filename, data, parsed
                )
                candidates.append({**public_candidate(candidate), "duplicate": not created})
                done += 1
            await progress(False)
    finally:
        for p in parsers:
            p.cancel()
        for p in parsers:
            with contextlib.suppress(asyncio.CancelledError):
                await p
    await progress(True)
    result = {"candidates": candidates, "errors": errors}
    summary = {
        "candidates": [
            {k: c[k] for k in ("candidate_id", "duplicate", "note") if k in c} for c in candidates
        ],
        "errors": errors,
    }
    await svc.candidates.finish_batch(batch_id, "done", summary, done, failed)
    return result


def public_candidate(candidate: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a candidate (the issue's contract plus status and sources)."""
    profile = candidate["profile"]
    return {
        "candidate_id": candidate["candidate_id"],
        "job_id": candidate["job_id"],
        "name": profile.get("name"),
        "email": profile.get("email"),
        "phone": profile.get("phone"),
        "language": profile.get("language"),
        "education": profile.get("education", []),
        "highest_degree": profile.get("highest_degree"),
        "experience": profile.get("experience", []),
        "experience_years": profile.get("experience_years", 0.0),
        "skills": profile.get("skills", []),
        "certificates": profile.get("certificates", []),
        "sources": profile.get("sources", {}),
        "match": candidate["match"],
        "status": candidate["status"],
        "interview_id": candidate["interview_id"],
        "filename": candidate["filename"],
        "file_bytes": candidate["file_bytes"],
        "created_at": candidate["created_at"],
        **({"note": candidate["note"]} if candidate.get("note") else {}),
        **({"invitation": candidate["invitation"]} if candidate.get("invitation") else {}),
    }
