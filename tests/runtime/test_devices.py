"""Device names, detection and memory budgets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.runtime.devices import default_budget, detect_devices, empty_cache, memory_info, normalize_device
from aigc_sdk.types import TextRequest
from tests.runtime.helpers import Echo, echo_spec


@pytest.mark.parametrize(
    ("name", "canonical"), [("cpu", "cpu"), ("CUDA", "cuda:0"), ("cuda:3", "cuda:3"), ("mps", "mps")]
)
def test_normalize_device(name: str, canonical: str) -> None:
    assert normalize_device(name) == canonical


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "tpu:0", ""])
def test_bad_device_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidRequestError):
        normalize_device(name)


def test_detect_devices_finds_accelerators_or_the_cpu() -> None:
    devices = detect_devices()
    assert devices == ["cpu"] or devices == ["mps"] or all(d.startswith("cuda:") for d in devices)


def test_host_memory_and_the_default_budget() -> None:
    free, total = memory_info("cpu")
    assert 0 < free <= total
    assert default_budget("cpu", headroom=0.0) <= free
    assert default_budget("cpu", headroom=0.99) == max(0, free - int(total * 0.99))
    with pytest.raises(InvalidRequestError):
        default_budget("cpu", headroom=1.0)


def test_empty_cache_is_safe_without_the_device() -> None:
    empty_cache("cpu")
    empty_cache("cuda:0")  # torch is loaded by the tiny LM tests; without CUDA this is a no-op
    empty_cache("mps")


def test_budgets_are_measured_lazily_for_devices_without_one() -> None:
    scheduler = GpuScheduler(devices=["cpu"])
    assert scheduler._pool is None  # nothing measured before it is needed
    assert scheduler.devices == ["cpu"]
    assert 0 <= scheduler.budgets["cpu"] <= memory_info("cpu")[1]


def test_models_spread_over_devices(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    scheduler = scheduler_factory(
        [echo_spec("a", memory_bytes=60), echo_spec("b", memory_bytes=60)],
        budgets={"cuda:0": 100, "cuda:1": 100},
        loader=lambda s, d: Echo(s, device=d),
    )
    assert scheduler.run("a", TextRequest(prompt="x")).provenance.device == "cuda:0"
    assert scheduler.run("b", TextRequest(prompt="y")).provenance.device == "cuda:1"
    assert scheduler.metrics().memory_used == {"cuda:0": 60, "cuda:1": 60}
