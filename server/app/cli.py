"""Console script ``interview-live``: ``serve`` and ``demo``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from aiohttp import web

from server.core.config import ConfigError, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        data_dir=Path(args.data_dir) if args.data_dir else None,
        recordings_dir=(
            Path(args.recordings_dir) if getattr(args, "recordings_dir", None) else None
        ),
        recordings_url=getattr(args, "recordings_url", None),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        ice_hosts=tuple(args.ice_host) if args.ice_host else None,
        ice_servers=tuple(args.ice_server) if args.ice_server else None,
        turn_urls=tuple(args.turn_url) if args.turn_url else None,
        turn_secret=args.turn_secret or None,
        analysis_workers=getattr(args, "analysis_workers", None),
        asr_model=getattr(args, "asr_model", None),
        asr_models=getattr(args, "asr_models", None),
        models_dir=Path(args.models_dir) if getattr(args, "models_dir", None) else None,
        asr_language=getattr(args, "asr_language", None),
        redis_url=getattr(args, "redis_url", None),
        database_url=args.database_url,
        roles=_roles(getattr(args, "role", None)),
        node_name=getattr(args, "node_name", None),
        max_live_sessions=getattr(args, "max_live_sessions", None),
        metrics_token=getattr(args, "metrics_token", None) or None,
    )


def _roles(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    if value == "all":
        return ("media", "analyzer", "api")
    return tuple(r.strip() for r in value.split(",") if r.strip())


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory (SQLite, recordings, keys); default ./data")
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8080)")
    p.add_argument("--public-url", help="base URL used in invitation links")
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="postgresql://user@host:port/db (a store shared by several machines) or "
        "sqlite:///path; default the SQLite file in --data-dir (env INTERVIEW_DATABASE_URL: "
        "prefer it when the URL holds a password)",
    )
    p.add_argument(
        "--ice-host",
        action="append",
        metavar="IP",
        help="address ICE announces (repeatable; env INTERVIEW_ICE_HOSTS, comma-separated)",
    )
    p.add_argument(
        "--ice-server",
        action="append",
        metavar="URL",
        help="STUN/TURN server URL (repeatable; none by default)",
    )
    p.add_argument(
        "--turn-url",
        action="append",
        metavar="URL",
        help="TURN relay sharing --turn-secret, e.g. turns:turn.example.com:443?transport=tcp "
        "(repeatable; env INTERVIEW_TURN_URLS, comma-separated); candidates get short-lived "
        "credentials for it",
    )
    p.add_argument(
        "--turn-secret",
        metavar="SECRET",
        help="the relays' static-auth-secret (coturn use-auth-secret); prefer env "
        "INTERVIEW_TURN_SECRET, a command line is visible to every user of the machine",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interview-live", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    _add_common(serve)
    serve.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    serve.add_argument(
        "--recordings-dir",
        metavar="DIR",
        help="where recordings are written and played from (default data-dir/recordings); "
        "several machines mount one shared directory here (env INTERVIEW_RECORDINGS_DIR)",
    )
    serve.add_argument(
        "--recordings-url",
        metavar="s3://BUCKET/PREFIX",
        help="keep recordings in an S3-compatible object store (endpoint and keys: "
        "INTERVIEW_S3_ENDPOINT, INTERVIEW_S3_ACCESS_KEY, INTERVIEW_S3_SECRET_KEY, "
        "INTERVIEW_S3_REGION); the recordings dir is then the upload spool "
        "(env INTERVIEW_RECORDINGS_URL)",
    )
    serve.add_argument(
        "--analysis-workers", type=int, help="analyzer processes (0 = no live analysis)"
    )
    serve.add_argument(
        "--asr-model", help="CTranslate2 Whisper model directory for every language it hears"
    )
    serve.add_argument(
        "--asr-models",
        metavar="MAP",
        help="model per language, e.g. zh=/models/small,en=bundled:tiny.en "
        "(env INTERVIEW_ASR_MODELS; default en=bundled:tiny.en,*=bundled:base)",
    )
    serve.add_argument("--models-dir", help="where bundled models are unpacked (data-dir/models)")
    serve.add_argument("--asr-language", help="default recognition language, e.g. en or zh")
    serve.add_argument("--redis-url", help="redis://host:port/db: live events across processes")
    serve.add_argument(
        "--role",
        help="all (default) or a comma list of media, analyzer, api; split roles need --redis-url",
    )
    serve.add_argument("--node-name", help="this process in the node registry (default host:port)")
    serve.add_argument(
        "--max-live-sessions",
        type=int,
        help="admission control: live candidates this media process takes (default 4 per core)",
    )
    serve.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="bearer token remote scrapers send to GET /metrics (loopback needs none); prefer "
        "env INTERVIEW_METRICS_TOKEN, a command line is visible to every user of the machine",
    )
    demo = sub.add_parser("demo", help="seed demo data and print admin login and invitation links")
    _add_common(demo)
    demo.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "demo":
        from server.app.demo import seed

        result = asyncio.run(seed(settings))
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(f"Admin page: {result['admin_url']}")
            print(
                f"  username: {result['admin']['username']}  password: {result['admin']['password']}"
            )
            print("Candidate links:")
            for inv in result["invitations"]:
                print(f"  {inv['name']}: {inv['url']}")
        return 0
    from server.api.accesslog import RedactingAccessLogger
    from server.app.app import create_app

    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"interview-live: {exc}", file=sys.stderr)
        return 2
    loop = None
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=10.0,
        access_log_class=RedactingAccessLogger,
        print=lambda msg: print(msg, flush=True),
        loop=loop,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
