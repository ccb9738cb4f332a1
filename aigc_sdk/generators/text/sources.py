"""Data as it really arrives: files read into a story template's data, vendor columns renamed, public formats converted.

Three steps turn what a desk receives into what a template reads (:func:`load_story_data`):

1. **read**: a JSON, GeoJSON or CSV file (or inline JSON) is parsed; CSV numbers become numbers;
2. **rename** (``--map Zeit=date``): source columns or keys are renamed to the fields the template
   needs, before any validation; a mapping that names no column is an error listing the columns;
3. **convert**: a public format the story type declares in its plan (``[data] formats`` in
   ``story.toml``, :class:`~aigc_sdk.types.DataPlan`) becomes the template's own shape:

   * ``ohlcv``: a daily price export as Yahoo Finance, Stooq and most vendors write it
     (``Date, Open, High, Low, Close, Adj Close, Volume``, any case and column order), to the
     ``market-close`` rows: ``date, index, open, high, low, close, adj_close, volume`` (shares) plus
     ``prev_close``, ``change`` and ``change_pct`` from the previous session's close;
   * ``open-meteo``: Open-Meteo's forecast JSON as its API returns it (``latitude``,
     ``longitude``, ``timezone``, ``current`` + ``current_units``, ``daily`` arrays + ``daily_units``),
     to the ``weather-summary`` record, WMO weather codes in words (:data:`WMO_WEATHER`, en and zh),
     the place named by the request or found offline (``nearest_place`` in ``aigc_sdk._internal.places``).

Data already in the template's own shape passes unchanged. Finally a request's ``name`` sets the
field the plan names (``[data] name``: the index, the place).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.types import DataPlan

__all__ = [
    "SOURCE_FORMATS",
    "WMO_WEATHER",
    "StoryData",
    "index_name",
    "load_story_data",
    "read_data",
    "rename_fields",
]

#: Public source formats a story type can declare (``[data] formats``), with what they are.
SOURCE_FORMATS = {
    "ohlcv": "daily OHLCV price export (Date, Open, High, Low, Close, Adj Close, Volume), e.g. Yahoo Finance, Stooq",
    "open-meteo": "Open-Meteo forecast API JSON (latitude, longitude, timezone, current, daily)",
}

#: WMO 4677 weather codes as Open-Meteo documents them: code → (English, Chinese) words a forecast says.
WMO_WEATHER: dict[int, tuple[str, str]] = {
    0: ("clear skies", "晴"),
    1: ("mainly clear skies", "大部晴朗"),
    2: ("partly cloudy skies", "晴间多云"),
    3: ("overcast skies", "阴"),
    45: ("fog", "有雾"),
    48: ("freezing fog", "冻雾"),
    51: ("light drizzle", "小毛毛雨"),
    53: ("moderate drizzle", "毛毛雨"),
    55: ("dense drizzle", "大毛毛雨"),
    56: ("light freezing drizzle", "小冻毛毛雨"),
    57: ("dense freezing drizzle", "大冻毛毛雨"),
    61: ("light rain", "小雨"),
    63: ("moderate rain", "中雨"),
    65: ("heavy rain", "大雨"),
    66: ("light freezing rain", "小冻雨"),
    67: ("heavy freezing rain", "大冻雨"),
    71: ("light snow", "小雪"),
    73: ("moderate snow", "中雪"),
    75: ("heavy snow", "大雪"),
    77: ("snow grains", "米雪"),
    80: ("light rain showers", "小阵雨"),
    81: ("moderate rain showers", "中阵雨"),
    82: ("violent rain showers", "强阵雨"),
    85: ("light snow showers", "小阵雪"),
    86: ("heavy snow showers", "大阵雪"),
    95: ("thunderstorms", "雷阵雨"),
    96: ("thunderstorms with light hail", "雷阵雨伴有小冰雹"),
    99: ("thunderstorms with heavy hail", "雷阵雨伴有大冰雹"),
}

_SUFFIX_FORMATS = {".csv": "csv", ".geojson": "geojson", ".json": "json"}


@dataclass(frozen=True)
class StoryData:
    """Data ready for a template: the parsed value, its file format, the public format it was converted from.

    Example:
        >>> StoryData(data={"location": "Lisbon"}, format="json").converted_from is None
        True
    """

    data: Any
    format: str
    converted_from: str | None = None
    #: What a result's provenance keeps about the loading (the field map, where place names came from).
    notes: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- 1. read


def _number_or_text(text: str) -> Any:
    stripped = text.strip()
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", stripped):
        return float(stripped)
    return stripped


def _read_csv(text: str, name: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise InvalidRequestError(f"data file {name} has no CSV header row")
    rows = []
    for number, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InvalidRequestError(f"data file {name}: row {number} has the wrong number of fields")
        record: dict[str, Any] = {k.strip(): _number_or_text(v) for k, v in row.items()}
        record["_where"] = f"row {number}"
        rows.append(record)
    if not rows:
        raise InvalidRequestError(f"data file {name} has a header but no rows")
    return rows


def read_data(data: Path | dict[str, Any] | list[Any], data_format: str | None = None) -> tuple[Any, str]:
    r"""Parse a data file (JSON, GeoJSON, CSV: by ``data_format`` or the suffix), or take inline JSON data.

    CSV rows become dicts with numbers parsed and ``_where`` (``row N``) for error messages.

    Raises:
        InvalidRequestError: Unknown format, unreadable file, invalid JSON, a CSV without header or rows.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "closes.csv"
        >>> _ = p.write_text("date,close\n2026-11-25,4189.77\n")
        >>> read_data(p)
        ([{'date': '2026-11-25', 'close': 4189.77, '_where': 'row 2'}], 'csv')
    """
    if not isinstance(data, Path):
        is_geo = isinstance(data, dict) and data.get("type") == "FeatureCollection"
        return data, data_format or ("geojson" if is_geo else "json")
    fmt = data_format or _SUFFIX_FORMATS.get(data.suffix.lower())
    if fmt is None:
        raise InvalidRequestError(f"cannot tell the format of {data.name}; set data_format to json, geojson or csv")
    try:
        text = data.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read data file {data}: {exc}") from exc
    if fmt == "csv":
        return _read_csv(text, data.name), "csv"
    try:
        return json.loads(text), fmt
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"data file {data.name} is not valid JSON: {exc}") from exc


# ---------------------------------------------------------------------------------------- 2. rename


def _keys(value: Any, found: set[str]) -> None:
    if isinstance(value, Mapping):
        found.update(k for k in value if isinstance(k, str) and k != "_where")
        for item in value.values():
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)


def _renamed(value: Any, field_map: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            target = field_map.get(key, key)
            if target in out and target != key:
                raise InvalidRequestError(
                    f"map {key}={target}: the data already has a field {target!r}",
                    hint=f"map it away too (--map {target}=old_{target}) or pick another field",
                )
            out[target] = _renamed(item, field_map)
        return out
    if isinstance(value, list):
        return [_renamed(item, field_map) for item in value]
    return value


def rename_fields(data: Any, field_map: Mapping[str, str], source: str = "the data") -> Any:
    """Rename columns (CSV) or keys (JSON, at any depth) as ``field_map`` says: ``{source name: field}``.

    Raises:
        InvalidRequestError: A mapping names no column or key of the data (the hint lists them),
            or renames onto a field the data already has.

    Example:
        >>> rename_fields([{"Zeit": "2026-11-25", "Schluss": 4189.77}], {"Zeit": "date", "Schluss": "close"})
        [{'date': '2026-11-25', 'close': 4189.77}]
        >>> try:
        ...     rename_fields([{"Zeit": "2026-11-25"}], {"Datum": "date"}, "closes.csv")
        ... except ValueError as e:
        ...     print(e.message, "|", e.hint)
        map Datum=date: closes.csv has no column or key 'Datum' | its columns and keys: Zeit
    """
    if not field_map:
        return data
    found: set[str] = set()
    _keys(data, found)
    missing = [name for name in field_map if name not in found]
    if missing:
        listed = sorted(found, key=str.lower)
        shown = ", ".join(listed[:40]) + (f" … ({len(listed)} in all)" if len(listed) > 40 else "")
        raise InvalidRequestError(
            f"map {missing[0]}={field_map[missing[0]]}: {source} has no column or key {missing[0]!r}",
            hint=f"its columns and keys: {shown or 'none'}",
        )
    return _renamed(data, field_map)


# ---------------------------------------------------------------------------------------- 3. convert: OHLCV


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


_MULTIPLIERS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12, "万": 1e4, "亿": 1e8}


def _price(value: Any, where: str) -> float | None:
    """A number as vendors write it: 4189.77, "$4,189.77", "4.1B"; None for "null", "-", "" (no trading)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip().replace(",", "").lstrip("$€£¥")
    if text.lower() in ("", "null", "nan", "-", "--", "n/a", "na"):
        return None
    scale = _MULTIPLIERS.get(text[-1:].lower(), 1.0)
    try:
        return float(text[:-1] if scale != 1.0 else text) * scale
    except ValueError:
        raise InvalidRequestError(f"data field {where!r} must be a number, got {value!r}") from None


