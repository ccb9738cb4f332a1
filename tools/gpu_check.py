"""`make gpu-check`: the CUDA-only tests and `bench_scheduler.py --shapes full`, written to one report file.

Without a CUDA device (CI, laptops) it prints `gpu-check skipped: no CUDA device` and exits 0, writing nothing.
With one, it runs, each in its own process with a time limit, from the repository root:

1. `python -m pytest tests/gpu` (its JUnit XML is read back: each test's outcome, seconds and message);
2. `python benchmarks/bench_scheduler.py --shapes full` (its `key: value` lines).

and writes one JSON report (default `out/gpu-check.json`, through a temporary file and a rename): the device,
library versions, the modules this checkout needs that are missing, each test's outcome and the benchmark's
lines. The exit status is 0 when no test failed and the benchmark exited 0, else 1. This script needs only the
standard library, so the report is written even where the SDK cannot be imported. See docs/gpu-check.md.

    python tools/gpu_check.py --out out/gpu-check.json
    python tools/gpu_check.py --bench-args "--only lm,sd15 --repeats 2"
    python tools/gpu_check.py --cpu --bench-args "--only lm --requests 2 --new-tokens 2 --repeats 1"  # try it
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Modules the tests and the benchmark import beyond torch: the GPU image may lack some (carry them as wheels).
NEEDED = (
    "pydantic",
    "tomli_w",
    "typer",
    "yaml",
    "transformers",
    "tokenizers",
    "safetensors",
    "diffusers",
    "accelerate",
)

_DEVICE_PROBE = """
import json, platform, torch
out = {"cuda": torch.cuda.is_available(), "torch": torch.__version__, "torch_cuda": torch.version.cuda,
       "python": platform.python_version()}
if out["cuda"]:
    p = torch.cuda.get_device_properties(0)
    out.update(name=p.name, memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
               device_count=torch.cuda.device_count(), cudnn=torch.backends.cudnn.version())
print(json.dumps(out))
"""


def _run(command: list[str], timeout: float) -> dict[str, Any]:
    """Run ``command`` in the repository root; exit code, seconds and output (partial when it timed out)."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = (
            exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        ) + f"\ntimed out after {timeout:g} s"
    return {
        "command": shlex.join(command),
        "exit_code": code,
        "seconds": round(time.perf_counter() - start, 1),
        "stdout": out,
        "stderr": err,
    }


def _device() -> dict[str, Any]:
    probe = _run([sys.executable, "-c", _DEVICE_PROBE], timeout=120)
    if probe["exit_code"] != 0:
        return {"cuda": False, "error": probe["stderr"].strip()[-500:]}
    info: dict[str, Any] = json.loads(probe["stdout"].strip().splitlines()[-1])
    return info


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in ("transformers", "diffusers", "accelerate", "tokenizers", "pydantic", "numpy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _cases(junit: Path) -> list[dict[str, Any]]:
    """Each test case of a pytest JUnit XML file: name, outcome (passed/failed/error/skipped), seconds, message."""
    if not junit.is_file():
        return []
    cases = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (found.get("message") or found.text or "").strip()[:1000]
                break
        name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        cases.append({"name": name, "outcome": outcome, "seconds": float(case.get("time") or 0), "message": message})
    return cases


def _tests(timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "tests/gpu", "-p", "no:cacheprovider", "-q", "-rA"]
        run = _run([*command, f"--junitxml={junit}", "-o", "junit_family=xunit2"], timeout)
        cases = _cases(junit)
    counts = {o: sum(c["outcome"] == o for c in cases) for o in ("passed", "failed", "error", "skipped")}
    tail = "" if run["exit_code"] == 0 else (run["stdout"] + run["stderr"])[-4000:]
    return {
        "command": run["command"],
        "exit_code": run["exit_code"],
        "seconds": run["seconds"],
        **counts,
        "cases": cases,
        "tail": tail,
    }


def _benchmark(args: str, timeout: float) -> dict[str, Any]:
    run = _run([sys.executable, "benchmarks/bench_scheduler.py", "--shapes", "full", *shlex.split(args)], timeout)
    lines = {}
    for line in run["stdout"].splitlines():
        key, sep, value = line.partition(": ")
        if sep and not key.startswith("[") and " " not in key:
            lines[key] = value.strip()
    tail = "" if run["exit_code"] == 0 else run["stderr"][-4000:]
    return {
        "command": run["command"],
        "exit_code": run["exit_code"],
        "seconds": run["seconds"],
        "lines": lines,
        "tail": tail,
    }


def _write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _summary(report: dict[str, Any]) -> str:
    device, tests, bench = report["device"], report["tests"], report["benchmark"]
    where = f"{device.get('name', 'no CUDA device')} ({device.get('memory_gib', '-')} GiB)"
    counts = ", ".join(f"{tests[o]} {o}" for o in ("passed", "failed", "error", "skipped"))
    rows = [
        f"device: {where}, torch {device.get('torch')}, CUDA {device.get('torch_cuda')}",
        f"missing modules: {', '.join(report['missing_modules']) or 'none'}",
        f"tests: {counts} ({tests['seconds']} s)",
    ]
    rows += [
        f"  {c['outcome']:7} {c['name']}" + (f"  ({c['message'][:160]})" if c["message"] else "")
        for c in tests["cases"]
    ]
    rows.append(f"benchmark: exit {bench['exit_code']} ({bench['seconds']} s)")
    rows += [
        f"  {k}: {v}"
        for k, v in bench["lines"].items()
        if k.endswith(("_vs_batched", "_vs_sequential", "_skipped", "_error", "_match_batched"))
    ]
    rows.append(f"report: {report['path']}  ok: {str(report['ok']).lower()}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "gpu-check.json", help="the report (JSON)")
    parser.add_argument("--bench-args", default="", help="extra arguments for bench_scheduler.py (one string)")
    parser.add_argument("--tests-timeout", type=float, default=150.0, help="seconds for the CUDA tests")
    parser.add_argument("--bench-timeout", type=float, default=300.0, help="seconds for the benchmark")
    parser.add_argument("--cpu", action="store_true", help="run even without CUDA (to try the check itself)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        print("gpu-check skipped: no CUDA device (torch is not installed)")
        return 0
    started, start = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    device = _device()
    if not device.get("cuda") and not args.cpu:
        print("gpu-check skipped: no CUDA device")
        return 0
    print(f"gpu-check on {device.get('name', 'the CPU')}: CUDA tests, then bench_scheduler --shapes full", flush=True)
    tests = _tests(args.tests_timeout)
    bench = _benchmark(args.bench_args, args.bench_timeout)
    ok = tests["exit_code"] == 0 and bench["exit_code"] == 0
    report = {
        "started": started,
        "seconds": 0.0,
        "ok": ok,
        "path": str(args.out),
        "device": device,
        "versions": _versions(),
        "missing_modules": [m for m in NEEDED if importlib.util.find_spec(m) is None],
        "tests": tests,
        "benchmark": bench,
    }
    report["seconds"] = round(time.perf_counter() - start, 1)
    _write(args.out, report)
    print(_summary(report))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
