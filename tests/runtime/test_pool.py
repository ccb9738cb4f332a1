"""The model pool: placement under budgets, LRU eviction of idle models only, offload, plans."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from aigc_sdk.errors import OutOfDeviceMemoryError, UnknownModelError
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler, ModelEvicted, ModelLoaded, SchedulerEvent
from aigc_sdk.runtime.pool import ModelPool, Room, plan_memory
from aigc_sdk.types import TextRequest
from tests.runtime.helpers import WAIT, Echo, Gate, GatedLM, LruRun, TinyLM, check_lru_eviction, echo_spec, text_of

MB = 1_000_000


def _request(prompt: str = "hello", seed: int = 1) -> TextRequest:
    return TextRequest(prompt=prompt, seed=seed, max_new_tokens=3)


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def test_least_recently_used_idle_model_is_evicted(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    specs = [make_spec(name, memory_bytes=100 * MB) for name in ("a", "b", "c")]
    run = LruRun()
    scheduler = scheduler_factory(specs, budgets={"cpu": 250 * MB}, on_event=run)
    check_lru_eviction(scheduler, run, device="cpu", size=100 * MB)


def test_running_model_is_never_evicted_even_when_least_recently_used(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    gate = Gate()

    def loader(spec: ModelSpec, device: str) -> TinyLM:
        return GatedLM(spec, device=device, gate=gate) if spec.id == "a" else TinyLM(spec, device=device)

    specs = [make_spec(name, memory_bytes=100 * MB) for name in ("a", "b", "c")]
    scheduler = scheduler_factory(specs, budgets={"cpu": 250 * MB}, loader=loader)
    running = scheduler.submit("a", _request("long job"))  # loaded first: the least recently used
    assert gate.entered.wait(WAIT)
    scheduler.run("b", _request())
    scheduler.run("c", _request(), timeout=WAIT)  # needs room: b is idle, a is running
    metrics = scheduler.metrics()
    assert metrics.loaded == {"a": "cpu", "c": "cpu"}
    assert metrics.running == {"a": 1}
    gate.open.set()
    assert running.result(timeout=WAIT).provenance.model_id == "a"
    assert scheduler.metrics().evictions == 1


def test_model_waits_for_a_busy_one_to_finish_when_nothing_is_idle(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    gate = Gate()
    made: list[Echo] = []

    def loader(spec: ModelSpec, device: str) -> Echo:
        made.append(Echo(spec, device=device, gate=gate if spec.id == "a" else None))
        return made[-1]

    scheduler = scheduler_factory([echo_spec("a"), echo_spec("b")], budgets={"cpu": 150}, loader=loader)
    first = scheduler.submit("a", _request("first"))
    assert gate.entered.wait(WAIT)
    waiting = scheduler.submit("b", _request("second"))
    time.sleep(0.1)
    assert not waiting.done()
    assert scheduler.metrics().loaded == {"a": "cpu"}  # b did not squeeze in next to a running a
    gate.open.set()
    assert text_of(first.result(timeout=WAIT)) == "FIRST"
    assert text_of(waiting.result(timeout=WAIT)) == "SECOND"
    assert scheduler.metrics().loaded == {"b": "cpu"}
    assert made[0].closed  # dropped: closed


class Ticking(Echo):
    """Each batch takes one permit from a semaphore: the test lets batches through one by one."""

    permits = threading.Semaphore(0)

    def _forward(self, inputs: list[str]) -> list[str]:
        assert self.permits.acquire(timeout=WAIT), "no permit"
        return super()._forward(inputs)


def test_waiting_model_is_not_starved_by_a_busy_one(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    Ticking.permits = threading.Semaphore(0)

    def loader(spec: ModelSpec, device: str) -> Echo:
        return Ticking(spec, device=device) if spec.id == "a" else Echo(spec, device=device)

    scheduler = scheduler_factory(
        [echo_spec("a", max_batch_size=1), echo_spec("b")], budgets={"cpu": 150}, loader=loader
    )
    flood = [scheduler.submit("a", _request(f"a{i}")) for i in range(20)]
    pool = scheduler._placement.pool
    assert pool is not None
    # the queue counts a's batch as running before a is in the pool: wait until a holds its memory
    _wait_until(lambda: "a" in pool.entries and pool.entries["a"].busy)
    other = scheduler.submit("b", _request("b"))
    _wait_until(lambda: pool.entries["a"].yield_requests == 1)  # b waits for a's memory and said so
    Ticking.permits.release()  # a finishes one batch, then steps aside instead of starting the next
    assert text_of(other.result(timeout=WAIT)) == "B"
    assert sum(f.done() for f in flood) == 1
    Ticking.permits.release(len(flood))
    for future in flood:
        future.result(timeout=WAIT)
    assert scheduler.metrics().evictions == 2  # a for b, then b for a


def test_offload_moves_evicted_models_to_the_cpu_and_back(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    made: dict[str, Echo] = {}

    def loader(spec: ModelSpec, device: str) -> Echo:
        made[spec.id] = Echo(spec, device=device)
        return made[spec.id]

    events: list[SchedulerEvent] = []
    scheduler = scheduler_factory(
        [echo_spec("a"), echo_spec("b")],
        budgets={"cuda:0": 150},
        loader=loader,
        eviction="offload",
        on_event=events.append,
    )
    assert scheduler.run("a", _request("x")).provenance.device == "cuda:0"
    scheduler.run("b", _request("y"))
    metrics = scheduler.metrics()
    assert metrics.loaded == {"b": "cuda:0"}
    assert metrics.offloaded == ("a",)
    assert made["a"].moves == ["cpu"]
    assert not made["a"].closed
    assert scheduler.run("a", _request("z")).provenance.device == "cuda:0"  # moved back, not reloaded
    assert made["a"].moves == ["cpu", "cuda:0"]
    assert scheduler.metrics().offloaded == ("b",)
    assert [e.policy for e in events if isinstance(e, ModelEvicted)] == ["offload", "offload"]
    assert [e.model_id for e in events if isinstance(e, ModelLoaded)] == ["a", "b", "a"]
    scheduler.shutdown()
    assert made["a"].closed
    assert made["b"].closed


def test_model_larger_than_every_budget_fails_its_requests_only(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([echo_spec("big", memory_bytes=10_000), echo_spec("ok")], budgets={"cpu": 1000})
    future = scheduler.submit("big", _request())
    with pytest.raises(OutOfDeviceMemoryError, match="more than any device budget") as info:
        future.result(timeout=WAIT)
    assert info.value.retryable is False
    assert text_of(scheduler.run("ok", _request("fine"))) == "FINE"


def test_plan_reports_peak_and_order_and_raises_when_it_cannot_fit(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    specs = [echo_spec("llm", memory_bytes=600), echo_spec("tts", memory_bytes=300), echo_spec("img", memory_bytes=700)]
    scheduler = scheduler_factory(specs, budgets={"cpu": 1000})
    plan = scheduler.plan(["llm", "tts"])
    assert plan.load_order == ("llm", "tts")
    assert plan.peak_bytes == {"cpu": 900}
    assert plan.fits_together
    sequential = scheduler.plan(["llm", "tts", "img"])
    assert sequential.evictions == 1  # img evicts llm only; tts stays
    assert not sequential.fits_together
    assert sequential.peak_bytes == {"cpu": 1000}
    with pytest.raises(OutOfDeviceMemoryError, match="loaded together") as together:
        scheduler.plan(["llm", "tts", "img"], together=True)
    assert together.value.retryable is False
    with pytest.raises(OutOfDeviceMemoryError, match=r"huge \(2\.0 KiB\)"):
        scheduler.plan([echo_spec("huge", memory_bytes=2000)])
    with pytest.raises(UnknownModelError):
        scheduler.plan(["nope"])


def test_plan_spreads_models_over_devices() -> None:
    specs = [echo_spec(n, memory_bytes=m) for n, m in (("a", 60), ("b", 60), ("c", 30))]
    plan = plan_memory(specs, {"cuda:0": 100, "cuda:1": 100})
    assert plan.placements == {"a": "cuda:0", "b": "cuda:1", "c": "cuda:0"}
    assert plan.peak_bytes == {"cuda:0": 90, "cuda:1": 60}
    assert plan.fits_together


def test_pool_prefers_the_device_with_most_free_memory_then_evicts_lru() -> None:
    pool = ModelPool({"cuda:0": 100, "cuda:1": 100})
    entries = {}
    for name, need in (("a", 70), ("b", 60), ("c", 30)):
        entries[name] = entry = pool.entry(name, need)
        room = pool.find_room(entry)
        assert isinstance(room, Room)
        pool.reserve(entry, room, park=False)
        pool.loaded(entry, None)
    assert {e.model_id: e.device for e in entries.values()} == {"a": "cuda:0", "b": "cuda:1", "c": "cuda:1"}
    entries["a"].busy = True
    room = pool.find_room(pool.entry("d", 80))
    assert isinstance(room, Room)
    assert [v.model_id for v in room.victims] == ["b", "c"]
