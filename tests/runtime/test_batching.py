"""Dynamic batching: concurrent requests coalesce, and a batched result equals the request run alone."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from aigc_sdk.errors import GenerationError
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import BatchStarted, GpuScheduler, SchedulerEvent
from aigc_sdk.types import Result, TextRequest, TextResult
from tests.runtime.helpers import WAIT, Echo, Gate, GatedLM, TinyLM, echo_spec, text_of

THREADS = 16
PER_THREAD = 64  # 16 threads x 64 requests = 1024 in all


def _requests() -> list[TextRequest]:
    words = ["news", "weather report", "a", "markets fell sharply today", "sports", "城市", "x" * 40]
    requests = []
    for i in range(THREADS * PER_THREAD):
        requests.append(
            TextRequest(
                prompt=f"{words[i % len(words)]} {i}",
                max_new_tokens=3 + i % 6,
                temperature=[0.8, 1.0, 0.0, 1.3][i % 4],
                top_k=[0, 5][i % 2],
                seed=None if i % 8 == 0 else 1000 + i,  # some seedless: the scheduler draws their seed
            )
        )
    return requests


def test_concurrent_requests_batch_and_match_sequential_runs(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = make_spec("tiny", max_batch_size=8)
    scheduler = scheduler_factory([spec], max_wait_ms=20)
    requests = _requests()
    results: list[Result | None] = [None] * len(requests)
    start = threading.Barrier(THREADS)

    def client(t: int) -> None:
        start.wait()
        mine = range(t * PER_THREAD, (t + 1) * PER_THREAD)
        futures = {i: scheduler.submit("tiny", requests[i]) for i in mine}
        for i, future in futures.items():
            results[i] = future.result(timeout=WAIT * 3)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        for done in [pool.submit(client, t) for t in range(THREADS)]:
            done.result()

    reference = TinyLM(spec)  # the same model, one request at a time, outside the scheduler
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, TextResult)
        seed = result.provenance.seed
        assert seed is not None
        if request.seed is not None:
            assert seed == request.seed
        alone = reference(request.with_seed(seed))
        assert result.texts == alone.texts, request
        assert result.completion_tokens == alone.completion_tokens
    metrics = scheduler.metrics()
    assert metrics.completed == len(requests)
    assert metrics.failed == 0
    assert max(metrics.batch_sizes) > 1
    assert metrics.mean_batch_size > 1
    assert sum(size * n for size, n in metrics.batch_sizes.items()) == len(requests)
    assert max(metrics.batch_sizes) <= spec.max_batch_size
    assert metrics.loads == 1
    assert metrics.latency_p50_s is not None
    assert metrics.latency_p99_s is not None
    assert 0 < metrics.latency_p50_s <= metrics.latency_p95_s <= metrics.latency_p99_s  # type: ignore[operator]


def test_num_outputs_draws_distinct_seeds_and_batches_only_with_equal_shapes(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = make_spec("tiny")
    events: list[SchedulerEvent] = []
    gate = Gate()
    # No batching window: batches form only from what is queued when the worker looks. The worker is held
    # inside batch() by a first request until all three are queued, so what shares a batch is decided by
    # the shapes alone, not by how fast the three submits come.
    scheduler = scheduler_factory(
        [spec], max_wait_ms=0, on_event=events.append, loader=lambda s, d: GatedLM(s, device=d, gate=gate)
    )
    holder = scheduler.submit("tiny", TextRequest(prompt="hold", seed=1, max_new_tokens=2))
    assert gate.entered.wait(WAIT)
    futures = [
        scheduler.submit("tiny", TextRequest(prompt="one", num_outputs=2, seed=5, max_new_tokens=4)),
        scheduler.submit("tiny", TextRequest(prompt="two", seed=6, max_new_tokens=4)),
        scheduler.submit("tiny", TextRequest(prompt="three", num_outputs=2, seed=7, max_new_tokens=4)),
    ]
    assert scheduler.metrics().queue_depth == {"tiny": 3}
    gate.open.set()
    holder.result(timeout=WAIT)
    results = [f.result(timeout=WAIT) for f in futures]
    assert [len(r.texts) for r in results] == [2, 1, 2]  # type: ignore[attr-defined]
    sizes = [e.size for e in events if isinstance(e, BatchStarted)]
    assert sizes == [1, 2, 1]  # the holder; the two num_outputs=2 requests shared a batch; the other ran alone
    assert gate.batches == [1, 4, 1]  # rows in each forward pass: two requests x two outputs in the middle one
    reference = TinyLM(spec)
    assert results[0].texts == reference(TextRequest(prompt="one", num_outputs=2, seed=5, max_new_tokens=4)).texts  # type: ignore[attr-defined]
    assert results[0].texts[0] != results[0].texts[1]  # type: ignore[attr-defined]  # two outputs, two seeds


def test_priority_runs_higher_first_and_fifo_within_a_priority(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    gate = Gate()
    spec = echo_spec("serial", max_batch_size=1)
    scheduler = scheduler_factory([spec], loader=lambda s, d: Echo(s, device=d, gate=gate))
    first = scheduler.submit("serial", TextRequest(prompt="first"))
    assert gate.entered.wait(WAIT)  # the worker is inside batch(): the rest queue up
    order = [("low-1", 0), ("high-1", 5), ("low-2", 0), ("high-2", 5), ("mid", 1)]
    futures = [scheduler.submit("serial", TextRequest(prompt=p), priority=pri) for p, pri in order]
    gate.open.set()
    for future in [first, *futures]:
        future.result(timeout=WAIT)
    assert gate.prompts == ["first", "high-1", "high-2", "mid", "low-1", "low-2"]
    assert gate.batches == [1] * 6


def test_batch_never_exceeds_max_batch_size_and_waits_at_most_max_wait(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    gate = Gate()
    gate.open.set()
    scheduler = scheduler_factory(
        [echo_spec("e", max_batch_size=3)], loader=lambda s, d: Echo(s, device=d, gate=gate), max_wait_ms=10_000
    )
    futures = [scheduler.submit("e", TextRequest(prompt=str(i))) for i in range(7)]
    # two full batches run at once; the last request waits for company until shutdown flushes it
    for future in futures[:6]:
        assert text_of(future.result(timeout=WAIT)) in {str(i) for i in range(6)}
    assert not futures[6].done()
    scheduler.shutdown(wait=True)
    assert text_of(futures[6].result(timeout=0)) == "6"
    assert gate.batches == [3, 3, 1]


def test_generator_returning_wrong_count_fails_the_whole_batch(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    class Short:
        """A protocol-only generator (not a BaseGenerator) that drops the last result."""

        task = "text-generation"

        def __init__(self, spec: ModelSpec, device: str) -> None:
            self.spec, self.device = spec, device

        def __call__(self, request: TextRequest) -> Any:
            return self.batch([request])[0]

        def batch(self, requests: list[TextRequest]) -> list[str]:
            return [r.prompt for r in requests][:-1]

        def to(self, device: str) -> Short:
            return self

        def close(self) -> None:
            pass

    # three requests fill the batch, so it runs at once, whatever the timing (max_wait_ms is long)
    scheduler = scheduler_factory([echo_spec("short", max_batch_size=3)], loader=Short, max_wait_ms=10_000)
    futures = [scheduler.submit("short", TextRequest(prompt=p)) for p in "abc"]
    for future in futures:
        with pytest.raises(GenerationError, match="returned 2 results for 3 requests"):
            future.result(timeout=WAIT)
    assert scheduler.metrics().failed == 3


def test_a_model_may_wait_longer_for_company_than_the_scheduler(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    patient = echo_spec("patient").model_copy(update={"max_wait_ms": 1500.0})
    events: list[SchedulerEvent] = []
    scheduler = scheduler_factory([patient, echo_spec("eager")], max_wait_ms=0, on_event=events.append)
    for model in ("patient", "eager"):
        first = scheduler.submit(model, TextRequest(prompt="a"))
        time.sleep(0.3)  # later than the scheduler's window, well within the patient model's
        second = scheduler.submit(model, TextRequest(prompt="b"))
        assert [text_of(f.result(timeout=WAIT)) for f in (first, second)] == ["A", "B"]
    sizes = [(e.model_id, e.size) for e in events if isinstance(e, BatchStarted)]
    assert sizes == [("patient", 2), ("eager", 1), ("eager", 1)]
