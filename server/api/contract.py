"""The contract of one HTTP operation, declared on its handler and used twice: to read the
request (bodies and query strings validated by pydantic models, errors in the API's one error
shape) and to generate the OpenAPI document (server/api/openapi.py).

    @routes.post("/api/jobs")
    @operation("Create a job", body=JobIn, response=Job, status=201)
    async def create_job(request: web.Request) -> web.Response:
        user = await staff_user(request)          # authorise first
        job = await read_body(request, JobIn)     # then read: 422 with every bad field
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.api.http import ApiError, read_text
from server.api.schemas.common import FieldError, field_errors

Auth = Literal["staff", "staff_or_signed_url", "candidate", "none"]
"""Who may call: a staff bearer token, that or a signed URL (recordings), the invitation's
token, anyone."""
OPERATION_ATTR = "__api_operation__"
M = TypeVar("M", bound=BaseModel)
H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


@dataclass(frozen=True, slots=True)
class Upload:
    """A ``multipart/form-data`` body: one file field (or several files under one name)."""

    field: str = "file"
    many: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Operation:
    """What one route promises: who may call it, what it reads and what it answers."""

    summary: str
    auth: Auth = "staff"
    body: type[BaseModel] | None = None
    body_required: bool = True
    upload: Upload | None = None
    raw_body: str | None = None
    """Media type of a raw (non-JSON) body, e.g. ``application/octet-stream``."""
    query: type[BaseModel] | None = None
    response: Any = None
    """A type pydantic can describe (a model, ``list[Model]``, ...); None: no body (204)."""
    status: int = 200
    media_type: str = "application/json"
    invalid: tuple[str, str] = ("invalid", "the request is invalid")
    """Error code and message of a 422 for a body that breaks ``body``."""
    statuses: tuple[int, ...] = ()
    """Further success statuses (e.g. 202 for an asynchronous answer), same content."""
    also: tuple[str, ...] = ()
    """Further media types of the success answer (a file: CSV, XLSX, HTML)."""
    refusals: tuple[tuple[int, str], ...] = ()
    """Client errors answered to a request the document allows, each ``(status, when)``: 409
    when it conflicts with stored data, 403 when a policy of the server refuses it."""


def operation(
    summary: str,
    *,
    auth: Auth = "staff",
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    upload: Upload | None = None,
    raw_body: str | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    media_type: str = "application/json",
    invalid: tuple[str, str] = ("invalid", "the request is invalid"),
    statuses: tuple[int, ...] = (),
    also: tuple[str, ...] = (),
    refusals: tuple[tuple[int, str], ...] = (),
) -> Callable[[H], H]:
    """Attach the operation's contract to its handler (the handler itself is unchanged)."""
    op = Operation(
        summary,
        auth,
        body,
        body_required,
        upload,
        raw_body,
        query,
        response,
        status,
        media_type,
        invalid,
        statuses,
        also,
        refusals,
    )

    def attach(handler: H) -> H:
        setattr(handler, OPERATION_ATTR, op)
        return handler

    return attach


def operation_of(handler: object) -> Operation | None:
    op = getattr(handler, OPERATION_ATTR, None)
    return op if isinstance(op, Operation) else None


def _declared(request: web.Request) -> Operation:
    op = operation_of(request.match_info.handler)
    if op is None:
        raise RuntimeError(f"{request.method} {request.path}: the handler has no @operation")
    return op


async def read_body(
    request: web.Request,
    model: type[M],
    also: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> M:
    """The JSON body as ``model`` (the one the route declares); 422 with every bad field.

    ``also``: rules beyond the model (cross-field, against stored data); when the body breaks
    the model, their problems with fields the model did not flag are listed too, so one
    answer names every problem."""
    op = _declared(request)
    if op.body is not model:
        raise RuntimeError(f"{request.path} declares {op.body}, the handler reads {model}")
    text = await read_text(request)
    try:
        return model.model_validate_json(text, strict=True)  # one parse on the happy path
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":  # bad JSON, a lone surrogate, absurd nesting
            message = f"request body is not valid JSON: {first['msg']}"
            raise ApiError(400, "bad_json", message) from None
        if first["type"] == "model_type" and first["loc"] == ():
            raise ApiError(400, "bad_json", "request body must be a JSON object") from None
        found = [e.to_dict() for e in field_errors(exc)]
        if also is not None:
            extra = also(json.loads(text))
            explained = {e["field"] for e in extra}
            # where a rule explains a value its pattern refused, the rule's words say more
            found = [
                f
                for f, e in zip(found, errors, strict=True)
                if e["type"] != "string_pattern_mismatch" or f["field"] not in explained
            ]
            flagged = {e["field"] for e in found}
            found += [e for e in extra if e["field"] not in flagged]
        code, message = op.invalid
        raise ApiError(422, code, message, found) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as ``model`` (the one the route declares); 400 when it breaks it
    (an empty value is a value: ``?limit=`` is not a number)."""
    op = _declared(request)
    if op.query is not model:
        raise RuntimeError(f"{request.path} declares {op.query}, the handler reads {model}")
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise ApiError(400, "bad_request", f"{repeated[0]}: give it once")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        first: FieldError = field_errors(exc)[0]
        raise ApiError(400, "bad_request", f"{first.field}: {first.message}") from None
