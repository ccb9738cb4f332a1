from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.media import Audio, Image, Video, sidecar_path
from aigc_sdk.provenance import METADATA_KEY, Provenance

PROV = Provenance(model_id="tiny", task="text-to-image", backend="tests.Backend", seed=3, license="MIT")


def _gradient() -> Image:
    x = np.linspace(0, 1, 32)
    return Image.from_array(np.stack([np.outer(x, x), np.outer(1 - x, x), np.outer(x, 1 - x)], axis=-1))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_image_round_trip_with_provenance(tmp_path: Path, suffix: str) -> None:
    img = _gradient()
    path = img.save(tmp_path / f"g{suffix}", provenance=PROV)
    back = Image.load(path)
    assert back.size == (32, 32)
    tolerance = 0 if suffix == ".png" else 40
    assert np.abs(back.to_array().astype(int) - img.to_array().astype(int)).max() <= tolerance
    assert back.provenance == PROV
    assert sidecar_path(path).exists()
    assert _leftovers(tmp_path) == []


def test_png_carries_provenance_in_its_text_chunk(tmp_path: Path) -> None:
    path = _gradient().save(tmp_path / "g.png", provenance=PROV)
    sidecar_path(path).unlink()
    with PILImage.open(path) as opened:
        assert Provenance.from_json(opened.info[METADATA_KEY]) == PROV
    assert Image.load(path).provenance == PROV


def test_image_notebook_reprs() -> None:
    img = _gradient()
    assert img._repr_png_().startswith(b"\x89PNG")
    assert img._repr_html_().startswith('<img src="data:image/png;base64,')
    assert repr(img) == "Image(32x32, mode='RGB')"


def test_image_bad_inputs() -> None:
    with pytest.raises(InvalidRequestError):
        Image.from_array(np.full((4, 4, 3), np.nan))
    with pytest.raises(InvalidRequestError):
        Image.from_array(np.zeros((4, 4, 2)))
    with pytest.raises(InvalidRequestError, match="cannot save"):
        _gradient().save("x.gif")


def test_image_load_of_garbage_is_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(MediaError):
        Image.load(bad)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_audio_round_trip_with_provenance(tmp_path: Path, suffix: str) -> None:
    t = np.arange(22050) / 22050
    tone = Audio(0.5 * np.sin(2 * np.pi * 440 * t), 22050)
    path = tone.save(tmp_path / f"tone{suffix}", provenance=PROV)
    sidecar_path(path).unlink()  # provenance must come from the file's own tag
    back = Audio.load(path)
    assert back.sample_rate == 22050
    assert back.provenance == PROV
    assert abs(back.duration - 1.0) < 0.1
    assert 0.3 < float(np.abs(back.samples).max()) < 0.7


def test_audio_failed_save_keeps_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.mp3"
    target.write_bytes(b"precious")
    three_channels = Audio(np.zeros((100, 3)), 8000)
    with pytest.raises(MediaError):
        three_channels.save(target)  # MP3 holds at most two channels
    assert target.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []


def test_audio_validation_and_repr() -> None:
    with pytest.raises(InvalidRequestError):
        Audio(np.zeros((2, 2, 2)), 8000)
    with pytest.raises(InvalidRequestError):
        Audio([0.0, np.inf], 8000)
    with pytest.raises(InvalidRequestError):
        Audio([0.0], 0)
    audio = Audio(np.zeros((8000, 2)), 8000)
    assert (audio.channels, audio.duration) == (2, 1.0)
    assert audio._repr_html_().startswith('<audio controls src="data:audio/wav;base64,')


@pytest.fixture(scope="module")
def tiny_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "tiny.mp4"
    ffmpeg = require_ffmpeg().path
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "1", "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-c:a", "aac", "-shortest", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def test_video_probe_and_tagged_copy(tmp_path: Path, tiny_mp4: Path) -> None:
    video = Video.load(tiny_mp4)
    assert (video.info.width, video.info.height) == (64, 48)
    assert video.info.fps == 10 and video.info.has_audio
    assert 0.9 < video.info.duration < 1.2
    assert video.provenance is None
    saved = video.save(tmp_path / "tagged.mp4", provenance=PROV)
    sidecar_path(saved).unlink()  # read from the MP4 comment tag
    assert Video.load(saved).provenance == PROV
    assert Video.load(saved).sha256 != video.sha256
    assert "tiny.mp4" in repr(video)
    assert video._repr_html_().startswith("<video controls")


def test_video_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        Video.load(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(MediaError, match="not a readable video"):
        Video.load(junk)


def test_privacy_hashes_the_request_in_tags_and_sidecar(tmp_path: Path) -> None:
    secret = PROV.model_copy(update={"request": {"prompt": "the embargoed story"}})
    png = _gradient().save(tmp_path / "p.png", provenance=secret, privacy=True)
    wav = Audio([0.0, 0.1] * 100, 8000).save(tmp_path / "p.wav", provenance=secret, privacy=True)
    for path in (png, wav):
        assert "embargoed" not in sidecar_path(path).read_text()
        assert "embargoed" not in path.read_bytes().decode("latin-1")
    loaded = Image.load(png).provenance
    assert loaded is not None
    assert loaded.request["prompt"].startswith("sha256:")
    assert loaded.model_id == PROV.model_id  # only the request is hidden