def _day(value: Any, day_first: bool, where: str) -> str:
    """A session date as vendors write it → ISO.

    2026-11-25, 2026-11-25 00:00:00-05:00, 20261125, 11/25/2026, 25.11.2026, 2026/11/25 and 2026年11月25日.
    """
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
        year_first = re.fullmatch(r"(\d{4})(?:/|年)(\d{1,2})(?:/|月)(\d{1,2})日?", text)
        if year_first:
            return dt.date(*(int(p) for p in year_first.groups())).isoformat()
        parts = re.fullmatch(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})", text)
        if parts:
            a, b, year = (int(p) for p in parts.group(1, 3, 4))
            month, day = (b, a) if day_first or parts[2] == "." else (a, b)  # 25.11.2026: always day-first
            return dt.date(year, month, day).isoformat()
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise InvalidRequestError(
            f"data field {where!r} is not a date: {value!r}", hint="use YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD or MM/DD/YYYY"
        ) from None


#: What vendors add to an export's file name besides the index ("S&P 500 Historical Data.csv" from Investing.com,
#: "HistoricalData_1764892800000.csv" from Nasdaq.com, "spx_prices (1).csv" from a second download).
_EXPORT_WORDS = re.compile(
    r"(?:historical[\s_-]*(?:data|prices|quotes)|price[\s_-]*history|prices|quotes|export|download|data"
    r"|历史数据|历史行情|行情数据|行情)"
    r"(?:[\s_-]*\d{6,})?\s*$|\s*\(\d+\)\s*$|[\s_-]+\d{10,}\s*$",
    re.IGNORECASE,
)


