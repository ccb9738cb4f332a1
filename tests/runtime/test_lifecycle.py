"""A request's life: queue bounds, cancellation, timeouts, asyncio, shutdown, events, edge validation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import aigc_sdk.runtime
from aigc_sdk.errors import (
    InvalidRequestError,
    RequestCancelledError,
    RequestTimeoutError,
    SchedulerBusyError,
    SchedulerClosedError,
    UnknownModelError,
)
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler, SchedulerEvent
from aigc_sdk.runtime.devices import normalize_device
from aigc_sdk.types import SpeechRequest, TextRequest, TextResult
from tests.runtime.helpers import WAIT, Echo, Gate, TinyLM, echo_spec, text_of


def _gated(scheduler_factory: Callable[..., GpuScheduler], **kwargs: Any) -> tuple[GpuScheduler, Gate]:
    """A scheduler whose 'e' model (batch size 1) holds its first request inside batch() until the gate opens."""
    gate = Gate()
    kwargs.setdefault("loader", lambda s, d: Echo(s, device=d, gate=gate))
    scheduler = scheduler_factory([echo_spec("e", max_batch_size=1), echo_spec("f")], **kwargs)
    return scheduler, gate


def _hold(scheduler: GpuScheduler, gate: Gate) -> concurrent.futures.Future[Any]:
    running = scheduler.submit("e", TextRequest(prompt="running"))
    assert gate.entered.wait(WAIT)
    return running


def test_cancelled_request_never_runs(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory)
    running = _hold(scheduler, gate)
    doomed = scheduler.submit("e", TextRequest(prompt="doomed"))
    kept = scheduler.submit("e", TextRequest(prompt="kept"))
    assert scheduler.metrics().queue_depth == {"e": 2}
    assert doomed.cancel()
    assert not running.cancel()  # already running: cannot be cancelled
    assert scheduler.metrics().queue_depth == {"e": 1}
    gate.open.set()
    assert text_of(kept.result(timeout=WAIT)) == "KEPT"
    assert text_of(running.result(timeout=WAIT)) == "RUNNING"
    assert doomed.cancelled()
    assert gate.prompts == ["running", "kept"]
    assert scheduler.metrics().cancelled == 1


def test_queued_request_times_out(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory)
    _hold(scheduler, gate)
    late = scheduler.submit("e", TextRequest(prompt="late"), timeout=0.05)
    with pytest.raises(RequestTimeoutError, match="waited") as info:
        late.result(timeout=WAIT)
    assert info.value.retryable
    with pytest.raises(RequestTimeoutError):
        scheduler.run("e", TextRequest(prompt="also late"), timeout=0.05)
    gate.open.set()
    assert text_of(scheduler.run("e", TextRequest(prompt="on time"), timeout=WAIT)) == "ON TIME"
    metrics = scheduler.metrics()
    assert metrics.timed_out == 2
    assert "late" not in gate.prompts
    assert "also late" not in gate.prompts


def test_full_queue_raises_busy(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory, max_queue=2, max_queue_total=3)
    _hold(scheduler, gate)
    scheduler.submit("e", TextRequest(prompt="1"))
    scheduler.submit("e", TextRequest(prompt="2"))
    with pytest.raises(SchedulerBusyError, match="queue of 'e' is full") as info:
        scheduler.submit("e", TextRequest(prompt="3"))
    assert info.value.retryable
    scheduler.submit("f", TextRequest(prompt="other model"))  # its own queue; may already be running
    gate.open.set()
    scheduler.shutdown(wait=True)
    assert scheduler.metrics().completed == 4


def test_total_queue_bound(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory, max_queue=10, max_queue_total=2)
    _hold(scheduler, gate)
    scheduler.submit("e", TextRequest(prompt="1"))
    scheduler.submit("e", TextRequest(prompt="2"))
    with pytest.raises(SchedulerBusyError, match="scheduler's queues are full"):
        scheduler.submit("f", TextRequest(prompt="3"))
    gate.open.set()


def test_asubmit_with_gather_matches_sequential(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = make_spec("tiny")
    scheduler = scheduler_factory([spec], max_wait_ms=20)
    requests = [TextRequest(prompt=f"async {i}", seed=i, max_new_tokens=5) for i in range(8)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(scheduler.asubmit("tiny", r, timeout=WAIT) for r in requests))

    results = asyncio.run(main())
    reference = TinyLM(spec)
    assert [r.texts for r in results] == [reference(r).texts for r in requests]
    assert max(scheduler.metrics().batch_sizes) > 1


def test_asubmit_timeout_and_task_cancellation(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory)
    _hold(scheduler, gate)

    async def main() -> None:
        with pytest.raises(RequestTimeoutError):
            await scheduler.asubmit("e", TextRequest(prompt="slow"), timeout=0.05)
        task = asyncio.ensure_future(scheduler.asubmit("e", TextRequest(prompt="dropped")))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gate.open.set()
    scheduler.shutdown(wait=True)
    assert gate.prompts == ["running"]  # neither the timed-out nor the cancelled request ran
    metrics = scheduler.metrics()
    assert (metrics.timed_out, metrics.cancelled, metrics.completed) == (1, 1, 1)


def test_shutdown_drains_queued_requests(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory)
    running = _hold(scheduler, gate)
    queued = [scheduler.submit("e", TextRequest(prompt=str(i))) for i in range(3)]
    gate.open.set()
    scheduler.shutdown(wait=True)
    assert [f.result(timeout=0).text for f in [running, *queued]] == ["RUNNING", "0", "1", "2"]
    with pytest.raises(SchedulerClosedError):
        scheduler.submit("e", TextRequest(prompt="too late"))
    assert scheduler.metrics().loaded == {}  # workers closed their models


def test_shutdown_can_cancel_pending_requests(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler, gate = _gated(scheduler_factory)
    running = _hold(scheduler, gate)
    queued = [scheduler.submit("e", TextRequest(prompt=str(i))) for i in range(3)]
    scheduler.shutdown(wait=False, cancel_pending=True)
    for future in queued:
        with pytest.raises(RequestCancelledError, match="shut down"):
            future.result(timeout=WAIT)
    gate.open.set()
    assert running.result(timeout=WAIT).text == "RUNNING"  # a running batch always finishes
    scheduler.shutdown(wait=True)
    assert gate.prompts == ["running"]
    assert scheduler.metrics().cancelled == 3


def test_context_manager_shuts_down() -> None:
    with GpuScheduler([echo_spec("e")], budgets={"cpu": 1000}, loader=lambda s, d: Echo(s, device=d)) as scheduler:
        future = scheduler.submit("e", TextRequest(prompt="bye"))
    assert scheduler.closed
    assert text_of(future.result(timeout=0)) == "BYE"


def test_events_arrive_in_order(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    events: list[SchedulerEvent] = []
    scheduler = scheduler_factory([echo_spec("e")], loader=lambda s, d: Echo(s, device=d), on_event=events.append)
    scheduler.run("e", TextRequest(prompt="hi"))
    assert [e.kind for e in events] == ["queued", "loaded", "batch_started", "batch_done"]


def test_a_failing_event_hook_does_not_break_the_scheduler(
    scheduler_factory: Callable[..., GpuScheduler], caplog: pytest.LogCaptureFixture
) -> None:
    def hook(event: SchedulerEvent) -> None:
        raise RuntimeError("hook bug")

    scheduler = scheduler_factory([echo_spec("e")], loader=lambda s, d: Echo(s, device=d), on_event=hook)
    assert text_of(scheduler.run("e", TextRequest(prompt="still works"))) == "STILL WORKS"
    assert "on_event hook raised" in caplog.text


def test_submit_validates_at_the_edge(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([echo_spec("e")])
    with pytest.raises(UnknownModelError, match="'nope'"):
        scheduler.submit("nope", TextRequest(prompt="x"))
    with pytest.raises(InvalidRequestError, match="does text-generation"):
        scheduler.submit("e", SpeechRequest(prompt="x"))
    with pytest.raises(InvalidRequestError, match="timeout"):
        scheduler.submit("e", TextRequest(prompt="x"), timeout=-1)
    with pytest.raises(InvalidRequestError, match="already known"):
        scheduler.add_spec(echo_spec("e", memory_bytes=5))
    scheduler.add_spec(echo_spec("e", memory_bytes=5), exist_ok=True)
    assert scheduler.metrics().submitted == 0


def test_constructor_validates_its_arguments() -> None:
    with pytest.raises(InvalidRequestError, match="eviction"):
        GpuScheduler(eviction="keep")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="not in devices"):
        GpuScheduler(devices=["cuda:0"], budgets={"cpu": 1})
    with pytest.raises(InvalidRequestError, match="not a device"):
        GpuScheduler(budgets={"gpu0": 1})
    with pytest.raises(InvalidRequestError, match="max_queue"):
        GpuScheduler(max_queue=0)
    assert GpuScheduler(devices=["cpu"], headroom=0.5).budgets["cpu"] >= 0
    assert GpuScheduler(specs={"e": echo_spec("e")}).model_ids == ["e"]
    assert normalize_device("cuda") == "cuda:0"


def test_seedless_request_gets_a_seed_before_batching(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([echo_spec("e")], loader=lambda s, d: Echo(s, device=d))
    result = scheduler.run("e", TextRequest(prompt="no seed"))
    assert isinstance(result, TextResult)
    assert result.provenance.seed is not None
    assert result.provenance.request["seed"] == result.provenance.seed


def test_public_names_are_pinned() -> None:
    assert sorted(aigc_sdk.runtime.__all__) == [
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


def test_importing_the_runtime_imports_neither_torch_nor_generators() -> None:
    code = (
        "import json, sys, aigc_sdk.runtime as r; r.GpuScheduler(budgets={'cpu': 1}).metrics(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers') "
        "or m.startswith('aigc_sdk.generators'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
