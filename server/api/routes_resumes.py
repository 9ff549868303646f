"""Résumé intake endpoints: upload (one, many or a zip), candidates, screening settings.

HR and admins only. Résumés are personal data: every read of an original file, every human
status change and every erasure is audited.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from server.api.contract import Upload, operation, read_body, read_query
from server.api.guards import audit_action, candidate_of, job_of, staff_user
from server.api.http import ApiError, json_response, services, unknown_form_field
from server.api.routes_privacy import erase_resume
from server.api.schemas.queries import PageQuery
from server.api.schemas.resumes import (
    Candidate,
    CandidateStatusIn,
    ResumeBatch,
    Screening,
    ScreeningChanged,
    ScreeningIn,
)
from server.core.services import Services
from server.domain.candidates import Candidate as CandidateRecord
from server.domain.models import Role
from server.resumes import screening
from server.resumes.intake import (
    BUSY_RETRY_AFTER_S,
    DEFAULT_FOLLOWUPS,
    MAX_BATCH_BYTES,
    MAX_FILES_PER_BATCH,
    AlreadyInvited,
    BatchSlots,
    CannotInvite,
    invite_candidate,
    public_candidate,
    rematch_job,
    resume_aad,
    run_batch,
    screening_of,
)
from server.resumes.resume_worker import MAX_FILE_BYTES
from server.security.access import CAN_MANAGE_JOBS
from server.security.blob import open_sealed

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

UPLOAD_FIELD = "files"
"""The multipart field every résumé (or zip of résumés) is sent in."""
READ_CHUNK_BYTES = 256 * 1024
"""Candidates per page of the job's list."""
ADMINS = frozenset({Role.ADMIN})


async def _read_files(
    request: web.Request,
) -> tuple[list[tuple[str, bytes]], list[dict[str, str]]]:
    """Every uploaded file (zips expanded) and per-file problems; the request's other files
    are still read when one is too large or broken.

    Budgets: :data:`MAX_FILE_BYTES` per file, inside a zip too (by the entry's declared size,
    before unpacking it); :data:`MAX_BATCH_BYTES` and :data:`MAX_FILES_PER_BATCH` for the
    whole upload, a zip counting by its unpacked content (413 beyond them)."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "bad_request", "upload résumés as multipart/form-data files")
    files: list[tuple[str, bytes]] = []
    errors: list[dict[str, str]] = []
    total = 0
    try:
        reader = await request.multipart()
        async for part in reader:
            name = part.name if isinstance(part, BodyPartReader) else None
            if name != UPLOAD_FIELD:
                raise unknown_form_field(name, UPLOAD_FIELD)
            if not isinstance(part, BodyPartReader) or not part.filename:
                continue
            name = _display_name(part.filename)
            data, too_large = await _read_part(part)
            total += len(data)
            if total > MAX_BATCH_BYTES:
                raise _upload_too_large()
            if too_large:
                errors.append(_file_error(name, "too_large", f"larger than {MAX_FILE_BYTES} bytes"))
            elif name.lower().endswith(".zip"):
                total -= len(data)  # counted by its content instead
                inner = await _expand(name, data, files, errors, MAX_BATCH_BYTES - total)
                total += sum(len(blob) for _, blob in inner)
                files += inner
            else:
                files.append((name, data))
            if len(files) > MAX_FILES_PER_BATCH:
                raise _too_many_files()
    except (ValueError, HttpProcessingError) as exc:
        raise ApiError(400, "bad_multipart", f"malformed upload: {exc}") from None
    if not files and not errors:
        raise ApiError(400, "missing_file", "no files in the upload")
    return files, errors


async def _expand(
    name: str,
    data: bytes,
    files: list[tuple[str, bytes]],
    errors: list[dict[str, str]],
    bytes_left: int,
) -> list[tuple[str, bytes]]:
    """The zip's files within what is left of the upload's budgets; an entry over the
    per-file limit and a broken zip become per-file errors."""
    from server.resumes.resume_errors import ResumeErrorCode, ResumeFileError
    from server.resumes.resume_zip import expand_zip  # pypdf, docx

    def too_large(inner_name: str, size: int) -> None:
        errors.append(
            _file_error(
                f"{name}/{inner_name}",
                "too_large",
                f"{size} bytes uncompressed, larger than {MAX_FILE_BYTES} bytes",
            )
        )

    try:
        inner = await asyncio.to_thread(
            expand_zip,
            name,
            data,
            MAX_FILES_PER_BATCH - len(files),
            bytes_left,
            max_file_bytes=MAX_FILE_BYTES,
            on_too_large=too_large,
        )
    except ResumeFileError as exc:
        if exc.code is ResumeErrorCode.TOO_LARGE:
            raise _upload_too_large() from None
        if exc.code is ResumeErrorCode.TOO_MANY_FILES:
            raise _too_many_files() from None
        errors.append(_file_error(name, exc.code, exc.message))
        return []
    return [(f"{name}/{inner_name}", blob) for inner_name, blob in inner]


def _upload_too_large() -> ApiError:
    return ApiError(413, "too_large", f"at most {MAX_BATCH_BYTES} bytes per upload (zips unpacked)")


def _too_many_files() -> ApiError:
    return ApiError(413, "too_many", f"at most {MAX_FILES_PER_BATCH} files per upload")


def _display_name(raw: str) -> str:
    """The file's name as the user named it (some clients percent-encode non-ASCII names)."""
    name = unquote(raw) if "%" in raw else raw
    return name.replace("\\", "/").rsplit("/", 1)[-1][:200] or "upload"


