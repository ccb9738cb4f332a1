"""faster-whisper transcription with the bundled models, and joining split weights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, MediaError, ModelIntegrityError, ModelNotAvailableError
from aigc_sdk.generators.audio.whisper import Transcriber, assemble_parts, load_speech
from aigc_sdk.media import Audio
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import AudioResult
from tests.support import require_module

require_module("faster_whisper", reason="needs the asr extra")


@pytest.fixture(scope="module")
def base_whisper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Transcriber]:
    cache = tmp_path_factory.mktemp("aigc-cache-base")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_CACHE_DIR", str(cache))
        asr = ModelRegistry().create("whisper-base")
        (joined,) = (cache / "models" / "whisper-base").glob("*/model.bin")
        assert joined.stat().st_size == 145_217_532
        # a second load reuses the joined file
        mtime = joined.stat().st_mtime_ns
        ModelRegistry().create("whisper-base").close()
        assert joined.stat().st_mtime_ns == mtime
    with asr:
        yield asr


@pytest.fixture(scope="module")
def mandarin(espeak: object) -> AudioResult:
    return espeak(prompt=MANDARIN, language="zh", seed=1)  # type: ignore[operator,no-any-return]


MANDARIN = "我们明天去北京。"  # short: rough eSpeak Mandarin can send Whisper into slow temperature fallbacks


def test_multilingual_base_transcribes_mandarin_and_detects_english(
    base_whisper: Transcriber, mandarin: AudioResult, joe: object
) -> None:
    result = base_whisper(audio=mandarin.audio, language="zh", seed=0)
    assert result.language == "zh"
    # eSpeak's Mandarin is rough: Whisper gets some of the characters back.
    assert len(set(MANDARIN) & set(result.text)) >= 3, result.text
    assert result.provenance.model_id == "whisper-base"
    english = joe(prompt="The weather is fine today.", seed=2)  # type: ignore[operator]
    detected = base_whisper(audio=english.audio, seed=0)
    assert detected.language == "en"
    assert "weather" in detected.text.lower()


def test_reads_files_and_reports_word_times(tiny_whisper: Transcriber, joe: object, tmp_path: Path) -> None:
    speech = joe(prompt="Testing one two three.", seed=4)  # type: ignore[operator]
    path = speech.save(tmp_path / "speech.flac")
    result = tiny_whisper(audio=path, seed=0, word_timestamps=True)
    assert "testing" in result.text.lower()
    assert result.words and all(0.0 <= w.start <= w.end <= result.duration for w in result.words)
    no_words = tiny_whisper(audio=path, seed=0, word_timestamps=False)
    assert no_words.words == ()


def test_bad_input(tiny_whisper: Transcriber, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="only transcribes English"):
        tiny_whisper(audio=Audio(np.zeros(16000), 16000), language="zh")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    with pytest.raises(MediaError):
        tiny_whisper(audio=broken)
    with pytest.raises(InvalidRequestError, match="audio"):
        tiny_whisper(audio=tmp_path / "missing.wav")
    with pytest.raises(InvalidRequestError, match="empty"):
        tiny_whisper(audio=Audio(np.zeros(0), 16000))


def test_load_speech_resamples_to_16k_mono() -> None:
    stereo = Audio(np.zeros((44100, 2)), 44100)
    assert load_speech(stereo).shape == (16000,)


def test_assemble_parts(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "model.bin.part1").write_bytes(b"12")
    (second / "model.bin.part2").write_bytes(b"34")
    (first / "config.json").write_text("{}")
    (second / "model.bin.part4").write_bytes(b"x")  # part 3 is missing
    with pytest.raises(ModelNotAvailableError, match="parts"):
        assemble_parts(first, tmp_path / "bad", search=[second])
    (second / "model.bin.part4").unlink()
    with pytest.raises(ModelIntegrityError):
        assemble_parts(first, tmp_path / "wrong", search=[second], sha256="0" * 64)
    assert not (tmp_path / "wrong").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind
    out = assemble_parts(first, tmp_path / "ok", search=[second])
    assert (out / "model.bin").read_bytes() == b"1234"
    assert (out / "config.json").read_text() == "{}"
