"""Invisible watermark: survives PNG save/load and H.264 at the default quality; off for non-generated assets."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from aigc_sdk import Studio
from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.cli.app import app
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
from aigc_sdk.media import Image, Video
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust import sign_file
from aigc_sdk.trust.watermark import (
    PAYLOAD,
    FrameMarker,
    detect_video_watermark,
    detect_watermark,
    embed_watermark,
    is_generated,
    mark_frames,
    watermark_video,
)
from aigc_sdk.types import VideoEncoding
from tests.support import require_module


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


def _frame(video: Path, at: float, pix_fmt: str = "yuv420p") -> npt.NDArray[np.uint8]:
    cmd = [require_ffmpeg().path, "-v", "error", "-ss", f"{at}", "-i", str(video), "-frames:v", "1",
           "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]  # fmt: skip
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype=np.uint8)


def test_watermark_is_detected_on_frames_after_h264(tmp_path: Path) -> None:
    require_module("c2pa", reason="needs the trust extra")
    frames = [Image.from_array(_scene(320, 256, seed)) for seed in range(2)]
    with Studio() as studio:
        result = studio.video(frames, durations=[0.6, 0.6], width=320, height=256, fps=10, transition="none")
    plain = result.save(tmp_path / "plain.mp4", credentials=False)  # published: tag + sidecar
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


def test_rendered_frames_are_marked_except_the_users_own_pictures(tmp_path: Path) -> None:
    card = CardRenderer().render(CardSpec(title="Quake near Ridgecrest", width=320, height=256))
    photo = Image.from_array(_scene(320, 256, seed=3))  # no provenance: the user's own picture
    assert card.provenance is not None and photo.provenance is None
    with Studio() as studio:
        # a fixed seed: the card's push (drawn from it) moves the mark's blocks; over 24 seeds the card's frames
        # read 0.958-1.0 of the bits, and a rare move 0.94, so an unseeded run could fail at random
        common = {"durations": [1.0, 1.0], "width": 320, "height": 256, "fps": 10, "transition": "none", "seed": 2}
        default = studio.video([card, photo], encoding=VideoEncoding(output=tmp_path / "default.mp4"), **common)
        everything = studio.video(
            [card, photo], encoding=VideoEncoding(output=tmp_path / "all.mp4", watermark=True), **common
        )
        nothing = studio.video(
            [card, photo], encoding=VideoEncoding(output=tmp_path / "none.mp4", watermark=False), **common
        )
        with pytest.raises(InvalidRequestError, match="at least 256"):
            studio.video([card], durations=[1.0], width=160, height=128, encoding=VideoEncoding(watermark=True))
    marker = FrameMarker(320, 256)
    marked = [marker.accuracy(_frame(default.video.path, t)) for t in (0.3, 0.7, 1.3, 1.7)]
    assert min(marked[:2]) >= 0.95  # the card's frames, after H.264 at CRF 23
    assert max(marked[2:]) < 0.9  # the photo's frames stay as they were
    assert default.provenance.extra["watermark"] == {"method": "dwtDctSvd", "payload": "AIGCv1", "frames": 10}
    mixed = detect_video_watermark(default.video.path, frames=4)  # two samples on the card, two on the photo
    assert mixed.detected and mixed.frames == 4 and mixed.marked == 2
    assert marker.accuracy(_frame(everything.video.path, 1.5)) >= 0.95
    assert everything.provenance.extra["watermark"]["frames"] == 20
    assert "watermark" not in nothing.provenance.extra
    assert max(marker.accuracy(_frame(nothing.video.path, t)) for t in (0.3, 1.3)) < 0.9
    # the mark is in the chroma the RGB detector reads too: a frame grabbed as a picture shows it
    rgb = _frame(everything.video.path, 0.5, "rgb24").reshape(256, 320, 3)
    assert detect_watermark(rgb).detected


def test_frame_marker_reuses_its_arrays_one_set_per_thread() -> None:
    """After the first frame, marking a 720p frame allocates no block-sized array (each is ~0.9 MB)."""
    marker = FrameMarker(1280, 720)
    rng = np.random.default_rng(1)
    frames = [rng.integers(16, 240, marker.frame_bytes, dtype=np.uint8) for _ in range(12)]
    alone = [frame.copy() for frame in frames]
    for frame in alone:
        marker.mark(frame)
    start, length = marker.window
    again = frames[0].copy()
    tracemalloc.start()
    try:
        marker.mark_window(again[start : start + length])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400_000, peak  # the whole-frame version peaked at 2.8 MB
    assert np.array_equal(again, alone[0])
    # one marker, four threads marking at once: each has its own arrays, so the marks are those made one by one
    together = [frame.copy() for frame in frames]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(marker.mark, together))
    assert all(np.array_equal(a, b) for a, b in zip(together, alone, strict=True))
    assert min(marker.accuracy(frame) for frame in together) == 1.0


def _yuv_source(seconds: float, *, live: bool = False) -> list[str]:
    """``seconds`` of 320x256 frames at 10 fps; ``live``: at that pace (``-re``), not as fast as ffmpeg can."""
    return [require_ffmpeg().path, "-v", "error", *(["-re"] if live else []), "-f", "lavfi",
            "-i", f"testsrc2=s=320x256:d={seconds}:r=10", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]  # fmt: skip


def _yuv_sink(*output: str) -> list[str]:
    return [require_ffmpeg().path, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "320x256",
            "-r", "10", "-i", "-", *output]  # fmt: skip


def test_mark_frames_marks_the_frames_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "frames.yuv"
    count = mark_frames(_yuv_source(1.0), _yuv_sink("-f", "rawvideo", str(out)), 320, 256, marks=[True, False, True])
    assert count == 10
    marker = FrameMarker(320, 256)
    frames = np.frombuffer(out.read_bytes(), dtype=np.uint8).reshape(10, marker.frame_bytes)
    accuracy = [marker.accuracy(frame) for frame in frames]
    assert min(accuracy[0], accuracy[2]) == 1.0  # marked, and lossless through rawvideo
    assert max(accuracy[1], *accuracy[3:]) < 0.9  # not asked for, and past the end of `marks`


def test_mark_frames_reports_a_failed_ffmpeg_and_a_size_too_small(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="sink") as failed:
        mark_frames(_yuv_source(1.0), _yuv_sink("-c:v", "no-such-codec", str(tmp_path / "x.mp4")), 320, 256)
    assert failed.value.hint and "no-such-codec" in failed.value.hint
    with pytest.raises(InvalidRequestError, match="at least 256"):
        mark_frames(_yuv_source(1.0), _yuv_sink("-f", "null", "-"), 160, 128)
    assert not list(tmp_path.iterdir())


def test_mark_frames_marks_in_a_worker_that_dies_with_the_process_that_started_it() -> None:
    psutil = require_module("psutil")
    script = (
        "import sys; from aigc_sdk.trust.watermark import mark_frames; "
        f"mark_frames({_yuv_source(600.0, live=True)!r}, {_yuv_sink('-f', 'null', '-')!r}, 320, 256)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        family: list[Any] = []
        while len(family) < 3 and time.monotonic() < deadline:  # the worker and its two ffmpeg processes
            workers = [p for p in psutil.Process(parent.pid).children() if "aigc_sdk.trust._marking" in p.cmdline()]
            family = [workers[0], *workers[0].children()] if workers else []
            time.sleep(0.1)
        assert len(family) == 3, family
    finally:
        parent.kill()  # SIGKILL: no cleanup runs in the parent
        parent.wait()
    _, alive = psutil.wait_procs(family, timeout=20)
    assert not alive, alive


def test_marks_agree_with_invisible_watermark() -> None:
    """invisible-watermark's own dwtDctSvd decoder reads our marks, and we read its."""
    imwatermark = require_module("imwatermark", reason="the dev extra installs it for this check")
    scene = _scene(512, 384, seed=5)
    ours = embed_watermark(Image.from_array(scene)).to_array()
    decoder = imwatermark.WatermarkDecoder("bytes", len(PAYLOAD) * 8)
    assert bytes(decoder.decode(np.ascontiguousarray(ours[:, :, ::-1]), "dwtDctSvd")) == PAYLOAD
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bytes", PAYLOAD)
    theirs = encoder.encode(np.ascontiguousarray(scene[:, :, ::-1]), "dwtDctSvd")[:, :, ::-1]
    assert detect_watermark(np.ascontiguousarray(theirs)).bit_accuracy == 1.0