async def _read_part(part: BodyPartReader) -> tuple[bytes, bool]:
    """The part's bytes, or ``(b"", True)`` once it exceeds the per-file limit (drained)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            while await part.read_chunk(READ_CHUNK_BYTES):
                pass
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


def _file_error(name: str, code: str, message: str) -> dict[str, str]:
    return {"file": name, "error": code, "message": message}


@routes.post("/api/jobs/{job_id}/resumes")
@operation(
    "Upload résumés (PDF, DOCX, TXT; several files or a zip): parsed, screened, stored;"
    " those above the job's threshold are invited. Prefer: respond-async -> 202 + batch",
    upload=Upload(UPLOAD_FIELD, many=True),
    response=ResumeBatch,
    status=201,
    statuses=(202,),
)
async def upload(request: web.Request) -> web.Response:
    """Parse, screen and store résumés. ``Prefer: respond-async`` answers 202 at once with a
    batch to poll; otherwise the answer comes when every file is done.

    At most :data:`~server.resumes.intake.MAX_RUNNING_BATCHES` uploads are held and processed at once
    in this process (from reading the body to the batch's end); another gets 429 ``busy``."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    svc = services(request)
    slots: BatchSlots = svc.intake.batches
    if not slots.try_acquire():
        raise ApiError(
            429,
            "busy",
            "other résumé uploads are being processed: try again shortly",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    handed_over = False
    try:
        files, errors = await _read_files(request)
        batch_id = await svc.candidates.create_batch(
            job.org_id, job.id, user.username, len(files) + len(errors)
        )
        await audit_action(
            request,
            user,
            "resumes_uploaded",
            {"job_id": job.id, "batch_id": batch_id, "files": len(files) + len(errors)},
        )
        if "respond-async" in request.headers.get("Prefer", ""):
            task = asyncio.create_task(
                run_batch(svc, job, batch_id, files, errors), name=f"resume-batch-{batch_id}"
            )
            handed_over = True  # the slot is the task's now, until it ends
            task.add_done_callback(lambda _: slots.release())
            svc.background.add(task)
            task.add_done_callback(svc.background.discard)
            task.add_done_callback(lambda t: _log_batch_failure(t, batch_id))
            return json_response(
                {
                    "batch_id": batch_id,
                    "total": len(files) + len(errors),
                    "status_url": f"/api/jobs/{job.id}/resume-batches/{batch_id}",
                },
                status=202,
            )
        result = await run_batch(svc, job, batch_id, files, errors)
    finally:
        if not handed_over:
            slots.release()
    return json_response({"batch_id": batch_id, **result}, status=201)


def _log_batch_failure(task: asyncio.Task[Any], batch_id: str) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("résumé batch %s failed", batch_id, exc_info=task.exception())


@routes.get("/api/jobs/{job_id}/resume-batches/{batch_id}")
@operation("Progress and result of a résumé upload", response=ResumeBatch)
async def batch_status(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    svc = services(request)
    batch = await svc.candidates.get_batch(request.match_info["batch_id"])
    if batch.job_id != job.id:
        raise ApiError(404, "not_found", "no such batch for this job")
    out: dict[str, Any] = {
        "job_id": batch.job_id,
        "total": batch.total,
        "done": batch.done,
        "failed": batch.failed,
        "status": batch.status,
        "batch_id": batch.id,
    }
    if batch.result is not None:
        entries = batch.result["candidates"]
        found = {  # one query; candidates erased since are left out
            c.candidate_id: c
            for c in await svc.candidates.get_many([e["candidate_id"] for e in entries])
        }
        out["candidates"] = [
            {**public_candidate(found[e["candidate_id"]]), **e}
            for e in entries
            if e["candidate_id"] in found
        ]
        out["errors"] = batch.result["errors"]
    return json_response(out)


@routes.get("/api/jobs/{job_id}/candidates")
@operation(
    "Résumé candidates of a job, best match first (header X-Total-Count)",
    query=PageQuery,
    response=list[Candidate],
)
async def list_candidates(request: web.Request) -> web.Response:
    """A page of the job's candidates, best match first (``?limit=``, default and most
    ``CANDIDATES_PAGE_MAX``; ``?offset=``); ``X-Total-Count`` says how many there are."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    query = read_query(request, PageQuery)
    limit, offset = query.limit, query.offset
    store = services(request).candidates
    rows = await store.list_for_job(job.id, limit, offset)
    response = json_response([public_candidate(c) for c in rows])
    response.headers["X-Total-Count"] = str(await store.count_for_job(job.id))
    return response


@routes.get("/api/candidates/{candidate_id}")
@operation("One résumé candidate", response=Candidate)
async def get_candidate(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    candidate, _job = await candidate_of(request, user)
    return json_response(public_candidate(candidate))


@routes.get("/api/candidates/{candidate_id}/resume")
@operation(
    "The original résumé file (audited)", response=bytes, media_type="application/octet-stream"
)
async def download_resume(request: web.Request) -> web.Response:
    """The original file, decrypted (audited)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    candidate, job = await candidate_of(request, user)
    svc = services(request)
    if not candidate.file_path:
        raise ApiError(404, "not_found", "the résumé file is not kept")
    data = await asyncio.to_thread(_read_resume, svc, candidate)
    await audit_action(
        request,
        user,
        "resume_viewed",
        {"candidate_id": candidate.candidate_id, "job_id": job.id},
    )
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": 'attachment; filename="resume"',
            "Cache-Control": "no-store",
        },
    )


def _read_resume(svc: Services, candidate: CandidateRecord) -> bytes:
    assert candidate.file_path is not None
    with open(candidate.file_path, "rb") as f:
        blob = f.read()
    return open_sealed(svc.keyring, blob, resume_aad(candidate.candidate_id))


@routes.post("/api/candidates/{candidate_id}/invite")
@operation(
    "A person invites the candidate (any score)",
    response=Candidate,
    status=201,
    refusals=(
        (
            409,
            "The candidate is already invited (conflict), or the résumé lacks the name or "
            "the e-mail an invitation needs (cannot_invite)",
        ),
    ),
)
async def invite(request: web.Request) -> web.Response:
    """A person invites the candidate (whatever the match score)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    candidate, job = await candidate_of(request, user)
    try:
        updated = await invite_candidate(services(request), job, candidate, user.username)
    except CannotInvite as exc:
        raise ApiError(409, "cannot_invite", str(exc)) from None
    except AlreadyInvited as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return json_response(public_candidate(updated), status=201)


@routes.put("/api/candidates/{candidate_id}/status")
@operation(
    "A person's screening decision (waiting or not_selected; audited)",
    body=CandidateStatusIn,
    response=Candidate,
    invalid=("invalid_status", "the status is invalid"),
    refusals=((409, "The candidate is invited or being invited (conflict)"),),
)
async def set_status(request: web.Request) -> web.Response:
    """A person's screening decision: ``not_selected`` or back to ``waiting`` (audited)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    candidate, job = await candidate_of(request, user)
    status = (await read_body(request, CandidateStatusIn)).status
    svc = services(request)
    if not await svc.candidates.set_status(candidate.candidate_id, status):
        raise ApiError(
            409, "conflict", "the candidate is invited or being invited; revoke the invitation"
        )
    await audit_action(
        request,
        user,
        "candidate_status",
        {"candidate_id": candidate.candidate_id, "status": status},
    )
    return json_response(public_candidate(await svc.candidates.get(candidate.candidate_id)))


@routes.delete("/api/candidates/{candidate_id}")
@operation("Admin: erase the candidate's résumé and profile", status=204)
async def erase(request: web.Request) -> web.Response:
    """Erase the candidate's résumé and profile (PIPL right to erasure; audited)."""
    user = await staff_user(request, ADMINS)
    candidate, job = await candidate_of(request, user)
    svc = services(request)
    await erase_resume(svc, candidate.candidate_id)
    await audit_action(
        request,
        user,
        "candidate_erased",
        {"candidate_id": candidate.candidate_id, "job_id": job.id},
    )
    return web.Response(status=204)


# -- screening settings ----------------------------------------------------------------------


@routes.get("/api/jobs/{job_id}/screening")
@operation("The job's screening requirements and follow-up settings", response=Screening)
async def get_screening(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    return json_response(screening_of(await job_of(request, user)))


@routes.put("/api/jobs/{job_id}/screening")
@operation(
    "Set requirements and follow-ups; every candidate is matched again and waiting ones"
    " above the threshold are invited",
    body=ScreeningIn,
    response=ScreeningChanged,
    invalid=("invalid", "the screening settings are invalid"),
)
async def put_screening(request: web.Request) -> web.Response:
    """Set requirements and follow-ups; every candidate of the job is matched again, and
    waiting candidates who now pass the threshold are invited."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    body = (await read_body(request, ScreeningIn)).model_dump(mode="json", exclude_unset=True)
    requirements, errors = screening.validate_requirements(body.get("requirements") or {})
    follow = {**DEFAULT_FOLLOWUPS, **(body.get("followups") or {})}  # checked by ScreeningIn
    if errors:
        raise ApiError(422, "invalid", "the screening settings are invalid", errors)
    svc = services(request)
    await svc.store.update_job_data(
        job.id, {"screening": {"requirements": requirements, "followups": follow}}
    )
    job = await svc.store.get_job(job.id)
    await audit_action(
        request,
        user,
        "screening_changed",
        {"job_id": job.id, "requirements": requirements, "followups": follow},
    )
    counts = await rematch_job(svc, job.id)
    return json_response({**screening_of(job), **counts})
