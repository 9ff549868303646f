"""Organisation settings, staff accounts, webhooks and the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from server.api.schemas.common import INTEGRAL, NON_BLANK, Model, Out, StrictModel
from server.outbound import webhooks

RETENTION_DAYS_MAX = 3650
Days = Annotated[int, Field(ge=1, le=RETENTION_DAYS_MAX), INTEGRAL]
Event = Literal[webhooks.EVENTS]  # type: ignore[valid-type]


class Retention(StrictModel):
    """Days after the decision until deletion (null keeps)."""

    recordings_days: Days | None = None
    personal_data_days: Days | None = None


class Alternatives(StrictModel):
    """Which non-video modes candidates may choose (video is always offered)."""

    audio: bool | None = None
    text: bool | None = None


class OrgSettingsIn(StrictModel):
    """Either part or both; a part left out (or null) stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    retention: Retention | None = None
    alternatives: Alternatives | None = None


class OrgSettings(Out):
    retention: dict[str, int | None]
    alternatives: dict[str, bool]


class LoginIn(Model):
    username: str
    password: str


class Token(Out):
    token: str


class UserIn(Model):
    """A staff account; department viewers need a department."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"role": {"const": "department_viewer"}}, "required": ["role"]},
            "then": {
                "required": ["department"],
                "properties": {"department": {"pattern": NON_BLANK}},
            },
        }
    )
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
    password: Annotated[str, Field(min_length=10, max_length=1024)]
    role: Literal["admin", "hr", "examiner", "department_viewer"]
    department: Annotated[str, Field(max_length=200, validate_default=True)] = ""

    @field_validator("department")
    @classmethod
    def _department_for_viewers(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("role") == "department_viewer" and not re.search(NON_BLANK, value):
            raise ValueError("required for department viewers")
        return value.strip()


class User(Out):
    id: str
    username: str
    role: str
    department: str = ""


class WebhookIn(Model):
    url: Annotated[str, Field(pattern=r"^https?://[^/?#@\s]+", max_length=webhooks.MAX_URL_CHARS)]
    events: Annotated[list[Event], Field(min_length=1)] | None = None
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = None


class Webhook(Out):
    id: str
    url: str
    events: list[str]


class AuditEvent(Out):
    id: int
    interview_id: str | None
    at: float
    kind: str
    actor: str
    data: Any
    prev_hash: str
    hash: str


class AuditPage(Out):
    events: list[AuditEvent]
    next_after_id: int | None


AnyObject = dict[str, Any]
