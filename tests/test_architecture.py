"""The package map of docs/architecture.md holds: import-linter contracts (pyproject.toml),
aiohttp's request types only in the HTTP layers, SQL only in server/storage, small folders,
and an installable wheel that carries the web pages and data files."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTTP_LAYERS = ("server/api/", "server/app/")
PRODUCT_PACKAGES = ("common", "server", "media", "analyzers", "loadtest")
SQL_HOME = "server/storage/"
SQL_ELSEWHERE = {
    "loadtest/postgres.py": "creates the databases of a throwaway cluster (tests, load tests)",
}
"""Modules outside the storage layer allowed SQL, and why."""
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|REPLACE|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE|DROP|ALTER|PRAGMA"
    r"|BEGIN|COMMIT|ROLLBACK)\b"
)
"""The start of an SQL statement in a string literal (SQL keywords are written upper case)."""
MODULES_PER_FOLDER_MAX = 15


def _product_modules() -> list[Path]:
    return [p for top in PRODUCT_PACKAGES for p in (ROOT / top).rglob("*.py")]


def test_import_contracts_are_kept() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(linter), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _imports_aiohttp_web(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "aiohttp":
            if any(alias.name == "web" for alias in node.names):
                return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiohttp.web"):
            return True
        if isinstance(node, ast.Import) and any(
            a.name.startswith("aiohttp.web") for a in node.names
        ):
            return True
    return False


def test_request_types_stay_in_the_http_layers() -> None:
    offenders = {
        str(p.relative_to(ROOT))
        for top in ("server", "analyzers", "media", "common")
        for p in (ROOT / top).rglob("*.py")
        if not str(p.relative_to(ROOT)).startswith(HTTP_LAYERS) and _imports_aiohttp_web(p)
    }
    assert not offenders, sorted(offenders)


def _sql_literals(path: Path) -> list[str]:
    """The string literals (f-string parts too) of a module that start an SQL statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and SQL_STATEMENT.match(node.value)
    ]


def test_sql_stays_in_storage() -> None:
    offenders = {
        f"{p.relative_to(ROOT)}: {found[0][:60]!r}"
        for p in _product_modules()
        if not str(p.relative_to(ROOT)).startswith(SQL_HOME)
        and str(p.relative_to(ROOT)) not in SQL_ELSEWHERE
        and (found := _sql_literals(p))
    }
    assert not offenders, sorted(offenders)


def test_the_sql_check_sees_sql() -> None:
    assert _sql_literals(ROOT / "server/storage/repos/outbox.py")
    assert not SQL_STATEMENT.match("Update the job's examiners")


def test_no_folder_is_a_heap() -> None:
    for folder in [ROOT / "server", *(p for p in (ROOT / "server").iterdir() if p.is_dir())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MODULES_PER_FOLDER_MAX, (folder, len(modules))


@pytest.mark.timeout(300)
def test_the_wheel_carries_pages_data_and_every_package(tmp_path: Path) -> None:
    # from a copy of the tracked files (and new ones not ignored), as a clean clone has them
    # once committed (setuptools writes build/ into the source tree, where files from earlier
    # layouts would linger)
    source = tmp_path / "src"
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = tmp_path.glob("interview_live-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "web/candidate/index.html",
        "web/examiner/index.html",
        "web/admin/index.html",
        "server/data/question_bank.json",
        "server/storage/migrations/0001_initial.sql",
        "server/data/resume/headings.json",
        "server/data/demo/resumes.json",
        "server/data/demo/wang-fang.txt",
        "common/competencies.py",
        "server/api/routes_candidate.py",
        "server/storage/store.py",
    ]
    missing = [n for n in expected if n not in names]
    assert not missing, missing
    migrations = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "server/storage/migrations").glob("*.sql")
    }
    assert migrations <= names, sorted(migrations - names)
    web_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "web").rglob("*") if p.is_file()}
    shipped = {n for n in names if n.startswith("web/")}
    missing_pages = sorted(p for p in web_files - shipped if "__pycache__" not in p)
    assert not missing_pages, missing_pages
