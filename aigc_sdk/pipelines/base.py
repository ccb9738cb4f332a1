"""Typed pipelines: steps are plain typed functions, and the pipeline reads its DAG from their signatures.

A step's parameters name what it needs: the output of another step (a parameter named
after that step, annotated with its output type) or an input of the pipeline (any other
name, annotated with its type); a parameter annotated :class:`StepContext` gets the
step's context. The return annotation, a pydantic model, is the step's output::

    @step(version="2")
    def narration(ctx: StepContext, script: Script, voice: VoiceOptions) -> Narration: ...

Each stage's output is cached under a hash of the pipeline and step names, the step's
version, the actual values of its inputs (pydantic models by their fields, files by
their content) and, for each step it needs, that step's key and the models it used.
The models a step used are those its Studio resolved while it ran (``ctx.studio`` is a
recording view, see :meth:`~aigc_sdk.studio.Studio.recording`): they are stored beside
the output, and a cached output whose models now resolve to another spec is stale. So
an interrupted run resumes where it stopped, and a changed model invalidates exactly the
stages that used it and those downstream of them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import inspect
import json
import shutil
import threading
import time
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from aigc_sdk._internal.files import atomic_write_json
from aigc_sdk._internal.hashing import sha256_file, sha256_json
from aigc_sdk.errors import AigcError, InvalidRequestError, PipelineCancelledError, PipelineError
from aigc_sdk.studio import ModelUse, Studio

__all__ = ["Pipeline", "PipelineEvent", "PipelineRun", "Step", "StepContext", "step"]

P = ParamSpec("P")
OutT = TypeVar("OutT", bound=BaseModel)
ItemT = TypeVar("ItemT")
ResT = TypeVar("ResT")

_OUTPUT = "output.json"
#: A partial stage folder this old (seconds) was left by a crashed run.
_STALE_PARTIAL_S = 6 * 3600
_MODELS = "models.json"
#: Beside a step's stages: the parts its runs made once each (StepContext.cached_file), kept across failures.
_ITEMS = "parts"
_USES: TypeAdapter[list[ModelUse]] = TypeAdapter(list[ModelUse])


@dataclass(frozen=True)
class PipelineEvent:
    """Progress of a run: a stage started, was found in the cache, progressed, finished or failed.

    Example:
        >>> PipelineEvent(step="narration", status="progress", fraction=0.5, message="3/6 sentences").fraction
        0.5
    """

    step: str
    status: Literal["started", "cached", "progress", "done", "failed"]
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None


class StepContext:
    """What a running step sees: its work folder, the Studio, progress and cancellation.

    Example:
        >>> import tempfile, pathlib, threading
        >>> ctx = StepContext("demo", pathlib.Path(tempfile.mkdtemp()), None, threading.Event(), lambda e: None)
        >>> ctx.map(lambda x: x * x, [1, 2, 3])
        [1, 4, 9]
    """

    def __init__(
        self,
        step: str,
        workdir: Path,
        studio: Studio | None,
        cancel: threading.Event,
        emit: Callable[[PipelineEvent], None],
        *,
        max_workers: int = 2,
        items: Path | None = None,
    ) -> None:
        self.step = step
        self.workdir = workdir
        self._studio = studio
        self._cancel = cancel
        self._emit = emit
        self._max_workers = max_workers
        self._items = items

    def cached_file(self, key: Any, suffix: str, make: Callable[[Path], object]) -> Path:
        """A file the step makes once per ``key`` (any JSON value), kept even when the step then fails.

        The step's own output is cached whole; this caches its costly parts (each segment's footage):
        a rerun after a failure makes only the parts still missing. ``make(path)`` must write ``path``
        atomically (the SDK's generators do). Without a cache folder the file goes in the step's folder.

        Raises:
            PipelineError: ``make`` returned without writing the file.

        Example:
            >>> import tempfile, pathlib, threading
            >>> ctx = StepContext("s", pathlib.Path(tempfile.mkdtemp()), None, threading.Event(), lambda e: None,
            ...                   items=pathlib.Path(tempfile.mkdtemp()))
            >>> calls = []
            >>> def make(path):
            ...     calls.append(path)
            ...     path.write_text("footage")
            >>> first = ctx.cached_file({"prompt": "a river"}, ".txt", make)
            >>> ctx.cached_file({"prompt": "a river"}, ".txt", make) == first, len(calls)
            (True, 1)
        """
        folder = self._items if self._items is not None else self.workdir
        path = folder / f"{sha256_json(key)[:24]}{suffix}"
        if path.is_file():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        make(path)
        if not path.is_file():
            raise PipelineError(f"step {self.step!r} made no file for one of its parts ({path.name})")
        return path

    @property
    def studio(self) -> Studio:
        """The step's view of the pipeline's Studio: it records every model the step's requests resolve to.

        Raises:
            InvalidRequestError: The pipeline was built without a Studio.

        Example:
            >>> import tempfile, pathlib, threading
            >>> ctx = StepContext("s", pathlib.Path(tempfile.mkdtemp()), None, threading.Event(), lambda e: None)
            >>> try:
            ...     ctx.studio
            ... except InvalidRequestError as e:
            ...     e.hint
            'Pipeline(..., studio=Studio())'
        """
        if self._studio is None:
            raise InvalidRequestError(
                f"step {self.step!r} asked for a model, but the pipeline has no Studio",
                hint="Pipeline(..., studio=Studio())",
            )
        return self._studio

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1]; also a cancellation point.

        Example:
            >>> import tempfile, pathlib, threading
            >>> seen = []
            >>> ctx = StepContext("s", pathlib.Path(tempfile.mkdtemp()), None, threading.Event(), seen.append)
            >>> ctx.progress(0.25, "1/4"); seen[0].message
            '1/4'
        """
        self.check_cancelled()
        self._emit(PipelineEvent(self.step, "progress", min(max(fraction, 0.0), 1.0), message))

    def check_cancelled(self) -> None:
        """Raise :class:`PipelineCancelledError` when the run was cancelled.

        Example:
            >>> import tempfile, pathlib, threading
            >>> cancel = threading.Event(); cancel.set()
            >>> ctx = StepContext("s", pathlib.Path(tempfile.mkdtemp()), None, cancel, lambda e: None)
            >>> try:
            ...     ctx.check_cancelled()
            ... except PipelineCancelledError:
            ...     "cancelled"
            'cancelled'
        """
        if self._cancel.is_set():
            raise PipelineCancelledError(f"pipeline cancelled during step {self.step!r}")

    def map(self, fn: Callable[[ItemT], ResT], items: Iterable[ItemT]) -> list[ResT]:
        """Apply ``fn`` to every item concurrently (threads), in order, with progress and cancellation.

        Example:
            >>> import tempfile, pathlib, threading
            >>> ctx = StepContext("s", pathlib.Path(tempfile.mkdtemp()), None, threading.Event(), lambda e: None)
            >>> ctx.map(str.upper, ["a", "b"])
            ['A', 'B']
        """
        todo = list(items)
        if not todo:
            return []
        results: list[Any] = [None] * len(todo)
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(todo))) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(todo)}
            done = 0
            try:
                for future in _as_completed(futures):
                    results[futures[future]] = future.result()
                    done += 1
                    self.progress(done / len(todo), f"{done}/{len(todo)}")
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results


