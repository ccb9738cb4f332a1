"""`aigc news-clip` on data as it really arrives: a vendor OHLCV export with --name, --map, Open-Meteo JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli import app
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.pipelines.news_clip import NewsClipConfig
from tests.generators.text.test_sources import YAHOO, open_meteo
from tests.support import require_module


def test_map_and_name_are_feed_options(data_dir: Path, tmp_path: Path) -> None:
    article, out = data_dir / "article_en.md", tmp_path / "o.mp4"
    with pytest.raises(InvalidRequestError, match=r"field_map=\{'Zeit': 'date'\}.*only for feeds"):
        NewsClipConfig(input=article, output=out, field_map=["Zeit=date"])
    with pytest.raises(InvalidRequestError, match="name='Lisbon': only for feeds"):
        NewsClipConfig(input=article, output=out, name="Lisbon")
    feed = tmp_path / "forecast.json"
    feed.write_text(json.dumps(open_meteo()))
    config = NewsClipConfig(input=feed, output=out, template="weather-summary", name="Lisbon", field_map=["a=b"])
    assert (config.name, config.field_map) == ("Lisbon", {"a": "b"})


@pytest.mark.slow
def test_a_vendor_ohlcv_export_makes_a_clip_with_its_chart(tmp_path: Path) -> None:
    require_module("piper", reason="needs the voice extra")
    feed = tmp_path / "^GSPC.csv"
    feed.write_text(YAHOO.replace("Close", "Schluss"))  # a vendor that names the close otherwise: --map
    out = tmp_path / "out" / "spx.mp4"
    args = ["news-clip", str(feed), "-o", str(out), "--name", "S&P 500", "--map", "Schluss=close", "--no-music"]
    result = CliRunner().invoke(app, args, env={"AIGC_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    outputs = {step["name"]: step["output"] for step in manifest["steps"]}
    script = outputs["script"]
    assert script["headline"] == "S&P 500 rises 0.95% to close at 5,955.03"
    assert "rose 55.91 points, or 0.95 percent" in " ".join(script["sentences"])
    kinds = [item["kind"] for item in outputs["visuals"]["items"]]
    assert kinds[1] == "chart"  # drawn from the converted rows (date, close), not the raw columns


@pytest.mark.slow
def test_an_open_meteo_forecast_gets_a_locator_map_of_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forecast's own point is the story's location card: a real map naming the town it is for.

    Told again the same day, the stages are reused; told the next day, the story is made anew (its "today").
    """
    require_module("piper", reason="needs the voice extra")
    from aigc_sdk.media import read_sidecar

    feed = tmp_path / "forecast.json"
    feed.write_text(json.dumps(open_meteo()))
    out = tmp_path / "out" / "lisbon.mp4"
    args = ["news-clip", str(feed), "-o", str(out), "--template", "weather-summary", "--no-music", "--aspect", "1:1"]
    result = CliRunner().invoke(app, args, env={"AIGC_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    visuals = next(step["output"] for step in manifest["steps"] if step["name"] == "visuals")
    maps = [
        made.extra["map"]
        for item in visuals["items"]
        if (made := read_sidecar(Path(item["path"]))) and "map" in made.extra
    ]
    assert len(maps) == 1, visuals["items"]
    assert "Lisbon" in [place["name"] for place in maps[0]["places"]], maps[0]
    again = CliRunner().invoke(app, args, env={"AIGC_CACHE_DIR": str(tmp_path / "cache")})
    assert again.exit_code == 0 and "reused" in again.output and "script" in again.output.split("reused")[1]
    import datetime as dt
    import types

    import aigc_sdk.pipelines.news_clip as module

    class Tomorrow(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:
            return dt.datetime.now(tz) + dt.timedelta(days=1)

    monkeypatch.setattr(module, "_dt", types.SimpleNamespace(datetime=Tomorrow, UTC=dt.UTC, date=dt.date))
    later = CliRunner().invoke(app, args, env={"AIGC_CACHE_DIR": str(tmp_path / "cache")})
    assert later.exit_code == 0, later.output
    assert "reused" not in later.output or "script" not in later.output.split("reused")[1]
