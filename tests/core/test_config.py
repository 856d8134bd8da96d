"""Settings from the environment: the retrain budget and token-free commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import DEFAULT_KEEP_REJECTED, DEFAULT_RETRAIN_EPOCHS, ConfigError, load_settings

TOKEN = "123456:TEST-secret"


def test_retrain_budget_defaults_and_overrides():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "DIGITBOT_HOME": "/tmp/x"})
    assert settings.retrain_epochs == DEFAULT_RETRAIN_EPOCHS and settings.retrain_max_samples is None
    assert settings.registry_dir == Path("/tmp/x/models")
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "DIGITBOT_RETRAIN_EPOCHS": " 1 ",
                              "DIGITBOT_RETRAIN_MAX_SAMPLES": "400"})
    assert (settings.retrain_epochs, settings.retrain_max_samples) == (1, 400)


def test_rejected_versions_kept_default_and_override():
    assert load_settings({}, require_token=False).retrain_keep_rejected == DEFAULT_KEEP_REJECTED == 3
    settings = load_settings({"DIGITBOT_RETRAIN_KEEP_REJECTED": "5"}, require_token=False)
    assert settings.retrain_keep_rejected == 5


@pytest.mark.parametrize("name, value", [("DIGITBOT_RETRAIN_EPOCHS", "0"), ("DIGITBOT_RETRAIN_EPOCHS", "two"),
                                         ("DIGITBOT_RETRAIN_MAX_SAMPLES", "-5"),
                                         ("DIGITBOT_RETRAIN_KEEP_REJECTED", "0")])
def test_bad_retrain_budget_is_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})


def test_commands_without_telegram_need_no_token():
    assert load_settings({}, require_token=False).token == ""
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings({})


def test_number_reader_paths_from_the_environment(tmp_path):
    import os

    from core.config import MODELS_DIR, reader_paths_from_env

    shipped = (MODELS_DIR / "number_reader.tflite", MODELS_DIR / "number_reader_2.tflite")
    assert reader_paths_from_env({}) == shipped
    assert reader_paths_from_env({"DIGITBOT_NUMBER_READER": " "}) == shipped
    assert reader_paths_from_env({"DIGITBOT_NUMBER_READER": str(tmp_path / "r.tflite")}) == (tmp_path / "r.tflite",)
    both = f"{tmp_path / 'a.tflite'}{os.pathsep} {tmp_path / 'b.tflite'}{os.pathsep}"
    assert reader_paths_from_env({"DIGITBOT_NUMBER_READER": both}) == (tmp_path / "a.tflite", tmp_path / "b.tflite")
    for off in ("off", "OFF", "none", "0", "false"):
        assert reader_paths_from_env({"DIGITBOT_NUMBER_READER": off}) == ()
