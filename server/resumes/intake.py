"""Résumé intake: parse files in a worker process, screen, store, invite those above the bar.

Parsing (PDF/DOCX text extraction and field rules), screening (``screening.match``) and
personalised follow-ups are CPU work in pure Python, so they run in a separate low-priority
process (``ParsePool``), not in threads of the API process where they would hold the GIL
against the event loop: live interviews on the same machine keep their loop and, thanks to
the lower priority, their CPU. A batch keeps at most ``PARSE_IN_FLIGHT`` files at the worker;
everything else of the batch waits as bytes, and at most ``MAX_RUNNING_BATCHES`` uploads are
held and processed at once per process.

Each file ends as a stored candidate (profile with sources, match explanation, encrypted
original) or as a per-file error; one bad file never stops the batch, and a batch always ends
(``done``, ``failed``, or ``interrupted`` by a shutdown). Progress is saved and published on
the job's live topic (``resume_progress``) as files finish.

Per job, one thing at a time matches and stores: a file of a batch (against the job's
screening settings read at that moment) or a re-match of every candidate after the settings
changed (``JobLocks``). Invitations claim the candidate first (``inviting``), so no candidate
is invited twice. Logs never name a file or a person: a batch id, a position, a size.
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
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from common.text import zh_or_en
from server.core.services import Services
from server.domain.candidates import Candidate
from server.domain.jobs import Job
from server.interview.invitations import invite
from server.interview.progress import job_topic
from server.outbound import webhooks
from server.resumes import screening
from server.resumes.candidates import INVITABLE
from server.resumes.resume_worker import (
    lower_priority,
    match_profile,
    match_profiles,
    parse_resume,
    personalise_profile,
)
from server.security.blob import seal
from server.storage.store import NotFound

logger = logging.getLogger(__name__)
T = TypeVar("T")

PARSE_IN_FLIGHT = 2
"""Files of a batch read and queued for the parse worker at once."""
PARSE_TIMEOUT_S = 60.0
"""A call to the worker taking longer than this fails (and the worker is replaced)."""
PROGRESS_EVERY_S = 0.5
MAX_FILES_PER_BATCH = 1000
MAX_BATCH_BYTES = 200 * 1024 * 1024
"""Bytes of one upload held in memory: plain files, and zips by their uncompressed content."""
MAX_RUNNING_BATCHES = 2
"""Uploads held and processed at once per process; another one is answered 429 ``busy``."""
BUSY_RETRY_AFTER_S = 30
"""The Retry-After of a ``busy`` answer."""
REMATCH_CHUNK = 25
"""Candidates matched per call to the worker when a job's screening changes."""
AUTO_ACTOR = "auto-screening"
RESUME_DIR = "resumes"


