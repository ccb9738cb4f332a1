"""An article (Markdown) to a vertical news clip with the bundled voice, offline.

python examples/article_to_clip.py [--article examples/data/article_en.md] [--out out/park.mp4] [--seconds 45]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aigc_sdk import Studio
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article", type=Path, default=HERE / "data" / "article_en.md")
    parser.add_argument("--out", type=Path, default=Path("out/park.mp4"))
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args()
    config = NewsClipConfig(input=args.article, output=args.out, aspect="9:16", target_seconds=args.seconds)
    with Studio() as studio:  # one Studio: models stay loaded if you make several clips
        clip = news_clip(config, studio=studio)
    print(f"{clip.video}: {clip.duration:.1f} s (reused stages: {clip.reused or 'none'})")


if __name__ == "__main__":
    main()
