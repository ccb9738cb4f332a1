"""The one loader: one policy for every model, and one dotted-path importer."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from aigc_sdk.errors import ModelIntegrityError, ModelLoadError, ModelNotAvailableError, UnsafeModelError
from aigc_sdk.registry import LoadPolicy, LocalSource, ModelRegistry, ModelSpec, import_backend, load
from aigc_sdk.runtime import load_generator

BACKEND = "tests.generators.test_base.NoiseText"


def _spec(folder: Path, **fields: object) -> ModelSpec:
    base = {"id": "tiny", "task": "text-generation", "backend": BACKEND, "source": LocalSource(path=folder)}
    return ModelSpec.model_validate({**base, **fields})


def _folder(path: Path, name: str, content: bytes) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(content)
    return path


def test_registry_and_scheduler_default_loader_apply_the_same_policy(tmp_path: Path) -> None:
    pickled = _spec(_folder(tmp_path / "p", "pytorch_model.bin", pickle.dumps([1.0])))
    for create in (ModelRegistry([pickled], catalogs=False).create, lambda s: load_generator(s, "cpu"), load):
        with pytest.raises(UnsafeModelError, match="pickle"):
            create(pickled)
    gone = _spec(tmp_path / "nowhere")
    for create in (ModelRegistry(catalogs=False).create, lambda s: load_generator(s, "cpu"), load):
        with pytest.raises(ModelNotAvailableError, match="not found"):
            create(gone)


def test_policy_allows_pickle_for_every_spec_only_when_asked(tmp_path: Path) -> None:
    spec = _spec(_folder(tmp_path / "p", "pytorch_model.bin", pickle.dumps([1.0])))
    assert load(spec, "cpu", LoadPolicy(allow_pickle=True)).spec.id == "tiny"
    registry = ModelRegistry([spec], catalogs=False, policy=LoadPolicy(allow_pickle=True))
    assert registry.create("tiny").spec.id == "tiny"
    assert registry.policy == LoadPolicy(allow_pickle=True)
    assert ModelRegistry(catalogs=False).policy == LoadPolicy()


def test_locked_hashes_are_checked_on_every_load_path(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", "model.safetensors", b"weights")
    spec = _spec(folder, files={"model.safetensors": hashlib.sha256(b"weights").hexdigest()})
    registry = ModelRegistry([spec], catalogs=False)
    assert registry.create("tiny")(prompt="x", seed=1).provenance.model_id == "tiny"
    (folder / "model.safetensors").write_bytes(b"tampered")  # a new size: hashed again, not remembered
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors \(sha256 differs\)"):
        registry.create("tiny")
    with pytest.raises(ModelIntegrityError):
        load_generator(spec, "cpu")
    assert load(spec, "cpu", LoadPolicy(verify_hashes=False)).spec.id == "tiny"  # asked not to check
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.create("tiny")


def test_one_importer_tells_a_missing_backend_from_a_missing_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelLoadError, match=r"cannot import 'no_such_pkg' \(backend of 'ghost'\)"):
        import_backend("no_such_pkg.Ghost", model_id="ghost")
    with pytest.raises(ModelLoadError, match=r"cannot import 'aigc_sdk\.no_such_module'"):
        import_backend("aigc_sdk.no_such_module.Gen")
    # A backend whose own import fails on a missing dependency named like a prefix of it
    # ("aigc_dep" of "aigc_dep_backend"): the dependency's error, not "the backend does not exist".
    (tmp_path / "aigc_dep_backend.py").write_text("import aigc_dep\n\nclass Gen: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        import_backend("aigc_dep_backend.Gen")
    assert info.value.name == "aigc_dep" and not isinstance(info.value, ModelLoadError)
    with pytest.raises(ModelLoadError, match="has no 'Nope' class"):
        import_backend("aigc_sdk.errors.Nope")
    with pytest.raises(ModelLoadError, match="has no '__doc__' class"):
        import_backend("aigc_sdk.errors.__doc__")  # there, but not a class
