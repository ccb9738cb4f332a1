"""The one media probe: PyAV's container metadata (no parsing of ffmpeg's printed log).

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from aigc_sdk.media import Audio
    >>> wav = Audio(np.zeros(8000, dtype=np.float32), 8000).save(pathlib.Path(tempfile.mkdtemp()) / "a.wav")
    >>> info = probe_media(wav)
    >>> info.duration, info.has_audio, info.has_video
    (1.0, True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from aigc_sdk._internal.optional import require
from aigc_sdk.errors import MediaError

__all__ = ["MediaProbe", "probe_media"]


@dataclass(frozen=True)
class MediaProbe:
    """What a media file's container says: length, first video stream's size and rate, audio, tags.

    Example:
        >>> MediaProbe(duration=2.0, has_audio=True).has_video
        False
    """

    duration: float
    has_audio: bool
    has_video: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)


def probe_media(path: str | Path, *, need: Literal["audio", "video"] | None = None) -> MediaProbe:
    """Probe ``path`` with PyAV (the container's metadata; nothing is decoded).

    ``need``: the stream the caller reads; a file without one is "not a readable audio/video file".

    Raises:
        MediaError: The file cannot be opened, or has no stream of the kind needed.

    Example:
        >>> try:
        ...     probe_media("no/such/file.mp4")
        ... except MediaError as e:
        ...     "not a readable media file" in e.message
        True
    """
    probe = _probe(Path(path), need or "media")
    has = {"audio": probe.has_audio, "video": probe.has_video}
    if need is not None and not has[need]:
        raise MediaError(f"{path} is not a readable {need} file", hint=f"it has no {need} stream")
    return probe


def _probe(source: Path, kind: str) -> MediaProbe:
    av: Any = require("av", extra="video", feature="media probing")
    try:
        with av.open(str(source), metadata_errors="replace") as container:
            video = next(iter(container.streams.video), None)
            has_audio = bool(container.streams.audio)
            duration = _duration(container)
            tags = {str(k).lower(): str(v) for k, v in container.metadata.items()}
            if video is None:
                return MediaProbe(duration=duration, has_audio=has_audio, tags=tags)
            rate = video.average_rate or video.guessed_rate or video.base_rate
            return MediaProbe(
                duration=duration,
                has_audio=has_audio,
                has_video=True,
                width=int(video.codec_context.width),
                height=int(video.codec_context.height),
                fps=float(Fraction(rate)) if rate else 0.0,
                tags=tags,
            )
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise MediaError(f"{source} is not a readable {kind} file", hint=str(exc)[:300] or None) from exc


def _duration(container: Any) -> float:
    """The container's duration in seconds (rounded to ms, as ffmpeg prints it), else the longest stream's."""
    if container.duration is not None:
        return round(float(container.duration) / 1_000_000, 3)
    spans = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    if not spans:
        raise ValueError("no duration in the container or its streams")
    return round(float(max(spans)), 3)
