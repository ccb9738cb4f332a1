"""`aigc serve`'s API for real: a short article clip through the app (httpx via Starlette's TestClient)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk import Studio
from aigc_sdk.media import Video
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("piper", reason="needs the voice extra")

from fastapi.testclient import TestClient  # noqa: E402

from aigc_sdk.server import JobStore, create_app  # noqa: E402

ARTICLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "article_en.md"
OPTIONS: dict[str, Any] = {"aspect": "1:1", "duration": 10, "music": False}


@pytest.fixture(scope="module")
def studio() -> Iterator[Studio]:
    with Studio() as shared:
        yield shared


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def client(studio: Studio, data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data, studio=studio, concurrency=1, outbox=data / "outbox")) as running:
        yield running


@pytest.fixture
def queue_only(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose jobs queue up and never run, with a key and room for two queued jobs."""
    app = create_app(tmp_path, concurrency=0, api_keys=("s3cret", "other"), max_queued=2, retry_after=7)
    with TestClient(app, headers={"Authorization": "Bearer s3cret"}) as running:
        yield running


def _events(client: TestClient, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    events, kind = [], ""
    with client.stream("GET", f"/v1/clips/{job_id}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
    return events


def _wait(client: TestClient, job_id: str, states: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/clips/{job_id}").json()
        if job["status"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")


def _wait_published(client: TestClient, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publication = client.get(f"/v1/clips/{job_id}").json()["publication"]
        if publication and publication["status"] != "pending":
            return dict(publication)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} was never published")


def _submit(client: TestClient, **options: Any) -> dict[str, Any]:
    response = client.post("/v1/clips", json={"article": ARTICLE.read_text(), **OPTIONS, **options})
    assert response.status_code == 202, response.text
    return response.json()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["hint"], error
    return error


def test_submit_events_review_download_approve(client: TestClient, data: Path) -> None:
    job = _submit(client)
    assert job["status"] == "queued" and job["position"] == 1 and "article" not in job["options"]
    events = _events(client, job["id"])
    stages = [(e["step"], e["status"]) for kind, e in events if kind == "stage"]
    for step in ("script", "narration", "visuals", "music", "render"):
        assert (step, "started") in stages and (step, "done") in stages
    statuses = [e["status"] for kind, e in events if kind == "status"]
    assert statuses == ["queued", "running", "review"]  # the stream ends with the final status
    done = client.get(f"/v1/clips/{job['id']}").json()
    assert done["status"] == "review" and done["error"] is None
    assert {"clip.mp4", "clip.srt", "clip.vtt"} <= set(done["files"])
    assert all(done["progress"][step]["status"] == "done" for step in ("script", "render"))
    assert client.get("/v1/clips", params={"status": "review"}).json()[0]["id"] == job["id"]
    # the MP4, whole and by byte range (a browser seeking)
    whole = client.get(f"/v1/clips/{job['id']}/files/clip.mp4")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = client.get(f"/v1/clips/{job['id']}/files/clip.mp4", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == whole.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    saved = data / "download.mp4"
    saved.write_bytes(whole.content)
    assert Video.load(saved).info.duration > 3
    assert client.get(f"/v1/clips/{job['id']}/files/clip.vtt").headers["content-type"].startswith("text/vtt")
    # the review gate: approval publishes the files to the outbox, in one rename
    approved = client.post(f"/v1/clips/{job['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    published = _wait_published(client, job["id"])
    assert published["status"] == "published" and published["outbox"] is True
    outbox = data / "outbox" / job["id"]
    assert sorted(p.name for p in outbox.iterdir()) == sorted(done["files"])
    assert (outbox / "clip.mp4").read_bytes() == whole.content
    assert [p.name for p in (data / "outbox").iterdir()] == [job["id"]]
    # the stage durations and the shared Studio's model loads, on /metrics
    metrics = client.get("/metrics").text
    assert 'aigc_stage_duration_seconds_count{step="render"}' in metrics
    assert "aigc_model_loads_total 0.0" not in metrics and 'aigc_jobs{state="approved"} 1.0' in metrics
    _error(client.post(f"/v1/clips/{job['id']}/reject", json={"reason": "late"}), 409, "JobStateError")
    _error(client.delete(f"/v1/clips/{job['id']}"), 409, "JobStateError")


def test_downloads_serve_only_the_jobs_own_files(client: TestClient) -> None:
    job = next(j for j in client.get("/v1/clips").json() if j["files"])
    base = f"/v1/clips/{job['id']}/files"
    for name in (
        "..%2Fjobs.sqlite",
        "..%2F..%2Fjobs.sqlite",
        "%2e%2e%2f%2e%2e%2fjobs.sqlite",
        "..%252F..%252Fjobs.sqlite",
        "..%5C..%5Cjobs.sqlite",
        "article.md",
        ".clip.mp4",
        "%2Fetc%2Fpasswd",
        "%2F%2Fetc%2Fpasswd",
        "C:%5Cwindows%5Cwin.ini",
        "clip.mp4%00",
        "clip.mp4%2F..%2F..%2Fjobs.sqlite",
    ):
        response = client.get(f"{base}/{name}")
        assert response.status_code == 404, (name, response.status_code)
        assert response.json()["error"]["code"] in ("JobNotFoundError", "NotFound")
    assert client.get(f"{base}/../../jobs.sqlite").status_code == 404
    assert client.get(f"/v1/clips/{job['id']}/files/%2Fetc/passwd").status_code == 404
    assert client.get("/v1/clips/..%2F..%2Fjobs.sqlite/files/clip.mp4").status_code == 404
    _error(client.get("/v1/clips/nope/files/clip.mp4"), 404, "JobNotFoundError")


def test_cancel_a_running_job(client: TestClient) -> None:
    job = _submit(client, seed=7)  # another seed: nothing cached, so it runs long enough to cancel
    _wait(client, job["id"], {"running"})
    assert client.delete(f"/v1/clips/{job['id']}").status_code == 202
    cancelled = _wait(client, job["id"], {"cancelled", "review"})
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"]["code"] == "PipelineCancelledError"
    assert _events(client, job["id"])[-1][1]["status"] == "cancelled"


def test_shutdown_puts_a_running_job_back_in_the_queue(studio: Studio, data: Path, tmp_path: Path) -> None:
    (tmp_path / "cache").symlink_to(data / "cache")
    with TestClient(create_app(tmp_path, studio=studio, concurrency=1)) as server:
        job = _submit(server, seed=8)
        _wait(server, job["id"], {"running"})
    # the lifespan's shutdown cancelled it at a checkpoint and re-queued it: the next start runs it again
    with JobStore(tmp_path / "jobs.sqlite") as store:
        stopped = store.get(job["id"])
        assert stopped.status == "queued" and stopped.files == []
        assert [e.status for e in store.events(job["id"]) if e.step is None][-2:] == ["running", "queued"]


def test_restart_requeues_a_job_left_running(studio: Studio, client: TestClient, data: Path, tmp_path: Path) -> None:
    (tmp_path / "cache").symlink_to(data / "cache")  # the stages finished before the "crash"
    with JobStore(tmp_path / "jobs.sqlite") as store:
        job, _ = store.create({"article": ARTICLE.read_text(), **OPTIONS})
        assert store.claim_next() is not None  # a worker took it, then the server was killed
    with TestClient(create_app(tmp_path, studio=studio, concurrency=1)) as restarted:
        events = _events(restarted, job.id)
        done = restarted.get(f"/v1/clips/{job.id}").json()
    assert done["status"] == "review" and "clip.mp4" in done["files"]
    statuses = [(e["status"], e.get("message", "")) for kind, e in events if kind == "status"]
    assert ("queued", "requeued after a restart") in statuses
    assert [s for s, _ in statuses].count("review") == 1  # it ran to completion once
    assert all(e["status"] == "cached" for kind, e in events if kind == "stage" and e["step"] == "script")


def test_idempotency_key_returns_the_same_job(queue_only: TestClient) -> None:
    body = {"article": "A new park opened in the city centre on Monday.", "seed": 3}
    first = queue_only.post("/v1/clips", json=body, headers={"Idempotency-Key": "order-42"})
    again = queue_only.post("/v1/clips", json=body, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert len(queue_only.get("/v1/clips").json()) == 1


def test_a_full_queue_answers_429_with_retry_after(queue_only: TestClient) -> None:
    body = {"article": "Text."}
    first = queue_only.post("/v1/clips", json=body, headers={"Idempotency-Key": "k"}).json()
    second = queue_only.post("/v1/clips", json=body).json()
    assert second["position"] == 2
    full = queue_only.post("/v1/clips", json=body)
    _error(full, 429, "QueueFullError")
    assert full.headers["retry-after"] == "7"
    # a retry of a job already made is answered even when the queue is full
    replay = queue_only.post("/v1/clips", json=body, headers={"Idempotency-Key": "k"})
    assert replay.status_code == 202 and replay.json()["id"] == first["id"]
    # cancelling a queued job makes room
    cancelled = queue_only.delete(f"/v1/clips/{first['id']}")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert queue_only.post("/v1/clips", json=body).status_code == 202
    assert {j["status"] for j in queue_only.get("/v1/clips", params={"status": "queued"}).json()} == {"queued"}


def test_api_keys_are_required(queue_only: TestClient) -> None:
    bare = {"Authorization": ""}
    _error(queue_only.get("/v1/clips", headers=bare), 401, "AuthError")
    _error(queue_only.get("/v1/clips", headers={"Authorization": "Bearer wrong"}), 401, "AuthError")
    _error(queue_only.get("/v1/clips", headers={"Authorization": "", "X-API-Key": "s3cre"}), 401, "AuthError")
    assert queue_only.get("/v1/clips", headers={"Authorization": "", "X-API-Key": "other"}).status_code == 200
    assert queue_only.get("/healthz", headers=bare).json() == {"status": "ok"}
    assert queue_only.get("/readyz", headers=bare).json()["status"] == "ready"


def test_bad_requests_get_typed_json_errors(queue_only: TestClient) -> None:
    _error(queue_only.get("/v1/clips/0123"), 404, "JobNotFoundError")
    _error(queue_only.post("/v1/clips/0123/approve"), 404, "JobNotFoundError")
    _error(queue_only.post("/v1/clips", json={"article": ""}), 422, "InvalidRequestError")
    _error(queue_only.post("/v1/clips", json={"article": "x", "aspect": "4:3"}), 422, "InvalidRequestError")
    _error(queue_only.post("/v1/clips", json={"article": "x", "duration": 1}), 422, "InvalidRequestError")
    _error(queue_only.post("/v1/clips", json={"article": "x", "output": "/etc/x.mp4"}), 422, "InvalidRequestError")
    _error(queue_only.post("/v1/clips", content=b"{not json", headers={"content-type": "application/json"}),
           422, "InvalidRequestError")  # fmt: skip
    _error(queue_only.get("/v1/clips", params={"status": "done"}), 422, "InvalidRequestError")
    _error(queue_only.get("/v1/nothing"), 404, "NotFound")
    _error(queue_only.put("/v1/clips"), 405, "MethodNotAllowed")
    job = queue_only.post("/v1/clips", json={"article": "x"}).json()
    _error(queue_only.post(f"/v1/clips/{job['id']}/approve"), 409, "JobStateError")
    assert "/v1/clips" in queue_only.get("/openapi.json").json()["paths"]


def test_files_are_served_with_their_media_types(queue_only: TestClient, tmp_path: Path) -> None:
    store = queue_only.app.state.store  # type: ignore[attr-defined]
    job, _ = store.create({"article": "x"})
    store.claim_next()
    files = {"clip.jpg": b"\xff\xd8\xff\xe0poster", "clip.srt": b"1\n", "clip.manifest.json": b"{}"}
    for name, content in files.items():
        (tmp_path / "jobs" / job.id).mkdir(parents=True, exist_ok=True)
        (tmp_path / "jobs" / job.id / name).write_bytes(content)
    store.transition(job.id, "review", allowed=["running"], files=list(files))
    types = {name: queue_only.get(f"/v1/clips/{job.id}/files/{name}").headers["content-type"] for name in files}
    assert types["clip.jpg"] == "image/jpeg" and types["clip.manifest.json"] == "application/json"
    assert types["clip.srt"].startswith("application/x-subrip")
    assert queue_only.get(f"/v1/clips/{job.id}/files/clip.jpg").content == files["clip.jpg"]
