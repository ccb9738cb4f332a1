"""A request is on the books as finished before its caller gets the result (or the error)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

import pytest

from aigc_sdk.errors import GenerationError
from aigc_sdk.runtime import GpuScheduler, SchedulerMetrics
from aigc_sdk.types import Result, TextRequest
from tests.runtime.helpers import WAIT, Echo, Failing, echo_spec


def _seen_at_settling(
    scheduler: GpuScheduler, futures: list[concurrent.futures.Future[Result]]
) -> list[SchedulerMetrics]:
    """The metrics each caller would read the moment its future settles (done-callbacks run right then)."""
    seen: list[SchedulerMetrics] = []
    for future in futures:
        future.add_done_callback(lambda f: seen.append(scheduler.metrics()))
    return seen


def test_metrics_count_a_request_completed_before_its_caller_sees_the_result(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    scheduler = scheduler_factory([echo_spec("e", max_batch_size=4)], loader=lambda s, d: Echo(s, device=d))
    futures = [scheduler.submit("e", TextRequest(prompt=str(i))) for i in range(4)]  # one full batch
    seen = _seen_at_settling(scheduler, futures)
    for future in futures:
        future.result(timeout=WAIT)
    assert len(seen) == 4
    for metrics in seen:  # each result was handed out after the whole batch was counted
        assert (metrics.completed, metrics.running, metrics.queue_depth) == (4, {}, {"e": 0})
        assert len([s for s in seen if s.latency_p50_s is not None]) == 4


def test_metrics_count_a_failure_before_its_caller_sees_the_error(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    scheduler = scheduler_factory([echo_spec("bad", max_batch_size=2)], loader=lambda s, d: Failing(s, device=d))
    futures = [scheduler.submit("bad", TextRequest(prompt=str(i))) for i in range(2)]
    seen = _seen_at_settling(scheduler, futures)
    for future in futures:
        with pytest.raises(GenerationError):
            future.result(timeout=WAIT)
    # a failed batch's requests run again alone, so they fail (and are counted) one at a time
    assert [(m.failed, m.completed) for m in seen] == [(1, 0), (2, 0)] and seen[-1].running == {}


def test_a_caller_that_gathers_then_reads_metrics_sees_every_request_finished(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    scheduler = scheduler_factory([echo_spec("e", max_batch_size=3)], loader=lambda s, d: Echo(s, device=d))

    async def main() -> SchedulerMetrics:
        await asyncio.gather(*(scheduler.asubmit("e", TextRequest(prompt=p)) for p in "abc"))
        return scheduler.metrics()

    metrics = asyncio.run(main())
    assert (metrics.submitted, metrics.completed, metrics.running) == (3, 3, {})
