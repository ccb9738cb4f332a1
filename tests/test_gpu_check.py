"""``make gpu-check`` skips cleanly without CUDA, and its report (tried on the CPU with ``--cpu``) is complete."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import require_module

ROOT = Path(__file__).resolve().parents[1]
torch = require_module("torch", reason="needs torch")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "tools" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: make gpu-check runs for real here")
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_gpu_check_skips_without_cuda(tmp_path: Path) -> None:
    venv = Path(sys.executable).parents[1]  # the Makefile runs $(VENV)/bin/python: this interpreter
    # Run under `make test`, the outer make's flags (-w: "Entering/Leaving directory") would reach this one.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "gpu-check", f"OUT={tmp_path}", f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "gpu-check skipped: no CUDA device"
    assert list(tmp_path.iterdir()) == []  # nothing measured, no report


def test_the_report_holds_the_device_each_test_and_the_benchmark_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "gpu-check.json"
    bench = "--shapes tiny --only lm --requests 2 --new-tokens 2 --repeats 1"  # the last --shapes wins
    code = _tool().main(["--cpu", "--out", str(out), "--bench-args", bench])
    report = json.loads(out.read_text())
    cuda = torch.cuda.is_available()
    assert report["device"]["cuda"] is cuda and report["device"]["torch"] == torch.__version__
    assert set(report["versions"]) >= {"transformers", "diffusers"} and isinstance(report["missing_modules"], list)
    tests = report["tests"]
    assert len(tests["cases"]) == sum(tests[o] for o in ("passed", "failed", "error", "skipped")) >= 5
    names = {case["name"].rpartition("::")[2] for case in tests["cases"]}
    assert "test_a_real_out_of_memory_splits_the_batch_until_it_fits" in names
    if not cuda:
        assert tests["skipped"] == len(tests["cases"])
    lines = report["benchmark"]["lines"]
    assert report["benchmark"]["exit_code"] == 0 and lines["shapes"] == "tiny"
    assert (
        float(lines["lm_scheduler_vs_batched"]) > 0
        and lines["scheduler_vs_batched"] == lines["lm_scheduler_vs_batched"]
    )
    assert code == (0 if report["ok"] else 1) and report["ok"] is (tests["exit_code"] == 0)
    printed = capsys.readouterr().out
    assert f"report: {out}" in printed and "lm_scheduler_vs_batched:" in printed
    assert [p.name for p in out.parent.iterdir()] == ["gpu-check.json"]  # written through a temp file and a rename
