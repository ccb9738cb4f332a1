"""Short video files before and after a rendered slideshow (a brand's intro and outro), encoded once.

A slideshow is encoded once; a clip joined to it should not encode it again. So the clip alone is
re-encoded to the slideshow's stream (:func:`conform_clip`: its frame size, frame rate and H.264
settings, the picture fitted and padded, its sound or silence), and the parts are joined by the concat
demuxer with the video copied (:func:`join_clips`). The sound is decoded per part, joined and encoded
once: copied AAC would overlap at each join by the encoder's priming samples.

The commands are built in :mod:`aigc_sdk.generators.video.ffgraph`; a join whose video streams turn
out not identical (another encoder's headers) encodes the video once more rather than writing a
broken file. Outputs are written to a temporary file and renamed.

Example:
    >>> import subprocess, tempfile, pathlib
    >>> from aigc_sdk._internal.ffmpeg import require_ffmpeg
    >>> from aigc_sdk.generators.video.ffgraph import Encoding
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = subprocess.run([require_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i",
    ...                     "testsrc=size=64x48:rate=30:duration=1", str(folder / "logo.mp4")], check=True)
    >>> enc = Encoding(width=32, height=32, fps=10, frames=0, preset="veryfast", crf=23, rate=48000)
    >>> conform_clip(folder / "logo.mp4", folder / "intro.mp4", enc)
    1.0
    >>> join_clips([folder / "intro.mp4", folder / "intro.mp4"], folder / "both.mp4", enc)
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aigc_sdk._internal.ffmpeg import require_ffmpeg, run_ffmpeg
from aigc_sdk._internal.files import atomic_path
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.probe import probe_media
from aigc_sdk.errors import MediaError
from aigc_sdk.generators.video.ffgraph import Encoding, conform_command, join_command

__all__ = ["conform_clip", "join_clips"]


def conform_clip(source: Path, target: Path, encoding: Encoding, *, background: str = "#000000") -> float:
    """Re-encode the video file ``source`` to ``target`` as a slideshow of ``encoding`` is; return its seconds.

    Its length is kept, in whole frames at the frame rate (``encoding.frames`` is ignored).

    Raises:
        MediaError: ``source`` has no readable video stream, or ffmpeg fails.

    Example:
        >>> conform_clip.__name__
        'conform_clip'
    """
    probe = probe_media(source, need="video")
    frames = max(1, round(probe.duration * encoding.fps))
    settings = dataclasses.replace(encoding, frames=frames)
    command = conform_command(require_ffmpeg().path, str(source), settings, has_audio=probe.has_audio,
                              background=background)  # fmt: skip
    _run(command, target, what=f"re-encode {source.name}")
    return frames / encoding.fps


def join_clips(parts: Sequence[Path], target: Path, encoding: Encoding) -> bool:
    """Join the MP4 ``parts`` in order into ``target``; return whether their video was copied (not re-encoded).

    ``encoding`` gives the rate, the chapters file and the tags of the joined file (and the H.264
    settings, should the video streams differ).

    Raises:
        MediaError: A part cannot be read, or ffmpeg fails.

    Example:
        >>> join_clips.__name__
        'join_clips'
    """
    copy = len({_video_stream(part) for part in parts}) == 1
    playlist = target.with_name(f".{target.stem}.ffconcat")
    lines = ["ffconcat version 1.0"] + [f"file '{_quoted(part)}'" for part in parts]
    playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        command = join_command(require_ffmpeg().path, str(playlist), [str(p) for p in parts], encoding, copy=copy)
        _run(command, target, what=f"join {', '.join(p.name for p in parts)}")
    finally:
        playlist.unlink(missing_ok=True)
    return copy


def _video_stream(path: Path) -> tuple[Any, ...]:
    """What must be equal for the concat demuxer to copy video: codec headers, size, pixel format, time base."""
    av: Any = require("av", extra="video", feature="joining clips")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            context = stream.codec_context
            return (context.name, bytes(context.extradata or b""), context.width, context.height,
                    context.format.name if context.format else None, stream.time_base)  # fmt: skip
    except (OSError, ValueError, IndexError, av.FFmpegError) as exc:
        raise MediaError(f"{path} has no readable video stream", hint=str(exc)[:300] or None) from exc


def _quoted(path: Path) -> str:
    """A path inside single quotes of an ffconcat ``file`` line."""
    return str(path.absolute()).replace("'", "'\\''")


def _run(command: list[str], target: Path, *, what: str) -> None:
    with atomic_path(target) as tmp:
        run_ffmpeg([*command, str(tmp)], failure=f"ffmpeg could not {what}")
