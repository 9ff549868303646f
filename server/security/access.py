"""Access rules: role sets, who sees which job, and whether an invitation link is good.

Pure functions of users, jobs, interviews and token claims; the request handling that applies
them is :mod:`server.api.guards`.
"""

from __future__ import annotations

from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import Role, StaffUser, Status
from server.security.auth import InvitationClaims, same_text

STAFF_ROLES = frozenset(Role)
EXPIRABLE = frozenset({Status.INVITED, Status.OPENED, Status.CONSENTED, Status.DEVICE_CHECKED})
CAN_MANAGE_JOBS = frozenset({Role.ADMIN, Role.HR})
CAN_SEE_RECORDINGS = frozenset({Role.ADMIN, Role.EXAMINER, Role.DEPARTMENT_VIEWER})


def can_see_job(user: StaffUser, job: Job) -> bool:
    """Admin and HR see every job of their org; examiners the jobs they are assigned to;
    department viewers their department's."""
    if job.org_id != user.org_id:
        return False
    if user.role == Role.DEPARTMENT_VIEWER:
        return job.department == user.department
    if user.role == Role.EXAMINER:
        return user.id in (job.examiners or ())
    return True


def invitation_matches(claims: InvitationClaims | None, interview: Interview) -> bool:
    """The token's claims name this interview's current nonce and expiry (a new link, or a
    changed expiry, makes every older link invalid)."""
    return (
        claims is not None
        and same_text(interview.nonce, claims.nonce)
        and claims.expires_at == int(interview.expires_at)
    )


def link_expired(interview: Interview, now_s: float) -> bool:
    """The link's expiry has passed and the interview is not under way (one under way may
    finish after its link's expiry)."""
    return interview.expires_at < now_s and interview.status in EXPIRABLE
