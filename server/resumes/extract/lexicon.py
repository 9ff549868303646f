"""The word lists of the extraction rules, read once from ``server/data/resume/*.json``.

Each file is a JSON object: ``"about"`` says what it holds, every other key names a list of
strings (words, or regular-expression alternatives where ``"about"`` says so).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

_FOLDER = ("data", "resume")
_ABOUT = "about"


class LexiconError(RuntimeError):
    """A word-list file is missing or malformed (a packaging bug, not user input)."""


@functools.cache
def _lists(name: str) -> dict[str, tuple[str, ...]]:
    ref = resources.files("server")
    for part in (*_FOLDER, f"{name}.json"):
        ref = ref.joinpath(part)
    where = "/".join(("server", *_FOLDER, f"{name}.json"))
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LexiconError(f"{where}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{where}: must be a JSON object")
    lists: dict[str, tuple[str, ...]] = {}
    for key, value in data.items():
        if key == _ABOUT:
            continue
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise LexiconError(f"{where}: {key} must be a list of strings")
        lists[key] = tuple(value)
    return lists


def word_list(name: str, key: str) -> tuple[str, ...]:
    """The list ``key`` of ``server/data/resume/<name>.json``, in file order."""
    try:
        return _lists(name)[key]
    except KeyError:
        raise LexiconError(f"server/data/resume/{name}.json: no list {key!r}") from None


def list_keys(name: str) -> tuple[str, ...]:
    """The names of the lists of ``server/data/resume/<name>.json``, in file order."""
    return tuple(_lists(name))
