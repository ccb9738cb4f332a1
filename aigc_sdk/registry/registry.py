"""``ModelRegistry``: the specs the SDK knows, per-task defaults, catalogs, hashes and safe loading."""

from __future__ import annotations

import builtins
import importlib.resources
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aigc_sdk._internal.languages import speaks
from aigc_sdk._internal.settings import Settings
from aigc_sdk.errors import InvalidRequestError, UnknownModelError
from aigc_sdk.registry.loader import (
    FileCheck,
    Generator,
    LoadPolicy,
    check_hashes,
    import_backend,
    load,
    verify_files,
)
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.registry.weights import is_available_offline
from aigc_sdk.types import Task

# import_backend stays importable from here (generators/text/transformers_lm.py imports it by this path)
__all__ = ["FileCheck", "ModelRegistry", "import_backend", "load_catalog"]


def load_catalog(path: str | Path) -> list[ModelSpec]:
    """Read the ``[[model]]`` tables of a TOML catalog into specs.

    Raises:
        InvalidRequestError: The file is not valid TOML or an entry is not a valid spec.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "models.toml"
        >>> _ = p.write_text('''
        ... [[model]]
        ... id = "my-voice"
        ... task = "text-to-speech"
        ... backend = "aigc_sdk.generators.audio.piper.PiperSpeechGenerator"
        ... source = { kind = "local", path = "/models/my-voice.onnx" }
        ... ''')
        >>> [s.id for s in load_catalog(p)]
        ['my-voice']
    """
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequestError(f"cannot read model catalog {source}: {exc}") from exc
    return _specs_from(data, str(source))


def _specs_from(data: dict[str, Any], where: str) -> list[ModelSpec]:
    entries = data.get("model", [])
    if not isinstance(entries, list):
        raise InvalidRequestError(f"{where}: 'model' must be an array of tables ([[model]])")
    specs = []
    for i, entry in enumerate(entries):
        name = entry.get("id", f"#{i + 1}") if isinstance(entry, dict) else f"#{i + 1}"
        if not isinstance(entry, dict):
            raise InvalidRequestError(f"{where}: model {name} is not a table")
        try:
            specs.append(ModelSpec.model_validate(entry))
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"{where}: model {name}: {exc.message}") from exc
    return specs


def builtin_catalog() -> list[ModelSpec]:
    """The catalogs shipped inside the package (``aigc_sdk/registry/catalog/*.toml``).

    Example:
        >>> any(s.id == "en-joe" for s in builtin_catalog())
        True
    """
    folder = importlib.resources.files("aigc_sdk.registry").joinpath("catalog")
    specs: list[ModelSpec] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            specs += _specs_from(tomllib.loads(entry.read_text(encoding="utf-8")), f"built-in catalog {entry.name}")
    return specs


