"""Reminders to candidates who have not finished: who is pending, queue reminders, the outbox
(the messages themselves: server/outbound/reminders.py)."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from server.api.contract import operation, read_body, read_query
from server.api.guards import job_of, staff_user
from server.api.http import json_response, services
from server.api.schemas.common import AnyObject
from server.api.schemas.interviews import RemindersIn
from server.api.schemas.queries import OutboxQuery
from server.core.csvsafe import safe_cell
from server.outbound import reminders
from server.security.access import CAN_MANAGE_JOBS

routes = web.RouteTableDef()
OUTBOX_CSV_COLUMNS = ("kind", "recipient", "subject", "body", "status", "created_at")


@routes.get("/api/jobs/{job_id}/pending")
@operation("Candidates who have not finished", response=list[AnyObject])
async def pending(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    rows = await services(request).store.list_interviews(job.id)
    return json_response(
        [
            {
                "interview_id": i.id,
                "name": i.candidate.get("name", ""),
                "email": i.candidate.get("email", ""),
                "status": i.status.value,
                "expires_at": i.expires_at,
            }
            for i in rows
            if reminders.is_pending(i)
        ]
    )


@routes.post("/api/jobs/{job_id}/reminders")
@operation(
    "Queue reminders (all pending, or the given interview_ids); webhook reminder.requested",
    body=RemindersIn,
    body_required=False,
    response=AnyObject,
    status=201,
    invalid=("invalid_reminder", "interview_ids must be a list of ids"),
)
async def remind(request: web.Request) -> web.Response:
    """Queue a reminder for the given pending interviews (all pending ones when omitted)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    body = await read_body(request, RemindersIn) if request.can_read_body else None
    wanted = None if body is None or body.interview_ids is None else set(body.interview_ids)
    queued = await reminders.remind(services(request), job, wanted)
    return json_response({"queued": len(queued), "reminders": queued}, status=201)


@routes.get("/api/jobs/{job_id}/reminders")
@operation(
    "Reminder outbox (JSON or ?format=csv)",
    query=OutboxQuery,
    response=list[AnyObject],
    also=("text/csv",),
)
async def outbox(request: web.Request) -> web.Response:
    """The reminder outbox of a job (JSON, or ``?format=csv`` for a mail-merge tool)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    job = await job_of(request, user)
    rows = await services(request).store.job_outbox(job.id)
    if read_query(request, OutboxQuery).format != "csv":
        return json_response(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=OUTBOX_CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows([{k: safe_cell(v) for k, v in row.items()} for row in rows])
    return web.Response(
        body=("\ufeff" + buf.getvalue()).encode(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="reminders.csv"'},
    )
