from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import aigc_sdk.media
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.media import Audio, Image, Video, sidecar_path, write_sidecar
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
    assert not sidecar_path(path).exists()  # a value writes its file; publishing (aigc_sdk.trust) adds the sidecar
    assert back.provenance == (None if suffix == ".webp" else PROV)  # WebP has no tag of its own
    write_sidecar(path, PROV)
    assert Image.load(path).provenance == PROV  # the sidecar is read when the file has no tag
    assert _leftovers(tmp_path) == []


def test_png_carries_provenance_in_its_text_chunk(tmp_path: Path) -> None:
    path = _gradient().save(tmp_path / "g.png", provenance=PROV)
    assert not sidecar_path(path).exists()
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
    assert not sidecar_path(path).exists()  # provenance must come from the file's own tag
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
    assert not sidecar_path(saved).exists()  # read from the MP4 comment tag
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


def test_media_does_not_import_trust() -> None:
    """Values stay values: saving never signs, so ``aigc_sdk.media`` never reaches ``aigc_sdk.trust``."""
    code = (
        "import sys, aigc_sdk.media, numpy as np, tempfile, pathlib\n"
        "from aigc_sdk.provenance import Provenance\n"
        "p = Provenance(model_id='m', task='t', backend='b')\n"
        "aigc_sdk.media.Image.from_array(np.zeros((4, 4, 3), dtype=np.uint8), p).save(\n"
        "    pathlib.Path(tempfile.mkdtemp()) / 'x.png')\n"
        "print(sorted(m for m in sys.modules if m.startswith('aigc_sdk.trust')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    # nor lazily, nor for type checking: no import statement anywhere in the module names it
    tree = ast.parse(Path(aigc_sdk.media.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith("aigc_sdk.trust")}
