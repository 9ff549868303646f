"""The OpenAPI 3 document served at ``/api/openapi.json``.

A test checks that every ``/api`` route of the app is described here and vice versa.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.http import json_response

routes = web.RouteTableDef()

_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _arr(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


LOCALIZED = {"type": "object", "properties": {"zh": _STR, "en": _STR}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": _STR,
            "message": _STR,
            "errors": _arr(
                {
                    "type": "object",
                    "properties": {
                        "row": {"type": ["integer", "null"]},
                        "field": _STR,
                        "message": _STR,
                    },
                }
            ),
        },
    },
    "Localized": LOCALIZED,
    "Question": {
        "type": "object",
        "required": ["section", "text", "competencies", "rubric", "prep_s", "answer_s", "media"],
        "properties": {
            "id": _STR,
            "section": {"enum": ["self_intro", "structured", "professional"]},
            "text": LOCALIZED,
            "competencies": _arr(_STR),
            "rubric": _arr(
                {
                    "type": "object",
                    "properties": {"zh": _STR, "en": _STR, "keywords": _OBJ},
                }
            ),
            "prep_s": _INT,
            "answer_s": _INT,
            "media": {"enum": ["video", "audio", "text"]},
            "tags": _arr(_STR),
            "builtin": _BOOL,
        },
    },
    "JobIn": {
        "type": "object",
        "required": ["title", "department", "competencies", "plan"],
        "properties": {
            "title": _STR,
            "department": _STR,
            "description": _STR,
            "language": {"enum": ["zh-CN", "en"]},
            "answer_languages": {
                "type": "array",
                "items": {"enum": ["zh", "en"]},
                "description": "Languages answers may be given in besides the interview's "
                "own; each utterance is transcribed in the one identified",
            },
            "competencies": _arr(
                {
                    "type": "object",
                    "required": ["id", "weight"],
                    "properties": {"id": _STR, "name": LOCALIZED, "weight": _NUM},
                }
            ),
            "plan": _arr(
                {
                    "type": "object",
                    "required": ["section", "questions"],
                    "properties": {
                        "section": {"enum": ["self_intro", "structured", "professional"]},
                        "questions": _arr(_STR),
                    },
                }
            ),
        },
    },
    "Job": {
        "allOf": [
            _ref("JobIn"),
            {
                "type": "object",
                "properties": {
                    "id": _STR,
                    "org_id": _STR,
                    "counts": {"type": "object", "additionalProperties": _INT},
                    "created_at": _NUM,
                    "updated_at": _NUM,
                },
            },
        ]
    },
    "InvitationIn": {
        "type": "object",
        "required": ["name", "email"],
        "properties": {
            "name": _STR,
            "email": _STR,
            "phone": _STR,
            "language": {"enum": ["zh-CN", "en"]},
            "expires_in_hours": _INT,
        },
    },
    "Invitation": {
        "type": "object",
        "required": ["interview_id", "url", "expires_at"],
        "properties": {
            "interview_id": _STR,
            "url": _STR,
            "expires_at": _INT,
            "name": _STR,
            "email": _STR,
        },
    },
    "Candidate": {
        "type": "object",
        "properties": {
            "candidate_id": _STR,
            "job_id": _STR,
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "education": _arr(_OBJ),
            "highest_degree": {"type": ["string", "null"]},
            "experience": _arr(_OBJ),
            "experience_years": _NUM,
            "skills": _arr(_STR),
            "certificates": _arr(_STR),
            "sources": _OBJ,
            "match": {
                "type": "object",
                "properties": {"score": _NUM, "eligible": _BOOL, "criteria": _arr(_OBJ)},
            },
            "status": {"enum": ["waiting", "inviting", "invited", "not_selected"]},
            "interview_id": {"type": ["string", "null"]},
        },
    },
    "ResumeBatch": {
        "type": "object",
        "properties": {
            "batch_id": _STR,
            "candidates": _arr(_ref("Candidate")),
            "errors": _arr(
                {
                    "type": "object",
                    "properties": {"file": _STR, "error": _STR, "message": _STR},
                }
            ),
        },
    },
    "InterviewSummary": {
        "type": "object",
        "properties": {
            "interview_id": _STR,
            "job_id": _STR,
            "status": {
                "enum": [
                    "invited",
                    "opened",
                    "consented",
                    "device_checked",
                    "in_progress",
                    "completed",
                    "declined",
                    "expired",
                    "revoked",
                ]
            },
            "name": _STR,
            "email": _STR,
            "language": _STR,
            "mode": {"enum": ["video", "audio", "text", None]},
            "expires_at": _NUM,
            "created_at": _NUM,
            "updated_at": _NUM,
        },
    },
    "Interview": {
        "allOf": [
            _ref("InterviewSummary"),
            {
                "type": "object",
                "properties": {
                    "questions_total": _INT,
                    "live": _BOOL,
                    "current": {"type": ["object", "null"]},
                    "consent": {"type": ["object", "null"]},
                    "device_check": {"type": ["object", "null"]},
                    "answers": _arr(
                        {
                            "type": "object",
                            "properties": {
                                "index": _INT,
                                "answer_id": _STR,
                                "section": _STR,
                                "question": LOCALIZED,
                                "status": _STR,
                                "started_at": {"type": ["number", "null"]},
                                "ended_at": {"type": ["number", "null"]},
                                "answer_used_s": _NUM,
                                "scratchpad": _STR,
                                "text_answer": _STR,
                                "recordings": _arr(_OBJ),
                                "recording_urls": {
                                    **_arr(_STR),
                                    "description": "Only for roles allowed to see video",
                                },
                            },
                        }
                    ),
                },
            },
        ]
    },
}


def _op(
    summary: str,
    *,
    body: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    status: int = 200,
    auth: str = "staff",
    params: tuple[str, ...] = (),
    query: tuple[str, ...] = (),
    content_type: str = "application/json",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(status): {
                "description": "OK",
                "content": {"application/json": {"schema": response or _OBJ}},
            },
            "4XX": {
                "description": "Client error",
                "content": {"application/json": {"schema": _ref("Error")}},
            },
        },
    }
    if auth == "staff":
        op["security"] = [{"staff": []}]
    elif auth == "candidate":
        op["security"] = [{"invitation": []}]
    else:
        op["security"] = []
    parameters = [{"name": p, "in": "path", "required": True, "schema": _STR} for p in params]
    parameters += [{"name": q, "in": "query", "required": False, "schema": _STR} for q in query]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {content_type: {"schema": body}}}
    return op


def _no_content(op: dict[str, Any]) -> dict[str, Any]:
    """``op`` answering 204 without a body on success (errors as usual)."""
    responses = {k: v for k, v in op["responses"].items() if not k.startswith("2")}
    return {**op, "responses": {"204": {"description": "No content"}, **responses}}


def _csv_op(summary: str) -> dict[str, Any]:
    op = _op(summary)
    op["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    return op


_UPLOAD = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary"}},
    "required": ["file"],
}

PATHS: dict[str, dict[str, Any]] = {
    "/api/audit": {
        "get": _op("Admin: audit events of the org, oldest first", query=("after_id", "limit"))
    },
    "/api/audit/verify": {"get": _op("Admin: recompute the audit log's hash chain")},
    "/api/audit/export": {"get": _csv_op("Admin: the audit log as CSV (the export is audited)")},
    "/api/org/settings": {
        "get": _op("Admin: the org's retention settings and alternative interview modes"),
        "put": _op(
            "Admin: set retention (days after the decision; null keeps) and/or which non-video"
            " modes candidates may choose",
            body={
                "type": "object",
                "properties": {
                    "retention": {
                        "type": "object",
                        "properties": {
                            "recordings_days": {"type": ["integer", "null"]},
                            "personal_data_days": {"type": ["integer", "null"]},
                        },
                    },
                    "alternatives": {
                        "type": "object",
                        "properties": {"audio": _BOOL, "text": _BOOL},
                    },
                },
            },
        ),
    },
    "/api/interviews/{interview_id}/personal-data": {
        "get": _op(
            "Admin: everything held about the candidate (audited)", params=("interview_id",)
        ),
        "delete": _op(
            "Admin: erase the candidate's personal data; scores and decisions stay (audited)",
            params=("interview_id",),
        ),
    },
    "/api/openapi.json": {"get": _op("This document", auth="none")},
    "/api/auth/login": {
        "post": _op(
            "Log in; returns a bearer token",
            auth="none",
            body={
                "type": "object",
                "required": ["username", "password"],
                "properties": {"username": _STR, "password": _STR},
            },
        )
    },
    "/api/me": {"get": _op("The logged-in staff user")},
    "/api/competencies": {"get": _op("Competency catalogue", response=_arr(_OBJ))},
    "/api/questions": {
        "get": _op(
            "Question bank (built-in + own)",
            response=_arr(_ref("Question")),
            query=("section", "competency", "q"),
        ),
        "post": _op(
            "Add one question", body=_ref("Question"), response=_ref("Question"), status=201
        ),
    },
    "/api/questions/import": {
        "post": _op(
            "Import questions from CSV, JSON or XLSX (all or nothing)",
            body=_UPLOAD,
            content_type="multipart/form-data",
            status=201,
        )
    },
    "/api/jobs/analyze": {
        "post": _op(
            "Suggest competencies, weights and questions from a job description",
            body={
                "type": "object",
                "required": ["description"],
                "properties": {"description": _STR},
            },
        )
    },
    "/api/jobs": {
        "get": _op("Jobs with status counts", response=_arr(_ref("Job"))),
        "post": _op("Create a job", body=_ref("JobIn"), response=_ref("Job"), status=201),
    },
    "/api/jobs/{job_id}": {"get": _op("One job", response=_ref("Job"), params=("job_id",))},
    "/api/jobs/{job_id}/examiners": {
        "put": _op(
            "Assign examiners to a job (user ids of examiners)",
            body={
                "type": "object",
                "required": ["examiners"],
                "properties": {"examiners": _arr(_STR)},
            },
            response=_ref("Job"),
            params=("job_id",),
        )
    },
    "/api/users": {
        "get": _op(
            "Staff of the organisation (?role=examiner)", query=("role",), response=_arr(_OBJ)
        ),
        "post": _op(
            "Create a staff account (admin)",
            body={
                "type": "object",
                "required": ["username", "password", "role"],
                "properties": {
                    "username": _STR,
                    "password": _STR,
                    "role": _STR,
                    "department": _STR,
                },
            },
            status=201,
        ),
    },
    "/api/jobs/{job_id}/interviews": {
        "get": _op(
            "Interviews of a job", response=_arr(_ref("InterviewSummary")), params=("job_id",)
        )
    },
    "/api/jobs/{job_id}/invitations": {
        "post": _op(
            "Invite one candidate",
            body=_ref("InvitationIn"),
            response=_ref("Invitation"),
            status=201,
            params=("job_id",),
        )
    },
    "/api/jobs/{job_id}/invitations/bulk": {
        "post": _op(
            "Invite candidates from a CSV (name,email,phone,language); all or nothing",
            body=_UPLOAD,
            content_type="multipart/form-data",
            status=201,
            params=("job_id",),
        )
    },
    "/api/training/catalogue": {
        "get": _op("The org's training catalogue", response=_arr(_OBJ)),
        "put": _op(
            "Replace the training catalogue from a CSV or JSON file (course, competency, level,"
            " link, description); all or nothing",
            body=_UPLOAD,
            content_type="multipart/form-data",
        ),
    },
    "/api/jobs/{job_id}/resumes": {
        "post": _op(
            "Upload résumés (PDF, DOCX, TXT; several files or a zip): parsed, screened, stored;"
            " those above the job's threshold are invited. Prefer: respond-async → 202 + batch",
            body={
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            },
            content_type="multipart/form-data",
            response=_ref("ResumeBatch"),
            status=201,
            params=("job_id",),
        )
    },
    "/api/jobs/{job_id}/resume-batches/{batch_id}": {
        "get": _op(
            "Progress and result of a résumé upload",
            response=_ref("ResumeBatch"),
            params=("job_id", "batch_id"),
        )
    },
    "/api/jobs/{job_id}/candidates": {
        "get": _op(
            "Résumé candidates of a job, best match first (limit ≤ 1000, offset;"
            " header X-Total-Count)",
            response=_arr(_ref("Candidate")),
            params=("job_id",),
            query=("limit", "offset"),
        )
    },
    "/api/jobs/{job_id}/screening": {
        "get": _op("The job's screening requirements and follow-up settings", params=("job_id",)),
        "put": _op(
            "Set requirements and follow-ups; every candidate is matched again and waiting ones"
            " above the threshold are invited",
            body={
                "type": "object",
                "properties": {
                    "requirements": {
                        "type": "object",
                        "properties": {
                            "min_degree": {
                                "enum": [
                                    "high_school",
                                    "associate",
                                    "bachelor",
                                    "master",
                                    "doctor",
                                    None,
                                ]
                            },
                            "min_years": {"type": ["number", "null"]},
                            "required_skills": _arr(_STR),
                            "required_certificates": _arr(_STR),
                            "nice_to_have": _arr(_OBJ),
                            "auto_invite_threshold": {"type": ["number", "null"]},
                        },
                    },
                    "followups": {
                        "type": "object",
                        "properties": {"count": {"type": "integer"}, "in_ranking": _BOOL},
                    },
                },
            },
            params=("job_id",),
        ),
    },
    "/api/candidates/{candidate_id}": {
        "get": _op("One résumé candidate", response=_ref("Candidate"), params=("candidate_id",)),
        "delete": _no_content(
            _op("Admin: erase the candidate's résumé and profile", params=("candidate_id",))
        ),
    },
    "/api/candidates/{candidate_id}/resume": {
        "get": {
            **_op("The original résumé file (audited)", params=("candidate_id",)),
            "responses": {
                "200": {
                    "description": "the file",
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
                "4XX": {
                    "description": "Client error",
                    "content": {"application/json": {"schema": _ref("Error")}},
                },
            },
        }
    },
    "/api/candidates/{candidate_id}/invite": {
        "post": _op(
            "A person invites the candidate (any score)",
            response=_ref("Candidate"),
            status=201,
            params=("candidate_id",),
        )
    },
    "/api/candidates/{candidate_id}/status": {
        "put": _op(
            "A person's screening decision (waiting or not_selected; audited)",
            body={
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"enum": ["waiting", "not_selected"]}},
            },
            response=_ref("Candidate"),
            params=("candidate_id",),
        )
    },
    "/api/interviews/{interview_id}": {
        "get": _op("Interview with answers", response=_ref("Interview"), params=("interview_id",))
    },
    "/api/interviews/{interview_id}/revoke": {
        "post": _op(
            "Revoke the invitation", response=_ref("InterviewSummary"), params=("interview_id",)
        )
    },
    "/api/interviews/{interview_id}/reviews": {
        "post": _op(
            "Override one dimension score (human review, comment required)",
            body={
                "type": "object",
                "required": ["dimension", "value", "comment"],
                "properties": {"dimension": _STR, "value": _NUM, "comment": _STR},
            },
            status=201,
            params=("interview_id",),
        )
    },
    "/api/interviews/{interview_id}/decision": {
        "post": _op(
            "Human recommendation (advance / hold / reject)",
            body={
                "type": "object",
                "required": ["recommendation"],
                "properties": {
                    "recommendation": {"enum": ["advance", "hold", "reject"]},
                    "comment": _STR,
                },
            },
            status=201,
            params=("interview_id",),
        )
    },
    "/api/interviews/{interview_id}/report": {
        "get": _op(
            "Candidate report: AI suggestions, human overrides, final scores, job match %",
            params=("interview_id",),
            query=("format", "lang"),
        )
    },
    "/api/jobs/{job_id}/stats": {
        "get": _op(
            "Job statistics: counts by status, mean/max/min/median job match %, histogram, dimensions",
            params=("job_id",),
        )
    },
    "/api/jobs/{job_id}/export": {
        "get": {
            **_op(
                "Candidates, AI and final scores, decisions (CSV or XLSX)",
                params=("job_id",),
                query=("format",),
            ),
            "responses": {"200": {"description": "file", "content": {"text/csv": {}}}},
        }
    },
    "/api/jobs/{job_id}/fairness": {
        "get": _op(
            "Selection rate and impact ratio per recorded group (four-fifths rule)",
            params=("job_id",),
        )
    },
    "/api/jobs/{job_id}/pending": {
        "get": _op("Candidates who have not finished", params=("job_id",), response=_arr(_OBJ))
    },
    "/api/jobs/{job_id}/reminders": {
        "get": _op(
            "Reminder outbox (JSON or ?format=csv)",
            params=("job_id",),
            query=("format",),
            response={"type": "array", "items": _OBJ},
        ),
        "post": _op(
            "Queue reminders (all pending, or the given interview_ids); webhook reminder.requested",
            body={"type": "object", "properties": {"interview_ids": _arr(_STR)}},
            status=201,
            params=("job_id",),
        ),
    },
    "/api/webhooks": {
        "get": _op("Webhooks of the org (admin)", response=_arr(_OBJ)),
        "post": _op(
            "Add a webhook (events interview.completed, report.ready, decision.made);"
            " requests are signed with HMAC-SHA256 (X-InterviewLive-Signature)",
            body={
                "type": "object",
                "required": ["url"],
                "properties": {"url": _STR, "events": _arr(_STR), "secret": _STR},
            },
            status=201,
        ),
    },
    "/api/webhooks/{hook_id}": {"delete": _op("Deactivate a webhook", params=("hook_id",))},
    "/api/webhooks/{hook_id}/deliveries": {
        "get": _op(
            "Delivery log (status, attempts, last error)", params=("hook_id",), response=_arr(_OBJ)
        )
    },
    "/api/recordings/{rec_id}": {
        "get": {
            **_op(
                "Download/stream a recording (signed URL or bearer); supports Range",
                params=("rec_id",),
                query=("exp", "sub", "sig"),
            ),
            "responses": {"200": {"description": "WebM", "content": {"video/webm": {}}}},
        }
    },
    "/api/candidate/state": {"get": _op("Candidate: interview state", auth="candidate")},
    "/api/candidate/consent": {
        "post": _op(
            "Candidate: accept or decline (separate consents)",
            auth="candidate",
            body={
                "type": "object",
                "required": ["decision", "recording", "analysis"],
                "properties": {
                    "decision": {"enum": ["accept", "decline"]},
                    "mode": {"enum": ["video", "audio", "text"]},
                    "recording": _BOOL,
                    "analysis": _BOOL,
                    "text_version": _STR,
                },
            },
        )
    },
    "/api/candidate/ping": {"get": _op("Candidate: round-trip time probe", auth="candidate")},
    "/api/candidate/upload-test": {
        "post": _op(
            "Candidate: upload throughput probe (≤ 4 MB)",
            auth="candidate",
            body={"type": "string", "format": "binary"},
            content_type="application/octet-stream",
        )
    },
    "/api/candidate/device-check": {
        "post": _op(
            "Candidate: device check result",
            auth="candidate",
            body={
                "type": "object",
                "required": ["camera", "microphone", "webrtc"],
                "properties": {
                    "camera": _BOOL,
                    "microphone": _BOOL,
                    "webrtc": _BOOL,
                    "rtt_ms": _NUM,
                    "upload_kbps": _NUM,
                },
            },
        )
    },
    "/api/candidate/offer": {
        "post": _op(
            "Candidate: WebRTC offer → answer (control socket must be open)",
            auth="candidate",
            body={
                "type": "object",
                "required": ["type", "sdp"],
                "properties": {"type": {"enum": ["offer"]}, "sdp": _STR},
            },
        )
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Interview Live API",
        "version": "1",
        "description": "Staff and candidate REST API. Live sockets: /ws (staff), /ws/candidate.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "staff": {"type": "http", "scheme": "bearer"},
            "invitation": {
                "type": "http",
                "scheme": "bearer",
                "description": "The token from the invitation link",
            },
        },
    },
}


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(DOCUMENT)
