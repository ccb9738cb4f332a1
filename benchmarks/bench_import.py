"""Import time of `import aigc_sdk` (goal ≤ 0.3 s), against the interpreter's own start-up.

Also the frame-marking worker's imports (``import_marking_worker_s``): every watermarked render starts
one (``python -m aigc_sdk.trust._marking``), so what it imports is paid once per render.

Each measurement is a fresh interpreter; the baseline (`python -c pass`) is measured in the
same run so the machine's noise cancels out. Ends with `key: value` lines.

    python benchmarks/bench_import.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    _run("import aigc_sdk")  # warm the file cache and .pyc files
    baseline = statistics.median(_run("pass") for _ in range(args.repeat))
    sdk = statistics.median(_run("import aigc_sdk") for _ in range(args.repeat))
    core = statistics.median(
        _run("import aigc_sdk; aigc_sdk.SpeechRequest; aigc_sdk.ModelSpec") for _ in range(args.repeat)
    )
    worker = statistics.median(_run("import aigc_sdk.trust._marking") for _ in range(args.repeat))
    print(f"python_startup_s: {baseline:.4f}")
    print(f"import_aigc_sdk_s: {sdk - baseline:.4f}")
    print(f"import_typed_core_s: {core - baseline:.4f}")
    print(f"import_marking_worker_s: {worker - baseline:.4f}")
    print("import_goal_s: 0.3")
    print(f"import_vs_goal: {(sdk - baseline) / 0.3:.3f}")


if __name__ == "__main__":
    main()
