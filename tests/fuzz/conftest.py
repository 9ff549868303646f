"""Fixtures shared by the fuzzers: one real server per module, on its own loop thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fuzz_server import ServerThread

FUZZ_MARKER = "fuzz"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``fuzz`` once the marker is registered in pyproject
    (``--strict-markers`` refuses an unregistered one); until then select by path."""
    if not any(line.split(":", 1)[0].strip() == FUZZ_MARKER for line in config.getini("markers")):
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(FUZZ_MARKER)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server without live analysis, shared by the examples of one test module."""
    # webhooks go to a closed port on loopback (test_api_schema), which must be allowed
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    with ServerThread(data_dir, webhook_allow_networks=("127.0.0.1/32",)) as server:
        yield server
