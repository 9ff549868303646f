"""Fuzz the HTTP API from its OpenAPI document (schemathesis), as an admin and anonymously.

Every operation of the generated document (``server.app.app.api_document``) gets schema-valid
and schema-invalid requests (bodies, query strings, path parameters, headers, multipart
uploads). The server must never answer 5xx, every 4xx must be ``{"error": "<code>", ...}``
JSON, responses must match the document (status codes, content types, headers, schemas), a
schema-invalid request must be refused and a schema-valid one accepted, except where a rule
lies beyond what a JSON Schema can state (``RULES_BEYOND_SCHEMA``).

Path parameters are swapped for ids that exist about half of the time (when the generated id
has an even length; shrinking goes there first), so the handlers behind the 404 are reached
too. Webhook URLs are pointed at a closed loopback port: nothing leaves the machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from loadtest.inprocess import make_job
from server.app.app import api_document
from server.domain.models import Role
from tests.support.fuzz_server import REQUEST_TIMEOUT_S, ServerThread, fuzz_settings
from tests.test_api import token_of

CONFIG = SchemathesisConfig.from_dict(
    {
        # the document has no examples and no links; the random phase is the fuzzer
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "generation": {"mode": "all"},  # schema-valid and schema-invalid requests
    }
)
SCHEMA = schemathesis.openapi.from_dict(api_document(), config=CONFIG)

ADMIN_EXAMPLES = 20
"""Per operation and generation mode (schema-valid, schema-invalid); 46 operations today."""
ANONYMOUS_EXAMPLES = 5

RULES_BEYOND_SCHEMA = {
    "POST /api/questions/import": "the file must be a CSV, JSON or XLSX question bank",
    "POST /api/jobs/{job_id}/invitations/bulk": "the file must be a CSV of candidates",
    "PUT /api/training/catalogue": "the file must be a CSV or JSON catalogue",
    "POST /api/jobs/{job_id}/resumes": "the files must be résumés (PDF, DOCX, TXT, zip)",
}
"""Uploads: what a file holds is beyond any schema (a generated file is rarely a question bank),
so a schema-valid upload may rightly get 422 and ``positive_data_acceptance`` skips them. Every
other operation agrees with its document both ways: a request the document allows is accepted,
or refused with 409 (it conflicts with stored data: a question not in the bank, an id that is
not an examiner's, a mode the organisation does not offer, ...) or 403 (the egress guard), which
the check counts as accepted (docs/api.md)."""
PUBLIC = frozenset({"GET /api/openapi.json", "POST /api/auth/login"})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]


@dataclass
class Api:
    admin: str
    candidate: str
    ids: dict[str, str]
    """Path parameter → an id that exists."""


@pytest.fixture(scope="module")
def api(fuzz_server: ServerThread) -> Api:
    admin = fuzz_server.add_staff("admin", Role.ADMIN)
    job = fuzz_server.run(make_job(fuzz_server.server, admin))

    def invite(name: str) -> dict[str, Any]:
        return dict(
            fuzz_server.call(
                "POST",
                f"/api/jobs/{job['id']}/invitations",
                token=admin,
                json={"name": name, "email": "ada@example.com"},
                expect=201,
            )
        )

    # staff operations may revoke or erase the first interview; the candidate's is another
    staff_side, candidate_side = invite("Ada"), invite("Grace")
    hook = fuzz_server.call(
        "POST", "/api/webhooks", token=admin, json={"url": "http://127.0.0.1:9/hook"}, expect=201
    )
    ids = {"job_id": job["id"], "interview_id": staff_side["interview_id"], "hook_id": hook["id"]}
    return Api(admin, token_of(candidate_side["url"]), ids)


def _existing_ids(case: Case, ids: dict[str, str]) -> None:
    params = dict(case.path_parameters or {})
    for name, value in params.items():
        if name in ids and len(str(value)) % 2 == 0:
            params[name] = ids[name]
    case.path_parameters = params


def _loopback_webhook(case: Case) -> None:
    """Keep the webhook dispatcher on loopback: any http(s) URL goes to a closed local port."""
    if case.operation.label != "POST /api/webhooks" or not isinstance(case.body, dict):
        return
    url = case.body.get("url")
    if not isinstance(url, str):
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.netloc:
        case.body = {**case.body, "url": urlunsplit(parts._replace(netloc="127.0.0.1:9"))}


def _with_token(case: Case, token: str | None) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    case.headers = headers


def _check_errors_are_json(response: Any) -> None:
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AssertionError(
                f"{response.status_code} is not JSON: {response.content[:200]!r}"
            ) from None
        assert isinstance(body, dict) and isinstance(body.get("error"), str), body


def _run(case: Case, base_url: str) -> Any:
    response = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
    checks = [
        c
        for c in CHECKS
        if c is not positive_data_acceptance or case.operation.label not in RULES_BEYOND_SCHEMA
    ]
    case.validate_response(response, checks=checks)
    _check_errors_are_json(response)
    return response


@SCHEMA.parametrize()
@fuzz_settings(ADMIN_EXAMPLES)
def test_api_as_admin(case: Case, fuzz_server: ServerThread, api: Api) -> None:
    """Staff operations with an admin token, candidate operations with an invitation token."""
    _existing_ids(case, api.ids)
    _loopback_webhook(case)
    candidate_op = case.operation.path.startswith("/api/candidate/")
    _with_token(case, api.candidate if candidate_op else api.admin)
    _run(case, fuzz_server.base_url)


@SCHEMA.parametrize()
@fuzz_settings(ANONYMOUS_EXAMPLES)
def test_api_anonymous(case: Case, fuzz_server: ServerThread, api: Api) -> None:
    """No token: nothing but the public operations answers 2xx."""
    _existing_ids(case, api.ids)
    _loopback_webhook(case)
    _with_token(case, None)
    response = _run(case, fuzz_server.base_url)
    if case.operation.label not in PUBLIC:
        assert response.status_code >= 400, f"{case.operation.label} answered without a token"
