"""The demo's stage outputs, pinned: refactors must not change what a clip says, sounds like or shows.

`make demo`'s two clips (the USGS feed at 16:9 and the article at 9:16, 45 s) are made with their default
seeds, and each stage's content is hashed: the script's text, the narration's samples, every visual's
pixels and every decoded frame of the MP4. The hashes in ``data/demo_stage_hashes.json`` were recorded
before the typed-steps redesign. A change that alters one on purpose rewrites the file with
``AIGC_RECORD_HASHES=1`` and says so in the CHANGELOG, after the new frames were looked at.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from aigc_sdk import Studio
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.media import Audio
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
from tests.support import require_module

require_module("piper", reason="needs the voice extra")

RECORDED = Path(__file__).with_name("data") / "demo_stage_hashes.json"
DEMOS = {
    "quake": {"input": "usgs_significant_week.geojson"},
    "park": {"input": "article_en.md", "aspect": "9:16", "target_seconds": 45},
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _frames(video: Path) -> str:
    cmd = [require_ffmpeg().path, "-v", "error", "-i", str(video), "-map", "0:v:0", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-"]  # fmt: skip
    return _sha(subprocess.run(cmd, capture_output=True, check=True).stdout)


def _pixels(path: Path) -> str:
    with PILImage.open(path) as image:
        return _sha(np.asarray(image.convert("RGB")).tobytes())


def stage_hashes(manifest: dict[str, Any], video: Path) -> dict[str, Any]:
    """Content hashes of a news clip's stages, read from its manifest's stage outputs."""
    outputs = {step["name"]: step["output"] for step in manifest["steps"]}
    script = outputs["script"]
    narration = Audio.load(outputs["narration"]["audio"])
    return {
        "script": _sha(json.dumps([script["headline"], script["sentences"]], ensure_ascii=False).encode()),
        "narration": _sha(np.ascontiguousarray(narration.samples, dtype=np.float32).tobytes()),
        "visuals": [_pixels(Path(item["path"])) for item in outputs["visuals"]["items"]],
        "frames": _frames(video),
    }


@pytest.fixture(scope="module")
def studio() -> Studio:
    with Studio() as shared:
        yield shared


@pytest.mark.slow
@pytest.mark.parametrize("demo", sorted(DEMOS))
def test_demo_stage_outputs_are_unchanged(demo: str, studio: Studio, data_dir: Path, tmp_path: Path) -> None:
    options = dict(DEMOS[demo])
    config = NewsClipConfig(
        input=data_dir / options.pop("input"), output=tmp_path / f"{demo}.mp4", cache_dir=tmp_path, **options
    )
    clip = news_clip(config, studio=studio)
    got = stage_hashes(json.loads(clip.manifest.read_text(encoding="utf-8")), clip.video)
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.is_file() else {}
    if os.environ.get("AIGC_RECORD_HASHES") == "1":
        RECORDED.parent.mkdir(exist_ok=True)
        RECORDED.write_text(json.dumps({**recorded, demo: got}, indent=2) + "\n", encoding="utf-8")
        recorded[demo] = got
    assert got == recorded[demo]
