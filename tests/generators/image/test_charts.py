"""ChartRenderer on the shared market CSV: line, bar and delta charts, English and Chinese."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, MediaError
from aigc_sdk.generators.image.cards import THEMES
from aigc_sdk.generators.image.charts import ChartRenderer, ChartSpec, load_table
from aigc_sdk.media import Image
from tests.support import require_module

require_module("matplotlib", reason="needs the image extra")


@pytest.fixture(scope="module")
def renderer() -> ChartRenderer:
    return ChartRenderer()


def _has_colour(img: Image, hex_colour: str, tol: int = 12) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(img.to_array().astype(int) - rgb).max(axis=2) <= tol).sum() > 50)


@pytest.mark.parametrize("kind", ["line", "bar", "delta"])
def test_charts_from_the_shared_csv(renderer: ChartRenderer, data_dir: Path, kind: str, tmp_path: Path) -> None:
    y = "change_pct" if kind == "delta" else "close"
    spec = ChartSpec(
        kind=kind,
        x="date",
        y=y,
        unit="%" if kind == "delta" else "",
        title="Composite",
        source="Source: exchange data",
        width=640,
        height=360,
    )
    img = renderer.render(spec, data_dir / "market_close.csv")
    assert img.size == (640, 360) and img.pil.mode == "RGB"
    theme = spec.theme
    assert tuple(img.to_array()[2, 2]) == tuple(int(theme.background[i : i + 2], 16) for i in (1, 3, 5))
    if kind == "delta":  # one fall and two rises in the file
        assert _has_colour(img, theme.negative) and _has_colour(img, theme.positive)
    else:
        assert _has_colour(img, theme.accent)
    prov = img.provenance
    assert prov is not None and prov.model_id == "chart-renderer" and prov.request["rows"] == 3
    assert prov.extra["fonts"][0]["family"] == "DejaVu Sans"
    back = Image.load(img.save(tmp_path / f"{kind}.png"))
    assert back.provenance is not None and back.provenance.extra["kind"] == kind


def test_a_caption_band_keeps_the_axis_labels_above_the_captions(renderer: ChartRenderer, data_dir: Path) -> None:
    from aigc_sdk.generators.video.captions import caption_reach, caption_top
    from aigc_sdk.types import SubtitleStyle

    band = caption_reach(SubtitleStyle(), 1280, 720)
    top = caption_top(SubtitleStyle(), 1280, 720)  # the highest row a two-line caption reaches
    base = {"x": "date", "y": "close", "title": "Composite", "width": 1280, "height": 720}
    theme = ChartSpec(**base).theme
    background = np.array([int(theme.background[i : i + 2], 16) for i in (1, 3, 5)])

    def drawn_rows(img: Image) -> np.ndarray:  # rows with anything but background, from the caption top down
        pixels = img.to_array()[top:].astype(int)
        return np.flatnonzero((np.abs(pixels - background).max(axis=2) > 24).any(axis=1))

    plain = renderer.render(ChartSpec(**base), data_dir / "market_close.csv")
    kept = renderer.render(ChartSpec(**base, caption_band=band), data_dir / "market_close.csv")
    assert drawn_rows(plain).size > 0  # the dates and the axis lie where captions go
    assert drawn_rows(kept).size == 0
    assert _has_colour(kept, theme.accent)  # the line is still drawn, above


def test_a_narrow_chart_wraps_its_headline_and_thins_its_date_labels(renderer: ChartRenderer, tmp_path: Path) -> None:
    table = tmp_path / "GSPC.csv"  # a Yahoo Finance export: nine sessions
    closes = [6591.06, 6627.91, 6679.01, 6697.82, 6652.37, 6618.78, 6650.14, 6671.43, 6660.78]
    days = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27", "2026-11-30", "2026-12-01", "2026-12-02",
            "2026-12-03", "2026-12-04"]  # fmt: skip
    table.write_text("Date,Open,Close\n" + "".join(f"{d},{c},{c}\n" for d, c in zip(days, closes, strict=True)))
    spec = ChartSpec(x="Date", y="Close", title="S&P 500 falls 0.16% to close at 6,660.78", width=720, height=1280)
    pixels = renderer.render(spec, table).to_array().astype(int)
    background = np.array([int(spec.theme.background[i : i + 2], 16) for i in (1, 3, 5)])
    ink = np.abs(pixels - background).max(axis=2) > 40
    m, u = spec.theme.safe_margin, 7.2
    assert ink[: int(0.15 * 1280)].any()  # the headline, in the top rows...
    assert not ink[: int(0.15 * 1280), round(720 * (1 - m)) :].any()  # ...kept inside the right margin
    labels = ink[round(1280 * (1 - m) - 5 * u) + 4 : round(1280 * (1 - m)), : round(720 * (1 - m))].any(
        axis=0
    )  # below the axis line
    columns = np.flatnonzero(labels)
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 10) + 1)  # labels: ink apart by more than 10 px
    assert 3 <= len(runs) < len(days) and max(r[-1] - r[0] for r in runs) < 100  # none run into the next


def test_chinese_chart_uses_a_cjk_font(renderer: ChartRenderer, data_dir: Path) -> None:
    spec = ChartSpec(
        kind="delta",
        x="date",
        y="change_pct",
        unit="%",
        title="综合指数每日涨跌",
        source="来源：交易所数据",
        theme=THEMES["paper"],
        width=480,
        height=480,
    )
    img = renderer.render(spec, data_dir / "market_close.csv")
    assert img.provenance is not None
    font = img.provenance.extra["fonts"][0]
    assert font["family"].startswith("Noto Sans CJK") and font["license"] == "OFL-1.1"
    assert _has_colour(img, THEMES["paper"].background)


def test_rows_filters_and_several_series(renderer: ChartRenderer) -> None:
    rows = [{"day": d, "a": i, "b": 10 - i, "group": "x" if i < 4 else "y"} for i, d in enumerate("MTWTFSS")]
    img = renderer.render(ChartSpec(x="day", y=("a", "b"), where={"group": "x"}, width=400, height=300), rows)
    assert img.provenance is not None and img.provenance.request["rows"] == 4


def test_bad_tables_are_rejected(renderer: ChartRenderer, data_dir: Path, tmp_path: Path) -> None:
    csv = data_dir / "market_close.csv"
    with pytest.raises(InvalidRequestError, match="no column 'price'"):
        renderer.render(ChartSpec(x="date", y="price"), csv)
    with pytest.raises(InvalidRequestError, match="not a number"):
        renderer.render(ChartSpec(x="date", y="index"), csv)
    with pytest.raises(InvalidRequestError, match="no rows match"):
        renderer.render(ChartSpec(x="date", y="close", where={"index": "Nope"}), csv)
    with pytest.raises(InvalidRequestError, match="no rows"):
        renderer.render(ChartSpec(x="date", y="close"), [])
    with pytest.raises(MediaError):
        load_table(tmp_path / "missing.csv")
    assert load_table(csv)[0]["index"] == "Composite"


def test_a_chinese_chart_labels_its_dates_in_chinese(renderer: ChartRenderer, data_dir: Path) -> None:
    """A Chinese clip's chart says 11月25日, not 25 Nov: only the date labels under the axis change."""
    from aigc_sdk.generators.image.charts import _label

    assert [_label("2026-11-25", lang) for lang in ("en", "zh", "zh-Hans")] == ["25 Nov", "11月25日", "11月25日"]
    base = {"x": "date", "y": "close", "title": "Composite指数涨0.93%", "width": 640, "height": 360}
    english = renderer.render(ChartSpec(**base), data_dir / "market_close.csv").to_array()
    chinese = renderer.render(ChartSpec(**base, language="zh"), data_dir / "market_close.csv").to_array()
    rows = slice(int(0.8 * 360), 360)  # the date labels under the axis differ; the line above does not
    assert (english[rows] != chinese[rows]).any()
    assert (english[: int(0.5 * 360)] == chinese[: int(0.5 * 360)]).all()
