"""Wan and LTX-Video pipelines with random weights, in tiny shapes (diffusers' own test recipes), built offline.

Shared by ``tests/generators/video/test_diffusers_video.py`` (saved with ``save_pretrained`` and loaded back
through ``DiffusersVideoGenerator``'s own loading code) and ``bench_video.py``. The text encoder is a tiny T5 and
the tokenizer a byte-level Unigram one built here, so nothing is fetched. Not part of the SDK.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

from aigc_sdk.registry import LocalSource, ModelSpec

__all__ = ["BACKEND", "build_pipeline", "save_tiny_pipeline", "tiny_t5", "video_spec"]

BACKEND = "aigc_sdk.generators.video.diffusers_video.DiffusersVideoGenerator"

#: Spec options per architecture: the image-to-video class, and tiny defaults (Wan: 16 px multiples, 4k+1 frames).
OPTIONS: dict[str, dict[str, str | int | float | bool]] = {
    "wan": {"image_pipeline": "WanImageToVideoPipeline", "expand_timesteps": True, "width": 16, "height": 16,
            "frames": 9, "fps": 16, "steps": 2, "guidance": 6.0, "max_sequence_length": 16},
    "ltx": {"image_pipeline": "LTXImageToVideoPipeline", "width": 32, "height": 32, "frames": 9, "fps": 24,
            "steps": 2, "guidance": 3.0, "max_sequence_length": 16},
}  # fmt: skip


def tiny_t5(seed: int = 0) -> tuple[Any, Any]:
    """A 2-layer T5 encoder (d_model 32, as ``hf-internal-testing/tiny-random-t5``) and a byte-level tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, processors
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    vocab = ["<pad>", "</s>", "<unk>", *(chr(c) for c in range(32, 127))]
    backend = Tokenizer(models.Unigram([(piece, 0.0) for piece in vocab], unk_id=2))
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = T5TokenizerFast(tokenizer_object=backend, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                                extra_ids=0)  # fmt: skip
    torch.manual_seed(seed)
    config = T5Config(vocab_size=len(vocab), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8)  # fmt: skip
    return T5EncoderModel(config), tokenizer


def build_pipeline(kind: str = "wan", *, seed: int = 0) -> Any:
    """A ``WanPipeline`` or ``LTXPipeline`` with random weights (seeded) in diffusers' test shapes, on the CPU."""
    import diffusers
    import torch

    text_encoder, tokenizer = tiny_t5(seed)
    torch.manual_seed(seed)
    if kind == "wan":
        vae = diffusers.AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                         temperal_downsample=[False, True, True])  # fmt: skip
        transformer = diffusers.WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
            text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        )  # fmt: skip
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0)
        return diffusers.WanPipeline(transformer=transformer, vae=vae, scheduler=scheduler,
                                     text_encoder=text_encoder, tokenizer=tokenizer)  # fmt: skip
    if kind == "ltx":
        transformer = diffusers.LTXVideoTransformer3DModel(
            in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
            cross_attention_dim=32, num_layers=1, caption_channels=32,
        )  # fmt: skip
        vae = diffusers.AutoencoderKLLTXVideo(
            latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
            spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
            patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        )  # fmt: skip
        vae.use_framewise_encoding = False
        vae.use_framewise_decoding = False
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler()
        return diffusers.LTXPipeline(transformer=transformer, vae=vae, scheduler=scheduler,
                                     text_encoder=text_encoder, tokenizer=tokenizer)  # fmt: skip
    raise ValueError(f"unknown kind {kind!r}: wan or ltx")


def save_tiny_pipeline(path: Path, kind: str = "wan", *, seed: int = 0) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it (safetensors) to ``path``."""
    build_pipeline(kind, seed=seed).save_pretrained(path, safe_serialization=True)
    return path


def video_spec(model_id: str, path: Path, kind: str = "wan", **options: Any) -> ModelSpec:
    """A ``text-to-video`` spec for a saved tiny pipeline, with its architecture's tiny defaults."""
    return ModelSpec(id=model_id, task="text-to-video", backend=BACKEND, source=LocalSource(path=path),
                     options={**OPTIONS[kind], **options})  # fmt: skip
