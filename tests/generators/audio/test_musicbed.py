"""The no-weights music bed: tempo, key, mood and duration are honoured; seeds are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.audio.musicbed import MusicBedGenerator, plan_bed
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import MusicRequest


@pytest.fixture(scope="module")
def bed() -> MusicBedGenerator:
    return MusicBedGenerator(ModelRegistry().get("music-bed"))


def test_default_text_to_music_is_the_bed() -> None:
    assert ModelRegistry().resolve("text-to-music").id == "music-bed"


def test_duration_tempo_key_and_chords(bed: MusicBedGenerator) -> None:
    result = bed(prompt="urgent breaking news sting", duration=6.0, tempo=120, key="D minor", seed=3)
    audio = result.audio
    assert audio.duration == pytest.approx(6.0)
    assert audio.channels == 2 and audio.sample_rate == 44_100
    assert float(np.sqrt(np.mean(audio.samples**2))) > 0.05 and float(np.abs(audio.samples).max()) <= 0.5 + 1e-6
    assert [s.text for s in result.segments] == ["Dm", "Bb", "Gm"]  # 2 s bars at 120 bpm: i, VI, iv
    assert result.segments[-1].end == pytest.approx(6.0)
    extra = result.provenance.extra
    assert extra["mood"] == "urgent" and extra["tempo"] == 120.0 and extra["key"] == "D minor"
    # an eighth-note pulse at 120 bpm: the envelope repeats every 0.25 s
    env = np.abs(audio.samples[:, 0])
    hop = 441
    frames = env[: env.size // hop * hop].reshape(-1, hop).mean(axis=1)
    onsets = np.maximum(np.diff(frames), 0.0)
    onsets -= onsets.mean()
    corr = np.correlate(onsets, onsets, "full")[onsets.size - 1 :]
    assert np.argmax(corr[15:45]) + 15 == 25  # 25 frames of 10 ms


def test_moods_from_the_prompt() -> None:
    assert plan_bed(MusicRequest(prompt="gentle ambient morning", duration=5)).mood == "calm"
    assert plan_bed(MusicRequest(prompt="a somber tribute", duration=5)).mode == "minor"
    assert plan_bed(MusicRequest(prompt="anything", mood="upbeat", duration=5)).tempo == 118.0


def test_seeded_and_resampled(bed: MusicBedGenerator) -> None:
    a = bed(prompt="calm bed", duration=2.0, seed=1).audio.samples
    b = bed(prompt="calm bed", duration=2.0, seed=1).audio.samples
    c = bed(prompt="calm bed", duration=2.0, seed=2).audio.samples
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert bed(prompt="calm bed", duration=1.0, sample_rate=22_050, seed=1).audio.sample_rate == 22_050
    with pytest.raises(InvalidRequestError, match="one piece"):
        bed(prompt="calm bed", duration=1.0, num_outputs=2)
    with pytest.raises(InvalidRequestError, match="duration"):
        bed(prompt="calm bed", duration=-1.0)
