"""TemplateTextGenerator renders the shared sample inputs to the right facts, in English and Chinese."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.text.template import (
    FRESH_FEED,
    TemplateTextGenerator,
    builtin_templates,
    feed_templates,
    need,
    read_story_plan,
    relative_times_hold,
    render_filters,
    story_plan,
    template_for_feed,
)
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import ChartPlan, LocationPlan, StoryPlan, StoryResult, TemplateRequest
from tests.support import require_module

require_module("jinja2")

TEMPLATES = Path(__file__).resolve().parents[3] / "aigc_sdk" / "generators" / "text" / "templates"


@pytest.fixture(scope="module")
def writer() -> TemplateTextGenerator:
    return ModelRegistry().create("news-templates")  # type: ignore[no-any-return]


def test_builtin_templates_exist_in_both_languages() -> None:
    assert builtin_templates() == {
        "market-close": ("en", "zh"),
        "sports-result": ("en", "zh"),
        "usgs-earthquakes": ("en", "zh"),
        "weather-summary": ("en", "zh"),
    }


def test_usgs_feed_english(writer: TemplateTextGenerator, data_dir: Path) -> None:
    story = writer(template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", seed=1)
    assert isinstance(story, StoryResult)
    assert story.headline == "Magnitude 6.4 earthquake strikes 38 km ESE of Hualien City, Taiwan"
    lead = story.paragraphs[0]
    # 1764101234567 ms = 2025-11-25 20:07:14 UTC = 04:07 on Wednesday 26 Nov in Hualien (Asia/Taipei, UTC+8);
    # the paragraphs are in spoken form (issue 14): no "km ESE", no "UTC+8"
    assert "struck 38 kilometres east-southeast of Hualien City, Taiwan, at 4:07 AM" in lead
    assert "4:07 AM local time (UTC plus eight) on Wednesday, November 26, 2025" in lead
    assert "21.5 kilometres" in lead
    assert "ago" not in lead  # the feed file is a year old: no "11 hours ago" in a clip made today
    assert "Taiwan, at 4:07 AM local time (UTC plus eight) on Wednesday, November 26, 2025, the U.S." in lead
    assert "did not flag a tsunami" in story.paragraphs[1]
    assert "PAGER alert level is yellow" in story.paragraphs[1]
    assert "412" in story.paragraphs[1]
    second = story.paragraphs[2]
    assert second.startswith("Separately, a magnitude 4.7 earthquake struck 12 kilometres north-northwest of")
    assert "Ridgecrest, California, at 4 AM local time (PST, UTC minus eight) on November 25, at a depth" in second
    assert "8.2 kilometres" in second
    assert [s.id for s in story.subjects] == ["us7000q1ab", "us7000q1ab", "ci40912345"]
    assert story.provenance.extra["template"] == "usgs-earthquakes"
    assert story.provenance.model_id == "news-templates"


def test_relative_times_only_while_the_feed_is_fresh(
    writer: TemplateTextGenerator, data_dir: Path, tmp_path: Path
) -> None:
    """The feed's own `generated` time counts for "N hours ago" only while it is within FRESH_FEED of the clock."""
    feed = json.loads((data_dir / "usgs_significant_week.geojson").read_text())
    told = {}
    for name, generated in {
        "fresh": dt.datetime.now(dt.UTC),
        "stale": dt.datetime.now(dt.UTC) - FRESH_FEED * 2,
    }.items():
        moved = json.loads(json.dumps(feed))
        shift = int(generated.timestamp() * 1000) - feed["metadata"]["generated"]  # the feed as fetched then
        moved["metadata"]["generated"] += shift
        for feature in moved["features"]:
            feature["properties"]["time"] += shift  # the top quake stays 11 hours before the feed's time
        path = tmp_path / f"{name}.geojson"
        path.write_text(json.dumps(moved))
        told[name] = writer(template="usgs-earthquakes", data=path, seed=1)
    assert ", 11 hours ago, the U.S. Geological Survey reported." in told["fresh"].paragraphs[0]
    assert "ago" not in told["stale"].paragraphs[0]
    assert told["fresh"].provenance.extra["relative_times"] is True
    assert told["stale"].provenance.extra["relative_times"] is False
    # a caller who gives `now` vouches for it: relative times count from it, however old the feed
    given = writer(
        template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", seed=1,
        now=dt.datetime(2025, 11, 26, 7, 0, tzinfo=dt.UTC), language="zh",
    )  # fmt: skip
    assert "地震发生于11小时前。" in given.paragraphs[0]
    # a pipeline decides once (relative_times_hold) and says so: the request's choice wins either way
    old = data_dir / "usgs_significant_week.geojson"
    assert relative_times_hold(old) is False and relative_times_hold(tmp_path / "fresh.geojson") is True
    forced = writer(template="usgs-earthquakes", data=old, seed=1, relative_times=True)
    assert ", 11 hours ago, the U.S." in forced.paragraphs[0]
    withheld = writer(template="usgs-earthquakes", data=tmp_path / "fresh.geojson", seed=1, relative_times=False)
    assert "ago" not in withheld.paragraphs[0]


