"""``GpuScheduler``: one per process; owns the devices and every model loaded on them.

Requests go in with :meth:`GpuScheduler.submit` (a future), :meth:`~GpuScheduler.asubmit`
(asyncio) or :meth:`~GpuScheduler.run` (blocking). The scheduler composes two parts
behind that API, as Ray Serve keeps batching and multiplexing apart:

* the request queue (``aigc_sdk/runtime/queue.py``): one priority queue and one worker
  thread per model, requests grouped by what may share a batch (same request type and
  :meth:`~aigc_sdk.types.Request.batch_key`), deadlines, and batches run with OOM splits;
* placement (``aigc_sdk/runtime/placement.py``): acquires a model on a device with room,
  evicting idle models (least recently used first), and loads it through the loader (by
  default the registry's one loader, with its weights safety policy).

Each worker loops: take the next batch from the queue (waiting at most ``max_wait_ms``
for it to fill), acquire its model from placement, run the batch, give the model back.
All shared state lives under one lock, shared by both parts; slow work (loading,
closing, moving, generating) runs outside it.

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
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aigc_sdk.errors import (
    InvalidRequestError,
    ModelLoadError,
    RequestCancelledError,
    RequestTimeoutError,
    SchedulerClosedError,
    UnknownModelError,
)
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.runtime.devices import normalize_device
from aigc_sdk.runtime.metrics import RequestQueued, SchedulerEvent, SchedulerMetrics, Stats
from aigc_sdk.runtime.placement import EvictionPolicy, Loader, Placement, load_generator
from aigc_sdk.runtime.pool import MemoryPlan, plan_memory
from aigc_sdk.runtime.queue import Entry, ModelQueue, RequestQueue
from aigc_sdk.types import Request, Result

if TYPE_CHECKING:
    from aigc_sdk.registry.loader import Generator

__all__ = ["EvictionPolicy", "GpuScheduler", "Loader", "load_generator"]

logger = logging.getLogger(__name__)


class GpuScheduler:
    """Schedules requests onto models on devices: a request queue (batching) composed with placement (pool).

    Args:
        specs: The models it may serve (specs, or a mapping id -> spec); add more with :meth:`add_spec`.
        devices: Devices to use, in order of preference (``cuda:N``, ``mps``, ``cpu``). Default: the keys
            of ``budgets`` if given, else every CUDA device or ``mps``, then ``cpu`` (detected lazily).
            A model that can use an accelerator goes only on accelerators when there are any; the
            CPU takes the models whose spec says they run only there (``ModelSpec.devices``).
        budgets: Bytes the scheduler may fill per device. Missing devices get their free memory minus
            ``headroom`` × total, measured when the first model loads.
        headroom: Fraction of a device's total memory left free when its budget is measured.
        loader: Creates a generator: ``loader(spec, device)``. Default: :func:`load_generator`, the
            registry's one loader, which applies the weights safety policy (no pickle weights unless
            the spec allows them, locked hashes checked).
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
        self._on_event = on_event
        self._lock = threading.Lock()
        self._specs: dict[str, ModelSpec] = {}
        self._stats = Stats()
        self._workers = threading.local()  # .busy: this thread runs a batch (its sub-requests may still queue)
        self._draining = False
        self._queue = RequestQueue(
            self._lock,
            self._stats,
            self._emit,
            max_wait=max_wait_ms / 1000.0,
            max_queue=max_queue,
            max_queue_total=max_queue_total,
            worker=self._worker,
        )
        self._placement = Placement(
            self._lock,
            self._stats,
            self._emit,
            devices=chosen,
            budgets=overrides,
            headroom=headroom,
            loader=loader,
            eviction=eviction,
            wake=self._queue.wake,
        )
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
            queue = self._queue.models.get(spec.id)
            if queue is not None:
                queue.spec = spec

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
        return list(self._placement.pool.budgets)

    @property
    def budgets(self) -> dict[str, int]:
        """Memory budget in bytes per device (measured on first use unless given).

        Example:
            >>> GpuScheduler(budgets={"cpu": 2_000_000_000}).budgets
            {'cpu': 2000000000}
        """
        return dict(self._placement.pool.budgets)

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
            self._queue.time_out([entry], waited=timeout)
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
            queue = self._model_queue(model_id)
        with self._placement.use(model_id):
            try:
                generator, _ = self._placement.acquire(queue.spec)
            except BaseException as exc:
                self._fail_queued(queue, _for_callers(exc, model_id))
                raise
            try:
                yield generator
            finally:
                with self._lock:
                    self._placement.idle(model_id)

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
            self._queue.time_out([entry], waited=timeout)
            raise RequestTimeoutError(f"no result from {model_id!r} within {timeout} s") from None

    def _submit(
        self, model_id: str, request: Request, *, priority: int, timeout: float | None
    ) -> tuple[concurrent.futures.Future[Result], Entry]:
        if not isinstance(request, Request):
            raise InvalidRequestError(f"request must be a Request, got {type(request).__name__}")
        if timeout is not None and timeout < 0:
            raise InvalidRequestError(f"timeout must be >= 0 seconds, got {timeout}")
        request = request.seeded()  # drawn here, so a batched result equals the same request run alone
        future: concurrent.futures.Future[Result] = concurrent.futures.Future()
        with self._lock:
            queue = self._model_queue(model_id)
            if request.task != queue.spec.task:
                raise InvalidRequestError(
                    f"model {model_id!r} does {queue.spec.task.value}, but got a {type(request).__name__} "
                    f"({request.task.value})"
                )
            entry = self._queue.put(queue.spec, request, future, priority=priority, timeout=timeout)
            depth = queue.queued
        future.add_done_callback(functools.partial(self._queue.cancelled, entry))
        self._emit(RequestQueued(model_id=model_id, request_id=entry.id, priority=priority, queue_depth=depth))
        return future, entry

    def _model_queue(self, model_id: str) -> ModelQueue:
        """The queue of a known model, made on first use (lock held).

        After :meth:`shutdown` only a running batch's own sub-requests (a model that composes others)
        are accepted, while the queues drain, so the batch can finish.
        """
        if self._queue.closed and not (self._draining and getattr(self._workers, "busy", False)):
            raise SchedulerClosedError("the scheduler is shut down; no new requests are accepted")
        spec = self._specs.get(model_id)
        if spec is None:
            raise UnknownModelError(model_id, known=self._specs)
        return self._queue.model(spec)

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
        return plan_memory(resolved, self._placement.pool.budgets, together=together)

    def metrics(self) -> SchedulerMetrics:
        """A snapshot of queue depths, batch sizes, loads, evictions, failures and latencies.

        Example:
            >>> m = GpuScheduler().metrics()
            >>> m.completed, m.batches, m.queue_depth
            (0, 0, {})
        """
        with self._lock:
            return self._stats.snapshot(
                queue_depth=self._queue.depths(), running=self._queue.running(), **self._placement.snapshot()
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
        with self._lock:
            self._draining = not cancel_pending and not self._queue.closed
            dropped = self._queue.close(cancel_pending=cancel_pending)
            self._placement.room.notify_all()
        self._queue.cancel(dropped, RequestCancelledError("cancelled: the scheduler was shut down"))
        if wait:
            self._queue.join()

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called.

        Example:
            >>> GpuScheduler().closed
            False
        """
        return self._queue.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown(wait=True)

    # -- internals: the workers ----------------------------------------------------------------

    def _worker(self, queue: ModelQueue) -> None:
        """One model's worker: take a batch from the queue, acquire the model from placement, run it."""
        model_id = queue.spec.id
        try:
            while True:
                with self._lock:
                    batch = self._queue.next_batch(queue, held_back=self._placement.held_back)
                    if batch is not None:
                        self._placement.claim(model_id)  # a batch is in flight: not evictable from now on
                if batch is None:
                    return
                self._workers.busy = True
                try:
                    self._serve(queue, batch)
                except Exception as exc:  # a bug here must not strand the batch's futures or the memory
                    logger.exception("scheduler worker for %r failed", model_id)
                    with self._lock:
                        self._placement.abandon(model_id)
                    self._queue.fail([e for e in batch if not e.future.done()], exc)
                finally:
                    self._workers.busy = False
        finally:
            self._placement.retire(model_id)

    def _serve(self, queue: ModelQueue, batch: list[Entry]) -> None:
        model_id = queue.spec.id
        with self._placement.use(model_id):
            try:
                generator, device = self._placement.acquire(queue.spec)
            except BaseException as exc:
                self._fail_queued(queue, _for_callers(exc, model_id), batch)
                if not isinstance(exc, Exception):
                    raise
                return
            try:
                self._queue.run_batch(model_id, generator, device, batch)
            finally:
                with self._lock:
                    queue.running = 0
                    self._placement.idle(model_id)

    def _fail_queued(self, queue: ModelQueue, error: BaseException, batch: Sequence[Entry] = ()) -> None:
        """The model could not be acquired: fail ``batch`` and every request still queued for it."""
        with self._lock:
            pending = self._queue.take_all(queue)
        self._queue.fail(batch, error)
        self._queue.fail(pending, error, pending=True)

    def _emit(self, event: SchedulerEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            logger.exception("the scheduler's on_event hook raised on %s", type(event).__name__)


def _for_callers(error: BaseException, model_id: str) -> BaseException:
    """What other callers' futures get when a load fails: the error, or a ModelLoadError for an interrupt or exit.

    A KeyboardInterrupt or SystemExit belongs to the thread it happened in; other callers get a
    :class:`ModelLoadError` chained to it instead.
    """
    if isinstance(error, Exception):
        return error
    wrapped = ModelLoadError(f"loading {model_id!r} was interrupted ({type(error).__name__})")
    wrapped.__cause__ = error
    return wrapped
