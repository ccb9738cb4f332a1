"""Data-to-text news writing: sandboxed Jinja2 templates over JSON, GeoJSON and CSV data.

A template renders plain text: its first non-empty line is the headline
(a leading ``#`` is dropped), and blank lines separate the narration
paragraphs. The paragraphs come back in spoken form
(:func:`~aigc_sdk.generators.text.spoken.spoken_form`: ``38 kilometres east-southeast``,
not ``38 km ESE``), the words a voice reads and captions show; the headline stays written.
A story type is one folder (built-in ones live in
``aigc_sdk/generators/text/templates/<name>/``; a request may also name a folder
of its own): ``<lang>.j2`` per language, and ``story.toml``, the story's plan
(:class:`~aigc_sdk.types.StoryPlan`: kicker per language, music mood, a chart of
the data, location cards, the feed suffixes it is the default for), carried on
every result as ``StoryResult.plan``. Built-in story types:

* ``usgs-earthquakes``: a USGS GeoJSON summary feed (significant events);
* ``market-close``: a CSV of index closes (``date,index,close,change_pct,volume_bn``) or an OHLCV export;
* ``sports-result``: a JSON match result;
* ``weather-summary``: a JSON current-conditions + forecast record, or Open-Meteo's forecast JSON.

The last two folders hold sample data (``example.json``). Data is read, renamed
(``field_map``, ``--map``) and converted from the public formats a plan declares (a vendor's OHLCV
export, Open-Meteo's forecast JSON) by :mod:`aigc_sdk.generators.text.sources`. What a template sees:

* ``data``: the parsed JSON, or the list of CSV rows (numbers parsed);
* ``features`` (GeoJSON): each feature's properties plus ``id``, ``longitude``,
  ``latitude``, ``depth_km``; ``feed``: the collection's ``metadata``;
* ``rows`` (CSV, or a JSON list): the rows; ``language``, ``timezone``, ``now``, ``seed``;
* ``fresh``: whether relative times ("11 hours ago") hold: ``now`` was given, or is the feed's
  ``generated`` time and that is within :data:`FRESH_FEED` of this machine's clock;
* ``name``: the request's name for the story's subject (an index, a place), or None;
* ``need(record, "field", "number")``: the value, or :class:`InvalidRequestError`
  naming the field when it is missing or of the wrong kind (``number``, ``int``,
  ``text``, ``time``, ``list``, ``record``, ``bool``, ``any``);
* ``pick(options...)``: a seeded choice between phrasings; ``pct_change(old, new)``;
* ``zone_for(record)``: the time zone of a GeoJSON event (the request's ``timezone`` when
  given, else the zone of the town its USGS place names, else the nearest land's, else
  ``"UTC"``; see :mod:`aigc_sdk.generators.text.places`).

Filters (output follows the request's language): ``number``, ``percent``,
``signed``, ``bignum``, ``unit``, ``ordinal``, ``date``, ``time``, ``datetime``,
``weekday``, ``relative``, ``tz_label``, ``direction``. A field read in a
template that is not in the data raises :class:`InvalidRequestError` naming it.
Install with ``pip install "aigc-studio[text]"`` (jinja2).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import importlib.resources
import math
import random
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from aigc_sdk._internal.languages import primary_language
from aigc_sdk._internal.optional import require
from aigc_sdk.errors import InvalidRequestError, ModelLoadError
from aigc_sdk.generators.base import BaseGenerator
from aigc_sdk.generators.text.places import place_phrase, zone_for_event
from aigc_sdk.generators.text.sources import load_story_data, read_data
from aigc_sdk.generators.text.spoken import speaking_seconds, spoken_form
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import ParagraphSubject, StoryPlan, StoryResult, TemplateRequest

__all__ = [
    "FRESH_FEED",
    "LANGUAGES",
    "TemplateTextGenerator",
    "builtin_templates",
    "feed_templates",
    "read_story_plan",
    "relative_times_hold",
    "render_filters",
    "story_plan",
    "template_for_feed",
]

#: Languages the filters and built-in templates write.
LANGUAGES = ("en", "zh")

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}
_MONTHS = "January February March April May June July August September October November December".split()
_UNITS: dict[str, tuple[str, str, str]] = {
    # unit: (english singular/abbrev, english joiner, chinese)
    "km": ("km", " ", "公里"),
    "mi": ("mi", " ", "英里"),
    "m": ("m", " ", "米"),
    "mm": ("mm", " ", "毫米"),
    "c": ("°C", "", "摄氏度"),
    "f": ("°F", "", "华氏度"),
    "kmh": ("km/h", " ", "公里/小时"),
    "%": ("%", "", "%"),
    "people": ("people", " ", "人"),
    "reports": ("reports", " ", "份报告"),
}


#: The story plan's file inside a template folder.
PLAN_FILE = "story.toml"
#: How old (by this machine's clock) a feed's ``generated`` time may be for relative times ("11 hours ago") to
#: count from it; an older feed's stories give absolute times only (the templates' ``fresh`` is False).
FRESH_FEED = dt.timedelta(hours=1)


def _builtin_folder() -> Path:
    return Path(str(importlib.resources.files("aigc_sdk.generators.text").joinpath("templates")))


def builtin_templates() -> dict[str, tuple[str, ...]]:
    """Built-in template names with the languages each is written in.

    Example:
        >>> builtin_templates()["usgs-earthquakes"]
        ('en', 'zh')
    """
    folder = _builtin_folder()
    return {name: _languages(folder / name) for name in sorted(builtin_names(folder))}


def _languages(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in folder.glob("*.j2") if re.fullmatch(r"[a-z]{2}", p.stem)))


def builtin_names(folder: Path) -> set[str]:
    """Template names in ``folder``: its sub-folders holding ``<lang>.j2`` files.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "quake").mkdir(); _ = (d / "quake" / "en.j2").write_text("x")
        >>> builtin_names(d)
        {'quake'}
    """
    return {p.name for p in folder.iterdir() if p.is_dir() and _languages(p)}


def read_story_plan(folder: str | Path, name: str | None = None) -> StoryPlan:
    r"""The plan declared in a template folder's ``story.toml`` (the default plan when it has none).

    Raises:
        InvalidRequestError: ``story.toml`` is not valid TOML or not a valid plan.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "story.toml").write_text('mood = "urgent"\n[kicker]\nen = "FLOOD"\n')
        >>> plan = read_story_plan(d, "flood")
        >>> plan.template, plan.mood, plan.kicker_for("en")
        ('flood', 'urgent', 'FLOOD')
    """
    path = Path(folder) / PLAN_FILE
    name = name or Path(folder).name
    if not path.is_file():
        return StoryPlan(template=name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequestError(f"cannot read the story plan {path}: {exc}") from exc
    if "template" in data:
        raise InvalidRequestError(f"{path}: 'template' is the folder's name; remove it from the plan")
    try:
        return StoryPlan(template=name, **data)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{path}: {exc.message}", hint="see aigc_sdk.types.StoryPlan for the fields") from exc


def story_plan(name: str) -> StoryPlan:
    """The plan of a built-in story template.

    Raises:
        InvalidRequestError: No built-in template has this name.

    Example:
        >>> plan = story_plan("market-close")
        >>> plan.mood, plan.chart.y, plan.kicker_for("en")
        ('upbeat', 'close', 'MARKETS')
    """
    folder = _builtin_folder()
    known = builtin_names(folder)
    if name not in known:
        raise InvalidRequestError(f"no built-in template {name!r}", hint=f"built-in: {', '.join(sorted(known))}")
    return read_story_plan(folder / name, name)


def feed_templates() -> dict[str, str]:
    """Feed file suffix → the built-in template its plan declares it the default for.

    Raises:
        ModelLoadError: Two built-in templates claim one suffix.

    Example:
        >>> feed_templates()
        {'.csv': 'market-close', '.geojson': 'usgs-earthquakes'}
    """
    found: dict[str, str] = {}
    for name in sorted(builtin_names(_builtin_folder())):
        for suffix in story_plan(name).feeds:
            if suffix in found:
                raise ModelLoadError(f"built-in templates {found[suffix]!r} and {name!r} both claim {suffix} feeds")
            found[suffix] = name
    return dict(sorted(found.items()))


def template_for_feed(path: str | Path) -> str:
    """The built-in template for a feed file, chosen by its suffix.

    Raises:
        InvalidRequestError: No template declares the suffix (the hint lists those that do).

    Example:
        >>> template_for_feed("examples/data/usgs_significant_week.geojson")
        'usgs-earthquakes'
    """
    suffix = Path(path).suffix.lower()
    templates = feed_templates()
    if suffix not in templates:
        raise InvalidRequestError(
            f"no built-in template reads {suffix or 'suffix-less'} feeds by default",
            hint=f"name a template; defaults exist for {', '.join(templates)}",
        )
    return templates[suffix]


# ---------------------------------------------------------------------------------------- field access


def _where(record: Any, name: str) -> str:
    prefix = record.get("_where") if isinstance(record, Mapping) else None
    return f"{prefix}.{name}" if prefix else name


def _kind_ok(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str) and bool(value.strip())
    if kind == "time":
        try:
            _to_datetime(value, dt.UTC)
        except (TypeError, ValueError, OverflowError):
            return False
        return True
    if kind == "list":
        return isinstance(value, list)
    if kind == "record":
        return isinstance(value, Mapping)
    if kind == "bool":
        return isinstance(value, bool) or value in (0, 1)
    raise InvalidRequestError(f"need(): unknown kind {kind!r}; use number, int, text, time, list, record, bool, any")


def need(record: Any, name: str, kind: str = "any", default: Any = ...) -> Any:
    """Read ``record[name]`` (dots go deeper), checking its kind; the error names the field.

    Args:
        record: A mapping from the data.
        name: Field name; ``a.b`` reads ``record["a"]["b"]``.
        kind: ``number``, ``int``, ``text``, ``time``, ``list``, ``record``, ``bool`` or ``any``.
        default: Returned when the field is missing or null (then the kind is not checked).

    Raises:
        InvalidRequestError: The field is missing (and no default) or of the wrong kind.

    Example:
        >>> need({"mag": 6.4}, "mag", "number")
        6.4
        >>> try:
        ...     need({"_where": "features[0]", "mag": "big"}, "mag", "number")
        ... except ValueError as e:
        ...     print(e.message)
        data field 'features[0].mag' must be a number, got 'big'
    """
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            if default is not ...:
                return default
            if not isinstance(value, Mapping):
                raise InvalidRequestError(
                    f"data field {_where(record, name)!r} is missing (its parent is not a record)"
                )
            raise InvalidRequestError(f"data field {_where(record, name)!r} is missing")
        value = value[part]
    if not _kind_ok(value, kind):
        article = "an" if kind[0] in "aeiou" else "a"
        raise InvalidRequestError(f"data field {_where(record, name)!r} must be {article} {kind}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------- formatting


def _to_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime:
    """Epoch seconds/milliseconds, ISO 8601 text or a datetime → an aware datetime in ``tz``."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value  # USGS times are epoch milliseconds
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=tz)
        parsed = dt.datetime.fromisoformat(text)
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    else:
        raise TypeError(f"not a time: {value!r}")
    return moment.astimezone(tz)


