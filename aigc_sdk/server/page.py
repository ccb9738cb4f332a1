"""The review page at ``/``: plain HTML, CSS and JavaScript shipped in the package (no build step, no CDN).

A desk editor pastes an article (or uploads a feed), watches the stages move, plays the clip, reads its
subtitles and a summary of its manifest, then approves or rejects it. The page talks only to the ``/v1`` API;
on a server with API keys it asks for a key once and trades it for an ``aigc_key`` cookie (HttpOnly,
SameSite=Strict) at ``POST /v1/session``, so ``<video src>`` and download links work too.

Example:
    >>> from fastapi import FastAPI
    >>> from fastapi.testclient import TestClient
    >>> app = FastAPI()
    >>> app.include_router(page_router())
    >>> page = TestClient(app).get("/")
    >>> page.status_code, "<title>aigc · review desk</title>" in page.text
    (200, True)
"""

from __future__ import annotations

import functools
import html
import importlib.resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from aigc_sdk.generators.text.template import builtin_templates
from aigc_sdk.registry import ModelRegistry
from aigc_sdk.server.models import ErrorBody

__all__ = ["SESSION_COOKIE", "STATIC_FILES", "page_router"]

#: The cookie the page's key is kept in (read by the API's key check besides the headers).
SESSION_COOKIE = "aigc_key"
#: The page's files under ``/static/``, with their media types: nothing else is ever served from there.
STATIC_FILES = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: How long the key cookie lives: one long shift.
SESSION_SECONDS = 12 * 3600
#: The page may load only its own files; no inline script, no other origin (the clip and VTT come from /v1).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _static(name: str) -> bytes:
    return importlib.resources.files("aigc_sdk.server").joinpath("static", name).read_bytes()


def _options(values: list[tuple[str, str]]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in values)


@functools.cache
def _index() -> str:
    """index.html with the installed story templates and voices filled into its pickers."""
    templates = [(name, f"{name} ({', '.join(langs)})") for name, langs in builtin_templates().items()]
    voices = []
    for spec in ModelRegistry().list("text-to-speech"):
        langs = ", ".join(spec.languages[:3]) + (" …" if len(spec.languages) > 3 else "")
        voices.append((spec.id, f"{spec.id} — {langs}"))
    page = _static("index.html").decode()
    return page.replace("<!--TEMPLATES-->", _options(templates)).replace("<!--VOICES-->", _options(voices))


def _given_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization is not None and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def page_router(auth: Any = None) -> APIRouter:
    """The page (``GET /``), its files (``GET /static/{name}``) and the key cookie (``/v1/session``).

    Args:
        auth: The API's key check (a FastAPI dependency); ``POST /v1/session`` runs it before it sets the
            cookie, so only a key the server accepts is ever stored. None: no key check (no keys configured).

    Example:
        >>> sorted(route.path for route in page_router().routes)
        ['/', '/static/{name}', '/v1/session', '/v1/session']
    """
    router = APIRouter()
    checks = [Depends(auth)] if auth is not None else []

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        """The review page."""
        return HTMLResponse(_index(), headers={**_HEADERS, "Cache-Control": "no-cache"})

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        """One of the page's own files."""
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            raise HTTPException(404, f"no page file {name!r}; the page's files: {', '.join(STATIC_FILES)}")
        return Response(_static(name), media_type=media_type, headers={**_HEADERS, "Cache-Control": "no-cache"})

    @router.post(
        "/v1/session", status_code=204, tags=["page"], dependencies=checks, responses={401: {"model": ErrorBody}}
    )
    def login(
        request: Request,
        response: Response,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        """Keep the (checked) API key in an HttpOnly, SameSite=Strict cookie, so the page's media links work."""
        key = _given_key(authorization, x_api_key)
        if key is not None:
            response.set_cookie(
                SESSION_COOKIE, key, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict",
                secure=request.url.scheme == "https",
            )  # fmt: skip

    @router.delete("/v1/session", status_code=204, tags=["page"])
    def logout(response: Response) -> None:
        """Forget the key cookie."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    return router
