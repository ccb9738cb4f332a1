"""Where an event happened, in words and in time: USGS place names and the local time zone of an event.

A quake is at a point, but the clock that matters is the one of the people who felt it.
:func:`zone_for_event` answers the IANA time zone for an event's coordinates, offline
(``timezonefinder``'s polygons, then ``zoneinfo`` for daylight saving):

1. USGS names a place as a distance and bearing from a town (``"94 km E of Miyako, Japan"``):
   walk back from the epicentre to that town and take the town's zone, so a quake at sea
   east of Japan gets ``Asia/Tokyo`` (UTC+9), not the nautical ``Etc/GMT-10``;
2. else the zone at the event itself when it is on land;
3. else the nearest land zone, searched on rings of growing radius (up to 400 km);
4. else ``"UTC"``, which a story then says plainly.

:func:`parse_place` splits a USGS place into its parts. Install with
``pip install "aigc-studio[text]"`` (timezonefinder).

Example:
    >>> zone_for_event(142.8, 38.3, "94 km E of Ishinomaki, Japan")
    'Asia/Tokyo'
    >>> parse_place("western Afghanistan").town is None
    True
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aigc_sdk._internal.optional import hidden_from, require
from aigc_sdk._internal.places import country_zone

__all__ = ["COMPASS", "Place", "parse_place", "place_phrase", "town_position", "zone_for_event"]

#: The 16 compass points, clockwise from north; a point's bearing is its index × 22.5°.
COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")

_EARTH_KM = 6371.0088
_PLACE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*km\s+(" + "|".join(COMPASS) + r")\s+of\s+(.+?)\s*$")
#: Radii (km) of the rings searched for the nearest land, and the points on each ring.
_RINGS_KM = (10.0, 25.0, 50.0, 100.0, 200.0, 400.0)
_RING_POINTS = 16


@dataclass(frozen=True)
class Place:
    """A USGS place name, split: ``distance_km`` and ``bearing`` from ``town``, in ``region``.

    A place without a distance (``"western Afghanistan"``, ``"Poland-Slovakia border region"``)
    has only ``name``; ``near`` tells which kind it is.

    Example:
        >>> p = parse_place("38 km ESE of Hualien City, Taiwan")
        >>> p.distance_km, p.bearing, p.town, p.region, p.near
        (38.0, 'ESE', 'Hualien City', 'Taiwan', True)
    """

    name: str
    distance_km: float | None = None
    bearing: str | None = None
    town: str | None = None
    region: str | None = None

    @property
    def near(self) -> bool:
        """Whether the place is a distance and bearing from a named town.

        Example:
            >>> parse_place("Fiji region").near
            False
        """
        return self.town is not None


def parse_place(place: str) -> Place:
    """Split a USGS ``place`` (``"94 km E of Miyako, Japan"``) into distance, bearing, town and region.

    Example:
        >>> parse_place("12 km NNW of Ridgecrest, CA").region
        'CA'
        >>> parse_place("south of the Fiji Islands")
        Place(name='south of the Fiji Islands', distance_km=None, bearing=None, town=None, region=None)
    """
    match = _PLACE.match(place)
    if match is None:
        return Place(name=place.strip())
    where = match.group(3)
    town, _, region = where.partition(",")
    return Place(
        name=place.strip(),
        distance_km=float(match.group(1)),
        bearing=match.group(2),
        town=town.strip(),
        region=region.strip() or None,
    )


_FEATURE_WORDS = re.compile(
    r"\b(region|ridge|rise|trench|sea|islands|zone|basin|gulf|peninsula|strait|coast|plateau|arc|fracture)$", re.I
)


def place_phrase(place: str) -> str:
    """A place as it follows "struck": ``"the Poland-Slovakia border region"``, ``"western Afghanistan"``.

    A distance from a town, a lowercase description (``"south of the Fiji Islands"``) or a
    country stays as it is; a named feature (a region, ridge, sea, islands …) takes "the".

    Example:
        >>> place_phrase("Poland-Slovakia border region"), place_phrase("western Afghanistan")
        ('the Poland-Slovakia border region', 'western Afghanistan')
        >>> place_phrase("38 km ESE of Hualien City, Taiwan"), place_phrase("Nepal")
        ('38 km ESE of Hualien City, Taiwan', 'Nepal')
    """
    text = place.strip()
    if parse_place(text).near or not text or text[0].islower() or text.lower().startswith("the "):
        return text
    return f"the {text}" if _FEATURE_WORDS.search(text) else text


def _destination(longitude: float, latitude: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` away from a point along a great circle starting at ``bearing_deg``."""
    lat1, lon1 = math.radians(latitude), math.radians(longitude)
    theta, delta = math.radians(bearing_deg), km / _EARTH_KM
    lat2 = math.asin(math.sin(lat1) * math.cos(delta) + math.cos(lat1) * math.sin(delta) * math.cos(theta))
    lon2 = lon1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(lat1), math.cos(delta) - math.sin(lat1) * math.sin(lat2)
    )
    return ((math.degrees(lon2) + 540.0) % 360.0 - 180.0, math.degrees(lat2))


