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
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk._internal.files import atomic_path
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.media import Image, Video, write_sidecar
from aigc_sdk.provenance import Provenance

__all__ = [
    "METHOD",
    "PAYLOAD",
    "FrameMarker",
    "WatermarkCheck",
    "detect_video_watermark",
    "detect_watermark",
    "embed_watermark",
    "is_generated",
    "mark_frames",
    "watermark_video",
]

#: The 48-bit mark written into generated pixels.
PAYLOAD = b"AIGCv1"
#: The scheme's name in provenance records (invisible-watermark calls it ``dwtDctSvd``).
METHOD = "dwtDctSvd"
#: Fraction of matching bits from which a picture counts as marked (chance: ~0.5).
THRESHOLD = 0.9
#: Smallest side the mark fits in reliably.
MIN_SIDE = 256
#: Quantisation step of the largest singular value (invisible-watermark's U-channel scale).
STEP = 36.0
_BLOCK = 4
_BITS = np.unpackbits(np.frombuffer(PAYLOAD, dtype=np.uint8)).astype(bool)
# BT.601 limited-range Cb is 0.4957 (B - Y); the U of invisible-watermark's YUV is 0.492 (B - Y).
_CB_TO_U = 0.492 / 0.4957237
_U_FROM_RGB = (-0.492 * 0.299, -0.492 * 0.587, 0.492 * (1.0 - 0.114))
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder aigc_sdk is in
_GENERATED_TASKS = frozenset({"text-to-image", "image-to-image", "images-to-video", "text-to-video"})

FloatArray = npt.NDArray[np.floating[Any]]


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


# -- the scheme, on a low band -------------------------------------------------------------------------


def _blocks(band: FloatArray) -> tuple[FloatArray, int, int]:
    """The band's whole 4x4 blocks as a ``(4, 4, n)`` array (entry-major, so each entry is one vector)."""
    rows, cols = band.shape[0] // _BLOCK, band.shape[1] // _BLOCK
    cut = band[: rows * _BLOCK, : cols * _BLOCK].reshape(rows, _BLOCK, cols, _BLOCK)
    return np.ascontiguousarray(cut.transpose(1, 3, 0, 2)).reshape(_BLOCK, _BLOCK, -1), rows, cols


class _Scratch:
    """The arrays marking ``n`` blocks works in, kept from frame to frame by :class:`FrameMarker`.

    A 720p frame's marking needs about ten arrays of ~1 MB. Allocated afresh for each frame, glibc
    may hand them back to the kernel and fault them in again, which costs more than the arithmetic
    (3.0 vs 1.3 ms a frame); kept, every frame after the first allocates none of them.
    """

    def __init__(self, n: int, dtype: npt.DTypeLike = np.float32) -> None:
        self.gram = np.empty((_BLOCK, _BLOCK, n), dtype)
        self.change = np.empty((_BLOCK, _BLOCK, n), dtype)
        self.u, self.v, self.w = (np.empty((_BLOCK, n), dtype) for _ in range(3))
        self.norm = np.empty(n, dtype)
        # where in its bin each block's top singular value goes: a quarter step for a 0 bit, three for a 1
        self.offsets = (0.25 + 0.5 * np.resize(_BITS, n)).astype(dtype)


