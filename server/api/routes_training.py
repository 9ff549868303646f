"""The org's training catalogue (import and list); reports recommend from it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.api.contract import Upload, operation
from server.api.guards import audit_action, staff_user
from server.api.http import ApiError, json_response, read_upload, services
from server.api.schemas.common import AnyObject
from server.core.services import Services
from server.hiring.training import parse_catalogue
from server.security.access import CAN_MANAGE_JOBS

routes = web.RouteTableDef()


async def training_catalogue(svc: Services, org_id: str) -> list[dict[str, Any]]:
    return await svc.store.training_catalogue(org_id)


@routes.get("/api/training/catalogue")
@operation("The org's training catalogue", response=list[AnyObject])
async def get_catalogue(request: web.Request) -> web.Response:
    user = await staff_user(request, CAN_MANAGE_JOBS)
    return json_response(await training_catalogue(services(request), user.org_id))


@routes.put("/api/training/catalogue")
@operation(
    "Replace the training catalogue from a CSV or JSON file (course, competency, level,"
    " link, description); all or nothing",
    upload=Upload(),
    response=AnyObject,
)
async def put_catalogue(request: web.Request) -> web.Response:
    """Replace the catalogue with an uploaded CSV or JSON file (all or nothing)."""
    user = await staff_user(request, CAN_MANAGE_JOBS)
    filename, content = await read_upload(request)
    courses, errors = await asyncio.to_thread(parse_catalogue, filename, content)
    if errors:
        raise ApiError(
            422, "invalid_catalogue", f"{len(errors)} problem(s); nothing was changed", errors
        )
    svc = services(request)
    org_id = user.org_id
    await svc.store.replace_training_catalogue(org_id, courses)
    await audit_action(
        request,
        user,
        "training_catalogue_changed",
        {"courses": len(courses)},
    )
    return json_response({"courses": len(courses)})
