"""Query strings of the API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AUDIT_PAGE_MAX = 5000
CANDIDATES_PAGE_MAX = 1000


class Query(BaseModel):
    """Unknown query parameters are ignored."""

    model_config = ConfigDict(extra="ignore")


class AuditQuery(Query):
    after_id: Annotated[int, Field(ge=0, le=2**62, description="events after this id")] = 0
    limit: Annotated[int, Field(ge=1, le=AUDIT_PAGE_MAX)] = 500


class QuestionsQuery(Query):
    section: str | None = None
    competency: str | None = None
    q: Annotated[str | None, Field(description="text the question contains")] = None


class UsersQuery(Query):
    role: Literal["admin", "hr", "examiner", "department_viewer"] | None = None


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=CANDIDATES_PAGE_MAX)] = CANDIDATES_PAGE_MAX
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


class ReportQuery(Query):
    format: Literal["json", "html"] = "json"
    lang: Annotated[str, Field(description="zh or en (HTML report)")] = "zh"


class ExportQuery(Query):
    format: Literal["csv", "xlsx"] = "csv"


class OutboxQuery(Query):
    format: Literal["json", "csv"] = "json"


class SignedUrlQuery(Query):
    exp: str | None = None
    sub: str | None = None
    sig: str | None = None
