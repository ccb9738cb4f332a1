"""Typed pipelines: ``Step`` s composed into a DAG, with a stage cache, progress events and a manifest.

A step is a function of its inputs (the pipeline's parameters it names, plus the
outputs of the steps it needs) that returns a pydantic model. Each stage's output is
cached under a content hash of its inputs, its version and the model specs it
uses, so an interrupted run resumes where it stopped and an unchanged stage is
never run twice. Steps reach models only through the :class:`~aigc_sdk.studio.Studio`
passed in their context.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from aigc_sdk._internal.files import atomic_write_json
from aigc_sdk._internal.hashing import sha256_json
from aigc_sdk.errors import AigcError, InvalidRequestError, PipelineCancelledError, PipelineError
from aigc_sdk.types import Task

__all__ = ["Pipeline", "PipelineEvent", "PipelineRun", "Step", "StepContext"]

OutT = TypeVar("OutT", bound=BaseModel)
ItemT = TypeVar("ItemT")
ResT = TypeVar("ResT")

_OUTPUT = "output.json"


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
        studio: Any,
        cancel: threading.Event,
        emit: Callable[[PipelineEvent], None],
        *,
        max_workers: int = 2,
    ) -> None:
        self.step = step
        self.workdir = workdir
        self.studio = studio
        self._cancel = cancel
        self._emit = emit
        self._max_workers = max_workers

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


@dataclass(frozen=True)
class Step(Generic[OutT]):
    """One stage: a function of named inputs returning a pydantic model of type ``output``.

    Args:
        name: Unique name in the pipeline; also the key of its output.
        run: ``run(ctx, inputs) -> output``; ``inputs`` maps each name in ``params`` and ``needs``
            to its value.
        output: The pydantic type of the output (used to reload it from the cache).
        needs: Steps whose outputs this step takes.
        params: Pipeline parameters this step takes (they go into its cache key).
        context: Pipeline parameters this step also receives but that stay out of its cache key
            (e.g. a whole config whose relevant slice is already among ``params``).
        tasks: Tasks whose models the step uses; their specs go into the cache key.
        version: Bump to invalidate cached outputs after changing the step's code.
        cache: Cache the output (turn off for cheap or side-effect-only steps).

    Example:
        >>> from pydantic import BaseModel
        >>> class Words(BaseModel):
        ...     words: list[str]
        >>> split = Step("split", lambda ctx, i: Words(words=i["text"].split()), Words, params=("text",))
        >>> split.name, split.params
        ('split', ('text',))
    """

    name: str
    run: Callable[[StepContext, dict[str, Any]], OutT]
    output: type[OutT]
    needs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()
    version: str = "1"
    cache: bool = True


@dataclass
class PipelineRun:
    """The outcome of :meth:`Pipeline.run`: every step's output, which came from the cache, and timings.

    Example:
        >>> PipelineRun(outputs={}, cached=set(), seconds={}, keys={}).reused
        []
    """

    outputs: dict[str, BaseModel]
    cached: set[str]
    seconds: dict[str, float]
    keys: dict[str, str]
    events: list[PipelineEvent] = field(default_factory=list)

    @property
    def reused(self) -> list[str]:
        """Names of the steps whose output came from the cache, sorted.

        Example:
            >>> PipelineRun(outputs={}, cached={"b", "a"}, seconds={}, keys={}).reused
            ['a', 'b']
        """
        return sorted(self.cached)

    def manifest(self, **extra: Any) -> dict[str, Any]:
        """A JSON-able record of the run (steps, cache keys, timings, outputs).

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
                    "output": json.loads(self.outputs[name].model_dump_json()),
                }
                for name in self.keys  # dependency order, not completion order
                if name in self.outputs
            ],
        }


