"""The examples run: the notebook's code cells execute in order (no kernel needed), and each script in examples/
runs as a user would run it (a subprocess), writing into the test's folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk.media import Video
from tests.support import require_module

ROOT = Path(__file__).resolve().parents[1]

require_module("piper", reason="needs the voice extra")


def test_news_clip_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = json.loads((ROOT / "examples" / "news_clip.ipynb").read_text())
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    exec(compile(cells[0], "cell-1", "exec"), namespace)
    namespace["OUT"] = tmp_path  # write into the test's folder, not the checkout
    for i, source in enumerate(cells[1:], 2):
        exec(compile(source, f"cell-{i}", "exec"), namespace)
    clip = namespace["clip"]
    assert clip.video.parent == tmp_path
    assert namespace["video"].info.width == 720
    assert any(item["what"] == "narration" for item in namespace["manifest"]["licenses"])


def _run_example(script: str, *args: str, cwd: Path) -> str:
    """Run ``examples/<script> args`` from ``cwd`` as a user would; it must exit 0 without a traceback."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return run.stdout


def _outputs(folder: Path, stem: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(stem))


@pytest.mark.slow
def test_article_to_clip_example(tmp_path: Path) -> None:
    out = tmp_path / "park.mp4"
    printed = _run_example("article_to_clip.py", "--out", str(out), "--seconds", "20", cwd=tmp_path)
    assert printed.strip().startswith(f"{out}: ") and printed.strip().endswith("(reused stages: none)")
    video = Video.load(out)
    assert (video.info.width, video.info.height) == (720, 1280)  # the example asks for 9:16
    assert 15.0 < video.info.duration < 30.0
    assert _outputs(tmp_path, "park") == [
        "park.jpg", "park.jpg.provenance.json", "park.manifest.json", "park.mp4", "park.mp4.provenance.json",
        "park.srt", "park.vtt",
    ]  # fmt: skip


@pytest.mark.slow
def test_news_clip_from_feed_example(tmp_path: Path) -> None:
    out = tmp_path / "quake.mp4"
    printed = _run_example("news_clip_from_feed.py", "--out", str(out), "--aspect", "1:1", cwd=tmp_path).splitlines()
    events = [line.split() for line in printed[:-1]]
    assert ["script", "started"] in events and ["render", "done"] in events  # the progress it prints
    assert printed[-1].startswith(f"{out}: ") and printed[-1].endswith(f"manifest {tmp_path / 'quake.manifest.json'}")
    video = Video.load(out)
    assert (video.info.width, video.info.height) == (720, 720)
    manifest = json.loads((tmp_path / "quake.manifest.json").read_text())
    assert manifest["artifacts"]["video"]["path"] == str(out)
    assert manifest["config"]["template"] == "usgs-earthquakes"
    assert _outputs(tmp_path, "quake") == [
        "quake.jpg", "quake.jpg.provenance.json", "quake.manifest.json", "quake.mp4", "quake.mp4.provenance.json",
        "quake.srt", "quake.vtt",
    ]  # fmt: skip