def _as_completed(futures: Mapping[Future[Any], int]) -> Iterable[Future[Any]]:
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from finished


class Step(Generic[P, OutT]):
    """A typed function as a pipeline stage; calling the step calls the function.

    The function's parameters are read with ``typing.get_type_hints``: one annotated
    :class:`StepContext` (any name, optional) gets the context; every other one is another
    step's output or a pipeline input, by its name. The return annotation (a pydantic model)
    is the output type, used to check the result and to reload it from the cache.

    Args:
        fn: The function.
        name: The step's name (default: the function's); other steps take its output by this name.
        version: Bump it after changing the step's code, so outputs made by the old code are not reused.
        cache: Cache the output (turn off for cheap or side-effect-only steps).

    Raises:
        InvalidRequestError: A parameter or the return value has no usable annotation.

    Example:
        >>> from pydantic import BaseModel
        >>> class Words(BaseModel):
        ...     words: list[str]
        >>> def split(text: str) -> Words:
        ...     return Words(words=text.split())
        >>> s = Step(split, version="2")
        >>> s.name, s.params, s.output.__name__, s("a b").words
        ('split', {'text': <class 'str'>}, 'Words', ['a', 'b'])
    """

    def __init__(
        self, fn: Callable[P, OutT], *, name: str | None = None, version: str = "1", cache: bool = True
    ) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", ""))
        if not self.name or self.name == "<lambda>":
            raise InvalidRequestError("a step needs a name", hint="define it with def, or pass name=")
        self.version = version
        self.cache = cache
        try:
            hints = typing.get_type_hints(fn)
        except (NameError, TypeError) as exc:
            raise InvalidRequestError(f"cannot read the annotations of step {self.name!r}: {exc}") from exc
        output = hints.pop("return", None)
        if not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise InvalidRequestError(
                f"step {self.name!r} must return a pydantic model, annotated", hint=f"def {self.name}(...) -> MyOutput:"
            )
        self.output: type[OutT] = typing.cast("type[OutT]", output)
        #: The parameter that gets the :class:`StepContext`, if any.
        self.context: str | None = None
        #: Every other parameter and its annotation: another step's output or a pipeline input.
        self.params: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name not in hints:
                raise InvalidRequestError(
                    f"parameter {param.name!r} of step {self.name!r} needs a type annotation and a name",
                    hint="steps take named, annotated parameters: no *args, **kwargs or bare names",
                )
            if hints[param.name] is StepContext:
                self.context = param.name
            else:
                self.params[param.name] = hints[param.name]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> OutT:
        """Call the function: a step stays an ordinary function (handy in tests and notebooks).

        Example:
            >>> from pydantic import BaseModel
            >>> class N(BaseModel):
            ...     n: int
            >>> def one() -> N:
            ...     return N(n=1)
            >>> Step(one)().n
            1
        """
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Step({self.name!r}, version={self.version!r})"


