"""Search a data directory for plaintext that must only exist encrypted."""

from __future__ import annotations

from pathlib import Path


def scan_for_plaintext(root: Path, needles: list[bytes]) -> list[tuple[str, bytes]]:
    """Every (file, needle) where a needle occurs in a file under ``root`` (UTF-8 and, for
    text, UTF-16 too, as SQLite may store either)."""
    variants = [
        (n, v) for n in needles for v in {n, n.decode("utf-8", "replace").encode("utf-16-le")}
    ]
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle, variant in variants:
            if variant in data:
                found.append((str(path.relative_to(root)), needle))
    return found
