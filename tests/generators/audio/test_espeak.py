"""eSpeak NG through espeakng-loader: every language, Mandarin via pinyin."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.audio.espeak import EspeakSpeechGenerator, espeak_languages, espeak_voice_for, to_pinyin
from aigc_sdk.registry import ModelRegistry
from tests.support import require_module

require_module("espeakng_loader", reason="needs the audio extra")

HANZI = "今天的天气很好。我们下午去公园散步吧！"


def test_mandarin_via_pinyin_is_non_silent_with_plausible_length(espeak: EspeakSpeechGenerator) -> None:
    result = espeak(prompt=HANZI, language="zh", seed=1)
    audio = result.audio
    characters = sum(1 for ch in HANZI if "\u4e00" <= ch <= "\u9fff")
    # Mandarin is spoken at roughly 3-6 syllables (characters) per second.
    assert characters / 6.0 < audio.duration < characters / 2.0
    assert float(np.sqrt(np.mean(audio.samples**2))) > 0.02
    assert result.provenance.extra["espeak_voice"] == "cmn-latn-pinyin"
    assert result.provenance.license == "GPL-3.0-or-later"
    words = [w.text for s in result.segments for w in s.words]
    assert words[:4] == ["今", "天", "的", "天"]
    for seg in result.segments:
        for a, b in itertools.pairwise(seg.words):
            assert a.end <= b.start


def test_voice_per_language_and_speed(espeak: EspeakSpeechGenerator) -> None:
    assert espeak_voice_for("zh") == "cmn-latn-pinyin"
    assert espeak_voice_for("en") == "en-us"
    assert espeak_voice_for("fr-FR") == "fr"  # the file that speaks fr-fr is named fr; "fr-fr" does not load
    french = espeak(prompt="Bonsoir.", language="fr-FR", seed=1)
    assert french.provenance.extra["espeak_voice"] == "fr" and french.audio.duration > 0.3
    german = espeak(prompt="Guten Abend. Das Wetter ist schön.", language="de", seed=1)
    assert german.provenance.extra["espeak_voice"] == "de"
    normal = espeak(prompt="A steady test sentence for speed.", language="en", seed=1).audio.duration
    fast = espeak(prompt="A steady test sentence for speed.", language="en", speed=2.0, seed=1).audio.duration
    assert fast < normal * 0.7


def test_every_language_maps_to_a_voice_espeak_loads(espeak: EspeakSpeechGenerator) -> None:
    unloadable = [lang for lang in espeak_languages() if not espeak._engine.has_voice(espeak_voice_for(lang))]
    assert unloadable == []


def test_pinyin_conversion() -> None:
    spoken, sources = to_pinyin("我们去北京，好吗？OK")
    assert spoken.split() == ["wo3", "men5", "qu4", "bei3", "jing1", ",", "hao3", "ma5", "?", "OK"]
    assert sources[:5] == ["我", "们", "去", "北", "京"]


def test_bad_input(espeak: EspeakSpeechGenerator) -> None:
    with pytest.raises(InvalidRequestError, match="no voice for language 'xh'"):
        espeak(prompt="Molo", language="xh")
    for wrong in ("nonsense", "", "en gb", "../../etc/passwd", "x" * 200):
        with pytest.raises(InvalidRequestError, match=f"no voice {wrong!r}") as refused:
            espeak(prompt="Hello", voice=wrong)
        assert "en-gb" in refused.value.hint  # the hint says what a voice name looks like
    assert espeak(prompt="Hello", voice="en-GB", seed=1).provenance.extra["espeak_voice"] == "en"  # by language
    assert espeak(prompt="Hello", voice="en+f3", seed=1).provenance.extra["espeak_voice"] == "en+f3"  # a variant
    with pytest.raises(InvalidRequestError, match="speed"):
        espeak(prompt="Hello", speed=-1.0)
    with pytest.raises(InvalidRequestError, match="prompt"):
        espeak(prompt="")
    mandarin_only = EspeakSpeechGenerator(ModelRegistry().get("espeak-zh"))
    with pytest.raises(InvalidRequestError, match="not 'fr'"):
        mandarin_only(prompt="Bonjour", language="fr")
