"""The Studio on a (simulated) Ray cluster: same outputs, multiplexing, typed errors, a replica killed mid-request."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path

import numpy as np
import pytest

from aigc_sdk import Studio
from aigc_sdk.errors import InvalidRequestError, ModelNotAvailableError, OutOfDeviceMemoryError, SchedulerError
from aigc_sdk.registry import LocalSource
from aigc_sdk.runtime import GpuScheduler
from aigc_sdk.runtime.cluster import ClusterMetrics, ClusterScheduler
from aigc_sdk.types import MusicRequest, SpeechRequest
from tests.cluster.conftest import NODES
from tests.support import require_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
LONG = " ".join(
    f"Sentence number {n} of a long bulletin about the river, the bridge and the council." for n in range(16)
)


def test_replicas_one_per_node(cluster_studio: Studio) -> None:
    scheduler = cluster_studio.scheduler
    assert isinstance(scheduler, ClusterScheduler)
    assert [r.name for r in scheduler.replicas] == [f"replica-{i}" for i in range(len(NODES))]
    assert all(r.budget > 0 for r in scheduler.replicas)


def test_ray_listens_on_loopback_only(cluster_studio: Studio) -> None:
    psutil = require_module("psutil")
    ray_pids = {p.pid for p in psutil.Process().children(recursive=True)}
    listening = [c for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN and c.pid in ray_pids]
    assert listening, "found no Ray listener"
    assert all(_loopback(c.laddr.ip) for c in listening), listening


def _loopback(host: str) -> bool:
    address = ipaddress.ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def test_a_studio_takes_a_scheduler_or_a_cluster() -> None:
    with pytest.raises(InvalidRequestError, match="not both"):
        Studio(scheduler=GpuScheduler(), cluster="auto")


def test_same_outputs_local_and_cluster(cluster_studio: Studio, local_studio: Studio) -> None:
    for request in (
        SpeechRequest(prompt="Good evening. Here is the news.", seed=3),
        MusicRequest(prompt="calm", duration=4, seed=2),
    ):
        remote, local = cluster_studio.run(request), local_studio.run(request)
        assert remote.audio.sample_rate == local.audio.sample_rate
        np.testing.assert_array_equal(remote.audio.samples, local.audio.samples)
        assert remote.provenance.model_id == local.provenance.model_id


def test_multiplexing_and_metrics(cluster_studio: Studio) -> None:
    for n in range(3):
        cluster_studio.speech(f"Update {n}.", model="en-joe", seed=n)
    cluster_studio.speech("Hello.", model="espeak-en", seed=1)
    metrics = cluster_studio.scheduler.metrics()
    assert isinstance(metrics, ClusterMetrics)
    holders = {name for name, m in metrics.replicas.items() if "en-joe" in m.loaded}
    assert len(holders) == 1  # every en-joe request went to the replica that loaded it
    (holder,) = holders
    espeak = {name for name, m in metrics.replicas.items() if "espeak-en" in m.loaded}
    assert espeak and holder not in espeak  # the second model went to the replica with the most room
    assert metrics.loaded["en-joe"] == f"{holder}/cpu"
    assert metrics.replicas[holder].batch_sizes and metrics.batches >= 4
    assert metrics.queue_depth.get("en-joe", 0) == 0


def test_a_model_that_fits_nowhere_is_a_typed_error(cluster_studio: Studio) -> None:
    spec = cluster_studio.model_for("text-to-speech", "en-joe")
    huge = spec.model_copy(update={"id": "en-joe-huge", "memory_bytes": 10**15, "default": False})
    cluster_studio.registry.register(huge, exist_ok=True)
    before = cluster_studio.scheduler.metrics().submitted
    with pytest.raises(OutOfDeviceMemoryError, match="largest replica budget"):
        cluster_studio.speech("Hi.", model="en-joe-huge")
    assert cluster_studio.scheduler.metrics().submitted == before  # refused before any replica was asked


def test_missing_weights_cross_ray_as_the_sdk_error(cluster_studio: Studio) -> None:
    spec = cluster_studio.model_for("text-to-speech", "en-joe")
    absent = spec.model_copy(
        update={"id": "en-joe-absent", "source": LocalSource(path="/nonexistent/voice"), "default": False}
    )
    cluster_studio.registry.register(absent, exist_ok=True)
    with pytest.raises(ModelNotAvailableError) as caught:
        cluster_studio.speech("Hi.", model="en-joe-absent")
    assert type(caught.value) is ModelNotAvailableError  # the SDK's own error, not Ray's wrapper
    assert caught.value.hint and "/nonexistent/voice" in str(caught.value)


def test_a_replica_killed_mid_request_is_retried_elsewhere(cluster_studio: Studio, local_studio: Studio) -> None:
    import ray

    scheduler = cluster_studio.scheduler
    assert isinstance(scheduler, ClusterScheduler)
    request = SpeechRequest(prompt=LONG, seed=7)
    expected = local_studio.run(request)
    before = scheduler.metrics()
    future = cluster_studio.submit(request, model="en-joe")
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        for name, m in scheduler.metrics().replicas.items():
            if m.running.get("en-joe"):
                victim = next(r for r in scheduler.replicas if r.name == name)
        time.sleep(0.02)
    assert victim is not None, "the request never started"
    ray.kill(victim.actor, no_restart=False)  # it restarts (fresh state); the request goes to the other one
    result = future.result(timeout=120)
    np.testing.assert_array_equal(result.audio.samples, expected.audio.samples)
    after = scheduler.metrics()
    assert after.retries == before.retries + 1
    survivor = next(name for name in after.replicas if name != victim.name)
    assert after.replicas[survivor].completed == before.replicas[survivor].completed + 1  # once, not twice
    cluster_studio.speech("Back to normal.", model="en-joe", seed=1)  # the cluster still answers


def test_a_news_clip_on_the_cluster_matches_the_local_one(
    cluster_studio: Studio, local_studio: Studio, tmp_path: Path
) -> None:
    from aigc_sdk.pipelines.news_clip import NewsClipConfig, news_clip
    from tests.pipelines.test_demo_hashes import stage_hashes

    hashes = {}
    for name, studio in (("local", local_studio), ("cluster", cluster_studio)):
        config = NewsClipConfig(
            input=EXAMPLES / "article_en.md", output=tmp_path / name / "clip.mp4", cache_dir=tmp_path / name,
            target_seconds=6, music=False,
        )  # fmt: skip
        clip = news_clip(config, studio=studio)
        hashes[name] = stage_hashes(json.loads(clip.manifest.read_text(encoding="utf-8")), clip.video)
    assert hashes["cluster"] == hashes["local"]  # script, narration samples, visuals' pixels, decoded frames


def test_replicas_that_cannot_start_are_a_typed_error(cluster_studio: Studio) -> None:
    with pytest.raises(SchedulerError, match="did not start") as caught:
        ClusterScheduler("auto", backend=GpuScheduler, cpus_per_replica=8, start_timeout=2)  # no node has 8 CPUs
    assert caught.value.retryable and "ray status" in (caught.value.hint or "")
