"""The ``interview-live-loadtest`` entry point: says which extra to install before anything
heavy is imported, then runs :mod:`loadtest.run`.

The load generator needs more than the server (a face image from scikit-image, plots from
matplotlib); a plain ``pip install interview-live`` does not bring them, and a traceback about
``skimage`` tells a new user nothing.
"""

from __future__ import annotations

import importlib.util
import sys

INSTALL_HINT = "pip install 'interview-live[loadtest]'"
REQUIRED_MODULES: dict[str, str] = {"skimage": "scikit-image", "matplotlib": "matplotlib"}
"""Modules the load generator always imports, and the distribution that provides each."""


def missing_distributions() -> list[str]:
    """The distributions of :data:`REQUIRED_MODULES` that cannot be imported here."""
    return [dist for mod, dist in REQUIRED_MODULES.items() if importlib.util.find_spec(mod) is None]


def main(argv: list[str] | None = None) -> int:
    missing = missing_distributions()
    if missing:
        print(
            f"interview-live-loadtest needs the load-test extra ({', '.join(missing)} missing):\n"
            f"  {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    from loadtest.run import main as run_main

    return run_main(argv)


if __name__ == "__main__":
    sys.exit(main())
