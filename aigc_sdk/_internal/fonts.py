"""Font discovery and glyph coverage (fontTools cmap), used by the doctor and renderers."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from dataclasses import dataclass
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

    Example:
        >>> f = FontInfo(path=Path("a.ttf"), index=0, family="Demo", codepoints=frozenset(map(ord, "ab")))
        >>> f.covers("ab"), f.covers("中")
        (True, False)
    """

    path: Path
    index: int
    family: str
    codepoints: frozenset[int]
    stamp: tuple[int, int] = (0, 0)

    def covers(self, text: str) -> bool:
        """Whether every non-space character of ``text`` has a glyph in this face.

        Example:
            >>> FontInfo(Path("a.ttf"), 0, "Demo", frozenset(map(ord, "hi"))).covers("hi hi")
            True
        """
        return all(ord(ch) in self.codepoints for ch in text if not ch.isspace())


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


def read_font(path: Path) -> tuple[FontInfo, ...]:
    """Read every face of a font file (collections have several) with its cmap.

    Parsed once per version of the file: a font replaced under the same path is read again.

    Example:
        >>> faces = [read_font(p) for p in font_files()[:1]]
        >>> all(isinstance(f, FontInfo) for group in faces for f in group)
        True
    """
    return _read_font(path, file_stamp(path))


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
    ttlib = require("fontTools.ttLib", extra="image", feature="font coverage checks")
    faces = []
    if path.suffix.lower() == ".ttc":
        with ttlib.TTCollection(str(path)) as collection:
            for index, font in enumerate(collection.fonts):
                faces.append(_face(path, index, font, stamp))
    else:
        with ttlib.TTFont(str(path)) as font:
            faces.append(_face(path, 0, font, stamp))
    return tuple(faces)


def _face(path: Path, index: int, font: Any, stamp: tuple[int, int]) -> FontInfo:
    cmap = font.getBestCmap() or {}
    family = font["name"].getBestFamilyName() or path.stem
    return FontInfo(path=path, index=index, family=str(family), codepoints=frozenset(cmap), stamp=stamp)


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
