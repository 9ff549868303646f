"""Candidates' data rights and retention (PIPL): export everything held about a candidate,
erase it on request, and delete recordings (and, if set, personal data) a fixed time after the
human decision. Every action is written to the audit log with what it removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from server.api.contract import operation, read_body
from server.api.guards import audit_action, interview_of, staff_user
from server.api.http import ApiError, json_response, services
from server.api.schemas.common import AnyObject
from server.api.schemas.org import OrgSettings, OrgSettingsIn
from server.core.services import Services
from server.domain.errors import field_error
from server.domain.interviews import Interview
from server.domain.models import ALTERNATIVE_MODES, Role, Status
from server.live.analysis import analysis_summary
from server.resumes.intake import RESUME_DIR
from server.storage.objects import StorageUnavailable

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

ADMINS = frozenset({Role.ADMIN})
DAY_S = 86_400.0
RETENTION_SWEEP_EVERY_S = 3600.0
RETENTION_KEYS = ("recordings_days", "personal_data_days")


@routes.get("/api/org/settings")
@operation(
    "Admin: the org's retention settings and alternative interview modes", response=OrgSettings
)
async def get_settings(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMINS)
    return json_response(await _settings(services(request), user.org_id))


async def _settings(svc: Services, org_id: str) -> dict[str, Any]:
    stored = await svc.store.org_settings(org_id)
    retention = stored.get("retention") or {}
    alternatives = stored.get("alternatives") or {}
    return {
        "retention": {k: retention.get(k) for k in RETENTION_KEYS},
        "alternatives": {m.value: alternatives.get(m.value) is True for m in ALTERNATIVE_MODES},
    }


@routes.put("/api/org/settings")
@operation(
    "Admin: set retention (days after the decision; null keeps) and/or which non-video"
    " modes candidates may choose",
    body=OrgSettingsIn,
    response=OrgSettings,
    invalid=("invalid", "organisation settings are invalid"),
)
async def put_settings(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMINS)
    body = await read_body(request, OrgSettingsIn)
    if not body.model_fields_set:
        raise ApiError(
            422,
            "invalid",
            "organisation settings are invalid",
            [field_error("", 'give "retention" and/or "alternatives"')],
        )
    retention = body.retention.model_dump(exclude_unset=True) if body.retention else None
    alternatives = (
        body.alternatives.model_dump(exclude_unset=True, exclude_none=True)
        if body.alternatives
        else None
    )
    svc = services(request)
    stored = await svc.store.org_settings(user.org_id)
    if retention is not None:
        stored["retention"] = {**(stored.get("retention") or {}), **retention}
    if alternatives is not None:
        stored["alternatives"] = {**(stored.get("alternatives") or {}), **alternatives}
    await svc.store.set_org_settings(user.org_id, stored)
    if retention is not None:
        await audit_action(request, user, "retention_changed", stored["retention"])
    if alternatives is not None:
        await audit_action(request, user, "interview_modes_changed", stored["alternatives"])
    return json_response(await _settings(svc, user.org_id))


@routes.get("/api/interviews/{interview_id}/personal-data")
@operation("Admin: everything held about the candidate (audited)", response=AnyObject)
async def export_personal_data(request: web.Request) -> web.Response:
    """Everything held about the candidate of one interview (PIPL right of access)."""
    user = await staff_user(request, ADMINS)
    interview, _job = await interview_of(request, user)
    svc = services(request)
    iid = interview.id
    events = await svc.store.analysis_events(iid)
    data = {
        "interview_id": iid,
        "job_id": interview.job_id,
        "candidate": interview.candidate,
        "status": interview.status.value,
        "consent": interview.consent,
        "device_check": interview.device_check,
        "answers": [
            {
                "idx": a.idx,
                "status": a.status,
                "started_at": a.started_at,
                "ended_at": a.ended_at,
                "scratchpad": a.scratchpad,
                "text_answer": a.text_answer,
            }
            for a in await svc.store.answers(iid)
        ],
        "analysis": await analysis_summary(svc, iid),
        "analysis_events": len(events),
        "reviews": await svc.store.reviews(iid),
        "decisions": await svc.store.decisions(iid),
        "recordings": [
            {"id": r.id, "duration_s": r.duration_s, "bytes": r.bytes, "created_at": r.created_at}
            for r in await svc.store.recordings(iid)
        ],
        "history": await svc.store.events(iid),
        "exported_at": time.time(),
    }
    await audit_action(request, user, "personal_data_exported", {}, interview_id=iid)
    return json_response(data)


@routes.delete("/api/interviews/{interview_id}/personal-data")
@operation(
    "Admin: erase the candidate's personal data; scores and decisions stay (audited)",
    response=AnyObject,
    refusals=((409, "The interview is running (in_progress)"),),
)
async def erase_personal_data(request: web.Request) -> web.Response:
    """Erase the candidate's personal data (PIPL right to deletion); scores and decisions stay."""
    user = await staff_user(request, ADMINS)
    interview, _job = await interview_of(request, user)
    svc = services(request)
    if interview.id in svc.sessions or interview.status == Status.IN_PROGRESS:
        raise ApiError(409, "in_progress", "the interview is running; erase it after it ends")
    try:
        summary = await erase(svc, interview, user.username, request.remote or "")
    except StorageUnavailable:
        raise ApiError(
            503,
            "recording_unavailable",
            "the recordings store cannot be reached; nothing was erased, try again",
        ) from None
    return json_response(summary)


