"""`import aigc_sdk` stays light: no heavy library is imported until a generator needs it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["torch", "transformers", "diffusers", "TTS", "librosa", "moviepy", "piper", "onnxruntime", "ray"]

SCRIPT = f"""
import json, sys
import aigc_sdk
first = sorted(m for m in {HEAVY!r} if m in sys.modules)
# touching the typed core must not pull heavy libraries either
aigc_sdk.SpeechRequest(prompt="hi"); aigc_sdk.ImageRequest(prompt="x"); aigc_sdk.ModelSpec
from aigc_sdk.registry import ModelRegistry
ModelRegistry().resolve("text-to-speech")
aigc_sdk.Studio().close()
second = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps([first, second]))
"""


def test_import_pulls_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    first, second = json.loads(out.stdout)
    assert first == []
    assert second == []


def test_import_does_not_import_pydantic_or_numpy_until_used() -> None:
    code = "import sys, aigc_sdk; print(sorted(m for m in ('pydantic','numpy','PIL') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
