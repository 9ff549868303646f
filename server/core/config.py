"""One typed settings object, validated at start-up. Nothing else reads ``os.environ``."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from analyzers.speech.asr_models import (
    ANY_LANGUAGE,
    DEFAULT_MODEL_MAP,
    ModelConfigError,
    inspect_model,
    parse_model_map,
)
from media.impair import ImpairConfig
from server.core.env import (
    DATABASE_URL_PATTERN,
    ENV_PREFIX,
    SECRET_KEY_MIN_BYTES,
    EnvError,
    read_env,
)

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_INVITATION_TTL_H = 7 * 24
STAFF_TOKEN_TTL_S = 12 * 3600
RECORDING_URL_TTL_S = 3600
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_UPLOAD_TEST_BYTES = 4 * 1024 * 1024
ROLES = ("media", "analyzer", "api")
"""Process roles; a process runs any non-empty set of them (all three = embedded)."""
METRICS_TOKEN_MIN_CHARS = 16
"""The scrape token is a bearer secret: too short to guess, and never a word."""
TURN_SECRET_MIN_CHARS = 16
"""A candidate sees one username/password pair minted from the secret: a short secret could
be guessed offline from it, and then anyone could mint relay credentials."""
_TURN_URL = re.compile(
    r"(?P<scheme>turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:\?transport=(?P<transport>udp|tcp))?"
)
"""RFC 7065: ``turn:`` / ``turns:`` host, optional port, optional ``?transport=udp|tcp``."""
LIVE_SESSIONS_PER_CORE = 4
"""Default admission limit: measured real-time capacity with full analysis (docs/benchmarks.md)."""


class ConfigError(ValueError):
    """A setting is invalid; the message names the key."""


_OBJECT_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")


@dataclass(frozen=True, slots=True)
class ObjectLocation:
    """``s3://bucket/prefix``: the bucket and the key prefix (empty, or ending in ``/``)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> ObjectLocation:
        """Raises ``ValueError`` (naming the expected form) for anything else."""
        match = _OBJECT_URL.fullmatch(url.strip())
        if match is None:
            raise ValueError(
                f"{url!r} is not s3://bucket or s3://bucket/prefix (bucket: 3-63 lower-case "
                "letters, digits, dots, hyphens)"
            )
        prefix = (match["prefix"] or "").strip("/")
        if prefix and (".." in prefix.split("/") or "//" in prefix):
            raise ValueError(f"{url!r}: the prefix may not hold '..' or empty parts")
        return cls(match["bucket"], f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def _model_map(text: str) -> dict[str, str]:
    """``INTERVIEW_ASR_MODELS``: ``zh=/models/small,en=bundled:tiny.en`` or a JSON object."""
    key = ENV_PREFIX + "ASR_MODELS"
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{key}: not JSON ({exc})") from None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise ConfigError(f'{key}: a JSON object of language → model, e.g. {{"zh": "…"}}')
        return {k.strip().lower(): v.strip() for k, v in parsed.items()}
    try:
        return parse_model_map(text)
    except ModelConfigError as exc:
        raise ConfigError(f"{key}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of a server process."""

    data_dir: Path = Path("data")
    recordings_dir: Path | None = None
    """Where answer recordings are written (encrypted) and read back; default
    ``data_dir/recordings``. Several machines share recordings by mounting one directory here
    (see :attr:`recordings_root`); the database names each file relative to it. With
    ``recordings_url``, the media node's spool: segments wait here until they are uploaded."""
    recordings_url: str = ""
    """``s3://bucket/prefix``: recordings go to an S3-compatible object store (uploaded at
    each segment's end, played by range GETs from any API node); empty = the folder only."""
    s3_endpoint: str = ""
    """The object store's URL (``https://s3.example.org``, ``http://10.0.0.5:8333``); empty =
    AWS S3 itself. Path-style requests when set."""
    s3_region: str = ""
    """Region the requests are signed for; empty = us-east-1 (what most servers expect)."""
    s3_access_key: str = ""
    """Access key id; empty = boto3's default credential chain (an instance role, say)."""
    s3_secret_key: str = field(default="", repr=False)
    """Secret access key; never logged."""
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_url: str = ""
    """Base URL put in invitation links; defaults to http://host:port."""
    ice_hosts: tuple[str, ...] = ()
    """Addresses ICE announces as host candidates; empty = every interface (aioice default)."""
    ice_servers: tuple[str, ...] = ()
    """STUN/TURN URLs; empty by default (no public STUN server)."""
    turn_urls: tuple[str, ...] = ()
    """TURN relays sharing ``turn_secret`` (coturn ``use-auth-secret``): the candidate's page
    gets them with short-lived credentials minted per session (``server.security.turn``)."""
    turn_secret: str = field(default="", repr=False)
    """The relays' ``static-auth-secret``; never logged, never sent to a page."""
    secret_key: bytes = field(default=b"", repr=False)
    """HMAC key for invitation links, signed recording URLs and résumé file keys
    (``INTERVIEW_SECRET_KEY``, hex, the same on every process of a deployment); read from
    (or created once in) ``data_dir/secret.key`` if empty. Never logged."""
    invitation_ttl_h: int = DEFAULT_INVITATION_TTL_H
    allowed_origins: tuple[str, ...] = ()
    """Extra origins allowed on WebSockets besides the server's own."""
    max_body_bytes: int = MAX_BODY_BYTES
    log_level: str = "INFO"
    analysis_workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    """Analyzer worker processes (0 disables live analysis)."""
    asr_model: str = ""
    """One CTranslate2 Whisper model directory for every language it can hear (English-only
    models: English only); ``asr_models`` entries take precedence. Empty = the defaults."""
    asr_models: Mapping[str, str] = field(default_factory=dict)
    """Model per language (``{"zh": "/models/small", "en": "bundled:tiny.en", "*": …}``),
    over the defaults ``en=bundled:tiny.en, *=bundled:base`` (see ``analyzers.speech.asr_models``);
    ``none`` switches transcription off for a language."""
    models_dir: Path | None = None
    """Where bundled models are unpacked (the multilingual base is joined from its two
    packages once); default ``data_dir/models``."""
    asr_language: str = "en"
    """Recognition language when an interview names none; interviews use their job's."""
    asr_compute_type: str = "int8"
    asr_device: str = "cpu"
    """Where analyzer workers run Whisper: cpu, cuda or auto (see docs/models.md)."""
    asr_beam_size: int = 0
    """0 = each language's measured default (beam 5 for both bundled models)."""
    asr_threads: int = 1
    asr_speculative_finals: bool = True
    """Decode a final ahead while the end of an utterance is still being confirmed (idle time
    only; the same text, up to 0.2 s sooner; see ``AsrConfig.speculative_finals``)."""
    redis_url: str = ""
    """Redis for live events across processes and machines; empty = in-process hub."""
    database_url: str = field(default="", repr=False)
    """``postgresql://user:password@host:port/db`` for a store that processes on several
    machines share, ``sqlite:///path`` for a SQLite file; empty = ``data_dir/interview.sqlite3``.
    Not logged (it may hold a password)."""
    roles: tuple[str, ...] = ROLES
    """What this process does: media, analyzer, api (any subset; all = embedded)."""
    node_name: str = ""
    """Name of this process in the node registry; defaults to host:port."""
    max_live_sessions: int = field(
        default_factory=lambda: LIVE_SESSIONS_PER_CORE * max(1, os.cpu_count() or 1)
    )
    """Admission control: live candidate sessions this media process accepts before refusing."""
    smtp_host: str = ""
    """Outgoing mail server for reminders; empty = reminders stay in the exportable outbox."""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_starttls: bool = True
    encryption: str = "aes-256-gcm"
    """Cipher for data at rest: aes-256-gcm or sm4-gcm (国密); files say which they use."""
    master_keys: str = field(default="", repr=False)
    """Master-key JSON (``{"current","keys"}``) from the environment; empty = the key file
    ``data_dir/master-keys.json`` (created on first start; back it up)."""
    webhook_allow_networks: tuple[str, ...] = ()
    """Internal networks (CIDR) webhooks may reach, e.g. an intranet HR system; every other
    loopback, private, link-local or reserved address is refused (see ``server.security.netguard``)."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies (CIDR) whose ``X-Forwarded-For`` names the client (see
    ``server.api.http.client_address``); empty = trust nobody, the peer address is the client."""
    metrics_token: str = field(default="", repr=False)
    """Bearer token a remote Prometheus presents to ``GET /metrics``; empty = only direct
    loopback clients may scrape (``server.app.metrics``)."""
    flag_thresholds: Mapping[str, float] = field(default_factory=dict)
    """Overrides of ``analyzers.flags.FlagThresholds`` (e.g. ``{"face_missing_s": 5}``)."""
    test_receive_impairment: Mapping[str, object] = field(default_factory=dict)
    """Tests and benchmarks only: impair the media this process receives, before its jitter
    buffers (``media.impair.ImpairConfig`` fields, e.g. ``{"loss_percent": 5, "seed": 1}``),
    as a lossy candidate network would. Empty (always, in production) = nothing."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def node(self) -> str:
        return self.node_name or f"{self.host}:{self.port}"

    @property
    def db_url(self) -> str:
        """The store's database: ``database_url``, or the SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'interview.sqlite3'}"

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master-keys.json"

    @property
    def model_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    def receive_impairment(self) -> ImpairConfig | None:
        """``test_receive_impairment`` as a model configuration, None when unset.

        Raises:
            ConfigError: unknown keys or values out of range.
        """
        if not self.test_receive_impairment:
            return None
        try:
            config = ImpairConfig(**self.test_receive_impairment)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"test_receive_impairment: {exc}") from None
        return config if config.active else None

    def asr_model_map(self) -> dict[str, str]:
        """The per-language map before resolution: defaults, ``asr_model``, ``asr_models``."""
        merged = dict(DEFAULT_MODEL_MAP)
        if self.asr_model:
            merged["en"] = self.asr_model
            try:
                multilingual = inspect_model(self.asr_model, self.model_dir).multilingual
            except ModelConfigError:
                multilingual = True  # let resolution report what is wrong with it
            if multilingual:
                merged[ANY_LANGUAGE] = self.asr_model
        merged.update(self.asr_models)
        return merged

    @property
    def recordings_root(self) -> Path:
        """The recordings folder: ``recordings_dir``, or ``recordings`` in the data directory."""
        return self.recordings_dir or self.data_dir / "recordings"

    def with_secret(self) -> Settings:
        """Load (or create once) the secret key kept in the data directory, unless one came
        from ``INTERVIEW_SECRET_KEY``; then a different key file left in the data directory
        is reported (links signed with it no longer verify) and otherwise ignored."""
        key_file = self.data_dir / "secret.key"
        if self.secret_key:
            if key_file.exists() and _read_secret(key_file) != self.secret_key:
                logger.warning(
                    "%s differs from INTERVIEW_SECRET_KEY, which is used: invitation links and "
                    "signed URLs made with the file's key no longer verify",
                    key_file,
                )
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return replace(self, secret_key=_read_secret(key_file))


def _read_secret(key_file: Path) -> bytes:
    try:
        key = bytes.fromhex(key_file.read_text().strip())
    except ValueError:
        raise ConfigError(f"{key_file}: not a hexadecimal secret key") from None
    if len(key) < SECRET_KEY_MIN_BYTES:
        raise ConfigError(f"{key_file}: secret key too short")
    return key


def _check_ip(key: str, value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not an IP address") from None
    return value


def _check_network(key: str, value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError as exc:
        raise ConfigError(
            f"{key}: {value!r} is not a CIDR network like 10.20.0.0/16 ({exc})"
        ) from None
    return value


def _check_flag_thresholds(values: object) -> None:
    from dataclasses import fields

    from analyzers.flags import FlagThresholds

    known = {f.name for f in fields(FlagThresholds)}
    if not isinstance(values, Mapping):
        raise ConfigError("flag_thresholds: must be a JSON object of seconds")
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"flag_thresholds: unknown key {key!r} (known: {sorted(known)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"flag_thresholds.{key}: must be a positive number of seconds")


def _check_roles(settings: Settings) -> None:
    roles = settings.roles
    if not roles or any(r not in ROLES for r in roles):
        raise ConfigError(f"roles: {','.join(roles) or '(empty)'}; choose from {', '.join(ROLES)}")
    if set(roles) != set(ROLES) and not settings.redis_url:
        raise ConfigError(
            "roles: running only some roles needs redis_url (the processes talk over Redis)"
        )
    if settings.max_live_sessions < 1:
        raise ConfigError("max_live_sessions: must be at least 1")


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``INTERVIEW_*`` environment variables, then explicit overrides (CLI)."""
    try:
        values: dict[str, object] = read_env(os.environ if env is None else env)
    except EnvError as exc:
        raise ConfigError(str(exc)) from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("asr_models"), str):
        values["asr_models"] = _model_map(str(values["asr_models"]))
    settings = Settings(**values)  # type: ignore[arg-type]
    for host in settings.ice_hosts:
        _check_ip("ice_hosts", host)
    for network in settings.webhook_allow_networks:
        _check_network("webhook_allow_networks", network)
    for network in settings.trusted_proxies:
        _check_network("trusted_proxies", network)
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port: {settings.port} is not a TCP port")
    if not 0 <= settings.analysis_workers <= 64:
        raise ConfigError(f"analysis_workers: {settings.analysis_workers} must be 0..64")
    _check_flag_thresholds(settings.flag_thresholds)
    if not isinstance(settings.test_receive_impairment, Mapping):
        raise ConfigError("test_receive_impairment: must be a JSON object")
    settings.receive_impairment()
    _check_roles(settings)
    if settings.database_url and re.fullmatch(DATABASE_URL_PATTERN, settings.database_url) is None:
        raise ConfigError("database_url: starts with sqlite:/// or postgresql://")
    _check_object_store(settings)
    if settings.secret_key and len(settings.secret_key) < SECRET_KEY_MIN_BYTES:
        raise ConfigError(f"secret_key: at least {SECRET_KEY_MIN_BYTES} bytes")
    if settings.encryption not in ("aes-256-gcm", "sm4-gcm"):
        raise ConfigError(f"encryption: {settings.encryption!r}; choose aes-256-gcm or sm4-gcm")
    if settings.smtp_host and not settings.smtp_from:
        raise ConfigError("smtp_from: the sender address is required with smtp_host")
    if settings.asr_device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"asr_device: {settings.asr_device!r}; choose cpu, cuda or auto")
    if settings.asr_beam_size < 0 or settings.asr_threads < 1:
        raise ConfigError(
            "asr_beam_size must be 0 (per-language default) or more, asr_threads at least 1"
        )
    for url in settings.ice_servers:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise ConfigError(f"ice_servers: {url!r} must start with stun:, turn: or turns:")
    _check_turn(settings)
    if settings.metrics_token and (
        len(settings.metrics_token) < METRICS_TOKEN_MIN_CHARS
        or not settings.metrics_token.isascii()
        or not settings.metrics_token.isprintable()
        or " " in settings.metrics_token
    ):
        raise ConfigError(
            f"metrics_token: at least {METRICS_TOKEN_MIN_CHARS} printable ASCII characters "
            "without spaces (e.g. the output of `openssl rand -hex 32`)"
        )
    return settings


def _check_object_store(settings: Settings) -> None:
    if settings.recordings_url:
        try:
            ObjectLocation.parse(settings.recordings_url)
        except ValueError as exc:
            raise ConfigError(f"recordings_url: {exc}") from None
    elif settings.s3_endpoint or settings.s3_access_key or settings.s3_secret_key:
        raise ConfigError("s3_endpoint: object-store settings without recordings_url (s3://…)")
    if settings.s3_endpoint and re.fullmatch(r"https?://[^\s/]+/?", settings.s3_endpoint) is None:
        raise ConfigError(
            f"s3_endpoint: {settings.s3_endpoint!r} is not http(s)://host[:port] (no path)"
        )
    if bool(settings.s3_access_key) != bool(settings.s3_secret_key):
        raise ConfigError("s3_access_key: set both the access key and the secret key, or neither")


def _check_turn_url(url: str) -> None:
    example = "turn:turn.example.com:3478?transport=udp or turns:turn.example.com:443?transport=tcp"
    match = _TURN_URL.fullmatch(url)
    if match is None:
        raise ConfigError(f"turn_urls: {url!r} is not a TURN URL like {example}")
    host, port = match["host"], match["port"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ConfigError(f"turn_urls: {url!r}: {host} is not an IPv6 address") from None
    if port is not None and not 0 < int(port) < 65536:
        raise ConfigError(f"turn_urls: {url!r}: {port} is not a port")
    if match["scheme"] == "turns" and match["transport"] == "udp":
        raise ConfigError(
            f"turn_urls: {url!r}: turns: is TURN over TLS, i.e. TCP (browsers have no TURN "
            "over DTLS); use turns:…?transport=tcp, or turn:…?transport=udp"
        )


def _check_turn(settings: Settings) -> None:
    for url in settings.turn_urls:
        _check_turn_url(url)
    if settings.turn_urls and not settings.turn_secret:
        raise ConfigError("turn_urls: the relays' shared secret (turn_secret) is required too")
    if settings.turn_secret and not settings.turn_urls:
        raise ConfigError("turn_secret: set without turn_urls (which relays is it for?)")
    if settings.turn_secret and len(settings.turn_secret) < TURN_SECRET_MIN_CHARS:
        raise ConfigError(
            f"turn_secret: at least {TURN_SECRET_MIN_CHARS} characters "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
