"""The per-language speech-model map: bundled defaults, the joined multilingual model, and
start-up errors for maps that would transcribe garbage."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.speech.asr import AsrConfig, AsrModels
from analyzers.speech.asr_models import (
    BASE_MODEL_BYTES,
    BASE_MODEL_SHA256,
    BUNDLED_BASE,
    BUNDLED_TINY_EN,
    ModelConfigError,
    hears,
    join_bundled_base,
    model_for,
    parse_model_map,
    resolve_model_map,
    tiny_en_path,
)
from server.app.app import asr_config
from server.core.config import ConfigError, load_settings
from tests.support.server import TEST_MODELS_DIR


def test_defaults_are_tiny_en_for_english_and_multilingual_base_for_the_rest() -> None:
    resolved = resolve_model_map({}, TEST_MODELS_DIR)
    en, zh, fr = (model_for(lang, resolved) for lang in ("en", "zh", "fr"))
    assert en is not None and en.name == "tiny.en" and not en.multilingual
    assert zh is not None and zh.name == "whisper-base" and zh.multilingual
    assert fr == zh  # every other language falls back to the multilingual model


def test_bundled_base_is_joined_once_and_verified(tmp_path: Path) -> None:
    target = join_bundled_base(tmp_path)
    model_bin = target / "model.bin"
    assert model_bin.stat().st_size == BASE_MODEL_BYTES
    digest = hashlib.sha256(model_bin.read_bytes()).hexdigest()
    assert digest == BASE_MODEL_SHA256
    assert {p.name for p in target.iterdir()} >= {"config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = model_bin.stat().st_mtime_ns
    assert join_bundled_base(tmp_path) == target
    assert model_bin.stat().st_mtime_ns == mtime  # not joined again


def test_a_damaged_join_is_replaced(tmp_path: Path) -> None:
    target = join_bundled_base(tmp_path)
    with open(target / "model.bin", "r+b") as f:
        f.truncate(1000)  # e.g. a disk that filled up
    join_bundled_base(tmp_path)
    assert (target / "model.bin").stat().st_size == BASE_MODEL_BYTES


@pytest.mark.parametrize("language", ["zh", "*", "ja"])
def test_english_only_model_for_another_language_is_a_clear_error(language: str) -> None:
    with pytest.raises(ModelConfigError, match="English-only"):
        resolve_model_map({language: BUNDLED_TINY_EN}, TEST_MODELS_DIR)


def test_an_english_only_directory_is_recognised_by_its_vocabulary(tmp_path: Path) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(tiny_en_path(), copy)
    with pytest.raises(ModelConfigError, match="my-model is an English-only model"):
        resolve_model_map({"zh": str(copy)}, TEST_MODELS_DIR)
    assert resolve_model_map({"en": str(copy)}, TEST_MODELS_DIR)["en"] is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"zh": "/nonexistent/whisper-small"}, "is not a directory"),
        ({"zh": "."}, "no model.bin"),
        ({"zh-cn!": BUNDLED_BASE}, "not a language code"),
    ],
)
def test_bad_entries_name_what_is_wrong(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ModelConfigError, match=message):
        resolve_model_map(overrides, TEST_MODELS_DIR)


def test_none_switches_a_language_off() -> None:
    resolved = resolve_model_map({"zh": "none"}, TEST_MODELS_DIR)
    assert model_for("zh", resolved) is None
    assert model_for("en", resolved) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zh=/m/small, en=bundled:tiny.en", {"zh": "/m/small", "en": "bundled:tiny.en"}),
        ("ZH=bundled:base", {"zh": "bundled:base"}),
        ("", {}),
    ],
)
def test_map_syntax(text: str, expected: dict[str, str]) -> None:
    assert parse_model_map(text) == expected


@pytest.mark.parametrize("text", ["zh", "zh=", "=x", "zh=a,zh=b"])
def test_bad_map_syntax(text: str) -> None:
    with pytest.raises(ModelConfigError):
        parse_model_map(text)


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        env={
            "INTERVIEW_ASR_MODELS": '{"zh": "none"}',
            "INTERVIEW_MODELS_DIR": str(TEST_MODELS_DIR),
        },
        data_dir=tmp_path,
    )
    model_map = settings.asr_model_map()
    assert not hears("zh-CN", model_map) and hears("en", model_map)
    with pytest.raises(ConfigError, match="INTERVIEW_ASR_MODELS"):
        load_settings(env={"INTERVIEW_ASR_MODELS": "zh"}, data_dir=tmp_path)
    bad = load_settings(env={"INTERVIEW_ASR_MODELS": "zh=bundled:tiny.en"}, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="English-only"):
        asr_config(bad)


def test_finals_decoded_ahead_can_be_switched_off(tmp_path: Path) -> None:
    env = {"INTERVIEW_MODELS_DIR": str(TEST_MODELS_DIR), "INTERVIEW_ASR_MODELS": '{"zh": "none"}'}
    assert asr_config(load_settings(env=env, data_dir=tmp_path)).speculative_finals
    off = load_settings(env={**env, "INTERVIEW_ASR_SPECULATIVE_FINALS": "false"}, data_dir=tmp_path)
    assert not asr_config(off).speculative_finals
    with pytest.raises(ConfigError, match="INTERVIEW_ASR_SPECULATIVE_FINALS"):
        load_settings(env={"INTERVIEW_ASR_SPECULATIVE_FINALS": "maybe"}, data_dir=tmp_path)


def test_legacy_single_model_option_keeps_its_meaning(tmp_path: Path) -> None:
    """``--asr-model DIR``: that model for every language it can hear."""
    base = str(join_bundled_base(TEST_MODELS_DIR))
    multi = load_settings(env={}, data_dir=tmp_path, asr_model=base, models_dir=TEST_MODELS_DIR)
    config = asr_config(multi)
    assert config.model_path("zh") == base and config.model_path("en") == base
    english = load_settings(
        env={}, data_dir=tmp_path, asr_model=str(tiny_en_path()), models_dir=TEST_MODELS_DIR
    )
    config = asr_config(english)
    assert config.model_path("en") == str(tiny_en_path())
    assert config.model_path("zh") == base  # Chinese keeps the bundled multilingual model


def test_models_load_lazily_once_per_directory() -> None:
    config = asr_config(load_settings(env={}, models_dir=TEST_MODELS_DIR))
    models = AsrModels(config)
    assert models.load_s == {}
    en = models.for_language("en")
    assert list(models.load_s) == [str(tiny_en_path())]
    zh = models.for_language("zh")
    assert zh is not en and zh.model.is_multilingual
    assert models.for_language("fr") is zh  # same directory, loaded once
    assert len(models.load_s) == 2
    assert AsrModels(AsrConfig(models=(("en", str(tiny_en_path())),))).for_language("zh") is None


def test_server_refuses_to_start_with_an_english_only_chinese_model(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.app.cli",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "1",
        ],
        env={"INTERVIEW_ASR_MODELS": "zh=bundled:tiny.en", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "tiny.en is an English-only model and cannot transcribe 'zh'" in proc.stderr
