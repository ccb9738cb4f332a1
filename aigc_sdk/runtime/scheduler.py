"""``GpuScheduler``: one per process; owns the devices and every model loaded on them.

Requests go in with :meth:`GpuScheduler.submit` (a future), :meth:`~GpuScheduler.asubmit`
(asyncio) or :meth:`~GpuScheduler.run` (blocking). Each model has a priority
queue and one worker thread. The worker coalesces compatible requests (same
request type and :meth:`~aigc_sdk.types.Request.batch_key`) into one
``generator.batch()`` call, waiting at most ``max_wait_ms`` for a batch to fill,
loads the model on a device with room (evicting idle models, least recently used
first), splits a batch in halves when it runs out of device memory, and records
metrics and events as it goes.

Threads: one worker per model that has been asked for, plus one timer thread
(started on the first request with a timeout). All shared state lives under one
lock; slow work (loading, closing, moving, generating) runs outside it.

Example:
    >>> from aigc_sdk.runtime.scheduler import GpuScheduler
    >>> with GpuScheduler(budgets={"cpu": 1_000_000}, max_wait_ms=2, max_queue=64) as scheduler:
    ...     scheduler.metrics().submitted
    0
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import heapq
import importlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from aigc_sdk._internal.oom import is_out_of_memory
from aigc_sdk.errors import (
    GenerationError,
    InvalidRequestError,
    MissingDependencyError,
    ModelError,
    ModelLoadError,
    OutOfDeviceMemoryError,
    RequestCancelledError,
    RequestTimeoutError,
    SchedulerBusyError,
    SchedulerClosedError,
    UnknownModelError,
)
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.runtime.devices import default_budget, detect_devices, empty_cache, normalize_device
from aigc_sdk.runtime.metrics import (
    BatchDone,
    BatchStarted,
    ModelEvicted,
    ModelLoaded,
    RequestFailed,
    RequestQueued,
    SchedulerEvent,
    SchedulerMetrics,
    _Stats,
)
from aigc_sdk.runtime.pool import Evicted, MemoryPlan, ModelPool, ModelState, PoolEntry, Room, plan_memory
from aigc_sdk.types import MAX_SEED, Request, Result

if TYPE_CHECKING:
    from aigc_sdk.generators.base import Generator

__all__ = ["EvictionPolicy", "GpuScheduler", "Loader", "load_generator"]

logger = logging.getLogger(__name__)

#: What to do with an idle model evicted to make room: close it, or move it to the CPU.
EvictionPolicy = Literal["drop", "offload"]
#: Creates a generator for a spec on a device: ``loader(spec, device)``.
Loader = Callable[[ModelSpec, str], "Generator[Any, Any]"]

_QUEUED, _TAKEN, _DEAD = "queued", "taken", "dead"


def load_generator(spec: ModelSpec, device: str) -> Generator[Any, Any]:
    """The default loader: import ``spec.backend`` lazily and call ``cls(spec, device=device)``.

    Raises:
        ModelLoadError: The backend module or class does not exist.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="ghost", task="text-generation", backend="no_such_pkg.Ghost",
        ...                  source=LocalSource(path="."))
        >>> try:
        ...     load_generator(spec, "cpu")
        ... except ModelLoadError as e:
        ...     print(e.message)
        cannot import 'no_such_pkg', the backend module of 'ghost'
    """
    module_name, _, attr = spec.backend.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ModelLoadError(
                f"cannot import {module_name!r}, the backend module of {spec.id!r}",
                hint="check the spec's backend path, or install the package that provides it",
            ) from exc
        raise
    cls = getattr(module, attr, None)
    if not callable(cls):
        raise ModelLoadError(f"{module_name!r} has no class {attr!r} (backend of {spec.id!r})")
    generator: Generator[Any, Any] = cls(spec, device=device)
    return generator


def _check_generator(obj: object, spec: ModelSpec) -> None:
    """Duck-type the Generator protocol (runtime never imports the generators package)."""
    missing = [name for name in ("batch", "to", "close") if not callable(getattr(obj, name, None))]
    if missing:
        raise ModelLoadError(f"the loader returned a {type(obj).__name__} for {spec.id!r}, which lacks {missing}")


def _chained(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    error.__suppress_context__ = True
    return error


@dataclasses.dataclass(eq=False)
class _Entry:
    """A submitted request and its future."""

    id: int
    model_id: str
    request: Request
    priority: int
    future: concurrent.futures.Future[Result]
    enqueued: float
    deadline: float | None
    group: _Group
    state: str = _QUEUED


@dataclasses.dataclass(eq=False)
class _Group:
    """Queued requests of one model that may share a batch: a heap by (-priority, arrival)."""

    key: object
    since: float
    heap: list[tuple[int, int, _Entry]] = dataclasses.field(default_factory=list)
    live: int = 0

    def top(self) -> _Entry | None:
        while self.heap and self.heap[0][2].state != _QUEUED:
            heapq.heappop(self.heap)
        return self.heap[0][2] if self.heap else None


@dataclasses.dataclass(eq=False)
class _Slot:
    """One model's queue, worker thread and place in the pool."""

    spec: ModelSpec
    cv: threading.Condition
    groups: dict[object, _Group] = dataclasses.field(default_factory=dict)
    queued: int = 0
    running: int = 0
    thread: threading.Thread | None = None
    entry: PoolEntry | None = None
    use: threading.Lock = dataclasses.field(default_factory=threading.Lock)  # one batch or lease at a time

    @property
    def max_batch(self) -> int:
        return self.spec.max_batch_size if self.spec.batchable else 1


