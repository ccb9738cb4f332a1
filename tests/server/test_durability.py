"""`aigc serve` survives its process: SIGKILL mid-render then a restart, SIGTERM, and stale workers.

The crash and shutdown tests run the real command (uvicorn on 127.0.0.1, in a session of its own so the
kill reaches its ffmpeg too) over one data folder, and poll the API the way a client does: every ``files``
list seen must name only finished files, and each job must reach ``review`` exactly once. The shutdown
test's clip differs from the crash test's only in its aspect, so after it the script and narration come
from the shared stage cache (it passes alone too, making them itself).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk._internal.probe import probe_media
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("piper", reason="needs the voice extra")
av = require_module("av", reason="decodes the published MP4")

import httpx  # noqa: E402

from aigc_sdk.server.store import JobStateError, JobStore, StageProgress  # noqa: E402
from aigc_sdk.server.worker import JobRunner  # noqa: E402

pytestmark = pytest.mark.slow

AIGC = Path(sys.executable).with_name("aigc")
ARTICLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "article_en.md"
OPTIONS: dict[str, Any] = {"aspect": "1:1", "duration": 8, "music": False}
PUBLISHED = {"clip.mp4", "clip.srt", "clip.vtt", "clip.jpg", "clip.manifest.json"}
BEFORE_RENDER = ("script", "narration", "visuals", "music")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A real ``aigc serve`` subprocess over ``data``, with its log beside the data folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.log = data.with_name(f"{data.name}.{time.monotonic_ns()}.log")
        cmd = [str(AIGC), "serve", "--port", self.base.rsplit(":", 1)[1], "--data", str(data), "--concurrency", "1"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.http = httpx.Client(base_url=self.base, timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """SIGKILL the server's whole session (its ffmpeg children too), as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.http.close()

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM (a graceful shutdown); the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        self.http.close()
        return time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.http.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("durable") / "data"


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts, killed at its end whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def _check_listed(data: Path, job: dict[str, Any]) -> None:
    """A job lists files only in review, and each listed name is a finished file of its folder."""
    if not job["files"]:
        return
    assert job["status"] in ("review", "approved", "rejected"), job
    assert set(job["files"]) <= PUBLISHED, job["files"]
    for name in job["files"]:
        assert (data / "jobs" / job["id"] / name).is_file(), name


