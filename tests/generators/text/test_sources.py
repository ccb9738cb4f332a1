"""Data as it really arrives: vendor OHLCV exports, Open-Meteo forecasts and --map give correct stories."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.text.sources import WMO_WEATHER, index_name, load_story_data, rename_fields
from aigc_sdk.generators.text.template import TemplateTextGenerator, story_plan
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import DataPlan, TemplateRequest
from tests.support import require_module

require_module("jinja2")

# A Yahoo Finance "Download" of ^GSPC, written as Yahoo writes it (a holiday row of nulls included).
YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2026-11-20,5901.250000,5930.100098,5880.000000,5912.399902,5912.399902,3950000000
2026-11-23,5915.000000,5948.700195,5902.299805,5940.850098,5940.850098,4012000000
2026-11-24,5938.100098,5941.000000,5890.450195,5899.120117,5899.120117,4230000000
2026-11-26,null,null,null,null,null,null
2026-11-25,5901.000000,5962.350098,5897.799805,5955.029785,5955.029785,4105000000
"""

# The same sessions as another vendor writes them: other case and column order, US dates, $ and thousands.
VENDOR = """close,VOLUME,date,low,open,high
"$5,899.12",4.23B,11/24/2026,"5,890.45","5,938.10","5,941.00"
"$5,955.03",4.105B,11/25/2026,"5,897.80","5,901.00","5,962.35"
"""


def open_meteo(**overrides: Any) -> dict[str, Any]:
    """An Open-Meteo /v1/forecast answer for Lisbon (current + daily, timezone=auto), as the API returns it."""
    data: dict[str, Any] = {
        "latitude": 38.74,
        "longitude": -9.14,
        "generationtime_ms": 0.0531,
        "utc_offset_seconds": 0,
        "timezone": "Europe/Lisbon",
        "timezone_abbreviation": "WET",
        "elevation": 77.0,
        "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C",
                          "relative_humidity_2m": "%", "weather_code": "wmo code", "wind_speed_10m": "km/h"},
        "current": {"time": "2026-11-26T14:15", "interval": 900, "temperature_2m": 17.3,
                    "relative_humidity_2m": 72, "weather_code": 3, "wind_speed_10m": 19.4},
        "daily_units": {"time": "iso8601", "weather_code": "wmo code", "temperature_2m_max": "°C",
                        "temperature_2m_min": "°C", "precipitation_sum": "mm",
                        "precipitation_probability_max": "%", "wind_speed_10m_max": "km/h"},
        "daily": {"time": ["2026-11-26", "2026-11-27", "2026-11-28"], "weather_code": [61, 80, 2],
                  "temperature_2m_max": [18.4, 17.1, 19.0], "temperature_2m_min": [12.9, 11.5, 11.8],
                  "precipitation_sum": [4.2, 1.1, 0.0], "precipitation_probability_max": [85, 60, 10],
                  "wind_speed_10m_max": [28.1, 22.4, 15.0]},
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def writer() -> TemplateTextGenerator:
    return ModelRegistry().create("news-templates")  # type: ignore[no-any-return]


@pytest.fixture
def gspc(tmp_path: Path) -> Path:
    path = tmp_path / "^GSPC.csv"
    path.write_text(YAHOO)
    return path


# ---------------------------------------------------------------------------------------- markets


def test_yahoo_ohlcv_export_gives_the_change_from_the_previous_close(writer: TemplateTextGenerator, gspc: Path) -> None:
    story = writer(template="market-close", data=gspc, seed=1)
    # 5955.03 - 5899.12 = 55.91 points; 55.91 / 5899.12 = 0.948 %: the last two sessions by date, not file order
    assert story.headline == "GSPC rises 0.95% to close at 5,955.03"
    lead = story.paragraphs[0]
    assert "The GSPC index rose 55.91 points, or 0.95 percent, to close at 5,955.03 points" in lead
    assert "on Wednesday, November 25, 2026" in lead  # the null holiday row (Nov 26) is no session
    assert "It opened at 5,901.00 and traded between 5,897.80 and 5,962.35." in lead
    assert "Volume was 4.1 billion shares." in lead
    # (5955.03 / 5912.40 - 1) * 100 = 0.72 % over the 4 sessions since Friday the 20th
    assert (
        "Over the 4 sessions since Friday, November 20, 2026, the index gained 0.72 percent from 5,912.40."
        in story.text
    )
    assert story.provenance.extra["source_format"] == "ohlcv"
    zh = writer(template="market-close", data=gspc, language="zh", seed=1, name="标普500")
    assert zh.headline == "标普500指数涨0.95%，收于5,955.03点"
    assert "标普500指数上涨55.91点，涨幅百分之0.95，收于5,955.03点" in zh.paragraphs[0]
    assert "开盘报5,901.00点，盘中最低5,897.80点，最高5,962.35点" in zh.paragraphs[0]


