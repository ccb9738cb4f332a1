"""The test suite's own rules: a missing extra skips a test only outside CI / ``make test``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY_TEST = """
from tests.support import require_module

require_module("aigc_no_such_module_for_tests", reason="needs the imaginary extra")


def test_never_runs():
    assert False
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs_extra.py").write_text(TINY_TEST)
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "AIGC_TEST_REQUIRE_ENVS"}}
    clean.update(env, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_needs_extra.py"]
    return subprocess.run(cmd, cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120)


def test_a_missing_extra_skips_outside_ci(tmp_path: Path) -> None:
    run = _run(tmp_path)
    assert run.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, run.stdout + run.stderr  # skipped, not failed
    assert "1 skipped" in run.stdout
    assert "needs the imaginary extra" in run.stdout


@pytest.mark.parametrize("env", [{"CI": "true"}, {"AIGC_TEST_REQUIRE_ENVS": "1"}])
def test_a_missing_extra_fails_under_ci_and_make_test(tmp_path: Path, env: dict[str, str]) -> None:
    run = _run(tmp_path, **env)
    assert run.returncode != 0, run.stdout
    assert "skipped" not in run.stdout
    assert "needs the imaginary extra: could not import 'aigc_no_such_module_for_tests'" in run.stdout
    assert "1 error" in run.stdout  # the module fails at collection: none of its tests can pass silently


def test_no_test_calls_importorskip_directly() -> None:
    """``pytest.importorskip`` would skip under CI too; tests use ``tests.support.require_module``."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "support.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bimportorskip\(", line) and path != Path(__file__)
    ]
    assert offenders == []
