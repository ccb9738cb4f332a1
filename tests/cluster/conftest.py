"""One simulated Ray cluster per test session: a head without CPUs and two 1-CPU nodes, on loopback only.

Each node has a model folder of its own (its ``HF_HUB_CACHE``, empty at the start: the bundled models come
from installed packages), so a test can put a model's weights on one node and not the other.

Ray's facts on this machine (docs/cluster.md): the loopback variables are set before ``import ray``; the temp
folder is short (``/tmp/rt-<pid>``: Ray's socket paths must stay under 107 bytes); Ray's child processes are
recorded and any survivor is killed at the end, and the temp folder removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk import Studio
from aigc_sdk.runtime.cluster import loopback_env
from tests.support import require_module

NODES = ("node_a", "node_b")  # one replica each


def node_models(name: str) -> Path:
    """The hub cache of the simulated node ``name`` (under the session's Ray temp folder)."""
    return Path(f"/tmp/rt-{os.getpid()}") / "models" / name


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A head (no CPUs, no dashboard) plus one 1-CPU node per name in NODES, this process connected to it."""
    for name, value in loopback_env().items():
        os.environ.setdefault(name, value)
    temp = f"/tmp/rt-{os.getpid()}"
    os.environ["RAY_TMPDIR"] = temp
    ray = require_module("ray", "the distributed extra (ray) is not installed")
    psutil = require_module("psutil")
    from ray.cluster_utils import Cluster

    head = {"num_cpus": 0, "include_dashboard": False, "object_store_memory": 128 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for name in NODES:
        node_models(name).mkdir(parents=True, exist_ok=True)
        env = {"HF_HUB_CACHE": str(node_models(name))}
        cluster.add_node(num_cpus=1, resources={name: 1}, object_store_memory=96 * 2**20, env_vars=env)
    ray.init(address=cluster.address, log_to_driver=False)
    children = psutil.Process().children(recursive=True)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for child in children + psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGKILL)  # agents that outlive the cluster ignore SIGTERM
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_studio(ray_cluster: Any) -> Iterator[Studio]:
    """A Studio on the simulated cluster (one replica per node, all its CPUs); a module's tests share it."""
    with Studio(cluster="auto") as studio:
        yield studio


@pytest.fixture(scope="session")
def local_studio() -> Iterator[Studio]:
    """The same SDK in this process, for comparisons."""
    with Studio(cluster="local") as studio:
        yield studio
