"""Fixtures for the scheduler tests: a tiny GPT-2 saved once per session, and schedulers that clean up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler
from tests.runtime.helpers import save_tiny_lm, tiny_lm_spec


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-lm"), seed=0)


@pytest.fixture
def make_spec(tiny_lm_dir: Path) -> Callable[..., ModelSpec]:
    def make(model_id: str, **kwargs: Any) -> ModelSpec:
        return tiny_lm_spec(model_id, tiny_lm_dir, **kwargs)

    return make


@pytest.fixture
def scheduler_factory() -> Iterator[Callable[..., GpuScheduler]]:
    """Build schedulers that are shut down (cancelling leftovers) when the test ends."""
    made: list[GpuScheduler] = []

    def make(*args: Any, **kwargs: Any) -> GpuScheduler:
        kwargs.setdefault("budgets", {"cpu": 10**9})
        scheduler = GpuScheduler(*args, **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown(wait=True, cancel_pending=True)