def test_the_index_name_comes_from_the_flag_or_the_file_name(
    writer: TemplateTextGenerator, gspc: Path, tmp_path: Path
) -> None:
    assert writer(template="market-close", data=gspc, name="S&P 500", seed=1).headline.startswith("S&P 500 rises")
    sp500 = tmp_path / "sp500.csv"
    sp500.write_text(YAHOO)
    assert writer(template="market-close", data=sp500, seed=1).headline.startswith("SP500 rises")
    assert [index_name(Path(n)) for n in ("^GSPC.csv", "sp500.csv", "^spx_d.csv", "aapl_us_d.csv")] == [
        "GSPC", "SP500", "SPX", "AAPL US"
    ]  # fmt: skip


def test_any_case_and_order_us_dates_and_vendor_number_formats(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    path = tmp_path / "spx.csv"
    path.write_text(VENDOR)
    story = writer(template="market-close", data=path, name="S&P 500", seed=1)
    assert story.headline == "S&P 500 rises 0.95% to close at 5,955.03"
    assert "rose 55.91 points, or 0.95 percent" in story.paragraphs[0]
    assert "on Wednesday, November 25, 2026" in story.paragraphs[0]
    assert "Volume was 4.1 billion shares." in story.paragraphs[0]


# Nasdaq.com's "Download historical data" of the S&P 500 (newest first, "Close/Last", $ prices, "--" volume) and
# Investing.com's (a BOM, quoted thousands, "Price" for the close, "Vol." with a B, its own "Change %").
NASDAQ = """Date,Close/Last,Volume,Open,High,Low
12/04/2026,$6660.78,--,$6671.43,$6689.01,$6641.22
12/03/2026,$6671.43,--,$6650.14,$6680.55,$6640.01
12/02/2026,$6650.14,--,$6618.78,$6655.90,$6610.33
"""
INVESTING = """\ufeff"Date","Price","Open","High","Low","Vol.","Change %"
"12/04/2026","6,660.78","6,671.43","6,689.01","6,641.22","2.51B","-0.16%"
"12/03/2026","6,671.43","6,650.14","6,680.55","6,640.01","2.43B","0.32%"
"12/02/2026","6,650.14","6,618.78","6,655.90","6,610.33","2.60B","0.47%"
"""


def test_nasdaq_and_investing_exports_read_as_they_come(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    nasdaq = tmp_path / "HistoricalData_1764892800000.csv"  # the name Nasdaq.com gives it: no index in it
    nasdaq.write_text(NASDAQ)
    with pytest.raises(InvalidRequestError, match="does not say which index") as caught:
        writer(template="market-close", data=nasdaq, seed=1)
    assert "--name" in (caught.value.hint or "")
    story = writer(template="market-close", data=nasdaq, name="S&P 500", seed=1)
    assert story.headline == "S&P 500 falls 0.16% to close at 6,660.78"
    assert "opened at 6,671.43 and traded between 6,641.22 and 6,689.01." in story.paragraphs[0]
    assert "Volume" not in story.text  # "--": no volume, not an error
    investing = tmp_path / "S&P 500 Historical Data.csv"  # the name Investing.com gives it
    investing.write_text(INVESTING, encoding="utf-8")
    story = writer(template="market-close", data=investing, seed=1)
    assert story.headline == "S&P 500 falls 0.16% to close at 6,660.78"
    assert "Volume was 2.5 billion shares." in story.paragraphs[0]
    assert [index_name(Path(n)) for n in ("FTSE 100 (1).csv", "spx_prices.csv", "DAX Historical Prices.csv")] == [
        "FTSE 100", "SPX", "DAX"
    ]  # fmt: skip


# cn.investing.com's download of the Shanghai Composite (Chinese headers and dates, 亿 volumes) and an East Money
# export (ISO dates, a volume in lots of 100 whose unit the file does not say).
CN_INVESTING = """\ufeff"日期","收盘","开盘","高","低","交易量","涨跌幅"
"2026年12月4日","3,412.58","3,398.10","3,420.77","3,390.02","352.15亿","0.41%"
"2026年12月3日","3,398.66","3,405.12","3,410.30","3,385.47","338.02亿","-0.22%"
"2026年12月2日","3,406.08","3,391.55","3,409.99","3,388.12","341.77亿","0.35%"
"""
EASTMONEY = """日期,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率
2026/12/02,3391.55,3406.08,3409.99,3388.12,341770000,412300000000,0.64,0.35,11.88,0.78
2026/12/03,3405.12,3398.66,3410.30,3385.47,338020000,401100000000,0.73,-0.22,-7.42,0.76
2026/12/04,3398.10,3412.58,3420.77,3390.02,352150000,420800000000,0.91,0.41,13.92,0.80
"""


def test_chinese_vendor_exports_read_as_they_come(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    investing = tmp_path / "上证指数历史数据.csv"  # the name cn.investing.com gives it: the index, then 历史数据
    investing.write_text(CN_INVESTING, encoding="utf-8")
    story = writer(template="market-close", data=investing, language="zh", seed=1)
    assert story.headline == "上证指数涨0.41%，收于3,412.58点"  # not "上证指数指数"
    assert story.paragraphs[0].startswith("2026年12月4日（星期五），上证指数上涨13.92点")
    assert "开盘报3,398.10点，盘中最低3,390.02点，最高3,420.77点" in story.paragraphs[0]
    assert "成交" not in story.text  # the volume's unit (shares or lots) is the vendor's: not said
    eastmoney = tmp_path / "000001.csv"
    eastmoney.write_text(EASTMONEY, encoding="utf-8")
    same = writer(template="market-close", data=eastmoney, language="zh", name="上证指数", seed=1)
    assert same.text == story.text
    english = writer(template="market-close", data=eastmoney, name="Shanghai Composite", seed=1)
    assert english.headline == "Shanghai Composite rises 0.41% to close at 3,412.58"


def test_our_own_market_csv_tells_the_same_story(writer: TemplateTextGenerator, data_dir: Path) -> None:
    story = writer(template="market-close", data=data_dir / "market_close.csv", seed=1)
    assert story.text == (
        "Composite rises 0.93% to close at 4,189.77\n\n"
        "The Composite index rose 0.93 percent to close at 4,189.77 points on Wednesday, November 25, 2026. "
        "Trading volume was 3.4 billion.\n\n"
        "Over the 3 sessions since Monday, November 23, 2026, the index gained 1.48 percent from 4,128.55. "
        "It was the 2nd gain in a row."
    )
    assert "source_format" not in story.provenance.extra
    renamed = writer(template="market-close", data=data_dir / "market_close.csv", name="Harbour Composite", seed=1)
    assert renamed.headline == "Harbour Composite rises 0.93% to close at 4,189.77"


def test_ohlcv_errors_are_typed_and_name_the_problem(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("Date,Open,High,Low,Close,Volume\n2026-11-25,1,2,0.5,1.5,100\n")
    with pytest.raises(InvalidRequestError, match="two sessions") as info:
        writer(template="market-close", data=one)
    assert "last two trading days" in (info.value.hint or "")
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Close\n2026-11-24,1\n2026-11-25,lots\n")
    with pytest.raises(InvalidRequestError, match=r"'row 3\.close' must be a number"):
        writer(template="market-close", data=bad)
    bad.write_text("Date,Close\n2026-11-24,1\nyesterday,2\n")
    with pytest.raises(InvalidRequestError, match=r"'row 3\.date' is not a date"):
        writer(template="market-close", data=bad)
    rows = [{"Date": "2026-11-24", "Close": 1.0}, {"Date": "2026-11-25", "Close": 2.0}]
    with pytest.raises(InvalidRequestError, match="which index") as info:
        writer(template="market-close", data=rows)
    assert "--name" in (info.value.hint or "")
    assert writer(template="market-close", data=rows, name="X", seed=1).headline == "X rises 100.00% to close at 2.00"


# ---------------------------------------------------------------------------------------- --map


def test_map_renames_vendor_columns_before_validation(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    german = tmp_path / "dax.csv"
    german.write_text("Zeit,Eröffnung,Hoch,Tief,Schluss,Volumen\n"
                      "2026-11-24,19500,19620,19410,19580.5,80000000\n"
                      "2026-11-25,19590,19700,19450,19480.25,91000000\n")  # fmt: skip
    field_map = {"Zeit": "date", "Eröffnung": "open", "Hoch": "high", "Tief": "low", "Schluss": "close"}
    story = writer(template="market-close", data=german, field_map=field_map, name="DAX", seed=1)
    # 19480.25 - 19580.5 = -100.25 points; -100.25 / 19580.5 = -0.512 %
    assert story.headline == "DAX falls 0.51% to close at 19,480.25"
    assert "fell 100.25 points, or 0.51 percent" in story.paragraphs[0]
    assert "traded between 19,450.00 and 19,700.00" in story.paragraphs[0]
    assert story.provenance.extra["field_map"] == field_map
    # the CLI form: ["COLUMN=FIELD", …]
    request = TemplateRequest(template="market-close", data=german, field_map=["Zeit=date", "Schluss=close"])
    assert request.field_map == {"Zeit": "date", "Schluss": "close"}
    # JSON keys are renamed at any depth
    weather = json.loads((Path(__file__).resolve().parents[3] / "aigc_sdk/generators/text/templates/weather-summary"
                          / "example.json").read_text())  # fmt: skip
    weather["ort"] = weather.pop("location")
    for day in weather["forecast"]:
        day["max"] = day.pop("high_c")
    story = writer(template="weather-summary", data=weather, field_map={"ort": "location", "max": "high_c"}, seed=1)
    assert story.headline == "Hong Kong: Rain, high of 21°C"


def test_map_errors_list_the_columns(writer: TemplateTextGenerator, gspc: Path) -> None:
    with pytest.raises(InvalidRequestError, match=r"map Zeit=date: \^GSPC\.csv has no column or key 'Zeit'") as info:
        writer(template="market-close", data=gspc, field_map={"Zeit": "date"})
    assert info.value.hint == "its columns and keys: Adj Close, Close, Date, High, Low, Open, Volume"
    with pytest.raises(InvalidRequestError, match="already has a field 'Close'"):
        rename_fields([{"Close": 1, "Last": 2}], {"Last": "Close"})
    for bad in (["Zeit"], ["=date"], ["Zeit="], ["a=b", "a=c"]):
        with pytest.raises(InvalidRequestError, match="map entry"):
            TemplateRequest(template="market-close", data=gspc, field_map=bad)


def test_a_name_needs_a_template_that_takes_one(writer: TemplateTextGenerator, data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="'usgs-earthquakes' takes no name"):
        writer(template="usgs-earthquakes", data=data_dir / "usgs_significant_week.geojson", name="Taiwan")
    several = tmp_path / "two.csv"
    several.write_text("date,index,close,change_pct\n2026-11-25,A,1,0.1\n2026-11-25,B,2,0.2\n")
    with pytest.raises(InvalidRequestError, match="holds 2: A, B"):
        writer(template="market-close", data=several, name="C")


# ---------------------------------------------------------------------------------------- weather


#: The afternoon the Lisbon forecast was fetched: its first day is "today" only then.
FETCHED = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)


def test_open_meteo_forecast_gives_todays_high_low_and_conditions(writer: TemplateTextGenerator) -> None:
    story = writer(template="weather-summary", data=open_meteo(), seed=1, now=FETCHED)
    assert story.headline == "Lisbon: Light rain, high of 18.4°C"  # place from the offline geocoder
    now = story.paragraphs[0]
    assert (
        "At 2:15 PM on Thursday, November 26, 2026, it was 17.3 degrees Celsius in Lisbon with overcast skies." in now
    )
    assert "Humidity stood at 72 percent." in now and "Winds reached 19.4 kilometres per hour." in now
    forecast = story.paragraphs[1]
    assert forecast.startswith(
        "Today expect light rain, with a high of 18.4 degrees Celsius and a low of 12.9 degrees Celsius; "
        "chance of rain 85"
    )
    assert (
        "Tomorrow, Friday, expect light rain showers, with a high of 17.1 degrees Celsius "
        "and a low of 11.5 degrees Celsius" in forecast
    )
    assert (
        "On Saturday, expect partly cloudy skies, with a high of 19 degrees Celsius and a low of 11.8 degrees Celsius"
        in forecast
    )
    places = story.provenance.extra["place_names"]
    assert places["data_license"] == "CC-BY-4.0" and places["package_license"] == "MIT" and places["place"] == "Lisbon"
    zh = writer(template="weather-summary", data=open_meteo(), language="zh", seed=1, now=FETCHED)
    assert zh.headline == "里斯本今天小雨，最高气温18.4摄氏度"
    assert "里斯本气温17.3摄氏度，阴。" in zh.paragraphs[0]
    assert "明天（星期五）小阵雨，最高气温17.1摄氏度，最低气温11.5摄氏度" in zh.paragraphs[1]


def test_a_forecast_told_after_its_day_gives_dates_not_today(writer: TemplateTextGenerator) -> None:
    """The same forecast told later (by the clock, or a given now): no "today" or "tomorrow" about last week."""
    for now in (None, FETCHED + dt.timedelta(days=11)):
        story = writer(template="weather-summary", data=open_meteo(), seed=1, now=now)
        assert "Today" not in story.text and "Tomorrow" not in story.text
        assert story.paragraphs[1].startswith("On Thursday, November 26, 2026, expect light rain")
        assert "On Friday, expect light rain showers" in story.paragraphs[1]
        zh = writer(template="weather-summary", data=open_meteo(), language="zh", seed=1, now=now)
        assert zh.headline == "里斯本2026年11月26日小雨，最高气温18.4摄氏度"
        assert "今天" not in zh.text and "明天" not in zh.text
        assert zh.paragraphs[1].startswith("2026年11月26日（星期四）小雨")


def test_open_meteo_name_flag_units_and_daily_only(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps(open_meteo()))
    named = writer(template="weather-summary", data=path, name="Lisboa", language="zh", seed=1, now=FETCHED)
    assert named.headline == "Lisboa今天小雨，最高气温18.4摄氏度" and "place_names" not in named.provenance.extra
    fahrenheit = open_meteo()
    fahrenheit["daily_units"] = {**fahrenheit["daily_units"], "temperature_2m_max": "°F", "temperature_2m_min": "°F"}
    fahrenheit["daily"] = {**fahrenheit["daily"], "temperature_2m_max": [65.1, 62.8, 66.2],
                           "temperature_2m_min": [55.2, 52.7, 53.2]}  # fmt: skip
    assert writer(template="weather-summary", data=fahrenheit, seed=1).headline == "Lisbon: Light rain, high of 18.4°C"
    daily_only = open_meteo()
    for key in ("current", "current_units"):
        daily_only.pop(key)
    story = writer(template="weather-summary", data=daily_only, name="Lisbon", seed=1, now=FETCHED)
    assert story.headline == "Lisbon: Light rain, high of 18.4°C"
    assert story.paragraphs[0].startswith(
        "In Lisbon today expect light rain, with a high of 18.4 degrees Celsius and a low of 12.9 degrees Celsius"
    )


def test_open_meteo_errors(writer: TemplateTextGenerator) -> None:
    bad_code = open_meteo()
    bad_code["daily"] = {**bad_code["daily"], "weather_code": [61, 4, 2]}
    with pytest.raises(InvalidRequestError, match=r"'daily.weather_code\[1\]' is not a WMO weather code"):
        writer(template="weather-summary", data=bad_code)
    short = open_meteo()
    short["daily"] = {**short["daily"], "temperature_2m_min": [12.9]}
    with pytest.raises(InvalidRequestError, match=r"'daily\.temperature_2m_min' must be a list as long as daily\.time"):
        writer(template="weather-summary", data=short)
    with pytest.raises(InvalidRequestError, match="no town within 100 km") as info:
        writer(template="weather-summary", data=open_meteo(latitude=0.0, longitude=-140.0))
    assert "--name" in (info.value.hint or "")
    assert writer(template="weather-summary", data=open_meteo(latitude=0.0, longitude=-140.0), name="Buoy 51", seed=1)


def test_wmo_table_and_plans_declare_their_formats() -> None:
    assert sorted(WMO_WEATHER) == [0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77,
                                   80, 81, 82, 85, 86, 95, 96, 99]  # fmt: skip
    assert all(en and zh for en, zh in WMO_WEATHER.values())
    assert story_plan("market-close").data == DataPlan(formats=("ohlcv",), name="index")
    assert story_plan("weather-summary").data == DataPlan(formats=("open-meteo",), name="location")
    assert story_plan("usgs-earthquakes").data == DataPlan()
    # a format no plan declares is not converted: a user template reads the rows as they are
    rows = [{"Date": "2026-11-24", "Close": 1.0}, {"Date": "2026-11-25", "Close": 2.0}]
    assert load_story_data(rows).data == rows


# ------------------------------------------------------------------------------------------ review fixes


def _sessions(*rows: tuple[str, float]) -> str:
    return "Date,Open,High,Low,Close,Volume\n" + "".join(f"{d},{c},{c + 20},{c - 20},{c},1000000\n" for d, c in rows)


def test_dotted_dates_are_day_first(writer: TemplateTextGenerator, tmp_path: Path) -> None:
    german = tmp_path / "dax.csv"  # Thursday 5, Friday 6 and Monday 9 November 2026
    german.write_text(_sessions(("05.11.2026", 19500.0), ("06.11.2026", 19600.0), ("09.11.2026", 19700.0)))
    story = writer(template="market-close", data=german, name="DAX", seed=1)
    assert "on Monday, November 9, 2026" in story.paragraphs[0]
    assert "since Thursday, November 5, 2026" in story.text


def test_ambiguous_slash_dates_are_read_the_way_that_keeps_sessions_on_weekdays(
    writer: TemplateTextGenerator, tmp_path: Path
) -> None:
    uk = tmp_path / "ftse.csv"  # 10-12 November 2026 (Tue-Thu); month-first, 11 October 2026 is a Sunday
    uk.write_text(_sessions(("10/11/2026", 8000.0), ("11/11/2026", 8010.0), ("12/11/2026", 8050.0)))
    story = writer(template="market-close", data=uk, name="FTSE 100", seed=1)
    assert "on Thursday, November 12, 2026" in story.paragraphs[0]
    us = tmp_path / "spx.csv"  # 3 and 4 November 2026 (Tue, Wed); day-first, 11 April 2026 is a Saturday
    us.write_text(_sessions(("11/03/2026", 5900.0), ("11/04/2026", 5950.0)))
    assert "on Wednesday, November 4, 2026" in writer(template="market-close", data=us, name="SPX", seed=1).text
    both = tmp_path / "both.csv"  # 2-3 February (Mon, Tue) or 2 March and 2 April (Mon, Thu): either reads right
    both.write_text(_sessions(("02/02/2026", 5900.0), ("02/03/2026", 5950.0)))
    with pytest.raises(InvalidRequestError, match="read both as month/day and as day/month") as info:
        writer(template="market-close", data=both, name="SPX", seed=1)
    assert "YYYY-MM-DD" in (info.value.hint or "")


def test_open_meteo_precipitation_in_inches_is_told_in_millimetres(writer: TemplateTextGenerator) -> None:
    inches = open_meteo()
    inches["daily_units"] = {**inches["daily_units"], "precipitation_sum": "inch"}
    inches["daily"] = {**inches["daily"], "precipitation_sum": [0.5, 0.0, 0.0]}
    inches["daily"].pop("precipitation_probability_max")
    story = writer(template="weather-summary", data=inches, seed=1)
    assert "12.7 millimetres of precipitation" in story.paragraphs[1]  # 0.5 inch = 12.7 mm
    assert "0.5 millimetres" not in story.text
    inches["daily_units"]["precipitation_sum"] = "furlong"
    with pytest.raises(InvalidRequestError, match="precipitation_sum' is not a unit"):
        writer(template="weather-summary", data=inches)