def index_name(path: Path) -> str:
    """An index's name from its export's file name: ``sp500.csv`` → SP500, ``^GSPC.csv`` → GSPC, ``^spx_d.csv`` → SPX.

    The words vendors add ("Historical Data", a download timestamp, " (1)") are dropped; a name with
    nothing left ("HistoricalData_1764892800000.csv") is an error that asks for the name.

    Raises:
        InvalidRequestError: The file name says nothing but what the vendor adds.

    Example:
        >>> index_name(Path("^GSPC.csv")), index_name(Path("sp500.csv")), index_name(Path("^spx_d.csv"))
        ('GSPC', 'SP500', 'SPX')
        >>> index_name(Path("S&P 500 Historical Data.csv")), index_name(Path("FTSE 100 (1).csv"))
        ('S&P 500', 'FTSE 100')
        >>> index_name(Path("上证指数历史数据.csv"))
        '上证指数'
    """
    stem = path.stem.strip()
    while (trimmed := _EXPORT_WORDS.sub("", stem).strip(" _-")) != stem:
        stem = trimmed
    stem = re.sub(r"_[dwmq]$", "", stem)  # Stooq: ^spx_d.csv is the daily series
    name = " ".join(re.split(r"[^0-9A-Za-z&.\u4e00-\u9fff]+", stem)).strip().upper()  # Chinese names kept
    if not name:
        raise InvalidRequestError(
            f"the file name {path.name!r} does not say which index it is", hint="give a name (--name 'S&P 500')"
        )
    return name


def _ohlcv_rows(rows: list[dict[str, Any]], name: str | None, origin: Path | None) -> list[dict[str, Any]]:
    if name is None and origin is None and any(not row.get("index") for row in rows):
        raise InvalidRequestError(
            "an OHLCV table does not say which index it is", hint="give a name (--name 'S&P 500')"
        )
    index = name or index_name(origin or Path("index"))
    day_first = _slash_day_first(rows)
    sessions: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        where = row.get("_where", "row")
        if row.get("date") in (None, ""):
            raise InvalidRequestError(f"data field '{where}.date' is missing")
        values = {
            k: _price(row.get(k), f"{where}.{k}") for k in ("open", "high", "low", "close", "adj_close", "volume")
        }
        if values["close"] is None:
            continue  # a holiday row ("null") in Yahoo exports
        day = _day(row["date"], day_first, f"{where}.date")
        subject = str(row.get("index") or index)  # a table of several indices names each row's
        sessions[(subject, day)] = {
            **values,
            "date": day,
            "index": subject,
            "_where": where,
        }
    ordered = [sessions[key] for key in sorted(sessions)]
    for subject in sorted({row["index"] for row in ordered}):
        _changes([row for row in ordered if row["index"] == subject], subject)
    return ordered


