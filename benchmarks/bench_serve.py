"""`aigc serve` vs one process: N article clips submitted at once to one server vs made one after another.

* ``serve``: a fresh ``aigc serve --concurrency 2`` (fresh data folder) gets all N jobs at once; from the first
  submission to the last job in ``review`` (the server's own timestamp). Meanwhile a client polls
  ``GET /v1/clips/{id}`` (each unfinished job about twice a second) and the server's process tree's RSS is sampled.
* ``sequential``: the same N clips made one after another by ``news_clip()`` in one fresh process, a fresh stage
  cache, each call as a script makes it (``news_clip(config)``: its own Studio, so its models load per clip) —
  the baseline the goal is set against; model loads included on both sides, imports on neither.
* ``shared``: the same, with one Studio passed to every call (models load once): the best a single process does
  without a server, reported as ``serve_vs_shared_studio``.

The jobs are ``examples/data/article_en.md`` with seeds 1..N: the seed is part of every stage's cache key (the
script's options hold it, and each later stage's key covers its inputs), so no job reuses another's stage;
``serve_stages_cached`` counts stages that did anyway (should be 0).

Goal (issue 16, 2 cores, 12 jobs): ``serve_vs_sequential`` ≥ 1.25 (stages of different jobs overlap and models
load once), ``jobs_lost: 0``, ``api_p95_ms`` ≤ 50, ``peak_rss_mb`` ≤ 2000. Also the CPU seconds of each side's
process tree (``serve_cpu_s``, ``sequential_cpu_s``: the process's start and imports included, and for the server
its shutdown) and how busy that kept the cores over the measured wall time (``serve_busy``,
``sequential_busy``): whether a server that is not faster does more work or leaves the cores idle.
Ends with `key: value` lines.

    python benchmarks/bench_serve.py                          # 12 jobs, 20 s clips
    python benchmarks/bench_serve.py --jobs 3 --duration 8    # a short check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ARTICLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "article_en.md"
AIGC = Path(sys.executable).with_name("aigc")
FINAL = {"review", "approved", "rejected", "failed", "cancelled"}

SEQUENTIAL = """
import json, sys, time
from pathlib import Path
from aigc_sdk import Studio
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
article, folder, jobs, duration, aspect, music = sys.argv[1:7]
folder, stages = Path(folder), {}
started = time.perf_counter()
shared = Studio() if sys.argv[7] == "shared" else None
for seed in range(1, int(jobs) + 1):
    config = NewsClipConfig(input=article, output=folder / f"clip-{seed}.mp4", cache_dir=folder / "cache",
                            aspect=aspect, target_seconds=float(duration), music=music == "on", seed=seed)
    clip = news_clip(config, studio=shared)
    for stage, seconds in clip.seconds.items():
        stages[stage] = stages.get(stage, 0.0) + seconds
if shared is not None:
    shared.close()
