"""Fixtures for the text generator tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.generators.text.tiny_lm import build_tiny_lm


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"))
