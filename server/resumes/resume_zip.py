"""Bulk uploads: the résumé files of one zip archive (:func:`expand_zip`)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

from server.resumes.resume_docx import is_docx
from server.resumes.resume_errors import ResumeErrorCode, ResumeFileError
from server.resumes.resume_text import strict_decode

MAX_SKIPPED_ZIP_ENTRIES = 1_000
"""Directories and system files (``__MACOSX``, ``.DS_Store``) tolerated in a bulk zip."""

_SKIPPED_BASENAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_UNICODE_PATH_EXTRA_ID = 0x7075
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1


def expand_zip(
    filename: str,
    data: bytes,
    max_files: int,
    max_total_bytes: int,
    *,
    max_file_bytes: int | None = None,
    on_too_large: Callable[[str, int], None] | None = None,
) -> list[tuple[str, bytes]]:
    """The files of a bulk upload sent as one zip: ``(path inside the zip, bytes)`` in order.

    Directories and system files (``__MACOSX/``, ``.DS_Store``, ``._*``, ``~$*``) are skipped.
    File names without the UTF-8 flag are decoded as UTF-8 when valid, else GB18030 (zips made
    on Chinese Windows). Refuses archives with more than ``max_files`` files, more than
    ``max_total_bytes`` uncompressed, encrypted entries, or absolute / ``..`` paths. A DOCX sent
    here is one résumé, not an archive: it comes back as the single file.

    ``max_file_bytes``: an entry declaring a larger uncompressed size is not unpacked; it is
    reported to ``on_too_large(name, declared bytes)`` and the rest of the archive is used
    (without the callback it refuses the archive). Sizes are the declared ones: an entry that
    holds more than it declares is ``corrupt`` (never read past its declared size), so the
    bytes returned stay within both budgets.
    """
    zf = _open_zip(filename, data)
    with zf:
        if is_docx(zf):
            fits = _fits(filename, len(data), max_file_bytes, on_too_large)
            return [(filename, data)] if fits else []
        infos = zf.infolist()
        if len(infos) > max_files + MAX_SKIPPED_ZIP_ENTRIES:
            raise _too_many(len(infos), max_files)
        kept = [(name, info) for info in infos if (name := _entry_name(info)) is not None]
        if len(kept) > max_files:
            raise _too_many(len(kept), max_files)
        kept = [
            (name, info)
            for name, info in kept
            if _fits(name, info.file_size, max_file_bytes, on_too_large)
        ]
        total = sum(info.file_size for _, info in kept)
        if total > max_total_bytes:
            raise ResumeFileError(
                ResumeErrorCode.TOO_LARGE,
                f"{total} bytes uncompressed, the limit is {max_total_bytes} bytes",
            )
        return [(name, _read_entry(zf, info)) for name, info in kept]


def _fits(
    name: str,
    size: int,
    max_file_bytes: int | None,
    on_too_large: Callable[[str, int], None] | None,
) -> bool:
    """Whether a file of ``size`` bytes is within the per-file limit; one that is not is
    reported to ``on_too_large``, or refuses the archive without it."""
    if max_file_bytes is None or size <= max_file_bytes:
        return True
    if on_too_large is None:
        raise ResumeFileError(
            ResumeErrorCode.TOO_LARGE,
            f"{name} is {size} bytes uncompressed, the limit is {max_file_bytes} bytes",
        )
    on_too_large(name, size)
    return False


def _open_zip(filename: str, data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ResumeFileError(ResumeErrorCode.EMPTY, "the archive is empty")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"{filename} is not a readable zip archive"
        ) from exc


def _too_many(count: int, max_files: int) -> ResumeFileError:
    return ResumeFileError(
        ResumeErrorCode.TOO_MANY_FILES, f"{count} files in the archive, the limit is {max_files}"
    )


def _entry_name(info: zipfile.ZipInfo) -> str | None:
    """The entry's safe relative path, or None to skip it; raises on path tricks."""
    name = _decoded_name(info).replace("\\", "/")
    if info.is_dir() or name.endswith("/"):
        return None
    parts = name.split("/")
    if name.startswith("/") or ":" in parts[0] or ".." in parts or "\x00" in name:
        raise ResumeFileError(ResumeErrorCode.UNSAFE_PATH, f"unsafe path in the archive: {name!r}")
    base = parts[-1]
    if (
        parts[0] == "__MACOSX"
        or base.lower() in _SKIPPED_BASENAMES
        or base.startswith(("._", "~$"))
    ):
        return None
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise ResumeFileError(
            ResumeErrorCode.ENCRYPTED_ARCHIVE, f"{name} is password-protected in the archive"
        )
    return "/".join(part for part in parts if part not in ("", "."))


def _decoded_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")  # zipfile decoded the raw bytes as CP437
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    for encoding in ("utf-8", "gb18030"):
        decoded = strict_decode(raw, encoding)
        if decoded is not None:
            return decoded
    return info.filename


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when it matches the header name."""
    offset = 0
    while offset + 4 <= len(extra):
        field_id, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + size]
        offset += 4 + size
        if field_id != _UNICODE_PATH_EXTRA_ID or len(body) < 5 or body[0] != 1:
            continue
        (crc,) = struct.unpack_from("<I", body, 1)
        if crc == zlib.crc32(raw_name):
            return strict_decode(body[5:], "utf-8")
    return None


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, never more than its declared size (zipfile checks size and CRC)."""
    try:
        with zf.open(info) as handle:
            return handle.read(info.file_size + 1)[: info.file_size]
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ResumeFileError(
            ResumeErrorCode.CORRUPT, f"{info.filename} could not be unpacked"
        ) from exc
