"""Checks on a real CUDA device and its memory (``make gpu-check``); every test skips without CUDA, so CI skips them.

They are the real-device twins of CPU tests that simulate a GPU, sharing their checks (tests/runtime/helpers.py):
the out-of-memory split (tests/runtime/test_faults.py) with a real ``torch.cuda.OutOfMemoryError``, LRU eviction
(tests/runtime/test_pool.py) under a real VRAM budget, and memory savers when no budget fits
(tests/runtime/test_memory_savers.py) with diffusers' real CPU offload. Plus fp16/bf16 loading through the
registry's loader, measured in device memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aigc_sdk.registry import LocalSource, ModelSpec
from aigc_sdk.registry.loader import load
from aigc_sdk.runtime import GpuScheduler, SchedulerEvent
from aigc_sdk.types import ImageRequest, ImageResult, TextRequest, TextResult
from tests.generators.text.tiny_lm import build_tiny_lm
from tests.runtime.helpers import WAIT, LruRun, TinyLM, check_lru_eviction, check_oom_split, tiny_lm_spec
from tests.support import require_module

torch = require_module("torch", reason="needs torch")

CUDA = "cuda:0"
#: A GPT-2 of about 21 MB in float32: big enough that its weights show plainly in ``torch.cuda.memory_allocated``.
MID = {"n_layer": 4, "n_embd": 256, "n_head": 4, "vocab_size": 8192, "n_positions": 128}

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make gpu-check on a GPU machine)"),
    # the GPU image's library versions differ from the venv's: their deprecation notices are not this SDK's failures
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"),
]


def _allocated() -> int:
    torch.cuda.synchronize(CUDA)
    return int(torch.cuda.memory_allocated(CUDA))


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    yield
    torch.cuda.empty_cache()  # the OOM test leaves most of the card reserved in torch's cache


# -- fp16 / bf16 through the loader ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"))


def _resident(folder: Path, dtype: str) -> tuple[Any, int]:
    """Load the tiny LM through the registry's loader on CUDA in ``dtype``; the generator and its device bytes."""
    spec = ModelSpec(
        id=f"tiny-{dtype}",
        task="text-generation",
        backend="aigc_sdk.generators.text.transformers_lm.TransformersTextGenerator",
        source=LocalSource(path=folder),
        dtype=dtype,  # type: ignore[arg-type]
    )
    before = _allocated()
    generator = load(spec, CUDA)
    return generator, _allocated() - before


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_loads_through_the_loader_in_half_the_memory(text_lm_dir: Path, dtype: str) -> None:
    full, full_bytes = _resident(text_lm_dir, "float32")
    full.close()
    half, half_bytes = _resident(text_lm_dir, dtype)
    try:
        result = half(TextRequest(prompt="The council voted", max_new_tokens=4, temperature=0.0, seed=1))
    finally:
        half.close()
    assert isinstance(result, TextResult) and result.provenance.device == CUDA and len(result.texts) == 1
    # small tensors round up to 512-byte blocks, so a little over half
    assert 0.4 * full_bytes <= half_bytes <= 0.65 * full_bytes, (full_bytes, half_bytes)


# -- the scheduler on a real device ----------------------------------------------------------------------------


def test_a_real_out_of_memory_splits_the_batch_until_it_fits(
    tiny_lm_dir: Path, scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    spec = tiny_lm_spec("oom", tiny_lm_dir, backend="tests.runtime.helpers.OomAboveTwo")
    events: list[SchedulerEvent] = []
    scheduler = scheduler_factory([spec], budgets={CUDA: 10**9}, max_wait_ms=2000, on_event=events.append)
    check_oom_split(scheduler, spec, events)  # each row takes 40 % of the free memory: 3 rows cannot fit


def test_eviction_under_a_real_vram_budget_frees_device_memory(
    tiny_lm_dir: Path, scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    options: dict[str, str | int | float | bool] = {"random_init": True, "seed": 0, **MID}

    def spec(model_id: str, size: int | None = None) -> ModelSpec:
        return tiny_lm_spec(model_id, tiny_lm_dir, memory_bytes=size, options=options)

    before = _allocated()
    probe = TinyLM(spec("probe"), device=CUDA)
    size = _allocated() - before
    probe.close()
    assert size > 15_000_000, size
    run = LruRun(probe=_allocated)
    budget = size * 5 // 2  # room for two models, not three
    scheduler = scheduler_factory([spec(m, size) for m in "abc"], budgets={CUDA: budget}, on_event=run)
    check_lru_eviction(scheduler, run, device=CUDA, size=size)

    def first(kind: str, model: str) -> int:
        return next(value for k, m, value in run.readings if (k, m) == (kind, model))

    freed = first("ModelLoaded", "b") - first("ModelEvicted", "b")  # a and b resident, then a alone
    assert freed >= 0.9 * size, (size, run.readings)  # b's weights really left the device
    assert _allocated() - before <= 2 * size + size // 2  # two models resident, never three


# -- memory savers with real CPU offload ---------------------------------------------------------------------------

REQUEST = ImageRequest(prompt="a lighthouse at dusk", width=64, height=64, steps=2, seed=5)


@pytest.fixture(scope="module")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("diffusers", reason="needs the image extra")
    require_module("accelerate", reason="diffusers' CPU offload needs accelerate")
    from sd_shapes import save_tiny_pipeline  # benchmarks/ is on sys.path through tests.runtime.helpers

    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


def _pixels(result: object) -> Any:
    assert isinstance(result, ImageResult), result
    return result.image.to_array().astype(int)


def test_a_model_no_budget_fits_runs_with_savers_and_its_weights_off_the_device(
    tiny_sd_dir: Path, scheduler_factory: Callable[..., GpuScheduler]
) -> None:
    from sd_shapes import diffusers_spec

    from aigc_sdk.generators.image.diffusers_image import DiffusersImageGenerator

    plain_spec = diffusers_spec("tiny-sd", tiny_sd_dir, dtype="float32", options={"watermark": False})
    before = _allocated()
    with DiffusersImageGenerator(plain_spec, device=CUDA) as plain:
        resident = _allocated() - before
        reference = plain(REQUEST)
    assert resident > 0
    big = plain_spec.model_copy(
        update={
            "id": "big-sd",
            "memory_bytes": 10 * resident,
            "options": {"watermark": False, "memory_savers_bytes": 1},
        }
    )
    scheduler = scheduler_factory([big], budgets={CUDA: resident // 2})
    before = _allocated()
    result = scheduler.run("big-sd", REQUEST, timeout=WAIT)
    assert result.provenance.device == CUDA
    assert result.provenance.extra["memory_savers"] == ["attention_slicing", "cpu_offload", "vae_tiling"]
    assert _allocated() - before < resident / 4  # offloaded: the weights wait in host memory between runs
    assert np.abs(_pixels(result) - _pixels(reference)).max() <= 2
