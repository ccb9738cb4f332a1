"""Audio processing: loudness, trim, resample, stretch, crossfade, ducking, mixing, file formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.audio import (
    concatenate,
    duck,
    loudness,
    mix,
    normalize_loudness,
    resample,
    time_stretch,
    to_channels,
    trim_silence,
)
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.media import Audio
from aigc_sdk.provenance import Provenance

RATE = 16_000


def tone(seconds: float, freq: float = 440.0, amp: float = 0.3, rate: int = RATE) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio(amp * np.sin(2 * np.pi * freq * t), rate)


def test_loudness_normalisation_hits_the_target() -> None:
    for target in (-23.0, -16.0):
        assert loudness(normalize_loudness(tone(2.0, amp=0.05), target)) == pytest.approx(target, abs=0.1)
    loud = normalize_loudness(tone(2.0, amp=0.01), -1.0)  # would need > 0 dBFS peaks: limited instead
    assert float(np.abs(loud.samples).max()) <= 0.99 + 1e-6
    silence = Audio(np.zeros(RATE), RATE)
    assert normalize_loudness(silence).samples.max() == 0.0
    with pytest.raises(InvalidRequestError, match=r"0\.4 s"):
        loudness(tone(0.1))
    with pytest.raises(InvalidRequestError, match="LUFS"):
        normalize_loudness(tone(1.0), 3.0)


def test_trim_silence_keeps_the_sound_and_a_margin() -> None:
    padded = Audio(np.concatenate([np.zeros(RATE), tone(1.0).samples, np.zeros(RATE // 2)]), RATE)
    trimmed = trim_silence(padded, keep=0.1)
    assert 1.1 <= trimmed.duration <= 1.3
    assert trim_silence(Audio(np.zeros(RATE), RATE)).duration == 0.0


def test_resample_and_channels_keep_duration() -> None:
    stereo = to_channels(tone(1.0), 2)
    out = resample(stereo, 44_100)
    assert out.sample_rate == 44_100 and out.channels == 2
    assert out.duration == pytest.approx(1.0, abs=1e-3)
    assert to_channels(out, 1).channels == 1
    with pytest.raises(InvalidRequestError):
        to_channels(Audio(np.zeros((10, 3)), RATE), 2)


def test_time_stretch_to_a_duration_keeps_pitch() -> None:
    source = tone(2.0, freq=500.0)
    stretched = time_stretch(source, 1.5)
    assert stretched.duration == pytest.approx(1.5, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(stretched.samples))
    peak_hz = np.argmax(spectrum) * RATE / stretched.samples.size
    assert peak_hz == pytest.approx(500.0, abs=10.0)
    with pytest.raises(InvalidRequestError, match="4×"):
        time_stretch(source, 0.1)


def test_concatenate_with_crossfade_and_gap() -> None:
    a, b = tone(1.0, 300.0), tone(1.0, 600.0, rate=8000)  # the second is resampled
    joined = concatenate([a, b], crossfade=0.2)
    assert joined.sample_rate == RATE
    assert joined.duration == pytest.approx(1.8, abs=1e-3)
    assert float(np.abs(joined.samples[int(0.9 * RATE) : int(1.0 * RATE)]).max()) > 0.1  # no dip at the seam
    assert concatenate([a, b], gap=0.5).duration == pytest.approx(2.5, abs=1e-3)
    with pytest.raises(InvalidRequestError):
        concatenate([])
    with pytest.raises(InvalidRequestError):
        concatenate([a, b], crossfade=0.1, gap=0.1)


def test_duck_lowers_music_under_speech_and_mix_limits_peaks() -> None:
    music = to_channels(tone(4.0, 220.0, amp=0.3), 2)
    speech = Audio(np.concatenate([np.zeros(RATE), tone(2.0, 800.0, amp=0.5).samples]), RATE)
    ducked = duck(music, speech, amount_db=-18.0, mix_speech=False)
    level = lambda a, s, e: float(np.sqrt(np.mean(a.samples[int(s * RATE) : int(e * RATE)] ** 2)))  # noqa: E731
    assert level(ducked, 0.2, 0.8) == pytest.approx(level(music, 0.2, 0.8), rel=0.05)
    assert level(ducked, 1.6, 2.8) < level(music, 1.6, 2.8) * 0.2
    assert level(ducked, 3.7, 3.95) > level(music, 3.7, 3.95) * 0.5  # released after the speech
    voiced = duck(music, speech)
    assert voiced.channels == 2 and voiced.duration == pytest.approx(4.0)
    loud = mix([tone(1.0, amp=0.9), tone(1.0, amp=0.9)])
    assert float(np.abs(loud.samples).max()) <= 0.99 + 1e-6
    with pytest.raises(InvalidRequestError, match="gains"):
        mix([tone(1.0)], gains_db=[0.0, 1.0])


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_processed_audio_saves_in_every_format(tmp_path: Path, suffix: str) -> None:
    prov = Provenance(model_id="music-bed", task="text-to-music", backend="b")
    out = normalize_loudness(to_channels(tone(1.0), 2), -16.0)
    path = Audio(out.samples, out.sample_rate, prov).save(tmp_path / f"bed{suffix}")
    back = Audio.load(path)
    assert back.channels == 2
    assert back.duration == pytest.approx(1.0, abs=0.1)  # mp3 pads a frame
    assert back.provenance is not None and back.provenance.model_id == "music-bed"