def test_usgs_feed_chinese_and_explicit_timezone(writer: TemplateTextGenerator, data_dir: Path) -> None:
    story = writer(template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", language="zh", seed=1)
    assert story.headline == "38 km ESE of Hualien City, Taiwan发生6.4级地震"
    assert "当地时间（协调世界时加8小时）2025年11月26日（星期三）凌晨4:07" in story.paragraphs[0]
    assert "台湾Hualien City东南偏东方向38公里处发生6.4级地震" in story.paragraphs[0]
    assert "震源深度21.5公里" in story.paragraphs[0]
    assert story.paragraphs[0].endswith("震源深度21.5公里。")  # no "地震发生于11小时前。" from an old file
    assert "PAGER警报级别为黄色" in story.paragraphs[1]
    assert "4.7级地震" in story.paragraphs[2] and "震源深度8.2公里" in story.paragraphs[2]
    assert " " not in story.paragraphs[1]  # no Latin spaces between Chinese sentences
    taipei = writer(
        template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", timezone="Asia/Taipei", seed=1
    )
    assert "4:07 AM local time (UTC plus eight)" in taipei.paragraphs[0]


def test_market_close_english_and_chinese(writer: TemplateTextGenerator, data_dir: Path) -> None:
    en = writer(template="market-close", data=data_dir / "market_close.csv", seed=1)
    assert en.headline == "Composite rises 0.93% to close at 4,189.77"
    assert "on Wednesday, November 25, 2026" in en.paragraphs[0]
    assert "3.4 billion" in en.paragraphs[0]
    # (4189.77 / 4128.55 - 1) * 100 = 1.483 %
    assert "gained 1.48 percent from 4,128.55" in en.paragraphs[1]
    assert "2nd gain in a row" in en.paragraphs[1]
    zh = writer(template="market-close", data=data_dir / "market_close.csv", language="zh", seed=1)
    assert zh.headline == "Composite指数涨0.93%，收于4,189.77点"
    assert "2026年11月25日（星期三）" in zh.paragraphs[0] and "成交额为34亿" in zh.paragraphs[0]
    assert "累计上涨百分之1.48" in zh.paragraphs[1] and "连续2个交易日上涨" in zh.paragraphs[1]


def test_sports_and_weather_examples(writer: TemplateTextGenerator) -> None:
    sports = writer(template="sports-result", data=TEMPLATES / "sports-result" / "example.json", seed=2)
    assert "Harbor City" in sports.headline and "3–1" in sports.headline
    assert "41,235" in sports.paragraphs[0]
    assert "M. Alvarez (12th minute)" in sports.paragraphs[1]
    zh = writer(template="sports-result", data=TEMPLATES / "sports-result" / "example.json", language="zh", seed=2)
    assert zh.headline == "Harbour League：海港城3比1击败河畔流浪者"
    weather = writer(template="weather-summary", data=TEMPLATES / "weather-summary" / "example.json", seed=1)
    assert weather.headline == "Hong Kong: Rain, high of 21°C"
    assert "6 AM on Thursday, November 26, 2026" in weather.paragraphs[0]
    issued = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)  # the example's day: "today" then, its date later
    example = TEMPLATES / "weather-summary" / "example.json"
    wzh = writer(template="weather-summary", data=example, language="zh", seed=1, now=issued)
    assert wzh.headline == "香港今天有雨，最高气温21摄氏度"
    later = writer(template="weather-summary", data=example, language="zh", seed=1)
    assert later.headline == "香港2026年11月26日有雨，最高气温21摄氏度"


