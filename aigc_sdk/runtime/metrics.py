"""What the scheduler reports: typed events as they happen, and a metrics snapshot on demand.

Example:
    >>> from aigc_sdk.runtime.metrics import ModelLoaded
    >>> event = ModelLoaded(model_id="tiny", device="cpu", seconds=0.2)
    >>> event.kind, event.device
    ('loaded', 'cpu')
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchDone",
    "BatchStarted",
    "ModelEvicted",
    "ModelLoaded",
    "RequestFailed",
    "RequestQueued",
    "SchedulerEvent",
    "SchedulerMetrics",
    "Stats",
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestQueued:
    """A request entered a model's queue.

    Example:
        >>> RequestQueued(model_id="m", request_id=1, priority=0, queue_depth=3).kind
        'queued'
    """

    model_id: str
    request_id: int
    priority: int
    queue_depth: int
    kind: Literal["queued"] = dataclasses.field(default="queued", init=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchStarted:
    """A ``batch()`` call started (after an OOM split, each half is its own batch).

    Example:
        >>> BatchStarted(model_id="m", device="cuda:0", size=8).size
        8
    """

    model_id: str
    device: str
    size: int
    kind: Literal["batch_started"] = dataclasses.field(default="batch_started", init=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchDone:
    """A ``batch()`` call ended; ``ok`` is False when it raised or returned the wrong number of results.

    Example:
        >>> BatchDone(model_id="m", device="cpu", size=4, seconds=0.5, ok=True).ok
        True
    """

    model_id: str
    device: str
    size: int
    seconds: float
    ok: bool
    kind: Literal["batch_done"] = dataclasses.field(default="batch_done", init=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ModelLoaded:
    """A model was loaded (or brought back from CPU offload) onto a device.

    Example:
        >>> ModelLoaded(model_id="m", device="cuda:1", seconds=3.5).seconds
        3.5
    """

    model_id: str
    device: str
    seconds: float
    kind: Literal["loaded"] = dataclasses.field(default="loaded", init=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ModelEvicted:
    """A model was evicted from a device to make room: closed (``drop``) or moved to the CPU (``offload``).

    Example:
        >>> ModelEvicted(model_id="m", device="cuda:0", policy="offload").policy
        'offload'
    """

    model_id: str
    device: str
    policy: Literal["drop", "offload"]
    kind: Literal["evicted"] = dataclasses.field(default="evicted", init=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestFailed:
    """A request ended with an error (timeout, cancellation at shutdown, load failure, OOM, backend error).

    Example:
        >>> RequestFailed(model_id="m", request_id=7, error=TimeoutError("late")).kind
        'failed'
    """

    model_id: str
    request_id: int
    error: BaseException
    kind: Literal["failed"] = dataclasses.field(default="failed", init=False)


#: Every event the scheduler sends to its ``on_event`` hook.
SchedulerEvent = RequestQueued | BatchStarted | BatchDone | ModelLoaded | ModelEvicted | RequestFailed


class SchedulerMetrics(BaseModel):
    """A snapshot of the scheduler's counters, taken by :meth:`GpuScheduler.metrics`.

    Latencies run from ``submit`` to the result (successful requests, the last
    10 000 of them); ``batch_sizes`` is a histogram of the batches the scheduler
    formed (size -> count), before any OOM split.

    Example:
        >>> m = SchedulerMetrics(batch_sizes={1: 2, 4: 1}, batches=3, mean_batch_size=2.0)
        >>> m.batch_sizes[4], m.completed, m.latency_p50_s is None
        (1, 0, True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue_depth: dict[str, int] = Field(
        default_factory=dict, description="Queued (not yet running) requests per model."
    )
    running: dict[str, int] = Field(default_factory=dict, description="Requests in a batch in flight, per model.")
    loaded: dict[str, str] = Field(default_factory=dict, description="Model id -> device it is loaded on.")
    offloaded: tuple[str, ...] = Field(default=(), description="Models parked in host memory by the offload policy.")
    memory_used: dict[str, int] = Field(default_factory=dict, description="Bytes reserved per device.")
    budgets: dict[str, int] = Field(default_factory=dict, description="Memory budget per device (once detected).")
    submitted: int = Field(default=0, description="Requests accepted by submit.")
    completed: int = Field(default=0, description="Requests that got a result.")
    failed: int = Field(default=0, description="Requests that ended with an error, timeouts included.")
    cancelled: int = Field(default=0, description="Requests cancelled while queued (future.cancel() or shutdown).")
    timed_out: int = Field(default=0, description="Requests that waited in the queue past their timeout.")
    batches: int = Field(default=0, description="Batches formed.")
    batch_sizes: dict[int, int] = Field(default_factory=dict, description="Batch size -> number of batches.")
    mean_batch_size: float = Field(default=0.0, description="Mean size of the batches formed.")
    loads: int = Field(default=0, description="Successful model loads (moves back from offload included).")
    evictions: int = Field(default=0, description="Models evicted to make room.")
    load_failures: int = Field(default=0, description="Failed model loads.")
    oom_splits: int = Field(default=0, description="Batches split in halves after running out of memory.")
    isolations: int = Field(default=0, description="Failed batches whose requests ran again one by one.")
    latency_p50_s: float | None = Field(default=None, description="Median seconds from submit to result.")
    latency_p95_s: float | None = Field(default=None, description="95th percentile, seconds.")
    latency_p99_s: float | None = Field(default=None, description="99th percentile, seconds.")


def _percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class Stats:
    """Mutable counters behind :class:`SchedulerMetrics`; the queue and placement update them under the lock.

    Example:
        >>> stats = Stats()
        >>> stats.batch_sizes[2] += 1
        >>> m = stats.snapshot(queue_depth={}, running={}, loaded={}, offloaded=(), memory_used={}, budgets={})
        >>> m.batches, m.mean_batch_size
        (1, 2.0)
    """

    def __init__(self, *, window: int = 10_000) -> None:
        self.submitted = 0
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        self.timed_out = 0
        self.loads = 0
        self.evictions = 0
        self.load_failures = 0
        self.oom_splits = 0
        self.isolations = 0
        self.batch_sizes: collections.Counter[int] = collections.Counter()
        self.latencies: collections.deque[float] = collections.deque(maxlen=window)

    def snapshot(
        self,
        *,
        queue_depth: dict[str, int],
        running: dict[str, int],
        loaded: dict[str, str],
        offloaded: tuple[str, ...],
        memory_used: dict[str, int],
        budgets: dict[str, int],
    ) -> SchedulerMetrics:
        """These counters, with the gauges given (queues, running batches, memory), as :class:`SchedulerMetrics`.

        Example:
            >>> Stats().snapshot(queue_depth={"m": 2}, running={}, loaded={}, offloaded=(), memory_used={},
            ...                  budgets={}).queue_depth
            {'m': 2}
        """
        batches = sum(self.batch_sizes.values())
        total = sum(size * count for size, count in self.batch_sizes.items())
        ordered = sorted(self.latencies)
        return SchedulerMetrics(
            queue_depth=queue_depth,
            running=running,
            loaded=loaded,
            offloaded=offloaded,
            memory_used=memory_used,
            budgets=budgets,
            submitted=self.submitted,
            completed=self.completed,
            failed=self.failed,
            cancelled=self.cancelled,
            timed_out=self.timed_out,
            batches=batches,
            batch_sizes=dict(sorted(self.batch_sizes.items())),
            mean_batch_size=total / batches if batches else 0.0,
            loads=self.loads,
            evictions=self.evictions,
            load_failures=self.load_failures,
            oom_splits=self.oom_splits,
            isolations=self.isolations,
            latency_p50_s=_percentile(ordered, 50),
            latency_p95_s=_percentile(ordered, 95),
            latency_p99_s=_percentile(ordered, 99),
        )
