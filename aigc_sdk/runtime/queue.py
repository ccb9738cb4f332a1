"""The scheduler's request queue: entries, per-model queues of batch groups, deadlines and batching.

Each model has a :class:`ModelQueue`: queued requests in groups that may share a
batch (same request type and :meth:`~aigc_sdk.types.Request.batch_key`), each group a
heap by priority then arrival, and one worker thread. :meth:`RequestQueue.next_batch`
waits at most ``max_wait`` for a group to fill; :meth:`RequestQueue.run_batch` runs a
batch on a generator (splitting it in halves when it runs out of device memory) and
settles its futures. Deadlines are watched by one timer thread, started with the first
request that has a timeout.

The queue keeps no lock of its own: it shares the scheduler's, and its methods say
whether they expect it held ("lock held") or take it themselves ("outside the lock").
Every outcome is counted in the metrics *before* the caller's future is settled, so a
caller that reads ``metrics()`` right after getting its result sees its request finished.

Example:
    >>> import threading
    >>> from aigc_sdk.runtime.metrics import Stats
    >>> from aigc_sdk.runtime.queue import RequestQueue
    >>> queue = RequestQueue(threading.Lock(), Stats(), lambda event: None, max_wait=0.0, worker=lambda q: None)
    >>> queue.depths(), queue.total
    ({}, 0)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from aigc_sdk._internal.oom import is_out_of_memory
from aigc_sdk.errors import GenerationError, OutOfDeviceMemoryError, RequestTimeoutError, SchedulerBusyError
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.runtime.devices import empty_cache
from aigc_sdk.runtime.metrics import BatchDone, BatchStarted, RequestFailed, SchedulerEvent, Stats
from aigc_sdk.types import Request, Result

if TYPE_CHECKING:
    from aigc_sdk.registry.loader import Generator

__all__ = ["DEAD", "QUEUED", "TAKEN", "Entry", "Group", "ModelQueue", "RequestQueue"]

logger = logging.getLogger(__name__)

#: Entry states: waiting in a group, taken into a batch, or out of the queue without running.
QUEUED, TAKEN, DEAD = "queued", "taken", "dead"

#: How an outcome is counted: a failure, a failure by timeout, or a cancellation.
_Count = Literal["failed", "timed_out", "cancelled"]


@dataclasses.dataclass(eq=False)
class Entry:
    """A submitted request and its future.

    Example:
        >>> import concurrent.futures
        >>> from aigc_sdk.types import TextRequest
        >>> entry = Entry(1, "m", TextRequest(prompt="hi"), 0, concurrent.futures.Future(), 0.0, None, Group("k", 0.0))
        >>> entry.state
        'queued'
    """

    id: int
    model_id: str
    request: Request
    priority: int
    future: concurrent.futures.Future[Result]
    enqueued: float
    deadline: float | None
    group: Group
    state: str = QUEUED


@dataclasses.dataclass(eq=False)
class Group:
    """Queued requests of one model that may share a batch: a heap by (-priority, arrival).

    Example:
        >>> Group(key="k", since=0.0).top() is None
        True
    """

    key: object
    since: float
    heap: list[tuple[int, int, Entry]] = dataclasses.field(default_factory=list)
    live: int = 0

    def top(self) -> Entry | None:
        """The queued entry that runs first (dropping dead ones from the top).

        Example:
            >>> Group(key="k", since=0.0).top() is None
            True
        """
        while self.heap and self.heap[0][2].state != QUEUED:
            heapq.heappop(self.heap)
        return self.heap[0][2] if self.heap else None


@dataclasses.dataclass(eq=False)
class ModelQueue:
    """One model's queue: its groups, counts and worker thread.

    Example:
        >>> import threading
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
        ...                  batchable=True, max_batch_size=4)
        >>> ModelQueue(spec, threading.Condition()).max_batch
        4
    """

    spec: ModelSpec
    cv: threading.Condition
    groups: dict[object, Group] = dataclasses.field(default_factory=dict)
    queued: int = 0
    running: int = 0
    thread: threading.Thread | None = None

    @property
    def max_batch(self) -> int:
        """The most requests one batch of this model may hold.

        Example:
            >>> import threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."))
            >>> ModelQueue(spec, threading.Condition()).max_batch
            1
        """
        return self.spec.max_batch_size if self.spec.batchable else 1


def batch_key(request: Request) -> object:
    """The key of the group ``request`` waits in: its type and its (hashable) ``batch_key()``.

    Example:
        >>> from aigc_sdk.types import TextRequest
        >>> batch_key(TextRequest(prompt="a")) == batch_key(TextRequest(prompt="b"))
        True
    """
    key = request.batch_key()
    try:
        hash(key)
    except TypeError:
        return (type(request), repr(key))
    return (type(request), key)


class RequestQueue:
    """Every model's queue, the deadlines, and the batches taken from them.

    Args:
        lock: The scheduler's lock, shared with placement.
        stats: The scheduler's counters.
        emit: Reports a :data:`~aigc_sdk.runtime.SchedulerEvent`.
        max_wait: Seconds a batch may wait for more requests before it runs.
        max_queue: Most queued requests per model (None: unbounded).
        max_queue_total: Most queued requests over all models (None: unbounded).
        worker: The worker loop, started on its own thread for each model's queue when it is made.

    Example:
        >>> import threading
        >>> from aigc_sdk.runtime.metrics import Stats
        >>> queue = RequestQueue(threading.Lock(), Stats(), print, max_wait=0.005, worker=lambda q: None)
        >>> queue.closed
        False
    """

    def __init__(
        self,
        lock: threading.Lock,
        stats: Stats,
        emit: Callable[[SchedulerEvent], None],
        *,
        max_wait: float,
        max_queue: int | None = None,
        max_queue_total: int | None = None,
        worker: Callable[[ModelQueue], None],
    ) -> None:
        self.lock = lock
        self.stats = stats
        self.emit = emit
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.max_queue_total = max_queue_total
        self.models: dict[str, ModelQueue] = {}
        self.total = 0
        self.closed = False
        self._worker = worker
        self._ids = itertools.count(1)
        self._deadlines: list[tuple[float, int, Entry]] = []
        self._timer: threading.Thread | None = None
        self._timer_cv = threading.Condition(lock)

    # -- putting requests in (lock held) -------------------------------------------------------

    def model(self, spec: ModelSpec) -> ModelQueue:
        """The queue of ``spec``'s model, made (and its worker started) on first use; lock held.

        Example:
            >>> import threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> queue = RequestQueue(threading.Lock(), Stats(), print, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."))
            >>> queue.model(spec) is queue.model(spec)
            True
        """
        queue = self.models.get(spec.id)
        if queue is None:
            queue = self.models[spec.id] = ModelQueue(spec=spec, cv=threading.Condition(self.lock))
            queue.thread = threading.Thread(target=self._worker, args=(queue,), name=f"aigc-scheduler:{spec.id}")
            queue.thread.daemon = True
            queue.thread.start()
        return queue

    def put(
        self,
        spec: ModelSpec,
        request: Request,
        future: concurrent.futures.Future[Result],
        *,
        priority: int,
        timeout: float | None,
    ) -> Entry:
        """Queue ``request`` for ``spec``'s model; lock held.

        Raises:
            SchedulerBusyError: The model's queue, or all queues together, are full.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), print, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."))
            >>> with lock:
            ...     entry = queue.put(spec, TextRequest(prompt="hi"), concurrent.futures.Future(), priority=0,
            ...                       timeout=None)
            >>> queue.depths()
            {'m': 1}
        """
        queue = self.model(spec)
        if self.max_queue is not None and queue.queued >= self.max_queue:
            raise SchedulerBusyError(f"the queue of {spec.id!r} is full ({queue.queued} requests)")
        if self.max_queue_total is not None and self.total >= self.max_queue_total:
            raise SchedulerBusyError(f"the scheduler's queues are full ({self.total} requests)")
        now = time.monotonic()
        key = batch_key(request)
        group = queue.groups.get(key)
        if group is None:
            group = queue.groups[key] = Group(key, since=now)
        elif group.live == 0:
            group.since = now
        deadline = None if timeout is None else now + timeout
        entry = Entry(next(self._ids), spec.id, request, priority, future, now, deadline, group)
        heapq.heappush(group.heap, (-priority, entry.id, entry))
        group.live += 1
        queue.queued += 1
        self.total += 1
        self.stats.submitted += 1
        if entry.deadline is not None:
            heapq.heappush(self._deadlines, (entry.deadline, entry.id, entry))
            self._start_timer()
            self._timer_cv.notify()
        if queue.queued == 1 or group.live >= queue.max_batch:
            queue.cv.notify()  # the worker idles, or a batch is full; otherwise it wakes on its own deadline
        return entry

    def drop(self, entry: Entry) -> None:
        """Take a queued entry out of its queue's counts; lock held.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     queue.drop(entries[0])
            >>> queue.depths(), entries[0].state
            ({'m': 1}, 'dead')
        """
        entry.state = DEAD
        entry.group.live -= 1
        self.models[entry.model_id].queued -= 1
        self.total -= 1

    def take_all(self, queue: ModelQueue) -> list[Entry]:
        """Remove every queued request of ``queue``; lock held.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     [e.request.prompt for e in queue.take_all(queue.models["m"])], queue.depths()
            (['a', 'b'], {'m': 0})
        """
        taken = [e for g in queue.groups.values() for _, _, e in g.heap if e.state == QUEUED]
        for entry in taken:
            self.drop(entry)
        return taken

    def cancelled(self, entry: Entry, future: concurrent.futures.Future[Result]) -> None:
        """Done-callback of each future: a cancelled queued request leaves the queue (outside the lock).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> entries[0].future.add_done_callback(lambda f: queue.cancelled(entries[0], f))
            >>> entries[0].future.cancel(), queue.depths(), queue.stats.cancelled
            (True, {'m': 1}, 1)
        """
        if not future.cancelled():
            return
        with self.lock:
            if entry.state != QUEUED:
                return
            self.drop(entry)
            self.stats.cancelled += 1

    def wake(self, model_id: str) -> None:
        """Wake ``model_id``'s worker (lock held), e.g. when another model stops waiting for its memory.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     queue.wake("m"); queue.wake("unknown")  # no queue, nothing to wake
        """
        queue = self.models.get(model_id)
        if queue is not None:
            queue.cv.notify_all()

    def depths(self) -> dict[str, int]:
        """Queued requests per model, by id (lock held).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> queue.depths()
            {'m': 2}
        """
        return {m: q.queued for m, q in sorted(self.models.items())}

    def running(self) -> dict[str, int]:
        """Requests in running batches per model, for models with any (lock held).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     batch = queue.next_batch(queue.models["m"], held_back=lambda model_id: False)
            ...     queue.running()
            {'m': 2}
        """
        return {m: q.running for m, q in sorted(self.models.items()) if q.running}

    # -- taking batches out (lock held) --------------------------------------------------------

    def next_batch(self, queue: ModelQueue, *, held_back: Callable[[str], bool]) -> list[Entry] | None:
        """Wait for the next batch of ``queue`` (lock held); None when closed and drained.

        Args:
            queue: The model's queue.
            held_back: Whether the model must wait (another model waits for its memory: let it be
                evicted first); checked again each time the worker wakes.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     batch = queue.next_batch(queue.models["m"], held_back=lambda model_id: False)
            >>> [e.request.prompt for e in batch], [e.state for e in batch], queue.stats.batch_sizes
            (['a', 'b'], ['taken', 'taken'], Counter({2: 1}))
        """
        while True:
            if held_back(queue.spec.id):
                queue.cv.wait()
                continue
            group = self._best_group(queue)
            if group is None:
                if self.closed:
                    return None
                queue.cv.wait()
                continue
            limit = queue.max_batch
            window = self.max_wait if queue.spec.max_wait_ms is None else queue.spec.max_wait_ms / 1000
            remaining = group.since + window - time.monotonic()
            if group.live < limit and remaining > 0 and not self.closed:
                queue.cv.wait(remaining)
                continue
            batch = self._take(group, limit)
            if batch:
                queue.running = len(batch)
                self.stats.batch_sizes[len(batch)] += 1
                return batch

    def _best_group(self, queue: ModelQueue) -> Group | None:
        best: Group | None = None
        best_rank: tuple[int, int] | None = None
        for key in list(queue.groups):
            group = queue.groups[key]
            top = group.top()
            if top is None:
                del queue.groups[key]
                continue
            rank = (-top.priority, top.id)
            if best_rank is None or rank < best_rank:
                best, best_rank = group, rank
        return best

    def _take(self, group: Group, limit: int) -> list[Entry]:
        """Up to ``limit`` queued entries of ``group``, marked running; cancelled ones are skipped."""
        batch: list[Entry] = []
        while group.heap and len(batch) < limit:
            entry = heapq.heappop(group.heap)[2]
            if entry.state != QUEUED:
                continue
            self.drop(entry)
            if not entry.future.set_running_or_notify_cancel():
                self.stats.cancelled += 1
                continue
            entry.state = TAKEN
            batch.append(entry)
        if group.live:
            group.since = min(e.enqueued for _, _, e in group.heap if e.state == QUEUED)
        return batch

    # -- running and settling (outside the lock) -----------------------------------------------

    def run_batch(self, model_id: str, generator: Generator[Any, Any], device: str, entries: list[Entry]) -> None:
        """Run one batch on ``generator`` and settle its futures; on running out of memory, split it in halves.

        A batch must return one result per request (checked: a wrong count fails the whole batch). A
        request that runs out of memory alone fails with :class:`~aigc_sdk.errors.OutOfDeviceMemoryError`.
        When a batch of several requests fails with any other error, each of them runs again alone, so one bad
        request (one job's broken input) fails only itself, not the requests batched with it.

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest, TextResult
            >>> class Shout:  # what run_batch needs of a generator: batch()
            ...     def batch(self, requests):
            ...         return [TextResult.model_construct(texts=[r.prompt.upper()]) for r in requests]
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     for p in "ab":
            ...         _ = queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                       timeout=None)
            ...     batch = queue.next_batch(queue.models["m"], held_back=lambda model_id: False)
            >>> queue.run_batch("m", Shout(), "cpu", batch)
            >>> [e.future.result().texts for e in batch], queue.stats.completed
            ([['A'], ['B']], 2)
        """
        self.emit(BatchStarted(model_id=model_id, device=device, size=len(entries)))
        started = time.perf_counter()
        returned = False  # the generator returned (a wrong count is its bug, not a request's)
        try:
            results = generator.batch([e.request for e in entries])
            returned = True
            if not isinstance(results, list) or len(results) != len(entries):
                got = f"{len(results)} results" if isinstance(results, list) else f"a {type(results).__name__}"
                raise GenerationError(f"{model_id}: batch() returned {got} for {len(entries)} requests")
        except BaseException as exc:
            seconds = time.perf_counter() - started
            self.emit(BatchDone(model_id=model_id, device=device, size=len(entries), seconds=seconds, ok=False))
            # MemoryError includes OutOfDeviceMemoryError, which generators raise for a device OOM
            if not (isinstance(exc, MemoryError) or is_out_of_memory(exc)):
                if len(entries) > 1 and isinstance(exc, Exception) and not returned:
                    with self.lock:
                        self.stats.isolations += 1
                    for entry in entries:  # which request was bad is unknown: each runs alone, and fails alone
                        self.run_batch(model_id, generator, device, [entry])
                    return
                self.fail(entries, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            empty_cache(device)
            if len(entries) > 1:
                with self.lock:
                    self.stats.oom_splits += 1
                half = len(entries) // 2
                self.run_batch(model_id, generator, device, entries[:half])
                self.run_batch(model_id, generator, device, entries[half:])
                return
            error: BaseException = exc
            if not isinstance(exc, OutOfDeviceMemoryError):
                error = OutOfDeviceMemoryError(f"{model_id} ran out of memory on {device} alone")
                error.__cause__, error.__suppress_context__ = exc, True
            self.fail(entries, error)
            return
        seconds = time.perf_counter() - started
        self.emit(BatchDone(model_id=model_id, device=device, size=len(entries), seconds=seconds, ok=True))
        self.complete(entries, results)

    def complete(self, entries: Sequence[Entry], results: Sequence[Result]) -> None:
        """Count ``entries`` as completed, then hand each its result (outside the lock).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> from aigc_sdk.types import TextResult
            >>> with lock:
            ...     batch = queue.next_batch(queue.models["m"], held_back=lambda model_id: False)
            >>> results = [TextResult.model_construct(texts=[e.request.prompt.upper()]) for e in batch]
            >>> queue.complete(batch, results)
            >>> queue.stats.completed, queue.running(), [e.future.result().texts for e in batch]
            (2, {}, [['A'], ['B']])
        """
        done = time.monotonic()
        with self.lock:
            self.stats.completed += len(entries)
            self.stats.latencies.extend(done - e.enqueued for e in entries)
            self._stopped_running(entries)
        for entry, result in zip(entries, results, strict=True):
            entry.future.set_result(result)

    def fail(self, entries: Sequence[Entry], error: BaseException, *, pending: bool = False) -> None:
        """Fail ``entries`` with ``error`` (outside the lock). ``pending``: they never ran (they may be cancelled).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     batch = queue.next_batch(queue.models["m"], held_back=lambda model_id: False)
            >>> queue.fail(batch, RuntimeError("boom"))
            >>> queue.stats.failed, str(batch[0].future.exception())
            (2, 'boom')
        """
        self._settle([(entry, error) for entry in entries], pending=pending, count="failed")

    def cancel(self, entries: Sequence[Entry], error: BaseException) -> None:
        """Fail queued ``entries`` with ``error``, counted as cancelled (outside the lock).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> with lock:
            ...     dropped = queue.close(cancel_pending=True)
            >>> queue.cancel(dropped, RuntimeError("shut down"))
            >>> queue.stats.cancelled, str(entries[1].future.exception())
            (2, 'shut down')
        """
        self._settle([(entry, error) for entry in entries], pending=True, count="cancelled")

    def time_out(self, entries: Sequence[Entry], *, waited: float | None = None) -> None:
        """Fail those of ``entries`` still queued with RequestTimeoutError; running ones go on (outside the lock).

        Example:
            >>> import concurrent.futures, threading
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), lambda e: None, max_wait=0.0, worker=lambda q: None)
            >>> spec = ModelSpec(id="m", task="text-generation", backend="a.B", source=LocalSource(path="."),
            ...                  batchable=True, max_batch_size=4)
            >>> with lock:
            ...     entries = [queue.put(spec, TextRequest(prompt=p), concurrent.futures.Future(), priority=0,
            ...                          timeout=None) for p in "ab"]
            >>> queue.time_out(entries[:1], waited=1.0)
            >>> queue.stats.timed_out, entries[0].future.exception().message
            (1, "request to 'm' waited 1.000 s in the queue")
        """
        with self.lock:
            queued = [e for e in entries if e.state == QUEUED]
            for entry in queued:
                self.drop(entry)
        now = time.monotonic()
        failures: list[tuple[Entry, BaseException]] = []
        for entry in queued:
            seconds = now - entry.enqueued if waited is None else waited
            message = f"request to {entry.model_id!r} waited {seconds:.3f} s in the queue"
            failures.append((entry, RequestTimeoutError(message)))
        self._settle(failures, pending=True, count="timed_out")

    def _settle(self, failures: list[tuple[Entry, BaseException]], *, pending: bool, count: _Count) -> None:
        """Count the outcomes first, then set each future's error and report it."""
        claimed = [(e, err) for e, err in failures if not pending or e.future.set_running_or_notify_cancel()]
        with self.lock:
            if count == "cancelled":
                self.stats.cancelled += len(failures)
            else:
                self.stats.failed += len(claimed)
                self.stats.cancelled += len(failures) - len(claimed)
                if count == "timed_out":
                    self.stats.timed_out += len(claimed)
            if not pending:
                self._stopped_running([e for e, _ in failures])
        for entry, error in claimed:
            entry.future.set_exception(error)
            self.emit(RequestFailed(model_id=entry.model_id, request_id=entry.id, error=error))

    def _stopped_running(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            queue = self.models[entry.model_id]
            queue.running = max(0, queue.running - 1)

    # -- deadlines and closing -----------------------------------------------------------------

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = threading.Thread(target=self._expire, name="aigc-scheduler:timer", daemon=True)
            self._timer.start()

    def _expire(self) -> None:
        """The timer thread: fail queued requests whose deadline passed."""
        while True:
            expired: list[Entry] = []
            with self.lock:
                while not expired:
                    while self._deadlines and self._deadlines[0][2].state != QUEUED:
                        heapq.heappop(self._deadlines)
                    if self.closed and (self.total == 0 or not self._deadlines):
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
                        if entry.state == QUEUED:
                            expired.append(entry)
            self.time_out(expired)

    def close(self, *, cancel_pending: bool) -> list[Entry]:
        """Accept no more requests and wake every thread; lock held. Returns the entries taken out to cancel.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), print, max_wait=0.0, worker=lambda q: None)
            >>> with lock:
            ...     queue.close(cancel_pending=True)
            []
        """
        self.closed = True
        dropped = [entry for queue in self.models.values() for entry in self.take_all(queue)] if cancel_pending else []
        for queue in self.models.values():
            queue.cv.notify_all()
        self._timer_cv.notify_all()
        return dropped

    def join(self) -> None:
        """Wait for every worker and the timer to finish (outside the lock; call after :meth:`close`).

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> lock = threading.Lock()
            >>> queue = RequestQueue(lock, Stats(), print, max_wait=0.0, worker=lambda q: None)
            >>> with lock:
            ...     _ = queue.close(cancel_pending=False)
            >>> queue.join()
        """
        current = threading.current_thread()
        with self.lock:
            threads = [q.thread for q in self.models.values() if q.thread is not None]
        for thread in threads:
            if thread is not current:
                thread.join()
        with self.lock:
            self._timer_cv.notify_all()
            timer = self._timer
        if timer is not None and timer is not current:
            timer.join()