def _poll(
    server: Server, job_id: str, until: Callable[[dict[str, Any]], bool], seen: list[dict[str, Any]], timeout: float
) -> dict[str, Any]:
    """Poll the job as a client would, every view kept in ``seen``, until ``until`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = server.http.get(f"/v1/clips/{job_id}").json()
        seen.append(job)
        _check_listed(server.data, job)
        if until(job):
            return job
        assert job["status"] in ("queued", "running"), job
        assert time.monotonic() < deadline and server.process.poll() is None, (job, server.output())
        time.sleep(0.05)


def _submit(server: Server, **options: Any) -> str:
    response = server.http.post("/v1/clips", json={"article": ARTICLE.read_text(), **OPTIONS, **options})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _in_review(job: dict[str, Any]) -> bool:
    return bool(job["status"] == "review")


def _check_published(data: Path, job: dict[str, Any]) -> dict[str, Any]:
    """The clip decodes frame by frame and lasts what its manifest says; returns the manifest."""
    folder = data / "jobs" / job["id"]
    assert set(job["files"]) == PUBLISHED
    manifest: dict[str, Any] = json.loads((folder / "clip.manifest.json").read_text())
    render = next(step for step in manifest["steps"] if step["name"] == "render")
    planned = render["output"]["timeline"]["duration"]
    assert abs(probe_media(folder / "clip.mp4", need="video").duration - planned) < 0.25
    with av.open(str(folder / "clip.mp4")) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames / 25 - planned) < 0.25  # every frame of it decodes (the news clip renders at 25 fps)
    assert "-->" in (folder / "clip.srt").read_text() and (folder / "clip.vtt").read_text().startswith("WEBVTT")
    return manifest


def _statuses(server: Server, job_id: str) -> list[str]:
    with server.http.stream("GET", f"/v1/clips/{job_id}/events") as stream:  # ends once the job is in review
        events = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
    return [event["status"] for event in events if event.get("step") is None]


def test_a_job_killed_mid_render_resumes_from_its_cache_and_completes_once(data: Path, servers: list[Server]) -> None:
    servers.append(first := Server(data))
    job_id = _submit(first)
    seen: list[dict[str, Any]] = []
    rendering = _poll(
        first, job_id, lambda job: job["progress"].get("render", {}).get("status") == "started", seen, timeout=120
    )
    first.kill()
    # killed mid-render: nothing listed, and the job folder holds its article and nothing under a published name
    # (an interrupted atomic write leaves only a hidden temporary file, which is never listed)
    folder = data / "jobs" / job_id
    assert rendering["status"] == "running" and rendering["files"] == []
    assert {path.name for path in folder.iterdir() if not path.name.startswith(".")} == {"article.md"}
    done_before = {step for step in BEFORE_RENDER if rendering["progress"].get(step, {}).get("status") == "done"}
    assert done_before, rendering["progress"]

    servers.append(second := Server(data))
    job = _poll(second, job_id, _in_review, seen, timeout=120)
    manifest = _check_published(data, job)
    # stages finished before the kill come from the stage cache; the render ran again from the start
    cached = {step["name"] for step in manifest["steps"] if step["cached"]}
    assert done_before <= cached and "render" not in cached, manifest["steps"]
    assert {step: job["progress"][step]["status"] for step in done_before} == dict.fromkeys(done_before, "cached")
    # claimed twice (the kill, the restart), completed once: no duplicate transition
    assert _statuses(second, job_id) == ["queued", "running", "queued", "running", "review"]
    assert all(not view["files"] or view["status"] == "review" for view in seen)
    assert second.http.get(f"/v1/clips/{job_id}/files/clip.mp4").content == (folder / "clip.mp4").read_bytes()


def test_sigterm_requeues_or_finishes_the_running_job_and_a_restart_completes_it(
    data: Path, servers: list[Server]
) -> None:
    servers.append(first := Server(data))
    job_id = _submit(first, aspect="9:16")
    seen: list[dict[str, Any]] = []
    _poll(first, job_id, lambda job: job["progress"].get("visuals", {}).get("status") == "started", seen, 120)
    seconds = first.terminate()
    assert first.process.returncode is not None and seconds < 45  # the workers' stop is bounded (30 s)
    assert "Application shutdown complete" in first.output(), first.output()
    with JobStore(data / "jobs.sqlite") as store:
        left = store.get(job_id)
    assert left.status in ("queued", "review"), left  # never left running
    assert left.attempt == 1

    servers.append(second := Server(data))
    job = _poll(second, job_id, _in_review, seen, timeout=120)
    _check_published(data, job)
    statuses = _statuses(second, job_id)
    assert statuses.count("review") == 1 and statuses[-1] == "review", statuses
    if left.status == "queued":  # re-queued by the shutdown: resumed, its finished stages reused
        assert statuses == ["queued", "running", "queued", "running", "review"]
        assert job["progress"]["script"]["status"] == "cached"


def test_a_stale_claim_cannot_record_or_complete_a_job(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.sqlite") as store:
        job, _ = store.create({"article": "x"})
        stale = store.claim_next()
        assert stale is not None and stale.attempt == 1
        assert store.requeue_running() == 1  # as a restart does
        fresh = store.claim_next()
        assert fresh is not None and fresh.attempt == 2
        assert not store.record(job.id, "script", StageProgress(status="started"), claim=stale.attempt)
        with pytest.raises(JobStateError, match="claimed again"):
            store.transition(job.id, "review", allowed=["running"], claim=stale.attempt, files=["clip.mp4"])
        assert store.record(job.id, "script", StageProgress(status="started"), claim=fresh.attempt)
        assert store.transition(job.id, "review", allowed=["running"], claim=fresh.attempt).status == "review"
        assert [event.status for event in store.events(job.id) if event.step is None].count("review") == 1


def test_a_stop_that_times_out_requeues_the_job_and_its_worker_never_moves_it(
    data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aigc_sdk.server.worker")
    store = JobStore(tmp_path / "jobs.sqlite")
    runner = JobRunner(data, store, concurrency=1)  # the servers' stage cache: their script and narration
    job, _ = store.create({"article": ARTICLE.read_text(), **OPTIONS, "aspect": "16:9"})
    others = set(threading.enumerate())
    runner.start()
    (worker,) = [thread for thread in threading.enumerate() if thread not in others and "worker" in thread.name]
    deadline = time.monotonic() + 60
    while not any(stage.status == "started" for stage in store.get(job.id).progress.values()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    runner.stop(timeout=0)  # a stage is still running: the job goes back to the queue at once
    assert store.get(job.id).status == "queued"
    worker.join(60)  # the worker stops at its next checkpoint, and may neither record nor move the job
    assert not worker.is_alive()
    after = store.get(job.id)
    assert after.status == "queued" and after.attempt == 1
    assert [event.status for event in store.events(job.id) if event.step is None] == ["queued", "running", "queued"]
    assert "re-queued" in caplog.text and "not moved to queued" in caplog.text  # by the stop, not by its worker
    runner.studio.close()  # the stop left it open while the worker still ran
    store.close()


def test_a_store_made_before_claims_is_upgraded_in_place(tmp_path: Path) -> None:
    """A jobs.sqlite from the first server release (no ``attempt`` column) opens, keeps its jobs, and claims them."""
    import sqlite3

    from aigc_sdk.server.store import JobStore

    path = tmp_path / "jobs.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, options TEXT NOT NULL, idempotency_key TEXT "
        "UNIQUE, created REAL NOT NULL, updated REAL NOT NULL, progress TEXT NOT NULL DEFAULT '{}', error TEXT, "
        "files TEXT NOT NULL DEFAULT '[]', reason TEXT);"
        "INSERT INTO jobs (id, status, options, created, updated) VALUES ('old', 'queued', '{}', 1.0, 1.0);"
    )
    old.commit()
    old.close()
    store = JobStore(path)
    assert store.get("old").attempt == 0
    claimed = store.claim_next()
    assert claimed is not None and claimed.id == "old" and claimed.attempt == 1
    store.close()
