"""End to end: the USGS feed → a news clip (cold: fresh stage cache, fresh process), on this machine.

Goal: a ~60 s clip in ≤ 30 s wall and ≤ 1.5 GB peak RSS on 2 cores, watermarked frames included (the
default). The same clip is also made without the watermark first, for `watermarked_vs_plain_render`.
Each run happens in a child process so its peak RSS is measured alone. Ends with `key: value` lines.

    python benchmarks/bench_news_clip.py [--input examples/data/usgs_significant_week.geojson] [--aspect 16:9]
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
src, out, cache, aspect, watermark = sys.argv[1:6]
clip = news_clip(NewsClipConfig(input=src, output=out, cache_dir=cache, aspect=aspect, watermark=watermark == "on"))
print(json.dumps({"clip_s": clip.duration, "stages": clip.seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="examples/data/usgs_significant_week.geojson")
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, _ = run(args, Path(tmp) / "plain", watermark=False)  # the same clip without the mark
        peak_plain_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report, wall = run(args, Path(tmp) / "default", watermark=True)
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, peak_plain_mb)
    for stage, seconds in report["stages"].items():
        print(f"stage_{stage}_s: {seconds:.2f}")
    print(f"clip_s: {report['clip_s']:.2f}")
    print(f"wall_s: {wall:.2f}")
    print(f"peak_rss_mb: {peak_mb:.0f}")
    print(f"wall_vs_clip: {wall / report['clip_s']:.3f}")
    print(f"watermarked_vs_plain_render: {report['stages']['render'] / plain['stages']['render']:.3f}")


def run(args: argparse.Namespace, folder: Path, *, watermark: bool) -> tuple[dict[str, Any], float]:
    """One cold run in a fresh process and cache: its report and wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args.input, str(folder / "clip.mp4"), str(folder / "cache"), args.aspect,
         "on" if watermark else "off"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


if __name__ == "__main__":
    main()
