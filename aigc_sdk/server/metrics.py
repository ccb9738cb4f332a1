"""``GET /metrics``: the service and its scheduler in Prometheus' text format (prometheus-client).

A custom collector reads everything at scrape time: jobs by state and the queue depth and
stage durations from the job store (so they survive a restart), and batch sizes, queue
depths, model loads and evictions from the shared Studio's scheduler
(:meth:`~aigc_sdk.runtime.GpuScheduler.metrics`). Each app has its own registry, never the
process-global one, so two apps in one process (tests) do not mix.

Example:
    >>> import tempfile, pathlib
    >>> from aigc_sdk.server.store import JobStore
    >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
    >>> _ = store.create({})
    >>> text = exposition(registry(store, lambda: None)).decode()
    >>> "aigc_queue_depth 1.0" in text
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from aigc_sdk.runtime.cluster import ClusterMetrics
from aigc_sdk.runtime.metrics import SchedulerMetrics
from aigc_sdk.server.store import JobStatus, JobStore

__all__ = ["CONTENT_TYPE", "ServiceCollector", "exposition", "registry"]

#: The media type of the text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Upper bounds (seconds) of the stage-duration buckets.
STAGE_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: Upper bounds of the batch-size buckets.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


def _buckets(values: Iterable[tuple[float, int]], bounds: Iterable[float]) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets of (value, count) pairs, ``+Inf`` last."""
    pairs = list(values)
    cumulative = [(str(float(bound)), float(sum(n for v, n in pairs if v <= bound))) for bound in bounds]
    return [*cumulative, ("+Inf", float(sum(n for _, n in pairs)))]


class ServiceCollector(Collector):
    """Reads the job store and the scheduler at each scrape.

    Args:
        store: The job store.
        scheduler_metrics: Returns the shared Studio's scheduler snapshot, or None before a Studio is made.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.server.store import JobStore
        >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite")
        >>> sorted(m.name for m in ServiceCollector(store, lambda: None).collect())[:2]
        ['aigc_batch_isolations', 'aigc_jobs']
    """

    def __init__(self, store: JobStore, scheduler_metrics: Callable[[], SchedulerMetrics | None]) -> None:
        self.store = store
        self.scheduler_metrics = scheduler_metrics

    def collect(self) -> Iterator[Metric]:
        """The metrics, read now.

        Example:
            >>> ServiceCollector.collect.__name__
            'collect'
        """
        yield from self._jobs()
        yield from self._scheduler(self.scheduler_metrics() or SchedulerMetrics())

    def _jobs(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("aigc_jobs", "Jobs by state.", labels=["state"])
        for state in get_args(JobStatus):
            jobs.add_metric([state], self.store.count(state))
        yield jobs
        yield GaugeMetricFamily("aigc_queue_depth", "Jobs waiting to run.", value=self.store.count("queued"))
        stages = HistogramMetricFamily("aigc_stage_duration_seconds", "Seconds of finished stages.", labels=["step"])
        by_step: dict[str, list[float]] = {}
        for step, seconds in self.store.stage_seconds():
            by_step.setdefault(step, []).append(seconds)
        for step, seconds_list in sorted(by_step.items()):
            counted = [(seconds, 1) for seconds in seconds_list]
            stages.add_metric([step], _buckets(counted, STAGE_BUCKETS), sum_value=sum(seconds_list))
        yield stages
        deliveries = GaugeMetricFamily("aigc_webhook_deliveries", "Webhook deliveries by status.", labels=["status"])
        for status, count in sorted(self.store.delivery_counts().items()):
            deliveries.add_metric([status], count)
        yield deliveries

    def _scheduler(self, metrics: SchedulerMetrics) -> Iterator[Metric]:
        sizes = [(float(size), count) for size, count in metrics.batch_sizes.items()]
        batches = HistogramMetricFamily("aigc_scheduler_batch_size", "Requests per batch the scheduler formed.")
        total = float(sum(size * count for size, count in sizes))
        batches.add_metric([], _buckets(sizes, BATCH_BUCKETS), sum_value=total)
        yield batches
        queued = GaugeMetricFamily("aigc_scheduler_queue_depth", "Queued model requests.", labels=["model"])
        for model, depth in sorted(metrics.queue_depth.items()):
            queued.add_metric([model], depth)
        yield queued
        yield GaugeMetricFamily("aigc_models_loaded", "Models loaded on a device.", value=len(metrics.loaded))
        yield CounterMetricFamily("aigc_model_loads", "Model loads (moves back from offload included).", metrics.loads)
        yield CounterMetricFamily("aigc_model_evictions", "Models evicted to make room.", value=metrics.evictions)
        yield CounterMetricFamily("aigc_model_load_failures", "Failed model loads.", value=metrics.load_failures)
        yield CounterMetricFamily(
            "aigc_batch_isolations", "Failed batches whose requests ran again one by one.", value=metrics.isolations
        )
        requests = CounterMetricFamily("aigc_scheduler_requests", "Model requests by outcome.", labels=["outcome"])
        for outcome in ("completed", "failed", "cancelled", "timed_out"):
            requests.add_metric([outcome], getattr(metrics, outcome))
        yield requests
        if isinstance(metrics, ClusterMetrics):
            yield from _replicas(metrics)


def _replicas(metrics: ClusterMetrics) -> Iterator[Metric]:
    """Per replica of a Ray cluster: queued requests per model, loaded models, batches formed, retries."""
    queued = GaugeMetricFamily("aigc_replica_queue_depth", "Queued requests per replica.", labels=["replica", "model"])
    loaded = GaugeMetricFamily("aigc_replica_model_loaded", "Models loaded per replica.", labels=["replica", "model"])
    batches = CounterMetricFamily("aigc_replica_batches", "Batches formed per replica.", labels=["replica"])
    mean = GaugeMetricFamily("aigc_replica_mean_batch_size", "Mean batch size per replica.", labels=["replica"])
    for name, replica in sorted(metrics.replicas.items()):
        for model, depth in sorted(replica.queue_depth.items()):
            queued.add_metric([name, model], depth)
        for model in sorted(replica.loaded):
            loaded.add_metric([name, model], 1)
        batches.add_metric([name], replica.batches)
        mean.add_metric([name], replica.mean_batch_size)
    yield from (queued, loaded, batches, mean)
    yield CounterMetricFamily("aigc_replica_retries", "Requests sent again after their replica died.", metrics.retries)
    missing = "Answers of a replica whose node lacks the model's weights (the request moved on)."
    yield CounterMetricFamily("aigc_replica_missing_weights", missing, metrics.missing_weights)


def registry(store: JobStore, scheduler_metrics: Callable[[], SchedulerMetrics | None]) -> CollectorRegistry:
    """A registry of its own holding one :class:`ServiceCollector`.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.server.store import JobStore
        >>> registry(JobStore(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite"), lambda: None).get_sample_value(
        ...     "aigc_jobs", {"state": "queued"})
        0
    """
    own = CollectorRegistry(auto_describe=False)
    own.register(ServiceCollector(store, scheduler_metrics))
    return own


def exposition(own: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format.

    Example:
        >>> exposition(CollectorRegistry())
        b''
    """
    return generate_latest(own)
