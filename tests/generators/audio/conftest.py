"""Real voices and Whisper models, loaded once per session (all shipped in packages, offline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aigc_sdk.registry import ModelRegistry


@pytest.fixture(scope="session")
def joe() -> Iterator[object]:
    pytest.importorskip("piper", reason="needs the voice extra")
    with ModelRegistry().create("en-joe") as voice:
        yield voice


@pytest.fixture(scope="session")
def tiny_whisper() -> Iterator[object]:
    pytest.importorskip("faster_whisper", reason="needs the asr extra")
    with ModelRegistry().create("whisper-tiny-en") as asr:
        yield asr


@pytest.fixture(scope="session")
def espeak() -> Iterator[object]:
    pytest.importorskip("espeakng_loader", reason="needs the audio extra")
    with ModelRegistry().create("espeak") as voice:
        yield voice
