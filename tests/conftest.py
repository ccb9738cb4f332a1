"""Shared fixtures: an isolated cache/config per test, never the network."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _patched_voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of patched Piper voices for the whole run (derived data: each test would patch again)."""
    return tmp_path_factory.mktemp("voices")


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _patched_voices: Path
) -> None:
    cache = tmp_path_factory.mktemp("aigc-cache")
    (cache / "voices").symlink_to(_patched_voices, target_is_directory=True)
    monkeypatch.setenv("AIGC_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AIGC_MODELS", raising=False)
    monkeypatch.delenv("AIGC_ALLOW_DOWNLOADS", raising=False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "data"
