"""`aigc serve --cluster ADDRESS`: the service's shared Studio runs its models on the cluster's replicas."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import require_module

httpx = require_module("httpx", reason="needs the client extra")
require_module("fastapi", reason="needs the server extra")

AIGC = Path(sys.executable).with_name("aigc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_the_cluster(ray_cluster: Any, tmp_path: Path) -> None:
    port = _free_port()
    cmd = [str(AIGC), "serve", "--port", str(port), "--data", str(tmp_path), "--concurrency", "0",
           "--cluster", ray_cluster.address]  # fmt: skip
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                alive = server.poll() is None and time.monotonic() < deadline
                assert alive, (tmp_path / "serve.log").read_text(errors="replace")[-2000:]
                time.sleep(0.2)
        made = httpx.post(f"{base}/v1/speech", json={"prompt": "Good evening.", "seed": 1}, timeout=60)
        assert made.status_code == 201, made.text
        metrics = httpx.get(f"{base}/metrics").text
        assert 'aigc_replica_model_loaded{model="en-joe",replica="replica-' in metrics
        assert "aigc_replica_batches_total" in metrics
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_bad_cluster_address_fails_at_start(tmp_path: Path) -> None:
    cmd = [str(AIGC), "serve", "--data", str(tmp_path), "--cluster", ""]
    result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert result.returncode != 0 and "cluster address is empty" in result.stderr


def test_aigc_cluster_variable_picks_the_cluster(ray_cluster: Any, monkeypatch: Any) -> None:
    from aigc_sdk import Studio
    from aigc_sdk.runtime.cluster import ClusterScheduler

    monkeypatch.setenv("AIGC_CLUSTER", ray_cluster.address)
    with Studio() as studio:
        assert isinstance(studio.scheduler, ClusterScheduler)
        assert studio.speech("One.", model="espeak-en", seed=1).audio.duration > 0
    monkeypatch.setenv("AIGC_CLUSTER", "local")
    with Studio() as studio:
        assert not isinstance(studio.scheduler, ClusterScheduler)
