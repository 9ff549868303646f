"""Shapes every part of the API shares: errors, localized text, the pydantic error mapping."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from server.domain.errors import FieldError

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
}
"""Pydantic error types whose wording the API states its own way (the rest keep pydantic's)."""


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def field_errors(exc: ValidationError, row: int | None = None) -> list[FieldError]:
    """Every problem pydantic found, in the API's ``{"row", "field", "message"}`` shape."""
    out: list[FieldError] = []
    for error in exc.errors(include_url=False):
        message = _MESSAGES.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
        out.append(FieldError(row, _path(tuple(error["loc"])), message))
    return out


NOT_VISIBLE = r"\s\x00-\x1f\x7f-\x9f\ufeff"
r"""Inside a character class: white space and control characters. Spelled out so that JSON
Schema's, pydantic's (Rust) and Python's regex engines, whose ``\s`` differ at the edges,
agree, and so that ``str.strip()`` never empties a value the pattern let through."""
NON_BLANK = f"[^{NOT_VISIBLE}]"
"""A pattern for text that must hold something visible."""


def _integral(value: object) -> object:
    """JSON's ``1.0`` is the integer 1 (JSON Schema counts it as one); ``1.5`` stays a float."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


INTEGRAL = BeforeValidator(_integral)
"""Put last in ``Annotated[int, Field(...), INTEGRAL]``: the constraints stay JSON Schema's
``minimum``/``maximum`` (before the validator pydantic could only write ``ge``/``le``)."""
Int = Annotated[int, INTEGRAL]
"""An integer of a JSON body (bodies are read strictly: ``"5"`` and ``true`` are not)."""


class Model(BaseModel):
    """A body the API reads: unknown fields are ignored (clients may send more)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class StrictModel(BaseModel):
    """A body whose unknown fields are refused (settings, where a typo must not pass)."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A body the API answers: what it lists is always there; more fields may follow."""

    model_config = ConfigDict(extra="allow")


class Localized(BaseModel):
    """Text in Chinese and/or English."""

    model_config = ConfigDict(extra="allow")
    zh: str | None = None
    en: str | None = None


class ErrorItem(BaseModel):
    row: int | None
    field: str
    message: str


class Error(BaseModel):
    """Every 4xx/5xx answer of the API."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    errors: list[ErrorItem] | None = None


AnyObject = dict[str, Any]
