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
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aigc_sdk._version import __version__
from aigc_sdk.errors import AigcError, InvalidRequestError, ModelNotAvailableError, UnknownModelError
from aigc_sdk.generators.video.brand import load_brand
from aigc_sdk.server import metrics
from aigc_sdk.server.generate import GenerationNotFoundError, generations_router
from aigc_sdk.server.models import ClipOptions, ClipRequest, ClipView, ErrorBody, RejectRequest, TemplateInfo
from aigc_sdk.server.page import page_router
from aigc_sdk.server.publish import Publisher
from aigc_sdk.server.store import FINAL_STATES, Job, JobNotFoundError, JobStateError, JobStore, QueueFullError
from aigc_sdk.server.uploads import (
    BodyLimit,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
    is_served_name,
    read_clip_upload,
)
from aigc_sdk.server.worker import JobRunner, clip_config
from aigc_sdk.studio import Studio

__all__ = ["AuthError", "create_app"]

_HTTP_CODES = {
    400: "BadRequest",
    401: "AuthError",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLargeError",
    415: "UnsupportedMediaTypeError",
}
_ERRORS = {"model": ErrorBody}


class AuthError(AigcError):
    """No API key, or a wrong one (HTTP 401).

    Example:
        >>> AuthError("missing API key").hint
        'send Authorization: Bearer <key> or X-API-Key: <key>'
    """

    default_hint = "send Authorization: Bearer <key> or X-API-Key: <key>"


#: HTTP status of each SDK error the API raises on purpose (checked in order: subclasses first).
_STATUSES: tuple[tuple[type[AigcError], int], ...] = (
    (JobNotFoundError, 404),
    (JobStateError, 409),
    (RequestTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (QueueFullError, 429),
    (AuthError, 401),
    (UnknownModelError, 404),
    (ModelNotAvailableError, 404),
    (GenerationNotFoundError, 404),
)


def _status_of(error: AigcError) -> int:
    for kind, status in _STATUSES:
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
        aigc_key: Annotated[str | None, Cookie()] = None,  # the review page's key (POST /v1/session)
    ) -> None:
        if not keys:
            return
        given = x_api_key
        if given is None and authorization is not None and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None:
            given = aigc_key
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


#: A served file's media type by extension (a ``<track>`` needs ``text/vtt``; a poster is a JPEG).
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
}


def _clip_body_schema() -> dict[str, Any]:
    """``POST /v1/clips`` takes JSON (:class:`ClipRequest`) or multipart (``file`` + the options as form fields)."""
    upload = ClipOptions.model_json_schema()
    upload["properties"] = {"file": {"type": "string", "format": "binary"}, **upload["properties"]}
    upload["required"] = ["file"]
    upload["title"] = "ClipUpload"
    json_body = {"schema": ClipRequest.model_json_schema()}
    return {"requestBody": {"required": True, "content": {"application/json": json_body, "multipart/form-data": {
        "schema": upload}}}}  # fmt: skip


