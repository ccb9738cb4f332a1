"""A brand on a news clip: the pictures it adds (visuals step) and where and when they show (render step).

Three functions, for the steps of :mod:`aigc_sdk.pipelines.news_clip`:

1. :func:`brand_visuals` (visuals step): the intro, outro and end cards in the brand's colours and fonts,
   a lower third for the first quote of each speaker (name and role, read by
   :func:`~aigc_sdk.generators.text.article.speaker_of`) and for each feed event (place and time), and
   the disclosure line;
2. :func:`branded_render` (render step): the intro and outro put before and after the narration (the
   voice is padded with silence, every timing shifted), the lower thirds timed over the lines they name
   (above the captions), the disclosure line over the last seconds, the logo bug, and the caption style
   (``sentence``, ``words`` with the spoken word highlighted, or ``off``; in 9:16 frames, out of the
   platforms' UI bands, as every 9:16 clip's captions are: :func:`caption_style`);
3. :func:`join_brand_clips` (render step, after the slideshow): an intro or outro that is a video file,
   re-encoded alone to the clip's stream and joined with the clip's video copied; every timing moves by it.

With no brand none of this runs, and a clip looks as it always did.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from aigc_sdk._internal.optional import require
from aigc_sdk._internal.subtitles import write_subtitles
from aigc_sdk._internal.textlayout import TextLayout, shared_book
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec, Theme
from aigc_sdk.generators.text.article import speaker_of
from aigc_sdk.generators.video.brand import Brand, BrandCard, LowerThirdStyle
from aigc_sdk.generators.video.captions import SAFE_TOP, caption_top, is_vertical
from aigc_sdk.generators.video.clips import conform_clip, join_clips
from aigc_sdk.generators.video.ffgraph import Encoding, chapter_metadata
from aigc_sdk.media import Audio, Image, sidecar_path, write_sidecar
from aigc_sdk.pipelines.timeline import Timeline, TimelineSegment, Visual
from aigc_sdk.provenance import Provenance
from aigc_sdk.trust.publishing import publish
from aigc_sdk.types import (
    Chapter,
    Cue,
    Motion,
    Segment,
    SubtitleStyle,
    TimedOverlay,
    VideoRequest,
    VideoResult,
    Word,
)

__all__ = [
    "BrandVisuals",
    "BrandedClip",
    "Captions",
    "LowerThird",
    "brand_visuals",
    "branded_render",
    "caption_style",
    "chapters_after_intro",
    "event_places",
    "join_brand_clips",
    "overlay_ceiling",
    "placed_top",
]

Captions = Literal["sentence", "words", "off"]
#: Seconds a lower third waits after its line starts.
LOWER_THIRD_DELAY = 0.3


class LowerThird(BaseModel):
    """A lower third: the narrated line it goes over, its picture (cropped) and where that sits, and its text.

    Example:
        >>> LowerThird(line=2, path=Path("lt.png"), x=40, y=600, kind="speaker", title="Ana Ruiz").subtitle is None
        True
    """

    line: int = Field(ge=0, description="Narrated line (0: the headline).")
    path: Path
    x: int
    y: int
    kind: Literal["speaker", "place", "disclosure"]
    title: str
    subtitle: str | None = None


class BrandVisuals(BaseModel):
    """The pictures a brand adds to a clip (made in the visuals step, placed in the render step).

    Example:
        >>> BrandVisuals().lower_thirds
        []
    """

    intro: Visual | None = None
    outro: Visual | None = None
    end_card: Visual | None = None
    lower_thirds: list[LowerThird] = Field(default_factory=list)
    disclosure: LowerThird | None = None


def brand_visuals(
    brand: Brand,
    lines: list[str],
    places: list[tuple[str, str | None] | None],
    *,
    width: int,
    height: int,
    workdir: Path,
) -> BrandVisuals:
    """Render the brand's cards, lower thirds and disclosure line for a clip of ``lines`` at ``width`` x ``height``.

    ``places[i]`` is the place and time of the feed event that line ``i`` opens (None: no event).

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.generators.video.brand import Disclosure, LowerThirdStyle
        >>> brand = Brand(lower_third=LowerThirdStyle(), disclosure=Disclosure(text="Made with automated tools."))
        >>> made = brand_visuals(brand, ["Park grows.", '"It is a sponge," said Ana Ruiz, a council member.'],
        ...                      [None, None], width=320, height=180, workdir=pathlib.Path(tempfile.mkdtemp()))
        >>> [(t.line, t.title, t.subtitle) for t in made.lower_thirds], made.disclosure.kind
        ([(1, 'Ana Ruiz', 'A council member')], 'disclosure')
    """
    theme = brand.theme()
    made = BrandVisuals()

    def card(name: str, spec: BrandCard | None, **fields: Any) -> Visual | None:
        if (spec is None and not fields) or (spec is not None and spec.video is not None):
            return None  # no card, or a video file (joined to the rendered clip: join_brand_clips)
        content = {"title": spec.title, "subtitle": spec.subtitle} if spec is not None else fields
        rendered = CardRenderer().render(CardSpec(width=width, height=height, theme=theme, **content))
        path = publish(rendered, workdir / f"brand-{name}.png")
        return Visual(path=path, kind="card", motion=Motion.static(), source="card-renderer", license="Apache-2.0")

    made.intro, made.outro = card("intro", brand.intro), card("outro", brand.outro)
    if brand.disclosure is not None and brand.disclosure.end_card:
        made.end_card = card("end", None, layout="body", title=brand.name, body=brand.disclosure.text)
    if brand.lower_third is not None and brand.lower_third.enabled:
        made.lower_thirds = _lower_thirds(lines, places, theme, width, height, workdir)
    if brand.disclosure is not None and brand.disclosure.caption:
        made.disclosure = _disclosure_line(brand.disclosure.text, theme, width, height, workdir)
    return made


def _lower_thirds(
    lines: list[str], places: list[tuple[str, str | None] | None], theme: Theme, width: int, height: int, workdir: Path
) -> list[LowerThird]:
    """A lower third at each speaker's first quote and at each feed event's first line."""
    found: list[LowerThird] = []
    named: set[str] = set()
    for index, line in enumerate(lines):
        speaker = speaker_of(line) if index > 0 else None
        place = places[index] if index < len(places) else None
        if speaker is not None and speaker.name not in named:
            named.add(speaker.name)
            title, subtitle, kind = speaker.name, speaker.role, "speaker"
        elif place is not None:
            title, subtitle, kind = place[0], place[1], "place"
        else:
            continue
        spec = CardSpec(layout="lower-third", title=title, subtitle=subtitle, width=width, height=height, theme=theme)
        picture = CardRenderer().render(spec)
        x, y, path = _cropped(picture, workdir / f"lower-third-{index:03d}.png")
        found.append(LowerThird(line=index, path=path, x=x, y=y, kind=kind, title=title, subtitle=subtitle))
    return found


def _disclosure_line(text: str, theme: Theme, width: int, height: int, workdir: Path) -> LowerThird:
    """The disclosure as a small line on a panel, centred near the top of the frame (inside the safe area)."""
    pil_image = require("PIL.Image", extra="image", feature="brand disclosure")
    image_draw = require("PIL.ImageDraw", extra="image", feature="brand disclosure")
    u = min(width, height) / 100.0
    canvas = pil_image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = image_draw.Draw(canvas)
    layout = TextLayout(shared_book(theme.fonts, theme.font_files), draw)
    block = layout.fit(text, width * 0.8, 7 * u, max_size=2.4 * u, min_size=1.2 * u, max_lines=2)
    pad = 1.2 * u
    box_w = max(block.widths) + 2 * pad
    x0 = (width - box_w) / 2
    y0 = max(theme.safe_margin, SAFE_TOP if is_vertical(width, height) else 0.0) * height
    rgb = tuple(int(theme.background[i : i + 2], 16) for i in (1, 3, 5))
    draw.rounded_rectangle((x0, y0, x0 + box_w, y0 + block.height + 2 * pad), radius=pad, fill=(*rgb, 210))
    fill = tuple(int(theme.text[i : i + 2], 16) for i in (1, 3, 5))
    layout.draw_block(block, x0 + pad, y0 + pad, fill=(*fill, 255), width=box_w - 2 * pad, align="center")
    x, y, path = _cropped(Image(canvas), workdir / "disclosure.png")
    return LowerThird(line=0, path=path, x=x, y=y, kind="disclosure", title=text)


def _cropped(picture: Image, path: Path) -> tuple[int, int, Path]:
    """Save the visible part of an RGBA picture; return its top-left corner in the frame and the file."""
    rgba = picture.pil.convert("RGBA")
    box = rgba.getchannel("A").getbbox() or (0, 0, 2, 2)
    x0, y0 = box[0] // 2 * 2, box[1] // 2 * 2
    Image(rgba.crop((x0, y0, box[2], box[3]))).save(path)
    return x0, y0, path


def event_places(
    features: list[dict[str, Any] | None], titles: list[str | None], lines: int
) -> list[tuple[str, str | None] | None]:
    """The place and time a lower third names on each of ``lines`` narrated lines: the first line about an event.

    ``features[i]`` is the GeoJSON feature line ``i`` shows on a map (its ``place`` and ``time``);
    ``titles[i]`` the title of the event line ``i`` narrates (feeds without coordinates).

    Example:
        >>> f = {"properties": {"place": "38 km ESE of Hualien City, Taiwan", "time": 1712102400000}}
        >>> event_places([None, f], [None, None], 3)
        [None, ('38 km ESE of Hualien City, Taiwan', '2024-04-03 00:00 UTC'), None]
        >>> event_places([], [None, "Lisbon", "Lisbon", "Porto"], 4)
        [None, ('Lisbon', None), None, ('Porto', None)]
    """
    places: list[tuple[str, str | None] | None] = []
    previous: str | None = None
    for index in range(lines):
        feature = features[index] if index < len(features) else None
        title = titles[index] if index < len(titles) else None
        place: tuple[str, str | None] | None = None
        if feature is not None:
            props = feature.get("properties") or {}
            name = props.get("place") or props.get("title") or props.get("name")
            when = props.get("time")
            stamp = None
            if isinstance(when, int | float):
                stamp = f"{_dt.datetime.fromtimestamp(when / 1000, tz=_dt.UTC):%Y-%m-%d %H:%M} UTC"
            place = (str(name), stamp) if name else None
        elif title is not None and title != previous:
            place = (title, None)
        previous = title
        places.append(place)
    return places


def caption_style(brand: Brand | None, captions: Captions, width: int, height: int) -> SubtitleStyle | None:
    """The burned-in caption style: None for the slideshow's default (no brand, sentence captions), else the brand's.

    ``words`` highlights the spoken word. Vertical (9:16) captions always avoid the platforms' UI bands,
    with a brand or not. Captions are drawn in the brand's bold font (its first font without one).

    Example:
        >>> caption_style(None, "sentence", 1280, 720) is None
        True
        >>> caption_style(None, "sentence", 720, 1280).safe_zone
        True
        >>> caption_style(None, "words", 720, 1280).highlight
        '#FFD200'
    """
    if brand is None and captions == "sentence":
        return SubtitleStyle(safe_zone=True) if is_vertical(width, height) else None
    kit = brand or Brand()
    look = kit.captions
    fonts = sorted(kit.fonts.files, key=lambda path: "bold" not in path.stem.lower())  # bold first
    return SubtitleStyle(
        font=fonts[0] if fonts else None,
        color=look.color,
        background=look.background,
        font_size=look.font_size,
        highlight=look.highlight if captions == "words" else None,
        safe_zone=True,
    )


def branded_render(
    timeline: Timeline,
    made: BrandVisuals,
    brand: Brand,
    *,
    spoken: tuple[Segment, ...] = (),
    captions: Captions,
    width: int,
    height: int,
    workdir: Path,
) -> tuple[Timeline, dict[str, Any], dict[str, Any]]:
    """The timeline with intro and outro, the slideshow fields the brand sets, and what the manifest records.

    ``spoken`` are the narration's segments, one per timeline segment: with ``words`` captions their word
    timings (or, where the voice gave none, timings spread over the sentence by length) time the cues and
    the highlight.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.types import Segment
        >>> from aigc_sdk.generators.video.brand import Disclosure
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> card = Visual(path="examples/brand/logo.png", kind="card")
        >>> tl = Timeline.from_speech([Segment(text="One.", start=0.0, end=6.0)], [card], duration=6.0)
        >>> brand = Brand(disclosure=Disclosure(text="Made with automated tools."))
        >>> made = brand_visuals(brand, ["One."], [None], width=320, height=180, workdir=folder)
        >>> timeline, fields, record = branded_render(tl, made, brand, captions="sentence", width=320, height=180,
        ...                                          workdir=folder)
        >>> [(o.start, o.end) for o in fields["overlays"]], record["disclosure"]["text"]
        ([(2.0, 6.0)], 'Made with automated tools.')
    """
    words: tuple[Word, ...] = ()
    if captions == "words" and spoken:
        timeline, words = word_timed(timeline, spoken)
    timeline, lead = _with_intro_outro(timeline, made, brand, workdir)
    style = caption_style(brand, captions, width, height)
    overlays = _timed_lower_thirds(
        timeline, made, brand, first=1 if lead else 0, ceiling=overlay_ceiling(brand, captions, width, height)
    )
    shown = [
        {"kind": third.kind, "title": third.title, "subtitle": third.subtitle, "start": timed.start, "end": timed.end}
        for third, timed in overlays
    ]
    timed = [t for _, t in overlays]
    disclosure: dict[str, Any] | None = None
    if brand.disclosure is not None:
        disclosure = brand.disclosure.model_dump(mode="json")
        if made.disclosure is not None:
            start = round(max(0.0, timeline.duration - brand.disclosure.seconds), 3)
            spot = made.disclosure
            timed.append(
                TimedOverlay(image=spot.path, start=start, end=timeline.duration, x=spot.x, y=spot.y, ramp=0.3)
            )
            disclosure |= {"start": start, "end": timeline.duration}
    fields: dict[str, Any] = {"overlays": tuple(timed), "burn_subtitles": captions != "off"}
    if style is not None and captions != "off":
        fields["subtitle_style"] = style
        if style.highlight is not None:
            fields["words"] = tuple(w.model_copy(update={"start": w.start + lead, "end": w.end + lead}) for w in words)
    if brand.logo is not None and brand.logo.bug:
        logo = brand.logo
        fields |= {
            "logo": logo.file,
            "logo_position": logo.corner,
            "logo_size": logo.size,
            "logo_opacity": logo.opacity,
        }
    record = {
        **brand.record(),
        "captions": captions,
        "lower_thirds": shown,
        "disclosure": disclosure,
        "intro": _shown(made.intro, brand.intro),
        "outro": _shown(made.outro, brand.outro),
        "end_card": made.end_card is not None,
    }
    return timeline, fields, record


def _shown(still: Visual | None, card: BrandCard | None) -> Literal["still", "video"] | None:
    """How an intro or outro shows: a still card, a video file (joined after rendering), or not at all."""
    if still is not None:
        return "still"
    return "video" if card is not None and card.video is not None else None


def _timed_lower_thirds(
    timeline: Timeline, made: BrandVisuals, brand: Brand, *, first: int, ceiling: int
) -> list[tuple[LowerThird, TimedOverlay]]:
    """Each lower third over its line (from a moment after the line starts), its bottom above ``ceiling``."""
    look = brand.lower_third or LowerThirdStyle()
    timed = []
    for third in made.lower_thirds:
        segment = timeline.segments[third.line + first]
        start = round(segment.start + LOWER_THIRD_DELAY, 3)
        end = round(min(segment.end, start + look.seconds), 3)
        if end - start < 2 * look.ramp + 0.5:
            continue  # the line is too short to read a name over it
        y = placed_top(third, ceiling)
        overlay = TimedOverlay(
            image=third.path, start=start, end=end, x=third.x, y=y, animation=look.animation, ramp=look.ramp
        )
        timed.append((third, overlay))
    return timed


def overlay_ceiling(brand: Brand | None, captions: Captions, width: int, height: int) -> int:
    """The lowest row a lower third may reach: a little above the captions (the frame's bottom without them).

    Example:
        >>> overlay_ceiling(None, "off", 1280, 720), overlay_ceiling(None, "sentence", 1280, 720) < 720
        (720, True)
    """
    if captions == "off":
        return height
    style = caption_style(brand, captions, width, height)
    return caption_top(style or SubtitleStyle(), width, height) - round(0.02 * height)


def placed_top(third: LowerThird, ceiling: int) -> int:
    """Where a lower third's top lands in the frame: where it was drawn, lifted so its bottom stays above ``ceiling``.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.media import Image
        >>> import numpy as np
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "third.png"
        >>> _ = Image.from_array(np.zeros((100, 400, 4), dtype=np.uint8)).save(path)
        >>> placed_top(LowerThird(line=1, path=path, x=40, y=560, kind="place", title="Lisbon"), ceiling=620)
        520
    """
    return max(0, min(third.y, ceiling - _height(third.path)))


def _height(path: Path) -> int:
    pil_image = require("PIL.Image", extra="image", feature="brand overlays")
    with pil_image.open(path) as opened:
        return int(opened.height)


def _with_intro_outro(timeline: Timeline, made: BrandVisuals, brand: Brand, workdir: Path) -> tuple[Timeline, float]:
    """The timeline with the intro before the narration and the outro/end card after it (the voice padded)."""
    head = [(made.intro, brand.intro.seconds)] if made.intro is not None and brand.intro is not None else []
    tail = [(made.outro, brand.outro.seconds)] if made.outro is not None and brand.outro is not None else []
    if made.end_card is not None and brand.disclosure is not None:
        tail.append((made.end_card, brand.disclosure.seconds))
    if (not head and not tail) or timeline.narration is None:
        return timeline, 0.0
    lead = head[0][1] if head else 0.0
    trail = sum(seconds for _, seconds in tail)
    voice = Audio.load(timeline.narration)
    rate = voice.sample_rate
    pad = [(round(lead * rate), round(trail * rate))] + [(0, 0)] * (voice.samples.ndim - 1)
    padded = Audio(np.pad(voice.samples, pad), rate).save(workdir / "narration-branded.wav")
    segments = [_shift(s, lead) for s in timeline.segments]
    if head:
        segments.insert(0, TimelineSegment(text="intro", start=0.0, end=lead, visual=head[0][0]))
    at = timeline.duration + lead
    for visual, seconds in tail:
        segments.append(TimelineSegment(text="outro", start=round(at, 6), end=round(at + seconds, 6), visual=visual))
        at += seconds
    total = round(_padded_seconds(voice, lead + trail), 6)
    return Timeline(duration=total, segments=tuple(segments), narration=padded), lead


def _padded_seconds(voice: Audio, extra: float) -> float:
    """The length of ``voice`` padded by ``extra`` seconds, as the padded file has it (whole samples)."""
    return float(voice.samples.shape[0] + round(extra * voice.sample_rate)) / voice.sample_rate


def word_timed(timeline: Timeline, spoken: tuple[Segment, ...]) -> tuple[Timeline, tuple[Word, ...]]:
    """Cues re-timed to start on their first word, and one timed word per word of the cues.

    A segment whose words the voice did not time (or timed as a different count) gets its words spread
    over its span by length, as cues are.

    Example:
        >>> from pathlib import Path
        >>> card = Visual(path="examples/brand/logo.png", kind="card")
        >>> said = Segment(text="One two three four.", start=0.0, end=2.0, words=(
        ...     Word(text="One", start=0.0, end=0.3), Word(text="two", start=0.4, end=0.7),
        ...     Word(text="three", start=1.2, end=1.5), Word(text="four.", start=1.6, end=1.9)))
        >>> tl = Timeline.from_speech([said], [card], duration=2.0, max_chars=8)
        >>> timed, words = word_timed(tl, (said,))
        >>> [(c.text, c.start, c.end) for c in timed.cues], len(words)
        ([('One two', 0.0, 1.2), ('three', 1.2, 1.6), ('four.', 1.6, 2.0)], 4)
    """
    segments: list[TimelineSegment] = []
    words: list[Word] = []
    for segment, said in zip(timeline.segments, spoken, strict=True):
        tokens = [token for cue in segment.cues for token in cue.text.split()]
        timed = list(said.words) if len(said.words) == len(tokens) else _spread(tokens, segment.start, segment.end)
        words += timed
        starts, at = [], 0
        for cue in segment.cues:
            starts.append(min(max(timed[at].start, segment.start), segment.end) if at else segment.start)
            at += len(cue.text.split())
        ends = [*starts[1:], segment.end]
        if all(b > a for a, b in zip(starts, ends, strict=True)):
            cues = tuple(Cue(text=c.text, start=a, end=b) for c, a, b in zip(segment.cues, starts, ends, strict=True))
            segment = segment.model_copy(update={"cues": cues})
        segments.append(segment)
    return timeline.model_copy(update={"segments": tuple(segments)}), tuple(words)


def _spread(tokens: list[str], start: float, end: float) -> list[Word]:
    """Words timed in proportion to their length over ``start``–``end``."""
    total = sum(len(t) + 1 for t in tokens) or 1
    words, at = [], start
    for token in tokens:
        step = (end - start) * (len(token) + 1) / total
        words.append(Word(text=token, start=round(at, 3), end=round(at + step, 3)))
        at += step
    return words


def _shift(segment: TimelineSegment, by: float) -> TimelineSegment:
    cues = tuple(Cue(text=c.text, start=round(c.start + by, 6), end=round(c.end + by, 6)) for c in segment.cues)
    return segment.model_copy(update={"start": segment.start + by, "end": segment.end + by, "cues": cues})


class BrandedClip(BaseModel):
    """A rendered clip with the brand's intro and outro videos joined: the files, and every timing moved.

    Example:
        >>> BrandedClip.model_fields["lead"].description
        'Seconds of the intro video before the story.'
    """

    video: Path
    srt: Path | None
    vtt: Path | None
    timeline: Timeline
    chapters: list[Chapter]
    record: dict[str, Any]
    provenance: Provenance
    lead: float = Field(description="Seconds of the intro video before the story.")
    copied: bool = Field(
        description="Whether the rendered clip's video was copied into the joined file (not re-encoded)."
    )


def join_brand_clips(
    result: VideoResult,
    request: VideoRequest,
    brand: Brand,
    *,
    timeline: Timeline,
    chapters: list[Chapter],
    record: dict[str, Any],
    workdir: Path,
) -> BrandedClip:
    """Join the brand's intro and outro video files around a rendered clip, and move every timing by the intro.

    Each file is re-encoded alone to the clip's stream (frame size, rate, H.264 settings; fitted on the
    brand's background, its sound or silence), then joined with the clip's video copied
    (:mod:`aigc_sdk.generators.video.clips`). Subtitles, chapters (the intro opens the first one), the
    manifest's lower thirds and disclosure times, and the timeline are moved by the intro's length.
    The rendered clip's own files (MP4, subtitles, sidecar) are replaced by the joined clip's (``clip.mp4``).

    Example:
        >>> join_brand_clips.__name__  # a clip joined for real: tests/generators/video/test_brand_clips.py
        'join_brand_clips'
    """
    rate = request.sample_rate or 48_000
    settings = Encoding(width=request.width, height=request.height, fps=request.fps, frames=0,
                        preset=request.encoding.preset, crf=request.encoding.crf, rate=rate)  # fmt: skip
    parts = _conformed(brand, settings, workdir)
    lead = parts["intro"][1] if "intro" in parts else 0.0
    story = result.video.info.duration if result.video.info is not None else timeline.duration
    total = round(story + lead + (parts["outro"][1] if "outro" in parts else 0.0), 6)
    moved = chapters_after_intro(chapters, lead) if lead else chapters
    done = [{"role": name, "file": str(card.video), "seconds": parts[name][1]} for name, card in brand.clips()]
    extra = {**result.provenance.extra, "duration": total, "frames": round(total * request.fps), "brand_clips": done}
    provenance = result.provenance.model_copy(update={"extra": extra})
    metadata = (("comment", provenance.to_json()),) + ((("title", request.prompt),) if request.prompt else ())
    chapter_file = None
    if moved:
        chapter_file = workdir / "chapters-joined.txt"
        chapter_file.write_text(chapter_metadata(moved, total), encoding="utf-8")
    target = workdir / "clip.mp4"
    order = [*(parts[k][0] for k in ("intro",) if k in parts), result.video.path,
             *(parts[k][0] for k in ("outro",) if k in parts)]  # fmt: skip
    joining = dataclasses.replace(settings, metadata=metadata, chapters=str(chapter_file) if chapter_file else None)
    copied = join_clips(order, target, joining)
    write_sidecar(target, provenance)
    for used in (result.video.path, result.subtitles, result.subtitles_vtt, sidecar_path(result.video.path)):
        if used is not None and used != target:
            used.unlink(missing_ok=True)  # the story alone: replaced by the joined clip
    cues = [Cue(text=c.text, start=round(c.start + lead, 6), end=round(c.end + lead, 6)) for c in result.cues]
    srt, vtt = write_subtitles(cues, target.with_suffix(".srt"), target.with_suffix(".vtt")) if cues else (None, None)
    return BrandedClip(video=target, srt=srt, vtt=vtt, timeline=_joined(timeline, parts, story, total),
                       chapters=moved, record=_moved_record(record, lead), provenance=provenance, lead=lead,
                       copied=copied)  # fmt: skip


def _conformed(brand: Brand, settings: Encoding, workdir: Path) -> dict[str, tuple[Path, float]]:
    """The brand's intro and outro videos re-encoded as the clip is (on its background), with their seconds."""
    background = brand.theme().background
    parts: dict[str, tuple[Path, float]] = {}
    for name, card in brand.clips():
        if card.video is not None:
            part = workdir / f"brand-{name}.mp4"
            parts[name] = (part, conform_clip(card.video, part, settings, background=background))
    return parts


def _joined(timeline: Timeline, parts: dict[str, tuple[Path, float]], story: float, total: float) -> Timeline:
    """The timeline moved after the intro video, with a segment for each video (its visual: the file)."""
    lead = parts["intro"][1] if "intro" in parts else 0.0
    segments = [_shift(s, lead) for s in timeline.segments]
    for name, (part, seconds) in parts.items():
        at = 0.0 if name == "intro" else story + lead
        shown = Visual(path=part, kind="card", motion=Motion.static(), source=f"brand {name} video")
        segment = TimelineSegment(text=name, start=round(at, 6), end=round(min(at + seconds, total), 6), visual=shown)
        segments = [segment, *segments] if name == "intro" else [*segments, segment]
    return Timeline(duration=total, segments=tuple(segments), narration=timeline.narration)


def chapters_after_intro(chapters: list[Chapter], lead: float) -> list[Chapter]:
    """The chapters moved ``lead`` seconds later, the first one from 0 (the intro opens the headline's chapter).

    Example:
        >>> moved = chapters_after_intro([Chapter(title="A", start=0.0, end=2.0), Chapter(title="B", start=2.0,
        ...                                                                              end=5.0)], 1.5)
        >>> [(c.start, c.end) for c in moved]
        [(0.0, 3.5), (3.5, 6.5)]
    """
    moved = [c.model_copy(update={"start": round(c.start + lead, 6), "end": round(c.end + lead, 6)}) for c in chapters]
    return [moved[0].model_copy(update={"start": 0.0}), *moved[1:]] if moved else moved


def _moved_record(record: dict[str, Any], lead: float) -> dict[str, Any]:
    """The manifest's brand record with the lower thirds' and disclosure's times moved by ``lead``."""

    def moved(entry: dict[str, Any]) -> dict[str, Any]:
        return entry | {k: round(entry[k] + lead, 3) for k in ("start", "end") if isinstance(entry.get(k), float | int)}

    disclosure = record.get("disclosure")
    return record | {
        "lower_thirds": [moved(third) for third in record.get("lower_thirds", [])],
        "disclosure": moved(disclosure) if isinstance(disclosure, dict) else disclosure,
    }