class ModelRegistry:
    """Specs by id, with per-task defaults; creates generators through the one loader.

    A registry starts with the built-in catalog, then the user catalog
    (``<cache>/models.toml``) and the files in ``AIGC_MODELS``; later entries
    override earlier ones with the same id.

    Args:
        specs: Extra specs to register (after the catalogs).
        catalogs: Load the built-in and user catalogs (turn off for an empty registry).
        policy: The weights safety policy :meth:`create` applies (default: :class:`LoadPolicy`:
            no pickle unless a spec allows it, locked hashes checked).

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec, ModelRegistry
        >>> reg = ModelRegistry(catalogs=False)
        >>> _ = reg.register(ModelSpec(id="my-lm", task="text-generation", backend="pkg.mod.Gen",
        ...                            source=LocalSource(path="/models/lm"), default=True))
        >>> reg.resolve("text-generation").id
        'my-lm'
        >>> try:
        ...     reg.get("nope")
        ... except KeyError as e:
        ...     "my-lm" in str(e)
        True
    """

    def __init__(
        self, specs: Iterable[ModelSpec] = (), *, catalogs: bool = True, policy: LoadPolicy | None = None
    ) -> None:
        self.policy = policy or LoadPolicy()
        self._specs: dict[str, ModelSpec] = {}
        self._lock = threading.RLock()
        if catalogs:
            for spec in builtin_catalog():
                self.register(spec)
            settings = Settings.from_env()
            user = self.user_catalog_path()
            for path in ([user] if user.exists() else []) + list(settings.model_catalogs):
                for spec in load_catalog(path):
                    self.register(spec, exist_ok=True)
        for spec in specs:
            self.register(spec)

    @staticmethod
    def user_catalog_path() -> Path:
        """The user's catalog file, written by ``aigc models add``.

        Example:
            >>> ModelRegistry.user_catalog_path().name
            'models.toml'
        """
        return Settings.from_env().cache_dir / "models.toml"

    def register(self, spec: ModelSpec, *, exist_ok: bool = False) -> ModelSpec:
        """Add ``spec``; an existing id is an error unless ``exist_ok`` (then it is replaced).

        Example:
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> reg = ModelRegistry(catalogs=False)
            >>> spec = ModelSpec(id="a", task="text-generation", backend="p.G", source=LocalSource(path="/m"))
            >>> _ = reg.register(spec)
            >>> try:
            ...     reg.register(spec)
            ... except ValueError as e:
            ...     "already registered" in str(e)
            True
        """
        with self._lock:
            if spec.id in self._specs and not exist_ok:
                raise InvalidRequestError(
                    f"model {spec.id!r} is already registered", hint="pass exist_ok=True to replace it"
                )
            self._specs[spec.id] = spec
        return spec

    def get(self, model_id: str) -> ModelSpec:
        """The spec with this id.

        Raises:
            UnknownModelError: No such id (the message lists the known ids).

        Example:
            >>> ModelRegistry().get("en-joe").task.value
            'text-to-speech'
        """
        with self._lock:
            try:
                return self._specs[model_id]
            except KeyError:
                raise UnknownModelError(model_id, known=self._specs) from None

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def list(self, task: Task | str | None = None) -> builtins.list[ModelSpec]:
        """Specs sorted by id, optionally only those for ``task``.

        Example:
            >>> [s.id for s in ModelRegistry().list("text-to-speech")][:1]
            ['en-joe']
        """
        wanted = Task(task) if task is not None else None
        with self._lock:
            specs = sorted(self._specs.values(), key=lambda s: s.id)
        return [s for s in specs if wanted is None or s.task == wanted]

    def resolve(self, task: Task | str, name: str | None = None, *, language: str | None = None) -> ModelSpec:
        """The spec for ``task``: ``name`` if given, else the task's default (for ``language`` if given).

        Without a name, candidates are the task's specs (those speaking ``language``'s primary
        subtag, when given; specs without languages count as speaking any). The first one whose
        weights are on disk wins, in this order: candidates flagged ``default`` (last registered
        first), then the others, most specialised (fewest languages) first. When none is on
        disk, a default is still returned, so that using it says how to fetch it.

        Raises:
            UnknownModelError: Unknown name, or no model for the task.
            InvalidRequestError: ``name`` is a model for another task, or no model of the task speaks ``language``.

        Example:
            >>> ModelRegistry().resolve("text-to-speech").id
            'en-joe'
        """
        wanted = Task(task)
        if name is not None:
            spec = self.get(name)
            if spec.task != wanted:
                raise InvalidRequestError(f"model {name!r} does {spec.task.value}, not {wanted.value}")
            return spec
        with self._lock:
            ordered = [s for s in self._specs.values() if s.task == wanted]
        if language is not None and ordered:
            ordered = [s for s in ordered if speaks(s.languages, language)]
            if not ordered:
                raise InvalidRequestError(
                    f"no {wanted.value} model speaks {language!r}",
                    hint="install one (e.g. the audio extra's eSpeak voices) or register it: aigc models add",
                )
        defaults = [s for s in reversed(ordered) if s.default]
        others = sorted((s for s in ordered if not s.default), key=lambda s: (len(s.languages) or 10_000, s.id))
        for spec in [*defaults, *others]:
            if is_available_offline(spec):
                return spec
        if defaults:
            return defaults[0]  # not on disk: using it raises ModelNotAvailableError with the fetch command
        what = wanted.value + (f" in {language!r}" if language else "")
        raise UnknownModelError(
            f"<default for {what}>",
            known=[s.id for s in self._specs.values()],
            hint=f"register a {what} model (aigc models add) or install an extra that ships one",
        )

    def create(self, model: ModelSpec | str, *, device: str = "cpu") -> Any:
        """Build the generator for ``model`` on ``device`` through the one loader (:func:`~aigc_sdk.registry.load`).

        Weights are located (never downloaded unless allowed), checked against
        this registry's :attr:`policy` (pickle, locked hashes), then handed to the
        backend, imported lazily by its dotted path.

        Raises:
            ModelNotAvailableError: The weights are not on disk.
            UnsafeModelError: Pickle weights without ``allow_pickle``.
            ModelIntegrityError: A locked file is missing or differs.
            ModelLoadError: The backend cannot be imported or fails to load.

        Example:
            >>> gen = ModelRegistry().create("en-joe")  # doctest: +SKIP
            >>> gen(prompt="Hello.").audio.duration > 0  # doctest: +SKIP
            True
        """
        spec = self.get(model) if isinstance(model, str) else model
        generator: Generator[Any, Any] = load(spec, device, self.policy)
        return generator

    def verify(self, model: ModelSpec | str) -> builtins.list[FileCheck]:
        """Hash every locked file of ``model``; raise if one is missing or differs.

        Raises:
            ModelIntegrityError: A file is missing or its sha256 differs from the lock.

        Example:
            >>> all(c.ok for c in ModelRegistry().verify("en-joe"))  # doctest: +SKIP
            True
        """
        spec = self.get(model) if isinstance(model, str) else model
        checks = verify_files(spec)
        check_hashes(spec, checks)
        return checks
