"""MusicGen through transformers, with a tiny random-weight model saved and loaded back (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError
from aigc_sdk.generators.audio.music import MusicGenerator, describe
from aigc_sdk.registry import LocalSource, ModelRegistry, ModelSpec
from aigc_sdk.types import MusicRequest
from tests.support import require_module

require_module("transformers", reason="needs the audio extra")

WORDS = ["<pad>", "</s>", "<unk>", *"calm piano news bed upbeat drums in bpm mood a minor major".split()]


def save_tiny_musicgen(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        PreTrainedTokenizerFast,
        T5Config,
    )

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    text = T5Config(vocab_size=len(WORDS), d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8)
    # 8 kHz, hop 320 -> 25 frames/s; 0.3 kbps with 64-entry codebooks -> 2 codebooks
    audio = EncodecConfig(
        target_bandwidths=[0.3],
        sampling_rate=8000,
        audio_channels=1,
        num_filters=4,
        hidden_size=16,
        codebook_size=64,
        codebook_dim=16,
        num_residual_layers=1,
        num_lstm_layers=1,
        upsampling_ratios=[8, 5, 4, 2],
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        num_codebooks=2,
        max_position_embeddings=128,
        pad_token_id=64,
        bos_token_id=64,
    )
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    torch.manual_seed(0)
    MusicgenForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> MusicGenerator:
    folder = save_tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen"))
    spec = ModelSpec(
        id="tiny-musicgen",
        task="text-to-music",
        backend="aigc_sdk.generators.audio.music.MusicGenerator",
        source=LocalSource(path=folder),
        options={"top_k": 20},
    )
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
