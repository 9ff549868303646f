"""REST endpoints for staff: login, question bank, jobs, invitations, interviews, recordings."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from analyzers.events import ScoreUpdate
from analyzers.scoring import overall
from common.competencies import CATALOGUE
from server.api.contract import Upload, operation, read_body, read_query
from server.api.guards import audit_action, interview_of, job_of, recording_of, staff_user
from server.api.http import ApiError, json_response, read_upload, send_recording, services
from server.api.schemas.common import AnyObject, field_errors
from server.api.schemas.hiring import (
    AnalyzeIn,
    Competency,
    ExaminersIn,
    ImportedQuestions,
    Job,
    JobIn,
    QuestionIn,
    QuestionOut,
)
from server.api.schemas.interviews import (
    BulkInvitations,
    CandidateIn,
    Interview,
    InterviewSummary,
    Invitation,
    InvitationIn,
)
from server.api.schemas.org import LoginIn, Token, User, UserIn
from server.api.schemas.queries import QuestionsQuery, SignedUrlQuery, UsersQuery
from server.core.config import RECORDING_URL_TTL_S, STAFF_TOKEN_TTL_S
from server.core.csvsafe import decode_upload_text
from server.core.services import Services
from server.domain.answers import Recording
from server.domain.errors import field_error
from server.domain.interviews import Interview as InterviewRecord
from server.domain.jobs import Job as JobRecord
from server.domain.models import (
    Question,
    Role,
    StaffUser,
    Status,
    interview_mode,
    personalised_fields,
)
from server.hiring import questionbank
from server.hiring.jobanalysis import analyze
from server.hiring.jobs import validate_job
from server.interview.candidate_view import saved_current
from server.interview.invitations import invite, question_index
from server.interview.progress import publish_status
from server.live.analysis import analysis_summary, answer_transcript, transcription_status
from server.security.access import CAN_MANAGE_JOBS, CAN_SEE_RECORDINGS, can_see_job
from server.security.auth import (
    check_signed_path,
    hash_password,
    new_staff_token,
    sign_path,
    verify_password,
)
from server.security.keyring import CryptoError
from server.storage.objects import StorageUnavailable

routes = web.RouteTableDef()

MAX_BULK_INVITATIONS = 5000
DUMMY_HASH = hash_password("timing-equaliser")


# -- auth ----------------------------------------------------------------------------------


@routes.post("/api/auth/login")
@operation("Log in; returns a bearer token", auth="none", body=LoginIn, response=Token)
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginIn)
    username, password = body.username, body.password
    svc = services(request)
    limits = svc.limits
    address = request.remote or ""  # the client's, behind trusted proxies (server.api.http)
    account = username.lower()
    # Check and count in one step, the account before the (slow) password check: racing
    # guesses, in this process or others sharing Redis, cannot all pass a check made before
    # any of them is counted. Only a right password clears the account's count.
    _refuse_if_limited(
        await limits.login_attempts.hit(address), "too many login attempts from this address"
    )
    _refuse_if_limited(
        await limits.login_failures.hit(account), "this account is locked after wrong passwords"
    )
    row = await svc.store.user_by_username(username)
    # Hash even for unknown users so response time does not reveal who exists.
    ok = await asyncio.to_thread(
        verify_password, password, row["password_hash"] if row else DUMMY_HASH
    )
    user = StaffUser.from_row(row) if row else None
    if user is None or not ok:
        # audited when a wrong password leaves the account locked (racing guesses that all
        # fail may each record it: at most LOGIN_FAILURES_PER_ACCOUNT events per lockout)
        if await limits.login_failures.blocked_for_s(account):
            await svc.store.add_event(
                None,
                user.org_id if user else "",
                "account_locked",
                username[:100],
                {"failures": limits.login_failures.limit},
                ip=address,
            )
        raise ApiError(401, "bad_credentials", "wrong username or password")
    await limits.login_failures.clear(account)
    token, digest = new_staff_token()
    expires_at = time.time() + STAFF_TOKEN_TTL_S
    await svc.store.add_staff_token(digest, user.id, expires_at)
    return json_response(
        {
            "token": token,
            "role": user.role,
            "expires_at": expires_at,
            "user": user.to_public(),
        }
    )


def _refuse_if_limited(wait_s: float, message: str) -> None:
    if wait_s:
        raise ApiError(
            429,
            "too_many_attempts",
            f"{message}; try again in {int(wait_s) + 1} s",
            headers={"Retry-After": str(int(wait_s) + 1)},
        )


@routes.get("/api/me")
@operation("The logged-in staff user", response=User)
async def me(request: web.Request) -> web.Response:
    return json_response((await staff_user(request)).to_public())


# -- competencies and questions ------------------------------------------------------------


@routes.get("/api/competencies")
@operation("Competency catalogue", response=list[Competency])
async def competencies(request: web.Request) -> web.Response:
    await staff_user(request)
    return json_response(
        [
            {"id": c.id, "name": c.name.to_dict(), "definition": c.definition.to_dict()}
            for c in CATALOGUE
        ]
    )


@routes.get("/api/questions")
@operation("Question bank (built-in + own)", query=QuestionsQuery, response=list[QuestionOut])
async def list_questions(request: web.Request) -> web.Response:
    user = await staff_user(request)
    query = read_query(request, QuestionsQuery)
    section, competency = query.section, query.competency
    needle = (query.q or "").strip().lower()
    result = []
    for q in (await question_index(services(request), user.org_id)).values():
        if section and q.section.value != section:
            continue
        if competency and competency not in q.competencies:
            continue
        if needle and needle not in f"{q.text.zh} {q.text.en}".lower():
            continue
        result.append(q.to_dict())
    return json_response(result)


@routes.post("/api/questions")
@operation(
    "Add one question",
    body=QuestionIn,
    response=QuestionOut,
    status=201,
    invalid=("invalid_question", "the question is invalid"),
)
async def create_question(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    body = await read_body(request, QuestionIn, also=_question_errors)
    fields = body.model_dump(mode="json", exclude_none=True, exclude={"id", "builtin"})
    data, errors = questionbank.validate_question(fields, None)
    if errors or data is None:
        raise ApiError(
            422, "invalid_question", "the question is invalid", [e.to_dict() for e in errors]
        )
    svc = services(request)
    (qid,) = await svc.store.add_questions(user.org_id, [data])
    return json_response(Question.from_dict({**data, "id": qid}).to_dict(), status=201)


def _question_errors(raw: dict[str, Any]) -> list[dict[str, Any]]:
    raw = {k: v for k, v in raw.items() if k not in ("id", "builtin")}
    return [e.to_dict() for e in questionbank.validate_question(raw, None)[1]]


@routes.post("/api/questions/import")
@operation(
    "Import questions from CSV, JSON or XLSX (all or nothing)",
    upload=Upload(),
    response=ImportedQuestions,
    status=201,
)
async def import_questions(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    filename, content = await read_upload(request)
    try:
        rows = await asyncio.to_thread(questionbank.parse_import, filename, content)
    except questionbank.ImportValidationError as exc:
        raise ApiError(
            422,
            "invalid_import",
            f"{len(exc.errors)} problem(s) found; nothing was imported",
            [e.to_dict() for e in exc.errors],
        ) from None
    svc = services(request)
    ids = await svc.store.add_questions(user.org_id, rows)
    created = [Question.from_dict({**r, "id": i}).to_dict() for r, i in zip(rows, ids, strict=True)]
    return json_response({"imported": len(created), "questions": created}, status=201)


# -- jobs ----------------------------------------------------------------------------------


@routes.post("/api/jobs/analyze")
@operation(
    "Suggest competencies, weights and questions from a job description",
    body=AnalyzeIn,
    response=AnyObject,
    invalid=("invalid_description", "the description is invalid"),
)
async def analyze_job(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    body = await read_body(request, AnalyzeIn)
    bank = list((await question_index(services(request), user.org_id)).values())
    try:
        result = await asyncio.to_thread(analyze, body.description, bank)
    except ValueError as exc:
        raise ApiError(422, "invalid_description", str(exc)) from None
    return json_response(result.to_dict())


@routes.post("/api/jobs")
@operation(
    "Create a job",
    body=JobIn,
    response=Job,
    status=201,
    invalid=("invalid_job", "the job is invalid"),
    refusals=(
        (
            409,
            "A question of the plan is not in the bank or not of its section, or no "
            "professional-test question is answered in text (errors name each one)",
        ),
    ),
)
async def create_job(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    svc = services(request)
    questions = await question_index(svc, user.org_id)

    def problems(raw: dict[str, Any]) -> list[dict[str, Any]]:
        _, errors, conflicts = validate_job(raw, questions)
        return errors + conflicts

    body = await read_body(request, JobIn, also=problems)
    job, errors, conflicts = validate_job(body.model_dump(mode="json"), questions)
    if errors or conflicts:
        status = 422 if errors else 409  # 409: the job is fine, the bank does not hold it
        raise ApiError(status, "invalid_job", "the job is invalid", errors + conflicts)
    if user.role == Role.DEPARTMENT_VIEWER:  # pragma: no cover - excluded by CAN_MANAGE_JOBS
        raise ApiError(403, "forbidden", "not allowed")
    job_id = await svc.store.create_job(user.org_id, job)
    return json_response(await _job_out(svc, await svc.store.get_job(job_id)), status=201)


async def _job_out(svc: Services, job: JobRecord) -> dict[str, Any]:
    return {**job.to_dict(), "counts": await svc.store.status_counts(job.id)}


@routes.get("/api/jobs")
@operation("Jobs with status counts", response=list[Job])
async def list_jobs(request: web.Request) -> web.Response:
    user = await staff_user(request)
    svc = services(request)
    jobs = []
    for job in await svc.store.list_jobs(user.org_id):
        if can_see_job(user, job):
            jobs.append(await _job_out(svc, job))
    return json_response(jobs)


@routes.get("/api/jobs/{job_id:(?!analyze$)[^{}/]+}")  # "analyze" is a sibling, not a job
@operation("One job", response=Job)
async def get_job(request: web.Request) -> web.Response:
    user = await staff_user(request)
    return json_response(await _job_out(services(request), await job_of(request, user)))


@routes.put("/api/jobs/{job_id}/examiners")
@operation(
    "Assign examiners to a job (user ids of examiners)",
    body=ExaminersIn,
    response=Job,
    invalid=("invalid_examiners", "examiners must be a list of user ids"),
    refusals=((409, "An id is not of an examiner of the organisation (errors name each one)"),),
)
async def assign_examiners(request: web.Request) -> web.Response:
    """Set the examiners assigned to a job (they see its interviews, live and after)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    ids = (await read_body(request, ExaminersIn)).examiners
    svc = services(request)
    staff = {u.id: u for u in await svc.store.users(user.org_id)}
    bad = [i for i in ids if i not in staff or staff[i].role != Role.EXAMINER]
    if bad:
        raise ApiError(
            409,
            "invalid_examiners",
            "not examiners of this organisation",
            [field_error("examiners", f"unknown examiner {i}") for i in bad],
        )
    await svc.store.update_job_data(job.id, {"examiners": sorted(set(ids))})
    return json_response(await _job_out(svc, await svc.store.get_job(job.id)))


