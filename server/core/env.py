"""How each ``INTERVIEW_*`` environment variable is read: one declarative table (a pydantic
model whose field ``x`` is variable ``INTERVIEW_X``). ``server.core.config`` checks the
values together; an empty variable counts as unset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

ENV_PREFIX = "INTERVIEW_"
DATABASE_URL_PATTERN = r"^(sqlite:///.+|postgres(ql)?://.+)"
SECRET_KEY_MIN_BYTES = 16
"""The HMAC key of links and signed URLs: at least 128 bits (``openssl rand -hex 32`` gives 256)."""
SECRETS = frozenset(
    {
        "secret_key",
        "master_keys",
        "turn_secret",
        "metrics_token",
        "database_url",
        "smtp_password",
        "s3_secret_key",
    }
)
"""Variables whose value an error message never repeats (it may end up in a log)."""


def _csv(value: object) -> object:
    return (
        tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value
    )


def _whole(value: object) -> object:
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("must be a whole number")
    return value


def _flag(value: object) -> object:
    if isinstance(value, str):
        if value.lower() not in ("0", "1", "true", "false", "yes", "no"):
            raise ValueError("use true or false")
        return value.lower() in ("1", "true", "yes")
    return value


def _json(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc})") from None
    return value


def _hex_key(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ValueError(
                "must be hexadecimal (e.g. the output of `openssl rand -hex 32`)"
            ) from None
        if len(key) < SECRET_KEY_MIN_BYTES:
            raise ValueError(
                f"too short: at least {2 * SECRET_KEY_MIN_BYTES} hex digits "
                f"({SECRET_KEY_MIN_BYTES} bytes; `openssl rand -hex 32` gives 64)"
            )
        return key
    return value


Csv = Annotated[tuple[str, ...], BeforeValidator(_csv)]
"""Comma-separated values."""
Whole = Annotated[int, BeforeValidator(_whole)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Lower = Annotated[str, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)]
Upper = Annotated[str, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)]


class EnvTable(BaseModel):
    """Every variable a server process reads; each None when unset."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    data_dir: Path | None = None
    recordings_dir: Path | None = None
    recordings_url: str | None = None
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    host: str | None = None
    port: Annotated[Whole, Field(gt=0, lt=65536, description="a TCP port")] | None = None
    public_url: str | None = None
    ice_hosts: Csv | None = None
    ice_servers: Csv | None = None
    turn_urls: Csv | None = None
    turn_secret: str | None = None
    allowed_origins: Csv | None = None
    webhook_allow_networks: Csv | None = None
    trusted_proxies: Csv | None = None
    invitation_ttl_h: Annotated[Whole, Field(ge=1)] | None = None
    analysis_workers: Whole | None = None
    asr_beam_size: Whole | None = None
    asr_threads: Whole | None = None
    asr_speculative_finals: Flag | None = None
    asr_model: str | None = None
    asr_language: str | None = None
    asr_compute_type: str | None = None
    asr_device: str | None = None
    asr_models: str | None = None
    """``zh=/models/small,en=bundled:tiny.en`` or a JSON object (parsed by config)."""
    models_dir: Path | None = None
    redis_url: Annotated[str, Field(pattern=r"^(redis|rediss|unix)://")] | None = None
    database_url: Annotated[str, Field(pattern=DATABASE_URL_PATTERN)] | None = None
    encryption: Lower | None = None
    master_keys: str | None = None
    secret_key: Annotated[bytes, BeforeValidator(_hex_key)] | None = None
    """Hex, like ``data_dir/secret.key`` holds it."""
    roles: Csv | None = None
    node_name: str | None = None
    max_live_sessions: Whole | None = None
    smtp_host: str | None = None
    smtp_port: Whole | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: Flag | None = None
    metrics_token: str | None = None
    flag_thresholds: Annotated[Any, BeforeValidator(_json)] = None
    test_receive_impairment: Annotated[Any, BeforeValidator(_json)] = None
    log_level: Upper | None = None


class EnvError(ValueError):
    """A variable could not be read; the message names it."""


def read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The set ``INTERVIEW_*`` variables of ``env`` as settings values (unset ones left out)."""
    raw = {
        k.removeprefix(ENV_PREFIX).lower(): v
        for k, v in env.items()
        if k.startswith(ENV_PREFIX) and v != ""
    }
    try:
        table = EnvTable.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = str(first["loc"][0])
        name = ENV_PREFIX + key.upper()
        value = "(value hidden)" if key in SECRETS else repr(raw.get(key, ""))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise EnvError(f"{name}: {value}: {message}") from None
    return table.model_dump(exclude_none=True)
