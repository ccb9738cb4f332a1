"""The typed client against the real app: the async client through httpx's ASGI transport, the blocking one
through a real uvicorn on 127.0.0.1. No job runs here (``concurrency=0``); tests/client/test_end_to_end.py runs one."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import served
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")

from aigc_sdk import client as client_module  # noqa: E402
from aigc_sdk.client import (  # noqa: E402
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    ServerBusyError,
    ServerConnectionError,
    ServerError,
    UnauthorizedError,
    WaitTimeoutError,
)
from aigc_sdk.errors import InvalidRequestError  # noqa: E402
from aigc_sdk.server import create_app  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
ARTICLE = "A new park opened in the city centre on Monday. It has a lake and a playground."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn whose jobs queue and never run."""
    with served(create_app(tmp_path_factory.mktemp("queue"), concurrency=0)) as url:
        yield url


@pytest.fixture
def client(server: str) -> Iterator[Client]:
    with Client(server, timeout=10) as made:
        yield made


def test_the_public_names_are_pinned() -> None:
    assert set(client_module.__all__) == {
        "AsyncClient", "AsyncClips", "BadRequestError", "ClipKwargs", "ClipView", "Client", "Clips", "ConflictError",
        "JobEvent", "NotFoundError", "ServerBusyError", "ServerConnectionError", "ServerError", "UnauthorizedError",
        "WaitTimeoutError",
    }  # fmt: skip
    for name in client_module.__all__:
        assert getattr(client_module, name).__module__.startswith("aigc_sdk."), name