@routes.post("/api/users")
@operation(
    "Create a staff account (admin)",
    body=UserIn,
    response=User,
    status=201,
    invalid=("invalid_user", "the account is invalid"),
    refusals=((409, "The username is taken (conflict)"),),
)
async def create_user(request: web.Request) -> web.Response:
    """Create a staff account in the admin's organisation (admin only)."""
    user = await staff_user(request, frozenset({Role.ADMIN}))
    body = await read_body(request, UserIn)
    username, password, role, department = (
        body.username,
        body.password,
        body.role,
        body.department,
    )
    svc = services(request)
    hashed = await asyncio.to_thread(hash_password, password)
    user_id = await svc.store.create_user(
        user.org_id, username, hashed, Role(str(role)), department.strip()
    )
    await audit_action(
        request,
        user,
        "user_created",
        {"user": username, "role": role},
    )
    created = next(u for u in await svc.store.users(user.org_id) if u.id == user_id)
    return json_response(created.to_public(), status=201)


@routes.get("/api/users")
@operation("Staff of the organisation (?role=examiner)", query=UsersQuery, response=list[User])
async def list_users(request: web.Request) -> web.Response:
    """Staff of the organisation (to assign examiners)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    role = read_query(request, UsersQuery).role
    users = await services(request).store.users(user.org_id)
    return json_response([u.to_public() for u in users if role is None or u.role == role])


@routes.get("/api/jobs/{job_id}/interviews")
@operation("Interviews of a job", response=list[InterviewSummary])
async def job_interviews(request: web.Request) -> web.Response:
    user = await staff_user(request)
    job = await job_of(request, user)
    rows = await services(request).store.list_interviews(job.id)
    return json_response([_summary(r) for r in rows])


def _summary(row: InterviewRecord) -> dict[str, Any]:
    return {
        "interview_id": row.id,
        "job_id": row.job_id,
        "status": row.status.value,
        "name": row.candidate.get("name", ""),
        "email": row.candidate.get("email", ""),
        "language": row.language,
        "mode": mode.value if (mode := interview_mode(row)) is not None else None,
        "expires_at": row.expires_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


# -- invitations ---------------------------------------------------------------------------


def _trimmed(candidate: CandidateIn) -> dict[str, Any]:
    """The candidate's fields with their text trimmed, empty ones left out."""
    fields = candidate.model_dump(include=set(CandidateIn.model_fields), exclude_none=True)
    return {k: v.strip() for k, v in fields.items() if v.strip()}


