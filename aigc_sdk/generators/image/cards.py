"""News cards drawn with Pillow (no model weights): title, body, bullets, quote, number, lower third, location.

Cards are renderers, not generators: a typed :class:`CardSpec` goes in, an :class:`~aigc_sdk.media.Image`
with provenance comes out (``model_id="card-renderer"``, the fonts used and their licences in
``provenance.extra``). They are not in the model registry and need no scheduler.

Text wraps (Latin at spaces, CJK between characters with kinsoku rules: no line starts with ``，。」``
and no line ends with ``「（``), shrinks to fit its box, and stays inside the safe area
(``theme.safe_margin`` of each side). Each character is drawn with a font that has its glyph: the first
family in ``theme.fonts`` covering the whole text, else per character the first family (then any installed
font) that covers it, judged by the fonts' cmaps (DejaVu and Noto Sans CJK from ``manimgx-fonts-cjk``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from pydantic import Field, FilePath, field_validator, model_validator

from aigc_sdk._internal.languages import TAG_PATTERN
from aigc_sdk._internal.model import FrozenModel
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.textlayout import FontBook, FontFace, TextBlock, TextLayout, font_license, shared_book
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.maps import MAP_LICENSES, MapStyle, draw_locator_map
from aigc_sdk.media import Image
from aigc_sdk.provenance import Provenance, library_versions

if TYPE_CHECKING:
    import PIL.Image
    import PIL.ImageDraw
    import PIL.ImageFont

__all__ = [
    "ASPECTS",
    "THEMES",
    "Card",
    "CardLayout",
    "CardRenderer",
    "CardSpec",
    "FontBook",
    "FontFace",
    "TextBox",
    "Theme",
    "aspect_size",
    "font_license",
]

#: Common card sizes by aspect ratio (width, height).
ASPECTS: dict[str, tuple[int, int]] = {
    "16:9": (1920, 1080),
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
}


def aspect_size(aspect: str) -> tuple[int, int]:
    """Full-HD (width, height) of an aspect ratio name.

    Raises:
        InvalidRequestError: Not one of :data:`ASPECTS`.

    Example:
        >>> aspect_size("9:16")
        (1080, 1920)
    """
    if aspect not in ASPECTS:
        raise InvalidRequestError(f"unknown aspect {aspect!r}", hint=f"use one of {', '.join(ASPECTS)}")
    return ASPECTS[aspect]


CardLayout = Literal["title", "body", "bullets", "quote", "number", "lower-third", "location"]
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


class Theme(FrozenModel):
    """Colours, fonts, logo and safe margin shared by cards and charts.

    Example:
        >>> Theme(accent="#C8102E", brand="CITY DESK").accent
        '#C8102E'
        >>> THEMES["paper"].background
        '#F6F4EF'
    """

    name: str = "newsroom"
    background: str = Field(default="#0B1526", description="Canvas colour (hex).")
    surface: str = Field(default="#16294A", description="Panels, map ocean, gradient end.")
    text: str = Field(default="#F4F6FA", description="Main text.")
    muted: str = Field(default="#9DB0CB", description="Secondary text, grid lines.")
    accent: str = Field(default="#F2A541", description="Bars, markers, kicker.")
    on_accent: str = Field(default="#0B1526", description="Text drawn on the accent colour.")
    positive: str = Field(default="#35C28B", description="Rises.")
    negative: str = Field(default="#F0555A", description="Falls.")
    fonts: tuple[str, ...] = Field(
        default=("DejaVu Sans", "Noto Sans CJK SC"), min_length=1, description="Font families, preferred first."
    )
    font_files: tuple[FilePath, ...] = Field(
        default=(), description="Font files (a brand's) whose families join the installed ones; name them in fonts."
    )
    logo: FilePath | None = Field(default=None, description="Logo image shown top right.")
    brand: str | None = Field(default=None, max_length=60, description="Brand text shown top right (no logo).")
    safe_margin: float = Field(default=0.06, ge=0.0, le=0.2, description="Share of each side kept free of text.")

    @field_validator("background", "surface", "text", "muted", "accent", "on_accent", "positive", "negative")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError(f"{value!r} is not a #RRGGBB colour")
        return value.upper()


#: Built-in themes.
THEMES: dict[str, Theme] = {
    "newsroom": Theme(),
    "paper": Theme(
        name="paper",
        background="#F6F4EF",
        surface="#E7E2D6",
        text="#14161A",
        muted="#5E6470",
        accent="#C8102E",
        on_accent="#FFFFFF",
        positive="#1E8A5A",
        negative="#C8102E",
    ),
    "night": Theme(
        name="night",
        background="#101114",
        surface="#23252B",
        text="#FFFFFF",
        muted="#A0A4AD",
        accent="#3FA7F5",
        on_accent="#101114",
    ),
}


_CHROME = frozenset({"kicker", "source"})  # the header's label and the footer's credit line
#: The text fields each layout draws (every other content field must be left out).
_DRAWN: dict[str, frozenset[str]] = {
    "title": _CHROME | {"title", "subtitle"},
    "body": _CHROME | {"title", "body"},
    "bullets": _CHROME | {"title", "bullets"},
    "quote": _CHROME | {"quote", "attribution"},
    "number": _CHROME | {"value", "label", "delta", "delta_unit", "subtitle"},
    "lower-third": frozenset({"kicker", "title", "subtitle"}),
    "location": _CHROME | {"lat", "lon", "title", "body", "magnitude", "span_km", "language"},
}
_CONTENT_FIELDS = (
    "kicker", "title", "subtitle", "body", "bullets", "quote", "attribution", "value", "label", "delta",
    "delta_unit", "lat", "lon", "magnitude", "span_km", "language", "source",
)  # fmt: skip


class CardSpec(FrozenModel):
    """What a card shows; which fields are needed depends on ``layout``.

    ``title`` → title (+ subtitle); ``body`` → title + body; ``bullets`` → title + bullets;
    ``quote`` → quote (+ attribution); ``number`` → value (+ label, delta, unit); ``lower-third`` → title
    (+ subtitle), drawn on a transparent canvas; ``location`` → lat + lon (+ title/place, body) beside a
    locator map (``aigc_sdk.generators.image.maps``: ``magnitude`` sizes its marker and view,
    ``span_km`` sets the view, ``language`` its place names and scale unit). Every layout
    but ``lower-third`` also draws ``kicker`` and ``source``. A field the layout does not draw is an error.

    Example:
        >>> CardSpec(layout="number", value="4,189.77", delta=0.93, delta_unit="%", label="Composite").delta
        0.93
        >>> try:
        ...     CardSpec(layout="bullets", title="x")
        ... except ValueError as e:
        ...     "bullets" in str(e)
        True
        >>> try:
        ...     CardSpec(layout="title", title="x", body="never drawn")
        ... except ValueError as e:
        ...     "does not draw body" in str(e)
        True
    """

    layout: CardLayout = "title"
    width: int = Field(default=1920, ge=160, le=7680, description="Pixels.")
    height: int = Field(default=1080, ge=160, le=7680, description="Pixels.")
    kicker: str | None = Field(default=None, max_length=60, description="Small label above the content, e.g. MARKETS.")
    title: str | None = Field(default=None, max_length=400)
    subtitle: str | None = Field(default=None, max_length=400)
    body: str | None = Field(default=None, max_length=2_000)
    bullets: tuple[str, ...] = Field(default=(), max_length=8)
    quote: str | None = Field(default=None, max_length=600)
    attribution: str | None = Field(default=None, max_length=200)
    value: str | None = Field(default=None, max_length=24, description="The big number, formatted.")
    label: str | None = Field(default=None, max_length=200, description="What the number is.")
    delta: float | None = Field(default=None, description="Change shown with an arrow, coloured by sign.")
    delta_unit: str = Field(default="%", max_length=8)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    magnitude: float | None = Field(default=None, ge=-2.0, le=10.0, description="A quake's: the map's marker size.")
    span_km: float | None = Field(
        default=None, ge=5.0, le=20_000.0, description="Ground across the map's shorter side (default: by magnitude)."
    )
    language: str | None = Field(
        default=None, max_length=35, pattern=TAG_PATTERN,
        description="Language of the map's place names (zh: Chinese) and its scale unit (en-US: miles).",
    )  # fmt: skip
    source: str | None = Field(default=None, max_length=200, description="Credit line at the bottom.")
    theme: Theme = Field(default_factory=Theme)
    caption_band: float = Field(
        default=0.0, ge=0.0, le=0.5,
        description="Share of the height at the bottom kept free of text: where a video burns in its captions.",
    )  # fmt: skip

    @model_validator(mode="after")
    def _needs(self) -> Self:
        needs: dict[str, tuple[str, ...]] = {
            "title": ("title",),
            "body": ("title", "body"),
            "bullets": ("title", "bullets"),
            "quote": ("quote",),
            "number": ("value",),
            "lower-third": ("title",),
            "location": ("lat", "lon"),
        }
        missing = [name for name in needs[self.layout] if getattr(self, name) in (None, "", ())]
        if missing:
            raise ValueError(f"a {self.layout!r} card needs {', '.join(missing)}")
        for name in ("title", "subtitle", "body", "quote", "value"):
            text = getattr(self, name)
            if text is not None and not text.strip():
                raise ValueError(f"{name} is blank")
        if any(not b.strip() for b in self.bullets):
            raise ValueError("bullets must not be blank")
        unused = [
            name
            for name in _CONTENT_FIELDS
            if name not in _DRAWN[self.layout] and getattr(self, name) != CardSpec.model_fields[name].default
        ]
        if unused:
            raise InvalidRequestError(
                f"a {self.layout!r} card does not draw {', '.join(unused)}",
                hint=f"it draws {', '.join(sorted(_DRAWN[self.layout]))}; choose another layout or leave them out",
            )
        return self

    @classmethod
    def for_aspect(cls, aspect: str, /, *, scale: float = 1.0, **fields: Any) -> CardSpec:
        """A spec sized for ``aspect`` (``16:9``, ``9:16``, ``1:1``, ``4:5``) at ``scale`` × 1080p.

        Example:
            >>> s = CardSpec.for_aspect("9:16", title="Storm warning", scale=0.5)
            >>> (s.width, s.height)
            (540, 960)
        """
        w, h = aspect_size(aspect)
        return cls(width=round(w * scale), height=round(h * scale), **fields)

    @classmethod
    def from_geojson(cls, feature: dict[str, Any], /, **fields: Any) -> CardSpec:
        """A ``location`` card from a GeoJSON point feature (USGS earthquake feeds work as they are).

        Example:
            >>> f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.97, 23.84, 21.5]},
            ...      "properties": {"mag": 6.4, "place": "38 km ESE of Hualien City, Taiwan", "type": "earthquake"}}
            >>> spec = CardSpec.from_geojson(f)
            >>> spec.title, spec.lat, spec.body
            ('38 km ESE of Hualien City, Taiwan', 23.84, 'Magnitude 6.4 · depth 21.5 km')
        """
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") or []
        if geometry.get("type") != "Point" or len(coords) < 2:
            raise InvalidRequestError("from_geojson needs a Point feature with coordinates")
        props = feature.get("properties") or {}
        details = []
        if props.get("mag") is not None:
            details.append(f"Magnitude {float(props['mag']):.1f}")
        if len(coords) > 2 and coords[2] is not None:
            details.append(f"depth {float(coords[2]):.1f} km")
        defaults: dict[str, Any] = {
            "layout": "location",
            "lat": float(coords[1]),
            "lon": float(coords[0]),
            "magnitude": float(props["mag"]) if props.get("mag") is not None else None,
            "title": props.get("place") or props.get("title") or props.get("name"),
            "body": " · ".join(details) or None,
            "kicker": str(props.get("type", "")).upper() or None,
        }
        if props.get("time"):
            when = _dt.datetime.fromtimestamp(int(props["time"]) / 1000, tz=_dt.UTC)
            defaults["source"] = f"USGS · {when:%Y-%m-%d %H:%M} UTC" if "usgs" in str(props.get("url", "")) else None
        defaults.update(fields)
        return cls(**{k: v for k, v in defaults.items() if v is not None})


# ------------------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class TextBox:
    """A piece of text drawn on a card: its string, ink box and the faces used.

    Example:
        >>> TextBox(role="title", text="Hi", box=(10, 10, 50, 40), faces=()).box
        (10, 10, 50, 40)
    """

    role: str
    text: str
    box: tuple[int, int, int, int]
    faces: tuple[tuple[str, FontFace], ...]


@dataclass(frozen=True)
class Card:
    """A rendered card: the image and every text box drawn on it.

    Example:
        >>> card = CardRenderer().compose(CardSpec(title="Hello", width=320, height=180))
        >>> card.image.size, [b.role for b in card.boxes]
        ((320, 180), ['title'])
    """

    image: Image
    boxes: tuple[TextBox, ...]
    safe_area: tuple[int, int, int, int]


def _rgb(color: str, alpha: int | None = None) -> tuple[int, ...]:
    value = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return (*value, alpha) if alpha is not None else value


@functools.lru_cache(maxsize=4)
def _gradient(background: str, surface: str, w: int, h: int) -> PIL.Image.Image:
    """The opaque background of a card (cached: cards of one clip share it; callers copy it)."""
    pil_image = require("PIL.Image", extra="image", feature="cards")
    top = np.array(_rgb(background), dtype=np.float32)
    bottom = np.array(_rgb(surface), dtype=np.float32)
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    t = np.clip(0.75 * ys + 0.25 * xs, 0.0, 1.0) ** 1.4
    rgb = top + (bottom - top) * t
    alpha = np.full((h, w, 1), 255, dtype=np.float32)
    gradient: PIL.Image.Image = pil_image.fromarray(np.concatenate([rgb, alpha], axis=2).round().astype(np.uint8))
    return gradient


class _Canvas:
    def __init__(self, spec: CardSpec, book: FontBook) -> None:
        pil_image = require("PIL.Image", extra="image", feature="cards")
        image_draw = require("PIL.ImageDraw", extra="image", feature="cards")
        self.spec = spec
        self.theme = spec.theme
        self.book = book
        self.w, self.h = spec.width, spec.height
        # Portrait cards are watched on phones: text a little larger than the width alone suggests.
        self.u = min(self.w, self.h) / 100.0 * (1.3 if self.h > self.w * 1.2 else 1.0)
        m = spec.theme.safe_margin
        self.safe = (
            math.ceil(self.w * m),
            math.ceil(self.h * m),
            math.floor(self.w * (1 - m)),
            math.floor(self.h * (1 - max(m, spec.caption_band))),
        )
        self.image: PIL.Image.Image = (
            pil_image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
            if spec.layout == "lower-third"  # an overlay: transparent around its band
            else _gradient(self.theme.background, self.theme.surface, self.w, self.h).copy()
        )
        self.draw: PIL.ImageDraw.ImageDraw = image_draw.Draw(self.image)
        self.layout = TextLayout(book, self.draw)
        self.boxes: list[TextBox] = []
        self.extra: dict[str, Any] = {}  # a layout's own provenance (a map's view, places and data)

    # -- text (the shared layout of aigc_sdk._internal.textlayout) -----------------------------

    def text_block(
        self,
        block: TextBlock,
        x: float,
        y: float,
        *,
        role: str,
        color: str,
        width: float | None = None,
        align: Literal["left", "center", "right"] = "left",
    ) -> tuple[int, int, int, int]:
        """Draw ``block`` with its first line's top at ``y``; returns and records the ink box."""
        box = self.layout.draw_block(block, x, y, fill=_rgb(color, 255), width=width, align=align)
        if box is None:
            return (int(x), int(y), int(x), int(y))
        text = "\n".join("".join(t for t, _ in line) for line in block.lines)
        faces = tuple((t, f) for line in block.lines for t, f in line)
        self.boxes.append(TextBox(role=role, text=text, box=box, faces=faces))
        return box

    # -- chrome ------------------------------------------------------------------------------

    def header(self) -> float:
        """Accent rule, kicker pill and brand/logo; returns the y where content may start."""
        theme, u = self.theme, self.u
        x0, y0, x1, _ = self.safe
        self.draw.rectangle((0, 0, self.w, max(2, round(0.7 * u))), fill=_rgb(theme.accent, 255))
        bottom = float(y0)
        pill_h = 4.6 * u
        if self.spec.kicker:
            block = self.layout.fit(
                self.spec.kicker.upper(),
                (x1 - x0) * 0.6,
                pill_h * 0.6,
                max_size=2.5 * u,
                min_size=1.4 * u,
                bold=True,
                max_lines=1,
            )
            pad = 1.4 * u
            width = block.widths[0] + 2 * pad
            self.draw.rounded_rectangle((x0, y0, x0 + width, y0 + pill_h), radius=0.8 * u, fill=_rgb(theme.accent, 255))
            self.text_block(
                block, x0 + pad, y0 + (pill_h - block.line_height) / 2, role="kicker", color=theme.on_accent
            )
            bottom = y0 + pill_h
        right = self._logo(x1, y0, pill_h)
        if right is None and theme.brand:
            block = self.layout.fit(
                theme.brand, (x1 - x0) * 0.35, pill_h, max_size=2.3 * u, min_size=1.2 * u, bold=True, max_lines=1
            )
            self.text_block(
                block,
                x1 - (x1 - x0) * 0.35,
                y0 + (pill_h - block.line_height) / 2,
                role="brand",
                color=theme.muted,
                width=(x1 - x0) * 0.35,
                align="right",
            )
            bottom = max(bottom, y0 + pill_h)
        elif right is not None:
            bottom = max(bottom, right)
        return bottom  # starts at y0 and only grows

    def _logo(self, x1: int, y0: int, height: float) -> float | None:
        if self.theme.logo is None:
            return None
        logo = Image.load(self.theme.logo).pil.convert("RGBA")
        scale = height / logo.height
        pil_image = require("PIL.Image", extra="image", feature="cards")
        logo = logo.resize((max(1, round(logo.width * scale)), max(1, round(height))), pil_image.Resampling.LANCZOS)
        self.image.alpha_composite(logo, (int(x1 - logo.width), int(y0)))
        return y0 + height

    def footer(self) -> float:
        """The credit line; returns the y above which content must end."""
        x0, _, x1, y1 = self.safe
        if not self.spec.source:
            return float(y1)
        block = self.layout.fit(
            self.spec.source, x1 - x0, 3.2 * self.u, max_size=2.1 * self.u, min_size=1.2 * self.u, max_lines=1
        )
        top = y1 - block.height
        self.draw.line(
            (x0, top - 1.4 * self.u, x0 + 6 * self.u, top - 1.4 * self.u),
            fill=_rgb(self.theme.muted, 160),
            width=max(1, round(0.25 * self.u)),
        )
        self.text_block(block, x0, top, role="source", color=self.theme.muted)
        return top - 2.8 * self.u


