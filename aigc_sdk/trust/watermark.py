"""Invisible watermarks on generated images and video frames (the DWT-DCT-SVD scheme, vectorised).

Every marked picture carries the same 48-bit mark (:data:`PAYLOAD`). The mark lives
in the blue-difference chroma (U) of the picture: its Haar low band is cut into 4x4
blocks and the largest singular value of each block is quantised (step 36) so that
its remainder says one bit; the 48 bits repeat over all blocks. That is the
``dwtDctSvd`` method of `invisible-watermark`_ (a block's DCT has the block's
singular values, so the DCT step drops out), and its decoder reads our marks and we
read its. We compute every block at once with numpy instead of one block at a time,
which makes it fast enough to mark each frame of a video while it is rendered.

Video frames are marked in their 4:2:0 chroma plane, which is the U low band up to a
fixed affine map, so a frame decoded to RGB and checked like an image shows the mark
too. Detection decodes the bits and compares them with the mark: unmarked pixels
agree on about half the bits, marked ones on nearly all.

.. _invisible-watermark: https://github.com/ShieldMnt/invisible-watermark
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.files import atomic_path
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.media import Image, Video, write_sidecar
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust._scheme import (
    BLOCK,
    METHOD,
    MIN_SIDE,
    PAYLOAD,
    THRESHOLD,
    U_FROM_RGB,
    FloatArray,
    FrameMarker,
    band_accuracy,
    check_size,
    mark_band,
)

__all__ = [
    "METHOD",
    "MIN_SIDE",
    "PAYLOAD",
    "THRESHOLD",
    "FrameMarker",
    "WatermarkCheck",
    "detect_video_watermark",
    "detect_watermark",
    "embed_watermark",
    "is_generated",
    "mark_frames",
    "watermark_video",
]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder aigc_sdk is in
_GENERATED_TASKS = frozenset({"text-to-image", "image-to-image", "images-to-video", "text-to-video"})


@dataclass(frozen=True)
class WatermarkCheck:
    """Result of a watermark detection: ``frames`` pictures checked, ``marked`` of them carry the mark.

    Example:
        >>> WatermarkCheck(detected=True, bit_accuracy=1.0, frames=1, marked=1).detected
        True
    """

    detected: bool
    bit_accuracy: float
    frames: int = 1
    marked: int = 0


def is_generated(provenance: Provenance | None) -> bool:
    """Whether a result with this provenance was made by a generative model (so gets a watermark).

    User assets (no provenance) and rendered cards/charts are not.

    Example:
        >>> is_generated(Provenance(model_id="sd-turbo", task="text-to-image", backend="b")), is_generated(None)
        (True, False)
    """
    return provenance is not None and provenance.task in _GENERATED_TASKS


# -- RGB pictures: the band is the Haar low band of U ---------------------------------------------------


def _u_low_band(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """Haar low band of U = 0.492 (B - Y) + 128: U is linear, so sum each channel's 2x2 cells first."""
    h, w = (rgb.shape[0] // BLOCK) * BLOCK, (rgb.shape[1] // BLOCK) * BLOCK
    cut = rgb[:h, :w, :3]
    cells = cut[0::2, 0::2].astype(np.float32)
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        cells += cut[dy::2, dx::2]
    band: FloatArray = cells @ (np.array(U_FROM_RGB, dtype=np.float32) / 2.0) + 256.0
    return band


def _mark_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    # Haar: a low-band change c moves each of its 2x2 pixels by c / 2; U moves B and G (Y and V stay).
    du = mark_band(_u_low_band(rgb)) / 2.0
    h2, w2 = du.shape
    out = rgb.copy()
    for channel, gain in ((2, 2.032), (1, -0.395)):
        step = np.rint(gain * du).astype(np.int16)[:, None, :, None]  # pixels are integers: round the step once
        cells = rgb[: 2 * h2, : 2 * w2, channel].astype(np.int16).reshape(h2, 2, w2, 2) + step
        out[: 2 * h2, : 2 * w2, channel] = np.clip(cells, 0, 255).astype(np.uint8).reshape(2 * h2, 2 * w2)
    return out


def _rgb(image: Image | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if isinstance(image, Image):
        return np.asarray(image.pil.convert("RGB"), dtype=np.uint8)
    pixels = np.asarray(image, dtype=np.uint8)
    return np.stack([pixels] * 3, axis=-1) if pixels.ndim == 2 else pixels[..., :3]


def _marked(provenance: Provenance | None) -> Provenance | None:
    if provenance is None:
        return None
    mark = {"method": METHOD, "payload": PAYLOAD.decode("ascii")}
    return provenance.model_copy(update={"extra": {**provenance.extra, "watermark": mark}})


def embed_watermark(image: Image) -> Image:
    """Return a copy of ``image`` carrying the invisible mark (provenance gets ``extra["watermark"]``).

    Example:
        >>> import numpy as np
        >>> yy, xx = np.mgrid[0:256, 0:320]
        >>> img = Image.from_array(np.stack([xx % 256, yy, (xx + yy) % 256], -1).astype(np.uint8))
        >>> detect_watermark(embed_watermark(img)).detected, detect_watermark(img).detected
        (True, False)
    """
    check_size(*image.size)
    return Image.from_array(_mark_rgb(_rgb(image)), _marked(image.provenance))


def detect_watermark(image: Image | npt.NDArray[np.uint8]) -> WatermarkCheck:
    """Look for the mark in an image (an :class:`Image` or an ``HxWx3`` RGB array).

    Example:
        >>> import numpy as np
        >>> detect_watermark(np.zeros((256, 256, 3), dtype=np.uint8)).detected
        False
    """
    rgb = _rgb(image)
    if min(rgb.shape[:2]) < MIN_SIDE:
        return WatermarkCheck(detected=False, bit_accuracy=0.0, frames=0)
    accuracy = band_accuracy(_u_low_band(rgb))
    return WatermarkCheck(detected=accuracy >= THRESHOLD, bit_accuracy=accuracy, marked=int(accuracy >= THRESHOLD))


def mark_frames(
    source: list[str],
    sink: list[str],
    width: int,
    height: int,
    *,
    marks: Sequence[bool] | None = None,
    cwd: str | Path | None = None,
) -> int:
    """Pipe raw ``yuv420p`` frames from ``source`` to ``sink`` (two ffmpeg commands), marking them on the way.

    ``source`` writes ``width x height`` frames to stdout, ``sink`` reads them from stdin; ``marks``
    says which frames get the mark (None: all; frames past its end are not marked). The relay runs
    in a worker interpreter of its own: marking a frame takes some thirty numpy calls, each of which
    gives up the GIL and waits to get it back, so in a process whose other threads run Python (the
    other jobs of a server) a minute of 720p took 37 s instead of 7. A failed ffmpeg raises
    :class:`MediaError` with its log; both ffmpeg processes are stopped.

    Returns:
        The number of frames relayed.

    Example:
        >>> ff = require_ffmpeg().path
        >>> source = [ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x256:d=0.4:r=10",
        ...           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
        >>> sink = [ff, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "320x256",
        ...         "-i", "-", "-f", "null", "-"]
        >>> mark_frames(source, sink, 320, 256)
        4
    """
    FrameMarker(width, height)  # a size the mark cannot take fails here, before any process starts
    job = {
        "source": source, "sink": sink, "width": width, "height": height, "parent": os.getpid(),
        "marks": None if marks is None else [bool(m) for m in marks], "cwd": None if cwd is None else str(cwd),
    }  # fmt: skip
    paths = [_PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]  # the worker imports this very aigc_sdk
    done = subprocess.run(
        [sys.executable, "-m", "aigc_sdk.trust._marking"], input=json.dumps(job), capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)}, check=False,
    )  # fmt: skip
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = {}
    if done.returncode == 0 and "frames" in answer:
        return int(answer["frames"])
    if "error" in answer:
        raise MediaError(answer["error"], hint=answer["hint"])
    hint = done.stderr.strip()[-800:] or None
    raise MediaError(f"the frame-marking worker failed (exit {done.returncode})", hint=hint)


