"""One text stack for cards, charts and subtitles: fonts by coverage, measuring, wrapping into a box, drawing.

* Fonts: :class:`FontBook` finds installed faces by family (regular or bold, variable fonts set to the
  weight), splits text into runs of faces that have every glyph (fontTools cmaps), and loads Pillow fonts.
* Wrapping: :func:`wrap_measured` fills lines greedily at the break points of
  :mod:`aigc_sdk._internal.linebreak` (Latin at spaces, CJK between characters with kinsoku), cutting an
  unbreakable piece wider than a line; :func:`balanced_lines` evens out line lengths (subtitles).
* Boxes and drawing: :class:`TextLayout` shrinks text until it fits a box (ellipsis at the smallest size)
  and draws the runs of a :class:`TextBlock`, returning its ink box.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aigc_sdk._internal.fonts import FontInfo, file_stamp, font_files, safe_read_font
from aigc_sdk._internal.linebreak import line_atoms
from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError

if TYPE_CHECKING:
    import PIL.ImageDraw
    import PIL.ImageFont

__all__ = [
    "FontBook",
    "FontFace",
    "TextBlock",
    "TextLayout",
    "balanced_lines",
    "font_license",
    "shared_book",
    "wrap_measured",
    "wrap_text",
]

Measure = Callable[[str], float]


@dataclass(frozen=True)
class FontFace:
    """A font face at a weight: the file, the face index in a collection, and its cmap.

    Example:
        >>> face = FontFace(FontInfo(Path("DejaVuSans.ttf"), 0, "DejaVu Sans", frozenset(map(ord, "ab"))), 400)
        >>> face.family, face.covers("ab"), face.license
        ('DejaVu Sans', True, 'Bitstream-Vera')
    """

    info: FontInfo
    weight: int

    @property
    def family(self) -> str:
        """The family name.

        Example:
            >>> FontFace(FontInfo(Path("a.ttf"), 0, "Demo", frozenset()), 400).family
            'Demo'
        """
        return self.info.family

    @property
    def license(self) -> str:
        """The font's licence (see :func:`font_license`).

        Example:
            >>> FontFace(FontInfo(Path("NotoSansCJK.ttc"), 2, "Noto Sans CJK SC", frozenset()), 700).license
            'OFL-1.1'
        """
        return font_license(self.info)

    def covers(self, text: str) -> bool:
        """Whether every non-space character has a glyph in this face.

        Example:
            >>> FontFace(FontInfo(Path("a.ttf"), 0, "Demo", frozenset(map(ord, "hi"))), 400).covers("hi hi")
            True
        """
        return self.info.covers(text)


def font_license(info: FontInfo) -> str:
    """The licence of a font: DejaVu → ``Bitstream-Vera``, Noto → ``OFL-1.1``, else what the file says.

    Example:
        >>> font_license(FontInfo(Path("DejaVuSans-Bold.ttf"), 0, "DejaVu Sans", frozenset()))
        'Bitstream-Vera'
    """
    family = info.family.lower()
    if "dejavu" in family or "bitstream vera" in family:
        return "Bitstream-Vera"  # DejaVu changes are public domain
    if family.startswith(("noto", "source han")):
        return "OFL-1.1"
    return _name_record(info.path, info.index, 13, info.stamp) or "unknown (see the font file)"


@functools.lru_cache(maxsize=64)
def _name_record(path: Path, index: int, name_id: int, stamp: tuple[int, int]) -> str | None:
    """A name-table record of a face (cached per version of the file: ``stamp``)."""
    ttlib = require("fontTools.ttLib", extra="image", feature="font licences")
    try:
        font = ttlib.TTFont(str(path), fontNumber=index, lazy=True)
    except (OSError, ValueError, KeyError, AssertionError):
        return None
    with font:
        record = font["name"].getDebugName(name_id)
    return str(record)[:120] if record else None


_STYLE_WORDS = ("bold", "oblique", "italic", "condensed", "mono", "light", "thin", "black", "medium", "math", "semi")


def _style_score(path: Path, bold: bool) -> int:
    """Lower is better: the plain (or plain bold) file of a static family."""
    name = path.stem.lower()
    words = [w for w in _STYLE_WORDS if w in name]
    if bold:
        return 0 if words == ["bold"] else (1 if "bold" in words else 5) + len(words)
    return len(words)


class FontBook:
    """Installed fonts by family, with glyph-coverage fallback (fontTools cmaps).

    Args:
        families: Families to prefer, in order (a theme's ``fonts``).
        files: Font files to add to the installed ones (a brand's fonts), found by their family names.

    Example:
        >>> book = FontBook(("DejaVu Sans", "Noto Sans CJK SC"))
        >>> [f.family for _, f in book.runs("Hi 你好", bold=False)]  # doctest: +SKIP
        ['Noto Sans CJK SC']
    """

    def __init__(self, families: Sequence[str], files: Sequence[Path] = ()) -> None:
        self.families = tuple(families)
        self._by_family: dict[str, list[FontInfo]] = {}
        for path in files:
            for info in safe_read_font(path):
                self._by_family.setdefault(info.family, []).append(info)
        given = set(self._by_family)  # a family given as files is drawn from those files only
        for path in font_files():
            for info in safe_read_font(path):  # a broken file in a system font folder is skipped
                if info.family not in given:
                    self._by_family.setdefault(info.family, []).append(info)
        self._pil: dict[tuple[Path, int, tuple[int, int], int, int], PIL.ImageFont.FreeTypeFont] = {}
        self._variable: dict[tuple[Path, int, tuple[int, int]], bool] = {}

    def face(self, family: str, *, bold: bool) -> FontFace | None:
        """The regular or bold face of ``family``, or None when it is not installed.

        Example:
            >>> FontBook(("DejaVu Sans",)).face("No Such Family", bold=False) is None
            True
        """
        infos = self._by_family.get(family)
        if not infos:
            return None
        best = min(infos, key=lambda i: (_style_score(i.path, bold), str(i.path)))
        weight = 700 if bold else 400
        if bold and "bold" not in best.path.stem.lower() and not self._is_variable(best):
            weight = 400  # no bold file: the regular one
        return FontFace(best, weight)

    def runs(self, text: str, *, bold: bool) -> list[tuple[str, FontFace]]:
        """Split ``text`` into runs, each with a face that has every glyph of the run.

        Raises:
            InvalidRequestError: A character has no glyph in any installed font.

        Example:
            >>> runs = FontBook(("DejaVu Sans", "Noto Sans CJK SC")).runs("Hello", bold=True)
            >>> "".join(t for t, _ in runs)
            'Hello'
        """
        preferred = [f for f in (self.face(name, bold=bold) for name in self.families) if f is not None]
        for face in preferred:
            if face.covers(text):
                return [(text, face)]
        runs: list[tuple[str, FontFace]] = []
        for ch in text:
            face = self._face_for(ch, preferred, bold)
            if runs and (ch.isspace() or runs[-1][1] == face):
                runs[-1] = (runs[-1][0] + ch, runs[-1][1])
            else:
                runs.append((ch, face))
        return runs

    def face_covering(self, text: str, *, bold: bool) -> FontFace | None:
        """One face with every glyph of ``text``: the preferred families first, then any installed family.

        Example:
            >>> face = FontBook(("DejaVu Sans",)).face_covering("Hello", bold=True)
            >>> face is None or face.covers("Hello")
            True
        """
        preferred = [f for f in (self.face(name, bold=bold) for name in self.families) if f is not None]
        others = (self.face(family, bold=bold) for family in sorted(self._by_family))
        return next((f for f in (*preferred, *others) if f is not None and f.covers(text)), None)

    def _face_for(self, ch: str, preferred: list[FontFace], bold: bool) -> FontFace:
        if ch.isspace():
            return preferred[0] if preferred else self._any_face(bold)
        for face in preferred:
            if ord(ch) in face.info.glyphs:
                return face
        for family in sorted(self._by_family):
            candidate = self.face(family, bold=bold)
            if candidate is not None and ord(ch) in candidate.info.glyphs:
                return candidate
        name = unicodedata.name(ch, f"U+{ord(ch):04X}")
        raise InvalidRequestError(
            f"no installed font has a glyph for {ch!r} ({name})",
            hint="install a font that covers it (AIGC_FONT_DIRS), or remove the character",
        )

    def _any_face(self, bold: bool) -> FontFace:
        for family in sorted(self._by_family):
            face = self.face(family, bold=bold)
            if face is not None:
                return face
        raise InvalidRequestError("no fonts are installed", hint='pip install "aigc-studio[image]" (Noto CJK)')

    def _is_variable(self, info: FontInfo) -> bool:
        key = (info.path, info.index, info.stamp)
        if key not in self._variable:
            font = self._load(info, 12)
            try:
                font.get_variation_axes()
                self._variable[key] = True
            except OSError:
                self._variable[key] = False
        return self._variable[key]

    def _load(self, info: FontInfo, size: int) -> PIL.ImageFont.FreeTypeFont:
        image_font = require("PIL.ImageFont", extra="image", feature="text rendering")
        font: PIL.ImageFont.FreeTypeFont = image_font.truetype(str(info.path), size, index=info.index)
        return font

    def pil_font(self, face: FontFace, size: int) -> PIL.ImageFont.FreeTypeFont:
        """A Pillow font for ``face`` at ``size`` pixels (variable fonts set to the face's weight).

        Example:
            >>> book = FontBook(("DejaVu Sans",))
            >>> face = book.face("DejaVu Sans", bold=False)
            >>> face is None or book.pil_font(face, 20).size == 20
            True
        """
        key = (face.info.path, face.info.index, face.info.stamp, size, face.weight)
        font = self._pil.get(key)
        if font is None:
            font = self._load(face.info, size)
            if self._is_variable(face.info):
                font.set_variation_by_axes([face.weight])
            self._pil[key] = font
        return font


def shared_book(families: tuple[str, ...], files: tuple[Path, ...] = ()) -> FontBook:
    """One :class:`FontBook` per tuple of families (and extra font files), shared by every renderer.

    Fonts are scanned once per book; a font file given that is replaced under the same path makes a new book.

    Example:
        >>> shared_book(("DejaVu Sans",)) is shared_book(("DejaVu Sans",))
        True
    """
    return _shared_book(families, files, tuple(_stamp(path) for path in files))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        return file_stamp(path)
    except OSError:
        return None  # a missing file: the book skips it, as FontBook does


@functools.lru_cache(maxsize=8)
def _shared_book(
    families: tuple[str, ...], files: tuple[Path, ...], stamps: tuple[tuple[int, int] | None, ...]
) -> FontBook:
    return FontBook(families, files)


# ------------------------------------------------------------------------------------------ wrapping


def wrap_measured(text: str, max_width: float, measure: Measure) -> tuple[list[str], list[float], bool]:
    """Fill lines greedily; return the lines, their widths, and whether a piece had to be cut inside.

    Each paragraph (``\\n``) starts a new line. A piece wider than a line is cut between characters.

    Args:
        text: The text.
        max_width: Widest line, in the units ``measure`` returns.
        measure: Width of a string, e.g. ``font.getlength`` of a Pillow font.

    Example:
        >>> wrap_measured("The council voted", 11, len)
        (['The council', 'voted'], [11, 5], False)
    """
    broke = False
    lines: list[str] = []
    widths: list[float] = []
    for paragraph in text.split("\n"):
        current, current_w = "", 0.0
        for atom, space in line_atoms(paragraph):
            candidate = current + (" " if space and current else "") + atom
            cw = measure(candidate)
            if cw <= max_width:
                current, current_w = candidate, cw
                continue
            if current:
                lines.append(current)
                widths.append(current_w)
            current, current_w = atom, measure(atom)
            if current_w > max_width:  # one piece wider than the line: cut it between characters
                broke = True
                pieces = _hard_break(atom, max_width, measure)
                for piece in pieces[:-1]:
                    lines.append(piece)
                    widths.append(measure(piece))
                current, current_w = pieces[-1], measure(pieces[-1])
        if current or not lines:
            lines.append(current)
            widths.append(current_w)
    return lines, widths, broke


def _hard_break(atom: str, max_width: float, measure: Measure) -> list[str]:
    pieces, piece = [], ""
    for ch in atom:
        if piece and measure(piece + ch) > max_width:
            pieces.append(piece)
            piece = ""
        piece += ch
    pieces.append(piece)
    return pieces


def wrap_text(text: str, max_width: float, measure: Measure) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` (greedy), between words or CJK characters.

    Closing punctuation (``，。！？）`` …) never starts a line; a word wider than a line is cut.

    Example:
        >>> wrap_text("The council voted seven to two", 12, len)
        ['The council', 'voted seven', 'to two']
        >>> wrap_text("市议会周二以七比二通过了预算。", 6, len)
        ['市议会周二以', '七比二通过了', '预算。']
    """
    lines = wrap_measured(text, max_width, measure)[0]
    return [line for line in lines if line]


def balanced_lines(text: str, max_width: float, measure: Measure) -> list[str]:
    """Greedy wrap, then the narrowest width that keeps the line count (lines of even length).

    Example:
        >>> balanced_lines("The council voted seven to two", 24, len)
        ['The council voted', 'seven to two']
    """
    lines = wrap_text(text, max_width, measure)
    if len(lines) < 2:
        return lines
    low, high, best = max_width / 2, max_width, lines
    for _ in range(10):
        middle = (low + high) / 2
        trial = wrap_text(text, middle, measure)
        if len(trial) <= len(lines):
            best, high = trial, middle
        else:
            low = middle
    return best


# -------------------------------------------------------------------------------------- boxes, drawing


@dataclass
class TextBlock:
    """Lines of runs at one size, with the line height and each line's width.

    Example:
        >>> TextBlock(lines=[[], []], size=20, line_height=24, widths=[0.0, 0.0]).height
        48
    """

    lines: list[list[tuple[str, FontFace]]]
    size: int
    line_height: int
    widths: list[float]

    @property
    def height(self) -> int:
        """Height of all its lines.

        Example:
            >>> TextBlock(lines=[[]], size=10, line_height=12, widths=[0.0]).height
            12
        """
        return self.line_height * len(self.lines)


class TextLayout:
    """Measures, fits and draws text with the faces of a :class:`FontBook`.

    Args:
        book: The fonts.
        draw: Where :meth:`draw_block` draws (None: measuring only).

    Example:
        >>> layout = TextLayout(shared_book(("DejaVu Sans", "Noto Sans CJK SC")))
        >>> block = layout.fit("Markets close higher", 200, 100, max_size=40, min_size=10, bold=True)
        >>> 10 <= block.size <= 40 and max(block.widths) <= 200
        True
    """

    def __init__(self, book: FontBook, draw: PIL.ImageDraw.ImageDraw | None = None) -> None:
        self.book = book
        self.draw = draw

    def measure(self, runs: Sequence[tuple[str, FontFace]], size: int) -> float:
        """Width of ``runs`` at ``size`` pixels.

        Example:
            >>> layout = TextLayout(shared_book(("DejaVu Sans",)))
            >>> layout.measure(layout.book.runs("Hi", bold=False), 20) > 0
            True
        """
        return sum(self.book.pil_font(face, size).getlength(text) for text, face in runs)

    def width_of(self, text: str, size: int, *, bold: bool) -> float:
        """Width of ``text`` at ``size`` pixels, each character in a face that has it.

        Example:
            >>> TextLayout(shared_book(("DejaVu Sans",))).width_of("Hi", 20, bold=False) > 0
            True
        """
        return self.measure(self.book.runs(text, bold=bold), size)

    def fit(
        self,
        text: str,
        width: float,
        height: float,
        *,
        max_size: float,
        min_size: float,
        bold: bool = False,
        max_lines: int | None = None,
        spacing: float = 1.22,
    ) -> TextBlock:
        """The largest size (≤ max_size) at which ``text`` wraps into the box; ellipsis at min_size.

        Example:
            >>> layout = TextLayout(shared_book(("DejaVu Sans",)))
            >>> block = layout.fit("A very long headline " * 8, 100, 20, max_size=20, min_size=8, max_lines=1)
            >>> len(block.lines), block.size
            (1, 8)
        """
        size = max(int(max_size), int(min_size))
        floor = max(6, int(min_size))
        while True:
            measure = functools.partial(self.width_of, size=size, bold=bold)
            lines, widths, broke = wrap_measured(text, width - 0.06 * size, measure)
            line_height = max(1, round(size * spacing))
            fits = not broke and len(lines) * line_height <= height and (max_lines is None or len(lines) <= max_lines)
            if fits or size <= floor:
                break
            size = max(floor, min(size - 1, int(size * 0.94)))
        if len(lines) * line_height > height or (max_lines is not None and len(lines) > max_lines):
            keep = max(1, min(len(lines), int(height // line_height), max_lines or len(lines)))
            if keep < len(lines):
                lines, widths = lines[:keep], widths[:keep]
                lines[-1], widths[-1] = self._ellipsize(lines[-1], size, width, bold)
        runs = [self.book.runs(line, bold=bold) for line in lines]
        return TextBlock(lines=runs, size=size, line_height=line_height, widths=widths)

    def _ellipsize(self, line: str, size: int, width: float, bold: bool) -> tuple[str, float]:
        text = line.rstrip()
        while text:
            candidate = text + "…"
            w = self.width_of(candidate, size, bold=bold)
            if w <= width:
                return candidate, w
            text = text[:-1].rstrip()
        return "…", self.width_of("…", size, bold=bold)

    def draw_block(
        self,
        block: TextBlock,
        x: float,
        y: float,
        *,
        fill: tuple[int, ...],
        width: float | None = None,
        align: Literal["left", "center", "right"] = "left",
    ) -> tuple[int, int, int, int] | None:
        """Draw ``block`` with its first line's top at ``y``; return its ink box (None: nothing drawn).

        Example:
            >>> from PIL import Image as PILImage, ImageDraw
            >>> canvas = PILImage.new("RGB", (200, 60))
            >>> layout = TextLayout(shared_book(("DejaVu Sans",)), ImageDraw.Draw(canvas))
            >>> box = layout.draw_block(layout.fit("Hello", 200, 60, max_size=30, min_size=10), 5, 5, fill=(255,) * 4)
            >>> box is not None and box[0] >= 5
            True
        """
        if self.draw is None:
            raise ValueError("this TextLayout has nothing to draw on")
        draw = self.draw
        ink: list[tuple[float, float, float, float]] = []
        for i, (runs, line_w) in enumerate(zip(block.lines, block.widths, strict=True)):
            ascent = max(self.book.pil_font(face, block.size).getmetrics()[0] for _, face in runs)
            baseline = y + i * block.line_height + (block.line_height - block.size) / 2 + ascent * 0.92
            if align == "left" or width is None:
                cursor = x
            elif align == "center":
                cursor = x + (width - line_w) / 2
            else:
                cursor = x + width - line_w
            first_text, first_face = next(((t, f) for t, f in runs if t.strip()), runs[0])
            bearing = draw.textbbox(
                (cursor, baseline), first_text.lstrip(), font=self.book.pil_font(first_face, block.size), anchor="ls"
            )[0]
            cursor += max(0.0, (x if align == "left" or width is None else cursor) - bearing)  # glyphs overhanging left
            for text, face in runs:
                font = self.book.pil_font(face, block.size)
                if text.strip():
                    draw.text((cursor, baseline), text, font=font, fill=fill, anchor="ls")
                    ink.append(draw.textbbox((cursor, baseline), text, font=font, anchor="ls"))
                cursor += font.getlength(text)
        if not ink:
            return None
        return (
            math.floor(min(b[0] for b in ink)),
            math.floor(min(b[1] for b in ink)),
            math.ceil(max(b[2] for b in ink)),
            math.ceil(max(b[3] for b in ink)),
        )