def _slash_day_first(rows: list[dict[str, Any]]) -> bool:
    """Whether the table's slash dates are day-first (10/11/2026 in the UK) rather than month-first (US).

    A part over 12 tells; else the one reading that keeps each index's sessions in order and off weekends.
    """
    dates = [
        (str(row.get("index") or ""), (int(found[1]), int(found[2]), int(found[3])))
        for row in rows
        if (found := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", str(row.get("date", "")).strip()))
    ]
    if any(first > 12 for _, (first, _, _) in dates):
        return True
    if not dates or any(second > 12 for _, (_, second, _) in dates):
        return False
    readings = [day_first for day_first in (False, True) if _sessions_plausible(dates, day_first)]
    if len(readings) != 1:
        shown = ", ".join(f"{a:02d}/{b:02d}/{y}" for _, (a, b, y) in dates[:3])
        raise InvalidRequestError(
            f"the dates {shown} … read both as month/day and as day/month"
            + (" and neither keeps the sessions in order on weekdays" if not readings else ""),
            hint="write the dates as YYYY-MM-DD (or day-first as DD.MM.YYYY) so their order is plain",
        )
    return readings[0]


def _sessions_plausible(dates: list[tuple[str, tuple[int, int, int]]], day_first: bool) -> bool:
    """Whether reading the slash dates so gives real weekdays, each index's in the table's order (either way)."""
    series: dict[str, list[dt.date]] = {}
    for subject, (a, b, year) in dates:
        try:
            day = dt.date(year, a, b) if not day_first else dt.date(year, b, a)
        except ValueError:
            return False
        if day.weekday() >= 5:
            return False
        series.setdefault(subject, []).append(day)
    return all(days in (sorted(days), sorted(days, reverse=True)) for days in series.values())


def _changes(series: list[dict[str, Any]], subject: str) -> None:
    """Each session's change from the previous close (the first has none)."""
    if len(series) < 2:
        raise InvalidRequestError(
            f"an OHLCV table needs two sessions of {subject} with a close to compute the change, got {len(series)}",
            hint="export at least the last two trading days",
        )
    series[0].update(prev_close=None, change=None, change_pct=None)
    for previous, row in itertools.pairwise(series):
        row["prev_close"] = previous["close"]
        row["change"] = row["close"] - previous["close"]
        row["change_pct"] = (row["close"] - previous["close"]) / abs(previous["close"]) * 100.0


#: Vendors' names for the close and the volume (Nasdaq.com "Close/Last", Investing.com "Price" and "Vol.",
#: Tushare "trade_date"), and the Chinese headers of East Money, Sina and cn.investing.com exports. Their
#: 成交量/交易量 is in shares or in lots of 100 depending on the vendor: not read, so never narrated wrong.
_OHLCV_SYNONYMS = {"close_last": "close", "price": "close", "last": "close", "last_price": "close",
                   "closing_price": "close", "vol": "volume", "trade_date": "date",
                   "日期": "date", "交易日期": "date", "开盘": "open", "开盘价": "open", "收盘": "close",
                   "收盘价": "close", "最高": "high", "最高价": "high", "高": "high", "最低": "low",
                   "最低价": "low", "低": "low"}  # fmt: skip


def _column(name: str) -> str:
    return _snake(name) or name.strip()  # a Chinese header has no snake_case form


def _ohlcv_column(name: str, columns: set[str]) -> str:
    snake = _column(name)
    synonym = _OHLCV_SYNONYMS.get(snake)
    return synonym if synonym is not None and synonym not in columns else snake


def _as_ohlcv(data: Any) -> list[dict[str, Any]] | None:
    """The rows with snake_case columns when ``data`` is an OHLCV table (date and close, no change_pct), else None.

    A vendor's own name for the close or the volume (``Close/Last``, ``Price``, ``Vol.``) is read as it, unless
    the table also has a column of that name.
    """
    if not isinstance(data, list) or not data or not all(isinstance(r, Mapping) for r in data):
        return None
    own = {_column(k) for k in data[0]}
    rows = [{_ohlcv_column(k, own) if k != "_where" else k: v for k, v in r.items()} for r in data]
    columns = set(rows[0])
    if {"date", "close"} <= columns and "change_pct" not in columns:
        return rows
    return None


# ---------------------------------------------------------------------------------------- 3. convert: Open-Meteo


def _celsius(value: Any, unit: str | None) -> float | None:
    if value is None:
        return None
    return round((float(value) - 32.0) * 5.0 / 9.0, 1) if unit and "F" in unit else float(value)


_KMH = {"km/h": 1.0, "m/s": 3.6, "mp/h": 1.609344, "mph": 1.609344, "kn": 1.852}


def _kmh(value: Any, unit: str | None) -> float | None:
    return None if value is None else round(float(value) * _KMH.get(unit or "km/h", 1.0), 1)


_MM = {"mm": 1.0, "cm": 10.0, "inch": 25.4, "in": 25.4}


def _mm(value: Any, unit: str | None) -> float | None:
    """Open-Meteo's precipitation in millimetres (``precipitation_unit=inch`` gives inches)."""
    if value is None:
        return None
    if (unit or "mm") not in _MM:
        raise InvalidRequestError(
            f"data field 'daily_units.precipitation_sum' is not a unit known here: {unit!r}",
            hint=f"ask Open-Meteo for one of: {', '.join(_MM)}",
        )
    return round(float(value) * _MM[unit or "mm"], 1)


def _weather_words(code: Any, where: str) -> tuple[str, str]:
    if not isinstance(code, int | float) or isinstance(code, bool) or int(code) not in WMO_WEATHER:
        raise InvalidRequestError(
            f"data field {where!r} is not a WMO weather code Open-Meteo uses: {code!r}",
            hint=f"known codes: {', '.join(str(c) for c in WMO_WEATHER)}",
        )
    return WMO_WEATHER[int(code)]


def _local_time(text: Any, offset_seconds: Any) -> str | None:
    """Open-Meteo's local ``2026-11-26T14:15`` plus ``utc_offset_seconds`` → an ISO time with its offset."""
    if not isinstance(text, str):
        return None
    zone = dt.timezone(dt.timedelta(seconds=int(offset_seconds or 0)))
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).isoformat()


