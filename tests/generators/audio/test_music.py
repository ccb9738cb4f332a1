"""MusicGen through transformers, with a tiny random-weight model saved and loaded back (offline)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError
from aigc_sdk.generators.audio.music import MusicGenerator, describe
from aigc_sdk.registry import LocalSource, ModelRegistry
from aigc_sdk.types import MusicRequest
from tests.support import require_module

require_module("transformers", reason="needs the audio extra")

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from audio_shapes import musicgen_spec, save_musicgen  # noqa: E402


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> MusicGenerator:
    folder = save_musicgen(tmp_path_factory.mktemp("tiny-musicgen"), "tiny")
    spec = musicgen_spec("tiny-musicgen", folder, options={"top_k": 20})
    return ModelRegistry([spec], catalogs=False).create("tiny-musicgen")  # type: ignore[no-any-return]


def test_generates_the_requested_duration_reproducibly(music: MusicGenerator) -> None:
    request = MusicRequest(prompt="calm piano bed", duration=1.0, tempo=90, key="A minor", seed=4)
    result = music(request)
    assert result.audio.sample_rate == 8000
    assert result.audio.duration == pytest.approx(1.0)
    assert float(np.abs(result.audio.samples).max()) > 0.0
    assert result.provenance.extra["description"] == "calm piano bed, 90 bpm, in A minor"
    assert np.array_equal(music(request).audio.samples, result.audio.samples)
    resampled = music(prompt="upbeat drums", duration=0.5, sample_rate=16_000, seed=1).audio
    assert resampled.sample_rate == 16_000 and resampled.duration == pytest.approx(0.5)


def test_bad_input(music: MusicGenerator, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="longer than this model"):
        music(prompt="calm bed", duration=30.0)
    with pytest.raises(InvalidRequestError, match="one piece"):
        music(prompt="calm bed", duration=1.0, num_outputs=2)
    spec = music.spec.model_copy(update={"source": LocalSource(path=tmp_path)})
    with pytest.raises(ModelLoadError):
        MusicGenerator(spec)


def test_describe() -> None:
    assert describe(MusicRequest(prompt="news bed")) == "news bed"
