"""News-clip jobs on a Ray cluster: 1 worker node with 1 CPU vs 2 worker nodes with 1 CPU each, on this machine.

Each size runs in a child process of its own: a simulated cluster (``ray.cluster_utils.Cluster``: a head without
CPUs, then ``N`` nodes of 1 CPU, all on loopback), a ``Studio(cluster="auto")`` on it (one replica per node, holding
half its node's CPU; the other half runs one job task at a time), and ``--jobs`` news-clip jobs submitted at once
from threads, as ``aigc serve --concurrency`` does, each with its own stage cache (cold). Each job runs as a Ray
task on a worker node (its cards, timeline and publishing there), and its model requests (script writer, voice,
music, render) go to the replica on its node: the driver only waits. A first round of as many jobs runs untimed,
so the replicas have loaded their models and the job workers have imported the SDK (a service's steady state;
``loads_while_timed_2`` shows what was still loaded in the timed round). Each 1-CPU node is pinned to a core of
its own (its raylet and the workers it starts; ``--no-pin``: not), so one node really has one core; the head, the
driver and Ray's own services are not pinned.
Goal: ``replicas2_vs_1`` >= 1.6 and ``jobs_lost: 0``.

Ends with `key: value` lines (``replicas1_s``, ``replicas2_s``, ``replicas2_vs_1``, ``jobs_lost``).

    python benchmarks/bench_distributed.py [--jobs 6] [--duration 8] [--input examples/data/article_en.md] [--no-pin]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, os, shutil, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from aigc_sdk.runtime.cluster import loopback_env
for name, value in loopback_env().items():
    os.environ.setdefault(name, value)
nodes, jobs, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
src, work, pin = sys.argv[4], Path(sys.argv[5]), sys.argv[6] == "1"
os.environ["RAY_TMPDIR"] = f"/tmp/rb-{os.getpid()}"
import ray
from ray.cluster_utils import Cluster
from aigc_sdk import Studio
from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                       "object_store_memory": 128 * 2**20})
import psutil
for n in range(nodes):
    node = cluster.add_node(num_cpus=1, object_store_memory=96 * 2**20)
    if pin:  # a 1-CPU node gets one core: its raylet and every worker it starts later (they inherit it)
        raylet = psutil.Process(node.all_processes["raylet"][0].process.pid)
        for process in [raylet, *raylet.children(recursive=True)]:
            process.cpu_affinity([n % os.cpu_count()])
ray.init(address=cluster.address, log_to_driver=False)
def job(i):
    config = NewsClipConfig(input=src, output=work / f"clip{i}.mp4", cache_dir=work / f"cache{i}",
                            target_seconds=duration, music=True)
    try:
        return news_clip(config, studio=studio).duration > 0 and (work / f"clip{i}.mp4").is_file()
    except Exception as exc:
        print(f"job {i} failed: {exc!r}", file=sys.stderr)
        return False
try:
    with Studio(cluster="auto") as studio:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(job, range(jobs, 2 * jobs)))  # warm: a first round loads the replicas' models (not timed)
            warm = studio.scheduler.metrics()
            start = time.perf_counter()
            done = list(pool.map(job, range(jobs)))
        wall = time.perf_counter() - start
        metrics = studio.scheduler.metrics()
    print(json.dumps({"wall_s": wall, "lost": done.count(False), "retries": metrics.retries,
                      "per_replica": {name: m.completed for name, m in metrics.replicas.items()},
                      "loads_timed": {n: m.loads - warm.replicas[n].loads for n, m in metrics.replicas.items()},
                      "p50_s": {name: m.latency_p50_s for name, m in metrics.replicas.items()}}))
finally:
    ray.shutdown()
    cluster.shutdown()
    shutil.rmtree(os.environ["RAY_TMPDIR"], ignore_errors=True)
"""


def run_size(nodes: int, jobs: int, duration: float, src: str, pin: bool) -> dict[str, float]:
    """Run the jobs on a fresh simulated cluster of ``nodes`` 1-CPU workers, in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as work:
        cmd = [sys.executable, "-c", CHILD, str(nodes), str(jobs), str(duration), src, work, str(int(pin))]
        done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=1800)
    if done.returncode != 0:
        sys.exit(f"{nodes} node(s) failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--duration", type=float, default=8.0, help="Target seconds per clip.")
    parser.add_argument("--input", default=str(Path(__file__).resolve().parents[1] / "examples/data/article_en.md"))
    parser.add_argument(
        "--no-pin", action="store_true", help="Let each node's processes use every core (a 1-CPU node then uses more)."
    )
    args = parser.parse_args()
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    one = run_size(1, args.jobs, args.duration, args.input, pin)
    two = run_size(2, args.jobs, args.duration, args.input, pin)
    print(f"jobs: {args.jobs}")
    print(f"pinned: {pin}")
    print(f"replicas1_s: {one['wall_s']:.2f}")
    print(f"replicas2_s: {two['wall_s']:.2f}")
    print(f"replicas2_vs_1: {one['wall_s'] / two['wall_s']:.2f}")
    print(f"requests_per_replica_2: {two['per_replica']}")
    print(f"loads_while_timed_2: {two['loads_timed']}")
    print(f"latency_p50_s_1: {one['p50_s']}")
    print(f"latency_p50_s_2: {two['p50_s']}")
    print(f"jobs_lost: {int(one['lost'] + two['lost'])}")


if __name__ == "__main__":
    main()
