"""Single generations over HTTP, for real: the Piper voice, Whisper tiny.en, the card renderer, the story templates,
the script writer and a tiny GPT-2, all on one shared Studio behind the app (httpx via Starlette's TestClient)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aigc_sdk import Studio
from aigc_sdk.media import Audio, Image
from aigc_sdk.registry import ModelRegistry, load_catalog
from tests.generators.text.tiny_lm import build_tiny_lm
from tests.support import require_module, word_error_rate

require_module("fastapi", reason="needs the server extra")
require_module("piper", reason="needs the voice extra")
require_module("faster_whisper", reason="needs the asr extra")

from fastapi.testclient import TestClient  # noqa: E402

from aigc_sdk.server import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPOKEN = "Good evening. The city council approved the riverside park on Tuesday."
ARTICLE = (ROOT / "examples" / "data" / "article_en.md").read_text()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    lm = build_tiny_lm(tmp_path_factory.mktemp("tiny-gpt2"))
    catalog = tmp_path_factory.mktemp("catalog") / "models.toml"
    catalog.write_text(
        '[[model]]\nid = "tiny-gpt2"\ntask = "text-generation"\n'
        'backend = "aigc_sdk.generators.text.transformers_lm.TransformersTextGenerator"\n'
        f'source = {{ kind = "local", path = "{lm}" }}\n'
        "batchable = true\nmax_batch_size = 4\nmemory_bytes = 10_000_000\n"
    )
    with Studio(registry=ModelRegistry(load_catalog(catalog))) as shared:
        yield shared


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def client(studio: Studio, data: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data, studio=studio, concurrency=0)) as running:
        yield running


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    assert view["url"] == f"/v1/generations/{view['id']}/files/{view['url'].rsplit('/', 1)[1]}"
    return view


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"] and error["hint"], error
    return error


def _published(data: Path) -> list[str]:
    """Every entry under DATA/generations, staging folders included."""
    folder = data / "generations"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _download(client: TestClient, url: str, target: Path) -> Path:
    response = client.get(url)
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return target


def test_speech_is_published_with_provenance_and_served(client: TestClient, data: Path, tmp_path: Path) -> None:
    view = _created(client.post("/v1/speech", json={"prompt": SPOKEN, "seed": 3, "format": "flac"}))
    assert view["task"] == "text-to-speech" and view["model_id"] == "en-joe"
    assert view["files"] == ["speech.flac", "speech.flac.provenance.json"]
    assert view["provenance"]["seed"] == 3 and view["provenance"]["request"]["prompt"] == SPOKEN
    assert view["result"]["duration"] > 2 and view["result"]["segments"][0]["text"].startswith("Good evening")
    audio = Audio.load(_download(client, view["url"], tmp_path / "speech.flac"))
    assert audio.duration == pytest.approx(view["result"]["duration"], abs=0.01)
    assert audio.provenance is not None and audio.provenance.model_id == "en-joe"
    sidecar = client.get(f"/v1/generations/{view['id']}/files/speech.flac.provenance.json").json()
    assert sidecar["model_id"] == "en-joe"
    # published in one rename: the folder holds exactly the files listed, no staging is left beside it
    assert sorted(p.name for p in (data / "generations" / view["id"]).iterdir()) == view["files"]
    assert not [p for p in (data / "generations").iterdir() if p.name.startswith(".")]


def test_concurrent_requests_share_the_studio(client: TestClient, studio: Studio) -> None:
    prompts = [f"Item {n}. The market closed higher today." for n in range(1, 4)]
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda p: client.post("/v1/speech", json={"prompt": p, "seed": 1}), prompts))
    views = [_created(r) for r in responses]
    assert len({v["id"] for v in views}) == 3
    assert [v["provenance"]["request"]["prompt"] for v in views] == prompts
    assert client.app.state.runner.studio is studio  # type: ignore[attr-defined]


def test_a_transcription_of_an_upload(client: TestClient, studio: Studio, data: Path) -> None:
    wav = studio.speech(SPOKEN, seed=2).audio.to_wav_bytes()
    form = {"language": "en", "word_timestamps": "true", "seed": "0"}
    files = {"file": ("../../etc/evening news.wav", wav, "audio/wav")}
    view = _created(client.post("/v1/transcriptions", data=form, files=files))
    assert view["task"] == "speech-to-text" and view["model_id"] == "whisper-tiny-en"
    assert word_error_rate(SPOKEN, view["result"]["text"]) <= 0.2, view["result"]["text"]
    assert view["result"]["segments"][0]["words"], view["result"]
    # the upload is kept under a name of ours; the transcript is text with a provenance sidecar
    assert view["files"] == ["input.wav", "transcript.txt", "transcript.txt.provenance.json"]
    text = client.get(view["url"])
    assert text.status_code == 200 and text.text.strip() == view["result"]["text"].strip()
    assert (data / "generations" / view["id"] / "input.wav").read_bytes() == wav


def test_a_card_is_drawn_and_signed(client: TestClient, tmp_path: Path) -> None:
    body = {"layout": "number", "value": "6.4", "label": "Magnitude", "delta": 1.2, "delta_unit": "",
            "width": 480, "height": 270, "theme": "paper", "brand": "CITY DESK"}  # fmt: skip
    view = _created(client.post("/v1/images/cards", json=body))
    assert view["task"] == "render-card" and view["model_id"] == "card-renderer"
    assert view["result"] == {"width": 480, "height": 270}
    assert view["provenance"]["request"]["theme"]["brand"] == "CITY DESK"
    image = Image.load(_download(client, view["url"], tmp_path / "card.png"))
    assert image.size == (480, 270) and image.provenance is not None
    assert image.provenance.model_id == "card-renderer"


def test_text_kinds_template_script_and_completion(client: TestClient) -> None:
    example = json.loads((ROOT / "aigc_sdk/generators/text/templates/sports-result/example.json").read_text())
    story = _created(client.post("/v1/text", json={"kind": "template", "template": "sports-result", "data": example,
                                                   "language": "zh", "seed": 2}))  # fmt: skip
    assert story["result"]["headline"] == "Harbour League：海港城3比1击败河畔流浪者"
    assert story["files"] == ["text.txt", "text.txt.provenance.json"] and story["model_id"] == "news-templates"
    assert client.get(story["url"]).text.startswith(story["result"]["headline"])
    script = _created(client.post("/v1/text", json={"kind": "script", "prompt": ARTICLE, "target_seconds": 30}))
    assert script["result"]["headline"] == "City council approves riverside park expansion"
    assert 25.5 <= script["provenance"]["extra"]["estimated_seconds"] <= 34.5
    body = {"kind": "completion", "prompt": "The council voted", "model": "tiny-gpt2", "max_new_tokens": 8, "seed": 4}
    completion = _created(client.post("/v1/text", json=body))
    assert completion["model_id"] == "tiny-gpt2" and completion["provenance"]["seed"] == 4
    assert completion["result"]["text"] == completion["result"]["texts"][0]
    assert client.get(completion["url"]).text == completion["result"]["text"] + "\n"


def test_unknown_or_missing_models_are_404_with_a_hint(client: TestClient) -> None:
    unknown = _error(client.post("/v1/speech", json={"prompt": "Hi.", "model": "nope"}), 404, "UnknownModelError")
    assert "en-joe" in unknown["message"]
    # the default language model is not installed here: refused at once, nothing is downloaded
    missing = client.post("/v1/text", json={"kind": "completion", "prompt": "Once", "model": "gemma-3-270m"})
    assert _error(missing, 404, "ModelNotAvailableError")["hint"].startswith("on the server: ")
    wrong_task = client.post("/v1/speech", json={"prompt": "Hi.", "model": "whisper-tiny-en"})
    assert wrong_task.status_code in (404, 422), wrong_task.text


def test_bad_bodies_are_422_before_any_work(client: TestClient, data: Path) -> None:
    before = _published(data)
    for path, body in [
        ("/v1/speech", {"prompt": ""}),
        ("/v1/speech", {"prompt": "Hi.", "speaker_wav": "/etc/passwd"}),  # a client names no path
        ("/v1/speech", {"prompt": "Hi.", "model": "../models/x"}),
        ("/v1/speech", {"prompt": "Hi.", "format": "exe"}),
        ("/v1/images/cards", {"layout": "bullets", "title": "x"}),
        ("/v1/images/cards", {"layout": "title", "title": "x", "body": "never drawn"}),
        ("/v1/images/cards", {"title": "x", "theme": {"logo": "/etc/passwd"}}),
        ("/v1/images/cards", {"title": "x", "width": 100_000}),
        ("/v1/text", {"prompt": "Once"}),  # no kind
        ("/v1/text", {"kind": "template", "template": "docs", "data": {}}),  # not a built-in, never a folder
        ("/v1/text", {"kind": "template", "template": "../etc", "data": {}}),
        ("/v1/text", {"kind": "template", "template": "sports-result", "data": {"x": 1}}),
        ("/v1/text", {"kind": "script", "prompt": "A park opened.", "rewrite": True}),
    ]:
        _error(client.post(path, json=body), 422, "InvalidRequestError")
    assert _published(data) == before


def test_uploads_are_checked_and_capped(client: TestClient, data: Path) -> None:
    before = _published(data)
    wav = Audio([0.0] * 8000, 8000).to_wav_bytes()
    for form, files in [
        ({}, {"file": ("a.txt", b"hello", "text/plain")}),  # not an audio suffix
        ({}, {"file": ("a.wav", b"RIFF not really", "audio/wav")}),  # not readable audio
        ({"language": "en"}, None),  # no file
        ({"word_timestamps": "maybe"}, {"file": ("a.wav", wav, "audio/wav")}),
        ({"output": "/tmp/x"}, {"file": ("a.wav", wav, "audio/wav")}),
    ]:
        _error(client.post("/v1/transcriptions", data=form, files=files), 422, "InvalidRequestError")
    _error(client.post("/v1/transcriptions", json={"file": "a.wav"}), 422, "InvalidRequestError")
    big = b"\0" * (10 * 1024 * 1024 + 100_000)  # over the server's body cap (10 MiB)
    too_big = client.post("/v1/transcriptions", files={"file": ("big.wav", big, "audio/wav")})
    _error(too_big, 413, "RequestTooLargeError")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while the body streams in
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
        for _ in range(30):
            yield b"\0" * (1024 * 1024)

    streamed = client.post("/v1/transcriptions", content=chunks(),
                           headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
    _error(streamed, 413, "RequestTooLargeError")
    assert _published(data) == before


def test_files_are_served_only_from_a_generations_own_folder(client: TestClient, data: Path) -> None:
    view = _created(client.post("/v1/images/cards", json={"title": "Files", "width": 320, "height": 180}))
    (data / "secret.txt").write_text("no")
    base = f"/v1/generations/{view['id']}/files"
    for name in ("..%2F..%2Fsecret.txt", "..%2F..%2Fjobs.sqlite", ".card.png", "%2Fetc%2Fpasswd", "card.png%00", "x"):
        response = client.get(f"{base}/{name}")
        assert response.status_code == 404, (name, response.status_code)
        assert response.json()["error"]["code"] in ("GenerationNotFoundError", "NotFound")
    assert client.get(f"{base}/../../secret.txt").status_code == 404
    for generation in ("0" * 32, "ABC", view["id"].upper(), "." + view["id"]):
        _error(client.get(f"/v1/generations/{generation}/files/card.png"), 404, "GenerationNotFoundError")
    assert client.get(f"{base}/card.png").headers["content-type"] == "image/png"


def test_generations_need_the_api_key(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, concurrency=0, api_keys=("k",))) as locked:
        _error(locked.post("/v1/speech", json={"prompt": "Hi."}), 401, "AuthError")
        _error(locked.get(f"/v1/generations/{'0' * 32}/files/a.wav"), 401, "AuthError")
        _error(locked.post("/v1/text", json={}, headers={"X-API-Key": "k"}), 422, "InvalidRequestError")
