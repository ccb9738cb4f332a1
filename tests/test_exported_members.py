"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import importlib
import inspect

import pytest

import aigc_sdk

EXPECTED = {
    "AigcError", "Audio", "AudioResult", "BaseGenerator", "GenerationError", "Generator", "HubSource", "Image",
    "ImageRequest", "ImageResult", "InvalidRequestError", "LocalSource", "MediaError", "MissingDependencyError",
    "ModelError", "ModelIntegrityError", "ModelLoadError", "ModelNotAvailableError", "ModelSpec", "MusicRequest",
    "OutOfDeviceMemoryError", "PackageSource", "PipelineError", "Provenance", "RequestCancelledError",
    "RequestTimeoutError", "SchedulerBusyError", "SchedulerClosedError", "SchedulerError", "Segment",
    "SpeechRequest", "Task", "TextRequest", "TextResult", "TranscribeRequest", "TranscriptResult",
    "UnknownModelError", "UnsafeModelError", "Video", "VideoRequest", "VideoResult", "Word", "__version__",
    "EmbedRequest", "EmbeddingResult", "GpuScheduler", "ModelRegistry", "Studio", "default_studio",
    "PipelineCancelledError", "embed", "image", "music", "speech", "text", "transcribe", "video",
}  # fmt: skip

PUBLIC_MODULES = [
    "aigc_sdk",
    "aigc_sdk.errors",
    "aigc_sdk.types",
    "aigc_sdk.media",
    "aigc_sdk.provenance",
    "aigc_sdk.generators",
    "aigc_sdk.generators.base",
    "aigc_sdk.generators.audio.piper",
    "aigc_sdk.generators.audio.espeak",
    "aigc_sdk.generators.audio.coqui",
    "aigc_sdk.generators.audio.whisper",
    "aigc_sdk.generators.audio.hf_whisper",
    "aigc_sdk.generators.audio.music",
    "aigc_sdk.generators.audio.musicbed",
    "aigc_sdk.generators.text.embeddings",
    "aigc_sdk.generators.text.e5",
    "aigc_sdk.generators.text.transformers_lm",
    "aigc_sdk.generators.text.template",
    "aigc_sdk.generators.text.script_writer",
    "aigc_sdk.generators.text.article",
    "aigc_sdk.generators.image.diffusers_image",
    "aigc_sdk.generators.image.clip",
    "aigc_sdk.generators.image.cards",
    "aigc_sdk.generators.image.maps",
    "aigc_sdk.generators.image.charts",
    "aigc_sdk.generators.image.photos",
    "aigc_sdk.audio",
    "aigc_sdk.pipelines",
    "aigc_sdk.trust",
    "aigc_sdk.trust.credentials",
    "aigc_sdk.trust.watermark",
    "aigc_sdk.trust.licenses",
    "aigc_sdk.registry",
    "aigc_sdk.runtime",
    "aigc_sdk.studio",
    "aigc_sdk.cli",
]


def test_all_is_pinned() -> None:
    assert set(aigc_sdk.__all__) == EXPECTED
    assert len(aigc_sdk.__all__) == len(EXPECTED), "duplicates in __all__"


def test_every_exported_name_resolves_and_is_public_module_member() -> None:
    for name in aigc_sdk.__all__:
        value = getattr(aigc_sdk, name)
        if name == "__version__":
            assert isinstance(value, str)
            continue
        module = getattr(value, "__module__", "")
        assert module.startswith("aigc_sdk"), (name, module)


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = aigc_sdk.nope  # type: ignore[attr-defined]


def test_dir_lists_public_names() -> None:
    assert set(dir(aigc_sdk)) >= EXPECTED


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring_with_an_example(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, module_name
    for name in getattr(module, "__all__", []):
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{module_name}.{name} has no docstring"
        assert "Example" in doc or ">>>" in doc, f"{module_name}.{name} has no example"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (
                    inspect.isfunction(member) or isinstance(member, classmethod | property)
                ):
                    continue
                if getattr(member, "__module__", module_name).split(".")[0] != "aigc_sdk" and not isinstance(
                    member, property
                ):
                    continue
                member_doc = inspect.getdoc(member) or ""
                assert member_doc, f"{module_name}.{name}.{attr} has no docstring"
