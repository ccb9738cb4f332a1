"""A news clip is signed with its ingredients, and its licence record names every model, voice and font."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk import Studio
from aigc_sdk.cli.app import app
from aigc_sdk.errors import MediaError
from aigc_sdk.media import Video
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
from aigc_sdk.trust import verify_file
from aigc_sdk.trust.watermark import detect_video_watermark
from tests.support import require_module

require_module("piper", reason="needs the voice extra")
require_module("c2pa", reason="needs the trust extra")


def test_news_clip_credentials_and_licences(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = NewsClipConfig(
        input=data_dir / "article_en.md", output=tmp_path / "park.mp4", aspect="1:1", target_seconds=5,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    with Studio() as studio:
        clip = news_clip(config, studio=studio)
    manifest = json.loads(clip.manifest.read_text())
    assert manifest["credentials"] is True
    ingredients = manifest["ingredients"]
    used = {ingredients[name]["model_id"] for name in ("script", "narration", "music") if ingredients.get(name)}
    used |= {visual["source"] for visual in ingredients["visuals"]}
    fonts = {
        font["family"]
        for visual in ingredients["visuals"]
        for font in (visual.get("provenance") or {}).get("extra", {}).get("fonts", [])
    }
    listed = {item["id"] for item in manifest["licenses"]}
    assert fonts and used | fonts <= listed
    assert all(item["license"] for item in manifest["licenses"])
    assert manifest["license_warnings"] == []

    check = verify_file(clip.video)
    assert check.valid and check.untrusted
    assert check.digital_source_type is not None and check.digital_source_type.endswith(
        "compositeWithTrainedAlgorithmicMedia"
    )
    assert check.made_of is not None and check.made_of["narration"]["model_id"] == "en-joe"
    assert {item["id"] for item in check.made_of["licenses"]} == listed
    # the files that went in are C2PA ingredients, each carrying its own validated manifest
    parts = {part.role: part for part in check.ingredients}
    assert parts["narration"].model_id == "en-joe" and parts["narration"].format == "audio/wav"
    visuals = [part for role, part in parts.items() if role not in ("narration", "music")]
    assert len(visuals) == len(ingredients["visuals"]) and all(part.format == "image/png" for part in visuals)
    assert all(part.signed and part.valid for part in check.ingredients)
    assert {part.model_id for part in visuals} <= {"card-renderer", "chart-renderer"}
    result = CliRunner().invoke(app, ["verify", str(clip.video)])
    assert result.exit_code == 0, result.output
    assert "ingredient narration (" in result.output and "en-joe, own credentials valid" in result.output
    assert "watermark: found" in result.output  # frames of generated cards are marked by default

    unmarked = news_clip(config.model_copy(update={"watermark": False, "output": tmp_path / "plain.mp4"}))
    assert set(unmarked.reused) == {"script", "narration", "visuals", "music"}  # only the render depends on it
    plain = Video.load(unmarked.video).provenance
    assert plain is not None and "watermark" not in plain.extra
    assert not detect_video_watermark(unmarked.video).detected
    marked = Video.load(clip.video).provenance
    assert marked is not None and marked.extra["watermark"]["frames"] > 0

    # a clip that cannot be signed as asked is not published: no MP4, no sidecar, nothing half-written
    (tmp_path / "bad.pem").write_text("not a certificate")
    monkeypatch.setenv("AIGC_C2PA_CERT", str(tmp_path / "bad.pem"))
    monkeypatch.setenv("AIGC_C2PA_KEY", str(tmp_path / "bad.pem"))
    failed = config.model_copy(update={"output": tmp_path / "unsigned" / "clip.mp4", "credentials": True})
    with pytest.raises(MediaError, match="could not sign"):
        news_clip(failed)
    assert sorted(p.name for p in (tmp_path / "unsigned").iterdir()) == []
    monkeypatch.delenv("AIGC_C2PA_CERT")
    monkeypatch.delenv("AIGC_C2PA_KEY")

    data = bytearray(clip.video.read_bytes())
    data[-2000] ^= 0xFF  # a byte of the media data
    clip.video.write_bytes(bytes(data))
    assert not verify_file(clip.video).valid
    assert CliRunner().invoke(app, ["verify", str(clip.video), "--no-watermark"]).exit_code == 1