def town_position(longitude: float, latitude: float, place: str) -> tuple[float, float] | None:
    """Where the town a USGS place names lies: the epicentre walked back by the place's distance and bearing.

    Returns ``(longitude, latitude)``, or None when the place names no distance and bearing.

    Example:
        >>> lon, lat = town_position(121.9712, 23.8431, "38 km ESE of Hualien City, Taiwan")
        >>> round(lon, 2), round(lat, 2)
        (121.63, 23.97)
    """
    parts = parse_place(place)
    if parts.distance_km is None or parts.bearing is None:
        return None
    back = (COMPASS.index(parts.bearing) * 22.5 + 180.0) % 360.0
    return _destination(longitude, latitude, back, parts.distance_km)


@functools.lru_cache(maxsize=1)
def _finder() -> Any:
    # timezonefinder JIT-compiles its point-in-polygon test with numba when it can import it: for the few
    # lookups of a story that costs ~0.5 s of CPU and ~130 MB; its compiled C path answers the same at once.
    with hidden_from("timezonefinder", "numba"):
        module = require("timezonefinder", extra="text", feature="local times of feed events")
        return module.TimezoneFinder(in_memory=True)  # no file handles left open at exit


def _land_zone(longitude: float, latitude: float) -> str | None:
    """The land time zone at a point, or None at sea (where the polygons hold nautical ``Etc/`` zones)."""
    lat = max(-90.0, min(90.0, latitude))
    zone: str | None = _finder().timezone_at_land(lng=longitude, lat=lat)
    return zone


def _nearest_land_zone(longitude: float, latitude: float, rings: tuple[float, ...] = _RINGS_KM) -> str | None:
    """The land zone met first on rings of growing radius (the most frequent one on that ring), or None."""
    for radius in rings:
        found = Counter(
            zone
            for k in range(_RING_POINTS)
            if (zone := _land_zone(*_destination(longitude, latitude, k * 360.0 / _RING_POINTS, radius)))
        )
        if found:
            return found.most_common(1)[0][0]
    return None


@functools.lru_cache(maxsize=4096)
def zone_for_event(longitude: float, latitude: float, place: str | None = None) -> str:
    """The IANA time zone of an event: its town's, else its country's, else its own, else the nearest land's, else UTC.

    The town is the one a ``"<km> km <bearing> of <town>"`` place names; the country is one named in the place
    that keeps a single zone; the event's own zone counts on land only.

    Args:
        longitude: Degrees east.
        latitude: Degrees north.
        place: The feed's place name; a ``"<km> km <bearing> of <town>"`` form is walked back to the town.

    Raises:
        MissingDependencyError: timezonefinder is not installed (the ``text`` extra).

    Example:
        >>> zone_for_event(-70.6, -33.4), zone_for_event(-30.0, 0.0)
        ('America/Santiago', 'UTC')
    """
    town = town_position(longitude, latitude, place) if place else None
    if town is not None:
        zone = _land_zone(*town) or _nearest_land_zone(*town, rings=_RINGS_KM[:3])
        if zone:
            return zone
    named = country_zone(place) if place else None  # "south of the Fiji Islands": Fiji's, not the nearest land's
    return named or _land_zone(longitude, latitude) or _nearest_land_zone(longitude, latitude) or "UTC"
