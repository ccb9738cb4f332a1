"""End to end: the USGS feed → a news clip (cold: fresh stage cache, fresh process), on this machine.

Goal: a ~60 s clip in ≤ 30 s wall and ≤ 1.5 GB peak RSS on 2 cores. The run happens in a child
process so its peak RSS is measured alone. Ends with `key: value` lines.

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

CHILD = """
import json, sys
from pathlib import Path
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
src, out, cache, aspect = sys.argv[1:5]
clip = news_clip(NewsClipConfig(input=src, output=out, cache_dir=cache, aspect=aspect))
print(json.dumps({"clip_s": clip.duration, "stages": clip.seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default="examples/data/usgs_significant_week.geojson")
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "clip.mp4", Path(tmp) / "cache"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, args.input, str(out), str(cache), args.aspect],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
    report = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for stage, seconds in report["stages"].items():
        print(f"stage_{stage}_s: {seconds:.2f}")
    print(f"clip_s: {report['clip_s']:.2f}")
    print(f"wall_s: {wall:.2f}")
    print(f"peak_rss_mb: {peak_mb:.0f}")
    print(f"wall_vs_clip: {wall / report['clip_s']:.3f}")


if __name__ == "__main__":
    main()
