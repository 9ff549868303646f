"""The in-process server of :mod:`loadtest.inprocess` with the models the test run unpacked once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from loadtest.inprocess import LOOPBACK, RunningServer, free_port
from loadtest.inprocess import running_server as _running_server

__all__ = ["LOOPBACK", "TEST_MODELS_DIR", "RunningServer", "free_port", "running_server"]

TEST_MODELS_DIR = Path(__file__).resolve().parents[2] / ".test-artifacts" / "models"
"""Bundled models unpacked once for the whole test run."""


@asynccontextmanager
async def running_server(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    overrides.setdefault("models_dir", TEST_MODELS_DIR)
    async with _running_server(data_dir, **overrides) as server:
        yield server
