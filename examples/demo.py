"""`make demo`: narrate the sample article with the bundled neural voice, offline.

The news-clip pipeline (article -> script -> narration -> visuals -> MP4) is not built
yet; until it is, this demo runs the most complete real generation the SDK has: the
article read by the `en-joe` Piper voice, with per-sentence timings, an SRT subtitle
file and provenance (in the WAV's metadata and a JSON sidecar).

    python examples/demo.py --out out
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from aigc_sdk.registry import ModelRegistry
from aigc_sdk.types import SpeechRequest

HERE = Path(__file__).parent


def srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article", type=Path, default=HERE / "data" / "article_en.md")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args()

    text = args.article.read_text(encoding="utf-8")
    headline = re.sub(r"^#+\s*", "", text.strip().splitlines()[0])
    body = text.strip().split("\n", 1)[1]
    script = f"{headline}.\n\n{body}"

    print("news-clip is not built yet: running the most complete real generation available (neural narration)")
    registry = ModelRegistry()
    spec = registry.resolve("text-to-speech")
    started = time.perf_counter()
    voice = registry.create(spec)
    loaded = time.perf_counter()
    result = voice(SpeechRequest(prompt=script, language="en", seed=0))
    done = time.perf_counter()
    voice.close()

    args.out.mkdir(parents=True, exist_ok=True)
    wav = result.save(args.out / "narration.wav")
    srt = "\n".join(
        f"{i}\n{srt_time(seg.start)} --> {srt_time(seg.end)}\n{seg.text}\n" for i, seg in enumerate(result.segments, 1)
    )
    (args.out / "narration.srt").write_text(srt, encoding="utf-8")
    (args.out / "segments.json").write_text(
        json.dumps([seg.model_dump() for seg in result.segments], indent=2), encoding="utf-8"
    )
    audio_s = result.audio.duration
    synth_s = done - loaded
    print(f"voice: {spec.id} ({spec.license}); load {loaded - started:.2f} s")
    print(f"narration: {audio_s:.1f} s of audio in {synth_s:.2f} s (real-time factor {synth_s / audio_s:.3f})")
    print(f"wrote {wav}, {wav}.provenance.json, {args.out / 'narration.srt'}, {args.out / 'segments.json'}")


if __name__ == "__main__":
    main()
