"""Burned-in subtitles: each cue drawn once on a transparent band, played by ffmpeg's concat demuxer.

Fonts, measuring and line breaking are the shared text stack of :mod:`aigc_sdk._internal.textlayout`
(the same one cards use): the face is the first of :data:`SUBTITLE_FONTS` (then any installed family)
with every glyph of the cue, in bold; lines are balanced so two-line cues have even lengths.
"""

from __future__ import annotations

import math
from pathlib import Path

from aigc_sdk._internal.fonts import read_font
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.textlayout import FontBook, FontFace, balanced_lines, shared_book
from aigc_sdk.errors import MediaError
from aigc_sdk.types import Cue, SubtitleStyle, VideoRequest

__all__ = ["SUBTITLE_FONTS", "subtitle_band"]

#: Families tried first for subtitles, in order (then any installed family that covers the cue).
SUBTITLE_FONTS = ("DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR")


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


def subtitle_band(
    cues: tuple[Cue, ...], total: float, request: VideoRequest, workdir: Path
) -> tuple[Path, int, list[str]]:
    """Render each cue to a transparent band PNG; return an ffconcat playlist, the band's y and the fonts used.

    The band is as tall as the tallest cue (within the style's margins); each cue is wrapped into
    balanced lines at the largest of 100/90/80/70 % of the style's size that fits ``max_lines``.

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
    image_draw = require("PIL.ImageDraw", extra="image", feature="subtitles")
    style = request.subtitle_style
    width, height = request.width, request.height
    margin_x, margin_y = round(style.margin * width), round(style.margin * height)
    base = max(8, round(style.font_size * min(width, height)))
    pad_x, pad_y = round(base * 0.45), round(base * 0.25)
    max_text = max(base, width - 2 * margin_x - 2 * pad_x)
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
        line_height = math.ceil((ascent + descent) * 1.08)
        layouts.append((font, lines, line_height))
    band = max(len(lines) * lh + 2 * pad_y for _, lines, lh in layouts)
    band = min(_even(band + 1), _even(height - 2 * margin_y) if height > 2 * margin_y + 2 else height)
    band_y = {"bottom": height - margin_y - band, "top": margin_y, "center": (height - band) // 2}[style.position]
    band_y = max(0, min(height - band, band_y))

    colour, outline, background = _rgba(style.color), _rgba(style.outline_color), style.background
    blank = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
    blank.save(workdir / "blank.png", compress_level=1)
    playlist = ["ffconcat version 1.0"]
    cursor = 0.0
    for k, (cue, (font, lines, line_height)) in enumerate(zip(cues, layouts, strict=True)):
        text_w = max(font.getlength(line) for line in lines)
        box_w, box_h = text_w + 2 * pad_x, len(lines) * line_height + 2 * pad_y
        x0 = (width - box_w) / 2
        y0 = {"bottom": band - box_h, "top": 0, "center": (band - box_h) / 2}[style.position]
        y0 = max(0.0, y0)
        layer = blank.copy()
        if background is not None:
            image_draw.Draw(layer).rounded_rectangle(
                (x0, y0, x0 + box_w, y0 + box_h), radius=pad_y, fill=_rgba(background)
            )
        text_layer = pil_image.new("RGBA", (width, band), (0, 0, 0, 0))
        draw = image_draw.Draw(text_layer)
        stroke = round(style.outline * font.size)
        for j, line in enumerate(lines):
            draw.text(
                (width / 2, y0 + pad_y + j * line_height),
                line,
                font=font,
                fill=colour,
                anchor="ma",
                stroke_width=stroke,
                stroke_fill=outline,
            )
        pil_image.alpha_composite(layer, text_layer).save(workdir / f"cue{k}.png", compress_level=1)
        if cue.start - cursor > 1e-3:
            playlist += ["file blank.png", f"duration {cue.start - cursor:.6f}"]
        playlist += [f"file cue{k}.png", f"duration {cue.end - cue.start:.6f}"]
        cursor = cue.end
    playlist += ["file blank.png", f"duration {max(total - cursor, 1.0 / request.fps) + 1.0:.6f}", "file blank.png"]
    path = workdir / "subtitles.ffconcat"
    path.write_text("\n".join(playlist) + "\n", encoding="utf-8")
    return path, band_y, list(fonts)
