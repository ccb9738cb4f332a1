"""Leasing a loaded generator: exclusive with batches, never evicted while held, errors typed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aigc_sdk.errors import ModelLoadError, SchedulerClosedError, UnknownModelError
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.types import TextRequest
from tests.runtime.helpers import WAIT, Echo, Failing, echo_spec, text_of


def test_lease_loads_once_and_blocks_batches_until_released(
    scheduler_factory: Callable[..., GpuScheduler],
) -> None:
    made: list[Echo] = []

    def loader(spec: object, device: str) -> Echo:
        made.append(Echo(spec, device=device))  # type: ignore[arg-type]
        return made[-1]

    scheduler = scheduler_factory([echo_spec("e")], loader=loader)
    with scheduler.lease("e") as generator:
        assert generator is made[0]
        assert generator(TextRequest(prompt="direct")).text == "DIRECT"
        queued = scheduler.submit("e", TextRequest(prompt="queued"))
        with pytest.raises(TimeoutError):
            queued.result(timeout=0.3)  # the lease holds the model
    assert text_of(queued.result(timeout=WAIT)) == "QUEUED"
    assert len(made) == 1  # the batch reused the leased model
    assert scheduler.metrics().loads == 1


def test_a_leased_model_is_not_evicted(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory(
        [echo_spec("a", memory_bytes=60), echo_spec("b", memory_bytes=60)],
        budgets={"cpu": 100},
        loader=lambda s, d: Echo(s, device=d),
    )
    with scheduler.lease("a"):
        waiting = scheduler.submit("b", TextRequest(prompt="b"))
        with pytest.raises(TimeoutError):
            waiting.result(timeout=0.3)  # b needs a's memory, a is leased
    assert text_of(waiting.result(timeout=WAIT)) == "B"
    assert scheduler.metrics().evictions == 1


def test_lease_errors(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([echo_spec("bad")], loader=lambda s, d: Failing(s, device=d))
    with pytest.raises(UnknownModelError), scheduler.lease("nope"):
        pass
    broken = scheduler_factory([echo_spec("x")], loader=_raise)
    with pytest.raises(ModelLoadError, match="x failed to load"), broken.lease("x"):
        pass
    scheduler.shutdown()
    with pytest.raises(SchedulerClosedError), scheduler.lease("bad"):
        pass


def _raise(spec: object, device: str) -> Echo:
    raise RuntimeError("no weights")
