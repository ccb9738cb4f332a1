"""Brand kits: loading and validating the file, and a brand's colours, fonts and logo on every card."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk._internal.fonts import font_files, read_font
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.generators.image.cards import CardRenderer, CardSpec
from aigc_sdk.generators.video.brand import DEFAULT_BRAND, Brand, load_brand
from aigc_sdk.media import Image, read_sidecar
from aigc_sdk.pipelines.base import Pipeline
from aigc_sdk.pipelines.news_clip import NewsClipConfig, Script, VisualOptions, visuals
from aigc_sdk.types import StoryPlan
from tests.support import require_module

require_module("fontTools", reason="needs the image extra")

ROOT = Path(__file__).resolve().parents[3]
W, H = 480, 270


def _serif_fonts() -> list[Path]:
    """An installed serif family (regular + bold), not one of the default families: the brand's font."""
    for family in ("DejaVu Serif", "Liberation Serif"):
        files = [p for p in font_files() if any(f.family == family for f in read_font(p))]
        plain = [p for p in files if not any(w in p.stem.lower() for w in ("italic", "oblique", "condensed"))]
        if len(plain) >= 2:
            return sorted(plain, key=lambda p: ("bold" in p.stem.lower(), p.name))[:2]
    pytest.skip("no serif font family installed")


@pytest.fixture
def brand_dir(tmp_path: Path) -> Path:
    """A brand folder: fonts copied in, a logo drawn with numpy, a brand.toml naming them relatively."""
    (tmp_path / "fonts").mkdir()
    names = []
    for path in _serif_fonts():
        shutil.copy(path, tmp_path / "fonts" / path.name)
        names.append(f'"fonts/{path.name}"')
    logo = np.zeros((60, 120, 4), np.uint8)
    logo[..., 1] = 255  # pure green, opaque: easy to find in a card
    logo[..., 3] = 255
    Image.from_array(logo).save(tmp_path / "logo.png")
    (tmp_path / "brand.toml").write_text(
        f"""name = "Test Desk"
[colors]
background = "#202A10"
surface = "#202A10"
text = "#FAFAFA"
accent = "#E4572E"
[fonts]
files = [{", ".join(names)}]
[logo]
file = "logo.png"
[disclosure]
text = "Produced with automated tools."
""",
        encoding="utf-8",
    )
    return tmp_path


def test_the_example_brand_loads() -> None:
    brand = load_brand(ROOT / "examples" / "brand" / "brand.toml")
    theme = brand.theme()
    assert theme.accent == "#E4572E" and theme.logo is not None and theme.logo.is_file()
    assert theme.fonts[0] != DEFAULT_BRAND.theme().fonts[0]
    assert brand.disclosure is not None and brand.record()["disclosure"] == brand.disclosure.text


def test_no_brand_is_the_built_in_theme() -> None:
    assert DEFAULT_BRAND.theme() == CardSpec(title="x").theme


def test_yaml_brand_reads_like_toml(tmp_path: Path) -> None:
    (tmp_path / "brand.yaml").write_text("name: Desk\ncolors:\n  accent: '#112233'\n", encoding="utf-8")
    assert load_brand(tmp_path / "brand.yaml").theme().accent == "#112233"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('name = "x"\ncolour = "#FFFFFF"\n', "colour", "Extra inputs"),
        ('[logo]\nfile = "missing.png"\n', "logo.file", "missing.png"),
        ('[logo]\nfile = "logo.png"\nsize = 3\nshape = "round"\n', "logo.shape", "Extra inputs"),
        ('[colors]\naccent = "orange"\n', "colors.accent", "pattern"),
        ('[fonts]\nfiles = ["fonts/none.ttf"]\n', "fonts.files.0", "none.ttf"),
        ('[fonts]\nfiles = ["logo.png"]\n', "fonts.files", "not a TTF"),
        ('[captions]\nstyle = "karaoke"\n', "captions.style", "sentence"),
        ("name = \n", "TOML", "not valid"),
    ],
)
def test_a_bad_brand_file_names_the_file_and_the_field(brand_dir: Path, text: str, field: str, words: str) -> None:
    bad = brand_dir / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidRequestError) as caught:
        load_brand(bad)
    assert "bad.toml" in caught.value.message and field in caught.value.message and words in caught.value.message


