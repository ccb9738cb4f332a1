"""The ``Generator`` protocol and ``BaseGenerator``, the base of every backend.

A backend implements four methods, like a transformers pipeline:

* ``_load()`` — build the model on ``self.device`` (called once, by ``__init__``);
* ``_preprocess(requests)`` — validate/encode inputs, no model access;
* ``_forward(inputs)`` — the only method that touches the model; runs under
  ``torch.inference_mode`` when torch is in use;
* ``_postprocess(outputs, requests)`` — build one result per request.

``BaseGenerator`` owns the rest: request coercion, seed drawing, timings,
provenance, error mapping and the length check on batches.

A generator that composes other models (the script writer embeds sentences, the
photo matcher embeds captions) never loads them itself: it sends sub-requests through
a :class:`Models` handle. The :class:`~aigc_sdk.studio.Studio` is one (it hands itself
to every generator it loads, see :meth:`BaseGenerator.use_models`), so those models are
on the scheduler's books. Without a Studio, :class:`DirectModels` creates them through
the registry's loader and runs them in the caller's thread.
"""

from __future__ import annotations

import abc
import contextlib
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar, runtime_checkable

from aigc_sdk._internal.oom import is_out_of_memory
from aigc_sdk.errors import AigcError, GenerationError, InvalidRequestError, OutOfDeviceMemoryError
from aigc_sdk.provenance import Provenance, library_versions
from aigc_sdk.registry.loader import Generator  # the protocol lives below runtime/ and generators/, which share it
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.types import Request, Result, Task

if TYPE_CHECKING:
    from aigc_sdk.registry.registry import ModelRegistry

__all__ = ["BaseGenerator", "DirectModels", "Generator", "Models", "run_all"]

ReqT = TypeVar("ReqT", bound=Request)
ResT = TypeVar("ResT", bound=Result)


@runtime_checkable
class Models(Protocol):
    """A handle to run sub-requests on other models; :class:`~aigc_sdk.studio.Studio` is one.

    Generators that compose models get one through :meth:`BaseGenerator.use_models`, and never
    import the Studio or the runtime themselves.

    Example:
        >>> from aigc_sdk.generators.base import DirectModels, Models
        >>> isinstance(DirectModels(), Models)
        True
    """

    def submit(self, request: Request, *, model: str | None = None) -> Future[Any]:
        """Queue ``request`` on ``model`` (None: the default for its task and language); a future of its result."""
        ...


def run_all(models: Models, requests: Sequence[Request], *, model: str | None = None) -> list[Any]:
    """Submit every request at once (so a scheduler can batch them), then wait for the results, in order.

    Example:
        >>> from aigc_sdk.types import EmbedRequest
        >>> rows = run_all(studio, [EmbedRequest(prompt="a"), EmbedRequest(prompt="b")])  # doctest: +SKIP
        >>> len(rows)  # doctest: +SKIP
        2
    """
    futures = [models.submit(request, model=model) for request in requests]
    return [future.result() for future in futures]


class DirectModels:
    """:class:`Models` without a scheduler, for generators used without a Studio.

    Each model is created once through the registry's loader (safety policy applied) and run
    in the caller's thread; the models it loads are on no scheduler's books.

    Args:
        registry: Where models are resolved and created (default: a new :class:`~aigc_sdk.registry.ModelRegistry`).
        device: Where they are loaded.

    Example:
        >>> from aigc_sdk.types import EmbedRequest
        >>> with DirectModels() as models:
        ...     result = models.submit(EmbedRequest(prompt="The river rose.", language="en")).result()
        >>> result.provenance.model_id, result.dim
        ('all-minilm-l6-v2', 384)
    """

    def __init__(self, registry: ModelRegistry | None = None, *, device: str = "cpu") -> None:
        self._registry = registry
        self.device = device
        self._generators: dict[str, Any] = {}
        self._lock = threading.Lock()

    def submit(self, request: Request, *, model: str | None = None) -> Future[Any]:
        """Run ``request`` now on ``model`` (None: the registry's default for its task and language).

        The returned future is already done; errors are set on it, as a scheduler would.

        Example:
            >>> from aigc_sdk.types import ScriptRequest
            >>> DirectModels().submit(ScriptRequest(prompt="Rain fell. The river rose.")).result().language
            'en'
        """
        future: Future[Any] = Future()
        try:
            future.set_result(self._generator(request, model)(request))
        except Exception as exc:  # delivered through the future, as GpuScheduler.submit does
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """Close every model this handle created.

        Example:
            >>> DirectModels().close()
        """
        with self._lock:
            generators, self._generators = list(self._generators.values()), {}
        for generator in generators:
            generator.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _generator(self, request: Request, model: str | None) -> Any:
        with self._lock:
            if self._registry is None:
                from aigc_sdk.registry.registry import ModelRegistry

                self._registry = ModelRegistry()
            language = getattr(request, "language", None)
            spec = self._registry.resolve(request.task, model, language=language if isinstance(language, str) else None)
            generator = self._generators.get(spec.id)
            if generator is None:
                generator = self._registry.create(spec, device=self.device)
                if isinstance(generator, BaseGenerator):
                    generator.use_models(self)
                self._generators[spec.id] = generator
            return generator


