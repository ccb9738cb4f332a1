"""Publishing on approval: the outbox copy (one rename), webhook notices with retries, durable across restarts.

Jobs are put in review through the store (their files written as a worker would), so no clip
is made here; the end-to-end approve → outbox of a real clip is in test_app.py. Webhooks go to
a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import require_module

require_module("fastapi", reason="needs the server extra")

from fastapi.testclient import TestClient  # noqa: E402

from aigc_sdk.errors import InvalidRequestError  # noqa: E402
from aigc_sdk.server import JobStore, create_app  # noqa: E402

FILES = {
    "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40,
    "clip.srt": b"1\n00:00:00,000 --> 00:00:02,000\nA park opened.\n",
    "clip.manifest.json": json.dumps(
        {"name": "news-clip", "sdk_version": "0", "credentials": False, "licenses": [], "steps": [1, 2]}
    ).encode(),
}


class Hook:
    """A webhook receiver on 127.0.0.1: answers ``fail`` 503s, then 200s; records every POST."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 503 if hook.fail > 0 else 200
                hook.fail -= 1
                hook.received.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aigc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook(fail=2)
    yield receiver
    receiver.close()


def _in_review(store: JobStore, data: Path) -> str:
    """A job a worker made: its files written in its folder, then moved to review with their names."""
    job, _ = store.create({"article": "A park opened.", "aspect": "1:1"})
    assert store.claim_next() is not None
    folder = data / "jobs" / job.id
    folder.mkdir(parents=True)
    for name, content in FILES.items():
        (folder / name).write_bytes(content)
    store.transition(job.id, "review", allowed=["running"], files=list(FILES))
    return job.id


