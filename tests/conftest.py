from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server import TEST_MODELS_DIR, RunningServer, running_server

# Server subprocesses unpack the bundled multilingual model once for the whole run, not
# once per data directory.
os.environ.setdefault("INTERVIEW_MODELS_DIR", str(TEST_MODELS_DIR))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server without live analysis (fast start)."""
    async with running_server(tmp_path / "data", analysis_workers=0) as srv:
        yield srv


@pytest.fixture
async def analysis_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with one analyzer worker process (real Whisper and mediapipe)."""
    async with running_server(tmp_path / "data", analysis_workers=1) as srv:
        yield srv