def _top_singular(blocks: FloatArray, work: _Scratch | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Largest singular value and vectors of each block, by power iteration from the flat vector.

    Chroma blocks are dominated by their mean, so four iterations match a full SVD to
    about 1e-4; done entry by entry over all blocks, it costs a tenth of a batched SVD.
    The vectors returned are ``work``'s arrays (overwritten by the next call).
    """
    work = work if work is not None else _Scratch(blocks.shape[2], blocks.dtype)
    gram = np.einsum("ijn,ikn->jkn", blocks, blocks, out=work.gram)
    v, w, norm = work.v, work.w, work.norm
    v.fill(0.5)
    for _ in range(4):
        np.einsum("jkn,kn->jn", gram, v, out=w)
        np.sqrt(np.einsum("jn,jn->n", w, w, out=norm), out=norm)
        norm += 1e-12
        np.divide(w, norm, out=v)
    u = np.einsum("ijn,jn->in", blocks, v, out=work.u)
    s: FloatArray = np.sqrt(np.einsum("in,in->n", u, u))
    u /= s + 1e-12
    return s, u, v


def _block_change(blocks: FloatArray, work: _Scratch | None = None) -> FloatArray:
    """The change to each ``(4, 4, n)`` block that writes the mark: its top singular value moved to the bit's bin.

    The change is ``work.change`` (overwritten by the next call).
    """
    work = work if work is not None else _Scratch(blocks.shape[2], blocks.dtype)
    s, u, v = _top_singular(blocks, work)
    u *= (np.floor(s / STEP) + work.offsets) * STEP - s
    change: FloatArray = np.multiply(u[:, None, :], v[None, :, :], out=work.change)
    return change


def _mark_band(band: FloatArray) -> FloatArray:
    """The change to ``band`` that writes the mark (zero outside whole blocks)."""
    blocks, rows, cols = _blocks(band)
    change = _block_change(blocks)
    out = np.zeros_like(band)
    out[: rows * _BLOCK, : cols * _BLOCK] = (
        change.reshape(_BLOCK, _BLOCK, rows, cols).transpose(2, 0, 3, 1).reshape(rows * _BLOCK, cols * _BLOCK)
    )
    return out


def _band_accuracy(band: FloatArray) -> float:
    """Fraction of the mark's bits the band carries (majority vote over the blocks of each bit)."""
    blocks, _, _ = _blocks(band)
    if blocks.shape[2] < len(_BITS):
        return 0.0
    s, _, _ = _top_singular(blocks)
    ones = np.mod(s, STEP) > STEP / 2
    which = np.arange(len(s)) % len(_BITS)
    share = np.bincount(which, weights=ones, minlength=len(_BITS)) / np.bincount(which, minlength=len(_BITS))
    return float(((share > 0.5) == _BITS).mean())


# -- RGB pictures: the band is the Haar low band of U ---------------------------------------------------


def _u_low_band(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """Haar low band of U = 0.492 (B - Y) + 128: U is linear, so sum each channel's 2x2 cells first."""
    h, w = (rgb.shape[0] // _BLOCK) * _BLOCK, (rgb.shape[1] // _BLOCK) * _BLOCK
    cut = rgb[:h, :w, :3]
    cells = cut[0::2, 0::2].astype(np.float32)
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        cells += cut[dy::2, dx::2]
    band: FloatArray = cells @ (np.array(_U_FROM_RGB, dtype=np.float32) / 2.0) + 256.0
    return band


def _mark_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    # Haar: a low-band change c moves each of its 2x2 pixels by c / 2; U moves B and G (Y and V stay).
    du = _mark_band(_u_low_band(rgb)) / 2.0
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


def _check_size(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise InvalidRequestError(f"a watermark needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {width}x{height}")


def embed_watermark(image: Image) -> Image:
    """Return a copy of ``image`` carrying the invisible mark (provenance gets ``extra["watermark"]``).

    Example:
        >>> import numpy as np
        >>> yy, xx = np.mgrid[0:256, 0:320]
        >>> img = Image.from_array(np.stack([xx % 256, yy, (xx + yy) % 256], -1).astype(np.uint8))
        >>> detect_watermark(embed_watermark(img)).detected, detect_watermark(img).detected
        (True, False)
    """
    _check_size(*image.size)
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
    accuracy = _band_accuracy(_u_low_band(rgb))
    return WatermarkCheck(detected=accuracy >= THRESHOLD, bit_accuracy=accuracy, marked=int(accuracy >= THRESHOLD))


# -- video frames: the band is the 4:2:0 chroma plane ----------------------------------------------------


class _FrameScratch(_Scratch):
    """:class:`_Scratch` plus a frame's blocks (entry-major) and its pixels as floats, for ``rows x cols`` blocks."""

    def __init__(self, rows: int, cols: int) -> None:
        super().__init__(rows * cols)
        self.blocks = np.empty((_BLOCK, _BLOCK, rows * cols), np.float32)
        self.pixels = np.empty((rows, _BLOCK, cols, _BLOCK), np.float32)


class FrameMarker:
    """Marks raw ``yuv420p`` frames of one size in place (about 1.2 ms per 720p frame).

    The Cb plane ``c`` maps onto the U low band as ``256 + 2k(c - 128)``; the marker
    writes the mark in that band and maps the change back.

    Example:
        >>> import numpy as np
        >>> marker = FrameMarker(320, 256)
        >>> frame = np.full(marker.frame_bytes, 128, dtype=np.uint8)
        >>> marker.accuracy(frame) < 0.9
        True
        >>> marker.mark(frame)
        >>> marker.accuracy(frame)
        1.0
    """

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise InvalidRequestError(f"yuv420p frames need even sides, got {width}x{height}")
        _check_size(width, height)
        self.width, self.height = width, height
        self._luma = width * height
        self._chroma = (height // 2, width // 2)
        self._blocks = (self._chroma[0] // _BLOCK, self._chroma[1] // _BLOCK)
        self.frame_bytes = self._luma * 3 // 2
        self._local = threading.local()  # each thread marking with this marker gets its own scratch arrays

    @property
    def window(self) -> tuple[int, int]:
        """Where the mark lives in a raw frame: ``(offset, length)`` of its Cb plane (see :meth:`mark_window`).

        Example:
            >>> FrameMarker(320, 256).window
            (81920, 20480)
        """
        return self._luma, self._luma // 4

    def _plane(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        if frame.size != self.frame_bytes:
            raise InvalidRequestError(f"a {self.width}x{self.height} yuv420p frame has {self.frame_bytes} bytes")
        return frame.reshape(-1)[self._luma : self._luma + self._luma // 4]

    @staticmethod
    def _band(plane: npt.NDArray[np.uint8]) -> FloatArray:
        band: FloatArray = 256.0 + (2.0 * _CB_TO_U) * (plane.astype(np.float32) - 128.0)
        return band

    def mark(self, frame: npt.NDArray[np.uint8]) -> None:
        """Write the mark into ``frame`` (a writable ``uint8`` buffer of ``frame_bytes`` bytes)."""
        self.mark_window(self._plane(frame))

    def mark_window(self, cb: npt.NDArray[np.uint8]) -> None:
        """Write the mark into a frame's Cb plane alone (the bytes at :attr:`window`), in place.

        The plane's whole blocks are gathered, changed and written back in float32, in arrays the
        marker keeps (one set per thread that marks with it): after its first frame a thread
        allocates nothing large (about 1.2 ms per 720p frame, against 3 ms with fresh arrays).

        Example:
            >>> import numpy as np
            >>> marker = FrameMarker(320, 256)
            >>> frame = np.full(marker.frame_bytes, 128, dtype=np.uint8)
            >>> start, length = marker.window
            >>> marker.mark_window(frame[start : start + length])
            >>> marker.accuracy(frame)
            1.0
        """
        if cb.size != self._luma // 4:
            raise InvalidRequestError(f"a {self.width}x{self.height} Cb plane has {self._luma // 4} bytes")
        plane = cb.reshape(self._chroma)
        rows, cols = self._blocks
        cut = plane[: rows * _BLOCK, : cols * _BLOCK]
        cells = cut.reshape(rows, _BLOCK, cols, _BLOCK)
        work = self._work()
        # the band's blocks, entry-major like _blocks (contiguous: einsum is 3x slower on the strided view)
        blocks = work.blocks
        np.copyto(blocks.reshape(_BLOCK, _BLOCK, rows, cols), cells.transpose(1, 3, 0, 2))
        blocks -= 128.0
        blocks *= 2.0 * _CB_TO_U
        blocks += 256.0
        change = _block_change(blocks, work)
        change /= np.float32(2.0 * _CB_TO_U)
        marked = work.pixels
        np.copyto(marked, cells)
        marked += change.reshape(_BLOCK, _BLOCK, rows, cols).transpose(2, 0, 3, 1)
        np.rint(marked, out=marked)
        np.clip(marked, 0, 255, out=marked)
        np.copyto(cells, marked, casting="unsafe")

    def _work(self) -> _FrameScratch:
        """This thread's arrays for marking one frame (made on the thread's first frame)."""
        work: _FrameScratch | None = getattr(self._local, "work", None)
        if work is None:
            work = self._local.work = _FrameScratch(*self._blocks)
        return work

    def accuracy(self, frame: npt.NDArray[np.uint8]) -> float:
        """Fraction of the mark's bits ``frame`` carries (about 0.5 when unmarked)."""
        return _band_accuracy(self._band(self._plane(frame).reshape(self._chroma)))


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
