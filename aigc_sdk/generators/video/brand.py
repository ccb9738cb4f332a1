"""Brand kits: a TOML (or YAML) file of house colours, fonts, logo, intro/outro, lower thirds, captions, disclosure.

A brand is the graphics template of a clip, kept apart from the story (what the clip says): the same
story rendered with two brand files looks like two channels. :func:`load_brand` reads the file, resolves
asset paths relative to it and validates everything before any rendering: an unknown key, a missing
logo or font, a colour that is not ``#RRGGBB`` is an :class:`~aigc_sdk.errors.InvalidRequestError`
naming the file and the field. Brand fonts are checked for the glyphs of the script's language
(fontTools cmaps): a font that cannot draw the story is refused up front, not discovered on a card.

An intro or outro is a still with text or a short video file (``[intro] video = "intro.mp4"``), probed
when the brand loads; the video is joined to the rendered clip (see
:func:`~aigc_sdk.pipelines.branding.join_brand_clips`).

With no brand file the built-in theme is the brand (:data:`DEFAULT_BRAND`): today's look, no lower
thirds, no disclosure.

Example file (``examples/brand/brand.toml``)::

    name = "City Desk"
    [colors]
    background = "#101820"
    accent = "#E4572E"
    [fonts]
    files = ["fonts/DejaVuSerif.ttf", "fonts/DejaVuSerif-Bold.ttf"]
    [logo]
    file = "logo.png"
    corner = "top-right"
    [captions]
    style = "words"
    [disclosure]
    text = "Produced with automated tools and checked by the City Desk."
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, FilePath, field_validator, model_validator

from aigc_sdk._internal.fonts import FontInfo, read_font
from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.probe import probe_media
from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.generators.image.cards import THEMES, Theme

__all__ = [
    "DEFAULT_BRAND",
    "Brand",
    "BrandCaptions",
    "BrandCard",
    "BrandColors",
    "BrandFonts",
    "BrandLogo",
    "Disclosure",
    "LowerThirdStyle",
    "load_brand",
]

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
#: Video files an intro or outro may be, and their longest length in seconds.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm")
MAX_CLIP_SECONDS = 15.0
_HEX6 = r"^#[0-9A-Fa-f]{6}$"
_HEX8 = r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$"
#: Characters a brand font must have for a script in each language (the Latin probe covers the rest).
LANGUAGE_PROBES: dict[str, str] = {
    "latin": "AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPpQqRrSsTtUuVvWwXxYyZz0123456789.,;:!?'\"-()%",
    "zh": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年，。、：？！“”",
    "ja": "日本語のはをにがでとしたですますアイウエオ。、",
    "ko": "한국어의이가은는을를에서다니요。",
    "de": "ÄÖÜäöüß",
    "fr": "àâçéèêëîïôûùüÿœ",
    "es": "áéíñóúü¿¡",
    "pt": "ãõáâçéêíóôú",
}


class BrandColors(FrozenModel):
    """House colours (``#RRGGBB``); a colour left out keeps the built-in theme's.

    Example:
        >>> BrandColors(accent="#e4572e").accent
        '#E4572E'
    """

    background: str | None = Field(default=None, pattern=_HEX6, description="Canvas colour.")
    surface: str | None = Field(default=None, pattern=_HEX6, description="Panels, gradient end.")
    text: str | None = Field(default=None, pattern=_HEX6, description="Main text.")
    muted: str | None = Field(default=None, pattern=_HEX6, description="Secondary text.")
    accent: str | None = Field(default=None, pattern=_HEX6, description="Bars, markers, kicker.")
    on_accent: str | None = Field(default=None, pattern=_HEX6, description="Text on the accent colour.")
    positive: str | None = Field(default=None, pattern=_HEX6, description="Rises.")
    negative: str | None = Field(default=None, pattern=_HEX6, description="Falls.")

    @field_validator("*")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None


class BrandFonts(FrozenModel):
    """Font files (TTF/OTF/TTC), preferred first; the installed fonts remain the fallback for other scripts.

    Example:
        >>> BrandFonts().files
        ()
    """

    files: tuple[FilePath, ...] = Field(default=(), max_length=8, description="Paths, relative to the brand file.")

    @field_validator("files")
    @classmethod
    def _fonts(cls, files: tuple[Path, ...]) -> tuple[Path, ...]:
        for path in files:
            if path.suffix.lower() not in (".ttf", ".otf", ".ttc"):
                raise ValueError(f"{path.name} is not a TTF/OTF/TTC font file")
            try:
                read_font(path, cmaps=True)
            except Exception as exc:  # fontTools raises many kinds on a broken file
                raise ValueError(f"{path.name} is not a readable font: {exc}") from exc
        return files

    def faces(self) -> list[FontInfo]:
        """Every face of the brand's font files.

        Example:
            >>> BrandFonts().faces()
            []
        """
        return [face for path in self.files for face in read_font(path)]


class BrandLogo(FrozenModel):
    """The logo (PNG with transparency): drawn in every card's header, and as a bug over the video when asked.

    Example:
        >>> BrandLogo.model_fields["corner"].default
        'top-right'
    """

    file: FilePath = Field(description="PNG, relative to the brand file.")
    corner: Corner = Field(default="top-right", description="Corner of the logo bug over the video.")
    bug: bool = Field(default=False, description="Also lay the logo over every frame of the video.")
    size: float = Field(default=0.1, gt=0.0, le=0.5, description="Bug width, fraction of the shorter side.")
    opacity: float = Field(default=0.85, ge=0.0, le=1.0, description="Bug opacity.")

    @field_validator("file")
    @classmethod
    def _png(cls, path: Path) -> Path:
        if path.suffix.lower() != ".png":
            raise ValueError(f"{path.name} is not a PNG file")
        return path


class BrandCard(FrozenModel):
    """An intro or outro: a still in the brand's colours with a title (and a line under it), or a short video file.

    A video (MP4, MOV, M4V, MKV or WebM, up to :data:`MAX_CLIP_SECONDS`) plays at its own length, fitted
    to the clip's frame, with its own sound (or silence); it is checked readable when the brand is loaded.

    Example:
        >>> BrandCard(title="City Desk").seconds
        2.0
        >>> try:
        ...     BrandCard(subtitle="Local news")
        ... except ValueError as e:
        ...     "title (a still) or a video" in str(e)
        True
    """

    title: str | None = Field(default=None, min_length=1, max_length=120, description="The still's title.")
    subtitle: str | None = Field(default=None, max_length=200)
    seconds: float = Field(default=2.0, ge=0.5, le=10.0, description="How long the still shows.")
    video: FilePath | None = Field(default=None, description="A short video file instead of the still.")

    @field_validator("video")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise ValueError(f"{path.name} is not a video file ({', '.join(VIDEO_SUFFIXES)})")
        try:
            probe = probe_media(path, need="video")
        except MediaError as exc:
            raise ValueError(f"{path.name} is not a readable video file ({exc.hint or exc.message})") from exc
        if not 0.0 < probe.duration <= MAX_CLIP_SECONDS:
            raise ValueError(f"{path.name} lasts {probe.duration:g} s: an intro or outro video is at most "
                             f"{MAX_CLIP_SECONDS:g} s")  # fmt: skip
        return path

    @model_validator(mode="after")
    def _still_or_video(self) -> Self:
        if self.video is None and self.title is None:
            raise ValueError("title: give a title (a still) or a video file")
        if self.video is not None:
            still = [name for name in ("title", "subtitle", "seconds") if name in self.model_fields_set]
            if still:
                raise ValueError(f"{', '.join(still)} and video: a still or a video, not both (a video plays "
                                 "at its own length)")  # fmt: skip
        return self


class LowerThirdStyle(FrozenModel):
    """Lower thirds naming who is quoted (and their role) and the place/time of feed events.

    Example:
        >>> LowerThirdStyle().animation
        'slide'
    """

    enabled: bool = True
    seconds: float = Field(default=4.0, ge=1.0, le=20.0, description="Longest time on screen.")
    animation: Literal["slide", "fade", "none"] = Field(default="slide", description="How it comes in and goes.")
    ramp: float = Field(default=0.4, ge=0.0, le=2.0, description="Seconds of the in and out animation.")


class BrandCaptions(FrozenModel):
    """Burned-in captions: ``sentence`` (a cue at a time), ``words`` (the spoken word highlighted) or ``off``.

    Example:
        >>> BrandCaptions(style="words").highlight
        '#FFD200'
    """

    style: Literal["sentence", "words", "off"] = "sentence"
    color: str = Field(default="#FFFFFF", pattern=_HEX8)
    highlight: str = Field(default="#FFD200", pattern=_HEX8, description="The spoken word's colour (words style).")
    background: str | None = Field(default="#00000099", pattern=_HEX8)
    font_size: float = Field(default=0.055, ge=0.01, le=0.25)


class Disclosure(FrozenModel):
    """The line saying how the clip was made, as a caption line over the end and/or an end card.

    Example:
        >>> Disclosure(text="Produced with automated tools.").caption
        True
    """

    text: str = Field(min_length=1, max_length=200)
    caption: bool = Field(default=True, description="A small line over the last seconds of the video.")
    end_card: bool = Field(default=False, description="A full card over the last seconds of the video.")
    seconds: float = Field(default=4.0, ge=1.0, le=15.0)


class Brand(FrozenModel):
    """A brand kit: colours, fonts, logo, intro/outro, lower thirds, captions and a disclosure line.

    Example:
        >>> b = Brand(name="City Desk", colors=BrandColors(accent="#E4572E"))
        >>> b.theme().accent, b.theme().background == DEFAULT_BRAND.theme().background
        ('#E4572E', True)
        >>> DEFAULT_BRAND.lower_third is None, DEFAULT_BRAND.disclosure is None
        (True, True)
    """

    name: str = Field(default="newsroom", min_length=1, max_length=60)
    base: Literal["newsroom", "paper", "night"] = Field(default="newsroom", description="Built-in theme under it.")
    colors: BrandColors = Field(default_factory=BrandColors)
    fonts: BrandFonts = Field(default_factory=BrandFonts)
    logo: BrandLogo | None = None
    intro: BrandCard | None = None
    outro: BrandCard | None = None
    lower_third: LowerThirdStyle | None = Field(default=None, description="None: no lower thirds.")
    captions: BrandCaptions = Field(default_factory=BrandCaptions)
    disclosure: Disclosure | None = None
    file: Path | None = Field(default=None, description="The file it was read from (set by load_brand).")

    def theme(self) -> Theme:
        """The card theme of this brand: its colours over the base theme, its fonts first, its logo.

        Example:
            >>> Brand().theme() == THEMES["newsroom"]
            True
        """
        base = THEMES[self.base]
        colours = {k: v for k, v in self.colors.model_dump().items() if v is not None}
        families = tuple(dict.fromkeys(face.family for face in self.fonts.faces()))
        update: dict[str, Any] = {**colours}
        if families:
            update |= {"fonts": tuple(dict.fromkeys((*families, *base.fonts))), "font_files": self.fonts.files}
        if self.logo is not None:
            update["logo"] = self.logo.file
        if self.name != "newsroom" or self.base != "newsroom":
            update["name"] = self.name
        return Theme(**{**base.model_dump(), **update}) if update else base

    def check_text(self, text: str, *, what: str = "the script") -> None:
        """Refuse text the brand's fonts cannot draw (no brand fonts: nothing to check).

        Raises:
            InvalidRequestError: Some characters have no glyph in any of the brand's fonts.

        Example:
            >>> Brand().check_text("你好")
        """
        faces = self.fonts.faces()
        if not faces:
            return
        covered = frozenset().union(*(face.glyphs for face in faces))
        missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in covered})
        if missing:
            names = ", ".join(p.name for p in self.fonts.files)
            raise InvalidRequestError(
                f"{self._where('fonts.files')}: the brand fonts ({names}) have no glyphs for "
                f"{''.join(missing[:24])!r} in {what}",
                hint="add a font that covers the script's language to [fonts] files, or render without the brand",
            )

    def check_language(self, language: str) -> None:
        """Refuse a language whose script the brand's fonts cannot draw (probed with common characters).

        Raises:
            InvalidRequestError: The brand fonts lack the script's glyphs.

        Example:
            >>> Brand().check_language("zh")
        """
        primary = primary_language(language)
        probe = LANGUAGE_PROBES.get(primary, "") + ("" if primary in ("zh", "ja", "ko") else LANGUAGE_PROBES["latin"])
        self.check_text(probe, what=f"the {language!r} script")

    def assets(self) -> list[tuple[str, Path]]:
        """The files the brand brings into a clip, with their role (brand logo, brand font).

        Example:
            >>> Brand().assets()
            []
        """
        found = [("brand logo", self.logo.file)] if self.logo is not None else []
        found += [(f"brand {name}", card.video) for name, card in self.clips() if card.video is not None]
        return found + [("brand font", path) for path in self.fonts.files]

    def clips(self) -> list[tuple[Literal["intro", "outro"], BrandCard]]:
        """The intro and outro that are video files (not stills), with their role.

        Example:
            >>> Brand(intro=BrandCard(title="Desk")).clips()
            []
        """
        cards: list[tuple[Literal["intro", "outro"], BrandCard | None]] = [("intro", self.intro), ("outro", self.outro)]
        return [(name, card) for name, card in cards if card is not None and card.video is not None]

    def record(self) -> dict[str, Any]:
        """What the manifest records about the brand: its name, file, assets (with sha256) and disclosure.

        Example:
            >>> Brand(name="Desk").record()["name"]
            'Desk'
        """
        return {
            "name": self.name,
            "file": str(self.file) if self.file else None,
            "assets": [
                {"role": role, "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
                for role, path in self.assets()
            ],
            "captions": self.captions.style,
            "disclosure": self.disclosure.text if self.disclosure else None,
        }

    def _where(self, field: str) -> str:
        return f"{self.file.name if self.file else 'brand'}: {field}"


#: The built-in theme as a brand: what a clip looks like with no brand file.
DEFAULT_BRAND = Brand()

#: Fields holding paths, resolved relative to the brand file.
_PATH_FIELDS = (("logo", "file"), ("fonts", "files"), ("intro", "video"), ("outro", "video"))


def load_brand(path: str | Path) -> Brand:
    r"""Read a brand file (``.toml``; ``.yaml``/``.yml`` when PyYAML is installed) and validate it.

    Asset paths are relative to the file. Everything is checked here, before any rendering.

    Raises:
        InvalidRequestError: The file is missing or unreadable, has an unknown key, a bad value, or names
            an asset file that does not exist; the message names the file and the field.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "brand.toml").write_text('name = "Desk"\n[colors]\naccent = "#E4572E"\n')
        >>> load_brand(folder / "brand.toml").theme().accent
        '#E4572E'
        >>> _ = (folder / "bad.toml").write_text('[logo]\nfile = "nope.png"\n')
        >>> try:
        ...     load_brand(folder / "bad.toml")
        ... except ValueError as e:
        ...     "bad.toml" in str(e) and "logo.file" in str(e)
        True
    """
    source = Path(path).expanduser()
    data = _read(source)
    folder = source.absolute().parent
    for section, name in _PATH_FIELDS:
        block = data.get(section)
        if isinstance(block, dict) and name in block:
            value = block[name]
            if isinstance(value, str):
                block[name] = str(folder / value)
            elif isinstance(value, list):
                block[name] = [str(folder / v) if isinstance(v, str) else v for v in value]
    if "file" in data:
        raise InvalidRequestError(f"{source.name}: file: not a brand setting", hint="leave 'file' out")
    problems = [p for name, value in data.items() for p in _section_problems(name, value)]
    top = {k: v for k, v in data.items() if k not in _SECTIONS or not isinstance(v, dict)}
    try:
        Brand(**top)  # the top-level keys (the tables are checked above, each naming its own fields)
    except InvalidRequestError as exc:
        problems += exc.message.removeprefix("invalid Brand: ").split("; ")
    if problems:
        raise InvalidRequestError(
            f"{source.name}: {'; '.join(problems)}",
            hint="fix the field named (paths are relative to the brand file); see docs/brand.md for every key",
        )
    return Brand(**data, file=source.absolute())


#: The tables of a brand file and the model each one is.
_SECTIONS: dict[str, type[FrozenModel]] = {
    "colors": BrandColors, "fonts": BrandFonts, "logo": BrandLogo, "intro": BrandCard, "outro": BrandCard,
    "lower_third": LowerThirdStyle, "captions": BrandCaptions, "disclosure": Disclosure,
}  # fmt: skip


def _section_problems(name: str, value: Any) -> list[str]:
    """The problems of one table, each named ``table.field`` (a nested model reports only its own names)."""
    model = _SECTIONS.get(name)
    if model is None or not isinstance(value, dict):
        return []
    try:
        model(**value)
    except InvalidRequestError as exc:
        items = exc.message.removeprefix(f"invalid {model.__name__}: ").split("; ")
        return [f"{name}.{item}{_missing_file(item, value)}" for item in items]
    return []


def _missing_file(item: str, table: dict[str, Any]) -> str:
    """`` (path)`` after a "does not point to a file" problem, naming the file the field gave."""
    if "does not point to a file" not in item:
        return ""
    where = item.split(":")[0].split(".")
    given: Any = table.get(where[0])
    if isinstance(given, list) and len(where) > 1 and where[1].isdigit() and int(where[1]) < len(given):
        given = given[int(where[1])]
    return f" ({given})" if isinstance(given, str) else ""


def _read(source: Path) -> dict[str, Any]:
    suffix = source.suffix.lower()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot read brand file {source}: {exc}") from exc
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise InvalidRequestError(
                f"brand file {source.name} must be .toml, .yaml or .yml", hint="write the brand as TOML"
            )
    except InvalidRequestError:
        raise
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError
        raise InvalidRequestError(f"{source.name} is not valid {suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{source.name} must be a table of brand settings")
    return data