async def erase(svc: Services, interview: Interview, actor: str, ip: str) -> dict[str, Any]:
    """The recordings go first: when their store cannot delete them, nothing is erased and
    the caller learns it (503), so no recording outlives the rows that name it."""
    files = [r.path for r in await svc.store.recordings(interview.id)]
    deleted = await svc.recordings.delete_interview(interview.id, files)
    summary: dict[str, Any] = dict(await svc.store.erase_personal_data(interview.id))
    summary["files_deleted"] = deleted
    await svc.store.add_event(
        interview.id, interview.org_id, "personal_data_erased", actor, summary, ip=ip
    )
    return summary


def _delete_files(paths: list[str], settings: Any, folder: str) -> int:
    """Delete stored files, only inside ``data_dir/folder``."""
    root = (settings.data_dir / folder).resolve()
    deleted = 0
    for stored in paths:
        path = Path(stored).resolve()
        if not path.is_relative_to(root):
            logger.error("not deleting %s: outside %s", path, root)
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted += 1
    return deleted


async def erase_resume(svc: Services, candidate_id: str) -> None:
    """Remove a résumé candidate's row and its encrypted original (inside the résumé folder
    only). The caller audits why."""
    path = await svc.candidates.erase(candidate_id)
    if path:
        await asyncio.to_thread(_delete_files, [path], svc.settings, RESUME_DIR)


async def sweep_retention(svc: Services, now_s: float | None = None) -> list[dict[str, Any]]:
    """Apply every org's retention: recordings N days after the decision, personal data M
    days after it (and résumés of candidates never invited M days after their last change).
    Returns (and audits) what was removed."""
    now_s = time.time() if now_s is None else now_s
    done: list[dict[str, Any]] = []
    for org in await svc.store.all_orgs():
        retention = (await svc.store.org_settings(org["id"])).get("retention") or {}
        days = retention.get("recordings_days")
        if days:
            for iid in await svc.store.decided_before(org["id"], now_s - days * DAY_S):
                listed = [r.path for r in await svc.store.recordings(iid)]
                if not listed:
                    continue
                # files first: a store that cannot delete them now leaves the rows for the
                # next sweep, so the files are never forgotten
                try:
                    files = await svc.recordings.delete_interview(iid, listed)
                except StorageUnavailable as exc:
                    logger.error("retention: recordings of %s kept for now: %s", iid, exc)
                    continue
                removed = await svc.store.delete_recordings(iid)
                record = {
                    "interview_id": iid,
                    "recordings_removed": len(removed),
                    "files_deleted": files,
                    "bytes": sum(r.bytes for r in removed),
                    "rule": f"recordings {days} days after the decision",
                }
                await svc.store.add_event(iid, org["id"], "retention_deleted", "system", record)
                done.append(record)
        days = retention.get("personal_data_days")
        if days:
            for iid in await svc.store.decided_before(org["id"], now_s - days * DAY_S):
                interview = await svc.store.get_interview(iid)
                if interview.erased_at:
                    continue
                try:
                    summary = await erase(svc, interview, "system", "")
                except StorageUnavailable as exc:
                    logger.error("retention: %s not erased for now: %s", iid, exc)
                    continue
                done.append({"interview_id": iid, **summary})
            for cid in await svc.candidates.not_invited_before(org["id"], now_s - days * DAY_S):
                await erase_resume(svc, cid)
                record = {"candidate_id": cid, "rule": f"résumés {days} days after the last change"}
                await svc.store.add_event(None, org["id"], "retention_deleted", "system", record)
                done.append(record)
    return done


async def retention_forever(svc: Services) -> None:
    while True:
        try:
            removed = await sweep_retention(svc)
            if removed:
                logger.info("retention: removed data of %d interviews", len(removed))
        except Exception:
            logger.exception("retention sweep failed; retrying later")
        await asyncio.sleep(RETENTION_SWEEP_EVERY_S)
