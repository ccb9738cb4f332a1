"""End to end: the USGS feed → a news clip (cold: fresh stage cache, fresh process), on this machine.

Goal: a ~60 s clip in ≤ 15 s wall and ≤ 1.0 GB peak RSS on 2 cores, watermarked frames included (the
default). The same clip is also made without the watermark first, for `watermarked_vs_plain_render`, and
in three aspects from one job (16:9, 9:16, 1:1: one script, narration and music, three layouts and
renders), for `three_aspects_vs_one` (goal ≤ 1.8). Each run happens in a child process so its peak RSS
is measured alone. The machine's speed drifts, so the ratio compares runs made side by side: the one-aspect
and three-aspect jobs alternate ``--repeat`` times (default 2) and each side's fastest run counts (as
``timeit`` does); every run's time is printed too (``one_aspect_runs_s``, ``three_aspects_runs_s``), and so is
the CPU time each run spent, its ffmpeg processes included (``one_aspect_cpu_s``, ``three_aspects_cpu_s``;
``three_aspects_cpu_vs_one``: how much more work three aspects are, which the cores' drift moves less).

Two more measurements of the same run:

* ``render_ssim_vs_slow`` (goal ≥ 0.97): the clip's frames against a reference render of the very same
  render request at x264 ``preset=slow`` and the old 1.5x prescale (ffmpeg's ``ssim`` filter, all planes);
* ``floor_s`` (``floor_voice_s`` + ``floor_render_s``): the work no pipeline can skip, measured on its own —
  the voice loading and speaking the clip's narration, and one hand-written ffmpeg command rendering
  the same stills with the same moves at ``veryfast`` (no subtitles, mark or sound); ``wall_vs_floor``
  (goal ≤ 1.5) is the clip's wall time over it.

Ends with `key: value` lines.

    python benchmarks/bench_news_clip.py [--input examples/data/usgs_significant_week.geojson] [--aspect 16:9]
        [--aspects 16:9,9:16,1:1] [--duration 60] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_render's direct ffmpeg command

from bench_render import direct_command

from aigc_sdk._internal.ffmpeg import require_ffmpeg
from aigc_sdk.generators.video.slideshow import DEFAULT_PRESCALE
from aigc_sdk.types import Motion

CHILD = """
import json, sys
from pathlib import Path
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
src, out, cache, aspect, watermark, duration = sys.argv[1:7]
config = NewsClipConfig(input=src, output=out, cache_dir=cache, aspect=aspect, watermark=watermark == "on",
                        target_seconds=float(duration))
clip = news_clip(config)
print(json.dumps({"clip_s": clip.duration, "stages": clip.seconds}))
"""


REFERENCE = """
import json, sys
from aigc_sdk.generators.video.slideshow import SlideshowVideoGenerator
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import VideoRequest
made, out = sys.argv[1:3]
request = json.loads(open(made, encoding="utf-8").read())["request"]
request["encoding"] = {**request["encoding"], "preset": "slow", "output": out}
spec = ModelRegistry().get("slideshow")
SlideshowVideoGenerator(spec.model_copy(update={"options": {**spec.options, "prescale": 1.5}}))(
    VideoRequest.model_validate(request))
