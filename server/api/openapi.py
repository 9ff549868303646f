"""The OpenAPI 3.1 document served at ``/api/openapi.json``, generated from the route table and
the ``@operation`` contracts (server/api/contract.py) with their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.api.contract import Operation, operation, operation_of
from server.api.http import json_response
from server.api.schemas.common import AnyObject, Error

routes = web.RouteTableDef()

REF_TEMPLATE = "#/components/schemas/{model}"
OPENAPI_DOC_KEY: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "staff": [{"staff": []}],
    "staff_or_signed_url": [{"staff": []}, {"signedUrl": []}],
    "candidate": [{"invitation": []}],
    "none": [],
}
_PATH_PARAM = re.compile(r"\{([^}:]+)")


class _Schemas:
    """Collects the components every generated schema refers to."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def of(self, tp: Any, mode: str = "validation") -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template=REF_TEMPLATE, mode=mode)  # type: ignore[arg-type]
        self.components.update(schema.pop("$defs", {}))
        if isinstance(tp, type) and issubclass(tp, BaseModel) and "title" in schema:
            # a model becomes a named component, referred to by name
            name = tp.__name__
            self.components[name] = schema
            return {"$ref": REF_TEMPLATE.format(model=name)}
        return schema


def _request_body(op: Operation, schemas: _Schemas) -> dict[str, Any] | None:
    if op.body is not None:
        return {
            "required": op.body_required,
            "content": {"application/json": {"schema": schemas.of(op.body)}},
        }
    if op.upload is not None:
        file = {"type": "string", "format": "binary"}
        prop = {"type": "array", "items": file, "minItems": 1} if op.upload.many else file
        form: dict[str, Any] = {
            "type": "object",
            "properties": {op.upload.field: prop},
            "required": [op.upload.field],
            "additionalProperties": False,
        }
        if op.upload.description:
            form["description"] = op.upload.description
        return {"required": True, "content": {"multipart/form-data": {"schema": form}}}
    if op.raw_body is not None:
        raw = {"type": "string", "format": "binary"}
        return {"required": True, "content": {op.raw_body: {"schema": raw}}}
    return None


def _responses(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in (op.status, *op.statuses):
        if op.response is None:
            out[str(status)] = {"description": "No content"}
            continue
        content: dict[str, Any] = {}
        for media_type in (op.media_type, *op.also):
            if media_type == "application/json":
                schema = schemas.of(op.response, mode="serialization")
            else:
                schema = {"type": "string", "format": "binary"}
            content[media_type] = {"schema": schema}
        out[str(status)] = {"description": "OK", "content": content}
    error = {"application/json": {"schema": schemas.of(Error, mode="serialization")}}
    for status, when in op.refusals:
        out[str(status)] = {"description": when, "content": error}
    out["4XX"] = {"description": "Client error", "content": error}
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` as ``X`` (keeping default and description)."""
    options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if "anyOf" not in schema or len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if rest.get("default", 0) is None:
        del rest["default"]
    return {**options[0], **rest}


def _parameters(path: str, op: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(path)
    ]
    if op.query is not None:
        schema = TypeAdapter(op.query).json_schema(ref_template=REF_TEMPLATE)
        schemas.components.update(schema.pop("$defs", {}))
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            prop = _without_null(prop)  # a query string has no JSON null: absent is None
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop.pop("description")
            params.append(param)
    return params


def _operation(path: str, op: Operation, schemas: _Schemas) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "security": SECURITY[op.auth]}
    params = _parameters(path, op, schemas)
    if params:
        doc["parameters"] = params
    body = _request_body(op, schemas)
    if body is not None:
        doc["requestBody"] = body
    doc["responses"] = _responses(op, schemas)
    return doc


def api_operations(app_routes: Iterable[web.AbstractRoute]) -> list[tuple[str, str, Operation]]:
    """``(method, path, operation)`` of every ``/api/`` route; an undeclared one is an error."""
    out = []
    for route in app_routes:
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or not path.startswith("/api/") or route.method in ("HEAD", "OPTIONS"):
            continue
        op = operation_of(route.handler)
        if op is None:
            raise LookupError(f"{route.method} {path} has no @operation contract")
        out.append((route.method, path, op))
    return out


def build_document(app_routes: Iterable[web.AbstractRoute]) -> dict[str, Any]:
    """The OpenAPI document of the ``/api/`` routes among ``app_routes``."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in sorted(api_operations(app_routes), key=lambda m: (m[1], m[0])):
        paths.setdefault(path, {})[method.lower()] = _operation(path, op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Interview Live API",
            "version": "1",
            "description": "Staff and candidate REST API. Live sockets: /ws (staff), "
            "/ws/candidate.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "staff": {"type": "http", "scheme": "bearer"},
                "invitation": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token from the invitation link",
                },
                "signedUrl": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "sig",
                    "description": "A recording URL the API signed (with its exp and sub)",
                },
            },
        },
    }


@routes.get("/api/openapi.json")
@operation("This document", auth="none", response=AnyObject)
async def openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI_DOC_KEY])
