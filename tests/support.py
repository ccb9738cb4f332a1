"""Helpers shared by tests (not fixtures): optional dependencies that fail under CI, word error rate."""

from __future__ import annotations

import importlib
import os
import re
from types import ModuleType

import pytest

#: Environment variables under which a test's missing optional dependency fails the run instead of skipping it:
#: ``make test`` sets ``AIGC_TEST_REQUIRE_ENVS=1`` (it installs every extra), CI services set ``CI=true``.
STRICT_ENV = ("AIGC_TEST_REQUIRE_ENVS", "CI")


def strict_environment() -> bool:
    """Whether this run must have every extra (``make test`` or CI): then a missing one is a failure, not a skip."""
    return any(os.environ.get(name, "").strip().lower() in {"1", "true", "yes"} for name in STRICT_ENV)


def require(message: str) -> None:
    """Skip the test (or the module) for ``message``; under ``make test`` or CI, fail it instead."""
    if strict_environment():
        pytest.fail(f"{message} (a missing requirement fails under CI / AIGC_TEST_REQUIRE_ENVS=1)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, reason: str | None = None) -> ModuleType:
    """Import an optional dependency of a test: the module, or a skip — a failure under ``make test`` or CI.

    Use this instead of ``pytest.importorskip`` (a test in tests/test_support.py keeps it so): a missing
    extra must not turn a ``make test`` run green by skipping the tests that need it.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(f"{reason or 'needs ' + name}: could not import {name!r} ({exc})")
        raise  # unreachable: require() raises


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words, divided by the reference's word count."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)