class GpuScheduler:
    """Schedules requests onto models on devices: pool, dynamic batching, queues, faults, metrics.

    Args:
        specs: The models it may serve (specs, or a mapping id -> spec); add more with :meth:`add_spec`.
        devices: Devices to use, in order of preference (``cuda:N``, ``mps``, ``cpu``). Default: the keys
            of ``budgets`` if given, else every CUDA device or ``mps``, then ``cpu`` (detected lazily).
            A model that can use an accelerator goes only on accelerators when there are any; the
            CPU takes the models whose spec says they run only there (``ModelSpec.devices``).
        budgets: Bytes the scheduler may fill per device. Missing devices get their free memory minus
            ``headroom`` × total, measured when the first model loads.
        headroom: Fraction of a device's total memory left free when its budget is measured.
        loader: Creates a generator: ``loader(spec, device)``. Default: :func:`load_generator`.
        eviction: ``"drop"`` closes evicted models; ``"offload"`` moves them to the CPU (host memory,
            outside every budget) and moves them back on their next request.
        max_wait_ms: How long a batch may wait for more requests before it runs.
        max_queue: Most queued requests per model (None: unbounded); beyond it ``submit`` raises
            :class:`~aigc_sdk.errors.SchedulerBusyError`.
        max_queue_total: Most queued requests over all models (None: unbounded).
        on_event: Called with each :data:`~aigc_sdk.runtime.SchedulerEvent`, from the thread where it
            happened; keep it quick. Exceptions it raises are logged.

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
        >>> spec = ModelSpec(id="upper", task="text-generation", backend="example.Upper",
        ...                  source=LocalSource(path="."), batchable=True, max_batch_size=8, memory_bytes=1000)
        >>> with GpuScheduler([spec], budgets={"cpu": 10_000}, loader=lambda s, d: Upper(s, device=d)) as sched:
        ...     futures = [sched.submit("upper", TextRequest(prompt=w)) for w in ("a", "b", "c")]
        ...     [f.result().text for f in futures], sched.run("upper", TextRequest(prompt="hi", seed=1)).text
        (['A', 'B', 'C'], 'HI')
    """

    def __init__(
        self,
        specs: Iterable[ModelSpec] | Mapping[str, ModelSpec] = (),
        *,
        devices: Sequence[str] | None = None,
        budgets: Mapping[str, int] | None = None,
        headroom: float = 0.1,
        loader: Loader | None = None,
        eviction: EvictionPolicy = "drop",
        max_wait_ms: float = 5.0,
        max_queue: int | None = 1024,
        max_queue_total: int | None = None,
        on_event: Callable[[SchedulerEvent], None] | None = None,
    ) -> None:
        if eviction not in ("drop", "offload"):
            raise InvalidRequestError(f"eviction must be 'drop' or 'offload', got {eviction!r}")
        if max_wait_ms < 0:
            raise InvalidRequestError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        for name, bound in (("max_queue", max_queue), ("max_queue_total", max_queue_total)):
            if bound is not None and bound < 1:
                raise InvalidRequestError(f"{name} must be >= 1 or None, got {bound}")
        if not 0.0 <= headroom < 1.0:
            raise InvalidRequestError(f"headroom must be in [0, 1), got {headroom}")
        overrides = {normalize_device(d): int(b) for d, b in (budgets or {}).items()}
        if any(b < 0 for b in overrides.values()):
            raise InvalidRequestError(f"budgets must be >= 0 bytes, got {budgets}")
        chosen = [normalize_device(d) for d in devices] if devices is not None else None
        if chosen is not None:
            if not chosen or len(set(chosen)) != len(chosen):
                raise InvalidRequestError(
                    f"devices must be a non-empty list without repeats, got {list(devices or [])}"
                )
            extra = sorted(set(overrides) - set(chosen))
            if extra:
                raise InvalidRequestError(f"budgets name devices that are not in devices: {extra}")
        elif overrides:
            chosen = list(overrides)
        self._device_choice = chosen
        self._budget_overrides = overrides
        self._headroom = headroom
        self._loader: Loader = loader or load_generator
        self._eviction: EvictionPolicy = eviction
        self._max_wait = max_wait_ms / 1000.0
        self._max_queue = max_queue
        self._max_queue_total = max_queue_total
        self._on_event = on_event

        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified when memory may have freed up
        self._timer_cv = threading.Condition(self._lock)
        self._detect_lock = threading.Lock()
        self._specs: dict[str, ModelSpec] = {}
        self._slots: dict[str, _Slot] = {}
        self._pool: ModelPool | None = None
        self._stats = _Stats()
        self._ids = itertools.count(1)
        self._total_queued = 0
        self._deadlines: list[tuple[float, int, _Entry]] = []
        self._timer: threading.Thread | None = None
        self._closed = False
        for spec in specs.values() if isinstance(specs, Mapping) else specs:
            self.add_spec(spec)

    # -- configuration -------------------------------------------------------------------------

    def add_spec(self, spec: ModelSpec, *, exist_ok: bool = False) -> None:
        """Make ``spec`` known; a different spec under a known id needs ``exist_ok=True``.

        A replaced spec takes effect the next time the model loads.

        Raises:
            InvalidRequestError: The id is known with a different spec and ``exist_ok`` is False.

        Example:
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."))
            >>> sched = GpuScheduler(budgets={"cpu": 1000})
            >>> sched.add_spec(spec); sched.add_spec(spec)  # the same spec again is fine
            >>> sched.model_ids
            ['m']
        """
        with self._lock:
            known = self._specs.get(spec.id)
            if known is not None and known != spec and not exist_ok:
                raise InvalidRequestError(
                    f"model {spec.id!r} is already known with a different spec", hint="pass exist_ok=True to replace it"
                )
            self._specs[spec.id] = spec
            slot = self._slots.get(spec.id)
            if slot is not None:
                slot.spec = spec

    @property
    def model_ids(self) -> list[str]:
        """Ids of the models this scheduler knows, sorted.

        Example:
            >>> GpuScheduler().model_ids
            []
        """
        with self._lock:
            return sorted(self._specs)

    @property
    def devices(self) -> list[str]:
        """The devices in use, in order of preference (detected on first use).

        Example:
            >>> GpuScheduler(budgets={"cpu": 10**9}).devices
            ['cpu']
        """
        return list(self._ensure_pool().budgets)

    @property
    def budgets(self) -> dict[str, int]:
        """Memory budget in bytes per device (measured on first use unless given).

        Example:
            >>> GpuScheduler(budgets={"cpu": 2_000_000_000}).budgets
            {'cpu': 2000000000}
        """
        return dict(self._ensure_pool().budgets)

    # -- submitting ----------------------------------------------------------------------------

    def submit(
        self, model_id: str, request: Request, *, priority: int = 0, timeout: float | None = None
    ) -> concurrent.futures.Future[Result]:
        """Queue ``request`` for ``model_id`` and return a future of its result.

        A request without a seed gets one drawn here, before batching, so the
        result equals the same request run alone with that seed (it is in the
        result's provenance). Higher ``priority`` runs first; equal priorities run
        in arrival order. ``future.cancel()`` removes a queued request; it never runs.

        Args:
            model_id: A known model id.
            request: The request; its task must be the model's task.
            priority: Higher runs first.
            timeout: Seconds the request may wait in the queue; past it the future
                fails with :class:`~aigc_sdk.errors.RequestTimeoutError`.

        Raises:
            UnknownModelError: No such model.
            InvalidRequestError: The request does not suit the model, or the timeout is negative.
            SchedulerBusyError: The queue is full.
            SchedulerClosedError: The scheduler was shut down.

        Example:
            >>> from aigc_sdk.types import TextRequest
            >>> future = scheduler.submit("tiny-gpt2", TextRequest(prompt="Hi"), priority=1)  # doctest: +SKIP
            >>> future.result(timeout=30).text  # doctest: +SKIP
            'Hi there'
        """
        return self._submit(model_id, request, priority=priority, timeout=timeout)[0]

    async def asubmit(
        self, model_id: str, request: Request, *, priority: int = 0, timeout: float | None = None
    ) -> Result:
        """Submit from asyncio and await the result; cancelling the awaiting task cancels a queued request.

        ``timeout`` bounds the wait in the queue and the whole wait, like :meth:`run`.

        Raises:
            RequestTimeoutError: No result within ``timeout`` seconds.

        Example:
            >>> import asyncio
            >>> from aigc_sdk.types import TextRequest
            >>> async def main(scheduler):
            ...     prompts = ["one", "two", "three"]
            ...     return await asyncio.gather(*(scheduler.asubmit("tiny-gpt2", TextRequest(prompt=p))
            ...                                   for p in prompts))
            >>> results = asyncio.run(main(scheduler))  # doctest: +SKIP
        """
        future, entry = self._submit(model_id, request, priority=priority, timeout=timeout)
        waiter = asyncio.wrap_future(future)
        if timeout is None:
            return await waiter
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        except asyncio.CancelledError:
            waiter.cancel()  # cancels the request too, if it is still queued
            raise
        if not waiter.done():
            # nobody awaits it any more: retrieve its outcome so asyncio does not report it as lost
            waiter.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._time_out([entry], waited=timeout)
            raise RequestTimeoutError(f"no result from {model_id!r} within {timeout} s")
        return waiter.result()

    @contextlib.contextmanager
    def lease(self, model_id: str) -> Iterator[Generator[Any, Any]]:
        """Borrow ``model_id``'s loaded generator (loading it if needed) for direct use, e.g. streaming.

        While leased, the model runs no batches and is never evicted; queued requests wait.

        Raises:
            UnknownModelError: No such model.
            SchedulerClosedError: The scheduler was shut down.
            ModelLoadError: The model failed to load (or OutOfDeviceMemoryError: it fits no budget).

        Example:
            >>> from aigc_sdk.types import TextRequest
            >>> with scheduler.lease("tiny-gpt2") as lm:  # doctest: +SKIP
            ...     print("".join(lm.stream(TextRequest(prompt="Once", seed=1))))
        """
        with self._lock:
            if self._closed:
                raise SchedulerClosedError("the scheduler is shut down")
            spec = self._specs.get(model_id)
            if spec is None:
                raise UnknownModelError(model_id, known=self._specs)
            slot = self._slot(model_id, spec)
        with slot.use:
            failures: list[Exception] = []
            acquired = self._acquire(slot, [], failures=failures)
            if acquired is None:
                raise failures[0]  # _acquire records why it returned None
            try:
                yield acquired[0]
            finally:
                with self._lock:
                    self._idle(slot)

    def run(self, model_id: str, request: Request, *, priority: int = 0, timeout: float | None = None) -> Result:
        """Submit and wait for the result.

        ``timeout`` bounds both the wait in the queue and the whole wait for the result.

        Raises:
            RequestTimeoutError: No result within ``timeout`` seconds. A request still queued then is
                taken out of the queue; one already running finishes, and its result is dropped.

        Example:
            >>> from aigc_sdk.types import TextRequest
            >>> scheduler.run("tiny-gpt2", TextRequest(prompt="Hi", seed=3), timeout=60).text  # doctest: +SKIP
            'Hi there'
        """
        future, entry = self._submit(model_id, request, priority=priority, timeout=timeout)
        try:
            return future.result(timeout=timeout)
        except RequestTimeoutError:
            raise
        except TimeoutError:
            assert timeout is not None
            self._time_out([entry], waited=timeout)
            raise RequestTimeoutError(f"no result from {model_id!r} within {timeout} s") from None

    def _submit(
        self, model_id: str, request: Request, *, priority: int, timeout: float | None
    ) -> tuple[concurrent.futures.Future[Result], _Entry]:
        if not isinstance(request, Request):
            raise InvalidRequestError(f"request must be a Request, got {type(request).__name__}")
        if timeout is not None and timeout < 0:
            raise InvalidRequestError(f"timeout must be >= 0 seconds, got {timeout}")
        if request.seed is None:
            request = request.with_seed(secrets.randbelow(MAX_SEED))
        key = self._batch_key(request)
        future: concurrent.futures.Future[Result] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise SchedulerClosedError("the scheduler is shut down; no new requests are accepted")
            spec = self._specs.get(model_id)
            if spec is None:
                raise UnknownModelError(model_id, known=self._specs)
            if request.task != spec.task:
                raise InvalidRequestError(
                    f"model {model_id!r} does {spec.task.value}, but got a {type(request).__name__} "
                    f"({request.task.value})"
                )
            slot = self._slot(model_id, spec)
            if self._max_queue is not None and slot.queued >= self._max_queue:
                raise SchedulerBusyError(f"the queue of {model_id!r} is full ({slot.queued} requests)")
            if self._max_queue_total is not None and self._total_queued >= self._max_queue_total:
                raise SchedulerBusyError(f"the scheduler's queues are full ({self._total_queued} requests)")
            now = time.monotonic()
            group = slot.groups.get(key)
            if group is None:
                group = slot.groups[key] = _Group(key, since=now)
            elif group.live == 0:
                group.since = now
            entry = _Entry(
                id=next(self._ids),
                model_id=model_id,
                request=request,
                priority=priority,
                future=future,
                enqueued=now,
                deadline=None if timeout is None else now + timeout,
                group=group,
            )
            heapq.heappush(group.heap, (-priority, entry.id, entry))
            group.live += 1
            slot.queued += 1
            self._total_queued += 1
            self._stats.submitted += 1
            if entry.deadline is not None:
                heapq.heappush(self._deadlines, (entry.deadline, entry.id, entry))
                self._start_timer()
                self._timer_cv.notify()
            if slot.queued == 1 or group.live >= slot.max_batch:
                slot.cv.notify()  # the worker idles, or a batch is full; otherwise it wakes on its own deadline
            depth = slot.queued
        future.add_done_callback(functools.partial(self._on_done, entry))
        self._emit(RequestQueued(model_id=model_id, request_id=entry.id, priority=priority, queue_depth=depth))
        return future, entry

    # -- planning and reporting ----------------------------------------------------------------

    def plan(self, specs: Iterable[ModelSpec | str], *, together: bool = False) -> MemoryPlan:
        """Plan memory for the models a pipeline needs, in the order it needs them, before running it.

        The plan places each model with the scheduler's own rules on empty devices
        (models already loaded are not counted: idle ones would be evicted).

        Args:
            specs: Specs or known model ids, in load order.
            together: Require that all of them stay loaded at once.

        Raises:
            OutOfDeviceMemoryError: A model fits on no device, or (``together``) they do not fit at once.
                ``retryable`` is False.
            UnknownModelError: An id is not known.

        Example:
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> def spec(name, size):
            ...     return ModelSpec(id=name, task="text-generation", backend="a.B",
            ...                      source=LocalSource(path="."), memory_bytes=size)
            >>> sched = GpuScheduler([spec("llm", 600), spec("tts", 300)], budgets={"cpu": 1000})
            >>> plan = sched.plan(["llm", "tts"])
            >>> plan.peak_bytes, plan.fits_together
            ({'cpu': 900}, True)
            >>> try:
            ...     sched.plan([spec("huge", 5000)])
            ... except MemoryError as e:
            ...     e.retryable
            False
        """
        resolved: list[ModelSpec] = []
        with self._lock:
            for item in specs:
                if isinstance(item, ModelSpec):
                    resolved.append(item)
                elif item in self._specs:
                    resolved.append(self._specs[item])
                else:
                    raise UnknownModelError(item, known=self._specs)
        return plan_memory(resolved, self._ensure_pool().budgets, together=together)

    def metrics(self) -> SchedulerMetrics:
        """A snapshot of queue depths, batch sizes, loads, evictions, failures and latencies.

        Example:
            >>> m = GpuScheduler().metrics()
            >>> m.completed, m.batches, m.queue_depth
            (0, 0, {})
        """
        with self._lock:
            pool = self._pool
            entries = pool.entries.values() if pool is not None else ()
            return self._stats.snapshot(
                queue_depth={m: s.queued for m, s in sorted(self._slots.items())},
                running={m: s.running for m, s in sorted(self._slots.items()) if s.running},
                loaded={
                    e.model_id: e.device
                    for e in entries
                    if e.device is not None and e.state in (ModelState.READY, ModelState.LOADING)
                },
                offloaded=tuple(sorted(e.model_id for e in entries if e.state is ModelState.PARKED)),
                memory_used=dict(pool.used) if pool is not None else {},
                budgets=dict(pool.budgets) if pool is not None else {},
            )

    # -- shutting down -------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_pending: bool = False) -> None:
        """Stop accepting requests; drain the queues (default) or cancel what is still queued.

        Batches already running always finish. With ``cancel_pending``, queued
        requests fail with :class:`~aigc_sdk.errors.RequestCancelledError`. Each
        worker closes its model when its queue is empty. Calling it again is a no-op.

        Args:
            wait: Block until every worker has finished and closed its model.
            cancel_pending: Fail queued requests instead of running them.

        Example:
            >>> sched = GpuScheduler()
            >>> sched.shutdown(); sched.shutdown()
            >>> sched.closed
            True
        """
        dropped: list[_Entry] = []
        with self._lock:
            self._closed = True
            if cancel_pending:
                dropped = [entry for slot in self._slots.values() for entry in self._take_all(slot)]
                self._stats.cancelled += len(dropped)
            for slot in self._slots.values():
                slot.cv.notify_all()
            self._room.notify_all()
            self._timer_cv.notify_all()
            threads = [s.thread for s in self._slots.values() if s.thread is not None]
        error = RequestCancelledError("cancelled: the scheduler was shut down")
        for entry in dropped:
            self._settle(entry, error, pending=True)
        if not wait:
            return
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join()
        with self._lock:
            self._timer_cv.notify_all()
            timer = self._timer
        if timer is not None and timer is not current:
            timer.join()

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called.

        Example:
            >>> GpuScheduler().closed
            False
        """
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown(wait=True)

    # -- internals: queues ---------------------------------------------------------------------

    @staticmethod
    def _batch_key(request: Request) -> object:
        key = request.batch_key()
        try:
            hash(key)
        except TypeError:
            return (type(request), repr(key))
        return (type(request), key)

    def _slot(self, model_id: str, spec: ModelSpec) -> _Slot:
        """The slot of ``model_id``, with its worker started; lock held."""
        slot = self._slots.get(model_id)
        if slot is None:
            slot = self._slots[model_id] = _Slot(spec=spec, cv=threading.Condition(self._lock))
            slot.thread = threading.Thread(
                target=self._worker, args=(slot,), name=f"aigc-scheduler:{model_id}", daemon=True
            )
            slot.thread.start()
        return slot

    def _drop(self, entry: _Entry) -> None:
        """Take a queued entry out of its queue's counts; lock held."""
        entry.state = _DEAD
        entry.group.live -= 1
        self._slots[entry.model_id].queued -= 1
        self._total_queued -= 1

    def _on_done(self, entry: _Entry, future: concurrent.futures.Future[Result]) -> None:
        if not future.cancelled():
            return
        with self._lock:
            if entry.state != _QUEUED:
                return
            self._drop(entry)
            self._stats.cancelled += 1

    def _settle(self, entry: _Entry, error: BaseException, *, pending: bool) -> bool:
        """Fail one request (outside the lock); False when it was cancelled first. ``pending``: never ran."""
        if pending and not entry.future.set_running_or_notify_cancel():
            return False
        entry.future.set_exception(error)
        self._emit(RequestFailed(model_id=entry.model_id, request_id=entry.id, error=error))
        return True

    def _fail(self, entries: Sequence[_Entry], error: BaseException, *, pending: bool = False) -> None:
        failed = sum(self._settle(entry, error, pending=pending) for entry in entries)
        with self._lock:
            self._stats.failed += failed
            self._stats.cancelled += len(entries) - failed

    def _best_group(self, slot: _Slot) -> _Group | None:
        best: _Group | None = None
        best_rank: tuple[int, int] | None = None
        for key in list(slot.groups):
            group = slot.groups[key]
            top = group.top()
            if top is None:
                del slot.groups[key]
                continue
            rank = (-top.priority, top.id)
            if best_rank is None or rank < best_rank:
                best, best_rank = group, rank
        return best

    def _next_batch(self, slot: _Slot) -> list[_Entry] | None:
        """Wait for the next batch of ``slot`` (lock held); None when closed and drained."""
        while True:
            pooled = slot.entry
            if pooled is not None and pooled.yield_requests and pooled.state is ModelState.READY:
                slot.cv.wait()  # another model waits for this one's memory: let it be evicted first
                continue
            group = self._best_group(slot)
            if group is None:
                if self._closed:
                    return None
                slot.cv.wait()
                continue
            limit = slot.max_batch
            remaining = group.since + self._max_wait - time.monotonic()
            if group.live < limit and remaining > 0 and not self._closed:
                slot.cv.wait(remaining)
                continue
            batch: list[_Entry] = []
            while group.heap and len(batch) < limit:
                entry = heapq.heappop(group.heap)[2]
                if entry.state != _QUEUED:
                    continue
                self._drop(entry)
                if not entry.future.set_running_or_notify_cancel():
                    self._stats.cancelled += 1
                    continue
                entry.state = _TAKEN
                batch.append(entry)
            if group.live:
                group.since = min(e.enqueued for _, _, e in group.heap if e.state == _QUEUED)
            if not batch:
                continue
            if pooled is not None and pooled.state is ModelState.READY:
                pooled.busy = True  # a batch is in flight: not evictable from now on
            slot.running = len(batch)
            self._stats.batch_sizes[len(batch)] += 1
            return batch

    # -- internals: threads --------------------------------------------------------------------

    def _worker(self, slot: _Slot) -> None:
        try:
            while True:
                with self._lock:
                    batch = self._next_batch(slot)
                if batch is None:
                    return
                try:
                    self._serve(slot, batch)
                except Exception as exc:  # a bug here must not strand the batch's futures or the memory
                    logger.exception("scheduler worker for %r failed", slot.spec.id)
                    with self._lock:
                        entry = slot.entry
                        if self._pool is not None and entry is not None and entry.state is ModelState.LOADING:
                            self._pool.release(entry)
                        slot.running = 0
                        self._room.notify_all()
                    self._fail([e for e in batch if not e.future.done()], exc)
        finally:
            self._retire(slot)

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = threading.Thread(target=self._expire, name="aigc-scheduler:timer", daemon=True)
            self._timer.start()

    def _expire(self) -> None:
        """Fail queued requests whose deadline passed."""
        while True:
            expired: list[_Entry] = []
            with self._lock:
                while not expired:
                    while self._deadlines and self._deadlines[0][2].state != _QUEUED:
                        heapq.heappop(self._deadlines)
                    if self._closed and (self._total_queued == 0 or not self._deadlines):
                        return
                    if not self._deadlines:
                        self._timer_cv.wait()
                        continue
                    now = time.monotonic()
                    if self._deadlines[0][0] > now:
                        self._timer_cv.wait(self._deadlines[0][0] - now)
                        continue
                    while self._deadlines and self._deadlines[0][0] <= now:
                        entry = heapq.heappop(self._deadlines)[2]
                        if entry.state == _QUEUED:
                            expired.append(entry)
            self._time_out(expired)

    def _time_out(self, entries: list[_Entry], *, waited: float | None = None) -> None:
        """Fail those of ``entries`` still queued with RequestTimeoutError; running ones go on (outside the lock)."""
        with self._lock:
            queued = [e for e in entries if e.state == _QUEUED]
            for entry in queued:
                self._drop(entry)
        failed = 0
        for entry in queued:
            seconds = time.monotonic() - entry.enqueued if waited is None else waited
            error = RequestTimeoutError(f"request to {entry.model_id!r} waited {seconds:.3f} s in the queue")
            failed += self._settle(entry, error, pending=True)
        with self._lock:
            self._stats.timed_out += failed
            self._stats.failed += failed
            self._stats.cancelled += len(queued) - failed

    # -- internals: the pool -------------------------------------------------------------------

    def _ensure_pool(self) -> ModelPool:
        pool = self._pool
        if pool is not None:
            return pool
        with self._detect_lock:
            if self._pool is None:
                # The CPU comes last: it runs the models that run only there (eSpeak, the slideshow, ...).
                devices = self._device_choice or list(dict.fromkeys([*detect_devices(), "cpu"]))
                budgets = {
                    d: self._budget_overrides[d]
                    if d in self._budget_overrides
                    else default_budget(d, headroom=self._headroom)
                    for d in devices
                }
                with self._lock:
                    self._pool = ModelPool(budgets)
            return self._pool

    def _acquire(
        self, slot: _Slot, batch: list[_Entry], *, failures: list[Exception] | None = None
    ) -> tuple[Generator[Any, Any], str] | None:
        """The model of ``slot``, loaded and marked busy; None when it could not be (the batch is failed).

        The error is also appended to ``failures`` when given (for leases, which have no batch).
        """
        pool = self._ensure_pool()
        spec = slot.spec
        flagged: list[PoolEntry] = []
        failure: Exception | None = None
        evicted: list[Evicted] = []
        parked: Generator[Any, Any] | None = None
        with self._lock:
            entry = slot.entry = pool.entry(spec.id, spec.memory_bytes or 0, spec.devices)
            try:
                while True:
                    if entry.state is ModelState.READY:
                        assert entry.generator is not None
                        assert entry.device is not None
                        entry.busy = True
                        return entry.generator, entry.device
                    if entry.state is ModelState.PARKING:  # being moved to the CPU by another worker
                        self._room.wait()
                        continue
                    decision = pool.find_room(entry)
                    if decision is None and entry.device is None and pool.use_memory_savers(entry, spec):
                        continue
                    if decision is None:
                        failure = pool.why_no_room(entry)
                        break
                    if not isinstance(decision, Room):
                        self._unflag(flagged)
                        flagged = list(decision.blockers)
                        for blocker in flagged:
                            blocker.yield_requests += 1
                        self._room.wait()
                        continue
                    parked = entry.generator if entry.state is ModelState.PARKED else None
                    evicted = pool.reserve(entry, decision, park=self._eviction == "offload")
                    self._stats.evictions += len(evicted)
                    break
            finally:
                self._unflag(flagged)
            if failure is not None:
                pending = self._take_all(slot)
        if failure is not None:
            if failures is not None:
                failures.append(failure)
            self._fail(batch, failure)
            self._fail(pending, failure, pending=True)
            return None
        for victim in evicted:
            self._evict(victim)
        assert entry.device is not None
        device = entry.device
        started = time.perf_counter()
        try:
            generator = self._load(spec, device, parked, savers=entry.need < (spec.memory_bytes or 0))
        except BaseException as exc:
            error: Exception
            if isinstance(exc, ModelError | MissingDependencyError):
                error = exc
            else:
                error = _chained(ModelLoadError(f"{spec.id} failed to load on {device}: {exc}"), exc)
            with self._lock:
                pool.release(entry)
                self._stats.load_failures += 1
                self._room.notify_all()
                pending = self._take_all(slot)
            empty_cache(device)
            if failures is not None:
                failures.append(error)
            self._fail(batch, error)
            self._fail(pending, error, pending=True)
            if not isinstance(exc, Exception):
                raise
            return None
        with self._lock:
            pool.loaded(entry, generator)
            entry.busy = True
            self._stats.loads += 1
        self._emit(ModelLoaded(model_id=spec.id, device=device, seconds=time.perf_counter() - started))
        return generator, device

    def _load(
        self, spec: ModelSpec, device: str, parked: Generator[Any, Any] | None, *, savers: bool = False
    ) -> Generator[Any, Any]:
        if parked is not None:
            try:
                return parked.to(device)  # savers, once on, stay on
            except Exception:
                logger.warning("could not move offloaded %r back to %s; loading it again", spec.id, device)
                self._close(spec.id, parked)
        generator = self._loader(spec, device)
        _check_generator(generator, spec)
        if savers:
            try:
                enable = getattr(generator, "enable_memory_savers", None)
                if not callable(enable):
                    raise ModelLoadError(f"{spec.id} declares memory_savers_bytes but its backend has no memory savers")
                enable(attention_slicing=True, vae_tiling=True, cpu_offload=device.startswith("cuda"))
            except BaseException:
                self._close(spec.id, generator)
                raise
        return generator

    def _unflag(self, flagged: list[PoolEntry]) -> None:
        """Withdraw yield requests (lock held) and wake the models they held back."""
        for blocker in flagged:
            blocker.yield_requests -= 1
            slot = self._slots.get(blocker.model_id)
            if slot is not None:
                slot.cv.notify_all()
        flagged.clear()

    def _take_all(self, slot: _Slot) -> list[_Entry]:
        """Remove every queued request of ``slot`` (lock held)."""
        taken = [e for g in slot.groups.values() for _, _, e in g.heap if e.state == _QUEUED]
        for entry in taken:
            self._drop(entry)
        return taken

    def _evict(self, victim: Evicted) -> None:
        """Close or park a model taken off its device by the pool (outside the lock)."""
        park = self._eviction == "offload" and victim.device != "cpu"
        generator = victim.generator
        if park:
            kept: Generator[Any, Any] | None = None
            if generator is not None:
                try:
                    kept = generator.to("cpu")
                except Exception:
                    logger.warning("could not offload %r to the CPU; closing it", victim.entry.model_id)
                    self._close(victim.entry.model_id, generator)
            with self._lock:
                assert self._pool is not None
                self._pool.parked(victim.entry, kept)
                self._room.notify_all()
        elif generator is not None:
            self._close(victim.entry.model_id, generator)
        empty_cache(victim.device)
        self._emit(ModelEvicted(model_id=victim.entry.model_id, device=victim.device, policy=self._eviction))

    @staticmethod
    def _close(model_id: str, generator: Generator[Any, Any]) -> None:
        try:
            generator.close()
        except Exception:
            logger.warning("closing %r failed", model_id, exc_info=True)

    def _retire(self, slot: _Slot) -> None:
        """A worker's last act: close its model and give its memory back."""
        with self._lock:
            entry = slot.entry
            if entry is None:
                return
            while entry.state is ModelState.PARKING:
                self._room.wait()
            generator, device = entry.generator, entry.device
            assert self._pool is not None
            self._pool.release(entry)
            self._room.notify_all()
        if generator is not None:
            self._close(entry.model_id, generator)
            if device is not None:
                empty_cache(device)

    # -- internals: running batches ------------------------------------------------------------

    def _serve(self, slot: _Slot, batch: list[_Entry]) -> None:
        with slot.use:
            self._serve_locked(slot, batch)

    def _serve_locked(self, slot: _Slot, batch: list[_Entry]) -> None:
        acquired = self._acquire(slot, batch)
        if acquired is None:
            with self._lock:
                slot.running = 0
            return
        generator, device = acquired
        try:
            self._run(slot.spec.id, generator, device, batch)
        finally:
            with self._lock:
                slot.running = 0
                self._idle(slot)

    def _idle(self, slot: _Slot) -> None:
        """The slot's model is no longer in use (lock held): evictable again, most recently used."""
        entry = slot.entry
        if entry is not None:
            entry.busy = False
            if self._pool is not None:
                self._pool.touch(entry)
        self._room.notify_all()

    def _run(self, model_id: str, generator: Generator[Any, Any], device: str, entries: list[_Entry]) -> None:
        """Run one batch; on running out of memory, split it in halves and retry each."""
        self._emit(BatchStarted(model_id=model_id, device=device, size=len(entries)))
        started = time.perf_counter()
        try:
            results = generator.batch([e.request for e in entries])
            if not isinstance(results, list) or len(results) != len(entries):
                got = f"{len(results)} results" if isinstance(results, list) else f"a {type(results).__name__}"
                raise GenerationError(f"{model_id}: batch() returned {got} for {len(entries)} requests")
        except BaseException as exc:
            seconds = time.perf_counter() - started
            self._emit(BatchDone(model_id=model_id, device=device, size=len(entries), seconds=seconds, ok=False))
            # MemoryError includes OutOfDeviceMemoryError, which generators raise for a device OOM
            if isinstance(exc, MemoryError) or is_out_of_memory(exc):
                empty_cache(device)
                if len(entries) > 1:
                    with self._lock:
                        self._stats.oom_splits += 1
                    half = len(entries) // 2
                    self._run(model_id, generator, device, entries[:half])
                    self._run(model_id, generator, device, entries[half:])
                    return
                error: BaseException = exc
                if not isinstance(exc, OutOfDeviceMemoryError):
                    error = _chained(OutOfDeviceMemoryError(f"{model_id} ran out of memory on {device} alone"), exc)
                self._fail(entries, error)
                return
            self._fail(entries, exc)
            if not isinstance(exc, Exception):
                raise
            return
        seconds = time.perf_counter() - started
        self._emit(BatchDone(model_id=model_id, device=device, size=len(entries), seconds=seconds, ok=True))
        for entry, result in zip(entries, results, strict=True):
            entry.future.set_result(result)
        done = time.monotonic()
        with self._lock:
            self._stats.completed += len(entries)
            self._stats.latencies.extend(done - e.enqueued for e in entries)

    def _emit(self, event: SchedulerEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            logger.exception("the scheduler's on_event hook raised on %s", type(event).__name__)