@overload
def step(fn: Callable[P, OutT], /) -> Step[P, OutT]: ...
@overload
def step(
    *, name: str | None = None, version: str = "1", cache: bool = True
) -> Callable[[Callable[P, OutT]], Step[P, OutT]]: ...
def step(
    fn: Callable[P, OutT] | None = None, /, *, name: str | None = None, version: str = "1", cache: bool = True
) -> Step[P, OutT] | Callable[[Callable[P, OutT]], Step[P, OutT]]:
    """Make a typed function a :class:`Step`: ``@step`` or ``@step(version="2", cache=False)``.

    Example:
        >>> from pydantic import BaseModel
        >>> class Count(BaseModel):
        ...     n: int
        >>> @step(version="2")
        ... def count(text: str) -> Count:
        ...     return Count(n=len(text.split()))
        >>> count.name, count.version, count("a b c").n
        ('count', '2', 3)
    """

    def wrap(function: Callable[P, OutT]) -> Step[P, OutT]:
        return Step(function, name=name, version=version, cache=cache)

    return wrap if fn is None else wrap(fn)


@dataclass
class PipelineRun:
    """The outcome of :meth:`Pipeline.run`: every step's output, which came from the cache, timings, models.

    ``run[step]`` is a step's output, typed as the step's return type.

    Example:
        >>> PipelineRun(outputs={}, cached=set(), seconds={}, keys={}).reused
        []
    """

    outputs: dict[str, BaseModel]
    cached: set[str]
    seconds: dict[str, float]
    keys: dict[str, str]
    models: dict[str, list[ModelUse]] = field(default_factory=dict)
    events: list[PipelineEvent] = field(default_factory=list)

    def __getitem__(self, step: Step[..., OutT]) -> OutT:
        """The output of ``step``, typed.

        Example:
            >>> from pydantic import BaseModel
            >>> class Out(BaseModel):
            ...     n: int
            >>> @step
            ... def one() -> Out:
            ...     return Out(n=1)
            >>> PipelineRun(outputs={"one": Out(n=1)}, cached=set(), seconds={}, keys={})[one].n
            1
        """
        value = self.outputs.get(step.name)
        if not isinstance(value, step.output):
            raise InvalidRequestError(f"this run has no output of step {step.name!r}", hint=f"{sorted(self.outputs)}")
        return value

    @property
    def reused(self) -> list[str]:
        """Names of the steps whose output came from the cache, sorted.

        Example:
            >>> PipelineRun(outputs={}, cached={"b", "a"}, seconds={}, keys={}).reused
            ['a', 'b']
        """
        return sorted(self.cached)

    def manifest(self, **extra: Any) -> dict[str, Any]:
        """A JSON-able record of the run (steps, cache keys, timings, models used, outputs).

        Example:
            >>> PipelineRun(outputs={}, cached=set(), seconds={}, keys={}).manifest(name="x")["name"]
            'x'
        """
        return {
            **extra,
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(),
            "steps": [
                {
                    "name": name,
                    "key": self.keys[name],
                    "cached": name in self.cached,
                    "seconds": round(self.seconds.get(name, 0.0), 4),
                    "models": _USES.dump_python(self.models.get(name, []), mode="json"),
                    "output": json.loads(self.outputs[name].model_dump_json()),
                }
                for name in self.keys  # dependency order, not completion order
                if name in self.outputs
            ],
        }