print(json.dumps({"wall_s": time.perf_counter() - started, "stages": stages}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--duration", type=float, default=20.0, help="Each clip's narration length (s).")
    parser.add_argument("--concurrency", type=int, default=2, help="The server's worker threads.")
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1"])
    parser.add_argument("--music", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--timeout", type=float, default=1800.0, help="Give up on the server's jobs after (s).")
    parser.add_argument("--log", type=Path, help="Keep the server's log here (it goes with its data folder).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        served, serve_cpu = cpu_seconds(run_server, args, Path(tmp) / "serve")
        sequential, sequential_cpu = cpu_seconds(run_sequential, args, Path(tmp) / "sequential", shared=False)
        shared, _ = cpu_seconds(run_sequential, args, Path(tmp) / "shared", shared=True)
    for stage in sorted(set(served["stages"]) | set(sequential["stages"])):
        print(f"stage_{stage}_s: serve {served['stages'].get(stage, 0.0):.2f} "
              f"sequential {sequential['stages'].get(stage, 0.0):.2f}")  # fmt: skip
    print(f"jobs: {args.jobs}")
    print(f"clip_duration_s: {args.duration:g}")
    print(f"concurrency: {args.concurrency}")
    print(f"serve_s: {served['wall_s']:.2f}")
    print(f"sequential_s: {sequential['wall_s']:.2f}")
    print(f"shared_studio_s: {shared['wall_s']:.2f}")
    print(f"serve_vs_sequential: {sequential['wall_s'] / served['wall_s']:.3f}")
    print(f"serve_vs_shared_studio: {shared['wall_s'] / served['wall_s']:.3f}")
    cores = os.cpu_count() or 1
    print(f"serve_cpu_s: {serve_cpu:.1f}")
    print(f"sequential_cpu_s: {sequential_cpu:.1f}")
    print(f"serve_cpu_vs_sequential: {serve_cpu / sequential_cpu:.3f}")
    print(f"serve_busy: {serve_cpu / (served['wall_s'] * cores):.3f}")
    print(f"sequential_busy: {sequential_cpu / (sequential['wall_s'] * cores):.3f}")
    print(f"jobs_lost: {served['lost']}")
    print(f"serve_stages_cached: {served['cached']}")
    print(f"api_requests: {len(served['latencies'])}")
    print(f"api_p50_ms: {percentile(served['latencies'], 50):.1f}")
    print(f"api_p95_ms: {percentile(served['latencies'], 95):.1f}")
    print(f"peak_rss_mb: {served['peak_rss_mb']:.0f}")
    print(f"peak_rss_server_process_mb: {served['peak_rss_server_process_mb']:.0f}")


def cpu_seconds(run: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> tuple[dict[str, Any], float]:
    """``run(*args, **kwargs)`` (which starts a process and waits for it) and the CPU seconds of that process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = run(*args, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return figures, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def run_server(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """The N jobs through one fresh ``aigc serve``: wall seconds, lost jobs, poll latencies, peak RSS."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [str(AIGC), "serve", "--port", str(port), "--data", str(data), "--concurrency", str(args.concurrency),
           "--max-queued", str(max(100, args.jobs))]  # fmt: skip
    data.mkdir(parents=True)
    with (args.log or data.parent / "serve.log").open("wb") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = RssSampler(server.pid)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_ready(http, server)
            sampler.start()
            figures = drive(http, args)
            sampler.stop()
            return figures | {"peak_rss_mb": sampler.peak, "peak_rss_server_process_mb": sampler.peak_root}
    finally:
        sampler.stop()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def wait_ready(http: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("aigc serve did not start (see serve.log)")
        time.sleep(0.1)


def drive(http: httpx.Client, args: argparse.Namespace) -> dict[str, Any]:
    """Submit the N jobs at once, poll them until each is final; the server's figures."""
    article = ARTICLE.read_text()
    options = {"duration": args.duration, "aspect": args.aspect, "music": args.music}
    started = time.time()
    ids = []
    for seed in range(1, args.jobs + 1):
        response = http.post("/v1/clips", json={"article": article, **options, "seed": seed})
        response.raise_for_status()
        ids.append(response.json()["id"])
    views: dict[str, dict[str, Any]] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        pending = [job_id for job_id in ids if views.get(job_id, {}).get("status") not in FINAL]
        if not pending:
            break
        for job_id in pending:
            sent = time.perf_counter()
            response = http.get(f"/v1/clips/{job_id}")
            if any(view.get("status") == "running" for view in views.values()):  # only while jobs render
                latencies.append((time.perf_counter() - sent) * 1000)
            views[job_id] = response.json()
            time.sleep(0.5 / len(pending))  # each unfinished job about twice a second
    done = [view for view in views.values() if view.get("status") == "review"]
    stages: dict[str, float] = {}
    cached = 0
    for view in done:
        for stage, progress in view["progress"].items():
            stages[stage] = stages.get(stage, 0.0) + (progress.get("seconds") or 0.0)
            cached += progress["status"] == "cached"
    last = max((view["updated"] for view in done), default=time.time())
    return {"wall_s": last - started, "lost": args.jobs - len(done), "latencies": latencies, "stages": stages,
            "cached": cached}  # fmt: skip


def run_sequential(args: argparse.Namespace, folder: Path, *, shared: bool) -> dict[str, Any]:
    """The same N clips one after another in one fresh process (one Studio when ``shared``): wall and stage seconds."""
    folder.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", SEQUENTIAL, str(ARTICLE), str(folder), str(args.jobs), str(args.duration),
         args.aspect, "on" if args.music else "off", "shared" if shared else "own"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class RssSampler:
    """The peak RSS (MB) of a process with its descendants, and of the process alone, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_root = pid, 0.0, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            tree, root = tree_rss_mb(self.pid)
            self.peak, self.peak_root = max(self.peak, tree), max(self.peak_root, root)
            self._done.wait(0.2)


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """RSS in MB of ``pid`` with its descendants, and of ``pid`` alone (psutil when installed, else /proc).

    A child whose command line is still its parent's is a fork on its way to ``exec`` (the server starting an
    ffmpeg): it shares its parent's pages, and counting them again reported a server twice its size.
    """
    try:
        import psutil
    except ImportError:
        return _proc_tree_rss_mb(pid)
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    sizes, lines = [], {}
    for process in processes:
        try:
            lines[process.pid] = process.cmdline()
            parent = process.ppid()
            forked = process.pid != pid and lines[process.pid] == lines.get(parent, [])
            sizes.append(0 if forked else process.memory_info().rss)
        except psutil.Error:
            sizes.append(0)  # ended between the listing and the reading
    return sum(sizes) / 2**20, sizes[0] / 2**20


def _proc_tree_rss_mb(pid: int) -> tuple[float, float]:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    lines: dict[int, bytes] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            resident = int((entry / "statm").read_text().split()[1]) * page
            lines[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry.name)] = resident
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    forks = {m for m in tree if m != pid and lines.get(m) == lines.get(parents.get(m, -1))}  # not yet exec'd
    return sum(rss.get(member, 0) for member in tree - forks) / 2**20, rss.get(pid, 0) / 2**20


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


if __name__ == "__main__":
    main()