def _zone(name: str | None) -> dt.tzinfo:
    if name is None or name.upper() == "UTC":
        return dt.UTC
    offset = re.fullmatch(r"UTC([+-])(\d{1,2})(?::(\d{2}))?", name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        return dt.timezone(sign * delta, name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequestError(f"timezone {name!r} is not a known IANA zone (e.g. 'Asia/Taipei') or UTC±H") from exc


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _group(number: float, digits: int) -> str:
    return f"{number:,.{digits}f}"


@dataclass(frozen=True)
class _Formatter:
    """Locale-aware formatting for one language and zone."""

    language: str
    tz: dt.tzinfo
    now: dt.datetime

    @property
    def zh(self) -> bool:
        return self.language == "zh"

    def number(self, value: Any, digits: int | None = None) -> str:
        number = _num(value)
        if digits is None:
            digits = 0 if float(number).is_integer() else min(len(repr(float(number)).split(".")[1]), 2)
        return _group(number, digits)

    def percent(self, value: Any, digits: int = 2, signed: bool = False) -> str:
        return f"{self.signed(value, digits) if signed else _group(_num(value), digits)}%"

    def signed(self, value: Any, digits: int = 2) -> str:
        number = _num(value)
        return ("+" if number > 0 else "-" if number < 0 else "") + _group(abs(number), digits)

    def bignum(self, value: Any, scale: float = 1.0, digits: int = 1) -> str:
        number = _num(value) * scale
        if self.zh:
            for size, word in ((1e8, "亿"), (1e4, "万")):
                if abs(number) >= size:
                    return f"{_trim(number / size, digits)}{word}"
            return _trim(number, digits)
        for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
            if abs(number) >= size:
                return f"{_trim(number / size, digits)} {word}"
        return _group(number, 0 if float(number).is_integer() else digits)

    def unit(self, value: Any, unit: str, digits: int | None = None) -> str:
        if unit not in _UNITS:
            raise InvalidRequestError(f"unknown unit {unit!r} in template; known: {', '.join(_UNITS)}")
        en, joiner, zh = _UNITS[unit]
        text = self.number(value, digits)
        return f"{text}{zh}" if self.zh else f"{text}{joiner}{en}"

    def ordinal(self, value: Any) -> str:
        number = int(_num(value))
        if self.zh:
            return f"第{number}"
        suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
        return f"{number}{suffix}"

    def moment(self, value: Any, tz: Any = None) -> dt.datetime:
        zone = _zone(tz) if isinstance(tz, str) else tz if isinstance(tz, dt.tzinfo) else self.tz
        try:
            return _to_datetime(value, zone)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidRequestError(f"{value!r} is not a time (epoch seconds/ms or ISO 8601)") from exc

    def date(self, value: Any, tz: Any = None) -> str:
        m = self.moment(value, tz)
        if self.zh:
            return f"{m.year}年{m.month}月{m.day}日"
        return f"{_MONTHS[m.month - 1]} {m.day}, {m.year}"

    def weekday(self, value: Any, tz: Any = None) -> str:
        return _WEEKDAYS[self.language][self.moment(value, tz).weekday()]

    def time(self, value: Any, tz: Any = None) -> str:
        m = self.moment(value, tz)
        if self.zh:
            part = "凌晨" if m.hour < 6 else "上午" if m.hour < 12 else "中午" if m.hour < 13 else "下午"
            part = "晚上" if m.hour >= 18 else part
            hour = m.hour if m.hour <= 12 else m.hour - 12
            return f"{part}{hour}:{m.minute:02d}"
        hour = m.hour % 12 or 12
        return f"{hour}:{m.minute:02d} {'AM' if m.hour < 12 else 'PM'}"

    def datetime(self, value: Any, tz: Any = None) -> str:
        m = self.moment(value, tz)
        z = m.tzinfo
        if self.zh:
            return f"{self.date(m, z)}（{self.weekday(m, z)}）{self.time(m, z)}"
        return f"{self.weekday(m, z)}, {self.date(m, z)}, at {self.time(m, z)}"

    def tz_label(self, value: Any, tz: Any = None) -> str:
        m = self.moment(value, tz)
        name = m.tzname() or ""
        label = _offset_label(m)
        zone = str(getattr(m.tzinfo, "key", ""))
        home = _AMBIGUOUS_ZONE_NAMES.get(name)
        clear = home is None or zone.startswith(home)  # "PST" in Manila is not Pacific: offset only
        spoken_name = name.isalpha() and name not in ("UTC", "GMT") and clear and not self.zh  # zh voices skip Latin
        return f"{name}, {label}" if spoken_name else label

    def relative(self, value: Any, now: Any = None) -> str:
        then = self.moment(value)
        ref = self.moment(now) if now is not None else self.now
        seconds = (ref - then).total_seconds()
        future = seconds < 0
        seconds = abs(seconds)
        units = ((86400, "day", "天"), (3600, "hour", "小时"), (60, "minute", "分钟"))
        found = next(((size, en, zh) for size, en, zh in units if seconds >= size), None)
        if found is None:
            return "刚刚" if self.zh else "just now"
        size, en, zh = found
        count = round(seconds / size)
        if self.zh:
            return f"{count}{zh}{'后' if future else '前'}"
        word = en if count == 1 else f"{en}s"
        return f"in {count} {word}" if future else f"{count} {word} ago"

    def direction(self, value: Any, up: str = "", down: str = "", flat: str = "") -> str:
        number = _num(value)
        if self.zh:
            words = (up or "上涨", down or "下跌", flat or "持平")
        else:
            words = (up or "rose", down or "fell", flat or "was unchanged")
        return words[0] if number > 0 else words[1] if number < 0 else words[2]


#: Zone abbreviations that name different zones in different places, and the zones a listener takes them for.
_AMBIGUOUS_ZONE_NAMES = {
    "CST": "America/", "CDT": "America/", "PST": "America/", "PDT": "America/", "EST": "America/",
    "EDT": "America/", "AST": "America/", "ADT": "America/", "IST": "Asia/Kolkata", "BST": "Europe/London",
}  # fmt: skip


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"expected a number, got {value!r}")
    return value


def _trim(number: float, digits: int) -> str:
    text = f"{number:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def render_filters(language: str = "en", timezone: str | None = None, now: Any = None) -> dict[str, Callable[..., str]]:
    """The template filters for ``language`` and ``timezone``, usable outside templates too.

    Example:
        >>> f = render_filters("en", "Asia/Taipei")
        >>> f["datetime"](1764101234567), f["ordinal"](22), f["bignum"](3.4, 1e9)
        ('Wednesday, November 26, 2025, at 4:07 AM', '22nd', '3.4 billion')
        >>> z = render_filters("zh", "UTC+8")
        >>> z["datetime"](1764101234567), z["unit"](21.5, "km"), z["percent"](0.93, signed=True)
        ('2025年11月26日（星期三）凌晨4:07', '21.5公里', '+0.93%')
    """
    tz = _zone(timezone)
    formatter = _Formatter(
        language=_base_language(language), tz=tz, now=_to_datetime(now, tz) if now else dt.datetime.now(dt.UTC)
    )
    return {name: getattr(formatter, name) for name in _FILTER_NAMES}


_CJK_SPACE = re.compile(r"(?<=[。！？，；：、）」』”])\s+|\s+(?=[（「『“])")
_FILTER_NAMES = tuple(
    "number percent signed bignum unit ordinal date time datetime weekday relative tz_label direction".split()
)


def _context_filter(jinja2: Any, name: str) -> Callable[..., str]:
    def apply(ctx: Any, value: Any, *args: Any, **kwargs: Any) -> str:
        now = ctx.get("now")
        formatter = _Formatter(language=ctx.get("language", "en"), tz=ctx.get("_tz", dt.UTC), now=now)
        result: str = getattr(formatter, name)(value, *args, **kwargs)
        return result

    wrapped: Callable[..., str] = jinja2.pass_context(apply)
    return wrapped


def _base_language(language: str) -> str:
    base = primary_language(language)
    if base not in LANGUAGES:
        raise InvalidRequestError(f"language {language!r} is not supported by templates; use one of {LANGUAGES}")
    return base


# ---------------------------------------------------------------------------------------- data loading


def _context(data: Any, fmt: str) -> dict[str, Any]:
    if fmt == "csv" or isinstance(data, list):
        return {"data": data, "rows": data}
    if fmt != "geojson":
        return {"data": data}
    if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
        raise InvalidRequestError("data field 'features' is missing: GeoJSON data must be a FeatureCollection")
    features = []
    for i, feature in enumerate(data["features"]):
        where = f"features[{i}]"
        if not isinstance(feature, Mapping) or not isinstance(feature.get("properties"), Mapping):
            raise InvalidRequestError(f"data field '{where}.properties' is missing")
        record = dict(feature["properties"])
        record["_where"] = f"{where}.properties"
        record["_index"] = i
        record["id"] = feature.get("id")
        geometry = feature.get("geometry")
        coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if isinstance(coords, list) and len(coords) >= 2:
            for j, value in enumerate(coords[:3]):
                if not _kind_ok(value, "number"):
                    raise InvalidRequestError(f"data field '{where}.geometry.coordinates[{j}]' must be a number")
            record["longitude"], record["latitude"] = coords[0], coords[1]
            record["depth_km"] = coords[2] if len(coords) > 2 else None
        features.append(record)
    feed = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
    return {"data": data, "features": features, "feed": feed}


# ---------------------------------------------------------------------------------------- generator


@dataclass(frozen=True)
class _Job:
    request: TemplateRequest
    template: Any
    context: dict[str, Any]
    language: str
    source: str
    plan: StoryPlan
    notes: dict[str, Any]


class TemplateTextGenerator(BaseGenerator[TemplateRequest, StoryResult]):
    """Stories from data with sandboxed Jinja2 templates, in English or Chinese.

    The spec's source is the folder of built-in template folders; a request names one
    of them, or gives a path to a template folder of its own (``<lang>.j2`` files and an
    optional ``story.toml``) or to a single template file (then the plan is the default).
    Every result carries its story's plan (``StoryResult.plan``).

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> writer = ModelRegistry().create("news-templates")
        >>> story = writer(template="usgs-earthquakes", data="examples/data/usgs_significant_week.geojson", seed=1)
        >>> story.headline
        'Magnitude 6.4 earthquake strikes 38 km ESE of Hualien City, Taiwan'
        >>> story.plan.kicker_for("en"), story.plan.mood, story.plan.locations.count
        ('EARTHQUAKE', 'urgent', 2)
    """

    request_type: ClassVar[type[TemplateRequest]] = TemplateRequest
    distributions: ClassVar[tuple[str, ...]] = ("jinja2",)
    known_options: ClassVar[tuple[str, ...] | None] = ()

    def _load(self) -> None:
        jinja2 = require("jinja2", extra="text", feature="data-to-text templates")
        sandbox = require("jinja2.sandbox", extra="text", feature="data-to-text templates")
        self._folder = resolve_weights(self.spec)
        if not self._folder.is_dir():
            raise ModelLoadError(f"{self.spec.id}: template source {self._folder} is not a folder")
        undefined = _undefined_class(jinja2)
        self._env = sandbox.ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(self._folder)),
            undefined=undefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        for name in _FILTER_NAMES:
            self._env.filters[name] = _context_filter(jinja2, name)
        self._jinja_errors = (jinja2.TemplateError,)

    def _preprocess(self, requests: list[TemplateRequest]) -> list[_Job]:
        jobs = []
        for request in requests:
            language = _base_language(request.language)
            template, source, plan = self._template(request.template, language)
            loaded = load_story_data(
                request.data,
                data_format=request.data_format,
                field_map=request.field_map,
                plan=plan.data,
                name=request.name,
                template=request.template,
            )
            tz = _zone(request.timezone)
            context = _context(loaded.data, loaded.format)
            left_out = _tell_only(context, plan)
            data_now = None if request.now else _data_now(context)
            now = request.now or data_now or dt.datetime.now(dt.UTC)
            # "11 hours ago" counts from the feed's own time only while the feed is fresh: a clip made from an
            # old feed file would say it about an event of last year. A template says relative times if `fresh`.
            fresh = request.relative_times if request.relative_times is not None else _fresh(data_now)
            seeded = random.Random(request.seed)
            context.update(
                language=language,
                timezone=request.timezone,
                name=request.name,
                now=now,
                fresh=fresh,
                seed=request.seed,
                need=need,
                pick=lambda *options, _r=seeded: options[_r.randrange(len(options))] if options else "",
                pct_change=_pct_change,
                zone_for=functools.partial(_zone_for, request.timezone),
                place_phrase=place_phrase,
                about=_about,
                _tz=tz,
            )
            ranked = _ranked(context, plan)
            context.update(ranked=ranked, covered=len(ranked))
            told_from = request.now or data_now  # None: the clock's (not recorded: it would differ run to run)
            notes = {**loaded.notes, "now": told_from and told_from.isoformat(), "relative_times": fresh}
            if left_out:
                notes["left_out"] = left_out
            jobs.append(_Job(request, template, context, language, source, plan, notes))
        return jobs

    def _forward(self, inputs: list[_Job]) -> list[tuple[str, StoryPlan, list[Any], dict[str, Any]]]:
        texts = []
        for job in inputs:
            try:
                texts.append((_fitted(job), job.plan, job.context["ranked"], job.notes))
            except InvalidRequestError:
                raise
            except self._jinja_errors as exc:
                raise InvalidRequestError(f"template {job.source} failed: {exc}") from exc
        return texts

    def _postprocess(
        self, outputs: list[tuple[str, StoryPlan, list[Any], dict[str, Any]]], requests: list[TemplateRequest]
    ) -> list[StoryResult]:
        results = []
        for (text, plan, ranked, notes), request in zip(outputs, requests, strict=True):
            headline, marked = _split_story(text, request.template)
            language = _base_language(request.language)
            records = {r.get("_index"): r for r in ranked if isinstance(r, Mapping)}
            subjects = tuple(_subject(p, records) for p in marked)
            paragraphs = tuple(spoken_form(_unmark(p), language) for p in marked)  # the words the voice says
            if language == "zh":
                paragraphs = tuple(_CJK_SPACE.sub("", p) for p in paragraphs)
            results.append(
                StoryResult(
                    headline=headline,
                    paragraphs=paragraphs,
                    language=language,
                    plan=plan,
                    subjects=subjects if any(s.record is not None for s in subjects) else (),
                    provenance=self.provenance(request, template=request.template, generator="template", **notes),
                )
            )
        return results

    def _to(self, device: str) -> None:
        """Templates run on the CPU wherever the generator is placed."""

    def _template(self, name: str, language: str) -> tuple[Any, str, StoryPlan]:
        """The compiled template, where it came from, and its story's plan."""
        jinja2 = require("jinja2", extra="text", feature="data-to-text templates")
        if re.fullmatch(r"[a-z0-9-]+", name):
            return self._builtin(name, language, jinja2)
        path = Path(name).expanduser()
        if path.is_dir():
            plan = read_story_plan(path)
            languages = _languages(path)
            if language not in languages:
                raise InvalidRequestError(
                    f"template folder {path} has no {language}.j2",
                    hint=f"its languages: {', '.join(languages) or 'none (add <lang>.j2 files)'}",
                )
            path = path / f"{language}.j2"
        elif path.is_file():
            plan = StoryPlan(template=path.stem[:200])
        else:
            raise InvalidRequestError(f"template {name!r} is neither a built-in name nor an existing file or folder")
        try:
            return self._env.from_string(path.read_text(encoding="utf-8")), str(path), plan
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidRequestError(f"cannot read template {path}: {exc}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise InvalidRequestError(f"template {path} line {exc.lineno}: {exc.message}") from exc

    def _builtin(self, name: str, language: str, jinja2: Any) -> tuple[Any, str, StoryPlan]:
        known = builtin_names(self._folder)
        if name not in known:
            raise InvalidRequestError(
                f"no built-in template {name!r}", hint=f"built-in: {', '.join(sorted(known))}; or give a path"
            )
        file = f"{name}/{language}.j2"
        if not (self._folder / file).is_file():
            raise InvalidRequestError(
                f"template {name!r} has no {language!r} version",
                hint=f"its languages: {', '.join(_languages(self._folder / name))}",
            )
        try:
            plan = read_story_plan(self._folder / name, name)
            return self._env.get_template(file), file, plan
        except InvalidRequestError as exc:
            raise ModelLoadError(f"built-in template {name!r} has a broken plan: {exc.message}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ModelLoadError(f"built-in template {file} is broken: {exc}") from exc


def _undefined_class(jinja2: Any) -> type[Any]:
    class _MissingField(jinja2.StrictUndefined):  # type: ignore[misc]
        """Any use of a missing value raises InvalidRequestError naming the field."""

        _undefined_exception = InvalidRequestError

        @property
        def _undefined_message(self) -> str:
            owner = self._undefined_obj
            name = self._undefined_name
            if isinstance(owner, Mapping) and name is not None:
                return f"data field {_where(owner, str(name))!r} is missing"
            if name is not None:
                return f"template variable or data field {name!r} is missing"
            return f"template used a missing value: {self._undefined_hint or 'undefined'}"

    return _MissingField


def relative_times_hold(data: Path | dict[str, Any] | list[Any], data_format: str | None = None) -> bool:
    """Whether a story of ``data`` may say relative times ("11 hours ago").

    It may when the data has no ``generated`` time of its own (they count from the clock), or when that
    time is within :data:`FRESH_FEED` of this machine's clock.

    A pipeline decides this once and passes it as ``TemplateRequest.relative_times``, so its stage cache
    makes the story again when the feed goes stale.

    Example:
        >>> relative_times_hold({"metadata": {"generated": 1764140400000}, "features": []}, "geojson")
        False
        >>> relative_times_hold([{"date": "2026-11-25", "close": 4189.77}])
        True
    """
    parsed, fmt = read_data(data, data_format)
    return _fresh(_data_now(_context(parsed, fmt)))


def _fresh(data_now: dt.datetime | None) -> bool:
    return data_now is None or abs(dt.datetime.now(dt.UTC) - data_now) <= FRESH_FEED


def _data_now(context: Mapping[str, Any]) -> dt.datetime | None:
    generated = context.get("feed", {}).get("generated") if isinstance(context.get("feed"), Mapping) else None
    if generated is None:
        return None
    try:
        return _to_datetime(generated, dt.UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidRequestError(f"data field 'metadata.generated' is not a time: {generated!r}") from exc


def _pct_change(old: Any, new: Any) -> float:
    base, value = _num(old), _num(new)
    if base == 0:
        raise InvalidRequestError("cannot compute a percent change from zero")
    return (value - base) / abs(base) * 100.0


def _zone_for(timezone: str | None, record: Any) -> str:
    """The zone a feed event's times are told in: the request's, else the event's own (see ``places``)."""
    if timezone:
        return timezone
    place = need(record, "place", "text", "")
    return zone_for_event(float(need(record, "longitude", "number")), float(need(record, "latitude", "number")), place)


# ---------------------------------------------------------------------------------------- round-ups

_MARK = "\ue000"  # about(record) leaves <MARK>index<MARK> in a paragraph: the record it narrates


def _about(record: Any) -> str:
    """Mark the paragraph this is called in as narrating ``record`` (a GeoJSON feature or a row); prints nothing."""
    index = record.get("_index") if isinstance(record, Mapping) else None
    if not isinstance(index, int):
        raise InvalidRequestError("about() takes a record of the data (a GeoJSON feature or a CSV row)")
    return f"{_MARK}{index}{_MARK}"


def _unmark(paragraph: str) -> str:
    return " ".join(re.sub(f"{_MARK}\\d+{_MARK}", "", paragraph).split())


def _subject(paragraph: str, records: Mapping[Any, Mapping[str, Any]]) -> ParagraphSubject:
    found = re.search(f"{_MARK}(\\d+){_MARK}", paragraph)
    if found is None:
        return ParagraphSubject()
    record = records.get(int(found.group(1)), {})
    title = next((record[k] for k in ("place", "title", "name") if isinstance(record.get(k), str)), None)
    ident = record.get("id")
    return ParagraphSubject(record=int(found.group(1)), id=str(ident) if ident is not None else None, title=title)


def _tell_only(context: dict[str, Any], plan: StoryPlan) -> dict[str, int]:
    """Keep in ``context`` the records the plan tells; how many were left out, by reason (``{"type quarry blast": 3}``).

    Every record keeps its index in the feed (``_index``) first, so a paragraph's subject still names its feature.
    """
    key = "features" if "features" in context else "rows"
    records = context.get(key)
    if not isinstance(records, list):
        return {}
    for index, record in enumerate(records):
        if isinstance(record, dict):
            record.setdefault("_index", index)
    if plan.records is None:
        return {}
    reasons = [(record, plan.records.left_out(record)) for record in records]
    context[key] = [record for record, reason in reasons if reason is None]
    return dict(collections.Counter(reason for _, reason in reasons if reason is not None).most_common())


def _ranked(context: Mapping[str, Any], plan: StoryPlan) -> list[Any]:
    """The records, ranked by the story's plan (the feed's order when it declares no ranking)."""
    records = list(context.get("features") or context.get("rows") or [])
    if plan.ranking is None:
        return records
    return [records[i] for i in plan.ranking.order(records)]


def _fitted(job: _Job) -> str:
    """The story covering the number of ranked records whose told length is nearest the request's target."""
    records, target = job.context["ranked"], job.request.target_seconds
    if target is None or len(records) <= 1:
        return str(job.template.render(**job.context))
    best, best_miss = "", math.inf
    for covered in range(1, len(records) + 1):
        text = str(job.template.render(**{**job.context, "covered": covered}))
        seconds = speaking_seconds(spoken_form(_unmark(text), job.language), job.language)
        if abs(seconds - target) < best_miss:
            best, best_miss = text, abs(seconds - target)
        if seconds > target:
            break
    return best


def _split_story(text: str, template: str) -> tuple[str, tuple[str, ...]]:
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", text.strip())]
    blocks = [b for b in blocks if b]
    if not blocks:
        raise InvalidRequestError(f"template {template!r} rendered no text")
    first, *rest = blocks
    lines = [line.strip() for line in text.strip().splitlines()]
    headline = lines[0].lstrip("#").strip()
    remainder = first[len(" ".join(lines[0].split())) :].strip()
    paragraphs = ([remainder] if remainder else []) + rest
    if not headline or not paragraphs:
        raise InvalidRequestError(f"template {template!r} must render a headline line and at least one paragraph")
    return headline, tuple(paragraphs)
