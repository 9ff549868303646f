"""Who is calling and what the path names: authenticate, load, authorise.

Every route calls one of these first. A record the caller may not reach answers like a
missing one (404 ``not_found``, "<what> not found") when it belongs to another org, so ids of
other orgs cannot be probed; inside the org, a job outside the caller's department or
assignment answers 403. The rules themselves are :mod:`server.security.access`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from aiohttp import web

from server.api.http import ApiError, services
from server.core.services import Services
from server.domain.answers import Recording
from server.domain.candidates import Candidate
from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import Role, StaffUser, Status
from server.interview.progress import publish_status
from server.security.access import STAFF_ROLES, can_see_job, invitation_matches, link_expired
from server.security.auth import parse_invitation_token, token_hash
from server.storage.store import NotFound

T = TypeVar("T")


class OfAJob(Protocol):
    """A record that belongs to one job of one org (an interview, a résumé candidate)."""

    @property
    def org_id(self) -> str: ...

    @property
    def job_id(self) -> str: ...


def bearer(request: web.Request, *, allow_query: bool = False) -> str | None:
    """The ``Authorization: Bearer`` token (or, where a socket cannot set headers, ``?token=``)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if allow_query:
        return request.query.get("token") or None
    return None


async def staff_user(
    request: web.Request, roles: frozenset[Role] = STAFF_ROLES, *, allow_query: bool = False
) -> StaffUser:
    """The logged-in staff user (401 without a live session), if their role is in ``roles``
    (403 otherwise)."""
    token = bearer(request, allow_query=allow_query)
    if token is None:
        raise ApiError(401, "unauthenticated", "log in first (Authorization: Bearer <token>)")
    user = await services(request).store.user_by_token(token_hash(token))
    if user is None:
        raise ApiError(401, "unauthenticated", "the session has expired; log in again")
    if user.role not in roles:
        raise ApiError(403, "forbidden", f"role {user.role} may not do this")
    return user


def check_origin(request: web.Request, socket: str) -> None:
    """403 ``bad_origin`` unless a browser opening ``socket`` comes from this server's own
    origin, its public URL's or an allowed one (no Origin header: not a browser)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    settings = services(request).settings
    own = f"{request.scheme}://{request.host}"
    public = _origin_of(settings.base_url)  # behind a TLS proxy the scheme differs
    if origin not in (own, public) and origin not in settings.allowed_origins:
        raise ApiError(403, "bad_origin", f"this origin may not open the {socket}")


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


async def candidate_interview(request: web.Request, *, allow_query: bool = False) -> Interview:
    """The interview named by a valid, unexpired, unrevoked invitation token (bad tokens are
    counted per address and answer 429 once too many)."""
    token = bearer(request, allow_query=allow_query)
    if token is None:
        raise ApiError(401, "no_token", "this page needs the invitation link's token")
    svc = services(request)
    address = request.remote or ""
    wait_s = await svc.limits.bad_tokens.blocked_for_s(address)
    if wait_s:
        raise ApiError(
            429,
            "too_many_attempts",
            "too many invalid links from this address; try again later",
            headers={"Retry-After": str(int(wait_s) + 1)},
        )
    claims = parse_invitation_token(svc.settings.secret_key, token)
    interview = None
    if claims is not None:
        with contextlib.suppress(NotFound):
            interview = await svc.store.get_interview(claims.interview_id)
    if interview is None or not invitation_matches(claims, interview):
        await svc.limits.bad_tokens.add(address)
        raise ApiError(401, "bad_token", "the invitation link is not valid")
    if interview.status is Status.REVOKED:
        raise ApiError(410, "revoked", "this invitation has been withdrawn")
    if link_expired(interview, time.time()):
        change = await svc.store.set_status(interview.id, Status.EXPIRED, "system")
        if change is not None:
            await publish_status(svc, change)
        raise ApiError(410, "expired", "this invitation has expired")
    return interview


async def audit_action(
    request: web.Request,
    user: StaffUser,
    kind: str,
    data: dict[str, Any],
    *,
    interview_id: str | None = None,
) -> None:
    """Append what ``user`` did (``kind``, ``data``) to their org's audit log, with the
    caller's address."""
    store = services(request).store
    await store.add_event(
        interview_id, user.org_id, kind, user.username, data, ip=request.remote or ""
    )


def check_job_access(user: StaffUser, job: Job, what: str = "job") -> None:
    """404 (as a missing ``what``) for another org's job; 403 for a job of the org that is
    not the user's to see."""
    if job.org_id != user.org_id:
        raise _not_found(what)
    if not can_see_job(user, job):
        raise ApiError(403, "forbidden", "this job is not yours to see (department or assignment)")


async def job_of(request: web.Request, user: StaffUser) -> Job:
    """The job ``{job_id}`` of the path, if ``user`` may see it."""
    job = await _found("job", services(request).store.get_job(request.match_info["job_id"]))
    check_job_access(user, job)
    return job


async def interview_of(request: web.Request, user: StaffUser) -> tuple[Interview, Job]:
    """The interview ``{interview_id}`` of the path and its job, if ``user`` may see the job."""
    svc = services(request)
    loading = svc.store.get_interview(request.match_info["interview_id"])
    interview = await _found("interview", loading)
    return interview, await _job_for(svc, user, interview, "interview")


async def candidate_of(request: web.Request, user: StaffUser) -> tuple[Candidate, Job]:
    """The résumé candidate ``{candidate_id}`` of the path and its job, if ``user`` may see
    the job."""
    svc = services(request)
    loading = svc.candidates.get(request.match_info["candidate_id"])
    candidate = await _found("candidate", loading)
    return candidate, await _job_for(svc, user, candidate, "candidate")


async def recording_of(request: web.Request, user: StaffUser) -> Recording:
    """The recording ``{rec_id}`` of the path, if ``user`` may see its interview's job."""
    svc = services(request)
    recording = await _found("recording", svc.store.get_recording(request.match_info["rec_id"]))
    interview = await _found("recording", svc.store.get_interview(recording.interview_id))
    await _job_for(svc, user, interview, "recording")
    return recording


async def _job_for(svc: Services, user: StaffUser, record: OfAJob, what: str) -> Job:
    """The job ``record`` (of the user's org) belongs to, if ``user`` may see it."""
    if record.org_id != user.org_id:
        raise _not_found(what)
    job = await _found(what, svc.store.get_job(record.job_id))
    check_job_access(user, job, what)
    return job


async def _found(what: str, loading: Awaitable[T]) -> T:
    try:
        return await loading
    except NotFound:
        raise _not_found(what) from None


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")
