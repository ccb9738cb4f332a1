"""`POST /v1/clips` as multipart: an uploaded article or feed, options as form fields, a size cap while streaming.

The app queues jobs but runs none (``concurrency=0``): what is checked is what the request
stores and refuses, before any work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require_module

require_module("fastapi", reason="needs the server extra")
require_module("python_multipart", reason="needs the server extra")

from fastapi.testclient import TestClient  # noqa: E402

from aigc_sdk.server import create_app  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
CAP = 64 * 1024


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data, concurrency=0, max_upload_bytes=CAP)) as running:
        yield running


def _upload(client: TestClient, name: str, content: bytes, **fields: Any) -> Any:
    form = {key: str(value) for key, value in fields.items()}
    return client.post("/v1/clips", files={"file": (name, content)}, data=form)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["hint"], error
    return error


def _job_folders(data: Path) -> list[str]:
    jobs = data / "jobs"
    return sorted(p.name for p in jobs.iterdir()) if jobs.is_dir() else []


def test_an_uploaded_article_is_stored_under_a_generated_name(client: TestClient, data: Path) -> None:
    article = (EXAMPLES / "article_en.md").read_bytes()
    response = _upload(client, "../../../etc/My Story.MD", article, aspect="9:16", duration=8, music="false")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued" and job["position"] == 1
    assert job["options"]["input"] == "input.md" and job["options"]["aspect"] == "9:16"
    assert job["options"]["music"] is False and job["options"]["duration"] == 8.0
    folder = data / "jobs" / job["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["input.md"]
    assert (folder / "input.md").read_bytes() == article
    assert not (data.parent / "etc").exists()


def test_feeds_upload_with_their_templates(client: TestClient, data: Path) -> None:
    quakes = (EXAMPLES / "usgs_significant_week.geojson").read_bytes()
    by_suffix = _upload(client, "week.geojson", quakes)
    assert by_suffix.status_code == 202, by_suffix.text
    named = _upload(client, "quakes.json", quakes, template="usgs-earthquakes", language="zh")
    assert named.status_code == 202, named.text
    assert named.json()["options"]["template"] == "usgs-earthquakes"
    market = _upload(client, "close.csv", (EXAMPLES / "market_close.csv").read_bytes(), music="false")
    assert market.status_code == 202 and market.json()["options"]["input"] == "input.csv"
    # a .json feed names no template by its suffix; a template is for feeds, not articles
    _error(_upload(client, "quakes.json", quakes), 422, "InvalidRequestError")
    error = _error(_upload(client, "a.md", b"# Park\n\nA park opened.", template="market-close"), 422,
                   "InvalidRequestError")  # fmt: skip
    assert "only for feeds" in error["message"]
    unknown = _error(_upload(client, "week.geojson", quakes, template="no-such-template"), 422, "InvalidRequestError")
    assert "no-such-template" in unknown["message"] and "usgs-earthquakes" in unknown["message"]
    json_unknown = client.post("/v1/clips", json={"article": "A park opened.", "template": "../../etc"})
    _error(json_unknown, 422, "InvalidRequestError")
    assert len(_job_folders(data)) == 3  # the refused requests left no folder


def test_an_rss_upload_makes_one_roundup_clip(client: TestClient, data: Path) -> None:
    response = _upload(client, "desk.rss", (EXAMPLES / "desk_feed.rss").read_bytes(), roundup=2, duration=20)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["options"]["input"] == "input.rss" and job["options"]["roundup"] == 2
    roundups = list((data / "jobs" / job["id"] / ".aigc-feed").glob("roundup-*.md"))
    assert len(roundups) == 1 and roundups[0].read_text().startswith("# Top stories")
    _error(_upload(client, "a.txt", b"A park opened.", roundup=3), 422, "InvalidRequestError")
    _error(_upload(client, "broken.atom", b"<feed>not a feed"), 422, "InvalidRequestError")


def test_files_no_clip_is_made_from_are_refused(client: TestClient, data: Path) -> None:
    for name in ("payload.exe", "noext", ".md", "clip.mp4", "a.md.sh"):
        error = _error(_upload(client, name, b"#!/bin/sh\n"), 415, "UnsupportedMediaTypeError")
        assert ".geojson" in error["hint"], name
    _error(_upload(client, "empty.md", b""), 422, "InvalidRequestError")
    assert _job_folders(data) == []


def test_bad_multipart_requests(client: TestClient, data: Path) -> None:
    text = b"A park opened in the city centre."
    _error(client.post("/v1/clips", data={"aspect": "1:1"}, files={"other": ("a.md", text)}), 422,
           "InvalidRequestError")  # fmt: skip
    two = [("file", ("a.md", text)), ("file", ("b.md", text))]
    assert client.post("/v1/clips", files=two).status_code in (400, 422)
    _error(_upload(client, "a.md", text, aspect="4:3"), 422, "InvalidRequestError")
    _error(_upload(client, "a.md", text, output="/etc/x.mp4"), 422, "InvalidRequestError")
    _error(_upload(client, "a.md", text, article="also text"), 422, "InvalidRequestError")
    _error(_upload(client, "a.md", text, seed="-1"), 422, "InvalidRequestError")
    repeated = client.post("/v1/clips", files={"file": ("a.md", text)}, data={"seed": ["1", "2"]})
    _error(repeated, 422, "InvalidRequestError")
    # a body of another type
    _error(client.post("/v1/clips", content=text, headers={"content-type": "text/plain"}), 415,
           "UnsupportedMediaTypeError")  # fmt: skip
    _error(client.post("/v1/clips", data={"article": "x"}), 415, "UnsupportedMediaTypeError")  # urlencoded
    _error(client.post("/v1/clips", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data"}), 400,
           "BadRequest")  # fmt: skip
    assert _job_folders(data) == []


def test_bodies_over_the_cap_get_413_and_leave_nothing(client: TestClient, data: Path) -> None:
    big = b"A park opened. " * (CAP // 10)
    error = _error(_upload(client, "big.md", big), 413, "RequestTooLargeError")
    assert "--max-upload-mb" in error["hint"]
    _error(client.post("/v1/clips", json={"article": big.decode()}), 413, "RequestTooLargeError")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is counted while the body streams
        yield b'{"article": "'
        for _ in range(CAP // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post("/v1/clips", content=chunks(), headers={"content-type": "application/json"})
    _error(streamed, 413, "RequestTooLargeError")
    lying = client.post("/v1/clips", content=b"{}", headers={"content-type": "application/json",
                                                            "content-length": str(CAP + 1)})  # fmt: skip
    _error(lying, 413, "RequestTooLargeError")
    _error(client.post("/v1/clips/abc/reject", json={"reason": "x" * CAP}), 413, "RequestTooLargeError")
    assert _job_folders(data) == [] and client.get("/v1/clips").json() == []
    assert _upload(client, "small.md", big[: CAP // 2]).status_code == 202  # under the cap


def test_a_replayed_upload_returns_the_same_job(client: TestClient, data: Path) -> None:
    headers = {"Idempotency-Key": "upload-1"}
    files = {"file": ("a.md", b"A park opened in the city centre.")}
    first = client.post("/v1/clips", files=files, headers=headers)
    again = client.post("/v1/clips", files=files, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert _job_folders(data) == [first.json()["id"]]


def test_the_openapi_schema_documents_both_bodies(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/v1/clips"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["required"] == ["article"]
    upload = body["multipart/form-data"]["schema"]
    assert upload["required"] == ["file"] and upload["properties"]["file"]["format"] == "binary"
    assert "template" in upload["properties"] and "article" not in upload["properties"]


def test_the_installed_templates_are_listed(client: TestClient) -> None:
    templates = {t["name"]: t for t in client.get("/v1/templates").json()}
    assert templates["usgs-earthquakes"] == {"name": "usgs-earthquakes", "languages": ["en", "zh"],
                                             "feeds": [".geojson"]}  # fmt: skip
    assert templates["market-close"]["feeds"] == [".csv"] and templates["weather-summary"]["feeds"] == []


def test_aspects_and_captions_are_options_and_the_brand_is_the_servers(tmp_path: Path) -> None:
    """Several aspects in one job, a caption style; the brand kit is a server setting, checked at start."""
    from aigc_sdk.errors import InvalidRequestError
    from aigc_sdk.server.worker import clip_config

    brand = Path(__file__).resolve().parents[2] / "examples" / "brand" / "brand.toml"
    data = tmp_path / "data"
    with TestClient(create_app(data, concurrency=0, brand=brand)) as client:
        article = "A park opened on Saturday. Children played on the new swings all afternoon."
        made = client.post("/v1/clips", json={"article": article, "aspect": "16:9, 9:16", "captions": "words"})
        assert made.status_code == 202, made.text
        job = made.json()
        assert job["options"]["aspect"] == "16:9,9:16" and job["options"]["captions"] == "words"
        options = {"article": article, **job["options"]}
        config = clip_config(data / "jobs" / job["id"], options, data / "cache", brand=brand)
        assert config.aspects == ["16:9", "9:16"] and config.caption_mode == "words" and config.brand == brand
        for bad in ("16:9,16:9", "4:3", ""):
            _error(client.post("/v1/clips", json={"article": article, "aspect": bad}), 422, "InvalidRequestError")
        _error(client.post("/v1/clips", json={"article": article, "captions": "karaoke"}), 422, "InvalidRequestError")
    broken = tmp_path / "broken.toml"
    broken.write_text('[logo]\nfile = "missing.png"\n')
    with pytest.raises(InvalidRequestError, match=r"broken\.toml.*logo\.file"):
        create_app(tmp_path / "other", concurrency=0, brand=broken)