def _until(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_approval_publishes_to_the_outbox_and_the_webhook(tmp_path: Path, hook: Hook) -> None:
    data, outbox = tmp_path / "data", tmp_path / "outbox"
    app = create_app(data, concurrency=0, outbox=outbox, webhooks=[hook.url], webhook_backoff=0.05)
    with TestClient(app) as client:
        job_id = _in_review(app.state.store, data)
        approved = client.post(f"/v1/clips/{job_id}/approve")
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        view = _until(lambda: (v := client.get(f"/v1/clips/{job_id}").json())["publication"]["deliveries"][0][
            "status"] == "delivered" and v)  # fmt: skip
        assert client.post(f"/v1/clips/{job_id}/approve").status_code == 409  # published once
    publication = view["publication"]
    assert publication["status"] == "published" and publication["outbox"] is True
    delivery = publication["deliveries"][0]
    assert delivery == {**delivery, "url": hook.url, "attempts": 3, "last_error": None}
    # the outbox: exactly the job's files, byte for byte; no staging folder left
    assert sorted(p.name for p in outbox.iterdir()) == [job_id]
    assert {p.name: p.read_bytes() for p in (outbox / job_id).iterdir()} == FILES
    # the webhook: two 503s, then the notice; the same notice each time
    assert [status for status, _, _ in hook.received] == [503, 503, 200]
    _, headers, notice = hook.received[-1]
    assert all(body == notice for _, _, body in hook.received)
    assert headers["Idempotency-Key"] == job_id and headers["User-Agent"].startswith("aigc-serve/")
    assert notice["event"] == "clip.approved" and notice["id"] == job_id and notice["outbox"] == job_id
    assert notice["approved"].endswith("+00:00") and notice["options"] == {"aspect": "1:1"}
    assert {f["name"]: f["sha256"] for f in notice["files"]} == {
        name: hashlib.sha256(content).hexdigest() for name, content in FILES.items()
    }
    assert notice["manifest"] == {"name": "news-clip", "sdk_version": "0", "credentials": False, "licenses": []}


def test_pending_deliveries_resume_after_a_restart(tmp_path: Path) -> None:
    data, outbox = tmp_path / "data", tmp_path / "outbox"
    receiver = Hook(fail=10**6)  # down for now
    try:
        options: dict[str, Any] = {"outbox": outbox, "webhooks": [receiver.url], "webhook_backoff": 0.05}
        app = create_app(data, concurrency=0, webhook_attempts=100, **options)
        with TestClient(app) as client:
            job_id = _in_review(app.state.store, data)
            client.post(f"/v1/clips/{job_id}/approve")
            _until(lambda: len(receiver.received) >= 2)
        inode = (outbox / job_id / "clip.mp4").stat().st_ino
        with JobStore(data / "jobs.sqlite") as store:
            stopped = store.publication(job_id)
            assert stopped is not None and stopped.deliveries[0].status == "pending"
        receiver.fail = 0  # back up: the restarted server delivers what was pending
        with TestClient(create_app(data, concurrency=0, **options)) as client:
            _until(lambda: client.get(f"/v1/clips/{job_id}").json()["publication"]["deliveries"][0]["status"]
                   == "delivered")  # fmt: skip
    finally:
        receiver.close()
    assert [status for status, _, _ in receiver.received].count(200) == 1
    assert (outbox / job_id / "clip.mp4").stat().st_ino == inode  # not copied again


def test_a_restart_keeps_an_outbox_folder_already_renamed_and_drops_staging(tmp_path: Path) -> None:
    data, outbox = tmp_path / "data", tmp_path / "outbox"
    with JobStore(data / "jobs.sqlite") as store:
        job_id = _in_review(store, data)
        store.approve(job_id, outbox=True)  # approved, then killed before the publisher ran
    (outbox / job_id).mkdir(parents=True)  # ... or killed after the rename, before the record
    (outbox / job_id / "clip.mp4").write_bytes(FILES["clip.mp4"])
    staging = outbox / f".{job_id[:24]}.k3jd9x_q"  # a copy killed half-way
    staging.mkdir()
    (staging / "clip.mp4").write_bytes(b"half")
    with TestClient(create_app(data, concurrency=0, outbox=outbox)) as client:
        view = _until(lambda: (v := client.get(f"/v1/clips/{job_id}").json())["publication"]["status"]
                      == "published" and v)  # fmt: skip
    assert view["publication"]["deliveries"] == []
    assert sorted(p.name for p in outbox.iterdir()) == [job_id]
    assert [p.name for p in (outbox / job_id).iterdir()] == ["clip.mp4"]  # kept as it was, not published twice


def test_deliveries_go_only_to_configured_urls(tmp_path: Path, hook: Hook) -> None:
    data = tmp_path / "data"
    with JobStore(data / "jobs.sqlite") as store:
        job_id = _in_review(store, data)
        store.approve(job_id, webhooks=[hook.url])  # the server then restarts without this webhook …
    with TestClient(create_app(data, concurrency=0, outbox=tmp_path / "outbox")) as client:
        view = _until(lambda: (v := client.get(f"/v1/clips/{job_id}").json())["publication"]["deliveries"][0][
            "status"] == "failed" and v)  # fmt: skip
    assert "no longer configured" in view["publication"]["deliveries"][0]["last_error"]
    assert hook.received == []
    for bad in ("file:///etc/passwd", "ftp://host/x", "http:///path", "localhost:8000"):
        with pytest.raises(InvalidRequestError, match="not an http"):
            create_app(data, concurrency=0, webhooks=[bad])


def test_a_webhook_that_never_answers_well_fails_after_its_attempts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    receiver = Hook(fail=10**6)
    try:
        app = create_app(data, concurrency=0, webhooks=[receiver.url], webhook_attempts=3, webhook_backoff=0.02)
        with TestClient(app) as client:
            job_id = _in_review(app.state.store, data)
            client.post(f"/v1/clips/{job_id}/approve")
            view = _until(lambda: (v := client.get(f"/v1/clips/{job_id}").json())["publication"]["deliveries"][0][
                "status"] == "failed" and v)  # fmt: skip
    finally:
        receiver.close()
    delivery = view["publication"]["deliveries"][0]
    assert delivery["attempts"] == 3 and delivery["last_error"] == "HTTP 503" and len(receiver.received) == 3
    assert view["publication"]["outbox"] is False and view["publication"]["status"] == "published"


def test_reject_and_unconfigured_servers_publish_nothing(tmp_path: Path) -> None:
    data, outbox = tmp_path / "data", tmp_path / "outbox"
    app = create_app(data, concurrency=0, outbox=outbox)
    with TestClient(app) as client:
        rejected = _in_review(app.state.store, data)
        assert client.post(f"/v1/clips/{rejected}/reject", json={"reason": "wrong figures"}).status_code == 200
        assert client.get(f"/v1/clips/{rejected}").json()["publication"] is None
    assert list(outbox.iterdir()) == []
    plain = create_app(tmp_path / "plain", concurrency=0)
    with TestClient(plain) as client:
        job_id = _in_review(plain.state.store, tmp_path / "plain")
        assert client.post(f"/v1/clips/{job_id}/approve").json()["publication"] is None


def test_an_app_started_again_serves_and_publishes(tmp_path: Path, hook: Hook) -> None:
    data = tmp_path / "data"
    app = create_app(data, concurrency=0, webhooks=[hook.url], webhook_backoff=0.02)
    with TestClient(app) as client:
        first = client.post("/v1/clips", json={"article": "A park opened."}).json()
    with TestClient(app) as client:  # the same app's lifespan again (schemathesis runs it once per operation)
        assert client.get(f"/v1/clips/{first['id']}").json()["status"] == "queued"
        assert client.delete(f"/v1/clips/{first['id']}").json()["status"] == "cancelled"
        job_id = _in_review(app.state.store, data)
        client.post(f"/v1/clips/{job_id}/approve")
        _until(lambda: client.get(f"/v1/clips/{job_id}").json()["publication"]["deliveries"][0]["status"]
               == "delivered")  # fmt: skip
