"""`aigc image generate|card|chart`: diffusion through the Studio with a tiny local model; renderers direct."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli import app
from aigc_sdk.media import Image
from tests.support import require_module

runner = CliRunner()


def test_card_every_aspect_and_json(tmp_path: Path) -> None:
    for aspect, size in (("16:9", (1920, 1080)), ("9:16", (1080, 1920)), ("1:1", (1080, 1080))):
        out = tmp_path / f"card-{aspect.replace(':', 'x')}.png"
        result = runner.invoke(
            app,
            [
                "image",
                "card",
                "--title",
                "沪指收涨 Markets up",
                "--kicker",
                "Markets",
                "--aspect",
                aspect,
                "-o",
                str(out),
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["files"] == [str(out)]
        assert payload["provenance"]["model_id"] == "card-renderer"
        assert Image.load(out).size == size


def test_card_layouts_from_options_and_geojson(tmp_path: Path, data_dir: Path) -> None:
    number = runner.invoke(
        app,
        [
            "image",
            "card",
            "--layout",
            "number",
            "--value",
            "4,189.77",
            "--delta",
            "0.93",
            "--label",
            "Composite",
            "--theme",
            "paper",
            "--width",
            "640",
            "--height",
            "360",
            "-o",
            str(tmp_path / "n.png"),
        ],
    )
    assert number.exit_code == 0, number.output
    bullets = runner.invoke(
        app,
        [
            "image",
            "card",
            "--layout",
            "bullets",
            "--title",
            "Changes",
            "--bullet",
            "One",
            "--bullet",
            "Two",
            "-o",
            str(tmp_path / "b.png"),
        ],
    )
    assert bullets.exit_code == 0, bullets.output
    quake = runner.invoke(
        app,
        [
            "image",
            "card",
            "--geojson",
            str(data_dir / "usgs_significant_week.geojson"),
            "--feature",
            "1",
            "--aspect",
            "1:1",
            "-o",
            str(tmp_path / "q.png"),
        ],
    )
    assert quake.exit_code == 0, quake.output
    prov = Image.load(tmp_path / "q.png").provenance
    assert prov is not None and prov.request["layout"] == "location" and "Ridgecrest" in prov.request["title"]


def test_card_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["image", "card", "--layout", "quote", "-o", str(tmp_path / "x.png")])
    assert missing.exit_code == 2
    assert "needs quote" in missing.output
    bad_theme = runner.invoke(app, ["image", "card", "--title", "x", "--theme", "neon", "-o", str(tmp_path / "x.png")])
    assert bad_theme.exit_code == 2


def test_chart_from_the_shared_csv(tmp_path: Path, data_dir: Path) -> None:
    csv = str(data_dir / "market_close.csv")
    out = tmp_path / "delta.png"
    result = runner.invoke(
        app,
        [
            "image",
            "chart",
            csv,
            "--kind",
            "delta",
            "--x",
            "date",
            "--y",
            "change_pct",
            "--unit",
            "%",
            "--where",
            "index=Composite",
            "--title",
            "每日涨跌",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.load(out).size == (1920, 1080)
    bad = runner.invoke(app, ["image", "chart", csv, "--x", "date", "--y", "nope", "-o", str(tmp_path / "c.png")])
    assert bad.exit_code == 2 and "no column 'nope'" in bad.output


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_generate_through_the_studio_with_a_local_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_module("diffusers", reason="needs the image extra")
    from tests.generators.image.helpers import save_tiny_pipeline

    model_dir = save_tiny_pipeline(tmp_path / "tiny-sd")
    catalog = tmp_path / "models.toml"
    catalog.write_text(
        f"""[[model]]
id = "tiny-sd"
task = "text-to-image"
backend = "aigc_sdk.generators.image.diffusers_image.DiffusersImageGenerator"
source = {{ kind = "local", path = "{model_dir}" }}
batchable = true
max_batch_size = 4
"""
    )
    monkeypatch.setenv("AIGC_MODELS", str(catalog))
    out = tmp_path / "fox.png"
    result = runner.invoke(
        app,
        [
            "image",
            "generate",
            "a red fox",
            "--model",
            "tiny-sd",
            "--width",
            "64",
            "--height",
            "64",
            "--steps",
            "2",
            "--num",
            "2",
            "--seed",
            "3",
            "-o",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [Path(p).name for p in payload["files"]] == ["fox-1.png", "fox-2.png"]
    assert payload["provenance"]["extra"]["seeds"] == [3, 4]
    assert Image.load(tmp_path / "fox-2.png").size == (64, 64)
    bad = runner.invoke(app, ["image", "generate", "x", "--model", "tiny-sd", "--width", "500", "-o", str(out)])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["image", "generate", "x", "--model", "sd-turbo", "-o", str(out)])
    assert missing.exit_code == 1 and "hf download stabilityai/sd-turbo" in missing.output.replace("\n", " ")
