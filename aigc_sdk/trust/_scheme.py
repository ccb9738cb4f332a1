"""The watermark scheme on arrays: the mark's constants, its block arithmetic and :class:`FrameMarker`.

This is the part of :mod:`aigc_sdk.trust.watermark` that works on numpy arrays alone (no media values,
no provenance), so the frame-marking worker (:mod:`aigc_sdk.trust._marking`) starts by importing numpy
and this module only. Public names are re-exported by :mod:`aigc_sdk.trust.watermark`.

Example:
    >>> import numpy as np
    >>> marker = FrameMarker(320, 256)
    >>> frame = np.full(marker.frame_bytes, 128, dtype=np.uint8)
    >>> marker.mark(frame)
    >>> marker.accuracy(frame)
    1.0
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from aigc_sdk.errors import InvalidRequestError

__all__ = [
    "BLOCK",
    "METHOD",
    "MIN_SIDE",
    "PAYLOAD",
    "STEP",
    "THRESHOLD",
    "U_FROM_RGB",
    "FloatArray",
    "FrameMarker",
    "band_accuracy",
    "check_size",
    "mark_band",
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
#: Side of the blocks of the low band whose top singular value says one bit.
BLOCK = 4
_BITS = np.unpackbits(np.frombuffer(PAYLOAD, dtype=np.uint8)).astype(bool)
# BT.601 limited-range Cb is 0.4957 (B - Y); the U of invisible-watermark's YUV is 0.492 (B - Y).
_CB_TO_U = 0.492 / 0.4957237
#: U of an RGB pixel, less its 128 offset: the weights of R, G and B.
U_FROM_RGB = (-0.492 * 0.299, -0.492 * 0.587, 0.492 * (1.0 - 0.114))

FloatArray = npt.NDArray[np.floating[Any]]

# -- the scheme, on a low band -------------------------------------------------------------------------


def _blocks(band: FloatArray) -> tuple[FloatArray, int, int]:
    """The band's whole 4x4 blocks as a ``(4, 4, n)`` array (entry-major, so each entry is one vector)."""
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    return np.ascontiguousarray(cut.transpose(1, 3, 0, 2)).reshape(BLOCK, BLOCK, -1), rows, cols


class _Scratch:
    """The arrays marking ``n`` blocks works in, kept from frame to frame by :class:`FrameMarker`.

    A 720p frame's marking needs about ten arrays of ~1 MB. Allocated afresh for each frame, glibc
    may hand them back to the kernel and fault them in again, which costs more than the arithmetic
    (3.0 vs 1.3 ms a frame); kept, every frame after the first allocates none of them.
    """

    def __init__(self, n: int, dtype: npt.DTypeLike = np.float32) -> None:
        self.gram = np.empty((BLOCK, BLOCK, n), dtype)
        self.change = np.empty((BLOCK, BLOCK, n), dtype)
        self.u, self.v, self.w = (np.empty((BLOCK, n), dtype) for _ in range(3))
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


def mark_band(band: FloatArray) -> FloatArray:
    """The change to ``band`` that writes the mark (zero outside whole blocks)."""
    blocks, rows, cols = _blocks(band)
    change = _block_change(blocks)
    out = np.zeros_like(band)
    out[: rows * BLOCK, : cols * BLOCK] = (
        change.reshape(BLOCK, BLOCK, rows, cols).transpose(2, 0, 3, 1).reshape(rows * BLOCK, cols * BLOCK)
    )
    return out


def band_accuracy(band: FloatArray) -> float:
    """Fraction of the mark's bits the band carries (majority vote over the blocks of each bit)."""
    blocks, _, _ = _blocks(band)
    if blocks.shape[2] < len(_BITS):
        return 0.0
    s, _, _ = _top_singular(blocks)
    ones = np.mod(s, STEP) > STEP / 2
    which = np.arange(len(s)) % len(_BITS)
    share = np.bincount(which, weights=ones, minlength=len(_BITS)) / np.bincount(which, minlength=len(_BITS))
    return float(((share > 0.5) == _BITS).mean())


def check_size(width: int, height: int) -> None:
    """Raise :class:`InvalidRequestError` when a picture is too small to carry the mark."""
    if min(width, height) < MIN_SIDE:
        raise InvalidRequestError(f"a watermark needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {width}x{height}")


# -- video frames: the band is the 4:2:0 chroma plane ----------------------------------------------------


class _FrameScratch(_Scratch):
    """:class:`_Scratch` plus a frame's blocks (entry-major) and its pixels as floats, for ``rows x cols`` blocks."""

    def __init__(self, rows: int, cols: int) -> None:
        super().__init__(rows * cols)
        self.blocks = np.empty((BLOCK, BLOCK, rows * cols), np.float32)
        self.pixels = np.empty((rows, BLOCK, cols, BLOCK), np.float32)


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
        check_size(width, height)
        self.width, self.height = width, height
        self._luma = width * height
        self._chroma = (height // 2, width // 2)
        self._blocks = (self._chroma[0] // BLOCK, self._chroma[1] // BLOCK)
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
        cut = plane[: rows * BLOCK, : cols * BLOCK]
        cells = cut.reshape(rows, BLOCK, cols, BLOCK)
        work = self._work()
        # the band's blocks, entry-major like _blocks (contiguous: einsum is 3x slower on the strided view)
        blocks = work.blocks
        np.copyto(blocks.reshape(BLOCK, BLOCK, rows, cols), cells.transpose(1, 3, 0, 2))
        blocks -= 128.0
        blocks *= 2.0 * _CB_TO_U
        blocks += 256.0
        change = _block_change(blocks, work)
        change /= np.float32(2.0 * _CB_TO_U)
        marked = work.pixels
        np.copyto(marked, cells)
        marked += change.reshape(BLOCK, BLOCK, rows, cols).transpose(2, 0, 3, 1)
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
        return band_accuracy(self._band(self._plane(frame).reshape(self._chroma)))
