"""Coqui TTS with a random-weight multi-speaker, multilingual VITS built from its config (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError, UnsafeModelError
from aigc_sdk.generators.audio.coqui import CoquiSpeechGenerator, chunk_text
from aigc_sdk.registry import LocalSource, ModelRegistry, ModelSpec
from tests.support import require_module

require_module("TTS", reason="needs the audio extra")


def save_tiny_vits(folder: Path) -> Path:
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "speakers.json").write_text(json.dumps({"ana": 0, "ben": 1}))
    (folder / "language_ids.json").write_text(json.dumps({"en": 0, "de": 1}))
    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_layers_text_encoder=1,
        num_layers_flow=1,
        num_layers_posterior_encoder=1,
        upsample_initial_channel_decoder=32,
        upsample_rates_decoder=[8, 8, 2, 2],
        upsample_kernel_sizes_decoder=[16, 16, 4, 4],
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        init_discriminator=False,
        use_speaker_embedding=True,
        speakers_file=str(folder / "speakers.json"),
        speaker_embedding_channels=8,
        use_language_embedding=True,
        language_ids_file=str(folder / "language_ids.json"),
    )
    config = VitsConfig(
        model_args=args,
        use_phonemes=False,
        text_cleaner="basic_cleaners",
        use_speaker_embedding=True,
        speakers_file=str(folder / "speakers.json"),
        characters=CharactersConfig(
            characters_class="TTS.tts.models.vits.VitsCharacters",
            pad="_",
            eos="",
            bos="",
            blank=None,
            characters="abcdefghijklmnopqrstuvwxyz",
            punctuations="!'(),-.:;? ",
            phonemes=None,
            is_unique=True,
            is_sorted=True,
        ),
    )
    config.audio.sample_rate = 16_000
    config.audio.do_trim_silence = False  # random weights: the trimmed length is arbitrary
    torch.manual_seed(0)
    model = Vits(config)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    return folder


@pytest.fixture(scope="module")
def vits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vits(tmp_path_factory.mktemp("tiny-vits"))


@pytest.fixture(scope="module")
def vits(vits_dir: Path) -> CoquiSpeechGenerator:
    spec = ModelSpec(
        id="tiny-vits",
        task="text-to-speech",
        backend="aigc_sdk.generators.audio.coqui.CoquiSpeechGenerator",
        source=LocalSource(path=vits_dir),
        allow_pickle=True,
        license="Apache-2.0",
        options={"max_chars": 40},
    )
    return ModelRegistry([spec], catalogs=False).create("tiny-vits")  # type: ignore[no-any-return]


def test_speaks_with_speakers_languages_and_chunks(vits: CoquiSpeechGenerator) -> None:
    text = "Hello there. This sentence is much longer than forty characters, so it is cut into chunks."
    result = vits(prompt=text, voice="ben", language="de", seed=1)
    assert result.audio.sample_rate == 16_000
    assert result.audio.duration > 0.5
    assert [s.text for s in result.segments] == [
        "Hello there.",
        "This sentence is much longer than forty characters, so it is cut into chunks.",
    ]
    assert result.provenance.extra["chunks"] == 3  # 1 + 2 chunks of at most 40 characters
    assert result.segments[-1].end == pytest.approx(result.audio.duration)
    again = vits(prompt=text, voice="ben", language="de", seed=1)
    assert np.array_equal(result.audio.samples, again.audio.samples)  # seeded per chunk
    other_speaker = vits(prompt="Hello there.", voice="ana", language="de", seed=1)
    assert not np.array_equal(other_speaker.audio.samples[:100], result.audio.samples[:100])


def test_speed_changes_duration(vits: CoquiSpeechGenerator) -> None:
    slow = vits(prompt="a steady sentence", speed=0.5, seed=3).audio.duration
    fast = vits(prompt="a steady sentence", speed=2.0, seed=3).audio.duration
    assert fast < slow * 0.6


def test_bad_input(vits: CoquiSpeechGenerator, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no speaker 'zoe'"):
        vits(prompt="hi", voice="zoe")
    with pytest.raises(InvalidRequestError, match="does not speak 'fr'"):
        vits(prompt="bonjour", language="fr")
    bad_wav = tmp_path / "ref.wav"
    bad_wav.write_bytes(b"garbage")
    with pytest.raises(InvalidRequestError, match="cannot clone"):
        vits(prompt="hi", speaker_wav=bad_wav)
    with pytest.raises(InvalidRequestError, match="speaker_wav"):
        vits(prompt="hi", speaker_wav=tmp_path / "missing.wav")
    with pytest.raises(InvalidRequestError, match="speed"):
        vits(prompt="hi", speed=-1)


def test_unreadable_speaker_wav_is_bad_input(tmp_path: Path) -> None:
    from aigc_sdk.generators.audio.coqui import _read_reference

    bad_wav = tmp_path / "ref.wav"
    bad_wav.write_bytes(b"garbage")
    with pytest.raises(InvalidRequestError, match="not readable audio"):
        _read_reference(bad_wav)


def test_loading_rules(vits_dir: Path, tmp_path: Path) -> None:
    spec = ModelSpec(
        id="tiny-vits",
        task="text-to-speech",
        backend="aigc_sdk.generators.audio.coqui.CoquiSpeechGenerator",
        source=LocalSource(path=vits_dir),
    )
    registry = ModelRegistry([spec], catalogs=False)
    with pytest.raises(UnsafeModelError):
        registry.create("tiny-vits")  # .pth is a pickle: refused without allow_pickle
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        CoquiSpeechGenerator(spec.model_copy(update={"source": LocalSource(path=empty)}))
    named = spec.model_copy(update={"options": {"coqui_model": "tts_models/en/ljspeech/vits"}})
    with pytest.raises(ModelNotAvailableError, match="downloads are off"):
        CoquiSpeechGenerator(named)


def test_chunk_text() -> None:
    assert chunk_text("One. Two.", 100) == [["One."], ["Two."]]
    assert chunk_text("abcdefghijklmnopqrstuvwxyz", 10) == [["abcdefghij", "klmnopqrst", "uvwxyz"]]
    assert all(len(c) <= 12 for s in chunk_text("一二三四五六七八九十，一二三四五六七八九十。", 12) for c in s)
    with pytest.raises(InvalidRequestError):
        chunk_text("x", 2)
