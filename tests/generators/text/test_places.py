"""Feed events get the local clock time and offset of where they happened, across daylight saving (issue 14, item 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aigc_sdk.generators.text.places import parse_place, town_position, zone_for_event
from aigc_sdk.generators.text.spoken import spoken_form
from aigc_sdk.generators.text.template import TemplateTextGenerator
from aigc_sdk.registry import ModelRegistry
from tests.support import require_module

require_module("timezonefinder")
require_module("jinja2")


@pytest.fixture(scope="module")
def writer() -> TemplateTextGenerator:
    return ModelRegistry().create("news-templates")  # type: ignore[no-any-return]


def _feed(lon: float, lat: float, place: str, when: str) -> dict[str, Any]:
    props = {"mag": 6.0, "place": place, "time": when}
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat, 10.0]}}
        ],
    }


# (longitude, latitude, USGS place, UTC time) → (zone, local clock time, label)
CASES = {
    "chile-november-summer-time": (
        (-71.806, -29.952, "45 km W of Coquimbo, Chile", "2025-11-10T12:00:00Z"),
        ("America/Santiago", "9:00 AM", "UTC-3"),
    ),
    "chile-july": ((-71.806, -29.952, "45 km W of Coquimbo, Chile", "2025-07-10T12:00:00Z"),
                   ("America/Santiago", "8:00 AM", "UTC-4")),
    # at sea east of Honshu the polygons answer Etc/GMT-10; the town USGS names keeps UTC+9
    "japan-at-sea": ((143.036, 38.422, "151 km E of Ishinomaki, Japan", "2025-12-08T14:15:00Z"),
                     ("Asia/Tokyo", "11:15 PM", "JST, UTC+9")),
    "afghanistan": ((62.0, 34.6, "western Afghanistan", "2023-10-07T06:41:00Z"),
                    ("Asia/Kabul", "11:11 AM", "UTC+4:30")),
    "nepal": ((84.73, 28.23, "Nepal", "2015-04-25T06:11:26Z"), ("Asia/Kathmandu", "11:56 AM", "UTC+5:45")),
    "india": ((76.56, 18.48, "10 km N of Latur, India", "2025-03-01T10:00:00Z"),
              ("Asia/Kolkata", "3:30 PM", "IST, UTC+5:30")),
    "california-summer": ((-117.7123, 35.7301, "12 km NNW of Ridgecrest, CA", "2025-07-05T20:00:00Z"),
                          ("America/Los_Angeles", "1:00 PM", "PDT, UTC-7")),
    "california-winter": ((-117.7123, 35.7301, "12 km NNW of Ridgecrest, CA", "2025-01-05T20:00:00Z"),
                          ("America/Los_Angeles", "12:00 PM", "PST, UTC-8")),
    "mid-atlantic": ((-30.0, 0.0, "central Mid-Atlantic Ridge", "2025-01-05T20:00:00Z"), ("UTC", "8:00 PM", "UTC")),
    # no town named: the country named keeps one zone (the nearest land here is Tonga, UTC+13)
    "fiji-at-sea": ((-178.4, -25.9, "south of the Fiji Islands", "2023-10-19T02:50:00Z"),
                    ("Pacific/Fiji", "2:50 PM", "UTC+12")),
    # "PST" in Manila is Philippine, not Pacific, time: the offset alone is said
    "philippines": ((126.0, 7.0, "Mindanao, Philippines", "2023-10-16T11:14:00Z"), ("Asia/Manila", "7:14 PM", "UTC+8")),
    # a country's name inside a longer name is not that country: not Guinea's UTC here
    "papua-new-guinea": ((146.0, -6.0, "eastern New Guinea region, Papua New Guinea", "2023-10-19T02:50:00Z"),
                         ("Pacific/Port_Moresby", "12:50 PM", "UTC+10")),
    "gulf-of-guinea": ((7.5, 3.0, "Gulf of Guinea", "2023-10-19T02:50:00Z"),
                       ("Africa/Malabo", "3:50 AM", "WAT, UTC+1")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_local_time_and_offset_of_known_places(case: str, writer: TemplateTextGenerator, tmp_path: Path) -> None:
    (lon, lat, place, when), (zone, clock, label) = CASES[case]
    assert zone_for_event(lon, lat, place) == zone
    template = tmp_path / "clock.j2"
    template.write_text(
        "{% set e = features[0] %}{% set z = zone_for(e) %}Clock\n\n"
        "{{ e.time | time(z) }} | {{ e.time | tz_label(z) }}\n"
    )
    story = writer(template=str(template), data=_feed(lon, lat, place, when), data_format="geojson", seed=0)
    assert story.paragraphs == (spoken_form(f"{clock} | {label}", "en"),)  # paragraphs come back spoken


def test_the_builtin_template_tells_local_times_in_both_languages(writer: TemplateTextGenerator) -> None:
    (lon, lat, place, when), _ = CASES["japan-at-sea"]
    en = writer(template="usgs-earthquakes", data=_feed(lon, lat, place, when), seed=0)
    assert "11:15 PM local time (JST, UTC plus nine)" in en.paragraphs[0]
    zh = writer(template="usgs-earthquakes", data=_feed(lon, lat, place, when), language="zh", seed=0)
    assert (
        "2025年12月8日（星期一）晚上11:15" in zh.paragraphs[0] and "当地时间（协调世界时加9小时）" in zh.paragraphs[0]
    )
    # a request's own zone still wins
    taipei = writer(template="usgs-earthquakes", data=_feed(lon, lat, place, when), timezone="Asia/Taipei", seed=0)
    assert "10:15 PM local time (UTC plus eight)" in taipei.paragraphs[0]


def test_far_at_sea_the_time_is_said_in_utc_plainly(writer: TemplateTextGenerator) -> None:
    (lon, lat, place, when), _ = CASES["mid-atlantic"]
    story = writer(template="usgs-earthquakes", data=_feed(lon, lat, place, when), seed=0)
    assert "at 8 PM UTC on Sunday, January 5, 2025" in story.paragraphs[0]
    assert "local time" not in story.paragraphs[0]


def test_place_parts_and_the_walk_back_to_the_town() -> None:
    place = parse_place("151 km E of Ishinomaki, Japan")
    assert (place.distance_km, place.bearing, place.town, place.region) == (151.0, "E", "Ishinomaki", "Japan")
    lon, lat = town_position(143.036, 38.422, "151 km E of Ishinomaki, Japan")  # type: ignore[misc]
    assert lon == pytest.approx(141.30, abs=0.01) and lat == pytest.approx(38.43, abs=0.05)  # Ishinomaki
    assert town_position(62.0, 34.6, "western Afghanistan") is None
    assert not parse_place("Poland-Slovakia border region").near