class WorkerError(Exception):
    """A call to the worker did not finish: ``code`` ``timeout`` or ``parse_failed``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BatchSlots:
    """A counter of the uploads running in this process, at most ``limit`` (a non-blocking
    semaphore: an upload over the limit is refused at once, not queued with its bytes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0

    def try_acquire(self) -> bool:
        if self.running >= self.limit:
            return False
        self.running += 1
        return True

    def release(self) -> None:
        if self.running <= 0:
            raise RuntimeError("released a batch slot that was not held")
        self.running -= 1


class JobLocks:
    """One :class:`asyncio.Lock` per job id, alive while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, job_id: str) -> asyncio.Lock:
        lock = self._locks.get(job_id)
        if lock is None:
            lock = self._locks[job_id] = asyncio.Lock()
        return lock

    def __len__(self) -> int:
        return len(self._locks)


class ParsePool:
    """One low-priority worker process for résumé CPU work, started on first use, and the
    intake's per-process limits (``batches``) and per-job locks (``job_locks``).

    Calls run one at a time (the timeout counts the work, not the wait); a call that hangs
    or kills the worker fails and the worker is replaced.
    """

    def __init__(self, parse: Callable[..., dict[str, Any]] = parse_resume) -> None:
        """``parse``: a module-level function (it runs in the worker process)."""
        self._parse = parse
        self._executor: ProcessPoolExecutor | None = None
        self._slot = asyncio.Semaphore(1)
        self.batches = BatchSlots(MAX_RUNNING_BATCHES)
        self.job_locks = JobLocks()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=lower_priority,
            )
        return self._executor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (``fn`` module-level, arguments plain data); raises
        :class:`WorkerError` when it takes over :data:`PARSE_TIMEOUT_S` or kills the worker,
        and whatever ``fn`` raises."""
        async with self._slot:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool(), fn, *args)
            try:
                return await asyncio.wait_for(future, PARSE_TIMEOUT_S)
            except TimeoutError:
                self._restart()
                raise WorkerError("timeout", f"not done within {PARSE_TIMEOUT_S:.0f} s") from None
            except BrokenProcessPool:
                self._restart()
                raise WorkerError("parse_failed", "the worker stopped on this work") from None

    async def parse(self, filename: str, data: bytes) -> dict[str, Any]:
        now = time.localtime()
        try:
            return await self.run(self._parse, filename, data, (now.tm_year, now.tm_mon))
        except WorkerError as exc:
            if exc.code == "timeout":
                return {"error": "timeout", "message": f"not parsed within {PARSE_TIMEOUT_S:.0f} s"}
            return {"error": exc.code, "message": "the parser stopped on this file"}

    def _restart(self) -> None:
        """Kill the worker (a hung call cannot be cancelled otherwise); the next call
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


async def in_worker(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the intake worker process; in a thread where there is none (the
    command-line demo seeding, with no live event loop to protect)."""
    pool: ParsePool | None = svc.intake
    if pool is None:
        return await asyncio.to_thread(fn, *args)
    return await pool.run(fn, *args)


# -- the server side ------------------------------------------------------------------------


def file_key(secret: bytes, data: bytes) -> str:
    """A keyed hash of a file (recognises re-uploads without storing a plain hash)."""
    return hmac.new(secret, b"resume-file\0" + data, hashlib.sha256).hexdigest()


def screening_of(job: Job) -> dict[str, Any]:
    """The job's screening settings with defaults (requirements, follow-ups)."""
    stored = job.screening or {}
    requirements, _ = screening.validate_requirements(stored.get("requirements") or {})
    return {
        "requirements": requirements,
        "followups": {**DEFAULT_FOLLOWUPS, **(stored.get("followups") or {})},
    }


DEFAULT_FOLLOWUPS = {"count": 2, "in_ranking": False}
"""Personalised questions per invited résumé candidate, and whether they count in rankings."""


def job_language(job: Job) -> str:
    return zh_or_en(job.language)


class StoreFailed(Exception):
    """A parsed résumé could not be stored; the message names no person."""


async def store_candidate(
    svc: Services,
    job: Job,
    batch_id: str | None,
    filename: str,
    data: bytes,
    parsed: dict[str, Any],
) -> tuple[Candidate, bool]:
    """Screen and store one parsed résumé; ``(candidate, created)``.

    Raises :class:`StoreFailed` when the original cannot be saved (the row is erased again, so
    the same file uploaded later is not taken for a duplicate). A failed automatic invitation
    leaves the candidate stored and waiting, with a ``note``."""
    settings = screening_of(job)
    result = await in_worker(
        svc,
        match_profile,
        parsed["profile"],
        parsed["text"],
        settings["requirements"],
        job_language(job),
    )
    digest = str(
        parsed.get("file_hash")
        or await asyncio.to_thread(file_key, svc.settings.secret_key, data)  # up to 10 MB
    )
    candidate_id, created = await svc.candidates.add(
        org_id=job.org_id,
        job_id=job.id,
        batch_id=batch_id,
        filename=filename,
        file_hash=digest,
        file_bytes=len(data),
        profile=parsed["profile"],
        text=parsed["text"],
        match=result,
    )
    if created:
        try:
            path = await asyncio.to_thread(_save_encrypted, svc, job.id, candidate_id, data)
            await svc.candidates.set_file(candidate_id, str(path))
        except Exception as exc:
            with contextlib.suppress(NotFound):
                await svc.candidates.erase(candidate_id)
            raise StoreFailed(f"the résumé file could not be saved ({type(exc).__name__})") from exc
    candidate = await svc.candidates.get(candidate_id)
    if created and screening.should_auto_invite(result, settings["requirements"]):
        candidate = await _auto_invite(svc, job, candidate)
    return candidate, created


