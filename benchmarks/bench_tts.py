"""Text-to-speech speed: the SDK's default voice (en-joe) against raw piper on the same text (goal ≤ 1.2×).

Both speak the same paragraph with the same ONNX voice in the same process; runs alternate
(SDK, raw, SDK, raw, …) after a warm-up so machine noise hits both alike. The SDK's run
includes what it adds: sentence splitting, seeded noise (the patched graph), word timings,
provenance. Ends with `key: value` lines.

    python benchmarks/bench_tts.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

TEXT = (
    "The city council voted seven to two on Tuesday evening to expand Millbrook Riverside Park. "
    "The plan adds a wetland boardwalk, two sports fields and a cycling path that links the park to the "
    "central station. Construction is expected to begin next spring. Supporters said the expansion would "
    "reduce flooding along Carver Street, where basements flooded three times last year. Residents can "
    "comment on the design at public workshops in January and February."
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import numpy as np
    from piper import PiperVoice

    from aigc_sdk.registry import ModelRegistry, resolve_weights

    registry = ModelRegistry()
    spec = registry.get("en-joe")
    model_path = Path(resolve_weights(spec))

    t0 = time.perf_counter()
    sdk_voice = registry.create("en-joe")
    sdk_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw_voice = PiperVoice.load(model_path)
    raw_load = time.perf_counter() - t0

    def sdk() -> float:
        return float(sdk_voice(prompt=TEXT, seed=1).audio.duration)

    def raw() -> float:
        chunks = [c.audio_float_array for c in raw_voice.synthesize(TEXT)]
        return float(np.concatenate(chunks).size / raw_voice.config.sample_rate)

    sdk(), raw()  # warm-up
    sdk_times, raw_times, audio = [], [], 0.0
    for _ in range(args.repeat):
        start = time.perf_counter()
        audio = sdk()
        sdk_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - start)
    sdk_s, raw_s = statistics.median(sdk_times), statistics.median(raw_times)
    print(f"text_chars: {len(TEXT)}")
    print(f"audio_s: {audio:.2f}")
    print(f"sdk_load_s: {sdk_load:.3f}")
    print(f"raw_load_s: {raw_load:.3f}")
    print(f"sdk_synth_s: {sdk_s:.3f}")
    print(f"raw_synth_s: {raw_s:.3f}")
    print(f"sdk_rtf: {sdk_s / audio:.4f}")
    print(f"raw_rtf: {raw_s / audio:.4f}")
    print("sdk_vs_raw_goal: 1.2")
    print(f"sdk_vs_raw: {sdk_s / raw_s:.3f}")


if __name__ == "__main__":
    main()
