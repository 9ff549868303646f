"""Admin endpoints for outgoing webhooks and their delivery log."""

from __future__ import annotations

from aiohttp import web

from server.api.http import ApiError, json_response, read_object, services
from server.domain.models import Role
from server.outbound import webhooks
from server.security.access import staff_user
from server.security.netguard import NetGuard

routes = web.RouteTableDef()
ADMIN = frozenset({Role.ADMIN})


@routes.post("/api/webhooks")
async def create(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    guard = NetGuard.from_settings(services(request).settings)
    hook, errors = webhooks.validate_hook(await read_object(request), guard)
    if errors:
        raise ApiError(422, "invalid_webhook", "the webhook is invalid", errors)
    created = await webhooks.create_hook(services(request), user["org_id"], hook)
    return json_response(created, status=201)  # the secret is shown once, here


@routes.get("/api/webhooks")
async def list_all(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    return json_response(await webhooks.list_hooks(services(request), user["org_id"]))


@routes.get("/api/webhooks/{hook_id}/deliveries")
async def delivery_log(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    rows = await webhooks.deliveries(
        services(request), user["org_id"], request.match_info["hook_id"]
    )
    if rows is None:
        raise ApiError(404, "not_found", "webhook not found")
    return json_response(rows)


@routes.delete("/api/webhooks/{hook_id}")
async def remove(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    if not await webhooks.deactivate(
        services(request), user["org_id"], request.match_info["hook_id"]
    ):
        raise ApiError(404, "not_found", "webhook not found")
    return json_response({"deleted": True})
