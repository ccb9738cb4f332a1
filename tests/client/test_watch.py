"""Watch mode against a real server (uvicorn on 127.0.0.1, jobs queued, none run): folders and feeds become jobs
once, across polls, restarts and a lost state file."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.live import served
from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("feedparser", reason="needs the news extra")

from aigc_sdk.client import Client, UnauthorizedError  # noqa: E402
from aigc_sdk.client.watch import PollReport, Watcher, WatchState  # noqa: E402
from aigc_sdk.errors import InvalidRequestError  # noqa: E402
from aigc_sdk.server import create_app  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
FEED_IDS = ["desk-2025-11-27-park", "desk-2025-11-28-ferry", "desk-2025-11-28-library-zh"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with served(create_app(tmp_path / "data", concurrency=0, max_queued=20)) as url:
        yield url


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """A desk's drop folder: two articles, a feed of three items, and files that are not stories."""
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copy(DATA / "article_en.md", folder / "park.md")
    (folder / "vote.txt").write_text("Council votes on the budget\n\nThe city council approved the budget.\n")
    shutil.copy(DATA / "desk_feed.rss", folder / "city.rss")
    (folder / "notes.docx").write_bytes(b"not a story")
    (folder / ".hidden.md").write_text("# Hidden\n\nNot sent.")
    (folder / "draft.md.part").write_text("# Half copied")
    return folder


def _jobs(server: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{server}/v1/clips", params={"limit": 1000}).json())


def _poll(client: Client, sources: list[Path | str], state: Path) -> PollReport:
    return Watcher(client, sources, state=state, options={"aspect": "1:1", "music": False}, settle=0).poll()


def test_new_files_and_items_become_jobs_once(server: str, desk: Path, tmp_path: Path) -> None:
    state = desk / "watch-state.json"  # in the watched folder: never sent itself
    with Client(server) as client:
        watcher = Watcher(client, [desk], state=state, options={"aspect": "1:1", "music": False}, settle=0)
        first = watcher.poll()
        assert first.ok and first.known == 0
        assert sorted(s.name for s in first.submitted) == sorted(["park.md", "vote.txt", *FEED_IDS])
        jobs = _jobs(server)
        assert len(jobs) == 5 and all(job["options"]["aspect"] == "1:1" for job in jobs)  # type: ignore[index]
        zh = next(s.job_id for s in first.submitted if s.name == "desk-2025-11-28-library-zh")
        assert client.clips.get(str(zh)).options["language"] == "zh"  # the item's own language goes with it
        # a second poll makes no new job
        second = watcher.poll()
        assert second.submitted == [] and second.known == 5 and len(_jobs(server)) == 5
        # nor does a restarted watcher (the state file), nor one that lost it (the idempotency keys)
        assert _poll(client, [desk], state).submitted == []
        state.unlink()
        lost = _poll(client, [desk], state)
        assert len(lost.submitted) == 5 and len(_jobs(server)) == 5
        assert {s.job_id for s in lost.submitted} == {s.job_id for s in first.submitted}
        # an edited article is a new story; a new file too, once it has settled
        (desk / "vote.txt").write_text("Council votes on the budget\n\nThe council approved it by 7 votes to 2.\n")
        os.utime(desk / "vote.txt", (time.time() - 60, time.time() - 60))  # settled
        (desk / "ferry.html").write_text("<h1>Ferry</h1><p>The ferry runs again from Monday.</p>")  # just written
        edited = Watcher(client, [desk], state=state, settle=30).poll()
        assert [s.name for s in edited.submitted] == ["vote.txt"] and len(_jobs(server)) == 6
        assert [s.name for s in _poll(client, [desk], state).submitted] == ["ferry.html"]
    assert len(WatchState(state).items) == 7


def test_a_feed_file_and_a_feed_url(server: str, tmp_path: Path) -> None:
    feed = tmp_path / "feeds" / "desk.atom"
    feed.parent.mkdir()
    shutil.copy(DATA / "desk_feed.atom", feed)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(DATA))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/desk_feed.rss"
    try:
        with Client(server) as client:
            by_file = _poll(client, [feed], tmp_path / "a.json")
            assert by_file.ok and len(by_file.submitted) == 3
            by_url = _poll(client, [url, f"{url}.missing"], tmp_path / "b.json")
            same_items = _poll(client, [DATA / "desk_feed.rss"], tmp_path / "c.json")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert len(by_url.submitted) == 3 and list(by_url.problems) == [f"{url}.missing"]
    assert "404" in by_url.problems[f"{url}.missing"]
    # the feed read from a file tells the same items (same ids) as from its URL: no new job
    assert {s.job_id for s in same_items.submitted} == {s.job_id for s in by_url.submitted}
    assert len(_jobs(server)) == 6  # the Atom feed's items have ids of their own


