"""Organisation settings, staff accounts, webhooks and the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from server.api.schemas.common import INTEGRAL, NON_BLANK, NOT_VISIBLE, Model, Out, StrictModel
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


def _ipv6() -> str:
    """RFC 3986 ``IPv6address``: eight groups, or fewer around one ``::``, the last two groups
    possibly an IPv4 address."""
    h16, octet = "[0-9A-Fa-f]{1,4}", "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = f"(?:{h16}:{h16}|{octet}(?:\\.{octet}){{3}})"
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    for before, after in ((0, 4), (1, 3), (2, 2), (3, 1), (4, 0)):
        head = f"(?:(?:{h16}:){{0,{before}}}{h16})?" if before else f"(?:{h16})?"
        forms.append(f"{head}::" + f"(?:{h16}:){{{after}}}{ls32}")
    forms.append(f"(?:(?:{h16}:){{0,5}}{h16})?::{h16}")
    forms.append(f"(?:(?:{h16}:){{0,6}}{h16})?::")
    return "(?:" + "|".join(forms) + ")"


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HOST = "|".join(
    (
        # a name whose last label opens with a letter: never an address in a legacy form
        # (``127.1``, ``0x7f.1``, ``2130706433``), which the egress guard could not read
        r"(?:[A-Za-z0-9_-]+\.)*[A-Za-z][A-Za-z0-9_-]*\.?",
        f"{_OCTET}(?:\\.{_OCTET}){{3}}",
        f"\\[{_ipv6()}(?:%25[A-Za-z0-9._~-]+)?\\]",
    )
)
_PORT = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
WEBHOOK_URL = f"^https?://(?:{_HOST})(?::{_PORT})?(?:[/?#][^{NOT_VISIBLE}]*)?$"
"""An http(s) URL of an ASCII host name, an IPv4 address (four decimal numbers) or an IPv6
address in brackets, without a user name or password, white space or control characters."""


class WebhookIn(Model):
    url: Annotated[
        str,
        Field(
            pattern=WEBHOOK_URL,
            max_length=webhooks.MAX_URL_CHARS,
            description="Where deliveries go. An internal address (loopback, private, "
            "link-local, ...) is refused (403) unless the operator allows its network; a host "
            "name is checked when each delivery resolves it.",
        ),
    ]
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
