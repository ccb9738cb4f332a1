"""Invisible watermark: survives PNG save/load and H.264 at the default quality; off for non-generated assets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from aigc_sdk import Studio
from aigc_sdk.cli.app import app
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
from aigc_sdk.media import Image, Video
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust import sign_file
from aigc_sdk.trust.watermark import (
    detect_video_watermark,
    detect_watermark,
    embed_watermark,
    is_generated,
    watermark_video,
)

pytest.importorskip("imwatermark", reason="needs the trust extra")
pytest.importorskip("c2pa", reason="needs the trust extra")


def _scene(width: int, height: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A smooth, photo-like test picture (gradients plus soft blobs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin((xx + yy) / 40.0)], axis=-1)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(20, 80)
        img += rng.uniform(-0.3, 0.3, 3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
    scene: npt.NDArray[np.uint8] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return scene


GENERATED = Provenance(model_id="sd-turbo", task="text-to-image", backend="b", seed=1)


def test_watermark_survives_png_save_and_load(tmp_path: Path) -> None:
    image = Image.from_array(_scene(512, 384), GENERATED)
    assert is_generated(image.provenance)
    marked = embed_watermark(image)
    assert marked.provenance is not None and marked.provenance.extra["watermark"]["method"] == "dwtDctSvd"
    difference = np.abs(marked.to_array().astype(int) - image.to_array().astype(int)).mean()
    assert difference < 3.0  # invisible: a few levels per pixel on average
    back = Image.load(marked.save(tmp_path / "marked.png"))
    check = detect_watermark(back)
    assert check.detected and check.bit_accuracy >= 0.95
    assert not detect_watermark(image).detected


def test_watermark_is_off_for_non_generated_assets() -> None:
    card = CardRenderer().render(CardSpec(title="Hello", width=320, height=320))
    assert not is_generated(card.provenance)  # a rendered card
    assert not is_generated(None)  # the user's own photo
    assert not detect_watermark(card).detected
    with pytest.raises(InvalidRequestError):
        embed_watermark(Image.from_array(np.zeros((64, 64, 3), dtype=np.uint8)))


def test_watermark_is_detected_on_frames_after_h264(tmp_path: Path) -> None:
    frames = [Image.from_array(_scene(320, 256, seed)) for seed in range(2)]
    with Studio() as studio:
        result = studio.video(frames, durations=[0.6, 0.6], width=320, height=256, fps=10, transition="none")
    plain = result.video.save(tmp_path / "plain.mp4", provenance=result.provenance)
    assert not detect_video_watermark(plain).detected
    marked = watermark_video(plain, tmp_path / "marked.mp4")  # re-encoded with libx264 at crf 23
    prov = Video.load(marked).provenance
    assert prov is not None and prov.model_id == "slideshow" and prov.extra["watermark"]["payload"] == "AIGCv1"
    check = detect_video_watermark(marked)
    assert check.detected and check.frames >= 3
    sign_file(marked)
    cli = CliRunner().invoke(app, ["verify", str(marked)])
    assert cli.exit_code == 0, cli.output
    assert "watermark: found" in cli.output