def test_inline_data_user_template_and_batch(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    template = tmp_path / "council.j2"
    template.write_text(
        "# {{ need(data, 'body', 'text') }} votes {{ data.yes }}–{{ data.no }}\n\n"
        "The vote came {{ data.when | relative }} ({{ data.when | datetime }}).\n"
    )
    request = TemplateRequest(
        template=str(template),
        data={"body": "Council", "yes": 7, "no": 2, "when": "2026-11-24T18:00:00+00:00"},
        now="2026-11-24T21:00:00+00:00",
        seed=1,
    )
    alone = writer(request)
    assert alone.headline == "Council votes 7–2"
    assert alone.paragraphs == ("The vote came 3 hours ago (Tuesday, November 24, 2026, at 6 PM).",)
    results = writer.batch([request, request.model_copy(update={"language": "zh"})])
    assert results[0].text == alone.text
    assert results[1].paragraphs[0].startswith("The vote came 3小时前")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["features"][0]["properties"].pop("place"), "features[0].properties.place"),  # (no mag: left out)
        (lambda d: d["features"][1]["properties"].update(mag="strong"), "features[1].properties.mag"),
        (lambda d: d["features"][0]["properties"].update(time="yesterday"), "features[0].properties.time"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[121.9, "x", 3]), "coordinates[1]"),
        (lambda d: d.pop("features"), "features"),
    ],
)
def test_missing_or_malformed_fields_name_the_field(
    writer: TemplateTextGenerator, data_dir: Path, mutate: object, field: str
) -> None:
    data = json.loads((data_dir / "usgs_significant_week.geojson").read_text())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidRequestError, match=field.replace("[", r"\[").replace("]", r"\]")):
        writer(template="usgs-earthquakes", data=data, data_format="geojson", seed=1)


