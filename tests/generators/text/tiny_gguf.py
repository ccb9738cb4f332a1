"""A tiny random-weight Gemma 3 written as a GGUF with the ``gguf`` package, in chunks like the default model's.

The default text model (``gemma-3-270m``) ships as a Q4_K_M GGUF split over chunk packages, assembled by a
function of its package and converted once by ``convert_gguf``. This module builds the same shape small:
a Gemma 3 text model from a tiny config (random weights), a SentencePiece-style vocabulary, the tensors under
llama.cpp's names (norm weights stored as ``1 + w``, as llama.cpp's converter writes Gemma's), split into
chunk files; :func:`assemble` joins the chunks like the real package's ``assemble``.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

from tests.support import require_module

#: Where :func:`assemble` reads the chunks from (a test sets it; the real package knows its own chunk packages).
CHUNKS_ENV = "AIGC_TEST_TINY_GGUF_CHUNKS"

_SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>"]
_WORDS = ["the", "council", "voted", "bridge", "rain", "street", "market", "storm", "news", "today"]


def vocabulary() -> list[str]:
    """Special tokens, then ``▁`` + letters and a few whole words: what a SentencePiece vocabulary looks like."""
    pieces = ["\u2581", *string.ascii_lowercase, *string.ascii_uppercase, *string.digits, *".,!?'-"]
    pieces += ["\u2581" + c for c in string.ascii_lowercase]
    pieces += ["\u2581" + w for w in _WORDS]
    return _SPECIAL + list(dict.fromkeys(pieces))


def build_tiny_gemma3(seed: int = 0) -> Any:
    """A tiny ``Gemma3ForCausalLM`` (2 layers, hidden size 32) with random weights, in eval mode."""
    torch = require_module("torch")
    transformers = require_module("transformers")
    torch.manual_seed(seed)
    config = transformers.Gemma3TextConfig(
        vocab_size=len(vocabulary()),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=128,
        sliding_window=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    model = transformers.Gemma3ForCausalLM(config).eval()
    with torch.no_grad():  # random norm weights too, so the +1 / -1 round trip of Gemma's norms is checked
        for name, param in model.named_parameters():
            if "norm" in name:
                param.normal_(0.0, 0.2)
    return model


def write_gguf(model: Any, path: Path) -> Path:
    """Write ``model`` as a GGUF file (F32 tensors) with Gemma 3 metadata and its tokenizer."""
    gguf = require_module("gguf")
    config = model.config
    arch = gguf.MODEL_ARCH.GEMMA3
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name("tiny-gemma3")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_sliding_window(config.sliding_window)
    tokens = vocabulary()
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([3] * len(_SPECIAL) + [1] * (len(tokens) - len(_SPECIAL)))  # control, then normal
    writer.add_pad_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_bos_token_id(2)
    writer.add_unk_token_id(3)
    writer.add_add_bos_token(True)
    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight":
            continue  # tied to the embeddings: a GGUF without output.weight says so
        base, suffix = hf_name.rsplit(".", 1)
        gguf_name = names.get_name(base)
        assert gguf_name is not None, hf_name
        data = tensor.detach().float().numpy()
        if "norm" in hf_name:
            data = data + 1.0  # llama.cpp stores Gemma's RMSNorm weight as 1 + w
        writer.add_tensor(f"{gguf_name}.{suffix}", data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _rope_theta(config: Any) -> float:
    parameters = getattr(config, "rope_parameters", None)
    if isinstance(parameters, dict):
        full = parameters.get("full_attention", parameters)
        if isinstance(full, dict) and "rope_theta" in full:
            return float(full["rope_theta"])
    return float(config.rope_theta)


def split(path: Path, folder: Path, parts: int = 3) -> list[Path]:
    """Cut ``path`` into ``parts`` chunk files in ``folder`` (as the default model is spread over packages)."""
    data = path.read_bytes()
    size = -(-len(data) // parts)
    folder.mkdir(parents=True, exist_ok=True)
    chunks = []
    for i in range(parts):
        chunk = folder / f"part{i + 1}.bin"
        chunk.write_bytes(data[i * size : (i + 1) * size])
        chunks.append(chunk)
    return chunks


def assemble(target: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Join the chunks in ``$AIGC_TEST_TINY_GGUF_CHUNKS`` into ``target``: the chunk package's ``assemble``."""
    out = Path(target)
    if out.exists() and not overwrite:
        raise FileExistsError(out)
    chunks = sorted(Path(os.environ[CHUNKS_ENV]).glob("part*.bin"), key=lambda p: int(p.stem[4:]))
    if not chunks:
        raise FileNotFoundError(f"no chunks in {os.environ[CHUNKS_ENV]}")
    with out.open("wb") as f:
        for chunk in chunks:
            f.write(chunk.read_bytes())
    return out
