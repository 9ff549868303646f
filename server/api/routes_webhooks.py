"""Admin endpoints for outgoing webhooks and their delivery log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.contract import operation, read_body
from server.api.guards import staff_user
from server.api.http import ApiError, json_response, services
from server.api.schemas.common import AnyObject
from server.api.schemas.org import Webhook, WebhookIn
from server.domain.models import Role
from server.outbound import webhooks
from server.security.netguard import NetGuard

routes = web.RouteTableDef()
ADMIN = frozenset({Role.ADMIN})


@routes.post("/api/webhooks")
@operation(
    "Add a webhook; requests are signed with HMAC-SHA256 (X-InterviewLive-Signature)",
    body=WebhookIn,
    response=Webhook,
    status=201,
    invalid=("invalid_webhook", "the webhook is invalid"),
    refusals=(
        (
            403,
            "The role may not manage webhooks (forbidden), or the URL's host is an internal "
            "address the server's egress policy does not allow (invalid_webhook, the reason "
            "in errors)",
        ),
    ),
)
async def create(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    guard = NetGuard.from_settings(services(request).settings)

    def problems(raw: dict[str, Any]) -> list[dict[str, Any]]:
        _, errors, refusals = webhooks.validate_hook(raw, guard)
        return errors + refusals

    body = await read_body(request, WebhookIn, also=problems)
    hook, errors, refusals = webhooks.validate_hook(body.model_dump(exclude_none=True), guard)
    if errors or refusals:
        status = 422 if errors else 403  # 403: a well-formed URL the egress guard refuses
        raise ApiError(status, "invalid_webhook", "the webhook is invalid", errors + refusals)
    created = await webhooks.create_hook(services(request), user.org_id, hook)
    return json_response(created, status=201)  # the secret is shown once, here


@routes.get("/api/webhooks")
@operation("Webhooks of the org (admin)", response=list[Webhook])
async def list_all(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    return json_response(await webhooks.list_hooks(services(request), user.org_id))


@routes.get("/api/webhooks/{hook_id}/deliveries")
@operation("Delivery log (status, attempts, last error)", response=list[AnyObject])
async def delivery_log(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    rows = await webhooks.deliveries(services(request), user.org_id, request.match_info["hook_id"])
    if rows is None:
        raise ApiError(404, "not_found", "webhook not found")
    return json_response(rows)


@routes.delete("/api/webhooks/{hook_id}")
@operation("Deactivate a webhook", response=AnyObject)
async def remove(request: web.Request) -> web.Response:
    user = await staff_user(request, ADMIN)
    if not await webhooks.deactivate(services(request), user.org_id, request.match_info["hook_id"]):
        raise ApiError(404, "not_found", "webhook not found")
    return json_response({"deleted": True})
