"""ClipScorer with a one-layer CLIP whose weights are set by hand so colour words match colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.image.clip import ClipScorer
from aigc_sdk.generators.image.diffusers_image import DiffusersImageGenerator
from aigc_sdk.media import Image
from tests.generators.image.helpers import diffusers_spec, save_tiny_clip, save_tiny_pipeline
from tests.support import require_module

require_module("transformers", reason="needs the image extra")

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def clip(clip_dir: Path) -> ClipScorer:
    return ClipScorer(clip_dir)


def _solid(rgb: tuple[int, int, int], size: tuple[int, int] = (48, 40), noise: int = 30) -> Image:
    rng = np.random.default_rng(sum(rgb))
    arr = np.empty((size[1], size[0], 3), dtype=np.int16)
    arr[:] = rgb
    arr += rng.integers(-noise, noise + 1, size=arr.shape, dtype=np.int16)
    return Image.from_array(np.clip(arr, 0, 255).astype(np.uint8))


def test_rerank_puts_the_clearly_matching_image_first(clip: ClipScorer, tmp_path: Path) -> None:
    red, green, blue = _solid((220, 20, 30)), _solid((20, 200, 40)), _solid((25, 30, 210))
    blue_path = blue.save(tmp_path / "blue.png")
    ranked = clip.rerank("a photo of a red fox", [green, blue_path, red])
    assert ranked[0].index == 2
    assert ranked[0].score > 0.9
    assert ranked[0].score > ranked[1].score >= ranked[2].score
    assert clip.rerank("deep blue sea", [green, red, blue_path])[0].index == 2
    assert clip.rerank("green hills", [red, blue, green])[0].index == 2


def test_embeddings_are_unit_length_and_scores_match(clip: ClipScorer) -> None:
    texts = clip.embed_texts(["red", "a green field"])
    images = clip.embed_images([_solid((200, 10, 10))])
    assert texts.shape == (2, 8) and images.shape == (1, 8)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    scores = clip.score("red", [_solid((200, 10, 10)), _solid((10, 200, 10))])
    assert scores.dtype == np.float32 and scores[0] > scores[1]


def test_bad_inputs_and_missing_models(clip: ClipScorer, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError):
        clip.embed_texts([])
    with pytest.raises(InvalidRequestError):
        clip.embed_images([])
    with pytest.raises(ModelNotAvailableError):
        ClipScorer(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError):
        ClipScorer(tmp_path / "empty")


def test_best_of_keeps_the_candidates_clip_ranks_highest(tmp_path: Path, clip_dir: Path) -> None:
    sd_dir = save_tiny_pipeline(tmp_path / "sd", seed=0)
    gen = DiffusersImageGenerator(diffusers_spec("tiny-sd-clip", sd_dir, options={"clip_model": str(clip_dir)}))
    fields = {"prompt": "a red barn", "width": 64, "height": 64, "steps": 2, "seed": 40}
    plain = gen(**fields, num_outputs=4)
    best = gen(**fields, num_outputs=2, best_of=2)
    scorer = ClipScorer(clip_dir)
    candidate_scores = scorer.score("a red barn", list(plain.images))
    expected = sorted(range(4), key=lambda i: -candidate_scores[i])[:2]
    assert best.provenance.extra["seeds"] == [40 + i for i in expected]
    assert best.provenance.extra["clip_scores"] == pytest.approx(
        [float(candidate_scores[i]) for i in expected], abs=1e-4
    )
    assert len(best.images) == 2
