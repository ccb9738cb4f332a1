"""Test helper: a real uvicorn on 127.0.0.1 (a free port) in a thread, for the blocking client and the CLI."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
uvicorn = require_module("uvicorn", reason="needs the server extra")


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` (its lifespan included) on 127.0.0.1 until the block ends; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
