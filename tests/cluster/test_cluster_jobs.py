"""Jobs on the (simulated) Ray cluster: a job's worker killed mid-job resumes from its stage cache; a node without
a model's weights answers the fetch command and another node serves the request."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk import Studio
from aigc_sdk.errors import ModelNotAvailableError
from aigc_sdk.pipelines.remote import runs_on_cluster
from aigc_sdk.registry import HubSource
from aigc_sdk.runtime.cluster import ClusterScheduler
from tests.cluster.conftest import node_models
from tests.support import require_module

ARTICLE = (Path(__file__).resolve().parents[2] / "examples" / "data" / "article_en.md").read_text(encoding="utf-8")
JOB_TITLE = "ray::aigc-news-clip-job"  # the process title of a worker running a job's task


def _job_workers() -> list[Any]:
    psutil = require_module("psutil")
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].startswith(JOB_TITLE):
            found.append(process)
    return found


def test_a_worker_killed_mid_job_resumes_from_its_stage_cache(cluster_studio: Studio, tmp_path: Path) -> None:
    require_module("fastapi", reason="needs the server extra")
    from aigc_sdk.server.store import JobStore
    from aigc_sdk.server.worker import JobRunner

    assert runs_on_cluster(cluster_studio)
    store = JobStore(tmp_path / "jobs.sqlite")
    runner = JobRunner(tmp_path, store, studio=cluster_studio, concurrency=1)
    runner.start()
    try:
        job, _ = store.create({"article": ARTICLE, "duration": 6, "music": False, "seed": 5})
        runner.wake()
        deadline = time.monotonic() + 120
        while not any(e.step == "render" and e.status == "started" for e in store.events(job.id)):
            assert time.monotonic() < deadline and store.get(job.id).status in ("queued", "running"), store.get(job.id)
            time.sleep(0.05)
        (worker,) = _job_workers()  # the job's pipeline runs in a Ray worker, not in this process
        worker.send_signal(signal.SIGKILL)
        while store.get(job.id).status == "running":
            assert time.monotonic() < deadline + 120, "the job did not finish after its worker died"
            time.sleep(0.1)
        done = store.get(job.id)
        assert done.status == "review", done.error
    finally:
        runner.stop()
    events = store.events(job.id)
    statuses = [e.status for e in events if e.step is None]
    assert statuses == ["queued", "running", "review"]  # once: no second run, no failure recorded
    by_step = {step: [e.status for e in events if e.step == step] for step in ("script", "narration", "render")}
    assert by_step["script"] == ["started", "done", "cached"]  # made once, then found in the stage cache
    assert by_step["narration"] == ["started", "done", "cached"]
    assert Counter(by_step["render"]) == Counter({"started": 2, "done": 1})  # made again: it was the one killed
    assert done.progress["script"].status == "cached" and done.progress["render"].status == "done"
    folder = tmp_path / "jobs" / job.id
    assert (folder / "clip.mp4").stat().st_size > 0 and "clip.mp4" in done.files
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no half-published file


def test_a_node_without_the_weights_answers_the_fetch_command(cluster_studio: Studio) -> None:
    scheduler = cluster_studio.scheduler
    assert isinstance(scheduler, ClusterScheduler)
    joe = cluster_studio.model_for("text-to-speech", "en-joe")
    revision = "a1" * 20
    source = HubSource(repo="aigc-tests/joe-voice", revision=revision, include=("*.onnx", "*.json"))
    hub = joe.model_copy(update={"id": "en-joe-hub", "source": source, "default": False})
    cluster_studio.registry.register(hub, exist_ok=True)
    before = scheduler.metrics().missing_weights

    with pytest.raises(ModelNotAvailableError) as caught:  # on no node: every replica says so, none downloads
        cluster_studio.speech("Hi.", model="en-joe-hub", seed=1)
    assert type(caught.value) is ModelNotAvailableError
    fetch = f"hf download aigc-tests/joe-voice --revision {revision} --include '*.onnx' --include '*.json'"
    assert caught.value.hint == fetch
    assert scheduler.metrics().missing_weights == before + 2

    # the weights on node_a only: whichever replica is asked first, node_a's answers
    snapshot = node_models("node_a") / "models--aigc-tests--joe-voice" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    weights = Path(str(joe.source.locate()))  # type: ignore[union-attr]
    for name in (weights.name, f"{weights.name}.json"):
        (snapshot / name).symlink_to(weights.with_name(name))
    result = cluster_studio.speech("Hi.", model="en-joe-hub", seed=1)
    assert result.audio.duration > 0
    metrics = scheduler.metrics()
    holder = metrics.loaded["en-joe-hub"].split("/")[0]
    (node_a,) = [n["NodeID"] for n in _ray_nodes() if "node_a" in n["Resources"]]
    assert next(r for r in scheduler.replicas if r.name == holder).node == node_a
    assert metrics.missing_weights in (before + 2, before + 3)  # node_b may have been asked once more


def _ray_nodes() -> list[dict[str, Any]]:
    import ray

    return [n for n in ray.nodes() if n.get("Alive")]