class CardRenderer:
    """Draws :class:`CardSpec` cards with Pillow; no weights, no network.

    Example:
        >>> card = CardRenderer().render(CardSpec.for_aspect("1:1", scale=0.3, layout="number", value="6.4",
        ...                                                  label="Magnitude", delta=1.2, delta_unit=""))
        >>> card.size, card.provenance.model_id
        ((324, 324), 'card-renderer')
    """

    model_id = "card-renderer"

    def render(self, spec: CardSpec) -> Image:
        """Render ``spec`` to an image (RGB; RGBA for ``lower-third``) carrying provenance.

        Example:
            >>> img = CardRenderer().render(CardSpec(title="收盘 Markets close higher", width=480, height=270))
            >>> img.pil.mode, sorted(f["license"] for f in img.provenance.extra["fonts"])
            ('RGB', ['OFL-1.1'])
        """
        return self.compose(spec).image

    def compose(self, spec: CardSpec) -> Card:
        """Render ``spec`` and return the image with every text box drawn (for checks and overlays).

        Example:
            >>> card = CardRenderer().compose(CardSpec(layout="quote", quote="Build it well.", width=400, height=400))
            >>> all(card.safe_area[0] <= b.box[0] and b.box[2] <= card.safe_area[2] for b in card.boxes)
            True
        """
        canvas = _Canvas(spec, shared_book(spec.theme.fonts, spec.theme.font_files))
        draw = getattr(self, "_" + spec.layout.replace("-", "_"))
        draw(canvas)
        image = canvas.image if spec.layout == "lower-third" else canvas.image.convert("RGB")
        faces = {(f.info.path, f.info.index, f.weight): f for b in canvas.boxes for _, f in b.faces}
        fonts = [
            {"family": f.family, "file": f.info.path.name, "weight": f.weight, "license": f.license}
            for f in sorted(faces.values(), key=lambda f: (f.family, f.weight))
        ]
        provenance = Provenance(
            model_id=self.model_id,
            task="render-card",
            backend=f"{type(self).__module__}.{type(self).__qualname__}",
            request=spec.model_dump(mode="json"),
            versions=library_versions("Pillow", "fonttools", "numpy"),
            extra={"layout": spec.layout, "size": [spec.width, spec.height], "fonts": fonts, **canvas.extra},
        )
        return Card(image=Image(image, provenance), boxes=tuple(canvas.boxes), safe_area=canvas.safe)

    # -- layouts ---------------------------------------------------------------------------------

    def _content(self, c: _Canvas) -> tuple[float, float, float, float]:
        top = c.header()
        bottom = c.footer()
        x0, y0, x1, _ = c.safe
        gap = 3.2 * c.u if top > y0 else 0.0
        return (float(x0), top + gap, float(x1), bottom)

    def _title(self, c: _Canvas) -> None:
        s, u, theme = c.spec, c.u, c.theme
        x0, y0, x1, y1 = self._content(c)
        bar = 1.0 * u
        tx = x0 + bar + 2.6 * u
        width = x1 - tx
        avail = y1 - y0
        title = c.layout.fit(
            s.title or "",
            width,
            avail * (0.66 if s.subtitle else 0.9),
            max_size=9.5 * u,
            min_size=3 * u,
            bold=True,
            spacing=1.14,
        )
        sub = None
        if s.subtitle:
            sub = c.layout.fit(
                s.subtitle,
                width,
                avail - title.height - 3 * u,
                max_size=min(4.2 * u, title.size * 0.5),
                min_size=1.8 * u,
                max_lines=4,
            )
        total = title.height + (3 * u + sub.height if sub else 0)
        top = y0 + max(0.0, (avail - total) / 2)
        c.draw.rectangle((x0, top + 0.15 * title.line_height, x0 + bar, top + total), fill=_rgb(theme.accent, 255))
        c.text_block(title, tx, top, role="title", color=theme.text)
        if sub:
            c.text_block(sub, tx, top + title.height + 3 * u, role="subtitle", color=theme.muted)

    def _heading(self, c: _Canvas, width: float, height: float, max_size: float) -> TextBlock:
        return c.layout.fit(
            c.spec.title or "",
            width,
            height * 0.34,
            max_size=max_size,
            min_size=2.6 * c.u,
            bold=True,
            max_lines=3,
            spacing=1.14,
        )

    def _draw_heading(self, c: _Canvas, title: TextBlock, x0: float, y0: float) -> float:
        c.text_block(title, x0, y0, role="title", color=c.theme.text)
        rule_y = y0 + title.height + 2.0 * c.u
        c.draw.rectangle((x0, rule_y, x0 + 9 * c.u, rule_y + 0.6 * c.u), fill=_rgb(c.theme.accent, 255))
        return rule_y + 0.6 * c.u + 3.0 * c.u

    def _body(self, c: _Canvas) -> None:
        u = c.u
        x0, y0, x1, y1 = self._content(c)
        title = self._heading(c, x1 - x0, y1 - y0, 6.4 * u)
        head = title.height + 5.6 * u
        body = c.layout.fit(
            c.spec.body or "", x1 - x0, y1 - y0 - head, max_size=4.4 * u, min_size=1.6 * u, spacing=1.42
        )
        top = y0 + max(0.0, (y1 - y0 - head - body.height) * 0.4)
        c.text_block(body, x0, self._draw_heading(c, title, x0, top), role="body", color=c.theme.text)

    def _bullets(self, c: _Canvas) -> None:
        u, theme = c.u, c.theme
        x0, y0, x1, y1 = self._content(c)
        title = self._heading(c, x1 - x0, y1 - y0, 6.0 * u)
        room = y1 - y0 - title.height - 5.6 * u
        items = c.spec.bullets
        indent = 3.6 * u
        size = 4.4 * u
        while True:  # one size for every bullet: shrink until they all fit
            blocks = [
                c.layout.fit(b, x1 - x0 - indent, 10**6, max_size=size, min_size=size, spacing=1.3) for b in items
            ]
            gap = blocks[0].line_height * 0.55
            total = sum(b.height for b in blocks) + gap * (len(blocks) - 1)
            if total <= room or size <= 1.6 * u:
                break
            size = max(1.6 * u, size * 0.94)
        if total > room:  # still too long at the smallest size: cut each bullet to its share
            blocks = [
                c.layout.fit(b, x1 - x0 - indent, room / len(items) - gap, max_size=size, min_size=size, spacing=1.3)
                for b in items
            ]
            total = sum(b.height for b in blocks) + gap * (len(blocks) - 1)
        top = y0 + max(0.0, (room - total) * 0.4)
        y = self._draw_heading(c, title, x0, top)
        for block in blocks:
            dot = block.size * 0.34
            cy = y + block.line_height / 2
            c.draw.rounded_rectangle(
                (x0, cy - dot / 2, x0 + dot, cy + dot / 2), radius=dot * 0.2, fill=_rgb(theme.accent, 255)
            )
            c.text_block(block, x0 + indent, y, role="bullet", color=theme.text)
            y += block.height + gap

    def _quote(self, c: _Canvas) -> None:
        s, u, theme = c.spec, c.u, c.theme
        x0, y0, x1, y1 = self._content(c)
        mark = c.layout.fit("“", x1 - x0, 16 * u, max_size=18 * u, min_size=8 * u, bold=True, max_lines=1, spacing=1.0)
        mark_h = mark.size * 0.55
        avail = y1 - y0 - mark_h - 2 * u
        attribution = None
        if s.attribution:
            attribution = c.layout.fit(
                "— " + s.attribution, x1 - x0, avail * 0.25, max_size=3.2 * u, min_size=1.6 * u, bold=True, max_lines=2
            )
        room = avail - (attribution.height + 3 * u if attribution else 0)
        quote = c.layout.fit(s.quote or "", x1 - x0 - 2 * u, room, max_size=6.4 * u, min_size=2.0 * u, spacing=1.3)
        total = mark_h + 2 * u + quote.height + (3 * u + attribution.height if attribution else 0)
        top = y0 + max(0.0, (y1 - y0 - total) / 2)
        c.text_block(mark, x0, top - mark.size * 0.12, role="mark", color=theme.accent)
        y = top + mark_h + 2 * u
        c.text_block(quote, x0 + 2 * u, y, role="quote", color=theme.text)
        if attribution:
            c.text_block(attribution, x0 + 2 * u, y + quote.height + 3 * u, role="attribution", color=theme.accent)

    def _number(self, c: _Canvas) -> None:
        s, u, theme = c.spec, c.u, c.theme
        x0, y0, x1, y1 = self._content(c)
        width, avail = x1 - x0, y1 - y0
        parts: list[tuple[TextBlock, str, str]] = []
        if s.label:
            parts.append(
                (
                    c.layout.fit(s.label, width, avail * 0.2, max_size=4.2 * u, min_size=1.8 * u, max_lines=2),
                    "label",
                    theme.muted,
                )
            )
        value = c.layout.fit(
            s.value or "", width, avail * 0.45, max_size=26 * u, min_size=6 * u, bold=True, max_lines=1, spacing=1.05
        )
        parts.append((value, "value", theme.text))
        if s.delta is not None:
            arrow = "▲" if s.delta > 0 else "▼" if s.delta < 0 else "■"
            color = theme.positive if s.delta > 0 else theme.negative if s.delta < 0 else theme.muted
            text = f"{arrow} {s.delta:+,.2f}{s.delta_unit}".replace("+-", "-")
            parts.append(
                (
                    c.layout.fit(text, width, avail * 0.15, max_size=7 * u, min_size=2.4 * u, bold=True, max_lines=1),
                    "delta",
                    color,
                )
            )
        if s.subtitle:
            parts.append(
                (
                    c.layout.fit(s.subtitle, width, avail * 0.18, max_size=3.4 * u, min_size=1.6 * u, max_lines=3),
                    "subtitle",
                    theme.muted,
                )
            )
        gap = 2.2 * u
        total = sum(b.height for b, _, _ in parts) + gap * (len(parts) - 1)
        y = y0 + max(0.0, (avail - total) / 2)
        for block, role, color in parts:
            c.text_block(block, x0, y, role=role, color=color, width=width, align="center")
            y += block.height + gap

    def _lower_third(self, c: _Canvas) -> None:
        s, u, theme = c.spec, c.u, c.theme
        x0, _, x1, y1 = c.safe
        max_w = (x1 - x0) * (0.72 if c.w > c.h else 0.95)
        pad = 2.4 * u
        title = c.layout.fit(
            s.title or "",
            max_w - 2 * pad,
            12 * u,
            max_size=5.2 * u,
            min_size=2.2 * u,
            bold=True,
            max_lines=2,
            spacing=1.15,
        )
        sub = None
        if s.subtitle:
            sub = c.layout.fit(s.subtitle, max_w - 2 * pad, 7 * u, max_size=3.2 * u, min_size=1.6 * u, max_lines=2)
        inner_h = title.height + (1.0 * u + sub.height if sub else 0)
        panel_w = max(title.widths + (sub.widths if sub else [])) + 2 * pad + 1.2 * u
        panel_h = inner_h + 2 * pad * 0.8
        bottom = y1 - (c.h - y1) * 0.2
        top = bottom - panel_h
        c.draw.rectangle((x0, top, x0 + panel_w, bottom), fill=_rgb(theme.background, 235))
        c.draw.rectangle((x0, top, x0 + 1.2 * u, bottom), fill=_rgb(theme.accent, 255))
        tx = x0 + 1.2 * u + pad
        y = top + pad * 0.8
        c.text_block(title, tx, y, role="title", color=theme.text)
        if sub:
            c.text_block(sub, tx, y + title.height + 1.0 * u, role="subtitle", color=theme.muted)
        if s.kicker:
            k = c.layout.fit(
                s.kicker.upper(), panel_w, 4 * u, max_size=2.3 * u, min_size=1.2 * u, bold=True, max_lines=1
            )
            kh = k.height + 1.0 * u
            c.draw.rectangle((x0, top - kh, x0 + k.widths[0] + 2.4 * u, top), fill=_rgb(theme.accent, 255))
            c.text_block(k, x0 + 1.2 * u, top - kh + 0.5 * u, role="kicker", color=theme.on_accent)

    def _location(self, c: _Canvas) -> None:
        s, u, theme = c.spec, c.u, c.theme
        x0, y0, x1, y1 = self._content(c)
        assert s.lat is not None
        assert s.lon is not None
        landscape = (x1 - x0) > (y1 - y0) * 1.25
        if landscape:  # the map on the right, the text on the left
            map_box = (round(x1 - (x1 - x0) * 0.6), round(y0), round(x1), round(y1))
            text_box = (x0, y0, map_box[0] - 3.6 * u, y1)
        else:  # the map on top, the text below
            map_box = (round(x0), round(y0), round(x1), round(y0 + min((y1 - y0) * 0.6, (x1 - x0) * 1.1)))
            text_box = (x0, map_box[3] + 3.6 * u, x1, y1)
        style = MapStyle(theme.background, theme.surface, theme.text, theme.muted, theme.accent)
        drawn = draw_locator_map(c.image, c.layout, map_box, lat=s.lat, lon=s.lon, style=style, unit=u,
                                 magnitude=s.magnitude, span_km=s.span_km, language=s.language)  # fmt: skip
        c.boxes += [
            TextBox(role=label.role, text=label.text, box=label.box, faces=label.faces) for label in drawn.labels
        ]
        c.extra["map"] = drawn.record
        c.extra["data"] = [dict(record) for record in MAP_LICENSES]
        tx0, ty0, tx1, ty1 = text_box
        width, avail = tx1 - tx0, ty1 - ty0
        coords = f"{abs(s.lat):.2f}° {'N' if s.lat >= 0 else 'S'}, {abs(s.lon):.2f}° {'E' if s.lon >= 0 else 'W'}"
        parts: list[tuple[TextBlock, str, str]] = []
        if s.title:
            parts.append(
                (
                    c.layout.fit(
                        s.title,
                        width,
                        avail * 0.5,
                        max_size=6.4 * u,
                        min_size=2.4 * u,
                        bold=True,
                        max_lines=4,
                        spacing=1.14,
                    ),
                    "title",
                    theme.text,
                )
            )
        parts.append(
            (
                c.layout.fit(coords, width, avail * 0.12, max_size=3.2 * u, min_size=1.6 * u, max_lines=1),
                "coordinates",
                theme.accent,
            )
        )
        if s.body:
            parts.append(
                (
                    c.layout.fit(
                        s.body, width, avail * 0.3, max_size=3.8 * u, min_size=1.6 * u, max_lines=4, spacing=1.35
                    ),
                    "body",
                    theme.muted,
                )
            )
        gap = 2.4 * u
        total = sum(b.height for b, _, _ in parts) + gap * (len(parts) - 1)
        y = ty0 + (max(0.0, (avail - total) / 2) if landscape else 0.0)
        for block, role, color in parts:
            c.text_block(block, tx0, y, role=role, color=color)
            y += block.height + gap