async def _auto_invite(svc: Services, job: Job, candidate: Candidate) -> Candidate:
    """Invite a stored candidate who passes the bar; on failure the candidate waits for a
    person, with a note saying why."""
    try:
        return await invite_candidate(svc, job, candidate, AUTO_ACTOR, from_statuses=("waiting",))
    except (CannotInvite, AlreadyInvited) as exc:
        return replace(candidate, note=f"not invited automatically: {exc}")
    except Exception:
        logger.exception("automatic invitation of candidate %s failed", candidate.candidate_id)
    updated = await svc.candidates.get(candidate.candidate_id)
    return replace(
        updated,
        note=(
            "invited, but announcing the invitation failed"
            if updated.status == "invited"
            else "not invited automatically: the invitation failed, invite by hand"
        ),
    )


def _save_encrypted(svc: Services, job_id: str, candidate_id: str, data: bytes) -> Path:
    """The original, sealed, in a file only the server's user reads (no partial file is left
    behind when writing fails, e.g. on a full disk)."""
    folder = svc.settings.data_dir / RESUME_DIR / job_id
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{candidate_id}.bin"
    blob = seal(svc.keyring, data, resume_aad(candidate_id))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path


def resume_aad(candidate_id: str) -> bytes:
    return f"resume/{candidate_id}".encode()


class CannotInvite(Exception):
    """The résumé lacks what an invitation needs (a name and an e-mail address)."""


class AlreadyInvited(Exception):
    """The candidate is invited, being invited, or (for automatic invitations) decided on."""