def _candidate_fields(
    data: dict[str, Any], row: int | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A row of a bulk CSV as a candidate to invite, or the problems with it (``row``: its
    line in the file)."""
    try:
        return _trimmed(CandidateIn.model_validate(data, strict=True)), []
    except ValidationError as exc:
        return {}, [e.to_dict() for e in field_errors(exc, row)]


@routes.post("/api/jobs/{job_id}/invitations")
@operation(
    "Invite one candidate",
    body=InvitationIn,
    response=Invitation,
    status=201,
    invalid=("invalid_invitation", "the invitation is invalid"),
)
async def create_invitation(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    body = await read_body(request, InvitationIn)
    cand = _trimmed(body)
    hours = body.expires_in_hours or services(request).settings.invitation_ttl_h
    (created,) = await invite(services(request), job, [cand], hours, user.username)
    return json_response(created, status=201)


def _candidates_from_csv(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of a bulk-invitation CSV → candidates and per-row errors (csv.Error escapes)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = {"name", "email"} - set(header)
    unknown = set(header) - {"name", "email", "phone", "language", "group"}
    if missing or unknown:
        problems = [f"missing column {m}" for m in sorted(missing)] + [
            f"unknown column {u}" for u in sorted(unknown)
        ]
        raise ApiError(
            422,
            "invalid_csv",
            "the header must be name,email,phone,language",
            [{"row": 1, "field": "header", "message": p} for p in problems],
        )
    candidates: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for line_no, row in enumerate(reader, start=2):
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(clean.values()):
            continue
        cand, row_errors = _candidate_fields(clean, line_no)
        errors.extend(row_errors)
        candidates.append(cand)
        if len(candidates) > MAX_BULK_INVITATIONS:
            raise ApiError(413, "too_many", f"at most {MAX_BULK_INVITATIONS} candidates per file")
    return candidates, errors


@routes.post("/api/jobs/{job_id}/invitations/bulk")
@operation(
    "Invite candidates from a CSV (name,email,phone,language,group); all or nothing",
    upload=Upload(),
    response=BulkInvitations,
    status=201,
)
async def bulk_invitations(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    _filename, content = await read_upload(request)
    text = _decode_csv(content)
    try:
        candidates, errors = _candidates_from_csv(text)
    except csv.Error as exc:  # e.g. a bare carriage return inside a cell
        raise ApiError(422, "invalid_csv", f"malformed CSV: {exc}") from None
    if not candidates and not errors:
        errors.append({"row": None, "field": "file", "message": "no candidates in the file"})
    if errors:
        raise ApiError(422, "invalid_csv", f"{len(errors)} problem(s); nothing was created", errors)
    hours = services(request).settings.invitation_ttl_h
    return json_response(
        {"created": await invite(services(request), job, candidates, hours, user.username)},
        status=201,
    )


def _decode_csv(content: bytes) -> str:
    text = decode_upload_text(content)
    if text is not None:
        return text
    raise ApiError(
        422,
        "invalid_csv",
        "the file is not UTF-8, UTF-16 or GBK text",
        [{"row": None, "field": "file", "message": "unknown text encoding"}],
    )


# -- interviews ----------------------------------------------------------------------------


@routes.get("/api/interviews/{interview_id}")
@operation("Interview with answers", response=Interview)
async def get_interview(request: web.Request) -> web.Response:
    user = await staff_user(request)
    interview, _job = await interview_of(request, user)
    svc = services(request)
    session = svc.sessions.get(interview.id)
    current = (
        await session.current()
        if session is not None
        else await saved_current(interview, svc.store)
    )
    if current is not None:
        current = {**current, **personalised_fields(interview.plan[current["index"]])}
    answers = {a.idx: a for a in await svc.store.answers(interview.id)}
    recordings: dict[str, list[Recording]] = {}
    for rec in await svc.store.recordings(interview.id):
        recordings.setdefault(rec.answer_id, []).append(rec)
    see_video = Role(user.role) in CAN_SEE_RECORDINGS
    analysis = await analysis_summary(svc, interview.id)
    out_answers = []
    for item in interview.plan:
        answer = answers.get(item["index"])
        if answer is None:
            continue
        recs = recordings.get(answer.id, [])
        entry = {
            "index": item["index"],
            "answer_id": answer.id,
            "section": item["section"],
            "question_id": answer.question_id,
            "question": item["question"]["text"],
            "media": item["question"]["media"],
            **personalised_fields(item),
            "status": answer.status,
            "started_at": answer.started_at,
            "ended_at": answer.ended_at,
            "answer_used_s": answer.answer_used_s,
            "end_reason": answer.end_reason,
            "scratchpad": answer.scratchpad,
            "text_answer": answer.text_answer,
            **answer_transcript(analysis["transcripts"].get(item["index"], []), interview.language),
            "transcript_segments": [
                {k: f[k] for k in ("text", "start_s", "end_s", "words")}
                for f in analysis["transcripts"].get(item["index"], [])
            ],
            "recordings": [
                {
                    "id": r.id,
                    "seq": r.seq,
                    "duration_s": r.duration_s,
                    "video_frames": r.video_frames,
                    "audio_packets": r.audio_packets,
                    "bytes": r.bytes,
                    "media_start_s": r.media_start_s,
                }
                for r in recs
            ],
        }
        if see_video:
            entry["recording_urls"] = [_recording_url(svc, r.id, user.id) for r in recs]
        out_answers.append(entry)
    see_scores = Role(user.role) is not Role.DEPARTMENT_VIEWER  # the hiring department sees videos
    transcription = transcription_status(svc, interview, analysis)
    return json_response(
        {
            **_summary(interview),
            "candidate": {
                k: v
                for k, v in interview.candidate.items()
                # the reporting group is for fairness statistics, not for examiners
                if k != "group" or user.role in CAN_MANAGE_JOBS
            },
            "consent": interview.consent,
            "device_check": interview.device_check,
            "questions_total": len(interview.plan),
            "current": current,
            "live": session is not None,
            "answers": out_answers,
            "transcription": transcription,
            "scores": analysis["scores"] if see_scores else [],
            "scores_not_applicable": see_scores and not transcription["available"],
            "overall": await _overall(svc, interview, analysis["scores"]) if see_scores else None,
            "scores_are_suggestions": True,
            "flags": analysis["flags"],
            "analyzer_errors": analysis["analyzer_errors"],
            "network_gaps": analysis["network_gaps"],
        }
    )


async def _overall(
    svc: Services, interview: InterviewRecord, scores: list[dict[str, Any]]
) -> float | None:
    """Weighted mean of the dimension scores with the job's weights (a suggestion, 0–10)."""
    job = await svc.store.get_job(interview.job_id)
    weights = [(c["id"], float(c["weight"])) for c in job.competencies]
    updates = [
        ScoreUpdate(
            interview_id=interview.id,
            t=s["t"],
            dimension=s["dimension"],
            value=s["value"],
            reason=s["reason"],
        )
        for s in scores
    ]
    try:
        return overall(updates, weights)
    except ValueError:
        return None


def _recording_url(svc: Services, rec_id: str, user_id: str) -> str:
    path = f"/api/recordings/{rec_id}"
    query = sign_path(
        svc.settings.secret_key, path, int(time.time() + RECORDING_URL_TTL_S), user_id
    )
    return f"{svc.settings.base_url}{path}?{query}"


@routes.post("/api/interviews/{interview_id}/revoke")
@operation(
    "Revoke the invitation",
    response=InterviewSummary,
    refusals=((409, "The interview is completed (conflict)"),),
)
async def revoke(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    interview, _job = await interview_of(request, user)
    svc = services(request)
    if interview.status in (Status.COMPLETED,):
        raise ApiError(409, "conflict", "a completed interview cannot be revoked")
    change = await svc.store.set_status(interview.id, Status.REVOKED, user.username)
    if change is not None:
        await publish_status(svc, change)
    session = svc.sessions.get(interview.id)
    if session is not None:
        await session.kick("revoked")
    return json_response(_summary(await svc.store.get_interview(interview.id)))


@routes.get("/api/recordings/{rec_id}")
@operation(
    "Download or stream a recording (signed URL or bearer); supports Range",
    auth="staff_or_signed_url",
    query=SignedUrlQuery,
    response=bytes,
    media_type="video/webm",
    statuses=(206,),
)
async def get_recording(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    q = read_query(request, SignedUrlQuery)
    if q.exp is not None and q.sub is not None and q.sig is not None:
        if not check_signed_path(
            svc.settings.secret_key, request.path, q.exp, q.sub, q.sig, time.time()
        ):
            raise ApiError(403, "forbidden", "the recording link is invalid or has expired")
        rec = await svc.store.get_recording(request.match_info["rec_id"])
    else:
        rec = await recording_of(request, await staff_user(request, CAN_SEE_RECORDINGS))
    try:
        source = await svc.recordings.open(rec.path)
    except CryptoError:
        raise ApiError(500, "recording_unreadable", "the recording cannot be decrypted") from None
    except StorageUnavailable:
        raise ApiError(
            503, "recording_unavailable", "the recordings store cannot be reached; try again"
        ) from None
    if source is None:
        raise ApiError(404, "not_found", "recording file is missing")
    await svc.store.add_event(
        rec.interview_id,
        "",
        "recording_viewed",
        q.sub or "",
        {"recording": rec.id},
        ip=request.remote or "",
    )
    return await send_recording(
        request, source, {"Content-Type": "video/webm", "Cache-Control": "private, no-store"}
    )
