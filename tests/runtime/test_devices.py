"""Device names, detection and memory budgets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aigc_sdk.errors import InvalidRequestError, ModelLoadError, OutOfDeviceMemoryError
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
    assert scheduler._placement._pool is None  # nothing measured before it is needed
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


def test_cpu_only_models_stay_off_the_gpus(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    voice = echo_spec("voice", memory_bytes=60).model_copy(update={"devices": ("cpu",)})
    lm = echo_spec("lm", memory_bytes=60)
    scheduler = scheduler_factory(
        [voice, lm], budgets={"cuda:0": 1000, "cpu": 100}, loader=lambda s, d: Echo(s, device=d)
    )
    assert scheduler.run("voice", TextRequest(prompt="x")).provenance.device == "cpu"  # though cuda:0 has more room
    assert scheduler.run("lm", TextRequest(prompt="y")).provenance.device == "cuda:0"
    plan = scheduler.plan(["voice", "lm"])
    assert plan.placements == {"voice": "cpu", "lm": "cuda:0"}
    gpu_only = scheduler_factory([voice], budgets={"cuda:0": 1000}, loader=lambda s, d: Echo(s, device=d))
    with pytest.raises(ModelLoadError, match="runs on cpu only"):
        gpu_only.run("voice", TextRequest(prompt="x"))
    with pytest.raises(ModelLoadError, match="runs on cpu only"):
        gpu_only.plan(["voice"])
    tight = scheduler_factory([voice], budgets={"cuda:0": 1000, "cpu": 50}, loader=lambda s, d: Echo(s, device=d))
    with pytest.raises(OutOfDeviceMemoryError, match=r"more than any device budget \(cpu 50 B\)"):
        tight.run("voice", TextRequest(prompt="x"))


def test_gpu_capable_models_never_spill_to_the_cpu(scheduler_factory: Callable[..., GpuScheduler]) -> None:
    big = echo_spec("big", memory_bytes=60)
    scheduler = scheduler_factory([big], budgets={"cuda:0": 50, "cpu": 1000}, loader=lambda s, d: Echo(s, device=d))
    with pytest.raises(OutOfDeviceMemoryError, match=r"budget \(cuda:0 50 B\)"):
        scheduler.run("big", TextRequest(prompt="x"))


def test_the_default_devices_end_with_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: detection is replaced to show what a CUDA machine gets.
    import aigc_sdk.runtime.placement as placement_module

    monkeypatch.setattr(placement_module, "detect_devices", lambda: ["cuda:0", "cuda:1"])
    monkeypatch.setattr(placement_module, "default_budget", lambda device, headroom: 1000)
    voice = echo_spec("voice", memory_bytes=60).model_copy(update={"devices": ("cpu",)})
    with GpuScheduler([voice, echo_spec("lm")], loader=lambda s, d: Echo(s, device=d)) as scheduler:
        assert scheduler.devices == ["cuda:0", "cuda:1", "cpu"]
        assert scheduler.run("voice", TextRequest(prompt="x"), timeout=20).provenance.device == "cpu"
        assert scheduler.run("lm", TextRequest(prompt="x"), timeout=20).provenance.device.startswith("cuda")


def test_detection_without_a_gpu_driver_does_not_import_torch() -> None:
    """A machine with no GPU driver learns it has only a CPU without torch's import (a second, ~200 MB)."""
    import subprocess
    import sys

    from aigc_sdk.runtime import devices

    if devices._accelerator_possible():
        pytest.skip("a GPU driver is present: detection asks torch")
    code = "import sys; from aigc_sdk.runtime.devices import detect_devices as d; print(d(), 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["['cpu']", "False"]