"""

VOICE = """
import json, sys, time
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.registry.loader import load
narration = json.loads(open(sys.argv[1], encoding="utf-8").read())["ingredients"]["narration"]
start = time.perf_counter()
voice = load(ModelRegistry().get(narration["model_id"]))
voice(prompt=narration["request"]["prompt"], seed=narration["request"]["seed"])
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="examples/data/usgs_significant_week.geojson")
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1", "4:5"])
    parser.add_argument("--aspects", default="16:9,9:16,1:1", help="The several-aspect job (the first is --aspect's).")
    parser.add_argument("--duration", type=float, default=60.0, help="Target narration seconds.")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each job for three_aspects_vs_one.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, _, _ = run(args, Path(tmp) / "plain", args.aspect, watermark=False)  # the same clip without the mark
        peak_plain_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report, wall, cpu = run(args, Path(tmp) / "default", args.aspect, watermark=True)
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, peak_plain_mb)
        several, wall_several, cpu_several = run(args, Path(tmp) / "aspects", args.aspects, watermark=True)
        ones, threes = [(wall, cpu)], [(wall_several, cpu_several)]
        for again in range(1, args.repeat):  # alternating, so both sides meet the same drift
            ones.append(run(args, Path(tmp) / f"default-{again}", args.aspect, watermark=True)[1:])
            threes.append(run(args, Path(tmp) / f"aspects-{again}", args.aspects, watermark=True)[1:])
        clip = Path(tmp) / "default" / "clip.mp4"
        ssim = reference_ssim(clip, Path(tmp) / "reference.mp4")
        voice_s, render_s = floor(clip, Path(tmp) / "floor.mp4")
    for stage, seconds in report["stages"].items():
        print(f"stage_{stage}_s: {seconds:.2f}")
    print(f"clip_s: {report['clip_s']:.2f}")
    print(f"wall_s: {wall:.2f}")
    print(f"peak_rss_mb: {peak_mb:.0f}")
    print(f"wall_vs_clip: {wall / report['clip_s']:.3f}")
    print(f"watermarked_vs_plain_render: {report['stages']['render'] / plain['stages']['render']:.3f}")
    print(f"render_ssim_vs_slow: {ssim:.4f}")
    print(f"floor_voice_s: {voice_s:.2f}")
    print(f"floor_render_s: {render_s:.2f}")
    print(f"floor_s: {voice_s + render_s:.2f}")
    print(f"wall_vs_floor: {wall / (voice_s + render_s):.3f}")
    for stage, seconds in several["stages"].items():
        print(f"aspects_stage_{stage.replace(' ', '_').replace(':', 'x')}_s: {seconds:.2f}")
    print(f"aspects_wall_s: {wall_several:.2f}")
    print(f"one_aspect_runs_s: {' '.join(f'{w:.2f}' for w, _ in ones)}")
    print(f"three_aspects_runs_s: {' '.join(f'{w:.2f}' for w, _ in threes)}")
    print(f"one_aspect_cpu_s: {' '.join(f'{c:.1f}' for _, c in ones)}")
    print(f"three_aspects_cpu_s: {' '.join(f'{c:.1f}' for _, c in threes)}")
    print(f"three_aspects_cpu_vs_one: {min(c for _, c in threes) / min(c for _, c in ones):.3f}")
    print(f"three_aspects_vs_one: {min(w for w, _ in threes) / min(w for w, _ in ones):.3f}")


def run(args: argparse.Namespace, folder: Path, aspect: str, *, watermark: bool) -> tuple[dict[str, Any], float, float]:
    """One cold run in a fresh process and cache: its report, wall seconds and CPU seconds (its ffmpeg children too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args.input, str(folder / "clip.mp4"), str(folder / "cache"), aspect,
         "on" if watermark else "off", str(args.duration)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return json.loads(done.stdout.strip().splitlines()[-1]), wall, cpu


def reference_ssim(clip: Path, reference: Path) -> float:
    """SSIM (all planes) of the clip's frames against the same render request at ``preset=slow``, prescale 1.5."""
    made = clip.with_name(clip.name + ".provenance.json")
    subprocess.run([sys.executable, "-c", REFERENCE, str(made), str(reference)], check=True, capture_output=True)
    ffmpeg = require_ffmpeg().path
    done = subprocess.run([ffmpeg, "-hide_banner", "-i", str(clip), "-i", str(reference), "-lavfi", "[0:v][1:v]ssim",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)  # fmt: skip
    found = re.search(r"All:([0-9.]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"ffmpeg printed no SSIM: {done.stderr[-400:]}")
    return float(found.group(1))


def floor(clip: Path, out: Path) -> tuple[float, float]:
    """Seconds of the work no pipeline can skip: the voice alone (a fresh process), one direct ffmpeg render."""
    manifest = clip.with_suffix(".manifest.json")
    voice = subprocess.run([sys.executable, "-c", VOICE, str(manifest)], capture_output=True, text=True, check=True)
    request = json.loads(clip.with_name(clip.name + ".provenance.json").read_text(encoding="utf-8"))["request"]
    command = direct_command(
        [Path(p) for p in request["images"]],
        request["durations"],
        [Motion.model_validate(m) for m in request["motions"]],
        out,
        prescale=DEFAULT_PRESCALE,
        size=(request["width"], request["height"]),
        fps=request["fps"],
        fade=request["transition_duration"],
    )
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return float(voice.stdout.strip().splitlines()[-1]), time.perf_counter() - started


if __name__ == "__main__":
    main()