def _meteo_current(record: Mapping[str, Any]) -> dict[str, Any] | None:
    current, units = record.get("current"), record.get("current_units") or {}
    if not isinstance(current, Mapping):
        return None
    words = _weather_words(current.get("weather_code"), "current.weather_code")
    out = {
        "temperature_c": _celsius(current.get("temperature_2m"), units.get("temperature_2m")),
        "condition": words[0],
        "condition_zh": words[1],
        "humidity_pct": current.get("relative_humidity_2m"),
        "wind_kmh": _kmh(current.get("wind_speed_10m"), units.get("wind_speed_10m")),
        "_where": "current",
    }
    return {k: v for k, v in out.items() if v is not None}


def _meteo_days(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    daily, units = record.get("daily"), record.get("daily_units") or {}
    if not isinstance(daily, Mapping):
        return []
    times = daily.get("time")
    if not isinstance(times, list):
        raise InvalidRequestError("data field 'daily.time' is missing: Open-Meteo's daily arrays need their dates")
    for key, values in daily.items():
        if not isinstance(values, list) or len(values) != len(times):
            raise InvalidRequestError(f"data field 'daily.{key}' must be a list as long as daily.time ({len(times)})")

    def column(key: str) -> list[Any]:
        return list(daily.get(key) or [None] * len(times))

    days = []
    rows = zip(times, column("weather_code"), column("temperature_2m_max"), column("temperature_2m_min"),
               column("precipitation_probability_max"), column("precipitation_sum"), column("wind_speed_10m_max"),
               strict=True)  # fmt: skip
    for i, (day, code, high, low, chance, rain, wind) in enumerate(rows):
        words = _weather_words(code, f"daily.weather_code[{i}]")
        out = {
            "date": day,
            "high_c": _celsius(high, units.get("temperature_2m_max")),
            "low_c": _celsius(low, units.get("temperature_2m_min")),
            "condition": words[0],
            "condition_zh": words[1],
            "precip_chance_pct": chance,
            "precip_mm": _mm(rain, units.get("precipitation_sum")),
            "wind_max_kmh": _kmh(wind, units.get("wind_speed_10m_max")),
            "_where": f"daily[{i}]",
        }
        days.append({k: v for k, v in out.items() if v is not None})
    return days


def _is_open_meteo(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and {"latitude", "longitude"} <= set(data)
        and isinstance(data.get("daily", data.get("current")), Mapping)
    )


def _open_meteo_record(data: Mapping[str, Any], name: str | None, notes: dict[str, Any]) -> dict[str, Any]:
    from aigc_sdk._internal.places import PLACE_SOURCE, nearest_place

    latitude, longitude = data["latitude"], data["longitude"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (latitude, longitude)):
        raise InvalidRequestError("data fields 'latitude' and 'longitude' must be numbers")
    record: dict[str, Any] = {"latitude": latitude, "longitude": longitude, "timezone": data.get("timezone") or "UTC"}
    if name is None:
        place = nearest_place(float(latitude), float(longitude))
        if place is None:
            raise InvalidRequestError(
                f"no town within 100 km of {latitude}, {longitude} to name the forecast after",
                hint="give the place's name (--name 'Lisbon')",
            )
        record["location"] = place.name
        if place.name_zh:
            record["location_zh"] = place.name_zh
        notes["place_names"] = {**PLACE_SOURCE, "place": place.name, "distance_km": place.distance_km}
    current = _meteo_current(data)
    if current is not None:
        record["current"] = current
        record["issued"] = _local_time(data["current"].get("time"), data.get("utc_offset_seconds"))
    record["forecast"] = _meteo_days(data)
    if current is None and not record["forecast"]:
        raise InvalidRequestError("an Open-Meteo forecast needs 'current' or 'daily' values; it has neither")
    return {k: v for k, v in record.items() if v is not None}


# ---------------------------------------------------------------------------------------- all steps


def _named(data: Any, fmt: str, plan: DataPlan, name: str, template: str) -> Any:
    """Set the plan's name field to ``name`` (one subject only: a table of several indices cannot take one name)."""
    field_name = plan.name
    if field_name is None:
        raise InvalidRequestError(f"template {template!r} takes no name", hint="leave --name out")
    if isinstance(data, Mapping):
        return {**data, field_name: name}
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        subjects = sorted({str(r[field_name]) for r in data if r.get(field_name) is not None})
        if len(subjects) > 1:
            raise InvalidRequestError(
                f"a name names one {field_name}, and the data holds {len(subjects)}: {', '.join(subjects)}",
                hint="leave --name out, or give a file per " + field_name,
            )
        return [{**r, field_name: name} for r in data]
    raise InvalidRequestError(f"{fmt} data of this shape cannot take a name", hint="leave --name out")


_CONVERTERS: dict[str, Callable[[Any], bool]] = {
    "ohlcv": lambda data: _as_ohlcv(data) is not None,
    "open-meteo": _is_open_meteo,
}


def load_story_data(
    data: Path | dict[str, Any] | list[Any],
    *,
    data_format: str | None = None,
    field_map: Mapping[str, str] | None = None,
    plan: DataPlan | None = None,
    name: str | None = None,
    template: str = "the template",
) -> StoryData:
    r"""Read, rename (``field_map``), convert (the plan's public formats) and name data for a story template.

    Raises:
        InvalidRequestError: The data cannot be read, a mapping names no column, a converted format
            lacks what it needs (the error names the field), or a name cannot apply.

    Example:
        >>> from aigc_sdk.types import DataPlan
        >>> rows = [{"Date": "2026-11-24", "Close": 4151.02}, {"Date": "2026-11-25", "Close": 4189.77}]
        >>> loaded = load_story_data(rows, plan=DataPlan(formats=("ohlcv",), name="index"), name="Composite")
        >>> last = loaded.data[-1]
        >>> loaded.converted_from, last["index"], round(last["change"], 2), round(last["change_pct"], 2)
        ('ohlcv', 'Composite', 38.75, 0.93)
    """
    plan = plan or DataPlan()
    parsed, fmt = read_data(data, data_format)
    origin = data if isinstance(data, Path) else None
    notes: dict[str, Any] = {}
    if field_map:
        parsed = rename_fields(parsed, field_map, origin.name if origin else "the data")
        notes["field_map"] = dict(field_map)
    converted = next((f for f in plan.formats if _CONVERTERS[f](parsed)), None)
    if converted == "ohlcv":
        parsed = _ohlcv_rows(_as_ohlcv(parsed) or [], name, origin)
    elif converted == "open-meteo":
        parsed = _open_meteo_record(parsed, name, notes)
    if converted is not None:
        notes["source_format"] = converted
    if name is not None:
        parsed = _named(parsed, fmt, plan, name, template)
    return StoryData(data=parsed, format=fmt, converted_from=converted, notes=notes)