class BaseGenerator(abc.ABC, Generic[ReqT, ResT]):
    """Base class of every backend: implements ``__call__``, ``batch``, ``to`` and ``close`` once.

    Subclasses set ``request_type`` and implement ``_load``, ``_preprocess``,
    ``_forward`` and ``_postprocess``.

    Args:
        spec: The model's registry spec.
        device: Where to load it (``cpu``, ``cuda:0``, ``mps``).

    Example:
        >>> from aigc_sdk.generators.base import BaseGenerator
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> from aigc_sdk.types import TextRequest, TextResult
        >>> class Upper(BaseGenerator[TextRequest, TextResult]):
        ...     request_type = TextRequest
        ...     def _load(self): pass
        ...     def _preprocess(self, requests): return [r.prompt for r in requests]
        ...     def _forward(self, inputs): return [s.upper() for s in inputs]
        ...     def _postprocess(self, outputs, requests):
        ...         return [TextResult(texts=[o], provenance=self.provenance(r)) for o, r in zip(outputs, requests)]
        >>> spec = ModelSpec(id="upper", task="text-generation", backend="x.Upper", source=LocalSource(path="."))
        >>> result = Upper(spec)(prompt="hello", seed=1)
        >>> result.text, result.provenance.seed
        ('HELLO', 1)
    """

    #: The request model this generator accepts.
    request_type: ClassVar[type[Request]]
    #: Distributions whose versions go into provenance.
    distributions: ClassVar[tuple[str, ...]] = ()
    #: The spec options this backend reads; any other is refused (None: not checked).
    known_options: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, spec: ModelSpec, *, device: str = "cpu") -> None:
        if spec.task != self.request_type.task:
            raise InvalidRequestError(
                f"{type(self).__name__} does {self.request_type.task.value}, but spec {spec.id!r} is {spec.task.value}"
            )
        unknown = sorted(set(spec.options) - set(self.known_options)) if self.known_options is not None else []
        if unknown:
            raise InvalidRequestError(
                f"{type(self).__name__} has no option {', '.join(map(repr, unknown))} (spec {spec.id!r})",
                hint=f"its options: {', '.join(self.known_options or ()) or 'none'}",
            )
        self.spec = spec
        self.device = device
        self._closed = False
        self._models: Models | None = None
        self._own_models: DirectModels | None = None
        self._versions = library_versions(*self.distributions)
        self._load()

    @property
    def task(self) -> Task:
        """The task this generator performs.

        Example:
            >>> from aigc_sdk.registry import ModelRegistry
            >>> ModelRegistry().create("en-joe").task  # doctest: +SKIP
            <Task.TEXT_TO_SPEECH: 'text-to-speech'>
        """
        return self.request_type.task

    # -- the public contract -------------------------------------------------------------------

    def __call__(self, request: ReqT | None = None, /, **fields: Any) -> ResT:
        """Run one request, given as a request object or as its fields.

        Example:
            >>> voice(prompt="Hello.", speed=1.2)  # doctest: +SKIP
            >>> voice(SpeechRequest(prompt="Hello.", speed=1.2))  # the same  # doctest: +SKIP
        """
        return self.batch([self.request_type.coerce(request, **fields)])[0]  # type: ignore[list-item]

    def batch(self, requests: Sequence[ReqT], /) -> list[ResT]:
        """Run requests together and return one result per request, in order.

        Requests without a seed get one drawn here; it is recorded in provenance.

        Example:
            >>> results = voice.batch([SpeechRequest(prompt="One."), SpeechRequest(prompt="Two.")])  # doctest: +SKIP
            >>> [r.provenance.seed is not None for r in results]  # doctest: +SKIP
            [True, True]
        """
        self._check_open()
        if not requests:
            return []
        resolved = [self._resolve(r) for r in requests]
        t0 = time.perf_counter()
        inputs = self._preprocess(resolved)
        t1 = time.perf_counter()
        try:
            with self._inference_context():
                outputs = self._forward(inputs)
        except AigcError:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                raise OutOfDeviceMemoryError(
                    f"{self.spec.id} ran out of memory on {self.device} (batch of {len(resolved)})"
                ) from exc
            raise GenerationError(f"{self.spec.id} failed while generating: {exc}") from exc
        t2 = time.perf_counter()
        results = self._postprocess(outputs, resolved)
        t3 = time.perf_counter()
        if len(results) != len(resolved):
            raise GenerationError(f"{type(self).__name__} returned {len(results)} results for {len(resolved)} requests")
        timings = {
            "preprocess_s": round(t1 - t0, 6),
            "forward_s": round(t2 - t1, 6),
            "postprocess_s": round(t3 - t2, 6),
            "total_s": round(t3 - t0, 6),
            "batch_size": float(len(resolved)),
        }
        return [
            r.model_copy(update={"provenance": r.provenance.model_copy(update={"timings": timings})}) for r in results
        ]

    def to(self, device: str, /) -> Self:
        """Move the model to ``device`` and return ``self``.

        Example:
            >>> generator = generator.to("cuda:0")  # doctest: +SKIP
        """
        if device != self.device:
            self._to(device)
            self.device = device
        return self

    def close(self) -> None:
        """Release the model; later calls raise :class:`GenerationError`.

        Example:
            >>> voice.close()  # doctest: +SKIP
            >>> with ModelRegistry().create("en-joe") as voice:  # closes on exit  # doctest: +SKIP
            ...     voice(prompt="Hi.")
        """
        if not self._closed:
            self._closed = True
            self._unload()
            if self._own_models is not None:
                self._own_models.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def provenance(self, request: ReqT, **extra: Any) -> Provenance:
        """The provenance record for ``request`` (timings are filled in by :meth:`batch`).

        Example:
            >>> # inside a backend's _postprocess:
            >>> AudioResult(audio=audio, provenance=self.provenance(request, sentences=3))  # doctest: +SKIP
        """
        return Provenance(
            model_id=self.spec.id,
            task=self.task.value,
            backend=f"{type(self).__module__}.{type(self).__qualname__}",
            revision=self.spec.revision,
            model_hash=_lock_digest(self.spec.files),
            seed=request.seed,
            request=request.model_dump(mode="json"),
            versions=self._versions,
            license=self.spec.license,
            commercial_use=self.spec.commercial_use,
            device=self.device,
            extra=extra,
        )

    def use_models(self, models: Models) -> Self:
        """Run this generator's sub-requests (embeddings, a rewriter LLM …) through ``models``.

        The Studio calls it on every generator it loads, so the models a generator composes
        are on the scheduler's books. Generators that compose nothing ignore it.

        Example:
            >>> writer = ModelRegistry().create("script-writer").use_models(studio)  # doctest: +SKIP
        """
        self._models = models
        return self

    @property
    def models(self) -> Models:
        """The handle for sub-requests.

        The one given to :meth:`use_models`, else a :class:`DirectModels` of this generator's
        own (created on first use, closed with the generator).

        Example:
            >>> from aigc_sdk.registry import ModelRegistry
            >>> type(ModelRegistry().create("script-writer").models).__name__
            'DirectModels'
        """
        if self._models is None:
            if self._own_models is None:
                self._own_models = DirectModels(device=self.device)
            return self._own_models
        return self._models

    # -- what a backend implements -------------------------------------------------------------

    @abc.abstractmethod
    def _load(self) -> None:
        """Load the model onto ``self.device``."""

    @abc.abstractmethod
    def _preprocess(self, requests: list[ReqT]) -> Any:
        """Turn requests into model inputs (no model access)."""

    @abc.abstractmethod
    def _forward(self, inputs: Any) -> Any:
        """Run the model: the only method that touches it."""

    @abc.abstractmethod
    def _postprocess(self, outputs: Any, requests: list[ReqT]) -> list[ResT]:
        """Build one result per request."""

    def _to(self, device: str) -> None:
        """Move the loaded model; backends that can move override this."""
        raise InvalidRequestError(f"{type(self).__name__} cannot move to {device!r}; create it there instead")

    def _unload(self) -> None:
        """Drop references to the model; backends with extra resources override this."""

    # -- helpers -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise GenerationError(f"generator for {self.spec.id!r} is closed")

    def _resolve(self, request: ReqT) -> ReqT:
        if not isinstance(request, self.request_type):
            raise InvalidRequestError(
                f"{type(self).__name__} takes {self.request_type.__name__}, got {type(request).__name__}"
            )
        return request.seeded()

    def _inference_context(self) -> contextlib.AbstractContextManager[Any]:
        torch = sys.modules.get("torch")
        return torch.inference_mode() if torch is not None else contextlib.nullcontext()


def _lock_digest(files: dict[str, str]) -> str | None:
    if not files:
        return None
    if len(files) == 1:
        return next(iter(files.values()))
    from aigc_sdk._internal.hashing import sha256_json

    return sha256_json(files)
