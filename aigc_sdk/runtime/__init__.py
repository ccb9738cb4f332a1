"""The runtime: :class:`GpuScheduler` owns devices, memory budgets and the models loaded on them.

The scheduler is a request queue (``runtime/queue.py``: entries, groups, deadlines,
batching) composed with placement (``runtime/placement.py``: acquire, load, evict,
acting on the decisions of ``runtime/pool.py``). It creates
generators through a loader (by default the registry's one loader,
:func:`aigc_sdk.registry.load`, which applies the weights safety policy) and talks to
them only through the ``Generator`` protocol. Importing this package does not import torch.

Example:
    >>> from aigc_sdk.runtime import GpuScheduler
    >>> with GpuScheduler(budgets={"cpu": 4_000_000_000}, max_wait_ms=2) as scheduler:
    ...     scheduler.metrics().queue_depth
    {}
"""

from aigc_sdk.runtime.metrics import (
    BatchDone,
    BatchStarted,
    ModelEvicted,
    ModelLoaded,
    RequestFailed,
    RequestQueued,
    SchedulerEvent,
    SchedulerMetrics,
)
from aigc_sdk.runtime.pool import MemoryPlan
from aigc_sdk.runtime.scheduler import EvictionPolicy, GpuScheduler, Loader, load_generator

__all__ = [
    "BatchDone",
    "BatchStarted",
    "EvictionPolicy",
    "GpuScheduler",
    "Loader",
    "MemoryPlan",
    "ModelEvicted",
    "ModelLoaded",
    "RequestFailed",
    "RequestQueued",
    "SchedulerEvent",
    "SchedulerMetrics",
    "load_generator",
]
