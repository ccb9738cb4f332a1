"""The review page in a real headless Chromium (Debian's, driven by playwright) against a real uvicorn on 127.0.0.1.

An editor submits an article through the page, watches every stage complete, plays the clip, approves it, and
the clip appears in the outbox; the same clip in review on a 390 px phone never scrolls sideways. A keyed server
asks for the key once and keeps it in an HttpOnly cookie. ``make test`` installs
Debian's ``chromium``; without it (or playwright) the tests skip, and fail under CI / ``make test``.
Set ``AIGC_DOCS_SCREENSHOTS=1`` to refresh the screenshots in docs/images/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk import Studio
from tests.support import require, require_module

require_module("fastapi", reason="needs the server extra")
require_module("piper", reason="needs the voice extra")
require_module("playwright.sync_api", reason="needs playwright (the dev extra) to drive Chromium")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    require("needs Debian's chromium (make test installs it: apt-get install chromium)")

import uvicorn  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from aigc_sdk.server import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "data" / "article_en.md"
DOCS_IMAGES = ROOT / "docs" / "images"
STAGES = ("script", "narration", "visuals", "music", "render")
OPTIONS: dict[str, Any] = {"aspect": "16:9", "duration": 7, "music": False}
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class LiveServer:
    """A real uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, outbox: Path) -> Iterator[LiveServer]:
    with Studio() as studio:
        app = create_app(tmp_path_factory.mktemp("serve"), studio=studio, concurrency=1, outbox=outbox)
        with LiveServer(app) as live:
            yield live


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def _watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def _screenshot(page: Page, tmp_path: Path, name: str, *, full_page: bool) -> None:
    page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    if os.environ.get("AIGC_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=DOCS_IMAGES / f"{name}.png", full_page=full_page)


def _phone_layout(chromium: Browser, server: LiveServer, job_id: str, tmp_path: Path) -> None:
    """The same clip in review on a 390 px phone: the page never scrolls sideways."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    errors = _watch_errors(page)
    page.goto(server.url)
    page.click(f"#jobs button[data-id='{job_id}']")
    expect(page.locator("#job-status")).to_have_text("review")
    expect(page.locator("#approve")).to_be_visible()
    page.wait_for_function("() => document.getElementById('video').readyState >= 2", timeout=20_000)
    expect(page.locator("#licences tbody tr").first).to_be_attached()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px phone"
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map((e) => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert wide == [], wide
    _screenshot(page, tmp_path, "review-page-phone", full_page=False)
    assert errors == []
    context.close()


def test_submit_watch_play_approve_publish(server: LiveServer, chromium: Browser, outbox: Path, tmp_path: Path) -> None:
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = _watch_errors(page)
    page.goto(server.url)
    expect(page).to_have_title("aigc · review desk")
    # an editor pastes the article and picks the options
    page.fill("#article", ARTICLE.read_text())
    page.select_option("select[name=aspect]", OPTIONS["aspect"])
    page.fill("input[name=duration]", str(OPTIONS["duration"]))
    page.uncheck("input[name=music]")
    page.click("#submit")
    # the new job is selected and its stages move live (EventSource) until it is ready for review
    expect(page.locator("#job-status")).to_have_text("review", timeout=90_000)
    for step in STAGES:
        expect(page.locator(f"#stages li[data-step={step}]")).to_have_attribute("data-status", "done")
    job_id = page.locator("#jobs button[aria-current=true]").get_attribute("data-id")
    assert job_id
    job = server.get(f"/v1/clips/{job_id}")
    assert job["status"] == "review" and job["options"]["music"] is False
    # the clip plays in the page: the <video> loaded it, as long as the manifest says
    page.wait_for_function("() => document.getElementById('video').readyState >= 2", timeout=20_000)
    duration = page.evaluate("document.getElementById('video').duration")
    manifest = server.get(f"/v1/clips/{job_id}/files/clip.manifest.json")
    expected = manifest["artifacts"]["video"]["provenance"]["extra"]["duration"]
    assert abs(duration - expected) <= 1.0, (duration, expected)
    assert page.locator("#video track").get_attribute("src") == f"/v1/clips/{job_id}/files/clip.vtt"
    # its subtitles as text, the manifest's summary (headline, models, licences) and the downloads
    expect(page.locator("#subtitles li").first).to_be_visible()
    assert "Supporters" in page.locator("#subtitles").inner_text()
    expect(page.locator("#manifest [data-fact=headline]")).to_have_text(manifest["steps"][0]["output"]["headline"])
    expect(page.locator("#manifest [data-fact=aspect]")).to_have_text("16:9 · 720p")
    expect(page.locator("#models li", has_text="en-joe")).to_have_count(1)
    expect(page.locator("#licences tbody tr")).to_have_count(len(manifest["licenses"]))
    expect(page.locator("#downloads a", has_text="clip.mp4")).to_have_attribute("download", "clip.mp4")
    page.evaluate("document.getElementById('video').play()")
    page.wait_for_function("() => document.getElementById('video').currentTime > 0.2", timeout=10_000)
    _screenshot(page, tmp_path, "review-page-laptop", full_page=True)
    _phone_layout(chromium, server, job_id, tmp_path)
    # approve: the page shows it, the API agrees
    page.click("#approve")
    expect(page.locator("#job-status")).to_have_text("approved")
    expect(page.locator("#decision")).to_contain_text("Approved")
    assert server.get(f"/v1/clips/{job_id}")["status"] == "approved"
    assert errors == []
    context.close()
    # last (needs publishing on approval): the approved clip is in the outbox
    deadline = time.monotonic() + 15
    while not (outbox / job_id / "clip.mp4").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (outbox / job_id / "clip.mp4").stat().st_size > 10_000


def test_a_keyed_server_asks_for_the_key_once(tmp_path: Path, chromium: Browser) -> None:
    app = create_app(tmp_path / "data", concurrency=0, api_keys=("s3cret",))
    with LiveServer(app) as keyed:
        context = chromium.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.goto(keyed.url)
        expect(page.locator("#key-form")).to_be_visible()
        page.fill("#key-form input[name=key]", "guess")
        page.click("#key-form button[type=submit]")
        expect(page.locator("#alert")).to_contain_text("not accepted")
        page.fill("#key-form input[name=key]", "s3cret")
        page.click("#key-form button[type=submit]")
        expect(page.locator("#key-form")).to_be_hidden()
        cookie = next(c for c in context.cookies() if c["name"] == "aigc_key")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # the cookie now carries every request of the page: an upload-less submission lands in the list
        page.fill("#article", "A park opened in the city centre on Monday.")
        page.click("#submit")
        expect(page.locator("#jobs li")).to_have_count(1)
        expect(page.locator("#job-status")).to_have_text("queued")
        assert page.evaluate("document.cookie") == ""  # scripts never see the key
        # a bad request is shown as the API's typed error with its hint
        page.fill("#article", "x")
        page.fill("input[name=duration]", "2")
        page.evaluate("() => { document.querySelector('input[name=duration]').removeAttribute('min') }")
        page.click("#submit")
        expect(page.locator("#alert")).to_contain_text("InvalidRequestError")
        expect(page.locator("#alert-hint")).to_contain_text("/docs")
        context.close()
