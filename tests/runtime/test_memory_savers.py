"""A model too big for every budget loads with its memory savers on, when its spec says what that saves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aigc_sdk.errors import ModelLoadError, OutOfDeviceMemoryError
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.types import TextRequest
from tests.runtime.helpers import WAIT, Echo, echo_spec, text_of


class Saving(Echo):
    """Echo with the memory-saver switch the diffusion generator has."""

    def enable_memory_savers(self, **switches: bool) -> frozenset[str]:
        self.savers = switches
        return frozenset(k for k, on in switches.items() if on)


def _big(**options: Any) -> ModelSpec:
    return echo_spec("big", memory_bytes=500).model_copy(update={"options": options})


def test_savers_turn_on_when_no_budget_fits(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    made: list[Saving] = []

    def loader(spec: ModelSpec, device: str) -> Saving:
        made.append(Saving(spec, device=device))
        return made[-1]

    scheduler = scheduler_factory([_big(memory_savers_bytes=80)], budgets={"cpu": 100}, loader=loader)
    assert text_of(scheduler.run("big", TextRequest(prompt="fits"), timeout=WAIT)) == "FITS"
    assert made[0].savers == {"attention_slicing": True, "vae_tiling": True, "cpu_offload": False}


def test_without_a_declared_saving_it_still_does_not_fit(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory([_big()], budgets={"cpu": 100}, loader=lambda s, d: Saving(s, device=d))
    with pytest.raises(OutOfDeviceMemoryError, match="more than any device budget"):
        scheduler.run("big", TextRequest(prompt="x"), timeout=WAIT)
    small = scheduler_factory([_big(memory_savers_bytes=200)], budgets={"cpu": 100}, loader=lambda s, d: Saving(s))
    with pytest.raises(OutOfDeviceMemoryError):  # savers would not save enough
        small.run("big", TextRequest(prompt="x"), timeout=WAIT)


def test_a_backend_without_savers_is_a_load_error(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory(
        [_big(memory_savers_bytes=80)], budgets={"cpu": 100}, loader=lambda s, d: Echo(s, device=d)
    )
    with pytest.raises(ModelLoadError, match="no memory savers"):
        scheduler.run("big", TextRequest(prompt="x"), timeout=WAIT)


def _saving(spec: ModelSpec, device: str) -> Saving:
    return Saving(spec, device=device)


def test_plan_agrees_with_the_scheduler(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    small = echo_spec("small", memory_bytes=50)
    scheduler = scheduler_factory([_big(memory_savers_bytes=80), small], budgets={"cpu": 100}, loader=_saving)
    plan = scheduler.plan(["big", "small"])
    assert plan.memory_savers == ("big",)
    assert plan.load_order == ("big", "small") and plan.evictions == 1 and plan.peak_bytes == {"cpu": 80}
    with pytest.raises(OutOfDeviceMemoryError, match="together"):
        scheduler.plan(["big", "small"], together=True)
    assert text_of(scheduler.run("big", TextRequest(prompt="fits"), timeout=WAIT)) == "FITS"  # as planned
    plain = scheduler_factory([_big()], budgets={"cpu": 100}, loader=_saving)
    with pytest.raises(OutOfDeviceMemoryError, match="even alone"):
        plain.plan(["big"])
