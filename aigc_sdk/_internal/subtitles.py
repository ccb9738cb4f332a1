"""The one SRT/WebVTT writer (and reader), on pysubs2: cues in, subtitle text or files out.

Cues are anything with ``text``, ``start`` and ``end`` (seconds): :class:`~aigc_sdk.types.Cue`,
:class:`~aigc_sdk.types.Segment`. pysubs2 is imported when used; without it the error names the extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

from aigc_sdk._internal.files import atomic_write_bytes
from aigc_sdk._internal.optional import require

__all__ = ["TimedText", "read_subtitles", "subtitle_text", "write_subtitles"]

SubtitleFormat = Literal["srt", "vtt"]


class TimedText(Protocol):
    """A piece of text shown from ``start`` to ``end`` seconds (a cue, a sentence segment).

    Example:
        >>> from aigc_sdk.types import Cue
        >>> cue: TimedText = Cue(text="Hi", start=0.0, end=1.0)
        >>> cue.end
        1.0
    """

    @property
    def text(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


def _pysubs2() -> Any:
    return require("pysubs2", extra="video", feature="SRT/VTT subtitles")


def subtitle_text(cues: Iterable[TimedText], fmt: SubtitleFormat = "srt") -> str:
    """``cues`` as SubRip (``srt``) or WebVTT (``vtt``) text; cues without text are left out.

    Example:
        >>> from aigc_sdk.types import Cue
        >>> print(subtitle_text([Cue(text="Hello", start=0.5, end=1.25)]).strip())
        1
        00:00:00,500 --> 00:00:01,250
        Hello
        >>> subtitle_text([Cue(text="Hello", start=0.5, end=1.25)], "vtt").startswith("WEBVTT")
        True
    """
    pysubs2 = _pysubs2()
    subs = pysubs2.SSAFile()
    for cue in cues:
        if not cue.text.strip():
            continue
        event = pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000))
        event.plaintext = cue.text
        subs.append(event)
    text: str = subs.to_string(fmt)
    return text


def write_subtitles(cues: Iterable[TimedText], *paths: str | Path) -> tuple[Path, ...]:
    """Write ``cues`` to each of ``paths`` atomically, as SRT or WebVTT by the file's suffix.

    Raises:
        ValueError: A path is neither ``.srt`` nor ``.vtt``.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.types import Cue
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> srt, vtt = write_subtitles([Cue(text="Hi", start=0.0, end=1.0)], d / "a.srt", d / "a.vtt")
        >>> srt.read_text().splitlines()[1], vtt.read_text().splitlines()[0]
        ('00:00:00,000 --> 00:00:01,000', 'WEBVTT')
    """
    kept = list(cues)
    targets = [Path(p) for p in paths]
    formats: list[SubtitleFormat] = []
    for target in targets:
        suffix = target.suffix.lower()
        if suffix not in (".srt", ".vtt"):
            raise ValueError(f"subtitles are written as .srt or .vtt, got {target.name!r}")
        formats.append("srt" if suffix == ".srt" else "vtt")
    for target, fmt in zip(targets, formats, strict=True):
        atomic_write_bytes(target, subtitle_text(kept, fmt).encode("utf-8"))
    return tuple(targets)


def read_subtitles(path: str | Path) -> list[tuple[str, float, float]]:
    """The ``(text, start, end)`` of each shown cue of an SRT/VTT/ASS file, in time order.

    Comments, blank cues and cues that end before they start are left out.

    Raises:
        Exception: pysubs2's own error when the file cannot be parsed (callers map it).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "in.srt"
        >>> _ = p.write_text("1\\n00:00:00,200 --> 00:00:01,000\\nFrom a file\\n", encoding="utf-8")
        >>> read_subtitles(p)
        [('From a file', 0.2, 1.0)]
    """
    events = _pysubs2().load(str(path)).events
    return [
        (e.plaintext.strip(), e.start / 1000, e.end / 1000)
        for e in sorted(events, key=lambda e: e.start)
        if not e.is_comment and e.plaintext.strip() and e.end > e.start
    ]
