"""Shared builders for the image tests.

The tiny Stable Diffusion recipe lives in ``benchmarks/sd_shapes.py`` so the benchmark runs the same
code the tests check; ``benchmarks/`` goes on ``sys.path`` to import it as ``sd_shapes``.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from sd_shapes import diffusers_spec, save_tiny_pipeline, tiny_tokenizer  # noqa: E402

__all__ = ["COLOURS", "diffusers_spec", "save_tiny_clip", "save_tiny_pipeline", "tiny_tokenizer"]


#: Colours the tiny CLIP "sees": the image embedding is the mean of each channel (scaled to [-1, 1]) as
#: (r, -r, g, -g, b, -b); a colour word's token embedding is the pattern of that pure colour.
COLOURS = {"green": (-1, 1, -1), "red": (1, -1, -1), "blue": (-1, -1, 1)}  # "green" first: its merges outrank "r e"


def _pattern(rgb: tuple[int, int, int], hidden: int) -> list[float]:
    out = [0.0] * hidden
    for c, v in enumerate(rgb):
        out[2 * c], out[2 * c + 1] = float(v), float(-v)
    return out


def save_tiny_clip(path: Path) -> Path:
    """A one-layer CLIP whose weights are set by hand so colour words match images of that colour.

    One layer per tower with zero query/key weights (uniform attention), identity value/output
    projections and a zero MLP: the pooled token becomes the mean of the (layer-normed) tokens.
    Vision: one 32×32 patch whose embedding is the channel means; text: only colour words have
    non-zero embeddings. Projections are the identity, so cosine similarity compares colours.
    """
    import json

    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    base = tiny_tokenizer()
    vocab = dict(base.get_vocab())
    merges: list[tuple[str, str]] = []
    for word in COLOURS:
        pieces = [*word[:-1], word[-1] + "</w>"]
        current = pieces[0]
        for piece in pieces[1:]:
            merges.append((current, piece))
            current += piece
            vocab.setdefault(current, len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    hidden = 8
    config = CLIPConfig(
        text_config={
            "hidden_size": hidden,
            "intermediate_size": 4,
            "num_attention_heads": 1,
            "num_hidden_layers": 1,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id or 0,
        },
        vision_config={
            "hidden_size": hidden,
            "intermediate_size": 4,
            "num_attention_heads": 1,
            "num_hidden_layers": 1,
            "image_size": 32,
            "patch_size": 32,
            "num_channels": 3,
        },
        projection_dim=hidden,
    )
    model = CLIPModel(config)
    eye = torch.eye(hidden)
    with torch.no_grad():
        for tower in (model.text_model, model.vision_model):
            layer = tower.encoder.layers[0]
            attn = layer.self_attn
            for proj in (attn.q_proj, attn.k_proj):
                proj.weight.zero_()
                proj.bias.zero_()
            for proj in (attn.v_proj, attn.out_proj):
                proj.weight.copy_(eye)
                proj.bias.zero_()
            layer.mlp.fc2.weight.zero_()
            layer.mlp.fc2.bias.zero_()
            tower.embeddings.position_embedding.weight.zero_()
        model.text_projection.weight.copy_(eye)
        model.visual_projection.weight.copy_(eye)
        vision = model.vision_model.embeddings
        vision.class_embedding.zero_()
        vision.patch_embedding.weight.zero_()
        for c in range(3):
            vision.patch_embedding.weight[2 * c, c] = 1.0 / (32 * 32)
            vision.patch_embedding.weight[2 * c + 1, c] = -1.0 / (32 * 32)
        table = model.text_model.embeddings.token_embedding.weight
        table.zero_()
        for word, rgb in COLOURS.items():
            table[vocab[word + "</w>"]] = torch.tensor(_pattern(rgb, hidden))
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model.save_pretrained(path, safe_serialization=True)
        tokenizer.save_pretrained(path)
    finally:
        hf_logging.set_verbosity(previous)
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "size": {"shortest_edge": 32},
                "crop_size": {"height": 32, "width": 32},
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
            }
        )
    )
    return path
