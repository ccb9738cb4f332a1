"""The ``aigc serve`` ASGI app: the ``/v1`` clips API over the job store and its workers.

Example:
    >>> import tempfile
    >>> app = create_app(tempfile.mkdtemp(), concurrency=0)
    >>> "/v1/clips/{job_id}/events" in app.openapi()["paths"]
    True
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aigc_sdk._version import __version__
from aigc_sdk.errors import AigcError, InvalidRequestError
from aigc_sdk.server.generate import generations_router
from aigc_sdk.server.models import ClipRequest, ClipView, ErrorBody, RejectRequest
from aigc_sdk.server.store import FINAL_STATES, JobNotFoundError, JobStateError, JobStore, QueueFullError
from aigc_sdk.server.worker import JobRunner
from aigc_sdk.studio import Studio

__all__ = ["AuthError", "create_app"]

#: A file name a job may serve: no folder, no leading dot.
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_HTTP_CODES = {401: "AuthError", 404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge"}
_ERRORS = {"model": ErrorBody}


class AuthError(AigcError):
    """No API key, or a wrong one (HTTP 401).

    Example:
        >>> AuthError("missing API key").hint
        'send Authorization: Bearer <key> or X-API-Key: <key>'
    """

    default_hint = "send Authorization: Bearer <key> or X-API-Key: <key>"


def _status_of(error: AigcError) -> int:
    for kind, status in ((JobNotFoundError, 404), (JobStateError, 409), (QueueFullError, 429), (AuthError, 401)):
        if isinstance(error, kind):
            return status
    return 422 if isinstance(error, InvalidRequestError) else 500


def _error_response(status: int, code: str, message: str, hint: str | None, **headers: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "hint": hint}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _install_error_handlers(app: FastAPI, retry_after: int) -> None:
    async def sdk_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, AigcError)
        status = _status_of(error)
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return _error_response(status, type(error).__name__, error.message, error.hint, **headers)

    async def bad_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', '')}" for item in error.errors()
        )
        hint = "see the request schema at /docs"
        return _error_response(422, "InvalidRequestError", problems or "invalid request", hint)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        code = _HTTP_CODES.get(error.status_code, "HTTPError")
        return _error_response(error.status_code, code, str(error.detail), "see the API at /docs")

    async def internal(request: Request, error: Exception) -> JSONResponse:
        return _error_response(500, "InternalError", "internal server error", "see the server log")

    app.add_exception_handler(AigcError, sdk_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)


def _auth(api_keys: tuple[str, ...]) -> Any:
    keys = [key.encode() for key in api_keys]

    async def check(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        if not keys:
            return
        given = x_api_key
        if given is None and authorization is not None and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None:
            raise AuthError("this server needs an API key")
        matched = False
        for key in keys:  # compare with every key, in constant time
            matched |= hmac.compare_digest(given.encode(), key)
        if not matched:
            raise AuthError("wrong API key")

    return check


def _events(store: JobStore, job_id: str, request: Request, after: int) -> AsyncIterator[dict[str, str]]:
    async def stream() -> AsyncIterator[dict[str, str]]:
        seq = after
        while True:
            final = store.get(job_id).status in FINAL_STATES  # read before the events: the last one is included
            for event in store.events(job_id, seq):
                seq = event.seq
                kind = "stage" if event.step else "status"
                yield {"event": kind, "id": str(event.seq), "data": event.model_dump_json(exclude_none=True)}
            if final or await request.is_disconnected():
                return
            await asyncio.sleep(0.2)

    return stream()


def _clips_router(store: JobStore, runner: JobRunner, max_queued: int) -> APIRouter:
    router = APIRouter(prefix="/v1/clips", tags=["clips"], responses={code: _ERRORS for code in (401, 404, 422)})

    @router.post("", status_code=202, response_model=ClipView, responses={409: _ERRORS, 429: _ERRORS})
    def create(body: ClipRequest, idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> ClipView:
        """Queue a clip from an article; the same ``Idempotency-Key`` returns the same job."""
        job, created = store.create(body.model_dump(), idempotency_key=idempotency_key, max_queued=max_queued)
        if created:
            runner.wake()
        return ClipView.of(job, position=store.position(job))

    @router.get("", response_model=list[ClipView])
    def listing(status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ClipView]:
        """The jobs, newest first; ``?status=review`` keeps one state."""
        return [ClipView.of(job, position=store.position(job)) for job in store.jobs(status, limit=min(limit, 1000))]

    @router.get("/{job_id}", response_model=ClipView)
    def status(job_id: str) -> ClipView:
        """A job's status, per-stage progress, files and error."""
        job = store.get(job_id)
        return ClipView.of(job, position=store.position(job))

    @router.get("/{job_id}/events", response_class=EventSourceResponse)
    def events(job_id: str, request: Request, last_event_id: Annotated[str | None, Header()] = None) -> Any:
        """Server-Sent Events: the job's stages (``stage``) and states (``status``) until it stops running."""
        store.get(job_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return EventSourceResponse(_events(store, job_id, request, after), ping=15)

    @router.get("/{job_id}/files/{name}", response_class=FileResponse)
    def file(job_id: str, name: str) -> FileResponse:
        """One of the job's published files (MP4, SRT, VTT, manifest); HTTP Range is answered with 206."""
        job = store.get(job_id)
        if not _FILE_NAME.match(name) or name not in job.files:
            raise JobNotFoundError(f"job {job_id} has no file {name!r}", hint=f"its files: {', '.join(job.files)}")
        return FileResponse(runner.job_dir(job_id) / name, filename=name)

    @router.delete("/{job_id}", response_model=ClipView, status_code=202, responses={409: _ERRORS})
    def cancel(job_id: str) -> ClipView:
        """Cancel a queued job at once, or a running one at its next checkpoint."""
        job = store.get(job_id)
        if job.status == "queued":
            job = store.cancel_queued(job_id)
        elif not (job.status == "running" and runner.cancel(job_id)):
            raise JobStateError(f"job {job_id} is {job.status}; only a queued or running job can be cancelled")
        return ClipView.of(job)

    @router.post("/{job_id}/approve", response_model=ClipView, responses={409: _ERRORS})
    def approve(job_id: str) -> ClipView:
        """Approve a clip in review."""
        return ClipView.of(store.transition(job_id, "approved", allowed=["review"]))

    @router.post("/{job_id}/reject", response_model=ClipView, responses={409: _ERRORS})
    def reject(job_id: str, body: RejectRequest | None = None) -> ClipView:
        """Reject a clip in review, with a reason."""
        reason = body.reason if body else ""
        return ClipView.of(store.transition(job_id, "rejected", allowed=["review"], reason=reason))

    return router


def create_app(
    data_dir: str | Path,
    *,
    studio: Studio | None = None,
    concurrency: int = 1,
    api_keys: Iterable[str] = (),
    max_queued: int = 100,
    retry_after: int = 30,
) -> FastAPI:
    """The ``aigc serve`` app over a data folder (``jobs.sqlite``, ``jobs/<id>/``, ``cache/``).

    Args:
        data_dir: Where jobs, their files and the stage cache live; created.
        studio: The Studio every job shares; None: one is made on the first job and closed on shutdown.
        concurrency: Worker threads running jobs (0: jobs queue up but none runs).
        api_keys: Accepted API keys (``Authorization: Bearer`` or ``X-API-Key``); empty: no key needed.
        max_queued: Jobs that may wait; one more is answered 429 with ``Retry-After: retry_after``.
        retry_after: Seconds a client told 429 should wait.

    Example:
        >>> import tempfile
        >>> create_app(tempfile.mkdtemp(), concurrency=0).title
        'aigc serve'
    """
    if concurrency < 0 or max_queued < 1:
        raise InvalidRequestError("concurrency must be >= 0 and max_queued >= 1")
    data = Path(data_dir)
    store = JobStore(data / "jobs.sqlite")
    runner = JobRunner(data, store, studio=studio, concurrency=concurrency)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            await asyncio.to_thread(runner.stop)
            store.close()

    app = FastAPI(title="aigc serve", version=__version__, lifespan=lifespan)
    app.state.store, app.state.runner = store, runner
    _install_error_handlers(app, retry_after)
    app.include_router(_clips_router(store, runner, max_queued), dependencies=[Depends(_auth(tuple(api_keys)))])
    app.include_router(generations_router(runner, data), dependencies=[Depends(_auth(tuple(api_keys)))])

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: _ERRORS})
    def readyz() -> Any:
        """The store answers and every worker runs."""
        queued, running = store.count("queued"), store.count("running")
        if not runner.alive:
            return _error_response(503, "NotReady", "the workers are not running", "see the server log")
        return {"status": "ready", "queued": queued, "running": running, "workers": concurrency}

    return app
