"""Where a news clip's time goes: per stage, CPU-busy vs waiting, per kind of process (cold cache, this process).

One clip is made with ``news_clip()`` in this (fresh) process while a sampler reads, every 50 ms, the CPU
time of each thread of this process and of each child process. The timeline is cut at every stage event
into phases; for each phase it prints which stages ran, its wall seconds and the CPU seconds spent in it by

* ``python``: the interpreter's threads (the stages' Python code and the C code it calls: numpy, Pillow,
  onnxruntime's calling thread, the frame relay and the watermark);
* ``native``: threads that are not Python's (onnxruntime's intra-op pool: the voice);
* ``ffmpeg``: the ffmpeg child processes (the frame producer and the encoder of the render);

and ``busy`` = CPU seconds / (wall seconds x cores): 1.0 means every core worked the whole phase; the rest
of the phase the cores waited (on a pipe, a lock, the disk). Ends with ``key: value`` lines.

    python benchmarks/profile_news_clip.py [--input examples/data/usgs_significant_week.geojson] [--duration 60]
        [--aspect 16:9,9:16,1:1]

For the Python side function by function, run the same clip under py-spy (``pip install py-spy``):
``py-spy record --rate 100 --format speedscope -o clip.speedscope.json -- python benchmarks/profile_news_clip.py``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # aigc_sdk when not installed

KINDS = ("python", "native", "ffmpeg")


@dataclass
class Sampler:
    """CPU seconds so far per kind (python threads, other threads, children), sampled on a timeline."""

    interval: float = 0.05
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _python: set[int] = field(default_factory=set)
    _threads: dict[int, float] = field(default_factory=dict)
    _children: dict[int, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        """Each thread's and child's last CPU reading, summed by kind (those that ended keep their last one)."""
        me = psutil.Process()
        self._python.update(t.native_id for t in threading.enumerate() if t.native_id is not None)
        for thread in me.threads():
            self._threads[thread.id] = thread.user_time + thread.system_time
        for child in me.children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            self._children[child.pid] = times.user + times.system
        python = sum(cpu for tid, cpu in self._threads.items() if tid in self._python)
        native = sum(cpu for tid, cpu in self._threads.items() if tid not in self._python)
        return {"python": python, "native": native, "ffmpeg": sum(self._children.values())}

    def run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.read()))
            self._stop.wait(self.interval)
        self.samples.append((time.perf_counter(), self.read()))

    def stop(self) -> None:
        self._stop.set()

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds per kind spent between two instants (the nearest samples)."""

        def at(t: float) -> dict[str, float]:
            return min(self.samples, key=lambda s: abs(s[0] - t))[1]

        a, b = at(start), at(end)
        return {kind: max(0.0, b[kind] - a[kind]) for kind in KINDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="examples/data/usgs_significant_week.geojson")
    parser.add_argument("--duration", type=float, default=60.0, help="Target narration seconds.")
    parser.add_argument("--aspect", default="16:9", help="One aspect, or several from one job: 16:9,9:16,1:1.")
    args = parser.parse_args()
    started = time.perf_counter()
    sampler = Sampler()
    thread = threading.Thread(target=sampler.run, name="profile-sampler", daemon=True)
    thread.start()
    from aigc_sdk.pipelines.base import PipelineEvent
    from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip

    events: list[tuple[float, str, str]] = [(started, "import", "started")]

    def on_event(event: PipelineEvent) -> None:
        if event.status in ("started", "done", "cached", "failed"):
            events.append((time.perf_counter(), event.step, event.status))

    with tempfile.TemporaryDirectory() as tmp:
        events.append((time.perf_counter(), "import", "done"))
        config = NewsClipConfig(input=args.input, output=Path(tmp) / "clip.mp4", cache_dir=Path(tmp) / "cache",
                                target_seconds=args.duration, aspect=args.aspect)  # fmt: skip
        clip = news_clip(config, on_event=on_event)
        events.append((time.perf_counter(), "publish", "done"))
    sampler.stop()
    thread.join()
    report(events, sampler, started, clip.duration)


def report(events: list[tuple[float, str, str]], sampler: Sampler, started: float, clip_s: float) -> None:
    cores = os.cpu_count() or 1
    running: set[str] = set()
    totals = dict.fromkeys(KINDS, 0.0)
    print(f"{'from_s':>7} {'to_s':>7} {'wall_s':>7}  {'running':<26}" + "".join(f"{k:>8}" for k in KINDS) + "    busy")
    for (t0, step, status), (t1, _, _) in itertools.pairwise(events):
        if status == "started":
            running.add(step)
        elif step in running:
            running.discard(step)
        if t1 - t0 < 0.005:
            continue
        cpu = sampler.between(t0, t1)
        for kind in KINDS:
            totals[kind] += cpu[kind]
        label = ", ".join(sorted(running)) or ("publish" if step in ("render", "publish") else "(between stages)")
        busy = sum(cpu.values()) / ((t1 - t0) * cores)
        print(f"{t0 - started:7.2f} {t1 - started:7.2f} {t1 - t0:7.2f}  {label:<26}"
              + "".join(f"{cpu[k]:8.2f}" for k in KINDS) + f"  {busy:6.2f}")  # fmt: skip
    wall = events[-1][0] - started
    print(f"wall_s: {wall:.2f}")
    print(f"clip_s: {clip_s:.2f}")
    for kind in KINDS:
        print(f"{kind}_cpu_s: {totals[kind]:.2f}")
    print(f"cores: {cores}")
    print(f"busy_share: {sum(totals.values()) / (wall * cores):.3f}")


if __name__ == "__main__":
    main()
