"""The ``Timeline``: narration spans, visuals and subtitle cues, shared by every stage of a clip.

Narration timing comes from the speech result's sentence segments; each segment
gets a visual (shown from its start until the next segment starts) and subtitle
cues inside its span, so subtitles stay in sync with the voice by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, FilePath, model_validator

from aigc_sdk._internal.linebreak import is_cjk
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.types import Cue, Motion, Segment, VideoEncoding, VideoRequest

__all__ = ["Timeline", "TimelineSegment", "Visual", "split_cues"]

#: Longest pause between two narration segments that is not a gap in the story.
MAX_GAP_S = 1.5
_TOLERANCE = 0.05


class Visual(FrozenModel):
    """What is on screen for a segment: an image file, what kind it is, and how the camera moves.

    Example:
        >>> Visual(path="examples/data/market_close.csv", kind="chart").generated
        True
    """

    path: FilePath = Field(description="The still (PNG/JPEG/WebP).")
    kind: Literal["card", "chart", "photo", "generated"] = Field(description="Where it came from.")
    motion: Motion | None = Field(default=None, description="Camera move; None: drawn from the seed.")
    source: str | None = Field(default=None, description="Model id, renderer or the user's file it came from.")
    license: str | None = Field(default=None, description="Licence of the visual (user photos: as the user states).")
    clip: FilePath | None = Field(
        default=None, description="Moving footage shown instead of the still (the still animated by a video model)."
    )

    @property
    def generated(self) -> bool:
        """Whether the SDK made it (cards, charts, diffusion), as opposed to a user's photo.

        Example:
            >>> Visual(path="examples/data/market_close.csv", kind="photo").generated
            False
        """
        return self.kind != "photo"


class TimelineSegment(FrozenModel):
    """One narrated sentence: its span, its visual and its subtitle cues.

    Example:
        >>> seg = TimelineSegment(text="Hello there.", start=0.0, end=1.0,
        ...                       visual=Visual(path="examples/data/market_close.csv", kind="card"),
        ...                       cues=[Cue(text="Hello there.", start=0.0, end=1.0)])
        >>> seg.duration
        1.0
    """

    text: str = Field(min_length=1)
    start: float = Field(ge=0.0)
    end: float = Field(gt=0.0)
    visual: Visual
    cues: tuple[Cue, ...] = ()

    @model_validator(mode="after")
    def _cues_inside(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"segment {self.text[:30]!r} ends ({self.end:g} s) before it starts ({self.start:g} s)")
        for cue in self.cues:
            if cue.start < self.start - _TOLERANCE or cue.end > self.end + _TOLERANCE:
                raise ValueError(
                    f"cue {cue.text[:30]!r} ({cue.start:g}-{cue.end:g} s) is outside its narration "
                    f"({self.start:g}-{self.end:g} s)"
                )
        for before, after in zip(self.cues, self.cues[1:], strict=False):
            if after.start < before.end - 1e-6:
                raise ValueError(f"cues {before.text[:20]!r} and {after.text[:20]!r} overlap")
        return self

    @property
    def duration(self) -> float:
        """Narration length in seconds.

        Example:
            >>> card = Visual(path="examples/data/market_close.csv", kind="card")
            >>> TimelineSegment(text="Hi.", start=0.5, end=1.25, visual=card).duration
            0.75
        """
        return round(self.end - self.start, 9)


class Timeline(FrozenModel):
    """Segments in order over a narration of ``duration`` seconds.

    Validation: segments in order without overlaps; no silent gap longer than
    ``MAX_GAP_S`` (1.5 s) between or before them; everything inside ``duration``;
    cues inside their segment's narration.

    Example:
        >>> card = Visual(path="examples/data/market_close.csv", kind="card")
        >>> tl = Timeline.from_speech(
        ...     [Segment(text="First sentence.", start=0.0, end=1.2), Segment(text="Second.", start=1.45, end=2.0)],
        ...     [card, card], duration=2.1)
        >>> tl.slide_durations()
        (1.45, 0.65)
        >>> [c.text for c in tl.cues]
        ['First sentence.', 'Second.']
    """

    duration: float = Field(gt=0.0, description="Length of the narration (and the video), seconds.")
    segments: tuple[TimelineSegment, ...] = Field(min_length=1)
    narration: FilePath | None = Field(default=None, description="The narration audio file.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        previous_end = 0.0
        for seg in self.segments:
            if seg.start < previous_end - _TOLERANCE:
                raise ValueError(f"segment {seg.text[:30]!r} starts at {seg.start:g} s, inside the previous one")
            if seg.start - previous_end > MAX_GAP_S:
                raise ValueError(f"{seg.start - previous_end:.2f} s of silence before {seg.text[:30]!r}")
            previous_end = seg.end
        if previous_end > self.duration + _TOLERANCE:
            raise ValueError(f"segments run to {previous_end:g} s, past the duration {self.duration:g} s")
        return self

    @classmethod
    def from_speech(
        cls,
        segments: Sequence[Segment],
        visuals: Sequence[Visual],
        *,
        duration: float,
        narration: Path | None = None,
        max_chars: int | None = None,
    ) -> Timeline:
        """Build from a speech result's sentence segments and one visual per segment.

        Each sentence is split into subtitle cues of at most ``max_chars`` characters
        (default 42 for Latin text, 18 for CJK), timed in proportion to their length.

        Example:
            >>> card = Visual(path="examples/data/market_close.csv", kind="card")
            >>> tl = Timeline.from_speech([Segment(text="A short one.", start=0.0, end=1.0)], [card], duration=1.0)
            >>> tl.segments[0].cues[0].end
            1.0
        """
        if len(segments) != len(visuals):
            raise ValueError(f"{len(visuals)} visuals for {len(segments)} segments")
        built = [
            TimelineSegment(
                text=seg.text, start=seg.start, end=seg.end, visual=visual, cues=split_cues(seg, max_chars=max_chars)
            )
            for seg, visual in zip(segments, visuals, strict=True)
        ]
        return cls(duration=duration, segments=tuple(built), narration=narration)

    @property
    def cues(self) -> tuple[Cue, ...]:
        """Every subtitle cue, in order.

        Example:
            >>> card = Visual(path="examples/data/market_close.csv", kind="card")
            >>> tl = Timeline.from_speech([Segment(text="One.", start=0.0, end=1.0)], [card], duration=1.0)
            >>> [(c.text, c.start, c.end) for c in tl.cues]
            [('One.', 0.0, 1.0)]
        """
        return tuple(cue for seg in self.segments for cue in seg.cues)

    def slide_durations(self) -> tuple[float, ...]:
        """How long each segment's visual stays on screen: from its start (0 for the first) to the next start.

        The durations add up to ``duration`` exactly, so the video and the narration end together.

        Example:
            >>> card = Visual(path="examples/data/market_close.csv", kind="card")
            >>> Timeline.from_speech([Segment(text="One.", start=0.2, end=1.0)], [card], duration=1.5).slide_durations()
            (1.5,)
        """
        starts = [0.0] + [seg.start for seg in self.segments[1:]]
        ends = [*starts[1:], self.duration]
        return tuple(round(end - start, 6) for start, end in zip(starts, ends, strict=True))

    def to_video_request(self, *, encoding: VideoEncoding | None = None, **fields: Any) -> VideoRequest:
        """The slideshow request that renders this timeline (extra fields: size, fps, music, style …).

        ``encoding`` (codec settings, watermark, output file) is passed through as it is.

        Example:
            >>> card = Visual(path="examples/data/market_close.csv", kind="card")
            >>> tl = Timeline.from_speech([Segment(text="One.", start=0.0, end=1.0)], [card], duration=1.0)
            >>> request = tl.to_video_request(width=320, height=180, encoding=VideoEncoding(crf=20))
            >>> request.durations, request.encoding.crf
            ((1.0,), 20)
        """
        common: dict[str, Any] = {
            "images": tuple(seg.visual.path for seg in self.segments),
            "durations": self.slide_durations(),
            "cues": self.cues,
            "audio": self.narration,
            "encoding": encoding or VideoEncoding(),
            **fields,
        }
        clips = tuple(seg.visual.clip for seg in self.segments)
        if any(clip is not None for clip in clips):
            common["clips"] = clips
        request = VideoRequest(**common)
        given = [seg.visual.motion for seg in self.segments]
        if all(motion is None for motion in given):
            return request  # the renderer draws every move from the seed
        from aigc_sdk.generators.video.slideshow import ken_burns_motions

        drawn = ken_burns_motions(request)  # the moves the renderer would draw, for the visuals without one
        motions = tuple(d if g is None else g for g, d in zip(given, drawn, strict=True))
        return VideoRequest(**common, motions=motions)


def split_cues(segment: Segment, *, max_chars: int | None = None) -> tuple[Cue, ...]:
    """Split a narrated sentence into subtitle cues that fit on screen, timed in proportion to their length.

    Example:
        >>> seg = Segment(text="The council voted seven to two on Tuesday to expand the riverside park.",
        ...               start=0.0, end=4.0)
        >>> [(c.text, c.start, c.end) for c in split_cues(seg, max_chars=40)]
        [('The council voted seven to two on', 0.0, 1.886), ('Tuesday to expand the riverside park.', 1.886, 4.0)]
    """
    text = " ".join(segment.text.split())
    cjk = any(is_cjk(ch) for ch in text)
    limit = max_chars or (18 if cjk else 42)
    pieces = _chunks(text, limit, cjk)
    total = sum(len(p) for p in pieces)
    cues = []
    start = segment.start
    for i, piece in enumerate(pieces):
        end = segment.end if i == len(pieces) - 1 else round(start + segment.duration * len(piece) / total, 3)
        cues.append(Cue(text=piece, start=round(start, 3), end=end))
        start = end
    return tuple(cues)


def _glued(before: str, after: str) -> bool:
    """Whether a cue must not break between two characters.

    Not inside a number (3,412.58, 0.41%, 4:07), a Latin word or a date (26日); not before closing punctuation.

    Example:
        >>> [_glued(a, b) for a, b in ("0.", ".4", "3,", "PM", "6日", "1，", "数涨", "，3")]
        [True, True, True, True, True, True, False, False]
    """

    def word(ch: str) -> bool:
        return ch.isascii() and ch.isalnum()

    in_number = (before.isdigit() and after in ".,:%％") or (before in ".,:" and after.isdigit())
    return (
        (word(before) and word(after))
        or in_number
        or (before.isdigit() and after in _UNIT_HANZI)
        or (after != "" and after in _CLOSING)
    )


#: Characters that stay with the number before them (a date, a time, a score) and closing punctuation.
_UNIT_HANZI = "年月日时分秒点号个次级岁元"
_CLOSING = "，。、；：！？）》」』”’,.;:!?)"


def _chunks(text: str, limit: int, cjk: bool) -> list[str]:
    if len(text) <= limit:
        return [text]
    count = -(-len(text) // limit)  # balanced pieces rather than a long line and a stub
    target = len(text) / count
    if cjk:  # break after punctuation near the target, else at the limit; never inside a number or a Latin word
        pieces, current = [], ""
        for i, ch in enumerate(text):
            current += ch
            free = not _glued(ch, text[i + 1 : i + 2])
            at_pause = len(current) >= target and ch in "，、；：。！？,;: "
            if (free and (at_pause or len(current) >= limit)) or len(current) >= limit + 12:
                pieces.append(current.strip())
                current = ""
        if current.strip():
            pieces.append(current.strip())
        return pieces
    words, pieces, current = text.split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and (len(candidate) > limit or len(current) >= target):
            pieces.append(current)
            candidate = word
        current = candidate
    pieces.append(current)
    return pieces
