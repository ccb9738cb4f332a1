"""Whisper and MusicGen checkpoints with random weights, in tiny and real (whisper-base, musicgen-small) shapes.

Shared by ``tests/generators/audio`` (tiny shapes) and ``bench_scheduler.py`` (tiny on a CPU, the real shapes on a
GPU): each builder writes a folder with ``save_pretrained`` (model, tokenizer, feature extractor), which the SDK's
own generators (``HFWhisperTranscriber``, ``MusicGenerator``) then load with their own loading code. Tokenizers
are built offline (no hub access, nothing written to the hub cache). Not part of the SDK; importers put
``benchmarks/`` on ``sys.path`` and import ``audio_shapes``.

The generators load a checkpoint in the dtype it was saved in (transformers' ``dtype="auto"``), so a builder's
``dtype`` argument (e.g. ``torch.float16`` for a GPU run) decides the dtype they run in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aigc_sdk.registry import LocalSource, ModelSpec

__all__ = [
    "MUSICGEN",
    "MUSIC_WORDS",
    "WHISPER",
    "music_tokenizer",
    "musicgen_spec",
    "save_musicgen",
    "save_whisper",
    "whisper_spec",
    "whisper_tokenizer",
]

WHISPER_BACKEND = "aigc_sdk.generators.audio.hf_whisper.HFWhisperTranscriber"
MUSICGEN_BACKEND = "aigc_sdk.generators.audio.music.MusicGenerator"

#: Whisper shapes: a toy (one layer each way) and openai/whisper-base's architecture. ``vocab`` sizes the
#: offline tokenizer (0: only the byte alphabet and the special tokens).
WHISPER: dict[str, dict[str, int]] = {
    "tiny": {
        "vocab": 0,
        "d_model": 16,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 32,
        "decoder_ffn_dim": 32,
        "num_mel_bins": 80,
        "max_target_positions": 64,
    },
    "base": {
        "vocab": 51865,
        "d_model": 512,
        "encoder_layers": 6,
        "decoder_layers": 6,
        "encoder_attention_heads": 8,
        "decoder_attention_heads": 8,
        "encoder_ffn_dim": 2048,
        "decoder_ffn_dim": 2048,
        "num_mel_bins": 80,
        "max_target_positions": 448,
    },
}

#: MusicGen shapes: a toy (8 kHz, 25 frames/s, 2 codebooks) and facebook/musicgen-small's architecture
#: (T5-base text encoder, 32 kHz EnCodec with 4 codebooks, a 24-layer 1024-wide decoder).
MUSICGEN: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "text": {"vocab_size": 0, "d_model": 16, "d_ff": 32, "num_layers": 1, "num_heads": 2, "d_kv": 8},
        "audio": {
            "target_bandwidths": [0.3],  # 0.3 kbps with 64-entry codebooks at 25 frames/s: 2 codebooks
            "sampling_rate": 8000,
            "audio_channels": 1,
            "num_filters": 4,
            "hidden_size": 16,
            "codebook_size": 64,
            "codebook_dim": 16,
            "num_residual_layers": 1,
            "num_lstm_layers": 1,
            "upsampling_ratios": [8, 5, 4, 2],
        },
        "decoder": {
            "vocab_size": 64,
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "ffn_dim": 32,
            "num_codebooks": 2,
            "max_position_embeddings": 128,
            "pad_token_id": 64,
            "bos_token_id": 64,
        },
    },
    "small": {
        "text": {"vocab_size": 32128, "d_model": 768, "d_ff": 3072, "num_layers": 12, "num_heads": 12, "d_kv": 64},
        "audio": {
            "target_bandwidths": [2.2],
            "sampling_rate": 32000,
            "audio_channels": 1,
            "num_filters": 64,
            "hidden_size": 128,
            "codebook_size": 2048,
            "codebook_dim": 128,
            "num_residual_layers": 1,
            "num_lstm_layers": 2,
            "upsampling_ratios": [8, 5, 4, 4],
        },
        "decoder": {
            "vocab_size": 2048,
            "hidden_size": 1024,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "ffn_dim": 4096,
            "num_codebooks": 4,
            "max_position_embeddings": 2048,
            "pad_token_id": 2048,
            "bos_token_id": 2048,
        },
    },
}

#: The words the offline MusicGen tokenizer knows (any other word is ``<unk>``).
MUSIC_WORDS = ["<pad>", "</s>", "<unk>", *"calm piano news bed upbeat drums in bpm mood a minor major".split()]

_WHISPER_SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|notimestamps|>",
]


def _quiet() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def whisper_tokenizer(vocab: int = 0) -> Any:
    """A Whisper tokenizer built offline: the byte alphabet, fillers ``t<id>`` up to ``vocab`` ids, special tokens.

    Decoding any id below ``vocab`` gives text (``t<id>`` for a filler), so a random model's output decodes.
    """
    from tokenizers import Tokenizer, decoders, models
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import WhisperTokenizerFast

    vocab_map = {ch: i for i, ch in enumerate(sorted(ByteLevel.alphabet()))}
    vocab_map.update({f"t{i}": i for i in range(len(vocab_map), vocab - len(_WHISPER_SPECIALS))})
    vocab_map.update({token: len(vocab_map) + i for i, token in enumerate(_WHISPER_SPECIALS)})
    tok = Tokenizer(models.WordLevel(vocab_map, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(_WHISPER_SPECIALS)
    end = "<|endoftext|>"
    return WhisperTokenizerFast(tokenizer_object=tok, unk_token=end, bos_token=end, eos_token=end, pad_token=end)


def save_whisper(
    folder: Path, shapes: str = "tiny", *, tokenizer: Any = None, seed: int = 0, dtype: Any = None
) -> Path:
    """Build an English-only Whisper in the named shapes (random weights from ``seed``) and save it to ``folder``.

    ``tokenizer`` defaults to :func:`whisper_tokenizer` sized for the shape; the model's vocabulary is the
    tokenizer's. The folder holds the model (safetensors, in ``dtype`` when given) and its processor.
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    _quiet()
    shape = dict(WHISPER[shapes])
    vocab = shape.pop("vocab")
    if tokenizer is None:
        tokenizer = whisper_tokenizer(vocab)
    start, end = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|endoftext|>"])
    ids = {"decoder_start_token_id": start, "eos_token_id": end, "pad_token_id": end}
    config = WhisperConfig(vocab_size=len(tokenizer), bos_token_id=end, **ids, **shape)
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(**ids, is_multilingual=False)
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(folder)
    extractor = WhisperFeatureExtractor(feature_size=shape["num_mel_bins"])
    WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def music_tokenizer() -> Any:
    """A word-level tokenizer over :data:`MUSIC_WORDS`, built offline (T5's pad/eos/unk conventions)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(MUSIC_WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def save_musicgen(folder: Path, shapes: str = "tiny", *, seed: int = 0, dtype: Any = None) -> Path:
    """Build a MusicGen in the named shapes (random weights from ``seed``) and save it with its tokenizer."""
    import torch
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    _quiet()
    shape = MUSICGEN[shapes]
    tokenizer = music_tokenizer()
    text = T5Config(**{**shape["text"], "vocab_size": max(shape["text"]["vocab_size"], len(tokenizer))})
    config = MusicgenConfig(
        text_encoder=text.to_dict(),
        audio_encoder=EncodecConfig(**shape["audio"]).to_dict(),
        decoder=MusicgenDecoderConfig(**shape["decoder"]).to_dict(),
    )
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config)
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def whisper_spec(model_id: str, path: Path, **fields: Any) -> ModelSpec:
    """A ``speech-to-text`` spec for a saved Whisper folder served by ``HFWhisperTranscriber``."""
    return ModelSpec(
        id=model_id, task="speech-to-text", backend=WHISPER_BACKEND, source=LocalSource(path=path), **fields
    )


def musicgen_spec(model_id: str, path: Path, **fields: Any) -> ModelSpec:
    """A ``text-to-music`` spec for a saved MusicGen folder served by ``MusicGenerator``."""
    return ModelSpec(
        id=model_id, task="text-to-music", backend=MUSICGEN_BACKEND, source=LocalSource(path=path), **fields
    )
