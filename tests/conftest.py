"""Shared fixtures: an isolated cache/config per test, never the network."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path_factory.mktemp("aigc-cache")
    monkeypatch.setenv("AIGC_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AIGC_MODELS", raising=False)
    monkeypatch.delenv("AIGC_ALLOW_DOWNLOADS", raising=False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "examples" / "data"
