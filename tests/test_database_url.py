"""``--database-url`` / ``INTERVIEW_DATABASE_URL``: the store in PostgreSQL from the command
line (``demo`` then ``serve``), a wrong URL refused at start-up, the URL never shown."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import psycopg
import pytest

from loadtest.postgres import PostgresCluster
from server.core.config import ConfigError, load_settings
from tests.support.nodes import node_process
from tests.support.process import CLI
from tests.support.server import LOOPBACK, free_port


def test_a_database_url_is_checked_and_kept_out_of_the_settings_repr() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(env={"INTERVIEW_DATABASE_URL": "mysql://db/x"})
    with pytest.raises(ConfigError, match="database_url"):
        load_settings(env={}, database_url="postgres:/nowhere")
    settings = load_settings(env={"INTERVIEW_DATABASE_URL": "postgresql://u:s3cret@db:5432/x"})
    assert settings.db_url == "postgresql://u:s3cret@db:5432/x"
    assert "s3cret" not in repr(settings)
    default = load_settings(env={}, data_dir=Path("/srv/il"))
    assert default.db_url == "sqlite:////srv/il/interview.sqlite3"


def test_demo_and_serve_keep_the_store_in_postgresql(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    url, data_dir, port = postgres.new_database(), tmp_path / "data", free_port()
    common = ["--data-dir", str(data_dir), "--database-url", url, "--host", LOOPBACK]
    demo = [*CLI, "demo", *common, "--port", str(port), "--json"]
    first = json.loads(subprocess.run(demo, check=True, capture_output=True, timeout=60).stdout)
    again = json.loads(subprocess.run(demo, check=True, capture_output=True, timeout=60).stdout)
    assert first["admin"] == again["admin"] and first["job_id"] == again["job_id"]
    serve = ("--database-url", url, "--analysis-workers", "0")
    with node_process(data_dir, "pg", *serve, port=port) as node:
        body = json.dumps(first["admin"]).encode()
        login = urllib.request.Request(
            node.base_url + "/api/auth/login", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(login, timeout=10) as resp:
            assert resp.status == 200 and json.loads(resp.read())["token"]
    assert not (data_dir / "interview.sqlite3").exists()
    invited = [i["interview_id"] for run in (first, again) for i in run["invitations"]]
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id FROM interviews WHERE id = ANY(%s)", (invited,)).fetchall()
    assert len(invited) == 6 and {r[0] for r in rows} == set(invited)  # three per demo run
