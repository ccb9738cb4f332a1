"""Throughput of GpuScheduler against calling the generator directly, per model shape.

For each shape, N concurrent single requests (one client thread each) go through the scheduler, which
coalesces them into batches. The same requests, with the same seeds, on the same generator instance, are
also run (a) one at a time with direct ``generator(request)`` calls and (b) as one hand-batched
``generator.batch(all)`` call. The scheduler cannot beat (b); the target is to stay within 10 % of it.

Shapes (``--only lm,sd15,whisper,musicgen``; all four by default), every one with random weights built in
this process (nothing is downloaded, nothing written to the hub cache) and served by the SDK's real generator:

* ``lm``: the per-row-seeded GPT-2 sampler of ``benchmarks/tiny_lm.py`` (shared with the tests).
  tiny: 2 layers, 32 wide; full: GPT-2 medium (24 layers, 1024 wide); 32 requests.
* ``sd15``: Stable Diffusion through ``DiffusersImageGenerator``, the pipeline built by
  ``benchmarks/sd_shapes.py`` and injected. tiny: diffusers' test shapes at 64², 2 steps; full: SD-1.5's
  UNet, VAE and CLIP text encoder at 512², 20 steps; 8 requests.
* ``whisper``: transcription through ``HFWhisperTranscriber`` of N different noise clips, the model saved
  and loaded back by the generator (``benchmarks/audio_shapes.py``). tiny: 1 layer each way; full:
  whisper-base; 8 requests.
* ``musicgen``: text-to-music through ``MusicGenerator`` (``benchmarks/audio_shapes.py``). tiny: an 8 kHz
  toy; full: musicgen-small; 4 requests.

``--shapes tiny`` runs on the CPU in seconds per shape. ``--shapes full`` is meant for a GPU: fp16 on
``cuda:0`` when CUDA is available (else fp32 on the CPU, which takes a long time). A shape whose library is
missing prints ``<shape>_skipped: <why>``; a shape that fails prints ``<shape>_error: <why>`` (its traceback
on stderr), the others still run, and the exit status is 1.

Every shape's sampling is seeded per request, so the three paths should give the same results:
``<shape>_results_match_batched`` and ``<shape>_results_match_sequential`` say whether they did (images
within 2/255, audio within 1e-4). In fp16 on a GPU, kernels chosen per batch shape may round differently,
so one-at-a-time results can drift from batched ones; in fp32 on the CPU they match.

Output ends with ``key: value`` lines: ``shapes``, ``device``, ``torch_threads``, ``max_wait_ms``, then per
shape ``<shape>_…`` lines (among them ``<shape>_scheduler_vs_batched`` and ``<shape>_scheduler_vs_sequential``,
the throughput ratios), then, when the LM ran, its lines once more without a prefix, as this benchmark printed
them before it had other shapes: the last two are ``scheduler_vs_batched`` and ``scheduler_vs_sequential``.

    python benchmarks/bench_scheduler.py --shapes tiny
    python benchmarks/bench_scheduler.py --shapes full --only sd15,whisper
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_lm, sd_shapes, audio_shapes (see their docstrings)
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

from tiny_lm import MEDIUM, TINY, TinyLM, tiny_lm_spec

from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.types import ImageRequest, MusicRequest, TextRequest, TranscribeRequest

KINDS = ("lm", "sd15", "whisper", "musicgen")
#: Per shape and size: concurrent requests, timed repeats, and the shape's own settings.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "lm": {
        "tiny": {"requests": 32, "repeats": 21, "new_tokens": 16},
        "full": {"requests": 32, "repeats": 5, "new_tokens": 32},
    },
    "sd15": {
        "tiny": {"requests": 8, "repeats": 5, "steps": 2, "size": 64},
        "full": {"requests": 8, "repeats": 3, "steps": 20, "size": 512},
    },
    "whisper": {
        "tiny": {"requests": 8, "repeats": 5, "new_tokens": 8, "seconds": 5.0},
        "full": {"requests": 8, "repeats": 3, "new_tokens": 64, "seconds": 10.0},
    },
    "musicgen": {
        "tiny": {"requests": 4, "repeats": 3, "seconds": 0.5},
        "full": {"requests": 4, "repeats": 2, "seconds": 2.0},
    },
}
NEEDS = {"lm": ("transformers",), "sd15": ("diffusers", "transformers"), "whisper": ("transformers",)}
WORDS = "markets rallied as the central bank held rates steady while storms moved north over the coast".split()


@dataclasses.dataclass
class Bench:
    """One shape ready to measure: its loaded generator and spec, the requests, and how results compare."""

    spec: ModelSpec
    generator: Any
    requests: list[Any]
    same: Callable[[Any, Any], bool]
    settings: dict[str, Any]
    dtype: str
    warmup: int = 2
    folder: tempfile.TemporaryDirectory[str] | None = None


def _text_requests(n: int, new_tokens: int) -> list[TextRequest]:
    return [
        TextRequest(prompt=" ".join(WORDS[i % 7 : i % 7 + 4 + i % 9]), max_new_tokens=new_tokens, seed=i, top_k=40)
        for i in range(n)
    ]


def _dtype(device: str) -> str:
    return "float16" if device.startswith("cuda") else "float32"


def _lm(size: str, device: str, n: int, settings: dict[str, Any]) -> Bench:
    dtype = _dtype(device)
    shape = TINY if size == "tiny" else MEDIUM
    spec = tiny_lm_spec(
        "lm", max_batch_size=n, memory_bytes=None, dtype=dtype, options={"random_init": True, "seed": 0, **shape}
    )
    requests = _text_requests(n, settings["new_tokens"])
    return Bench(spec, TinyLM(spec, device=device), requests, lambda a, b: a.texts == b.texts, settings, dtype, 4)


def _pixels_close(a: Any, b: Any) -> bool:
    import numpy as np

    x, y = a.image.to_array().astype(int), b.image.to_array().astype(int)
    return bool(x.shape == y.shape and np.abs(x - y).max() <= 2)


def _sd15(size: str, device: str, n: int, settings: dict[str, Any]) -> Bench:
    import torch
    from sd_shapes import build_pipeline, diffusers_spec

    from aigc_sdk.generators.image.diffusers_image import DiffusersImageGenerator

    dtype = _dtype(device)
    pipe = build_pipeline("tiny" if size == "tiny" else "sd15", dtype=torch.float16 if dtype == "float16" else None)
    spec = diffusers_spec("sd15", Path("."), dtype=dtype, max_batch_size=n)
    side, steps = settings["size"], settings["steps"]
    requests = [
        ImageRequest(prompt=f"a news photo number {i}", width=side, height=side, steps=steps, seed=i) for i in range(n)
    ]
    generator = DiffusersImageGenerator(spec, device=device, pipeline=pipe)
    return Bench(spec, generator, requests, _pixels_close, settings, dtype)


def _saved(save: Callable[..., Path], shapes: str, device: str) -> tuple[tempfile.TemporaryDirectory[str], Path, str]:
    """A checkpoint written by ``save`` into a fresh temporary folder, fp16 on CUDA: (folder, path, dtype)."""
    import torch

    folder = tempfile.TemporaryDirectory(prefix="bench-scheduler-")
    dtype = _dtype(device)
    return folder, save(Path(folder.name), shapes, dtype=getattr(torch, dtype)), dtype


def _whisper(size: str, device: str, n: int, settings: dict[str, Any]) -> Bench:
    import numpy as np
    from audio_shapes import save_whisper, whisper_spec

    from aigc_sdk.generators.audio.hf_whisper import HFWhisperTranscriber
    from aigc_sdk.media import Audio

    folder, path, dtype = _saved(save_whisper, "tiny" if size == "tiny" else "base", device)
    options = {"max_new_tokens": settings["new_tokens"]}
    spec = whisper_spec("whisper", path, dtype=dtype, batchable=True, max_batch_size=n, options=options)
    frames = round(settings["seconds"] * 16_000)
    clips = [Audio(np.random.default_rng(i).normal(0, 0.1, frames).astype(np.float32), 16_000) for i in range(n)]
    requests = [TranscribeRequest(audio=clip, seed=i) for i, clip in enumerate(clips)]
    generator = HFWhisperTranscriber(spec, device=device)
    return Bench(spec, generator, requests, lambda a, b: a.text == b.text, settings, dtype, folder=folder)


def _audio_close(a: Any, b: Any) -> bool:
    import numpy as np

    x, y = a.audio.samples, b.audio.samples
    return bool(x.shape == y.shape and np.allclose(x, y, atol=1e-4))


def _musicgen(size: str, device: str, n: int, settings: dict[str, Any]) -> Bench:
    from audio_shapes import musicgen_spec, save_musicgen

    from aigc_sdk.generators.audio.music import MusicGenerator

    folder, path, dtype = _saved(save_musicgen, "tiny" if size == "tiny" else "small", device)
    options = {"top_k": 20} if size == "tiny" else {}
    spec = musicgen_spec("musicgen", path, dtype=dtype, batchable=True, max_batch_size=n, options=options)
    prompts = ["calm piano news bed", "upbeat drums", "calm piano", "news bed in a minor"]
    requests = [MusicRequest(prompt=prompts[i % 4], duration=settings["seconds"], seed=i) for i in range(n)]
    generator = MusicGenerator(spec, device=device)
    return Bench(spec, generator, requests, _audio_close, settings, dtype, folder=folder)


BUILDERS: dict[str, Callable[[str, str, int, dict[str, Any]], Bench]] = {
    "lm": _lm,
    "sd15": _sd15,
    "whisper": _whisper,
    "musicgen": _musicgen,
}


class _Clients:
    """One persistent client thread per request; each round releases them together and waits for all."""

    def __init__(self, scheduler: GpuScheduler, model_id: str, requests: list[Any]) -> None:
        self.results: list[Any] = [None] * len(requests)
        self._go = threading.Barrier(len(requests) + 1)
        self._done = threading.Barrier(len(requests) + 1)
        self._stop = False
        self._threads = [
            threading.Thread(target=self._client, args=(scheduler, model_id, i, r), daemon=True)
            for i, r in enumerate(requests)
        ]
        for thread in self._threads:
            thread.start()

    def _client(self, scheduler: GpuScheduler, model_id: str, i: int, request: Any) -> None:
        while True:
            self._go.wait()
            if self._stop:
                return
            self.results[i] = scheduler.run(model_id, request, timeout=600)
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


def measure(bench: Bench, *, repeats: int, max_wait_ms: float) -> dict[str, Any]:
    """Time one shape's three paths (sequential, hand-batched, scheduler) and compare their results."""
    generator, requests, n = bench.generator, bench.requests, len(bench.requests)
    device = generator.device
    generator.batch(requests[: min(bench.warmup, n)])  # warm up kernels and allocator
    model_id = bench.spec.id
    scheduler = GpuScheduler(
        [bench.spec], budgets={device: 10**12}, loader=lambda s, d: generator, max_wait_ms=max_wait_ms
    )
    clients = _Clients(scheduler, model_id, requests)
    try:
        scheduler.run(model_id, requests[0])  # hands the loaded instance to the scheduler, outside the timing
        timed = {
            **_median_times({"sequential": lambda: [generator(r) for r in requests]}, min(3, repeats)),
            **_median_times({"batched": lambda: generator.batch(requests), "scheduler": clients.round}, repeats),
        }
        metrics = scheduler.metrics()
    finally:
        clients.close()
        scheduler.shutdown()
    (sequential_s, sequential), (batched_s, batched), (scheduler_s, through) = (
        timed[path] for path in ("sequential", "batched", "scheduler")
    )
    sequential_rps, batched_rps, scheduler_rps = n / sequential_s, n / batched_s, n / scheduler_s
    print(f"[{model_id}] sequential: {sequential_rps:8.2f} requests/s  ({sequential_s * 1000:.1f} ms for {n})")
    print(f"[{model_id}] batched:    {batched_rps:8.2f} requests/s  ({batched_s * 1000:.1f} ms, one batch of {n})")
    print(
        f"[{model_id}] scheduler:  {scheduler_rps:8.2f} requests/s  ({scheduler_s * 1000:.1f} ms, {n} client threads)"
    )
    return {
        "requests": n,
        **bench.settings,
        "repeats": repeats,
        "dtype": bench.dtype,
        "results_match_batched": str(all(map(bench.same, batched, through))).lower(),
        "results_match_sequential": str(all(map(bench.same, batched, sequential))).lower(),
        "scheduler_batch_sizes": dict(metrics.batch_sizes),
        "scheduler_p50_latency_ms": round((metrics.latency_p50_s or 0.0) * 1000, 2),
        "sequential_rps": round(sequential_rps, 3),
        "batched_rps": round(batched_rps, 3),
        "scheduler_rps": round(scheduler_rps, 3),
        "scheduler_vs_batched": round(scheduler_rps / batched_rps, 3),
        "scheduler_vs_sequential": round(scheduler_rps / sequential_rps, 3),
    }