class Pipeline:
    """Typed steps run as a DAG read from their signatures, with a stage cache; independent steps run concurrently.

    Args:
        name: Pipeline name (part of every cache key).
        steps: The steps, in any order (plain typed functions are made :class:`Step` s with defaults).
        cache_dir: Where stage outputs live (``<cache_dir>/<name>/<step>/<key>/``).
        studio: Where steps get models (``ctx.studio``); None for steps that use no model.
        max_workers: Steps (and ``ctx.map`` items) run at once.
        on_event: Called with every :class:`PipelineEvent`.

    Raises:
        InvalidRequestError: Duplicate step names, a cycle, a parameter whose type differs from the output
            of the step it names (or from the same input elsewhere), or one that looks like a misspelt step.

    Example:
        >>> import tempfile, pathlib
        >>> from pydantic import BaseModel
        >>> class Words(BaseModel):
        ...     words: list[str]
        >>> class Count(BaseModel):
        ...     n: int
        >>> @step
        ... def split(text: str) -> Words:
        ...     return Words(words=text.split())
        >>> @step
        ... def count(split: Words) -> Count:
        ...     return Count(n=len(split.words))
        >>> pipe = Pipeline("demo", [split, count], cache_dir=pathlib.Path(tempfile.mkdtemp()))
        >>> pipe.inputs, pipe.needs["count"]
        ({'text': <class 'str'>}, ('split',))
        >>> first = pipe.run({"text": "a b c"})
        >>> first[count].n, pipe.run({"text": "a b c"}).reused
        (3, ['count', 'split'])
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Step[..., Any] | Callable[..., BaseModel]],
        *,
        cache_dir: str | Path,
        studio: Studio | None = None,
        max_workers: int = 2,
        on_event: Callable[[PipelineEvent], None] | None = None,
    ) -> None:
        made = [s if isinstance(s, Step) else Step(s) for s in steps]
        names = [s.name for s in made]
        if len(set(names)) != len(names):
            raise InvalidRequestError(f"pipeline {name!r} has duplicate step names: {names}")
        self.name = name
        self.steps: dict[str, Step[..., Any]] = {s.name: s for s in made}
        #: For each step, the steps whose outputs it takes.
        self.needs: dict[str, tuple[str, ...]] = {}
        #: The pipeline's inputs (the parameters that name no step) and their types.
        self.inputs: dict[str, Any] = {}
        for s in made:
            self.needs[s.name] = tuple(p for p in s.params if p in self.steps)
            for param, hint in s.params.items():
                self._check_param(s, param, hint)
        self._adapters = {n: TypeAdapter(hint) for n, hint in self.inputs.items()}
        self._order = _topological(self.needs)
        self.cache_dir = Path(cache_dir)
        self.studio = studio
        self.max_workers = max(1, max_workers)
        self.on_event = on_event

    def _check_param(self, step: Step[..., Any], param: str, hint: Any) -> None:
        where = f"parameter {param!r} of step {step.name!r}"
        if param in self.steps:
            made = self.steps[param].output
            if not (isinstance(hint, type) and issubclass(made, hint)):
                raise InvalidRequestError(
                    f"{where} is annotated {_name(hint)}, but step {param!r} returns {made.__name__}",
                    hint=f"annotate it {made.__name__}",
                )
            return
        makers = [s.name for s in self.steps.values() if s.output is hint]
        if makers:
            raise InvalidRequestError(
                f"{where} takes a {_name(hint)}, which step {makers[0]!r} returns, but names no step",
                hint=f"name the parameter {makers[0]!r} to take that step's output",
            )
        if param in self.inputs and self.inputs[param] != hint:
            raise InvalidRequestError(
                f"{where} is annotated {_name(hint)}, but another step takes input {param!r} as "
                f"{_name(self.inputs[param])}",
                hint="give one input one type",
            )
        self.inputs[param] = hint

    def run(self, inputs: Mapping[str, Any] | None = None, *, cancel: threading.Event | None = None) -> PipelineRun:
        """Run every step whose output is not cached; return all outputs.

        Raises:
            InvalidRequestError: An input is missing, unknown or not of its type (before any step runs).
            PipelineCancelledError: ``cancel`` was set; finished stages stay cached.
            PipelineError: A step failed (the cause is chained); its partial work is discarded.

        Example:
            >>> import threading
            >>> stop = threading.Event()  # set it from another thread to cancel
            >>> run = pipeline.run({"text": "a b c"}, cancel=stop)  # doctest: +SKIP
            >>> run[count].n, run.reused  # doctest: +SKIP
            (3, [])
        """
        values = self._validated(inputs or {})
        cancel = cancel or threading.Event()
        run = PipelineRun(outputs={}, cached=set(), seconds={}, keys={})
        lock = threading.Lock()

        def emit(event: PipelineEvent) -> None:
            with lock:
                run.events.append(event)
            if self.on_event is not None:
                self.on_event(event)

        remaining = list(self._order)
        running: dict[Future[BaseModel], str] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix=f"pipeline-{self.name}") as pool:
            try:
                while remaining or running:
                    for name in [n for n in remaining if all(d in run.outputs for d in self.needs[n])]:
                        if cancel.is_set():
                            raise PipelineCancelledError(f"pipeline {self.name!r} cancelled before step {name!r}")
                        remaining.remove(name)
                        run.keys[name] = self._key(self.steps[name], values, run)
                        running[pool.submit(self._stage, name, values, run, emit, cancel)] = name
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = running.pop(future)
                        run.outputs[name] = future.result()
            except BaseException:
                cancel.set()  # let running steps stop at their next cancellation point
                for future in running:
                    future.cancel()
                raise
        return run

    def _validated(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        missing = sorted(set(self.inputs) - set(inputs))
        if missing:
            raise InvalidRequestError(f"pipeline {self.name!r} is missing inputs: {', '.join(missing)}")
        unknown = sorted(set(inputs) - set(self.inputs))
        if unknown:
            raise InvalidRequestError(
                f"no step of pipeline {self.name!r} takes {', '.join(unknown)}",
                hint=f"its inputs are: {', '.join(sorted(self.inputs)) or 'none'}",
            )
        values: dict[str, Any] = {}
        for name, adapter in self._adapters.items():
            try:
                values[name] = adapter.validate_python(inputs[name])
            except ValidationError as exc:
                raise InvalidRequestError(
                    f"input {name!r} of pipeline {self.name!r} is not a {_name(self.inputs[name])}: "
                    f"{exc.errors(include_url=False)[0]['msg']}"
                ) from exc
        return values

    def _key(self, step: Step[..., Any], values: Mapping[str, Any], run: PipelineRun) -> str:
        payload = {
            "pipeline": self.name,
            "step": step.name,
            "version": step.version,
            "inputs": {p: _jsonable(values[p]) for p in step.params if p in values},
            "needs": {
                n: {"key": run.keys[n], "models": _USES.dump_python(run.models[n], mode="json")}
                for n in self.needs[step.name]
            },
        }
        return sha256_json(payload)[:24]

    def stage_dir(self, step: str, key: str) -> Path:
        """The folder holding a stage's artifacts, the models it used and its cached output.

        Example:
            >>> import pathlib
            >>> Pipeline("p", [], cache_dir=pathlib.Path("/c")).stage_dir("s", "k").as_posix()
            '/c/p/s/k'
        """
        return self.cache_dir / self.name / step / key

    def _stage(
        self,
        name: str,
        values: Mapping[str, Any],
        run: PipelineRun,
        emit: Callable[[PipelineEvent], None],
        cancel: threading.Event,
    ) -> BaseModel:
        step, key = self.steps[name], run.keys[name]
        folder = self.stage_dir(name, key)
        # two runs in this process make a stage once: the second waits, then finds it cached
        with _one_at_a_time(folder, cancel, name) if step.cache else contextlib.nullcontext():
            reused = self._cached(step, folder) if step.cache else None
            if reused is not None:
                run.models[name] = reused[1]
                run.cached.add(name)
                emit(PipelineEvent(name, "cached", 1.0))
                return reused[0]
            # a folder of this attempt's own: two runs of the same stage (jobs of one server) never share one
            partial = folder.with_name(f".{key}.{uuid.uuid4().hex[:12]}.partial")
            partial.mkdir(parents=True)
            for stale in partial.parent.glob(f".{key}.*.partial"):  # left by a crashed attempt, not a running one
                with contextlib.suppress(FileNotFoundError):  # another run may clean it up at the same moment
                    if time.time() - stale.stat().st_mtime > _STALE_PARTIAL_S:
                        shutil.rmtree(stale, ignore_errors=True)
            studio = self.studio.recording() if self.studio is not None else None
            items = self.stage_dir(name, _ITEMS) if step.cache else None
            ctx = StepContext(name, partial, studio, cancel, emit, max_workers=self.max_workers, items=items)
            args = {p: run.outputs[p] if p in self.steps else values[p] for p in step.params}
            if step.context is not None:
                args[step.context] = ctx
            emit(PipelineEvent(name, "started"))
            started = time.perf_counter()
            try:
                ctx.check_cancelled()
                output: BaseModel = step.fn(**args)
                if not isinstance(output, step.output):
                    raise PipelineError(f"step {name!r} returned {type(output).__name__}, not {step.output.__name__}")
                uses = studio.used if studio is not None else []
                # the record is written into this attempt's folder, which then moves into place in one rename:
                # a stage folder that exists is complete
                text = output.model_dump_json()
                moved = _relocated(text, partial, folder)
                atomic_write_json(partial / _MODELS, _USES.dump_python(uses, mode="json"))
                atomic_write_json(partial / _OUTPUT, json.loads(moved))
                theirs = self._install(step, partial, folder)
                if theirs is not None:  # another run finished this stage first: keep its files, drop ours
                    output, uses = theirs
                elif moved != text:  # read back with the files where they now are (paths may be validated)
                    output = step.output.model_validate_json(moved)
            except BaseException as exc:
                shutil.rmtree(partial, ignore_errors=True)
                emit(PipelineEvent(name, "failed", message=str(exc)))
                if isinstance(exc, AigcError):
                    raise
                if isinstance(exc, Exception):
                    raise PipelineError(f"step {name!r} failed: {exc}") from exc
                raise
            run.models[name] = uses
            run.seconds[name] = time.perf_counter() - started
            emit(PipelineEvent(name, "done", 1.0, seconds=run.seconds[name]))
            return output

    def _install(self, step: Step[..., Any], partial: Path, folder: Path) -> tuple[BaseModel, list[ModelUse]] | None:
        """Move a finished attempt into place; if another run put a valid stage there first, return that instead.

        A stale stage folder (its output no longer loads, or its models changed) is moved aside and removed.
        """
        for _ in range(3):
            try:
                partial.rename(folder)
                return None
            except OSError:
                if not folder.exists():
                    continue  # removed between the two calls: try again
            theirs = self._cached(step, folder) if step.cache else None
            if theirs is not None:
                shutil.rmtree(partial, ignore_errors=True)
                return theirs
            stale = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:12]}.stale")
            with contextlib.suppress(FileNotFoundError):
                folder.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        raise PipelineError(f"could not move stage {step.name!r} into {folder}: other runs keep replacing it")

    def _cached(self, step: Step[..., Any], folder: Path) -> tuple[BaseModel, list[ModelUse]] | None:
        """The cached output and the models that made it, or None when there is none or it is stale.

        Stale: the output no longer validates (e.g. a file it names was deleted), or a model the step
        used now resolves, through this pipeline's Studio, to another spec, revision or file hash.
        """
        output = _read(folder / _OUTPUT, TypeAdapter(step.output))
        uses = _read(folder / _MODELS, _USES)
        if output is None or uses is None:
            return None
        for use in uses:
            if self.studio is None:
                return None
            try:
                now = self.studio.model_use(use.task, use.model, language=use.language)
            except AigcError:
                return None  # the model is gone: rerun, and let the step say why
            if now != use:
                return None
        return output, uses


_flights_lock = threading.Lock()
_flights: dict[Path, tuple[threading.Lock, int]] = {}


@contextlib.contextmanager
def _one_at_a_time(folder: Path, cancel: threading.Event, name: str) -> Iterator[None]:
    """Hold the stage folder's lock in this process: a second run of the same stage waits, then finds it cached.

    The aspects of one job start together and all need the story's stages; jobs of one server that share a
    stage (the same article told twice) make it once. Other processes still meet at the folder's rename.

    Example:
        >>> import pathlib, threading
        >>> with _one_at_a_time(pathlib.Path("/c/p/s/k"), threading.Event(), "s"):
        ...     _flights[pathlib.Path("/c/p/s/k")][1]
        1
        >>> pathlib.Path("/c/p/s/k") in _flights
        False
    """
    with _flights_lock:
        lock, users = _flights.get(folder, (threading.Lock(), 0))
        _flights[folder] = (lock, users + 1)
    try:
        while not lock.acquire(timeout=0.1):
            if cancel.is_set():
                raise PipelineCancelledError(f"cancelled while waiting for step {name!r}")
        try:
            yield
        finally:
            lock.release()
    finally:
        with _flights_lock:
            lock, users = _flights[folder]
            if users == 1:
                del _flights[folder]
            else:
                _flights[folder] = (lock, users - 1)


def _read(path: Path, kind: TypeAdapter[ResT]) -> ResT | None:
    if not path.is_file():
        return None
    try:
        return kind.validate_json(path.read_bytes())
    except ValueError:
        return None  # stale entries are recomputed, not fatal


def _relocated(text: str, old: Path, new: Path) -> str:
    """A stage output's JSON with paths inside ``old`` (the attempt's folder) moved to ``new`` (the stage folder)."""
    return text.replace(json.dumps(str(old))[1:-1], json.dumps(str(new))[1:-1])


def _jsonable(value: Any) -> Any:
    """The value as it counts for a cache key: models by their fields, files by content, folders by their files."""
    if isinstance(value, BaseModel):
        return {name: _jsonable(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Path):  # a file counts by content, so ./a.md and /abs/a.md share a cache entry
        if value.is_file():
            return {"sha256": sha256_file(value)}
        if value.is_dir():
            files = sorted(p for p in value.rglob("*") if p.is_file() and not p.name.startswith("."))
            return {"files": {p.relative_to(value).as_posix(): sha256_file(p) for p in files}}
        return str(value.resolve())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return to_jsonable_python(value)


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)


def _topological(needs: Mapping[str, tuple[str, ...]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise InvalidRequestError(f"pipeline steps form a cycle: {' -> '.join((*chain, name))}")
        state[name] = 1
        for dep in needs[name]:
            visit(dep, (*chain, name))
        state[name] = 2
        order.append(name)

    for name in needs:
        visit(name, ())
    return order
