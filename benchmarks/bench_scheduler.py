"""Throughput of GpuScheduler against calling the generator directly.

N concurrent single requests (one client thread each) go through the scheduler, which
coalesces them into batches. The same requests, with the same seeds, on the same
generator instance, are also run (a) one at a time with direct ``generator(request)``
calls and (b) as one hand-batched ``generator.batch(all)`` call. The scheduler cannot
beat (b); the target is to stay within 10 % of it.

Shapes (language-model shapes only):

* ``--shapes tiny``: a 2-layer GPT-2-shaped LM with random weights on the CPU (seconds).
* ``--shapes full``: a GPT-2-medium-shaped LM (24 layers, 1024 wide) with random weights,
  fp16 on CUDA when available, else fp32 on the CPU.

No diffusion (SD-1.5) shapes are measured here: ``benchmarks/sd_shapes.py`` runs an
SD-1.5-shaped pipeline on its own, alone and batched, without the scheduler.

The model is the per-row-seeded sampler in ``benchmarks/tiny_lm.py`` (shared with the
tests), so every path must produce the same texts: ``results_match_batched`` and
``results_match_sequential`` say whether they did. In fp16 on a GPU, kernels chosen per
batch shape may round differently, so one-at-a-time texts can drift from batched ones;
in fp32 on the CPU they match exactly. Output ends with ``key: value`` lines; the last
two are the throughput ratios ``scheduler_vs_batched`` and ``scheduler_vs_sequential``.

    python benchmarks/bench_scheduler.py --shapes tiny
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_lm (see its docstring)
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

from tiny_lm import MEDIUM, TINY, TinyLM, tiny_lm_spec

from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.types import TextRequest

SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {"shape": TINY, "requests": 32, "new_tokens": 16, "repeats": 21},
    "full": {"shape": MEDIUM, "requests": 32, "new_tokens": 32, "repeats": 5},
}
WORDS = "markets rallied as the central bank held rates steady while storms moved north over the coast".split()


def _requests(n: int, new_tokens: int) -> list[TextRequest]:
    return [
        TextRequest(prompt=" ".join(WORDS[i % 7 : i % 7 + 4 + i % 9]), max_new_tokens=new_tokens, seed=i, top_k=40)
        for i in range(n)
    ]


class _Clients:
    """One persistent client thread per request; each round releases them together and waits for all."""

    def __init__(self, scheduler: GpuScheduler, requests: list[TextRequest]) -> None:
        self.results: list[Any] = [None] * len(requests)
        self._go = threading.Barrier(len(requests) + 1)
        self._done = threading.Barrier(len(requests) + 1)
        self._stop = False
        self._threads = [
            threading.Thread(target=self._client, args=(scheduler, i, r), daemon=True) for i, r in enumerate(requests)
        ]
        for thread in self._threads:
            thread.start()

    def _client(self, scheduler: GpuScheduler, i: int, request: TextRequest) -> None:
        while True:
            self._go.wait()
            if self._stop:
                return
            self.results[i] = scheduler.run("lm", request, timeout=600)
            self._done.wait()

    def round(self) -> list[Any]:
        self._go.wait()
        self._done.wait()
        return list(self.results)

    def close(self) -> None:
        self._stop = True
        self._go.wait()
        for thread in self._threads:
            thread.join()


def _median_times(paths: dict[str, Callable[[], list[Any]]], repeats: int) -> dict[str, tuple[float, list[Any]]]:
    """Median seconds per path; the paths take turns so machine noise hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    outputs: dict[str, list[Any]] = {}
    for _ in range(repeats):
        for name, fn in paths.items():
            start = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), outputs[name]) for name in paths}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes",
        choices=sorted(SHAPES),
        default="tiny",
        help="language-model shapes: tiny (2-layer GPT-2) or full (GPT-2 medium); no diffusion shapes",
    )
    parser.add_argument("--requests", type=int, help="concurrent requests (default: 32)")
    parser.add_argument("--new-tokens", type=int, help="tokens generated per request")
    parser.add_argument("--repeats", type=int, help="timed repeats of the batched and scheduler paths (median)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="scheduler batching window")
    parser.add_argument("--device", help="cpu, cuda:0, mps (default: cuda:0 for full shapes when available)")
    args = parser.parse_args(argv)
    preset = SHAPES[args.shapes]
    n = args.requests or preset["requests"]
    new_tokens = args.new_tokens or preset["new_tokens"]
    repeats = args.repeats or preset["repeats"]

    import torch

    device = args.device or ("cuda:0" if args.shapes == "full" and torch.cuda.is_available() else "cpu")
    spec = tiny_lm_spec(
        "lm",
        max_batch_size=n,
        memory_bytes=None,
        dtype="float16" if device.startswith("cuda") else "float32",
        options={"random_init": True, "seed": 0, **preset["shape"]},
    )
    generator = TinyLM(spec, device=device)
    requests = _requests(n, new_tokens)
    generator.batch(requests[: min(4, n)])  # warm up kernels and allocator

    scheduler = GpuScheduler(
        [spec], budgets={device: 10**12}, loader=lambda s, d: generator, max_wait_ms=args.max_wait_ms
    )
    clients = _Clients(scheduler, requests)
    try:
        scheduler.run("lm", requests[0])  # hands the loaded instance to the scheduler, outside the timing
        timed = {
            **_median_times({"sequential": lambda: [generator(r) for r in requests]}, 3),
            **_median_times({"batched": lambda: generator.batch(requests), "scheduler": clients.round}, repeats),
        }
        metrics = scheduler.metrics()
    finally:
        clients.close()
        scheduler.shutdown()
    (sequential_s, sequential), (batched_s, batched), (scheduler_s, through) = (
        timed[path] for path in ("sequential", "batched", "scheduler")
    )

    texts = [r.texts for r in batched]
    match_batched = texts == [r.texts for r in through]
    match_sequential = texts == [r.texts for r in sequential]
    sequential_rps, batched_rps, scheduler_rps = n / sequential_s, n / batched_s, n / scheduler_s
    print(f"sequential: {sequential_rps:8.1f} requests/s  ({sequential_s * 1000:.1f} ms for {n})")
    print(f"batched:    {batched_rps:8.1f} requests/s  ({batched_s * 1000:.1f} ms, one batch of {n})")
    print(f"scheduler:  {scheduler_rps:8.1f} requests/s  ({scheduler_s * 1000:.1f} ms, {n} client threads)")
    lines = {
        "shapes": args.shapes,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "requests": n,
        "new_tokens": new_tokens,
        "repeats": repeats,
        "max_wait_ms": args.max_wait_ms,
        "results_match_batched": str(match_batched).lower(),
        "results_match_sequential": str(match_sequential).lower(),
        "scheduler_batch_sizes": dict(metrics.batch_sizes),
        "scheduler_p50_latency_ms": round((metrics.latency_p50_s or 0.0) * 1000, 2),
        "sequential_rps": round(sequential_rps, 2),
        "batched_rps": round(batched_rps, 2),
        "scheduler_rps": round(scheduler_rps, 2),
        "scheduler_vs_batched": round(scheduler_rps / batched_rps, 3),
        "scheduler_vs_sequential": round(scheduler_rps / sequential_rps, 3),
    }
    for key, value in lines.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