class Pipeline:
    """A DAG of :class:`Step` s run with a stage cache; independent steps run concurrently.

    Args:
        name: Pipeline name (part of every cache key).
        steps: The steps; each one's ``needs`` must name earlier-declared or later steps of this pipeline.
        cache_dir: Where stage outputs live (``<cache_dir>/<name>/<step>/<key>/``).
        studio: Passed to steps for model access (may be None for steps that use no model).
        max_workers: Steps (and ``ctx.map`` items) run at once.
        on_event: Called with every :class:`PipelineEvent`.

    Example:
        >>> import tempfile, pathlib
        >>> from pydantic import BaseModel
        >>> class Words(BaseModel):
        ...     words: list[str]
        >>> class Count(BaseModel):
        ...     n: int
        >>> pipe = Pipeline("demo", [
        ...     Step("split", lambda ctx, i: Words(words=i["text"].split()), Words, params=("text",)),
        ...     Step("count", lambda ctx, i: Count(n=len(i["split"].words)), Count, needs=("split",)),
        ... ], cache_dir=pathlib.Path(tempfile.mkdtemp()))
        >>> first = pipe.run({"text": "a b c"})
        >>> first.outputs["count"].n, pipe.run({"text": "a b c"}).reused
        (3, ['count', 'split'])
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Step[Any]],
        *,
        cache_dir: str | Path,
        studio: Any = None,
        max_workers: int = 2,
        on_event: Callable[[PipelineEvent], None] | None = None,
    ) -> None:
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise InvalidRequestError(f"pipeline {name!r} has duplicate step names: {names}")
        self.name = name
        self.steps = {s.name: s for s in steps}
        for step in steps:
            unknown = [n for n in step.needs if n not in self.steps]
            if unknown:
                raise InvalidRequestError(f"step {step.name!r} needs unknown steps {unknown}")
        self._order = _topological(self.steps)
        self.cache_dir = Path(cache_dir)
        self.studio = studio
        self.max_workers = max(1, max_workers)
        self.on_event = on_event

    def run(self, params: Mapping[str, Any], *, cancel: threading.Event | None = None) -> PipelineRun:
        """Run every step whose output is not cached; return all outputs.

        Raises:
            InvalidRequestError: A step's parameter is missing.
            PipelineCancelledError: ``cancel`` was set; finished stages stay cached.
            PipelineError: A step failed (the cause is chained); its partial work is discarded.

        Example:
            >>> import threading
            >>> stop = threading.Event()  # set it from another thread to cancel
            >>> run = pipeline.run({"text": "a b c"}, cancel=stop)  # doctest: +SKIP
            >>> run.outputs["count"].n, run.reused  # doctest: +SKIP
            (3, [])
        """
        missing = sorted({p for s in self.steps.values() for p in (*s.params, *s.context)} - set(params))
        if missing:
            raise InvalidRequestError(f"pipeline {self.name!r} is missing parameters: {', '.join(missing)}")
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
                    for name in [n for n in remaining if all(d in run.outputs for d in self.steps[n].needs)]:
                        if cancel.is_set():
                            raise PipelineCancelledError(f"pipeline {self.name!r} cancelled before step {name!r}")
                        remaining.remove(name)
                        key = self._key(self.steps[name], params, run.keys)
                        run.keys[name] = key
                        running[pool.submit(self._stage, name, key, params, run, emit, cancel)] = name
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

    def _key(self, step: Step[Any], params: Mapping[str, Any], upstream: Mapping[str, str]) -> str:
        specs: dict[str, Any] = {}
        if step.tasks and self.studio is not None:
            for task in step.tasks:
                spec = self.studio.model_for(task)
                specs[task.value] = {"id": spec.id, "revision": spec.revision, "files": spec.files}
        payload = {
            "pipeline": self.name,
            "step": step.name,
            "version": step.version,
            "params": {p: _jsonable(params[p]) for p in step.params},
            "needs": {n: upstream[n] for n in step.needs},
            "specs": specs,
        }
        return sha256_json(payload)[:24]

    def stage_dir(self, step: str, key: str) -> Path:
        """The folder holding a stage's artifacts and cached output.

        Example:
            >>> import pathlib
            >>> Pipeline("p", [], cache_dir=pathlib.Path("/c")).stage_dir("s", "k").as_posix()
            '/c/p/s/k'
        """
        return self.cache_dir / self.name / step / key

    def _stage(
        self,
        name: str,
        key: str,
        params: Mapping[str, Any],
        run: PipelineRun,
        emit: Callable[[PipelineEvent], None],
        cancel: threading.Event,
    ) -> BaseModel:
        step = self.steps[name]
        folder = self.stage_dir(name, key)
        cached = folder / _OUTPUT
        reused = _load_cached(step, cached) if step.cache else None
        if reused is not None:
            run.cached.add(name)
            emit(PipelineEvent(name, "cached", 1.0))
            return reused
        partial = folder.with_name(f".{key}.partial")
        shutil.rmtree(partial, ignore_errors=True)  # leftovers of a crashed attempt
        partial.mkdir(parents=True)
        ctx = StepContext(name, partial, self.studio, cancel, emit, max_workers=self.max_workers)
        inputs = {p: params[p] for p in (*step.params, *step.context)} | {n: run.outputs[n] for n in step.needs}
        emit(PipelineEvent(name, "started"))
        started = time.perf_counter()
        try:
            ctx.check_cancelled()
            output = step.run(ctx, inputs)
            if not isinstance(output, step.output):
                raise PipelineError(f"step {name!r} returned {type(output).__name__}, not {step.output.__name__}")
            text = output.model_dump_json()
            if folder.exists():
                shutil.rmtree(folder)
            partial.rename(folder)  # artifacts move first; output.json, written last, marks the stage done
            output, text = _relocate(output, text, partial, folder)
            atomic_write_json(folder / _OUTPUT, json.loads(text))
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            emit(PipelineEvent(name, "failed", message=str(exc)))
            if isinstance(exc, AigcError):
                raise
            if isinstance(exc, Exception):
                raise PipelineError(f"step {name!r} failed: {exc}") from exc
            raise
        run.seconds[name] = time.perf_counter() - started
        emit(PipelineEvent(name, "done", 1.0, seconds=run.seconds[name]))
        return output


def _load_cached(step: Step[Any], path: Path) -> BaseModel | None:
    """The cached output, or None when there is none or it is stale (e.g. a file it names was deleted)."""
    if not path.is_file():
        return None
    try:
        output: BaseModel = step.output.model_validate_json(path.read_bytes())
    except ValueError:
        return None  # stale entries are recomputed, not fatal
    return output


def _relocate(output: BaseModel, text: str, old: Path, new: Path) -> tuple[BaseModel, str]:
    """Rewrite paths inside ``old`` (the partial folder) to ``new`` (the final stage folder), with its JSON."""
    moved = text.replace(json.dumps(str(old))[1:-1], json.dumps(str(new))[1:-1])
    if moved == text:
        return output, text
    relocated: BaseModel = type(output).model_validate_json(moved)
    return relocated, moved


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return json.loads(value.model_dump_json())
    if isinstance(value, Path):  # a file counts by content, so ./a.md and /abs/a.md share a cache entry
        return {"sha256": _file_digest(value)} if value.is_file() else str(value.resolve())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _file_digest(path: Path) -> str:
    from aigc_sdk._internal.hashing import sha256_file

    return sha256_file(path)


def _topological(steps: Mapping[str, Step[Any]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise InvalidRequestError(f"pipeline steps form a cycle: {' -> '.join((*chain, name))}")
        state[name] = 1
        for dep in steps[name].needs:
            visit(dep, (*chain, name))
        state[name] = 2
        order.append(name)

    for name in steps:
        visit(name, ())
    return order
