"""Shared fixtures of the browser tests (a module may override them, e.g. with fake media)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.media import ENGLISH_ANSWER, face_y4m, speech_wav
from tests.support.pages import chromium, fake_media_chromium
from tests.support.process import ServerProcess, server_process
from tests.support.server import RunningServer, running_server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A plain headless Chromium."""
    async with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A face video (y4m) and the English answer spoken (wav), for fake capture devices."""
    d = tmp_path_factory.mktemp("media")
    return face_y4m(d / "face.y4m", seconds=4.0), speech_wav(ENGLISH_ANSWER, d / "speech.wav")


@pytest.fixture
async def speaking_browser(media: tuple[Path, Path]) -> AsyncIterator[Browser]:
    """Chromium whose camera shows a face and whose microphone says ``ENGLISH_ANSWER``."""
    video, audio = media
    async with fake_media_chromium(video, audio) as b:
        yield b


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """An in-process server without analyzers (pages only)."""
    async with running_server(tmp_path / "data", analysis_workers=0) as s:
        yield s


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server process with demo data (``interview-live demo`` + ``serve``)."""
    with server_process(tmp_path / "data") as srv:
        yield srv
