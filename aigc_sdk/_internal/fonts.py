"""Font discovery and glyph coverage (fontTools cmap), used by the doctor and renderers."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
#: Packages that ship fonts inside the wheel (searched after the system folders).
FONT_PACKAGES = ("manimgx_fonts_cjk",)
#: Characters a font must have to count as covering CJK (Chinese, Japanese, Korean).
CJK_PROBE = "中文日本語한국어"


@dataclass(frozen=True)
class FontInfo:
    """One font face: file, index inside a collection, family name, code points covered, and the file's version.

    ``stamp`` is the file's ``(mtime_ns, size)`` when it was read: a font replaced under the same
    path reads as another face, so no cache keyed by faces keeps drawing the old one.
    ``codepoints`` None (as :func:`read_font` gives them) means the face's cmap is read on first use of
    :attr:`glyphs`: listing every installed font reads only their names, and a run that draws Latin text
    never parses the cmap of a 20 MB CJK collection.

    Example:
        >>> f = FontInfo(path=Path("a.ttf"), index=0, family="Demo", codepoints=frozenset(map(ord, "ab")))
        >>> f.covers("ab"), f.covers("中")
        (True, False)
    """

    path: Path
    index: int
    family: str
    codepoints: frozenset[int] | None = field(default=None, compare=False, repr=False)
    stamp: tuple[int, int] = (0, 0)

    @functools.cached_property
    def glyphs(self) -> frozenset[int]:
        """The code points with a glyph: ``codepoints`` when given, else the face's cmap (read once per file version).

        Example:
            >>> sorted(FontInfo(Path("a.ttf"), 0, "Demo", frozenset(map(ord, "ba"))).glyphs)
            [97, 98]
        """
        if self.codepoints is not None:
            return self.codepoints
        try:
            return _cmap(self.path, self.index, self.stamp)
        except (OSError, ValueError, KeyError, AssertionError):
            return frozenset()  # an unreadable cmap in an installed font: the face covers nothing

    def covers(self, text: str) -> bool:
        """Whether every non-space character of ``text`` has a glyph in this face.

        Example:
            >>> FontInfo(Path("a.ttf"), 0, "Demo", frozenset(map(ord, "hi"))).covers("hi hi")
            True
        """
        glyphs = self.glyphs
        return all(ord(ch) in glyphs for ch in text if not ch.isspace())


def font_dirs() -> list[Path]:
    """Folders searched for fonts, in order: ``AIGC_FONT_DIRS``, user, system, font packages.

    Example:
        >>> all(isinstance(p, Path) for p in font_dirs())
        True
    """
    dirs = list(Settings.from_env().font_dirs)
    home = Path.home()
    dirs += [home / ".local/share/fonts", home / ".fonts"]
    if sys.platform == "darwin":
        dirs += [home / "Library/Fonts", Path("/Library/Fonts"), Path("/System/Library/Fonts")]
    elif os.name == "nt":
        dirs += [Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"]
    else:
        dirs += [Path("/usr/local/share/fonts"), Path("/usr/share/fonts")]
    for package in FONT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            dirs += [Path(p) for p in spec.submodule_search_locations]
    return [d for d in dirs if d.is_dir()]


def font_files() -> list[Path]:
    """Every font file under :func:`font_dirs`, sorted within each folder.

    Example:
        >>> all(p.suffix.lower() in FONT_SUFFIXES for p in font_files())
        True
    """
    seen: dict[Path, None] = {}
    for folder in font_dirs():
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in FONT_SUFFIXES and path.is_file():
                seen.setdefault(path.resolve(), None)
    return list(seen)


def read_font(path: Path, *, cmaps: bool = False) -> tuple[FontInfo, ...]:
    """Read every face of a font file (collections have several): its family name, and its cmap when asked.

    Parsed once per version of the file: a font replaced under the same path is read again. Without
    ``cmaps`` a face's cmap is read on first use of :attr:`FontInfo.glyphs` (a face whose cmap turns
    out unreadable then covers nothing); with it, every cmap is read now and a broken one raises.

    Example:
        >>> faces = [read_font(p, cmaps=True) for p in font_files()[:1]]
        >>> all(isinstance(f, FontInfo) and f.codepoints for group in faces for f in group)
        True
    """
    stamp = file_stamp(path)
    faces = _read_font(path, stamp)
    if cmaps:
        faces = tuple(replace(face, codepoints=_cmap(path, face.index, stamp)) for face in faces)
    return faces


def file_stamp(path: Path) -> tuple[int, int]:
    """A file's version as caches key it: ``(mtime_ns, size)``.

    Raises:
        OSError: The file cannot be read (missing, a folder's permission).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile() as f:
        ...     file_stamp(Path(f.name))[1]
        0
    """
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=256)
def _read_font(path: Path, stamp: tuple[int, int]) -> tuple[FontInfo, ...]:
    """The faces of a font file with their family names; only the name tables are parsed (``lazy``)."""
    ttlib = require("fontTools.ttLib", extra="image", feature="font coverage checks")
    if path.suffix.lower() == ".ttc":
        with ttlib.TTCollection(str(path), lazy=True) as collection:
            return tuple(_face(path, index, font, stamp) for index, font in enumerate(collection.fonts))
    with ttlib.TTFont(str(path), lazy=True) as font:
        return (_face(path, 0, font, stamp),)


def _face(path: Path, index: int, font: Any, stamp: tuple[int, int]) -> FontInfo:
    family = font["name"].getBestFamilyName() or path.stem
    return FontInfo(path=path, index=index, family=str(family), stamp=stamp)


@functools.lru_cache(maxsize=64)
def _cmap(path: Path, index: int, stamp: tuple[int, int]) -> frozenset[int]:
    """The code points of one face's best cmap (per file version: ``stamp``)."""
    ttlib = require("fontTools.ttLib", extra="image", feature="font coverage checks")
    with ttlib.TTFont(str(path), fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def find_font(text: str, *, prefer: tuple[str, ...] = ("DejaVu Sans", "Noto Sans CJK SC")) -> FontInfo | None:
    """The first face covering every character of ``text``, preferred families first.

    Example:
        >>> f = find_font("Hello")
        >>> f is None or f.covers("Hello")
        True
    """
    return next((face for face in _ranked_faces(tuple(font_files()), prefer) if face.covers(text)), None)


@functools.lru_cache(maxsize=8)
def _ranked_faces(files: tuple[Path, ...], prefer: tuple[str, ...]) -> tuple[FontInfo, ...]:
    """Every readable face of ``files``, preferred families first (parsed once per set of font files)."""
    faces = [face for path in files for face in safe_read_font(path)]
    rank = {name: i for i, name in enumerate(prefer)}
    faces.sort(key=lambda f: rank.get(f.family, len(rank)))
    return tuple(faces)


def safe_read_font(path: Path) -> tuple[FontInfo, ...]:
    """The faces in a font file, or none when the file is broken or unsupported (not fatal).

    Example:
        >>> safe_read_font(Path("no/such/font.ttf"))
        ()
    """
    try:
        return read_font(path)
    except (OSError, ValueError, KeyError, AssertionError):
        # A broken or unsupported file in a system font folder is skipped, not fatal.
        return ()
