"""A résumé "parser" for the parse worker that hangs or dies on some files, like a parser bug
would (kept in its own small module: the worker process imports it)."""

from __future__ import annotations

import os
import time
from typing import Any

HANG_S = 60.0


def misbehaving_parse(filename: str, data: bytes, reference: tuple[int, int]) -> dict[str, Any]:
    if filename.startswith("hang"):
        time.sleep(HANG_S)
    if filename.startswith("crash"):
        os._exit(3)
    return {"error": "fine", "message": filename}
