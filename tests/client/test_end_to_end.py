"""One real short job through a real uvicorn: the blocking client follows it across a dropped connection,
downloads its files, the async client reads the same job, and ``aigc submit --wait --download`` makes a second
job of the same article (its stages come from the stage cache)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigc_sdk import Studio
from aigc_sdk.media import Video
from tests.client.live import served
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("piper", reason="needs the voice extra")

from aigc_sdk.client import AsyncClient, Client, JobEvent, ServerConnectionError  # noqa: E402
from aigc_sdk.server import create_app  # noqa: E402

ARTICLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "article_en.md"
OPTIONS: dict[str, Any] = {"aspect": "1:1", "duration": 6, "music": False}


class _CutStream(httpx.SyncByteStream):
    """A body that breaks off, as a dropped connection does: after ``events`` events, or ``size`` bytes."""

    def __init__(self, inner: Iterable[bytes], *, events: int | None = None, size: int | None = None) -> None:
        self.inner, self.events, self.size = inner, events, size

    def __iter__(self) -> Iterator[bytes]:
        events = sent = 0
        for chunk in self.inner:
            if self.size is not None and sent + len(chunk) > self.size:
                yield chunk[: self.size - sent]
                break
            yield chunk
            sent += len(chunk)
            events += chunk.count(b"\n\n") + chunk.count(b"\r\n\r\n")
            if self.events is not None and events >= self.events:
                break
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


class CutsTheFirstStream(httpx.HTTPTransport):
    """The real HTTP transport, except that the first response whose path ends with ``path_end`` is cut short."""

    def __init__(self, path_end: str, *, events: int | None = None, size: int | None = None) -> None:
        super().__init__()
        self.path_end, self.events, self.size = path_end, events, size
        self.resumed_from: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not request.url.path.endswith(self.path_end):
            return response
        self.resumed_from.append(request.headers.get("last-event-id"))
        if len(self.resumed_from) > 1:
            return response
        assert isinstance(response.stream, Iterable)
        cut = _CutStream(response.stream, events=self.events, size=self.size)
        extensions = response.extensions
        return httpx.Response(response.status_code, headers=response.headers, stream=cut, extensions=extensions)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with Studio() as studio, served(create_app(tmp_path_factory.mktemp("serve"), studio=studio)) as url:
        yield url


def test_submit_wait_across_a_drop_download_approve(server: str, tmp_path: Path) -> None:
    transport = CutsTheFirstStream("/events", events=2)
    seen: list[JobEvent] = []
    with Client(server, transport=transport) as client:
        job = client.clips.create(ARTICLE.read_text(), idempotency_key="e2e-1", **OPTIONS)
        done = client.clips.wait(job.id, on_event=seen.append, timeout=240)
        assert done.status == "review", done.error
        # the stream broke after two events and was resumed from the second: every event seen once, in order
        assert transport.resumed_from[0] is None and transport.resumed_from[1] == str(seen[1].seq)
        assert [e.seq for e in seen] == sorted({e.seq for e in seen})
        assert [e.status for e in seen if e.step is None] == ["queued", "running", "review"]
        assert {(e.step, e.status) for e in seen} >= {("script", "done"), ("narration", "done"), ("render", "done")}
        assert [e.seq for e in client.clips.events(job.id)] == [e.seq for e in seen]  # the record, replayed
        saved = client.clips.download_all(job.id, to=tmp_path / "out")
        assert {p.name for p in saved} == set(done.files) >= {"clip.mp4", "clip.srt", "clip.vtt"}
        assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp file left
        clip = client.clips.download(job.id, to=tmp_path / "again")
        assert clip.name == "clip.mp4" and clip.read_bytes() == (tmp_path / "out" / "clip.mp4").read_bytes()
        assert 5 < Video.load(clip).info.duration < 12
        assert client.clips.approve(job.id).status == "approved"
    # a download that breaks off leaves nothing behind, not even its temp file
    with (
        Client(server, transport=CutsTheFirstStream("/clip.mp4", size=1000)) as cut,
        pytest.raises(ServerConnectionError),
    ):
        cut.clips.download(job.id, to=tmp_path / "cut")
    assert list((tmp_path / "cut").iterdir()) == []

    async def read_it() -> tuple[str, list[str], bytes]:
        async with AsyncClient(server) as aclient:
            final = await aclient.clips.wait(job.id, timeout=10)
            statuses = [e.status async for e in aclient.clips.events(job.id) if e.step is None]
            srt = await aclient.clips.download(job.id, "clip.srt", to=tmp_path / "async")
            return final.status, statuses, srt.read_bytes()

    status, statuses, srt = asyncio.run(read_it())
    assert status == "approved" and statuses == ["queued", "running", "review", "approved"]
    assert srt == (tmp_path / "out" / "clip.srt").read_bytes()


def test_the_submit_command_waits_and_downloads(server: str, tmp_path: Path) -> None:
    aigc = Path(sys.executable).with_name("aigc")
    options = ["--aspect", "1:1", "--duration", "6", "--no-music"]
    command = [str(aigc), "submit", str(ARTICLE), "--server", server, *options, "--download", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "review" in result.stdout and "saved" in result.stdout
    assert {p.name for p in tmp_path.iterdir()} >= {"clip.mp4", "clip.srt", "clip.vtt"}
    assert 5 < Video.load(tmp_path / "clip.mp4").info.duration < 12