async def _read_clip(request: Request, folder: Path, max_bytes: int) -> dict[str, Any]:
    """The options of a new job from a JSON or multipart body (an upload stored in ``folder``)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = ClipRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc
        return body.model_dump()
    if kind == "multipart/form-data":
        options, name = await read_clip_upload(request, folder, max_bytes=max_bytes)
        return {**options.model_dump(), "input": name}
    raise UnsupportedMediaTypeError(f"POST /v1/clips does not take {kind or 'a body without a content type'}")


def _clips_router(
    store: JobStore, runner: JobRunner, publisher: Publisher, *, max_queued: int, max_upload_bytes: int
) -> APIRouter:
    router = APIRouter(prefix="/v1/clips", tags=["clips"], responses={code: _ERRORS for code in (401, 404, 422)})

    def view(job: Job) -> ClipView:
        return ClipView.of(job, position=store.position(job), publication=store.publication(job.id))

    @router.post(
        "",
        status_code=202,
        response_model=ClipView,
        responses={code: _ERRORS for code in (409, 413, 415, 429)},
        openapi_extra=_clip_body_schema(),
    )
    async def create(request: Request, idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
        """Queue a clip from an article (JSON) or an uploaded article or feed (multipart ``file`` + options).

        The same ``Idempotency-Key`` returns the same job.
        """
        if idempotency_key is not None and (known := await asyncio.to_thread(store.by_key, idempotency_key)):
            return await asyncio.to_thread(view, known)
        job_id = uuid.uuid4().hex
        folder = runner.job_dir(job_id)
        try:
            options = await _read_clip(request, folder, max_upload_bytes)
            # bad options fail now, not the job
            await asyncio.to_thread(clip_config, folder, options, runner.data_dir / "cache", brand=runner.brand)
            job, created = await asyncio.to_thread(
                store.create, options, idempotency_key=idempotency_key, max_queued=max_queued, job_id=job_id
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if created:
            runner.wake()
        else:  # another request made this key's job meanwhile: it has its own folder
            shutil.rmtree(folder, ignore_errors=True)
        return await asyncio.to_thread(view, job)

    # Reads are async: a quick SQLite read on the event loop, no hop through the thread pool (whose threads compete
    # for the GIL with the workers), so status polls stay fast while clips render.
    @router.get("", response_model=list[ClipView])
    async def listing(status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ClipView]:
        """The jobs, newest first; ``?status=review`` keeps one state."""
        return [view(job) for job in store.jobs(status, limit=max(1, min(limit, 1000)))]

    @router.get("/{job_id}", response_model=ClipView)
    async def status(job_id: str) -> ClipView:
        """A job's status, per-stage progress, files, error and publication."""
        return view(store.get(job_id))

    @router.get("/{job_id}/events", response_class=EventSourceResponse)
    def events(job_id: str, request: Request, last_event_id: Annotated[str | None, Header()] = None) -> Any:
        """Server-Sent Events: the job's stages (``stage``) and states (``status``) until it stops running."""
        store.get(job_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
        return EventSourceResponse(_events(store, job_id, request, after), ping=15)

    @router.get("/{job_id}/files/{name}", response_class=FileResponse)
    def file(job_id: str, name: str) -> FileResponse:
        """One of the job's published files (MP4, poster JPEG, SRT, VTT, manifest); HTTP Range gets 206."""
        job = store.get(job_id)
        if not is_served_name(name) or name not in job.files:
            raise JobNotFoundError(f"job {job_id} has no file {name!r}", hint=f"its files: {', '.join(job.files)}")
        media = _MEDIA_TYPES.get(Path(name).suffix.lower())
        return FileResponse(runner.job_dir(job_id) / name, filename=name, media_type=media)

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
        """Approve a clip in review; on a publishing server its files go to the outbox and the webhooks."""
        outbox = publisher.outbox is not None
        job = store.approve(job_id, outbox=outbox, webhooks=publisher.webhooks)
        publisher.wake()
        return view(job)

    @router.post("/{job_id}/reject", response_model=ClipView, responses={409: _ERRORS})
    def reject(job_id: str, body: RejectRequest | None = None) -> ClipView:
        """Reject a clip in review, with a reason."""
        reason = body.reason if body else ""
        return ClipView.of(store.transition(job_id, "rejected", allowed=["review"], reason=reason))

    return router


def _info_router(store: JobStore, runner: JobRunner) -> APIRouter:
    router = APIRouter(responses={401: _ERRORS})

    def scheduler_metrics() -> Any:
        studio = runner.started_studio
        return studio.scheduler.metrics() if studio is not None else None

    registry = metrics.registry(store, scheduler_metrics)

    @router.get("/v1/templates", response_model=list[TemplateInfo], tags=["clips"])
    def templates() -> list[TemplateInfo]:
        """The installed story templates a clip's ``template`` may name (and the feed suffixes each reads)."""
        return TemplateInfo.installed()

    @router.get(
        "/metrics", tags=["health"], response_class=Response, responses={200: {"content": {metrics.CONTENT_TYPE: {}}}}
    )
    def scrape() -> Response:
        """Prometheus metrics: jobs by state, queue depth, stage durations, batch sizes, model loads and evictions."""
        return Response(metrics.exposition(registry), media_type=metrics.CONTENT_TYPE)

    return router


def create_app(
    data_dir: str | Path,
    *,
    studio: Studio | None = None,
    concurrency: int = 1,
    api_keys: Iterable[str] = (),
    max_queued: int = 100,
    retry_after: int = 30,
    max_upload_bytes: int = 10 * 1024 * 1024,
    outbox: str | Path | None = None,
    webhooks: Sequence[str] = (),
    webhook_attempts: int = 6,
    webhook_backoff: float = 2.0,
    brand: str | Path | None = None,
) -> FastAPI:
    """The ``aigc serve`` app over a data folder (``jobs.sqlite``, ``jobs/<id>/``, ``cache/``).

    Args:
        data_dir: Where jobs, their files and the stage cache live; created.
        studio: The Studio every job shares; None: one is made on the first job and closed on shutdown.
        concurrency: Worker threads running jobs (0: jobs queue up but none runs).
        api_keys: Accepted API keys (``Authorization: Bearer`` or ``X-API-Key``); empty: no key needed.
        max_queued: Jobs that may wait; one more is answered 429 with ``Retry-After: retry_after``.
        retry_after: Seconds a client told 429 should wait.
        max_upload_bytes: The largest request body (an upload, a JSON body); a larger one is answered 413.
        outbox: Approved jobs' files are copied to ``outbox/<job id>/`` (in one rename); None: no copy.
        webhooks: URLs a JSON notice of each approved job is POSTed to (see :mod:`aigc_sdk.server.publish`).
        webhook_attempts: Tries per webhook before its delivery is recorded as failed.
        webhook_backoff: Seconds before a webhook's first retry; each further retry waits twice as long.
        brand: A brand kit file (TOML/YAML, see ``docs/brand.md``) every clip wears; read and checked now.

    Example:
        >>> import tempfile
        >>> create_app(tempfile.mkdtemp(), concurrency=0).title
        'aigc serve'
    """
    if concurrency < 0 or max_queued < 1 or max_upload_bytes < 1:
        raise InvalidRequestError("concurrency must be >= 0, and max_queued and max_upload_bytes >= 1")
    data = Path(data_dir)
    store = JobStore(data / "jobs.sqlite")
    kit = None if brand is None else Path(brand).expanduser().absolute()
    if kit is not None:
        load_brand(kit)  # a bad brand file stops the server before it takes a job
    runner = JobRunner(data, store, studio=studio, concurrency=concurrency, brand=kit)
    publisher = Publisher(
        store,
        data / "jobs",
        outbox=Path(outbox) if outbox is not None else None,
        webhooks=webhooks,
        attempts=webhook_attempts,
        backoff=webhook_backoff,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.open()  # a no-op, unless this app ran (and stopped) before
        runner.start()
        publisher.start()
        try:
            yield
        finally:
            await asyncio.to_thread(runner.stop)
            await asyncio.to_thread(publisher.stop)
            store.close()

    app = FastAPI(title="aigc serve", version=__version__, lifespan=lifespan)
    app.state.store, app.state.runner, app.state.publisher = store, runner, publisher
    app.add_middleware(BodyLimit, max_bytes=max_upload_bytes)
    _install_error_handlers(app, retry_after)
    check = _auth(tuple(api_keys))
    auth = [Depends(check)]
    clips = _clips_router(store, runner, publisher, max_queued=max_queued, max_upload_bytes=max_upload_bytes)
    app.include_router(clips, dependencies=auth)
    app.include_router(_info_router(store, runner), dependencies=auth)
    app.include_router(page_router(check))
    app.include_router(generations_router(runner, data), dependencies=auth)

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