def watermark_video(source: str | Path, target: str | Path | None = None, *, crf: int = 23) -> Path:
    """Mark every frame of a video and re-encode it (H.264, ``crf``), keeping the audio and provenance.

    Videos rendered by the slideshow generator are marked while they are rendered
    (``VideoRequest.watermark``); this is for other videos. Sign the result afterwards
    (re-encoding drops credentials).

    Args:
        source: The video.
        target: Where to write; None: replace ``source``.
        crf: x264 quality (23 is ffmpeg's default).

    Example:
        >>> watermark_video("clip.mp4")  # doctest: +SKIP
        PosixPath('clip.mp4')
    """
    video = Video.load(source)
    width, height = video.info.width, video.info.height
    if width % 2 or height % 2:
        raise InvalidRequestError(f"cannot mark a {width}x{height} video: H.264 4:2:0 needs even sides")
    FrameMarker(width, height)  # too small for the mark: fails before any file is touched
    out = Path(target) if target is not None else video.path
    ffmpeg = require_ffmpeg().path
    fps = f"{video.info.fps:g}" if video.info.fps > 0 else "25"
    prov = _marked(video.provenance)
    tags = ["-metadata", f"comment={prov.to_json()}"] if prov is not None else []
    decode = [ffmpeg, "-v", "error", "-nostdin", "-i", str(video.path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    with atomic_path(out) as tmp:
        encode = [ffmpeg, "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                  "-s", f"{width}x{height}", "-r", fps, "-i", "-", "-i", str(video.path), "-map", "0:v",
                  "-map", "1:a?", *tags, "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p",
                  "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(tmp)]  # fmt: skip
        mark_frames(decode, encode, width, height)
    write_sidecar(out, prov)
    return out


def detect_video_watermark(path: str | Path, *, frames: int = 5) -> WatermarkCheck:
    """Look for the mark on ``frames`` frames spread over a video; detected when any of them carries it.

    Unmarked pixels agree with at least 90 % of the 48 bits by chance less than once in a
    billion frames, so one marked frame is enough; clips that show the user's own photos
    carry the mark only on the other frames. ``bit_accuracy`` is the best frame's.

    Example:
        >>> detect_video_watermark("clip.mp4").detected  # doctest: +SKIP
        True
    """
    video = Video.load(path)
    width, height = video.info.width, video.info.height
    if min(width, height) < MIN_SIDE or width % 2 or height % 2:
        return WatermarkCheck(detected=False, bit_accuracy=0.0, frames=0)
    marker = FrameMarker(width, height)
    step = max(video.info.duration / frames, 0.01)  # one frame from the middle of each of `frames` spans
    cmd = [require_ffmpeg().path, "-v", "error", "-nostdin", "-ss", f"{step / 2:.4f}", "-i", str(video.path),
           "-vf", f"fps=1/{step:.4f}", "-frames:v", str(frames),
           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise MediaError(f"ffmpeg could not read {video.path}: {done.stderr.decode('utf-8', 'replace')[-500:]}")
    sampled = np.frombuffer(done.stdout, dtype=np.uint8)
    count = len(sampled) // marker.frame_bytes
    if count == 0:
        return WatermarkCheck(detected=False, bit_accuracy=0.0, frames=0)
    accuracies = [marker.accuracy(frame) for frame in sampled[: count * marker.frame_bytes].reshape(count, -1)]
    hits = sum(a >= THRESHOLD for a in accuracies)
    return WatermarkCheck(detected=hits > 0, bit_accuracy=max(accuracies), frames=count, marked=hits)