def _missing(kind: str) -> str | None:
    needs = ("torch", *NEEDS.get(kind, ("transformers",)))
    absent = [name for name in needs if importlib.util.find_spec(name) is None]
    return f"{', '.join(absent)} not installed" if absent else None


def _run_shape(kind: str, args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Build, measure and free one shape; its ``key: value`` lines (unprefixed)."""
    preset = PRESETS[kind][args.shapes]
    n, repeats = args.requests or preset["requests"], args.repeats or preset["repeats"]
    settings = {k: v for k, v in preset.items() if k not in ("requests", "repeats")}
    overrides = {"new_tokens": args.new_tokens, "steps": args.steps, "size": args.size, "seconds": args.seconds}
    settings.update({k: v for k, v in overrides.items() if v is not None and k in settings})
    start = time.perf_counter()
    bench = BUILDERS[kind](args.shapes, device, n, settings)
    build_s = time.perf_counter() - start
    try:
        return {**measure(bench, repeats=repeats, max_wait_ms=args.max_wait_ms), "build_s": round(build_s, 2)}
    finally:
        bench.generator.close()
        if bench.folder is not None:
            bench.folder.cleanup()
        del bench
        gc.collect()
        if device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", choices=("tiny", "full"), default="tiny", help="tiny (CPU, seconds) or full (GPU)")
    parser.add_argument("--only", default=",".join(KINDS), help=f"comma-separated shapes (default: {','.join(KINDS)})")
    parser.add_argument("--requests", type=int, help="concurrent requests per shape (default: per shape)")
    parser.add_argument("--repeats", type=int, help="timed repeats of the batched and scheduler paths (median)")
    parser.add_argument("--new-tokens", type=int, help="tokens generated per request (lm, whisper)")
    parser.add_argument("--steps", type=int, help="denoising steps (sd15)")
    parser.add_argument("--size", type=int, help="image side in pixels (sd15)")
    parser.add_argument("--seconds", type=float, help="seconds of audio per request (whisper input, musicgen output)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="scheduler batching window")
    parser.add_argument("--device", help="cpu, cuda:0, mps (default: cuda:0 for full shapes when available)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        _parser().error(f"--only takes some of {','.join(KINDS)}; got {args.only!r}")

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    device = args.device or ("cuda:0" if args.shapes == "full" and torch.cuda.is_available() else "cpu")
    _emit({"shapes": args.shapes, "device": device, "torch_threads": torch.get_num_threads()})
    _emit({"max_wait_ms": args.max_wait_ms})
    failed = False
    lm_lines: dict[str, Any] = {}
    for kind in kinds:  # each shape's lines as soon as it is measured: a run cut short keeps what it finished
        why = _missing(kind)
        if why is not None:
            _emit({"skipped": why}, f"{kind}_")
            continue
        try:
            shape_lines = _run_shape(kind, args, device)
        except Exception as exc:
            traceback.print_exc()
            _emit({"error": f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]}, f"{kind}_")
            failed = True
            continue
        _emit(shape_lines, f"{kind}_")
        if kind == "lm":
            lm_lines = shape_lines
    _emit({key: value for key, value in lm_lines.items() if key not in ("dtype", "build_s")})
    return 1 if failed else 0


def _emit(lines: dict[str, Any], prefix: str = "") -> None:
    for key, value in lines.items():
        print(f"{prefix}{key}: {value}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