async def invite_candidate(
    svc: Services,
    job: Job,
    candidate: Candidate,
    actor: str,
    hours: int = 0,
    *,
    from_statuses: tuple[str, ...] = INVITABLE,
) -> Candidate:
    """Invite a résumé candidate (with personalised follow-ups); returns the updated candidate.

    The candidate is claimed first (status ``inviting``, only from ``from_statuses``), so two
    invitations at once create one interview; if the invitation fails, the claim is released.
    Raises :class:`CannotInvite` when the profile has no name or e-mail address, and
    :class:`AlreadyInvited` when the claim fails.
    """
    candidate_id = candidate.candidate_id
    profile_data = candidate.profile
    name, email = profile_data.get("name"), profile_data.get("email")
    if not name or not email:
        raise CannotInvite("the résumé has no " + ("name" if not name else "e-mail address"))
    previous = await svc.candidates.claim_for_invitation(candidate_id, from_statuses)
    if previous is None:
        raise AlreadyInvited("the candidate is already invited, or being invited")
    try:
        settings = screening_of(job)
        extra: list[dict[str, Any]] = []
        count = int(settings["followups"]["count"])
        if count > 0:
            extra = await in_worker(
                svc, personalise_profile, profile_data, job.to_dict(), job_language(job), count
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
    except BaseException:
        await svc.candidates.release_claim(candidate_id, previous)
        raise
    await svc.candidates.mark_invited(candidate_id, created["interview_id"])
    await webhooks.emit(
        svc,
        job.org_id,
        "candidate.invited",
        {
            "candidate_id": candidate_id,
            "interview_id": created["interview_id"],
            "job_id": job.id,
            "invited_by": actor,
            "match_score": candidate.match["score"],
            "url": created["url"],
        },
    )
    from server.outbound.reminders import queue_invitation

    await queue_invitation(svc, job, created)
    updated = await svc.candidates.get(candidate_id)
    return replace(updated, invitation={"url": created["url"], "expires_at": created["expires_at"]})


async def run_batch(
    svc: Services,
    job: Job,
    batch_id: str,
    files: Sequence[tuple[str, bytes]],
    errors: list[dict[str, str]],
) -> dict[str, Any]:
    """Parse, screen and store every file; returns ``{"candidates", "errors"}``.

    ``errors``: per-file problems found before parsing (kept in the result). Each file is
    matched against the job's screening settings as they are when it is stored (under the
    job's lock). The batch always ends: ``done``, ``failed`` (an unexpected error, logged) or
    ``interrupted`` (cancelled by a shutdown), with what was stored so far."""
    pool: ParsePool = svc.intake
    job_id = job.id
    done, failed = 0, len(errors)
    placed: list[tuple[int, dict[str, Any]]] = []
    """(file position, candidate): files are parsed concurrently, reported in upload order."""
    last_progress = 0.0
    total = len(files) + len(errors)
    pending = iter(enumerate(files, start=1))
    parsed_files: asyncio.Queue[tuple[int, str, bytes, dict[str, Any]]] = asyncio.Queue(
        PARSE_IN_FLIGHT
    )

    async def parse_next() -> None:
        for position, (filename, data) in pending:  # shared by the parser tasks: each file once
            digest = await asyncio.to_thread(file_key, svc.settings.secret_key, data)
            known = await svc.candidates.id_by_file(job_id, digest)
            if known is not None:  # uploaded before: no need to parse and match it again
                await parsed_files.put((position, filename, data, {"known": known}))
                continue
            try:
                parsed = await pool.parse(filename, data)
                parsed["file_hash"] = digest
            except Exception as exc:
                logger.exception(
                    "résumé batch %s: the parse worker failed on file %d (%d bytes)",
                    batch_id,
                    position,
                    len(data),
                )
                parsed = {"error": "parse_failed", "message": type(exc).__name__}
            await parsed_files.put((position, filename, data, parsed))

    async def progress(force: bool) -> None:
        nonlocal last_progress
        now = time.monotonic()
        if not force and now - last_progress < PROGRESS_EVERY_S:
            return
        last_progress = now
        await svc.candidates.batch_progress(batch_id, done, failed)
        svc.hub.publish(
            job_topic(job_id),
            {
                "type": "resume_progress",
                "batch_id": batch_id,
                "job_id": job_id,
                "total": total,
                "done": done + failed,
                "failed": failed,
            },
        )

    async def store(position: int, filename: str, data: bytes, parsed: dict[str, Any]) -> None:
        nonlocal done, failed
        try:
            async with pool.job_locks(job_id):
                current = await svc.store.get_job(job_id)  # screening may have changed
                candidate, created = await store_candidate(
                    svc, current, batch_id, filename, data, parsed
                )
        except Exception as exc:
            logger.exception(
                "résumé batch %s: file %d (%d bytes) could not be stored",
                batch_id,
                position,
                len(data),
            )
            failed += 1
            message = (
                str(exc)
                if isinstance(exc, StoreFailed)
                else f"the résumé could not be stored ({type(exc).__name__})"
            )
            errors.append({"file": filename, "error": "store_failed", "message": message})
            return
        placed.append((position, {**public_candidate(candidate), "duplicate": not created}))
        done += 1

    async def report_known(position: int, candidate_id: str) -> None:
        nonlocal done
        found = await svc.candidates.get_many([candidate_id])
        candidate = found[0] if found else None
        if candidate is not None:  # else erased meanwhile: nothing to report for it
            placed.append((position, {**public_candidate(candidate), "duplicate": True}))
        done += 1

    status = "failed"
    parsers = [
        asyncio.create_task(parse_next(), name=f"resume-parse-{batch_id}-{i}")
        for i in range(PARSE_IN_FLIGHT)
    ]
    try:
        try:
            for _ in files:
                position, filename, data, parsed = await parsed_files.get()
                if "known" in parsed:
                    await report_known(position, parsed["known"])
                elif "error" in parsed:
                    failed += 1
                    errors.append(
                        {"file": filename, "error": parsed["error"], "message": parsed["message"]}
                    )
                else:
                    await store(position, filename, data, parsed)
                await progress(False)
        finally:
            for p in parsers:
                p.cancel()
            for p in parsers:
                with contextlib.suppress(asyncio.CancelledError):
                    await p
        await progress(True)
        status = "done"
    except asyncio.CancelledError:
        status = "interrupted"
        raise
    finally:
        candidates = [c for _, c in sorted(placed, key=lambda p: p[0])]
        summary = {
            "candidates": [
                {k: c[k] for k in ("candidate_id", "duplicate", "note") if k in c}
                for c in candidates
            ],
            "errors": errors,
        }
        await svc.candidates.finish_batch(batch_id, status, summary, done, failed)
    return {"candidates": candidates, "errors": errors}


async def rematch_job(svc: Services, job_id: str) -> dict[str, int]:
    """Match every candidate of the job against its current screening settings (in the
    worker, :data:`REMATCH_CHUNK` at a time) and invite waiting ones who now pass.

    Holds the job's lock, so no file of a batch is stored meanwhile with older settings.
    A candidate erased meanwhile is skipped; any other failure for one candidate is logged
    and counted in ``failed``, and the rest go on. Returns ``{"rematched": matches stored,
    "invited": of those, invited now, "failed": candidates where a step failed}``."""
    pool: ParsePool = svc.intake
    counts = {"rematched": 0, "invited": 0, "failed": 0}
    async with pool.job_locks(job_id):
        job = await svc.store.get_job(job_id)
        requirements = screening_of(job)["requirements"]
        language = job_language(job)
        ids = await svc.candidates.ids_for_job(job_id)
        for start in range(0, len(ids), REMATCH_CHUNK):
            chunk = await svc.candidates.get_many(
                ids[start : start + REMATCH_CHUNK], with_text=True
            )
            profiles = [(c.profile, c.text) for c in chunk]
            try:
                results = await pool.run(
                    match_profiles,
                    profiles,
                    requirements,
                    language,
                )
            except Exception:
                logger.exception("re-matching %d candidates of job %s failed", len(chunk), job_id)
                counts["failed"] += len(chunk)
                continue
            for candidate, result in zip(chunk, results, strict=True):
                outcome = await _apply_match(svc, job, candidate, result, requirements)
                counts["rematched"] += outcome in ("rematched", "invited", "invite_failed")
                counts["invited"] += outcome == "invited"
                counts["failed"] += outcome in ("failed", "invite_failed")
    return counts


async def _apply_match(
    svc: Services,
    job: Job,
    candidate: Candidate,
    result: dict[str, Any],
    requirements: dict[str, Any],
) -> str:
    """Store the new match; invite a waiting candidate who now passes. Returns ``rematched``,
    ``invited``, ``invite_failed`` (the match is stored), ``failed`` (failures are logged), or
    ``erased`` (the candidate was erased meanwhile)."""
    candidate_id = candidate.candidate_id
    try:
        await svc.candidates.set_match(candidate_id, result)
    except NotFound:
        return "erased"
    except Exception:
        logger.exception("storing the new match of candidate %s failed", candidate_id)
        return "failed"
    if candidate.status != "waiting" or not screening.should_auto_invite(result, requirements):
        return "rematched"
    try:
        await invite_candidate(
            svc, job, replace(candidate, match=result), AUTO_ACTOR, from_statuses=("waiting",)
        )
    except (CannotInvite, AlreadyInvited, NotFound):
        return "rematched"
    except Exception:
        logger.exception("inviting candidate %s after re-matching failed", candidate_id)
        return "invite_failed"
    return "invited"


def public_candidate(candidate: Candidate) -> dict[str, Any]:
    """The API shape of a candidate (the issue's contract plus status and sources)."""
    profile = candidate.profile
    return {
        "candidate_id": candidate.candidate_id,
        "job_id": candidate.job_id,
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
        "match": candidate.match,
        "status": candidate.status,
        "interview_id": candidate.interview_id,
        "filename": candidate.filename,
        "file_bytes": candidate.file_bytes,
        "created_at": candidate.created_at,
        **({"note": candidate.note} if candidate.note else {}),
        **({"invitation": candidate.invitation} if candidate.invitation else {}),
    }
