"""Stable Diffusion pipelines with random weights, in tiny and SD-1.5 shapes, behind the real generator.

Shared by ``tests/generators/image`` (tiny shapes, saved with ``save_pretrained`` and loaded back through
``DiffusersImageGenerator``'s own loading code), the scheduler benchmark ``bench_scheduler.py`` (its ``sd15``
shape) and its own ``--shapes sd15`` run (SD-1.5 shapes built in memory and injected with
``DiffusersImageGenerator(spec, pipeline=...)``, so no multi-GB checkpoint is written). Not part of the SDK: no
image weights ship in any package, so throughput is measured on real shapes with random weights.

    python benchmarks/sd_shapes.py --shapes tiny            # seconds on a CPU
    python benchmarks/sd_shapes.py --shapes sd15 --size 512  # an SD-1.5-shaped UNet/VAE/CLIP; meant for a GPU

Output ends with ``key: value`` lines (images per second alone and batched, and the largest batched-vs-alone
pixel difference).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

from aigc_sdk.registry import LocalSource, ModelSpec

__all__ = ["SHAPES", "build_pipeline", "diffusers_spec", "save_tiny_pipeline", "tiny_tokenizer"]

BACKEND = "aigc_sdk.generators.image.diffusers_image.DiffusersImageGenerator"

#: Component shapes. ``tiny`` follows diffusers' own test recipe; ``sd15`` is runwayml SD-1.5's architecture.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "unet": {
            "block_out_channels": (4, 8),
            "layers_per_block": 1,
            "sample_size": 32,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
            "cross_attention_dim": 32,
            "norm_num_groups": 2,
            "attention_head_dim": 2,
        },
        "vae": {
            "block_out_channels": (4, 8),
            "down_block_types": ("DownEncoderBlock2D", "DownEncoderBlock2D"),
            "up_block_types": ("UpDecoderBlock2D", "UpDecoderBlock2D"),
            "latent_channels": 4,
            "norm_num_groups": 2,
            "sample_size": 64,
        },
        "text": {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2},
    },
    "sd15": {
        "unet": {
            "block_out_channels": (320, 640, 1280, 1280),
            "layers_per_block": 2,
            "sample_size": 64,
            "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            "cross_attention_dim": 768,
            "norm_num_groups": 32,
            "attention_head_dim": 8,
        },
        "vae": {
            "block_out_channels": (128, 256, 512, 512),
            "down_block_types": ("DownEncoderBlock2D",) * 4,
            "up_block_types": ("UpDecoderBlock2D",) * 4,
            "latent_channels": 4,
            "layers_per_block": 2,
            "norm_num_groups": 32,
            "sample_size": 512,
        },
        "text": {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12},
    },
}


def tiny_tokenizer() -> Any:
    """A CLIP tokenizer built offline: the byte alphabet (plain and ``</w>``) plus start/end tokens, no merges."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    vocab.update({ch + "</w>": len(alphabet) + i for i, ch in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_pipeline(shapes: str = "tiny", *, seed: int = 0, dtype: Any = None) -> Any:
    """A ``StableDiffusionPipeline`` with random weights (seeded) in the named shapes, on the CPU."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    shape = SHAPES[shapes]
    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(in_channels=4, out_channels=4, **shape["unet"])
    vae = AutoencoderKL(in_channels=3, out_channels=3, **shape["vae"])
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id or 0,
            vocab_size=max(len(tokenizer), 49408 if shapes == "sd15" else 0),
            max_position_embeddings=77,
            layer_norm_eps=1e-5,
            **shape["text"],
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading"
    )
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    if dtype is not None:
        pipe.to(dtype=dtype)
    return pipe


def save_tiny_pipeline(path: Path, *, seed: int = 0) -> Path:
    """Build the tiny pipeline and save it (safetensors) to ``path``; returns ``path``."""
    from diffusers.utils import logging as diffusers_logging

    pipe = build_pipeline("tiny", seed=seed)
    previous = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        pipe.save_pretrained(path, safe_serialization=True)
    finally:
        diffusers_logging.set_verbosity(previous)
    return path


def diffusers_spec(model_id: str, path: Path, **fields: Any) -> ModelSpec:
    """A ``text-to-image`` spec for a local diffusers folder (or single file) served by ``DiffusersImageGenerator``."""
    fields.setdefault("batchable", True)
    fields.setdefault("max_batch_size", 8)
    return ModelSpec(id=model_id, task="text-to-image", backend=BACKEND, source=LocalSource(path=path), **fields)


def main() -> None:
    import numpy as np
    import torch

    from aigc_sdk.generators.image.diffusers_image import DiffusersImageGenerator
    from aigc_sdk.types import ImageRequest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--size", type=int, default=None, help="pixels (default 64 tiny, 512 sd15)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default 2 tiny, 20 sd15)")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    size = args.size or (64 if args.shapes == "tiny" else 512)
    steps = args.steps or (2 if args.shapes == "tiny" else 20)
    cuda = torch.cuda.is_available()
    device = "cuda:0" if cuda else "cpu"
    dtype = torch.float16 if cuda and args.shapes == "sd15" else None
    t0 = time.perf_counter()
    pipe = build_pipeline(args.shapes, dtype=dtype)
    spec = diffusers_spec(f"random-{args.shapes}", Path("."), dtype="float16" if dtype is not None else "float32")
    generator = DiffusersImageGenerator(spec, device=device, pipeline=pipe)
    build_s = time.perf_counter() - t0
    requests = [
        ImageRequest(prompt=f"a news photo number {i}", width=size, height=size, steps=steps, seed=i)
        for i in range(args.batch)
    ]
    generator(requests[0])  # warm-up
    t0 = time.perf_counter()
    alone = [generator(r) for r in requests]
    alone_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = generator.batch(requests)
    batched_s = time.perf_counter() - t0
    diff = max(
        int(np.abs(a.image.to_array().astype(int) - b.image.to_array().astype(int)).max())
        for a, b in zip(alone, batched, strict=True)
    )
    print(f"device: {torch.cuda.get_device_name(0) if cuda else 'cpu'}")
    print(f"shapes: {args.shapes}")
    print(f"size: {size}")
    print(f"steps: {steps}")
    print(f"build_s: {build_s:.2f}")
    print(f"images_per_s_alone: {len(requests) / alone_s:.3f}")
    print(f"images_per_s_batched: {len(requests) / batched_s:.3f}")
    print(f"batched_vs_alone_max_diff_255: {diff}")


if __name__ == "__main__":
    main()
