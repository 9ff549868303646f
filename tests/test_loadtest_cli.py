"""The load generator's entry point names the extra to install instead of a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from loadtest.cli import INSTALL_HINT, missing_distributions


def test_console_script_goes_through_the_dependency_check() -> None:
    (script,) = entry_points(group="console_scripts", name="interview-live-loadtest")
    assert script.value == "loadtest.cli:main"


def test_nothing_missing_with_the_extra_installed() -> None:
    assert missing_distributions() == []


def test_missing_face_image_package_is_named_with_the_install_line() -> None:
    code = (
        "import sys; sys.modules['skimage'] = None\n"
        "from loadtest.cli import main\n"
        "sys.exit(main(['--candidates', '1', '--duration', '5']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "scikit-image missing" in done.stderr
    assert INSTALL_HINT in done.stderr
    assert "Traceback" not in done.stderr
    # Nothing heavy was imported (no server started, no media built) before the check.
    assert done.stdout == ""


def test_ipc_bench_reports_both_pipe_sizes_and_batches(tmp_path: Path) -> None:
    from loadtest import ipc_bench

    out = tmp_path / "ipc.json"
    argv = ["--frames", "20", "--rate", "200", "--repeat", "1", "--batch", "4"]
    assert ipc_bench.main([*argv, "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert [(r["pipe_bytes_asked"], r["batch"]) for r in results] == [
        (64 * 1024, 1),
        (ipc_bench.WORKER_PIPE_BYTES, 1),
        (ipc_bench.WORKER_PIPE_BYTES, 4),
    ]
    assert results[0]["pipe_bytes"] == 64 * 1024
    assert results[1]["pipe_bytes"] >= 256 * 1024
    for r in results:
        assert r["sender_ms_per_frame"] > 0 and r["receiver_ms_per_frame"] > 0
