"""Why a résumé file could not be read: :class:`ResumeFileError` with a stable ``code``."""

from __future__ import annotations

import enum


class ResumeErrorCode(enum.StrEnum):
    """Why a file could not be read (stable strings: the API returns them, the UI translates)."""

    TOO_LARGE = "too_large"
    """Over the byte limit (one file, or a zip's total uncompressed size)."""
    EMPTY = "empty"
    """No bytes, or only white space."""
    UNSUPPORTED_TYPE = "unsupported_type"
    """Not PDF, DOCX or plain text (legacy .doc, images, spreadsheets, binary data, ...)."""
    TYPE_MISMATCH = "type_mismatch"
    """The content is one supported type, the extension says another (``cv.pdf`` holding DOCX)."""
    ENCRYPTED_PDF = "encrypted_pdf"
    """A PDF that needs a password to open."""
    NO_TEXT = "no_text"
    """A PDF or DOCX without a text layer (a scanned image)."""
    CORRUPT = "corrupt"
    """Damaged, or not what its extension says (``.pdf`` without a PDF header)."""
    TOO_MANY_FILES = "too_many_files"
    """A bulk zip with more résumés than allowed."""
    UNSAFE_PATH = "unsafe_path"
    """A bulk zip entry named with an absolute path or ``..``."""
    ENCRYPTED_ARCHIVE = "encrypted_archive"
    """A bulk zip with password-protected entries."""


class ResumeFileError(Exception):
    """A file that cannot be turned into text; ``code`` says why, ``message`` says it to HR."""

    def __init__(self, code: ResumeErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