def test_bad_csv_and_bad_requests(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("date,index,close,change_pct\n2026-11-25,Composite,abc,0.5\n")
    with pytest.raises(InvalidRequestError, match=r"'row 2\.close' must be a number"):
        writer(template="market-close", data=csv_file)
    csv_file.write_text("date,index,change_pct\n2026-11-25,Composite,0.5\n")
    with pytest.raises(InvalidRequestError, match=r"'row 2\.close' is missing"):
        writer(template="market-close", data=csv_file)
    with pytest.raises(InvalidRequestError, match="no built-in template 'nope'"):
        writer(template="nope", data={})
    with pytest.raises(InvalidRequestError, match="not supported"):
        writer(template="market-close", data=csv_file, language="fr")
    with pytest.raises(InvalidRequestError, match="timezone"):
        writer(template="market-close", data=csv_file, timezone="Mars/Olympus")
    user = tmp_path / "u.j2"
    user.write_text("Headline {{ data.missing }}\n\nBody.")
    with pytest.raises(InvalidRequestError, match="'missing' is missing"):
        writer(template=str(user), data={"present": 1})
    user.write_text("{% for %}")
    with pytest.raises(InvalidRequestError, match="line 1"):
        writer(template=str(user), data={})


def test_sandbox_blocks_attribute_escapes(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    user = tmp_path / "evil.j2"
    user.write_text("{{ data.__class__.__mro__[1].__subclasses__() }}\n\nx")
    with pytest.raises(InvalidRequestError):
        writer(template=str(user), data={})


def test_filters_and_need() -> None:
    en, zh = render_filters("en"), render_filters("zh")
    assert [en["ordinal"](n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip
    assert zh["ordinal"](3) == "第3"
    assert en["bignum"](2_300_000) == "2.3 million" and zh["bignum"](2_300_000) == "230万"
    assert en["unit"](12.5, "kmh") == "12.5 km/h" and zh["unit"](12.5, "kmh") == "12.5公里/小时"
    assert en["percent"](-0.42, signed=True) == "-0.42%" and en["signed"](3) == "+3.00"
    assert en["relative"]("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z") == "2 days ago"
    assert en["relative"]("2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z") == "in 2 days"
    assert zh["relative"]("2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z") == "2天后"
    assert render_filters("en", "America/New_York")["tz_label"]("2026-07-01T12:00:00Z") == "EDT, UTC-4"
    assert render_filters("zh", "UTC+5:30")["time"]("2026-07-01T12:00:00Z") == "下午5:30"
    with pytest.raises(InvalidRequestError, match=r"'x\.y' is missing"):
        need({"x": {}}, "x.y")
    assert need({"x": None}, "x", "number", default=0) == 0


def test_each_template_declares_its_story_plan(writer: TemplateTextGenerator, data_dir: Path) -> None:
    # what news_clip.py hard-coded (_KICKERS, _MOODS, the chart, the quake map cards, FEED_TEMPLATES)
    quake = story_plan("usgs-earthquakes")
    assert (quake.kicker_for("en"), quake.kicker_for("zh"), quake.mood) == ("EARTHQUAKE", "地震", "urgent")
    assert quake.locations == LocationPlan(rank_by="mag", count=2) and quake.chart is None
    market = story_plan("market-close")
    assert (market.kicker_for("en"), market.kicker_for("zh"), market.mood) == ("MARKETS", "财经", "upbeat")
    assert market.chart == ChartPlan(kind="line", x="date", y="close", line=1) and market.locations is None
    weather = story_plan("weather-summary")
    assert (weather.kicker_for("en"), weather.kicker_for("zh"), weather.mood) == ("WEATHER", "天气", "calm")
    sports = story_plan("sports-result")
    assert (sports.kicker_for("en"), sports.kicker_for("zh"), sports.mood) == ("NEWS", "新闻", "upbeat")
    assert feed_templates() == {".csv": "market-close", ".geojson": "usgs-earthquakes"}
    assert template_for_feed(data_dir / "market_close.csv") == "market-close"
    with pytest.raises(InvalidRequestError, match=r"\.json feeds"):
        template_for_feed("feed.json")
    with pytest.raises(InvalidRequestError, match="no built-in template 'nope'"):
        story_plan("nope")
    # the plan travels on the result
    story = writer(template="market-close", data=data_dir / "market_close.csv", seed=1)
    assert story.plan == market and story.plan.template == "market-close"
    quake_story = writer(template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", seed=1)
    data = json.loads((data_dir / "usgs_significant_week.geojson").read_text())
    biggest = quake_story.plan.locations.features(data)  # type: ignore[union-attr]
    assert [f["properties"]["mag"] for f in biggest] == sorted(
        (f["properties"]["mag"] for f in data["features"] if f["geometry"]["type"] == "Point"), reverse=True
    )[:2]


def test_a_new_story_type_is_one_folder(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    folder = tmp_path / "flood-warning"
    folder.mkdir()
    (folder / "en.j2").write_text(
        "# Flood warning for {{ need(data, 'river', 'text') }}\n\nStay away from the banks.\n"
    )
    (folder / "story.toml").write_text('mood = "urgent"\n[kicker]\nen = "FLOOD"\nzh = "洪水"\n')
    story = writer(template=str(folder), data={"river": "Avon"}, seed=1)
    assert story.headline == "Flood warning for Avon"
    assert story.plan == StoryPlan(template="flood-warning", kicker={"en": "FLOOD", "zh": "洪水"}, mood="urgent")
    with pytest.raises(InvalidRequestError, match=r"has no zh\.j2"):
        writer(template=str(folder), data={"river": "Avon"}, language="zh")
    single = folder / "en.j2"
    assert writer(template=str(single), data={"river": "Avon"}).plan == StoryPlan(template="en")
    # a plan that names nothing is refused, naming the file
    (folder / "story.toml").write_text('mood = "urgent"\nmap = true\n')
    with pytest.raises(InvalidRequestError, match=r"story\.toml.*map"):
        read_story_plan(folder)
    (folder / "story.toml").write_text("[kicker]\nxx = 'NEWS'\n")
    with pytest.raises(InvalidRequestError, match="unknown language 'xx'"):
        writer(template=str(folder), data={"river": "Avon"})
    (folder / "story.toml").write_text('feeds = ["csv"]\n')
    with pytest.raises(InvalidRequestError, match="feeds"):
        read_story_plan(folder)


def test_a_busy_feed_leads_with_impact_and_fits_its_length(writer: TemplateTextGenerator, data_dir: Path) -> None:
    feed = data_dir / "usgs_significant_month.geojson"
    data = json.loads(feed.read_text())
    story = writer(template="usgs-earthquakes", data=feed, seed=1, target_seconds=60)
    ids = [f["id"] for f in data["features"]]
    covered = list(dict.fromkeys(s.id for s in story.subjects if s.id is not None))
    # the red-alert sequence leads (largest sig first), not the M7.4 green-alert quake
    assert covered[0] == "us6000lbyq" and "Its PAGER alert level is red" in story.paragraphs[1]
    assert story.headline == "Magnitude 6.3 earthquake strikes 40 km NNW of Herāt, Afghanistan"
    assert "us7000ktaz" not in covered
    assert (
        story.paragraphs[-1]
        == f"The report also lists {len(ids) - len(covered)} other earthquakes, of magnitude 4.8 to 7.4."
    )
    assert story.subjects[-1].record is None
    # every paragraph is made of proper sentences; places without a distance read naturally; no "None"
    for paragraph in story.paragraphs:
        assert paragraph[0].isupper() and "None" not in paragraph and " km " not in paragraph
    longer = writer(template="usgs-earthquakes", data=feed, seed=1, target_seconds=120)
    told = " ".join(longer.paragraphs)
    assert "struck western Afghanistan at" in told and "Its PAGER alert level is also red." in told
    assert len({s.id for s in longer.subjects}) > len({s.id for s in story.subjects})
    everything = writer(template="usgs-earthquakes", data=feed, seed=1)  # no target: every event
    assert len({s.id for s in everything.subjects if s.id}) == len(ids)
    assert "struck the Poland-Slovakia border region at" in " ".join(everything.paragraphs)
    assert "Vanuatu" in " ".join(everything.paragraphs) and "None" not in everything.text


def _event(ident: str, kind: str, mag: float | None, place: str, depth: float, minute: int) -> dict[str, object]:
    """A feature as a USGS "all earthquakes" feed lists it (ml magnitudes, two-decimal depths, no alert)."""
    props = {
        "mag": mag,
        "place": place,
        "time": 1764140400000 - minute * 60_000,
        "tz": None,
        "felt": None,
        "alert": None,
        "status": "automatic",
        "tsunami": 0,
        "sig": round(max(mag or 0, 0) ** 2 * 10),
        "net": "ci",
        "magType": "ml" if mag is not None else None,
        "type": kind,
        "title": f"M {mag} - {place}",
    }
    point = {"type": "Point", "coordinates": [-117.42, 34.01, depth]}
    return {"type": "Feature", "properties": props, "geometry": point, "id": ident}


def test_an_all_earthquakes_feed_tells_earthquakes_only(writer: TemplateTextGenerator) -> None:
    """all_day.geojson as it comes: blasts and ice quakes beside quakes, a new event without a magnitude yet."""
    features = [
        _event("ci1", "quarry blast", 3.4, "6 km SE of Home Gardens, CA", -0.5, 5),  # the largest: must not lead
        _event("ci2", "earthquake", 2.9, "10 km NW of The Geysers, CA", 7.06, 20),
        _event("ci3", "earthquake", None, "3 km WSW of Cobb, CA", 1.2, 1),  # just in: no magnitude yet
        _event("ci4", "earthquake", 1.4, "5 km S of Volcano, Hawaii", -1.23, 40),  # above sea level
        _event("ci5", "ice quake", 2.1, "Southern Alaska", 0.0, 50),
        _event("ci6", "explosion", 1.8, "12 km E of Ridgecrest, CA", 0.0, 60),
        _event("ci7", "earthquake", -0.4, "Puerto Rico region", 12.0, 70),
    ]
    feed = {"type": "FeatureCollection", "features": features,
            "metadata": {"generated": 1764140400000, "title": "USGS All Earthquakes, Past Day"}}  # fmt: skip
    story = writer(template="usgs-earthquakes", data=feed, seed=1, language="en")
    told = story.text
    assert story.headline == "Magnitude 2.9 earthquake strikes 10 km NW of The Geysers, CA"
    for gone in ("Home Gardens", "Cobb", "Alaska", "Ridgecrest", "blast", "None"):
        assert gone not in told
    assert "at a depth of 7.1 kilometres" in told  # 7.06 km said to 0.1 km
    assert "struck 5 kilometres south of Volcano, Hawaii" in told and "near the surface" in told  # -1.23 km
    assert "minus 0.4" in told  # USGS magnitudes can be negative: said as such
    assert story.provenance.extra["left_out"] == {
        "type quarry blast": 1, "no mag": 1, "type ice quake": 1, "type explosion": 1,
    }  # fmt: skip
    assert list(dict.fromkeys(s.id for s in story.subjects)) == ["ci2", "ci4", "ci7"]  # ranked; maps of quakes only
    assert story.subjects[0].record == 1  # the feature's index in the feed, so its card maps the right point
    short = writer(template="usgs-earthquakes", data=feed, seed=1, target_seconds=20)
    assert short.paragraphs[-1] == "The report also lists 2 other earthquakes, of magnitude minus 0.4 to 1.4."
    zh = writer(template="usgs-earthquakes", data=feed, seed=1, language="zh")
    assert "震源很浅，接近地表" in zh.text and "震源深度7.1公里" in zh.text and "Home Gardens" not in zh.text
    # nothing left to tell: said so, without claiming the feed listed nothing
    blasts = {**feed, "features": [features[0], features[4]]}
    empty = writer(template="usgs-earthquakes", data=blasts, seed=1)
    assert empty.headline == "No earthquakes in this USGS feed"
    assert empty.text.endswith("The U.S. Geological Survey listed no earthquakes with a magnitude in this report.")
    nothing = writer(template="usgs-earthquakes", data={"type": "FeatureCollection", "features": []}, seed=1)
    assert nothing.headline == "No significant earthquakes in this USGS feed"


def test_spoken_form_reads_as_said() -> None:
    from aigc_sdk.generators.text.spoken import spoken_form

    cases = {
        "M 6.4 - 38 km ESE of Hualien City": "magnitude 6.4 - 38 kilometres east-southeast of Hualien City",
        "12 km NNW of Ridgecrest, CA": "12 kilometres north-northwest of Ridgecrest, California",
        "at 14:05 (UTC+8), 1 km N of X": "at 2:05 PM (UTC plus eight), 1 kilometre north of X",
        "UTC+5:45 and UTC-3": "UTC plus five forty-five and UTC minus three",
        "rose 0.93% to 4,189.77; fell -0.42%": "rose 0.93 percent to 4,189.77; fell minus 0.42 percent",
        "Dr. Lee of Elm St. met St. John on Nov. 5": "Doctor Lee of Elm Street met Saint John on November 5",
        "21°C, wind 30 km/h, rain 4 mm": "21 degrees Celsius, wind 30 kilometres per hour, rain 4 millimetres",
        "won 3–1 at 4:00 PM": "won 3 to 1 at 4 PM",
        "gusts of up to 77 mph (124 kph)": "gusts of up to 77 miles per hour (124 kilometres per hour)",
    }
    for written, said in cases.items():
        assert spoken_form(written, "en") == said
        assert spoken_form(said, "en") == said  # idempotent
    assert spoken_form("12 km NNW of Ridgecrest, CA发生4.7级地震（UTC-8），涨0.5%", "zh") == (
        "加利福尼亚州Ridgecrest西北偏北方向12公里处发生4.7级地震（协调世界时减8小时），涨百分之0.5"
    )
    assert spoken_form("unchanged 38 km ESE", "fr") == "unchanged 38 km ESE"
