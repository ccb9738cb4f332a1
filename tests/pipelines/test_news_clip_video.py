"""A news clip whose photo segments are animated by a (tiny, random-weight) video diffusion model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk import Studio
from aigc_sdk.media import Image, Video
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
from aigc_sdk.registry import ModelRegistry
from tests.support import require_module

require_module("piper", reason="needs the voice extra")
require_module("diffusers", reason="needs the image extra")
require_module("ftfy", reason="Wan's image-to-video pipeline cleans prompts with ftfy")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from video_shapes import save_tiny_pipeline, video_spec  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")


def test_photos_move_with_a_video_model(data_dir: Path, tmp_path: Path) -> None:
    model = save_tiny_pipeline(tmp_path / "tiny-wan", "wan")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in (("riverside-park.png", (40, 160, 60)), ("city-council.png", (150, 150, 170))):
        Image.from_array(np.full((64, 96, 3), colour, dtype=np.uint8)).save(photos / name)
    registry = ModelRegistry()
    registry.register(video_spec("tiny-wan", model, "wan", width=32, height=32, frames=5))
    config = NewsClipConfig(
        input=data_dir / "article_en.md", output=tmp_path / "out" / "park.mp4", photos=photos,
        video_model="tiny-wan", music=False, target_seconds=15, cache_dir=tmp_path / "cache",
    )  # fmt: skip
    with Studio(registry) as studio:
        clip = news_clip(config, studio=studio)
    footage = sorted((tmp_path / "cache" / "news-clip" / "visuals" / "parts").glob("*.mp4"))  # one per segment
    assert footage, "no segment was animated"
    assert all(Video(f).info.width == 32 and Video(f).provenance.task == "text-to-video" for f in footage)
    rendered = sorted((tmp_path / "cache").rglob("clip.mp4"))
    request = Video(rendered[0]).provenance.request  # type: ignore[union-attr]
    moving = [c for c in request["clips"] if c is not None]
    assert len(moving) == len(footage) and len(request["clips"]) == len(request["images"])
    video = Video.load(clip.video)
    assert (video.info.width, video.info.height) == (1280, 720)
    assert video.info.duration == pytest.approx(clip.duration, abs=0.1)
    manifest = json.loads(clip.manifest.read_text())
    assert "tiny-wan" in json.dumps(manifest)


def test_broll_from_body_sentences_each_segment_made_once(data_dir: Path, tmp_path: Path) -> None:
    """With ``broll``, body cards give way to text-to-video footage of their sentence; a rerun of a failed
    visuals step makes no segment twice (each segment's footage is cached on its own)."""
    import shutil

    model = save_tiny_pipeline(tmp_path / "tiny-wan", "wan")
    registry = ModelRegistry()
    registry.register(video_spec("tiny-wan", model, "wan", width=32, height=32, frames=5))
    config = NewsClipConfig(
        input=data_dir / "article_en.md", output=tmp_path / "out" / "park.mp4", video_model="tiny-wan", broll=True,
        music=False, target_seconds=15, cache_dir=tmp_path / "cache",
    )  # fmt: skip
    with Studio(registry) as studio:
        news_clip(config, studio=studio)
        parts = sorted((tmp_path / "cache" / "news-clip" / "visuals" / "parts").glob("*.mp4"))
        made = {p: p.stat().st_mtime_ns for p in parts}
        for stage in (tmp_path / "cache" / "news-clip" / "visuals").iterdir():  # as if the step had failed
            if stage.name != "parts":
                shutil.rmtree(stage)
        shutil.rmtree(tmp_path / "cache" / "news-clip" / "render")
        again = news_clip(config, studio=studio)
    assert parts and all(Video(p).provenance.task == "text-to-video" for p in parts)
    assert all(Video(p).provenance.request.get("image") is None for p in parts)  # type: ignore[union-attr]
    assert {p: p.stat().st_mtime_ns for p in parts} == made  # no segment made again
    request = Video(next((tmp_path / "cache").rglob("clip.mp4"))).provenance.request  # type: ignore[union-attr]
    assert request["clips"][0] is None  # the title card stays
    assert sorted(c for c in request["clips"] if c is not None) == [str(p) for p in parts]
    assert "visuals" not in again.reused
    with pytest.raises(ValueError, match="broll makes footage with a video model"):
        NewsClipConfig(input=data_dir / "article_en.md", output=tmp_path / "x.mp4", broll=True)