def test_a_full_queue_stops_the_poll_and_the_next_goes_on(tmp_path: Path, desk: Path) -> None:
    app = create_app(tmp_path / "small", concurrency=0, max_queued=2, retry_after=3)
    with served(app) as url, Client(url) as client:
        state = tmp_path / "state.json"
        busy = _poll(client, [desk], state)
        assert len(busy.submitted) == 2 and busy.stopped and busy.retry_after == 3 and not busy.ok
        for job in client.clips.list("queued"):
            client.clips.cancel(job.id)
        rest = _poll(client, [desk], state)
        assert len(rest.submitted) == 2 and rest.known == 2 and rest.stopped
        assert not {s.name for s in rest.submitted} & {s.name for s in busy.submitted}


def test_bad_sources_and_a_bad_state_file_are_refused_before_any_poll(tmp_path: Path, desk: Path) -> None:
    client = Client("http://127.0.0.1:9")
    with pytest.raises(InvalidRequestError, match="no such file or folder"):
        Watcher(client, [tmp_path / "nowhere"], state=tmp_path / "s.json")
    with pytest.raises(InvalidRequestError, match="watch a folder, an RSS/Atom file"):
        Watcher(client, [DATA / "article_en.md"], state=tmp_path / "s.json")
    (tmp_path / "s.json").write_text('{"feeds": []}')
    with pytest.raises(InvalidRequestError, match="not an aigc watch state"):
        Watcher(client, [desk], state=tmp_path / "s.json")
    with pytest.raises(InvalidRequestError, match="aspect"):
        Watcher(client, [desk], state=tmp_path / "fresh.json", options={"aspect": "4:3"})  # type: ignore[typeddict-item]
    (desk / "broken.rss").write_text("<rss><channel><title>x</title></channel></rss>")
    (desk / "0-empty.md").write_text("")  # refused by the request check, before anything is sent
    report = _poll(client, [desk], tmp_path / "fresh.json")  # nothing listens on port 9
    assert [r.name for r in report.refused] == ["0-empty.md"] and "article" in str(report.refused[0].refused)
    assert report.stopped and "no answer" in report.stopped and report.submitted == []
    assert "no items" in report.problems[str(desk / "broken.rss")] and not (tmp_path / "fresh.json").exists()


def test_a_wrong_api_key_ends_the_watch(tmp_path: Path, desk: Path) -> None:
    app = create_app(tmp_path / "keyed", concurrency=0, api_keys=("k1",))
    with served(app) as url, Client(url) as client, pytest.raises(UnauthorizedError):
        _poll(client, [desk], tmp_path / "state.json")


def test_the_watch_command_polls_once(server: str, desk: Path, tmp_path: Path) -> None:
    aigc = Path(sys.executable).with_name("aigc")
    state = tmp_path / "cli-state.json"
    command = [str(aigc), "watch", str(desk), "--server", server, "--state", str(state), "--once", "--settle", "0"]
    first = subprocess.run([*command, "--aspect", "9:16"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "5 new job(s)" in first.stdout and first.stdout.count("job ") == 5
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "0 new job(s), 5 item(s) known before" in again.stdout
    assert len(_jobs(server)) == 5 and state.is_file()
