"""Video diffusion through the Studio's scheduler against the same pipeline called directly (tiny shapes, CPU).

A tiny random-weight Wan (or LTX-Video) pipeline from ``video_shapes.py`` is saved with ``save_pretrained``.
The same N clips (same prompts, seeds and shapes) are made three ways, after one warm-up each:

* ``pipeline``: ``pipe(...)`` called directly, one clip per call, frames left in memory;
* ``direct``: the same calls plus ``write_mp4`` (so both sides deliver the same file: frames encoded as H.264);
* ``scheduler``: ``Studio.submit`` of every request at once, through the registry, the scheduler's memory
  accounting and the backend (``DiffusersVideoGenerator``), each clip written as MP4 with provenance.

``scheduler_vs_direct`` = direct seconds / scheduler seconds (goal ≥ 0.9); ``scheduler_vs_pipeline`` compares
with the bare pipeline (it pays for the encode the pipeline skips). Output ends with ``key: value`` lines.

    python benchmarks/bench_video.py --kind wan --clips 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # video_shapes
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

from video_shapes import OPTIONS, save_tiny_pipeline, video_spec


def _interleaved(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds per run of each callable, the callables taking turns (so a busy machine slows each alike)."""
    for run in runs.values():
        run()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    """Run the benchmark and print ``key: value`` lines."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(OPTIONS), default="wan")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--batch", type=int, default=3, help="clips per pipeline call, on both sides")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import diffusers
    import torch

    from aigc_sdk.generators.video.diffusers_video import write_mp4
    from aigc_sdk.registry import ModelRegistry
    from aigc_sdk.studio import Studio
    from aigc_sdk.types import VideoGenerationRequest

    torch.set_num_threads(max(1, torch.get_num_threads()))
    options = OPTIONS[args.kind]
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    folder = save_tiny_pipeline(work / "model", args.kind)
    pipe = diffusers.DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    prompts = [f"clip {i}: waves on a pier" for i in range(args.clips)]
    width, height, frames, fps = (int(options[k]) for k in ("width", "height", "frames", "fps"))
    call = {"width": width, "height": height, "num_frames": frames, "num_inference_steps": int(options["steps"]),
            "guidance_scale": float(options["guidance"]), "max_sequence_length": 16, "output_type": "np"}  # fmt: skip

    def pipeline(encode: bool) -> None:
        for start in range(0, len(prompts), args.batch):
            seeds = range(start, min(start + args.batch, len(prompts)))
            generators = [torch.Generator().manual_seed(i) for i in seeds]
            clips = pipe(prompt=[prompts[i] for i in seeds], generator=generators, **call).frames
            for i, clip in zip(seeds, clips, strict=True):
                if encode:
                    write_mp4((clip * 255).round().clip(0, 255).astype("uint8"), work / f"direct{i}.mp4", fps=fps)

    spec = video_spec("bench-video", folder, args.kind).model_copy(
        update={"batchable": args.batch > 1, "max_batch_size": args.batch}
    )
    registry = ModelRegistry([spec], catalogs=False)
    studio = Studio(registry)
    requests = [VideoGenerationRequest(prompt=p, seed=i, output=work / f"sched{i}.mp4") for i, p in enumerate(prompts)]

    def scheduled() -> None:
        futures = [studio.submit(r, model="bench-video") for r in requests]
        for future in futures:
            future.result()

    try:
        runs = {"pipeline": lambda: pipeline(False), "direct": lambda: pipeline(True), "scheduler": scheduled}
        times = _interleaved(runs, args.repeats)
    finally:
        studio.close()
    print(f"kind: {args.kind}")
    print(f"device: cpu ({torch.get_num_threads()} threads)")
    print(f"clip: {frames} frames {width}x{height} at {fps} fps, {options['steps']} steps")
    print(f"clips: {args.clips} (batches of {args.batch}), repeats: {args.repeats}")
    for name, seconds in times.items():
        print(f"{name}_s_per_clip: {statistics.median(seconds) / args.clips:.4f}")
    for name in ("pipeline", "direct"):  # per-repeat ratios: both sides of one ratio ran back to back
        ratios = [a / b for a, b in zip(times[name], times["scheduler"], strict=True)]
        print(f"scheduler_vs_{name}: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