def test_a_brand_file_must_be_toml_or_yaml(tmp_path: Path) -> None:
    (tmp_path / "brand.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidRequestError, match="toml"):
        load_brand(tmp_path / "brand.json")


def test_brand_fonts_lacking_the_script_are_refused_before_rendering(brand_dir: Path, tmp_path: Path) -> None:
    brand = load_brand(brand_dir / "brand.toml")
    brand.check_language("en")
    with pytest.raises(InvalidRequestError, match=r"brand\.toml: fonts\.files: .*no glyphs") as caught:
        brand.check_language("zh")
    assert caught.value.hint
    with pytest.raises(InvalidRequestError, match="的"):
        brand.check_text("Markets 的 close")
    # the clip's options are checked when they are made: nothing is written
    out = tmp_path / "out"
    with pytest.raises(InvalidRequestError, match="no glyphs"):
        NewsClipConfig(input=ROOT / "examples/data/article_zh.md", output=out / "c.mp4", language="zh",
                       brand=brand_dir / "brand.toml")  # fmt: skip
    assert not out.exists()


def test_a_bad_brand_fails_the_clip_config_before_any_work(brand_dir: Path, tmp_path: Path) -> None:
    (brand_dir / "bad.toml").write_text('[logo]\nfile = "gone.png"\n', encoding="utf-8")
    with pytest.raises(InvalidRequestError) as direct:
        load_brand(brand_dir / "bad.toml")
    with pytest.raises(InvalidRequestError, match=r"bad\.toml: logo\.file") as caught:
        NewsClipConfig(input=ROOT / "examples/data/article_en.md", output=tmp_path / "o" / "c.mp4",
                       brand=brand_dir / "bad.toml")  # fmt: skip
    # the brand's own error surfaces whole: its message (file and field) and its hint
    assert direct.value.message in caught.value.message and caught.value.hint == direct.value.hint
    assert direct.value.hint is not None and "relative to the brand file" in direct.value.hint
    assert not (tmp_path / "o").exists()
    # and so does the CLI (bad input: exit 2), and a font check's hint
    from typer.testing import CliRunner

    from aigc_sdk.cli import app

    article = str(ROOT / "examples/data/article_en.md")
    result = CliRunner().invoke(app, ["news-clip", article, "--brand", str(brand_dir / "bad.toml"), "-o",
                                      str(tmp_path / "o" / "c.mp4")])  # fmt: skip
    shown = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 2 and "bad.toml: logo.file" in shown and "relative to the brand file" in shown
    with pytest.raises(InvalidRequestError) as fonts:
        NewsClipConfig(input=ROOT / "examples/data/article_zh.md", output=tmp_path / "o" / "c.mp4", language="zh",
                       brand=brand_dir / "brand.toml")  # fmt: skip
    assert fonts.value.hint is not None and "covers the script's language" in fonts.value.hint
    assert not (tmp_path / "o").exists()


LAYOUTS: list[dict[str, object]] = [
    {"layout": "title", "kicker": "NEWS", "title": "Council approves park", "subtitle": "Vote 7 to 2"},
    {"layout": "body", "title": "Council approves park", "body": "The plan adds a wetland boardwalk."},
    {"layout": "bullets", "title": "What changes", "bullets": ("A boardwalk", "Two fields")},
    {"layout": "quote", "quote": "The wetland is a sponge.", "attribution": "Ana Ruiz"},
    {"layout": "number", "value": "14", "label": "hectares added", "delta": 2.0},
    {"layout": "location", "lat": 23.8, "lon": 121.9, "title": "Hualien, Taiwan"},
]


@pytest.mark.parametrize("fields", LAYOUTS, ids=[str(f["layout"]) for f in LAYOUTS])
def test_a_brand_changes_colours_font_and_logo_on_every_card(brand_dir: Path, fields: dict[str, object]) -> None:
    brand = load_brand(brand_dir / "brand.toml")
    renderer = CardRenderer()
    plain = renderer.compose(CardSpec(width=W, height=H, **fields))  # type: ignore[arg-type]
    branded = renderer.compose(CardSpec(width=W, height=H, theme=brand.theme(), **fields))  # type: ignore[arg-type]
    before, after = np.asarray(plain.image.pil), np.asarray(branded.image.pil).astype(int)
    # colours: the background is the brand's (a corner away from any text)
    assert np.abs(after[H - 2, 2] - (0x20, 0x2A, 0x10)).max() <= 3
    assert np.abs(before[H - 2, 2].astype(int) - (0x20, 0x2A, 0x10)).max() > 10
    # font: every text box is drawn in the brand's family
    families = {face.family for box in branded.boxes for _, face in box.faces}
    assert families == {read_font(brand.fonts.files[0])[0].family}
    assert {face.family for box in plain.boxes for _, face in box.faces} != families
    # logo: the pure green logo is in the header, top right
    green = (after[..., 1] > 240) & (after[..., 0] < 15) & (after[..., 2] < 15)
    ys, xs = np.nonzero(green)
    assert len(xs) > 100 and xs.min() > W / 2 and ys.max() < H / 3
    assert not ((before[..., 1] > 240) & (before[..., 0] < 15) & (before[..., 2] < 15)).any()


def test_brand_assets_are_recorded_with_hashes(brand_dir: Path) -> None:
    record = load_brand(brand_dir / "brand.toml").record()
    roles = [asset["role"] for asset in record["assets"]]
    assert roles == ["brand logo", "brand font", "brand font"]
    assert all(len(asset["sha256"]) == 64 for asset in record["assets"])
    assert record["name"] == "Test Desk" and record["disclosure"] == "Produced with automated tools."


def test_a_brand_without_fonts_checks_nothing() -> None:
    Brand().check_language("ja")  # the installed fonts (Noto CJK) draw it, as without a brand


def _coloured_logo(path: Path, channel: int) -> None:
    logo = np.zeros((60, 120, 4), np.uint8)
    logo[..., channel] = 255
    logo[..., 3] = 255
    Image.from_array(logo).save(path)


def _pure(picture: np.ndarray, channel: int) -> int:
    """Pixels of one pure primary colour (the logos are pure green or pure red)."""
    others = [c for c in range(3) if c != channel]
    return int(((picture[..., channel] > 240) & (picture[..., others[0]] < 15) & (picture[..., others[1]] < 15)).sum())


def test_replacing_a_brand_asset_under_the_same_path_remakes_the_visuals(brand_dir: Path, tmp_path: Path) -> None:
    """The stage cache counts the brand's assets by their bytes, and no in-process font cache keeps an old file."""
    script = Script(headline="Council approves park", sentences=["The plan adds a wetland boardwalk."],
                    language="en", template=None, plan=StoryPlan(), provenance={})  # fmt: skip
    pipe = Pipeline("brand-assets", [visuals], cache_dir=tmp_path / "cache")

    def run() -> tuple[bool, np.ndarray, set[str]]:
        brand = load_brand(brand_dir / "brand.toml")  # the same path each time
        look = VisualOptions(width=W, height=H, theme=brand.theme(), brand=brand, seed=0)
        made = pipe.run({"script": script, "look": look})
        title = made[visuals].items[0].path
        record = read_sidecar(title)
        assert record is not None
        families = {font["family"] for font in record.extra["fonts"]}
        return "visuals" in made.cached, np.asarray(Image.load(title).pil), families

    cached, first, serif = run()
    assert not cached and _pure(first, 1) > 100 and _pure(first, 0) == 0  # the green logo
    assert run()[0]  # nothing changed: reused
    _coloured_logo(brand_dir / "logo.png", 0)  # a red logo, same file name
    cached, second, families = run()
    assert not cached and _pure(second, 0) > 100 and _pure(second, 1) == 0
    assert families == serif
    # another family's files under the brand's font file names
    mono = [p for p in font_files() if any(f.family == "DejaVu Sans Mono" for f in read_font(p))]
    if not mono:
        pytest.skip("DejaVu Sans Mono is not installed")
    regular = min(mono, key=lambda p: ("bold" in p.stem.lower(), "oblique" in p.stem.lower(), p.name))
    for font in load_brand(brand_dir / "brand.toml").fonts.files:
        shutil.copy(regular, font)
    cached, _, families = run()
    assert not cached and families == {"DejaVu Sans Mono"}
