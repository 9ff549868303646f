"""The load generator's entry point names the extra to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

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
