"""The one loader: every model the SDK builds, whoever asks, goes through :func:`load`.

:meth:`ModelRegistry.create <aigc_sdk.registry.ModelRegistry.create>` and the scheduler's
default loader both call it, so a model is checked the same way wherever it is built:

1. its weights are located (:func:`~aigc_sdk.registry.resolve_weights`: never a surprise download);
2. pickle weights are refused unless the spec (or the :class:`LoadPolicy`) allows them;
3. the sha256 of each locked file (``ModelSpec.files``) is checked;
4. the backend class named by the spec's dotted path is imported (:func:`import_backend`, the
   one importer) and built with ``cls(spec, device=device)``.

``trust_remote_code`` is never turned on here: backends pass the spec's own flag, which is
False unless the spec sets it. The :class:`Generator` protocol, what the loader returns and
what the scheduler speaks to, lives here too, below both the runtime and the generators.
This module imports no heavy library.

Example:
    >>> import tempfile, pathlib
    >>> from aigc_sdk.registry import LocalSource, ModelSpec
    >>> from aigc_sdk.registry.loader import load
    >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "model.safetensors").write_bytes(b"w")
    >>> spec = ModelSpec(id="tiny", task="text-generation", backend="aigc_sdk.errors.NoSuch",
    ...                  source=LocalSource(path=folder))
    >>> try:
    ...     load(spec, "cpu")
    ... except ModelLoadError as e:
    ...     print(e.message)
    'aigc_sdk.errors' has no 'NoSuch' class (backend of 'tiny')
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

from aigc_sdk._internal.hashing import sha256_file
from aigc_sdk.errors import ModelIntegrityError, ModelLoadError, UnsafeModelError
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import resolve_weights
from aigc_sdk.types import Request, Result, Task

__all__ = [
    "PICKLE_SUFFIXES",
    "SAFE_SUFFIXES",
    "FileCheck",
    "Generator",
    "LoadPolicy",
    "check_hashes",
    "check_weights_policy",
    "import_backend",
    "load",
    "verify_files",
    "weights_root",
]

#: Weight formats that can run code when loaded (refused unless allowed).
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})
#: Weight formats that cannot run code when loaded.
SAFE_SUFFIXES = frozenset({".safetensors", ".onnx", ".gguf"})

ReqT_contra = TypeVar("ReqT_contra", bound=Request, contravariant=True)
ResT_co = TypeVar("ResT_co", bound=Result, covariant=True)


@runtime_checkable
class Generator(Protocol[ReqT_contra, ResT_co]):
    """What every generator offers; the scheduler speaks to generators only through this.

    Example:
        >>> from aigc_sdk.generators.base import Generator
        >>> class Echo:
        ...     task = "text-generation"; spec = None; device = "cpu"
        ...     def __call__(self, request): return request
        ...     def batch(self, requests): return list(requests)
        ...     def to(self, device): return self
        ...     def close(self): pass
        >>> isinstance(Echo(), Generator)
        True
    """

    @property
    def task(self) -> Task:
        """The task it performs."""
        ...

    @property
    def spec(self) -> ModelSpec:
        """The registry spec it was built from."""
        ...

    @property
    def device(self) -> str:
        """Where the model is loaded."""
        ...

    def __call__(self, request: ReqT_contra, /) -> ResT_co:
        """Run one request."""
        ...

    def batch(self, requests: Sequence[ReqT_contra], /) -> Sequence[ResT_co]:
        """Run several requests together; one result per request, in order."""
        ...

    def to(self, device: str, /) -> Self:
        """Move the model to ``device`` (``cpu``, ``cuda:0``, ``mps``)."""
        ...

    def close(self) -> None:
        """Release the model and its memory."""
        ...


@dataclasses.dataclass(frozen=True)
class LoadPolicy:
    """The weights safety policy :func:`load` applies to every model.

    Args:
        allow_pickle: Accept pickle weights for every spec. Without it, only a spec that sets
            its own ``allow_pickle`` may load pickle weights.
        verify_hashes: Check the sha256 of each file locked in ``ModelSpec.files`` before the
            backend reads it. A file is hashed once per process while its size and
            modification time stay the same.

    Example:
        >>> LoadPolicy().allow_pickle, LoadPolicy().verify_hashes
        (False, True)
    """

    allow_pickle: bool = False
    verify_hashes: bool = True


@dataclasses.dataclass(frozen=True)
class FileCheck:
    """The outcome of checking one locked file.

    Example:
        >>> FileCheck(file="model.onnx", expected="ab", actual="ab").ok
        True
    """

    file: str
    expected: str
    actual: str | None

    @property
    def ok(self) -> bool:
        """Whether the file exists and its hash matches.

        Example:
            >>> FileCheck(file="m", expected="ab", actual=None).ok
            False
        """
        return self.actual == self.expected


def load(spec: ModelSpec, device: str = "cpu", policy: LoadPolicy | None = None) -> Generator[Any, Any]:
    """Build the generator of ``spec`` on ``device``, after the checks of ``policy`` (default: :class:`LoadPolicy`).

    Raises:
        ModelNotAvailableError: The weights are not on disk (the hint is the fetch command).
        UnsafeModelError: Pickle weights, and neither the spec nor the policy allows them.
        ModelIntegrityError: A locked file is missing or its sha256 differs.
        ModelLoadError: The backend module or class does not exist.

    Example:
        >>> import pickle, tempfile, pathlib
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "pytorch_model.bin").write_bytes(pickle.dumps([1.0]))
        >>> spec = ModelSpec(id="old", task="text-generation", backend="a.B", source=LocalSource(path=folder))
        >>> try:
        ...     load(spec, "cpu")
        ... except UnsafeModelError as e:
        ...     print(e.message)
        old: weights are pickle files (pytorch_model.bin), which can run code
    """
    policy = policy or LoadPolicy()
    path = resolve_weights(spec)
    check_weights_policy(spec, path, allow_pickle=policy.allow_pickle)
    if policy.verify_hashes:
        check_hashes(spec, verify_files(spec, path, reuse=True))
    backend = import_backend(spec.backend, model_id=spec.id)
    generator: Generator[Any, Any] = backend(spec, device=device)
    return generator


def import_backend(dotted: str, *, model_id: str | None = None) -> Callable[..., Any]:
    """Import the generator class named by a dotted path: the SDK's one dotted-path importer.

    "Module missing" means the backend module itself (or a package above it) does not exist:
    that is a :class:`~aigc_sdk.errors.ModelLoadError`. A module the backend imports that is
    missing is the backend's own problem: its ``ModuleNotFoundError`` propagates unchanged.

    Args:
        dotted: ``package.module.Class``.
        model_id: The spec it is for, named in the error messages.

    Raises:
        ModelLoadError: The module does not exist, or has no such class.

    Example:
        >>> import_backend("aigc_sdk.generators.base.BaseGenerator").__name__
        'BaseGenerator'
        >>> try:
        ...     import_backend("no_such_pkg.Ghost", model_id="ghost")
        ... except ModelLoadError as e:
        ...     print(e.message)
        cannot import 'no_such_pkg' (backend of 'ghost'): the module does not exist
    """
    module_name, _, attr = dotted.rpartition(".")
    of = f"backend of {model_id!r}" if model_id else f"backend {dotted!r}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ModelLoadError(
                f"cannot import {module_name!r} ({of}): the module does not exist",
                hint="check the spec's backend path, or install the package that provides it",
            ) from exc
        raise
    cls = getattr(module, attr, None)
    if not callable(cls):
        raise ModelLoadError(f"{module_name!r} has no {attr!r} class ({of})")
    return cls  # type: ignore[no-any-return]


def check_weights_policy(spec: ModelSpec, path: Path, *, allow_pickle: bool = False) -> None:
    """Refuse pickle-only weights unless ``spec.allow_pickle`` or ``allow_pickle`` (judged by content, not suffix).

    Raises:
        UnsafeModelError: Only pickle formats (.bin/.pt/.ckpt …) were found.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> import pickle
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "pytorch_model.bin").write_bytes(pickle.dumps([1.0]))
        >>> spec = ModelSpec(id="x", task="text-generation", backend="a.B", source=LocalSource(path=d))
        >>> try:
        ...     check_weights_policy(spec, d)
        ... except UnsafeModelError as e:
        ...     "pickle" in str(e)
        True
    """
    if spec.allow_pickle or allow_pickle:
        return
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    if {p.suffix.lower() for p in files} & SAFE_SUFFIXES:
        return  # a safe format is there: loaders take it over any pickle beside it
    pickles = sorted(p.name for p in files if _is_pickle(p))
    if pickles:
        raise UnsafeModelError(f"{spec.id}: weights are pickle files ({', '.join(pickles[:3])}), which can run code")


def _is_pickle(path: Path) -> bool:
    """Whether a weights file is a pickle (or a torch zip holding one), judged by its first bytes.

    ``.bin`` is also CTranslate2's format, which is not pickle: the suffix alone does not decide.
    """
    suffix = path.suffix.lower()
    if suffix not in PICKLE_SUFFIXES:
        return False
    if suffix in (".pkl", ".pickle"):
        return True
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head.startswith(b"PK\x03\x04") or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def weights_root(path: Path) -> Path:
    """Folder that locked file names are relative to (the file's folder for single-file weights).

    Example:
        >>> weights_root(Path("/")).name
        ''
    """
    return path if path.is_dir() else path.parent


def verify_files(spec: ModelSpec, path: Path | None = None, *, reuse: bool = False) -> list[FileCheck]:
    """Hash each of ``spec.files`` under its weights folder (no exception on mismatch).

    Args:
        spec: The spec whose lock is checked.
        path: Its weights, if already located (default: :func:`~aigc_sdk.registry.resolve_weights`).
        reuse: Reuse a hash this process computed for the same file, size and modification time.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> verify_files(ModelSpec(id="x", task="text-generation", backend="a.B", source=LocalSource(path="/tmp")))
        []
    """
    root = weights_root(resolve_weights(spec) if path is None else path)
    checks = []
    for name, expected in sorted(spec.files.items()):
        file = root / name
        actual = None if not file.is_file() else _hash_once(file) if reuse else sha256_file(file)
        checks.append(FileCheck(name, expected, actual))
    return checks


def check_hashes(spec: ModelSpec, checks: Sequence[FileCheck]) -> None:
    """Raise when a check of :func:`verify_files` failed.

    Raises:
        ModelIntegrityError: A locked file is missing or its sha256 differs (the message lists them).

    Example:
        >>> try:
        ...     check_hashes(ModelSpec(id="x", task="text-generation", backend="a.B", source={"kind": "local",
        ...                  "path": "/m"}), [FileCheck("model.onnx", "ab", None)])
        ... except ModelIntegrityError as e:
        ...     print(e.message)
        x: model.onnx (missing)
    """
    bad = [c for c in checks if not c.ok]
    if bad:
        detail = ", ".join(f"{c.file} ({'missing' if c.actual is None else 'sha256 differs'})" for c in bad)
        raise ModelIntegrityError(f"{spec.id}: {detail}")


_hashed: dict[tuple[str, int, int, int], str] = {}
_hashed_lock = threading.Lock()


def _hash_once(path: Path) -> str:
    """sha256 of ``path``, remembered for the process by (path, inode, size, modification time)."""
    stat = os.stat(path)
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _hashed_lock:
        known = _hashed.get(key)
    if known is None:
        known = sha256_file(path)
        with _hashed_lock:
            _hashed[key] = known
    return known
