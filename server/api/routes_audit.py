"""The audit log for admins: read it page by page, verify its hash chain, export it as CSV.

Every access to recordings, reports and exports (and every review, decision and account
change) is an event: who, what, when, from which address. Each event's hash covers the
previous event's hash, so changing or removing an event breaks the chain at that point.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from aiohttp import web

from server.api.contract import operation, read_query
from server.api.guards import audit_action, staff_user
from server.api.http import json_response, services
from server.api.schemas.common import AnyObject
from server.api.schemas.org import AuditPage
from server.api.schemas.queries import AuditQuery
from server.core.csvsafe import safe_cell
from server.domain.models import Role

routes = web.RouteTableDef()

ADMINS = frozenset({Role.ADMIN})
EXPORT_MAX_ROWS = 1_000_000


@routes.get("/api/audit")
@operation("Admin: audit events of the org, oldest first", query=AuditQuery, response=AuditPage)
async def audit(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMINS)
    query = read_query(request, AuditQuery)
    after, limit = query.after_id, query.limit
    events = await services(request).store.audit_events(user.org_id, after, limit)
    return json_response(
        {"events": events, "next_after_id": events[-1]["id"] if len(events) == limit else None}
    )


@routes.get("/api/audit/verify")
@operation("Admin: recompute the audit log's hash chain", response=AnyObject)
async def verify(request: web.Request) -> web.Response:
    await staff_user(request, ADMINS)
    return json_response(await services(request).store.verify_audit_chain())


@routes.get("/api/audit/export")
@operation(
    "Admin: the audit log as CSV (the export is audited)", response=str, media_type="text/csv"
)
async def export(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMINS)
    svc = services(request)
    events = await svc.store.audit_events(user.org_id, 0, EXPORT_MAX_ROWS)
    await audit_action(
        request,
        user,
        "audit_exported",
        {"rows": len(events)},
    )
    text = await asyncio.to_thread(_audit_csv, events)  # up to a million rows: not on the loop
    return web.Response(
        body=text.encode(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


def _audit_csv(events: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "at", "interview_id", "kind", "actor", "data", "prev_hash", "hash"])
    for e in events:
        data = json.dumps(e["data"], ensure_ascii=False, sort_keys=True)
        row = [e["id"], e["at"], e["interview_id"] or "", e["kind"], e["actor"], data]
        writer.writerow([safe_cell(v) for v in row] + [e["prev_hash"] or "", e["hash"] or ""])
    return "\ufeff" + buf.getvalue()
