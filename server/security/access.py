"""Who is calling: staff bearer tokens, candidate invitation tokens, and role checks."""

from __future__ import annotations

import contextlib
import hmac
import time
from typing import Any

from aiohttp import web

from server.api.http import ApiError, services
from server.domain.models import Role, Status
from server.security.auth import parse_invitation_token, token_hash
from server.storage.store import NotFound

STAFF_ROLES = frozenset(Role)
EXPIRABLE = frozenset({Status.INVITED, Status.OPENED, Status.CONSENTED, Status.DEVICE_CHECKED})
CAN_MANAGE_JOBS = frozenset({Role.ADMIN, Role.HR})
CAN_SEE_RECORDINGS = frozenset({Role.ADMIN, Role.EXAMINER, Role.DEPARTMENT_VIEWER})


def bearer(request: web.Request, *, allow_query: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if allow_query:
        return request.query.get("token") or None
    return None


async def staff_user(
    request: web.Request, roles: frozenset[Role] = STAFF_ROLES, *, allow_query: bool = False
) -> dict[str, Any]:
    token = bearer(request, allow_query=allow_query)
    if token is None:
        raise ApiError(401, "unauthenticated", "log in first (Authorization: Bearer <token>)")
    user = await services(request).store.user_by_token(token_hash(token))
    if user is None:
        raise ApiError(401, "unauthenticated", "the session has expired; log in again")
    if Role(user["role"]) not in roles:
        raise ApiError(403, "forbidden", f"role {user['role']} may not do this")
    return user


def can_see_job(user: dict[str, Any], job: dict[str, Any]) -> bool:
    """Admin and HR see every job of their org; examiners the jobs they are assigned to;
    department viewers their department's."""
    if job["org_id"] != user["org_id"]:
        return False
    if user["role"] == Role.DEPARTMENT_VIEWER:
        return bool(job["department"] == user["department"])
    if user["role"] == Role.EXAMINER:
        return user["id"] in (job.get("examiners") or [])
    return True


def check_job_access(user: dict[str, Any], job: dict[str, Any]) -> None:
    if job["org_id"] != user["org_id"]:
        raise ApiError(404, "not_found", f"job {job['id']} not found")
    if not can_see_job(user, job):
        raise ApiError(403, "forbidden", "this job is not yours to see (department or assignment)")


async def job_for(request: web.Request, user: dict[str, Any]) -> dict[str, Any]:
    try:
        job = await services(request).store.get_job(request.match_info["job_id"])
    except NotFound:
        raise ApiError(404, "not_found", "job not found") from None
    check_job_access(user, job)
    return job


async def candidate_interview(request: web.Request, *, allow_query: bool = False) -> dict[str, Any]:
    """The interview named by a valid, unexpired, unrevoked invitation token."""
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
    if (
        claims is None
        or interview is None
        or not hmac.compare_digest(interview["nonce"], claims.nonce)
        or claims.expires_at != int(interview["expires_at"])
    ):
        await svc.limits.bad_tokens.add(address)
        raise ApiError(401, "bad_token", "the invitation link is not valid")
    status = Status(interview["status"])
    if status is Status.REVOKED:
        raise ApiError(410, "revoked", "this invitation has been withdrawn")
    # An interview already under way may finish after its link's expiry.
    if interview["expires_at"] < time.time() and status in EXPIRABLE:
        if status is not Status.EXPIRED:
            change = await svc.store.set_status(interview["id"], Status.EXPIRED, "system")
            if change is not None:
                from server.interview.progress import publish_status

                await publish_status(svc, change)
        raise ApiError(410, "expired", "this invitation has expired")
    return interview
