"""The examples run: the notebook's code cells execute in order (no kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
