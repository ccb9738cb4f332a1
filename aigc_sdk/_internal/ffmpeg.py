"""Locating ffmpeg: ``AIGC_FFMPEG``, then the binary shipped by imageio-ffmpeg, then ``PATH``."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass

from aigc_sdk._internal.optional import is_available
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MissingDependencyError


@dataclass(frozen=True)
class FFmpegInfo:
    """Where ffmpeg is and which version it reports.

    Example:
        >>> FFmpegInfo(path="/usr/bin/ffmpeg", version="6.1", source="PATH").source
        'PATH'
    """

    path: str
    version: str
    source: str


def find_ffmpeg() -> FFmpegInfo | None:
    """Find an ffmpeg executable, or ``None`` when there is none.

    Example:
        >>> info = find_ffmpeg()
        >>> info is None or bool(info.path)
        True
    """
    explicit = Settings.from_env().ffmpeg
    if explicit:
        return _probe(explicit, "AIGC_FFMPEG")
    if is_available("imageio_ffmpeg"):
        import imageio_ffmpeg

        try:
            return _probe(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")
        except RuntimeError:
            pass  # imageio-ffmpeg without a usable binary for this platform: fall back to PATH
    on_path = shutil.which("ffmpeg")
    return _probe(on_path, "PATH") if on_path else None


def require_ffmpeg() -> FFmpegInfo:
    """Return ffmpeg's location or raise :class:`MissingDependencyError`.

    Example:
        >>> try:
        ...     require_ffmpeg().path != ""
        ... except MissingDependencyError:
        ...     True
        True
    """
    info = find_ffmpeg()
    if info is None:
        raise MissingDependencyError(package="imageio_ffmpeg", extra="video", feature="ffmpeg")
    return info


@functools.lru_cache(maxsize=8)
def _probe(path: str, source: str) -> FFmpegInfo:
    out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=True)
    match = re.search(r"ffmpeg version (\S+)", out.stdout)
    return FFmpegInfo(path=path, version=match.group(1) if match else "unknown", source=source)