def test_importing_the_client_imports_neither_fastapi_nor_torch() -> None:
    code = (
        "import sys, aigc_sdk.client, aigc_sdk.client.watch\n"
        "heavy = ('fastapi', 'starlette', 'uvicorn', 'sse_starlette', 'torch', 'transformers', 'numpy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_create_get_list_cancel_and_idempotency(client: Client) -> None:
    first = client.clips.create(ARTICLE, idempotency_key="order-1", aspect="1:1", duration=8, music=False)
    again = client.clips.create(ARTICLE, idempotency_key="order-1", aspect="1:1", duration=8, music=False)
    assert first.id == again.id and first.status == "queued" and first.position >= 1
    assert {k: first.options[k] for k in ("aspect", "duration", "music")} == {"aspect": "1:1", "duration": 8.0,
                                                                               "music": False}  # fmt: skip
    assert client.clips.get(first.id).options == first.options
    assert first.id in {job.id for job in client.clips.list("queued")}
    cancelled = client.clips.cancel(first.id)
    assert cancelled.status == "cancelled"
    assert first.id in {job.id for job in client.clips.list("cancelled")}
    # the event stream of a job in a final state ends after its events: typed, in order
    events = list(client.clips.events(first.id))
    assert [(e.step, e.status) for e in events] == [(None, "queued"), (None, "cancelled")]
    assert events[0].seq < events[1].seq
    assert [e.seq for e in client.clips.events(first.id, after=events[0].seq)] == [events[1].seq]
    assert client.clips.wait(first.id, timeout=5).status == "cancelled"


def test_server_errors_become_typed_errors(client: Client, server: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.clips.get("0123")
    assert missing.value.status == 404 and missing.value.code == "JobNotFoundError" and missing.value.hint
    assert isinstance(missing.value, InvalidRequestError)
    job = client.clips.create(ARTICLE)
    with pytest.raises(ConflictError) as conflict:
        client.clips.approve(job.id)
    assert conflict.value.code == "JobStateError" and "queued" in conflict.value.message
    with pytest.raises(ConflictError):
        client.clips.reject(job.id, "late")
    with pytest.raises(BadRequestError) as bad:  # the server's own check (the client sends the status as given)
        client.clips.list("done")
    assert bad.value.status == 422 and bad.value.code == "InvalidRequestError"
    with pytest.raises(NotFoundError):
        list(client.clips.events("0123"))
    with pytest.raises(NotFoundError):
        client.clips.download(job.id, "clip.mp4", to=Path("never-made"))
    assert not Path("never-made").exists() or not any(Path("never-made").iterdir())


def test_bad_input_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    nobody = Client(f"http://127.0.0.1:{_free_port()}")  # nothing listens: a request would be a connection error
    with pytest.raises(InvalidRequestError, match="aspect"):
        nobody.clips.create(ARTICLE, aspect="4:3")  # type: ignore[typeddict-item]
    with pytest.raises(InvalidRequestError, match="duration"):
        nobody.clips.create(ARTICLE, duration=1)
    with pytest.raises(InvalidRequestError, match="not both or neither"):
        nobody.clips.create(ARTICLE, file=DATA / "article_en.md")
    with pytest.raises(InvalidRequestError, match="cannot read"):
        nobody.clips.create(file=tmp_path / "missing.md")
    for name in ("../jobs.sqlite", "/etc/passwd", ".clip.mp4", "a/b.mp4", ".."):
        with pytest.raises(InvalidRequestError, match="not a job's file name"):
            nobody.clips.download("0123", name, to=tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidRequestError, match="is a file"):
        nobody.clips.download("0123", "clip.mp4", to=tmp_path / "file")
    with pytest.raises(InvalidRequestError, match="not a server URL"):
        Client("127.0.0.1:8000")
    with pytest.raises(ServerConnectionError) as unreachable:
        nobody.clips.list()
    assert unreachable.value.retryable and "aigc serve" in (unreachable.value.hint or "")


def test_wait_gives_up_after_its_timeout(client: Client) -> None:
    job = client.clips.create(ARTICLE, seed=5)
    with pytest.raises(WaitTimeoutError, match="still queued"):
        client.clips.wait(job.id, timeout=0.5)


def test_file_uploads_are_multipart(client: Client, server: str, tmp_path: Path) -> None:
    """``file=`` uploads the file (multipart: ``file`` + the options as form fields), as POST /v1/clips takes it."""
    schema = httpx.get(f"{server}/openapi.json").json()
    assert "multipart/form-data" in schema["paths"]["/v1/clips"]["post"]["requestBody"]["content"]
    job = client.clips.create(file=DATA / "article_en.md", aspect="1:1", music=False)
    assert job.status == "queued" and job.options["aspect"] == "1:1"
    quakes = client.clips.create(file=DATA / "usgs_significant_week.geojson", idempotency_key="quakes", seed=2)
    assert quakes.status == "queued" and quakes.options["seed"] == 2
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    with pytest.raises(ServerError) as refused:  # refused by the server with a typed error, not a traceback
        client.clips.create(file=pdf)
    assert refused.value.status == 415 and refused.value.code == "UnsupportedMediaTypeError"


def test_async_client_through_the_asgi_transport(tmp_path: Path) -> None:
    """AsyncClient on the app in this process; the app's own keys, queue limit and Retry-After."""
    app = create_app(tmp_path, concurrency=0, api_keys=("s3cret",), max_queued=2, retry_after=7)

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with AsyncClient("http://testserver", transport=transport) as anonymous:
                with pytest.raises(UnauthorizedError) as refused:
                    await anonymous.clips.list()
                seen["401"] = refused.value
            async with AsyncClient("http://testserver", api_key="s3cret", transport=transport) as client:
                first = await client.clips.create(ARTICLE, idempotency_key="k")
                assert (await client.clips.create(ARTICLE, idempotency_key="k")).id == first.id
                await client.clips.create(ARTICLE)
                with pytest.raises(ServerBusyError) as busy:
                    await client.clips.create(ARTICLE)
                seen["429"] = busy.value
                assert (await client.clips.cancel(first.id)).status == "cancelled"
                seen["events"] = [event.status async for event in client.clips.events(first.id)]
                seen["final"] = await client.clips.wait(first.id, timeout=5)
                seen["listed"] = [job.status for job in await client.clips.list()]
                seen["health"] = await client.health()
        return seen

    seen = asyncio.run(scenario())
    assert seen["401"].status == 401 and seen["401"].code == "AuthError" and seen["401"].hint
    assert seen["429"].retry_after == 7 and seen["429"].retryable and seen["429"].code == "QueueFullError"
    assert seen["events"] == ["queued", "cancelled"] and seen["final"].status == "cancelled"
    assert sorted(seen["listed"]) == ["cancelled", "queued"]
    assert seen["health"]["status"] == "ready"


def test_the_submit_command_queues_an_article(server: str, tmp_path: Path) -> None:
    aigc = Path(sys.executable).with_name("aigc")
    command = [str(aigc), "submit", str(DATA / "article_en.md"), "--server", server, "--aspect", "1:1"]
    result = subprocess.run([*command, "--no-music", "--idempotency-key", "cli-1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.split()[1]
    job = httpx.get(f"{server}/v1/clips/{job_id}").json()
    assert job["status"] == "queued" and (job["options"]["aspect"], job["options"]["music"]) == ("1:1", False)
    bad = subprocess.run([*command, "--duration", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "duration" in bad.stderr and "hint:" in bad.stderr
