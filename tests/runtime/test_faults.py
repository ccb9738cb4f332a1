"""Faults stay contained: OOM splits the batch, a broken model fails only its own requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aigc_sdk.errors import GenerationError, ModelLoadError, OutOfDeviceMemoryError
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler, RequestFailed, SchedulerEvent
from aigc_sdk.types import TextRequest, TextResult
from tests.runtime.helpers import WAIT, BrokenLM, FailingOnBad, check_oom_split, echo_spec, text_of


def _requests(n: int, *, boom: int | None = None) -> list[TextRequest]:
    return [
        TextRequest(prompt="boom" if i == boom else f"prompt {i}", seed=100 + i, max_new_tokens=4) for i in range(n)
    ]


def test_out_of_memory_splits_the_batch_until_it_fits(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = make_spec("oom", backend="tests.runtime.helpers.OomAboveTwo")
    events: list[SchedulerEvent] = []
    check_oom_split(scheduler_factory([spec], max_wait_ms=2000, on_event=events.append), spec, events)


def test_request_that_does_not_fit_alone_fails_alone(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = make_spec("boom", backend="tests.runtime.helpers.OomOnBoom")
    events: list[SchedulerEvent] = []
    scheduler = scheduler_factory([spec], max_wait_ms=2000, on_event=events.append)
    futures = [scheduler.submit("boom", r) for r in _requests(8, boom=5)]
    for i, future in enumerate(futures):
        if i == 5:
            with pytest.raises(OutOfDeviceMemoryError, match="ran out of memory") as info:
                future.result(timeout=WAIT)
            assert "out of memory" in str(info.value.__cause__).lower()
        else:
            assert isinstance(future.result(timeout=WAIT), TextResult)
    metrics = scheduler.metrics()
    assert (metrics.completed, metrics.failed, metrics.oom_splits) == (7, 1, 3)
    assert [e.request_id for e in events if isinstance(e, RequestFailed)] == [6]


def test_load_failure_fails_that_models_requests_and_others_keep_serving(
    make_spec: Callable[..., ModelSpec], scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    BrokenLM.loads = 0
    broken = make_spec("broken", backend="tests.runtime.helpers.BrokenLM")
    good = make_spec("good")
    scheduler = scheduler_factory([broken, good], max_wait_ms=50)
    failing = [scheduler.submit("broken", r) for r in _requests(3)]
    served = [scheduler.submit("good", r) for r in _requests(3)]
    for future in failing:
        with pytest.raises(ModelLoadError, match="broken failed to load on cpu") as info:
            future.result(timeout=WAIT)
        assert isinstance(info.value.__cause__, OSError)
    for future in served:
        assert isinstance(future.result(timeout=WAIT), TextResult)
    # a later request retries the load (and fails again, with the same error)
    with pytest.raises(ModelLoadError):
        scheduler.run("broken", _requests(1)[0], timeout=WAIT)
    metrics = scheduler.metrics()
    assert metrics.load_failures == 2
    assert BrokenLM.loads == 2
    assert metrics.loaded == {"good": "cpu"}
    assert metrics.memory_used == {"cpu": good.memory_bytes}


def test_default_loader_reports_a_missing_backend_as_a_load_error(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    spec = echo_spec("ghost").model_copy(update={"backend": "tests.runtime.no_such_module.Ghost"})
    scheduler = scheduler_factory([spec])
    with pytest.raises(ModelLoadError, match=r"cannot import 'tests\.runtime\.no_such_module'"):
        scheduler.run("ghost", TextRequest(prompt="hi"), timeout=WAIT)


def test_loader_returning_a_non_generator_is_a_load_error(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([echo_spec("odd")], loader=lambda spec, device: object())
    with pytest.raises(ModelLoadError, match="lacks"):
        scheduler.run("odd", TextRequest(prompt="hi"), timeout=WAIT)


def test_other_errors_fail_every_request_of_the_batch_each_alone(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    spec = echo_spec("bad").model_copy(update={"backend": "tests.runtime.helpers.Failing"})
    scheduler = scheduler_factory([spec, echo_spec("fine")], max_wait_ms=2000)
    futures = [scheduler.submit("bad", TextRequest(prompt=str(i))) for i in range(8)]
    errors = []
    for future in futures:
        with pytest.raises(GenerationError, match="shape mismatch") as info:
            future.result(timeout=WAIT)
        errors.append(info.value)
        assert isinstance(info.value.__cause__, ValueError)
    assert len({id(e) for e in errors}) == 8  # one batch, then each request alone: its own error
    metrics = scheduler.metrics()
    assert (metrics.oom_splits, metrics.isolations, metrics.failed) == (0, 1, 8)
    assert metrics.batch_sizes == {8: 1}  # formed once; the eight runs alone are not new batches
    assert text_of(scheduler.run("fine", TextRequest(prompt="ok"))) == "OK"


def test_a_bad_request_fails_alone_and_the_rest_of_its_batch_succeeds(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    FailingOnBad.batches.clear()
    spec = echo_spec("picky").model_copy(update={"backend": "tests.runtime.helpers.FailingOnBad"})
    scheduler = scheduler_factory([spec], max_wait_ms=2000)
    prompts = ["one", "bad two", "three", "four"]
    futures = [scheduler.submit("picky", TextRequest(prompt=p)) for p in prompts]
    with pytest.raises(GenerationError, match="cannot read the input of bad two"):
        futures[1].result(timeout=WAIT)
    assert [text_of(futures[i].result(timeout=WAIT)) for i in (0, 2, 3)] == ["ONE", "THREE", "FOUR"]
    assert FailingOnBad.batches == [prompts, *([p] for p in prompts)]
    assert scheduler.metrics().isolations == 1
