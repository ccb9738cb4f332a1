"""End to end: the USGS feed → a news clip (cold: fresh stage cache, fresh process), on this machine.

Goal: a ~60 s clip in ≤ 30 s wall and ≤ 1.5 GB peak RSS on 2 cores, watermarked frames included (the
default). The same clip is also made without the watermark first, for `watermarked_vs_plain_render`, and
in three aspects from one job (16:9, 9:16, 1:1: one script, narration and music, three layouts and
renders), for `three_aspects_vs_one` (goal ≤ 1.8). Each run happens in a child process so its peak RSS
is measured alone. Ends with `key: value` lines.

    python benchmarks/bench_news_clip.py [--input examples/data/usgs_significant_week.geojson] [--aspect 16:9]
        [--aspects 16:9,9:16,1:1] [--duration 60]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="examples/data/usgs_significant_week.geojson")
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1", "4:5"])
    parser.add_argument("--aspects", default="16:9,9:16,1:1", help="The several-aspect job (the first is --aspect's).")
    parser.add_argument("--duration", type=float, default=60.0, help="Target narration seconds.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, _ = run(args, Path(tmp) / "plain", args.aspect, watermark=False)  # the same clip without the mark
        peak_plain_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report, wall = run(args, Path(tmp) / "default", args.aspect, watermark=True)
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, peak_plain_mb)
        several, wall_several = run(args, Path(tmp) / "aspects", args.aspects, watermark=True)
    for stage, seconds in report["stages"].items():
        print(f"stage_{stage}_s: {seconds:.2f}")
    print(f"clip_s: {report['clip_s']:.2f}")
    print(f"wall_s: {wall:.2f}")
    print(f"peak_rss_mb: {peak_mb:.0f}")
    print(f"wall_vs_clip: {wall / report['clip_s']:.3f}")
    print(f"watermarked_vs_plain_render: {report['stages']['render'] / plain['stages']['render']:.3f}")
    for stage, seconds in several["stages"].items():
        print(f"aspects_stage_{stage.replace(' ', '_').replace(':', 'x')}_s: {seconds:.2f}")
    print(f"aspects_wall_s: {wall_several:.2f}")
    print(f"three_aspects_vs_one: {wall_several / wall:.3f}")


def run(args: argparse.Namespace, folder: Path, aspect: str, *, watermark: bool) -> tuple[dict[str, Any], float]:
    """One cold run in a fresh process and cache: its report and wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args.input, str(folder / "clip.mp4"), str(folder / "cache"), aspect,
         "on" if watermark else "off", str(args.duration)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


if __name__ == "__main__":
    main()
