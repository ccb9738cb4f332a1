"""A Quakebot-style clip from the USGS significant-earthquakes feed, offline.

python examples/news_clip_from_feed.py [--feed examples/data/usgs_significant_week.geojson] [--out out/quake.mp4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", type=Path, default=HERE / "data" / "usgs_significant_week.geojson")
    parser.add_argument("--out", type=Path, default=Path("out/quake.mp4"))
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1"])
    args = parser.parse_args()
    config = NewsClipConfig(input=args.feed, output=args.out, template="usgs-earthquakes", aspect=args.aspect)
    clip = news_clip(config, on_event=lambda e: print(f"{e.step:<10} {e.status}") if e.status != "progress" else None)
    print(f"{clip.video}: {clip.duration:.1f} s; subtitles {clip.srt}; manifest {clip.manifest}")


if __name__ == "__main__":
    main()
