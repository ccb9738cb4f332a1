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


def test_serve_answers_on_loopback_with_keys(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "AIGC_API_KEYS": "k1,k2"}
    cmd = [str(AIGC), "serve", "--port", str(port), "--data", str(tmp_path), "--concurrency", "0"]
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
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    # uvicorn shuts down gracefully (the lifespan stops the workers), then re-raises SIGTERM
    assert "Application shutdown complete" in stderr.decode(), stderr.decode()[-2000:]
