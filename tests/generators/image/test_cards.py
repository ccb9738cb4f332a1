"""CardRenderer: every layout in every aspect, English and Chinese, glyphs checked against the fonts' cmaps."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont

from aigc_sdk._internal.linebreak import line_atoms
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.cards import THEMES, Card, CardRenderer, CardSpec, Theme
from aigc_sdk.media import Image

EN = {
    "title": {"title": "Stocks close at a three-month high as tech rallies", "subtitle": "Third gain in a row"},
    "body": {
        "title": "Council approves the harbour bridge",
        "body": "The council voted seven to two on Tuesday. Work starts next spring and ends in 2029.",
    },
    "bullets": {"title": "What changes on Monday", "bullets": ["Buses every 10 minutes", "Night trams return"]},
    "quote": {"quote": "We will build it on time and on budget.", "attribution": "Mayor Ana Ruiz"},
    "number": {"value": "4,189.77", "label": "Composite close", "delta": 0.93, "subtitle": "25 Nov 2026"},
    "lower-third": {"title": "Ana Ruiz", "subtitle": "Mayor of Port City"},
    "location": {"lat": 23.8431, "lon": 121.9712, "title": "38 km ESE of Hualien City, Taiwan", "body": "M 6.4"},
}
ZH = {
    "title": {"title": "沪指收涨0.9%，创近三个月新高", "subtitle": "科技股领涨，成交额3.4亿元"},
    "body": {
        "title": "市议会批准港口大桥",
        "body": "市议会周二以七票对两票通过拨款。工程明年春天开工，预计2029年完工；在此之前渡轮照常运营。",
    },
    "bullets": {"title": "周一起有哪些变化", "bullets": ["公交每10分钟一班", "周五、周六恢复夜间电车"]},
    "quote": {"quote": "「我们会按时、按预算建成。」", "attribution": "市长 安娜·鲁伊斯"},
    "number": {"value": "4,189.77", "label": "综合指数收盘", "delta": -0.42, "subtitle": "2026年11月25日"},
    "lower-third": {"title": "安娜·鲁伊斯", "subtitle": "港口市市长"},
    "location": {
        "lat": 23.8431,
        "lon": 121.9712,
        "title": "台湾花莲县东南偏东38公里",
        "body": "6.4级 · 震源深度21.5公里",
    },
}
ASPECTS = ["16:9", "9:16", "1:1"]


@pytest.fixture(scope="module")
def renderer() -> CardRenderer:
    return CardRenderer()


@functools.cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _check(card: Card, spec: CardSpec) -> None:
    assert card.image.size == (spec.width, spec.height)
    x0, y0, x1, y1 = card.safe_area
    assert x0 >= spec.width * spec.theme.safe_margin - 1 and y0 >= spec.height * spec.theme.safe_margin - 1
    assert card.boxes, "no text drawn"
    for box in card.boxes:
        left, top, right, bottom = box.box
        assert x0 <= left and right <= x1 and y0 <= top and bottom <= y1, (box.role, box.text, box.box, card.safe_area)
        for text, face in box.faces:
            cmap = _cmap(face.info.path, face.info.index)
            missing = [ch for ch in text if not ch.isspace() and ord(ch) not in cmap]
            assert not missing, (box.role, face.family, missing)
        for line in box.text.split("\n"):
            assert not line.startswith(("，", "。", "、", "」", "）", "：")), line  # kinsoku: no closing mark first
            assert not line.endswith(("「", "（")), line


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("layout", list(EN))
@pytest.mark.parametrize("texts", [EN, ZH], ids=["en", "zh"])
def test_every_layout_aspect_and_language(renderer: CardRenderer, layout: str, aspect: str, texts: dict) -> None:
    credit = {} if layout == "lower-third" else {"source": "Source: test"}  # a lower third has no footer
    spec = CardSpec.for_aspect(aspect, scale=0.5, layout=layout, kicker="News", **credit, **texts[layout])
    card = renderer.compose(spec)
    _check(card, spec)
    drawn = "".join(b.text for b in card.boxes).replace("\n", "").replace(" ", "")
    main = texts[layout].get("title") or texts[layout].get("quote") or texts[layout]["value"]
    assert main.replace(" ", "")[:4] in drawn
    prov = card.image.provenance
    assert prov is not None and prov.model_id == "card-renderer" and prov.task == "render-card"
    licences = {f["license"] for f in prov.extra["fonts"]}
    assert licences <= {"Bitstream-Vera", "OFL-1.1"}
    if texts is ZH:
        assert "OFL-1.1" in licences  # Noto Sans CJK drew the Chinese
    assert card.image.pil.mode == ("RGBA" if layout == "lower-third" else "RGB")


def test_chinese_uses_a_cjk_face_and_english_prefers_dejavu(renderer: CardRenderer) -> None:
    en = renderer.compose(CardSpec(title="Markets close higher", width=640, height=360))
    zh = renderer.compose(CardSpec(title="市场收高", width=640, height=360))
    assert {f.family for _, f in en.boxes[0].faces} == {"DejaVu Sans"}
    assert {f.family for _, f in zh.boxes[0].faces} == {"Noto Sans CJK SC"}
    assert all(f.weight == 700 for _, f in zh.boxes[0].faces)  # bold title on the variable CJK font


def test_long_text_shrinks_and_stays_in_the_safe_area(renderer: CardRenderer) -> None:
    body = " ".join(["The committee heard evidence from residents and engineers for several hours."] * 12)
    for aspect in ASPECTS:
        spec = CardSpec.for_aspect(aspect, scale=0.4, layout="body", title="A long day at the council " * 4, body=body)
        card = renderer.compose(spec)
        _check(card, spec)
        sizes = {b.role: b.box[3] - b.box[1] for b in card.boxes}
        assert sizes["body"] <= card.safe_area[3] - card.safe_area[1]
    huge = "Supercalifragilisticexpialidocious" * 3  # one word wider than the card: broken by characters
    _check(renderer.compose(CardSpec(title=huge, width=320, height=320)), CardSpec(title=huge, width=320, height=320))


def test_cjk_line_breaking_keeps_punctuation_attached() -> None:
    atoms = [a for a, _ in line_atoms("沪指收涨0.9%，创新高。「科技股」领涨")]
    assert "0.9%，" in atoms and "高。" in atoms and "「科" in atoms and "股」" in atoms
    assert [a for a, _ in line_atoms("Hello, world (again).")] == ["Hello,", "world", "(again)."]


def test_missing_glyph_is_an_error_not_a_box(renderer: CardRenderer) -> None:
    with pytest.raises(InvalidRequestError, match="no installed font has a glyph"):
        renderer.render(CardSpec(title="Private \U0010fffd use", width=320, height=180))


def test_theme_logo_brand_and_colours(renderer: CardRenderer, tmp_path: Path) -> None:
    logo_arr = np.zeros((40, 120, 4), dtype=np.uint8)
    logo_arr[..., 0] = 255
    logo_arr[..., 3] = 255
    logo = Image.from_array(logo_arr).save(tmp_path / "logo.png")
    theme = THEMES["paper"].model_copy(update={"logo": logo})
    card = renderer.compose(CardSpec(title="Hello", kicker="City", theme=theme, width=640, height=360))
    arr = card.image.to_array()
    _, y0, x1, _ = card.safe_area
    assert tuple(arr[y0 + 5, x1 - 5]) == (255, 0, 0)  # the logo, top right inside the safe area
    assert tuple(arr[card.image.size[1] // 2, 2]) != (11, 21, 38)  # paper background, not the default navy
    branded = renderer.compose(CardSpec(title="Hi", theme=Theme(brand="CITY DESK"), width=640, height=360))
    assert "brand" in [b.role for b in branded.boxes]
    with pytest.raises(ValueError, match="colour"):
        Theme(accent="red")


def test_lower_third_is_transparent_above_the_bar(renderer: CardRenderer) -> None:
    img = renderer.render(CardSpec(layout="lower-third", title="Ana Ruiz", subtitle="Mayor", width=640, height=360))
    alpha = img.to_array()[..., 3]
    assert alpha[: 360 // 2].max() == 0
    assert alpha[360 // 2 :].max() == 255


def test_specs_are_validated() -> None:
    with pytest.raises(InvalidRequestError, match="bullets"):
        CardSpec(layout="bullets", title="x")
    with pytest.raises(InvalidRequestError, match="lat"):
        CardSpec(layout="location", title="x")
    with pytest.raises(InvalidRequestError, match="needs title"):
        CardSpec(title="   ")
    with pytest.raises(InvalidRequestError, match="aspect"):
        CardSpec.for_aspect("2:1", title="x")


def test_location_card_from_usgs_geojson(renderer: CardRenderer, data_dir: Path, tmp_path: Path) -> None:
    feed = json.loads((data_dir / "usgs_significant_week.geojson").read_text())
    spec = CardSpec.from_geojson(feed["features"][0], width=960, height=540)
    assert spec.layout == "location" and spec.kicker == "EARTHQUAKE"
    assert spec.body == "Magnitude 6.4 · depth 21.5 km"
    assert spec.source is not None and spec.source.startswith("USGS")
    card = renderer.compose(spec)
    _check(card, spec)
    saved = Image.load(card.image.save(tmp_path / "quake.png"))
    assert saved.provenance is not None and saved.provenance.request["lat"] == pytest.approx(23.8431)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layout": "title", "title": "x", "body": "not drawn"}, "does not draw body"),
        ({"layout": "lower-third", "title": "x", "source": "Source: test"}, "does not draw source"),
        ({"layout": "quote", "quote": "x", "title": "not drawn", "bullets": ["a"]}, "does not draw title, bullets"),
        ({"layout": "body", "title": "x", "body": "y", "delta_unit": "pts"}, "does not draw delta_unit"),
        ({"title": "x", "width": 0, "height": 0}, "width"),
        ({"title": "x", "width": 100}, "width"),
    ],
)
def test_options_a_card_would_ignore_or_cannot_draw_are_errors(fields: dict, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        CardSpec(**fields)


def test_cli_card_of_size_zero_is_refused_not_drawn_at_the_default(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aigc_sdk.cli.app import app

    out = tmp_path / "card.png"
    result = CliRunner().invoke(app, ["image", "card", "--title", "x", "--width", "0", "--height", "0", "-o", str(out)])
    assert result.exit_code != 0 and "width" in result.output
    assert not out.exists()
