"""CUDA-only tests share the scheduler tests' fixtures (schedulers shut down after each test, a saved tiny LM)."""

from __future__ import annotations

from tests.runtime.conftest import scheduler_factory, tiny_lm_dir

__all__ = ["scheduler_factory", "tiny_lm_dir"]
