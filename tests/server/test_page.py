"""The review page's routes without a browser: the page and its files, and the key cookie of ``POST /v1/session``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import require_module

require_module("fastapi", reason="needs the server extra")

from fastapi.testclient import TestClient  # noqa: E402

from aigc_sdk.server import create_app  # noqa: E402
from aigc_sdk.server.page import SESSION_COOKIE, STATIC_FILES  # noqa: E402

STATIC = Path(__file__).resolve().parents[2] / "aigc_sdk" / "server" / "static"


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path, concurrency=0, api_keys=("s3cret", "other"))) as client:
        yield client


def test_the_page_and_its_files_need_no_key(keyed: TestClient) -> None:
    page = keyed.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<option value="usgs-earthquakes">' in page.text  # the installed templates and voices are offered
    assert '<option value="en-joe">' in page.text
    assert "<!--" not in page.text
    for name, media_type in STATIC_FILES.items():
        response = keyed.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"] == media_type
        assert response.content == (STATIC / name).read_bytes()


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = path.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, not a fetch
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), path.name
        assert "style=" not in text and "onclick=" not in text, path.name  # the CSP allows no inline code


def test_only_the_pages_own_files_are_served(keyed: TestClient) -> None:
    for name in ("index.html", "..%2Fapp.py", "..%2F..%2Fserver%2Fapp.py", "missing.js", "%2Fetc%2Fpasswd"):
        response = keyed.get(f"/static/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "NotFound"
    assert keyed.get("/static/../server/app.py").status_code == 404
    paths = keyed.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/static/{name}" not in paths and "/v1/session" in paths


def test_a_checked_key_becomes_an_httponly_strict_cookie(keyed: TestClient) -> None:
    assert keyed.post("/v1/session").status_code == 401
    wrong = keyed.post("/v1/session", headers={"X-API-Key": "s3cre"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert keyed.get("/v1/clips").status_code == 401
    signed = keyed.post("/v1/session", headers={"X-API-Key": "s3cret"})
    assert signed.status_code == 204
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=s3cret;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    # the client keeps the cookie: the API, downloads and the event stream accept it instead of a header
    assert keyed.get("/v1/clips").status_code == 200
    job = keyed.post("/v1/clips", json={"article": "A park opened."}).json()
    assert keyed.get(f"/v1/clips/{job['id']}").status_code == 200
    # a header still wins over the cookie, and a wrong cookie is refused
    assert keyed.get("/v1/clips", headers={"X-API-Key": "wrong"}).status_code == 401
    keyed.cookies.clear()
    keyed.cookies.set(SESSION_COOKIE, "forged")
    assert keyed.get("/v1/clips").json()["error"]["code"] == "AuthError"
    assert keyed.get("/v1/clips", headers={"Authorization": "Bearer other"}).status_code == 200
    # signing out forgets it
    gone = keyed.delete("/v1/session")
    assert gone.status_code == 204 and f'{SESSION_COOKIE}=""' in gone.headers["set-cookie"]
    assert keyed.get("/v1/clips").status_code == 401


def test_without_keys_the_session_is_a_no_op(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, concurrency=0)) as open_server:
        response = open_server.post("/v1/session")
        assert response.status_code == 204 and "set-cookie" not in response.headers
        assert open_server.get("/v1/clips").status_code == 200
