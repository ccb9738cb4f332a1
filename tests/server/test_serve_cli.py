"""`aigc serve` as a command: the bind check, and a real uvicorn answering on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import require_module

require_module("fastapi", reason="needs the server extra")

AIGC = Path(sys.executable).with_name("aigc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_public_bind_without_api_keys_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIGC_API_KEYS"}
    result = subprocess.run(
        [str(AIGC), "serve", "--host", "0.0.0.0", "--data", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2
    assert "without an API key" in result.stderr and "AIGC_API_KEYS" in result.stderr
    assert not (tmp_path / "jobs.sqlite").exists()  # refused before any work


def test_bad_keys_files_and_webhooks_are_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIGC_API_KEYS"}
    empty = tmp_path / "keys"
    empty.write_text("# no key yet\n\n")
    for extra, says in (
        (["--keys-file", str(empty)], "holds no key"),
        (["--keys-file", str(tmp_path / "missing")], "cannot read the keys file"),
        (["--webhook", "file:///etc/passwd"], "not an http(s) URL"),
    ):
        cmd = [str(AIGC), "serve", "--data", str(tmp_path / "data"), *extra]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert result.returncode == 2 and says in result.stderr, (extra, result.stderr)
    assert not (tmp_path / "data").exists()


def test_serve_answers_on_loopback_with_keys(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "AIGC_API_KEYS": "k1"}
    keys = tmp_path / "keys.txt"
    keys.write_text("# the desk\nk2\n")
    cmd = [str(AIGC), "serve", "--port", str(port), "--data", str(tmp_path), "--concurrency", "0",
           "--keys-file", str(keys), "--max-upload-mb", "0.01", "--outbox", str(tmp_path / "outbox")]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "aigc serve did not start"
                time.sleep(0.2)
        assert httpx.get(f"{base}/v1/clips").status_code == 401
        created = httpx.post(f"{base}/v1/clips", json={"article": "A park opened."}, headers={"X-API-Key": "k2"})
        assert created.status_code == 202 and created.json()["position"] == 1
        assert (tmp_path / "jobs.sqlite").is_file()
        # a multipart upload, and one over the cap (10 KiB), through a real uvicorn
        auth = {"Authorization": "Bearer k1"}
        files = {"file": ("../story.md", b"A park opened in the city centre on Monday.")}
        uploaded = httpx.post(f"{base}/v1/clips", files=files, data={"aspect": "1:1"}, headers=auth)
        assert uploaded.status_code == 202 and uploaded.json()["options"]["input"] == "input.md"
        big = {"file": ("big.md", b"A park opened. " * 1000)}
        refused = httpx.post(f"{base}/v1/clips", files=big, headers=auth)
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "RequestTooLargeError"
        assert "aigc_queue_depth 2.0" in httpx.get(f"{base}/metrics", headers=auth).text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    # uvicorn shuts down gracefully (the lifespan stops the workers), then re-raises SIGTERM
    assert "Application shutdown complete" in stderr.decode(), stderr.decode()[-2000:]
