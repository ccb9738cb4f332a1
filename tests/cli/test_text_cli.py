"""`aigc text`: prompt (tiny GPT-2 via a user catalog), template + data, article; errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli import app
from tests.generators.text.tiny_lm import build_tiny_lm

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture
def tiny_catalog(tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    catalog = tmp_path / "models.toml"
    catalog.write_text(
        "[[model]]\n"
        'id = "tiny-gpt2"\n'
        'task = "text-generation"\n'
        'backend = "aigc_sdk.generators.text.transformers_lm.TransformersTextGenerator"\n'
        f'source = {{ kind = "local", path = "{tiny_lm_dir}" }}\n'
        "batchable = true\nmax_batch_size = 4\nmemory_bytes = 10_000_000\n"
    )
    monkeypatch.setenv("AIGC_MODELS", str(catalog))
    return "tiny-gpt2"


def test_prompt_json_stream_and_output(tiny_catalog: str, tmp_path: Path) -> None:
    args = ["text", "The council voted", "--model", tiny_catalog, "--seed", "4", "--max-new-tokens", "8"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["provenance"]["model_id"] == "tiny-gpt2" and payload["provenance"]["seed"] == 4
    written = runner.invoke(app, [*args, "--output", str(tmp_path / "out.txt")])
    assert written.exit_code == 0, written.output
    assert written.stdout.rstrip("\n") == payload["text"]
    assert (tmp_path / "out.txt").read_text().rstrip("\n") == payload["text"]


def test_stream_prints_the_same_text(tiny_catalog: str) -> None:
    from aigc_sdk.runtime import GpuScheduler

    if not hasattr(GpuScheduler, "lease"):
        pytest.skip("GpuScheduler.lease (used by Studio.generator) is not there yet")
    args = ["text", "The council voted", "--model", tiny_catalog, "--seed", "4", "--max-new-tokens", "8"]
    payload = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    streamed = runner.invoke(app, [*args, "--stream"])
    assert streamed.exit_code == 0, streamed.output
    assert streamed.stdout.rstrip("\n") == payload["text"]


def test_template_and_article(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["text", "--template", "market-close", "--data", str(data_dir / "market_close.csv"), "-l", "zh"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Composite指数涨0.93%，收于4,189.77点")
    script = runner.invoke(app, ["text", "--article", str(data_dir / "article_en.md"), "--seconds", "30", "--json"])
    assert script.exit_code == 0, script.output
    payload = json.loads(script.stdout)
    assert 25.5 <= payload["provenance"]["extra"]["estimated_seconds"] <= 34.5
    assert payload["headline"] == "City council approves riverside park expansion"


def test_errors_exit_with_code_2(tmp_path: Path, data_dir: Path) -> None:
    both = runner.invoke(app, ["text", "hello", "--template", "market-close"])
    assert both.exit_code == 2 and "exactly one" in both.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,index\n2026-01-01,X\n")
    missing = runner.invoke(app, ["text", "-t", "market-close", "-d", str(bad)])
    assert missing.exit_code == 2 and "row 2.close" in missing.output
    nodata = runner.invoke(app, ["text", "-t", "market-close"])
    assert nodata.exit_code == 2 and "--data" in nodata.output


def test_template_with_vendor_data_map_and_name(tmp_path: Path) -> None:
    from tests.generators.text.test_sources import YAHOO, open_meteo

    gspc = tmp_path / "^GSPC.csv"
    gspc.write_text(YAHOO)
    result = runner.invoke(app, ["text", "-t", "market-close", "-d", str(gspc), "--name", "S&P 500"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("S&P 500 rises 0.95% to close at 5,955.03\n")
    assert "rose 55.91 points, or 0.95 percent" in result.stdout
    german = tmp_path / "dax.csv"
    german.write_text("Zeit,Schluss\n2026-11-24,19580.5\n2026-11-25,19480.25\n")
    mapped = runner.invoke(
        app, ["text", "-t", "market-close", "-d", str(german), "--map", "Zeit=date", "--map", "Schluss=close", "--json"]
    )
    assert mapped.exit_code == 0, mapped.output
    payload = json.loads(mapped.stdout)
    assert payload["headline"] == "DAX falls 0.51% to close at 19,480.25"  # the name from the file name
    assert payload["provenance"]["extra"]["field_map"] == {"Zeit": "date", "Schluss": "close"}
    forecast = tmp_path / "forecast.json"
    forecast.write_text(json.dumps(open_meteo()))
    weather = runner.invoke(app, ["text", "-t", "weather-summary", "-d", str(forecast), "-l", "zh"])
    assert weather.exit_code == 0, weather.output
    assert weather.stdout.startswith("里斯本2026年11月26日小雨，最高气温18.4摄氏度\n")  # an old forecast: its date


def test_map_and_name_errors_exit_with_code_2(tmp_path: Path) -> None:
    from tests.generators.text.test_sources import YAHOO

    gspc = tmp_path / "^GSPC.csv"
    gspc.write_text(YAHOO)
    unknown = runner.invoke(app, ["text", "-t", "market-close", "-d", str(gspc), "--map", "Zeit=date"])
    assert unknown.exit_code == 2
    assert "has no column or key 'Zeit'" in unknown.output and "Adj Close, Close, Date" in unknown.output
    malformed = runner.invoke(app, ["text", "-t", "market-close", "-d", str(gspc), "--map", "Zeit"])
    assert malformed.exit_code == 2 and "COLUMN=FIELD" in malformed.output
    article_map = runner.invoke(app, ["text", "hello", "--name", "X"])
    assert article_map.exit_code == 2 and "--map and --name are for --template" in article_map.output
