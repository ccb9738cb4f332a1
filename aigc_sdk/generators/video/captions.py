"""Burned-in subtitles: each cue drawn on a transparent band, played by ffmpeg's concat demuxer.

Fonts, measuring and line breaking are the shared text stack of :mod:`aigc_sdk._internal.textlayout`
(the same one cards use): the face is the first of :data:`SUBTITLE_FONTS` (then any installed family)
with every glyph of the cue, in bold; lines are balanced so two-line cues have even lengths.

Word captions: when the style has a ``highlight`` colour and the request carries the narration's word
timings (``VideoRequest.words``), each cue is drawn once per word with that word in the highlight colour,
and the playlist switches pictures at the word timings (the concat demuxer's times are exact, so the
highlight moves on the frame nearest each word's start). In vertical (9:16) frames a style with ``safe_zone``
keeps the band out of the short-video platforms' UI (the top 12 % and the bottom 20 % of the frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_sdk._internal.fonts import read_font
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.textlayout import FontBook, FontFace, balanced_lines, shared_book
from aigc_sdk.errors import MediaError
from aigc_sdk.types import Cue, SubtitleStyle, VideoRequest, Word

if TYPE_CHECKING:
    import PIL.Image
    import PIL.ImageFont

__all__ = [
    "SAFE_BOTTOM",
    "SAFE_TOP",
    "SUBTITLE_FONTS",
    "caption_area",
    "caption_band",
    "caption_reach",
    "caption_top",
    "is_vertical",
    "subtitle_band",
    "word_spans",
]

#: Families tried first for subtitles, in order (then any installed family that covers the cue).
SUBTITLE_FONTS = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR")
#: Shares of a portrait frame covered by the platforms' UI (Shorts, Reels, TikTok): kept free with ``safe_zone``.
SAFE_TOP, SAFE_BOTTOM = 0.12, 0.20


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    alpha = int(value[6:8], 16) if len(value) == 8 else 255
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha)


def _face_for(text: str, style: SubtitleStyle, book: FontBook) -> FontFace:
    """The style's font file (its first face covering the text), else the book's first bold face covering it."""
    if style.font is not None:
        faces = read_font(style.font)
        return FontFace(next((f for f in faces if f.covers(text)), faces[0]), 700)
    face = book.face_covering(text, bold=True)
    if face is None:
        missing = sorted({ch for ch in text if not ch.isspace() and book.face_covering(ch, bold=True) is None})
        raise MediaError(
            f"no installed font has glyphs for {''.join(missing[:20])!r}",
            hint='pip install "aigc-studio[image]" (Noto CJK fonts), or point AIGC_FONT_DIRS at a folder of fonts',
        )
    return face


def is_vertical(width: int, height: int) -> bool:
    """Whether a frame is a full-screen vertical video (9:16), over whose top and bottom the platforms lay their UI.

    Shorts, Reels and TikTok draw buttons and text over such a video; a 4:5 or square post is shown whole,
    with the UI around it.

    Example:
        >>> is_vertical(720, 1280), is_vertical(720, 900), is_vertical(720, 720), is_vertical(1280, 720)
        (True, False, False, False)
    """
    return height >= width * 1.5


def caption_area(style: SubtitleStyle, width: int, height: int) -> tuple[int, int]:
    """The rows ``(top, bottom)`` the caption band may use: inside the margins, and the UI bands when asked.

    Example:
        >>> caption_area(SubtitleStyle(), 720, 1280)
        (77, 1203)
        >>> caption_area(SubtitleStyle(safe_zone=True), 720, 1280)
        (154, 1024)
        >>> caption_area(SubtitleStyle(safe_zone=True), 1280, 720)  # landscape: the margins only
        (43, 677)
    """
    margin_y = round(style.margin * height)
    top, bottom = margin_y, height - margin_y
    if style.safe_zone and is_vertical(width, height):
        top, bottom = max(top, round(SAFE_TOP * height)), min(bottom, round((1 - SAFE_BOTTOM) * height))
    return top, bottom


def caption_top(style: SubtitleStyle, width: int, height: int) -> int:
    """The highest row a bottom caption band of ``max_lines`` full-size lines can reach (lower thirds go above).

    Example:
        >>> caption_top(SubtitleStyle(), 1280, 720)
        557
    """
    base = max(8, round(style.font_size * min(width, height)))
    band = style.max_lines * math.ceil(base * 1.25) + 2 * round(base * 0.25)
    top, bottom = caption_area(style, width, height)
    return max(top, bottom - _even(band + 1))


def caption_band(style: SubtitleStyle | None, width: int, height: int) -> float:
    """The share of a vertical frame's height, from the bottom, that pictures keep free for the captions.

    The captions' highest reach (:func:`caption_top`) and a small gap, when the style keeps them in the
    platforms' safe zone of a vertical (9:16) frame; 0 otherwise (other frames' captions lie over the
    pictures' bottom margin, as they always did; no captions, nothing to keep free).

    Example:
        >>> caption_band(SubtitleStyle(safe_zone=True), 720, 1280)
        0.3141
        >>> caption_band(SubtitleStyle(safe_zone=True), 1280, 720), caption_band(None, 720, 1280)
        (0.0, 0.0)
    """
    if style is None or not style.safe_zone or not is_vertical(width, height):
        return 0.0
    return caption_reach(style, width, height)


def caption_reach(style: SubtitleStyle | None, width: int, height: int) -> float:
    """The share of any frame's height, from the bottom, that captions of ``style`` can cover (0: no captions).

    Their highest reach (:func:`caption_top`) and a small gap. A chart keeps its axis labels above it:
    a date under a caption is a date nobody can read.

    Example:
        >>> caption_reach(SubtitleStyle(), 1280, 720), caption_reach(None, 1280, 720)
        (0.2458, 0.0)
    """
    if style is None:
        return 0.0
    return round(1.0 - (caption_top(style, width, height) - round(0.02 * height)) / height, 4)


def word_spans(cue: Cue, words: tuple[Word, ...]) -> list[Word]:
    """The words spoken during ``cue``, one per word of its text (empty when the timings do not match the text).

    Example:
        >>> ws = (Word(text="Good", start=0.0, end=0.3), Word(text="evening.", start=0.35, end=0.9),
        ...       Word(text="Next", start=1.0, end=1.2))
        >>> [w.text for w in word_spans(Cue(text="Good evening.", start=0.0, end=0.95), ws)]
        ['Good', 'evening.']
        >>> word_spans(Cue(text="Three words here", start=0.0, end=0.95), ws)
        []
    """
    inside = [w for w in words if cue.start - 0.05 <= w.start < cue.end - 1e-3]
    count = len(cue.text.split())
    return inside if count > 1 and len(inside) == count else []  # a one-word cue (a CJK line) stays as it is


@dataclass(frozen=True)
class _CueLayout:
    font: PIL.ImageFont.FreeTypeFont
    lines: list[str]
    line_height: int


def _layouts(
    cues: tuple[Cue, ...], style: SubtitleStyle, base: int, max_text: float
) -> tuple[list[_CueLayout], dict[str, None]]:
    """Each cue wrapped into balanced lines at the largest of 100/90/80/70 % of the size that fits ``max_lines``."""
    book = shared_book(SUBTITLE_FONTS)
    layouts = []
    fonts: dict[str, None] = {}
    for cue in cues:
        face = _face_for(cue.text, style, book)
        fonts[f"{face.info.path}#{face.info.index}"] = None
        for scale in (1.0, 0.9, 0.8, 0.7):
            font = book.pil_font(face, max(8, round(base * scale)))
            lines = balanced_lines(cue.text, max_text, font.getlength)
            if len(lines) <= style.max_lines:
                break
        ascent, descent = font.getmetrics()
        layouts.append(_CueLayout(font, lines, math.ceil((ascent + descent) * 1.08)))
    return layouts, fonts


def subtitle_band(
    cues: tuple[Cue, ...], total: float, request: VideoRequest, workdir: Path
) -> tuple[Path, int, list[str]]:
    """Render each cue to a transparent band PNG; return an ffconcat playlist, the band's y and the fonts used.

    The band is as tall as the tallest cue (within the style's margins); each cue is wrapped into
    balanced lines at the largest of 100/90/80/70 % of the style's size that fits ``max_lines``. With
    a ``highlight`` colour and word timings, each cue is drawn once per word (see the module's notes).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from aigc_sdk.media import Image
        >>> request = VideoRequest(images=[Image.from_array(np.zeros((8, 8, 3), np.uint8))], durations=[2.0],
        ...                        width=160, height=90, cues=[Cue(text="Good evening.", start=0.0, end=1.0)])
        >>> workdir = pathlib.Path(tempfile.mkdtemp())
        >>> playlist, y, fonts = subtitle_band(request.cues, 2.0, request, workdir)
        >>> playlist.read_text().splitlines()[:3], 0 < y < 90, len(fonts)
        (['ffconcat version 1.0', 'file cue0.png', 'duration 1.000000'], True, 1)
    """
    pil_image = require("PIL.Image", extra="image", feature="subtitles")
    style = request.subtitle_style
    width, height = request.width, request.height
    margin_x = round(style.margin * width)
    base = max(8, round(style.font_size * min(width, height)))
    pad_x, pad_y = round(base * 0.45), round(base * 0.25)
    max_text = max(base, width - 2 * margin_x - 2 * pad_x)
    layouts, fonts = _layouts(cues, style, base, max_text)
    top, bottom = caption_area(style, width, height)
    band = max(len(lay.lines) * lay.line_height + 2 * pad_y for lay in layouts)
    band = min(_even(band + 1), _even(bottom - top) if bottom - top > 2 else height)
    band_y = {"bottom": bottom - band, "top": top, "center": (height - band) // 2}[style.position]
    band_y = max(0, min(height - band, band_y))

    blank = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
    blank.save(workdir / "blank.png", compress_level=1)
    playlist = ["ffconcat version 1.0"]
    cursor = 0.0
    for k, (cue, lay) in enumerate(zip(cues, layouts, strict=True)):
        spans = word_spans(cue, request.words) if style.highlight is not None else []
        if cue.start - cursor > 1e-3:
            playlist += ["file blank.png", f"duration {cue.start - cursor:.6f}"]
        shown = cue.start
        pieces: list[tuple[str, int | None, float]] = []  # file, highlighted word, until
        if spans and spans[0].start > cue.start + 1e-3:
            pieces.append((f"cue{k}.png", None, spans[0].start))
        for j in range(len(spans)):
            until = spans[j + 1].start if j + 1 < len(spans) else cue.end
            pieces.append((f"cue{k}w{j}.png", j, min(until, cue.end)))
        if not spans:
            pieces.append((f"cue{k}.png", None, cue.end))
        for name, word_index, until in pieces:
            _draw_cue(blank, lay, style, (pad_x, pad_y), word_index).save(workdir / name, compress_level=1)
            if until - shown > 1e-6:
                playlist += [f"file {name}", f"duration {until - shown:.6f}"]
                shown = until
        cursor = cue.end
    playlist += ["file blank.png", f"duration {max(total - cursor, 1.0 / request.fps) + 1.0:.6f}", "file blank.png"]
    path = workdir / "subtitles.ffconcat"
    path.write_text("\n".join(playlist) + "\n", encoding="utf-8")
    return path, band_y, list(fonts)


def _draw_cue(
    blank: PIL.Image.Image, lay: _CueLayout, style: SubtitleStyle, pad: tuple[int, int], word: int | None
) -> PIL.Image.Image:
    """One cue on the band: its box, then its lines (with word number ``word`` in the highlight colour)."""
    pil_image = require("PIL.Image", extra="image", feature="subtitles")
    image_draw = require("PIL.ImageDraw", extra="image", feature="subtitles")
    width, band = blank.size
    font, lines, line_height = lay.font, lay.lines, lay.line_height
    pad_x, pad_y = pad
    text_w = max(font.getlength(line) for line in lines)
    box_w, box_h = text_w + 2 * pad_x, len(lines) * line_height + 2 * pad_y
    x0 = (width - box_w) / 2
    y0 = max(0.0, {"bottom": band - box_h, "top": 0, "center": (band - box_h) / 2}[style.position])
    layer = blank.copy()
    if style.background is not None:
        image_draw.Draw(layer).rounded_rectangle(
            (x0, y0, x0 + box_w, y0 + box_h), radius=pad_y, fill=_rgba(style.background)
        )
    text_layer = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
    draw = image_draw.Draw(text_layer)
    stroke = round(style.outline * font.size)
    colour, outline = _rgba(style.color), _rgba(style.outline_color)
    counted = 0
    for j, line in enumerate(lines):
        y = y0 + pad_y + j * line_height
        if word is None:
            draw.text(
                (width / 2, y), line, font=font, fill=colour, anchor="ma", stroke_width=stroke, stroke_fill=outline
            )
            continue
        left = width / 2 - font.getlength(line) / 2
        draw.text((left, y), line, font=font, fill=colour, anchor="la", stroke_width=stroke, stroke_fill=outline)
        tokens = line.split(" ")
        if counted <= word < counted + len(tokens):
            at = word - counted
            prefix = " ".join(tokens[:at]) + (" " if at else "")
            highlight = _rgba(style.highlight or style.color)
            draw.text((left + font.getlength(prefix), y), tokens[at], font=font, fill=highlight, anchor="la",
                      stroke_width=stroke, stroke_fill=outline)  # fmt: skip
        counted += len(tokens)
    composed: PIL.Image.Image = pil_image.alpha_composite(layer, text_layer)
    return composed
