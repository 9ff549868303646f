"""The shape of the generated OpenAPI document (server/api/openapi.py): every operation says
who may call it, what it reads and what it answers, in plain JSON Schema."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app.app import api_document

PYDANTIC_ONLY_KEYWORDS = frozenset({"ge", "le", "gt", "lt", "multiple_of"})
"""Constraint names pydantic writes when it cannot map them (JSON Schema ignores them)."""
BODY_METHODS = ("post", "put", "patch")
OPERATIONS_WITHOUT_BODY = frozenset(
    {
        "POST /api/interviews/{interview_id}/revoke",
        "POST /api/candidates/{candidate_id}/invite",
    }
)

DOCUMENT = api_document()
OPERATIONS = [
    (f"{method.upper()} {path}", op)
    for path, ops in DOCUMENT["paths"].items()
    for method, op in ops.items()
]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_document_is_openapi_3_1_with_every_reference_resolved() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    components = DOCUMENT["components"]["schemas"]
    refs = {n["$ref"] for n in _walk(DOCUMENT) if isinstance(n.get("$ref"), str)}
    assert refs, "no component is referred to"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref


def test_schemas_use_json_schema_keywords_only() -> None:
    for name, schema in DOCUMENT["components"]["schemas"].items():
        for node in _walk(schema):
            if node.get("type") in ("integer", "number"):
                assert not PYDANTIC_ONLY_KEYWORDS & node.keys(), (name, node)


@pytest.mark.parametrize(("label", "op"), OPERATIONS, ids=[label for label, _ in OPERATIONS])
def test_every_operation_states_caller_request_and_answers(label: str, op: dict[str, Any]) -> None:
    assert op["summary"].strip(), label
    assert isinstance(op["security"], list), label
    responses = op["responses"]
    success = [s for s in responses if s.startswith("2")]
    assert success, label
    for status in success:
        if status == "204":
            assert "content" not in responses[status], label
            continue
        for media_type, content in responses[status]["content"].items():
            assert content["schema"], (label, media_type)
    error = responses["4XX"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}, label
    method = label.split()[0].lower()
    if method in BODY_METHODS and label not in OPERATIONS_WITHOUT_BODY:
        body = op["requestBody"]["content"]
        assert len(body) == 1 and next(iter(body.values()))["schema"], label
    else:
        assert "requestBody" not in op, label


def test_json_bodies_name_their_model() -> None:
    """A JSON request body is a named component, so clients generate one type per body."""
    for label, op in OPERATIONS:
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            assert "$ref" in content["application/json"]["schema"], label


def _handlers_answering(status: int) -> Iterator[tuple[str, ast.Call]]:
    """Each ``@operation`` handler of ``server/api`` that raises ``ApiError(status, ...)`` itself,
    with its ``@operation(...)`` call."""
    for path in sorted((Path(__file__).parents[1] / "server" / "api").glob("routes_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.AsyncFunctionDef):
                continue
            contract = next(
                (
                    d
                    for d in node.decorator_list
                    if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "operation"
                ),
                None,
            )
            raises = any(
                isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "ApiError"
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value == status
                for call in ast.walk(node)
            )
            if contract is not None and raises:
                yield f"{path.name}:{node.name}", contract


def test_every_conflict_a_handler_answers_is_declared() -> None:
    # a request the document allows that conflicts with stored data is a 409, listed in the
    # operation's responses (so a client generated from the document knows it)
    found = list(_handlers_answering(409))
    assert len(found) >= 8, found
    for where, contract in found:
        refusals = next((k.value for k in contract.keywords if k.arg == "refusals"), None)
        assert refusals is not None and "409" in ast.unparse(refusals), where


def test_declared_refusals_answer_the_error_shape() -> None:
    declared = {
        (label, status)
        for label, op in OPERATIONS
        for status in op["responses"]
        if status in ("403", "409")
    }
    assert ("POST /api/candidates/{candidate_id}/invite", "409") in declared
    assert ("POST /api/jobs", "409") in declared
    assert ("POST /api/webhooks", "403") in declared
    for label, status in declared:
        response = dict(OPERATIONS)[label]["responses"][status]
        assert response["description"].strip(), label
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, label
