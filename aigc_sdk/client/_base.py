"""What the sync and async clients share, without I/O: requests built, answers read, errors mapped, waits paced.

Example:
    >>> call = create_call("A park opened.", None, {"aspect": "1:1"}, idempotency_key="k1")
    >>> call.method, call.path, call.json == {"article": "A park opened.", "aspect": "1:1"}, call.headers
    ('POST', '/v1/clips', True, {'Idempotency-Key': 'k1'})
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, TypedDict

import httpx
from pydantic import ValidationError

from aigc_sdk._internal.files import atomic_path
from aigc_sdk.client._errors import ServerConnectionError, WaitTimeoutError, error_from_response
from aigc_sdk.client._sse import ServerSentEvent
from aigc_sdk.errors import AigcError, InvalidRequestError, MediaError
from aigc_sdk.server.models import ClipRequest, ClipView
from aigc_sdk.server.store import FINAL_STATES, JobEvent

__all__ = [
    "Call",
    "ClipKwargs",
    "Waiter",
    "check",
    "check_options",
    "checked_url",
    "client_headers",
    "connection_errors",
    "create_call",
    "event_of",
    "events_call",
    "file_name",
    "folder",
    "mp4_of",
    "saving",
    "view_of",
    "views_of",
]

#: A file name the client saves: no folder, no leading dot (the server's own rule for the names it serves).
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
#: Longest read on an event stream when no deadline is nearer (the server pings every 15 s).
STREAM_READ_S = 60.0


class ClipKwargs(TypedDict, total=False):
    """The options of a clip, as keyword arguments of ``clips.create`` (the server's ``ClipRequest`` checks them).

    Example:
        >>> ClipKwargs(aspect="9:16", duration=8, music=False)
        {'aspect': '9:16', 'duration': 8, 'music': False}
    """

    template: str | None
    language: str | None
    voice: str | None
    aspect: str  # one of 16:9, 9:16, 1:1, 4:5, or several comma-separated
    captions: Literal["sentence", "words", "off"]
    duration: float
    music: bool
    seed: int
    subtitles: bool
    roundup: int | None


@dataclass(frozen=True)
class Call:
    """One HTTP request to make: method, path under the base URL, and its body, query and headers.

    Example:
        >>> Call("GET", "/v1/clips", params={"status": "review"}).kwargs()
        {'params': {'status': 'review'}}
    """

    method: str
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    params: dict[str, str | int] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``httpx.Client.request`` / ``stream`` (the ones set).

        Example:
            >>> Call("POST", "/x", json={"a": 1}).kwargs()
            {'json': {'a': 1}}
        """
        given = {"json": self.json, "data": self.data, "files": self.files, "params": self.params}
        given["headers"] = self.headers or None
        return {name: value for name, value in given.items() if value is not None}


def client_headers(api_key: str | None) -> dict[str, str]:
    """The headers every request carries: the API key as a bearer token, when there is one.

    Example:
        >>> client_headers("k1")
        {'Authorization': 'Bearer k1'}
    """
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def checked_url(base_url: str) -> str:
    """The server's base URL without a trailing slash; anything but http(s) is bad input.

    Example:
        >>> checked_url("http://127.0.0.1:8000/")
        'http://127.0.0.1:8000'
    """
    if not base_url.startswith(("http://", "https://")):
        raise InvalidRequestError(f"{base_url!r} is not a server URL", hint="e.g. http://127.0.0.1:8000")
    return base_url.rstrip("/")


def _checked(article: str, options: Mapping[str, Any]) -> ClipRequest:
    try:
        return ClipRequest.model_validate({"article": article, **options})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidRequestError(f"bad clip options: {problems}", hint="see ClipRequest's fields") from None


def check_options(options: Mapping[str, Any]) -> None:
    """Check a clip's options with the server's ``ClipRequest``, before any request.

    Example:
        >>> check_options({"aspect": "4:3"})
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: bad clip options: aspect: Value error, unknown aspect '4:3' ...
    """
    _checked("-", options)


def _form_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def create_call(
    article: str | None, file: str | Path | None, options: Mapping[str, Any], *, idempotency_key: str | None
) -> Call:
    """``POST /v1/clips``: JSON ``{"article", ...options}``, or a multipart upload (``file`` + options as form fields).

    The options are checked here, with the server's own ``ClipRequest``, before anything is sent.

    Raises:
        InvalidRequestError: Neither or both of ``article`` and ``file``, a file that cannot be read, a bad option.

    Example:
        >>> import tempfile, pathlib
        >>> feed = pathlib.Path(tempfile.mkdtemp()) / "quakes.geojson"
        >>> _ = feed.write_text("{}")
        >>> call = create_call(None, feed, {"music": False, "duration": 8}, idempotency_key=None)
        >>> call.data, call.files["file"][0], call.json
        ({'music': 'false', 'duration': '8'}, 'quakes.geojson', None)
    """
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    if (article is None) == (file is None):
        raise InvalidRequestError("give either article=… (the text) or file=… (a path), not both or neither")
    if article is not None:
        body = _checked(article, options).model_dump(mode="json", exclude_unset=True)
        return Call("POST", "/v1/clips", json=body, headers=headers)
    path = Path(str(file))
    check_options(options)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {path}: {exc}", hint="give an article or feed file") from exc
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = {name: _form_value(value) for name, value in options.items() if value is not None}
    return Call("POST", "/v1/clips", data=data, files={"file": (path.name, content, kind)}, headers=headers)


def events_call(job_id: str, *, after: int, connect: float | None, read: float | None) -> tuple[Call, dict[str, Any]]:
    """``GET /v1/clips/{id}/events`` after event ``after``, and its stream arguments (a longer read timeout).

    Example:
        >>> call, kwargs = events_call("a", after=3, connect=5.0, read=60.0)
        >>> call.path, kwargs["headers"], kwargs["timeout"].read
        ('/v1/clips/a/events', {'Last-Event-ID': '3'}, 60.0)
    """
    call = Call("GET", f"/v1/clips/{job_id}/events", headers={"Last-Event-ID": str(after)} if after else {})
    kwargs = call.kwargs()
    if read is not None:
        kwargs["timeout"] = httpx.Timeout(connect, read=read)
    return call, kwargs


def check(response: httpx.Response) -> httpx.Response:
    """The response, or its typed error when its status is 4xx/5xx (the body must have been read).

    Example:
        >>> check(httpx.Response(404, json={"error": {"code": "NotFound", "message": "no"}}))
        Traceback (most recent call last):
        aigc_sdk.client._errors.NotFoundError: no (HTTP 404 NotFound) ...
    """
    if response.status_code < 400:
        return response
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    retry = response.headers.get("retry-after", "")
    raise error_from_response(response.status_code, body, retry_after=float(retry) if retry.isdigit() else None)


def view_of(response: httpx.Response) -> ClipView:
    """The job in a response.

    Example:
        >>> job = {"id": "a", "status": "queued", "position": 1, "options": {}, "created": 0, "updated": 0,
        ...        "progress": {}, "error": None, "files": [], "reason": None}
        >>> view_of(httpx.Response(202, json=job)).position
        1
    """
    return ClipView.model_validate_json(check(response).content)


def views_of(response: httpx.Response) -> list[ClipView]:
    """The jobs in a listing.

    Example:
        >>> views_of(httpx.Response(200, json=[]))
        []
    """
    return [ClipView.model_validate(item) for item in check(response).json()]


def event_of(sse: ServerSentEvent) -> JobEvent:
    """A job event from one Server-Sent Event of ``/v1/clips/{id}/events``.

    Example:
        >>> event_of(ServerSentEvent("stage", '{"seq": 4, "step": "render", "status": "done"}', "4")).step
        'render'
    """
    return JobEvent.model_validate_json(sse.data)


@contextlib.contextmanager
def connection_errors(base_url: str) -> Iterator[None]:
    """Turn httpx's transport errors (refused, dropped, timed out) into :class:`ServerConnectionError`.

    Example:
        >>> with connection_errors("http://127.0.0.1:9"):
        ...     raise httpx.ConnectError("refused")
        Traceback (most recent call last):
        aigc_sdk.client._errors.ServerConnectionError: no answer from http://127.0.0.1:9: ConnectError: refused ...
    """
    try:
        yield
    except httpx.TransportError as exc:
        raise ServerConnectionError(f"no answer from {base_url}: {type(exc).__name__}: {exc}") from exc


def file_name(name: str) -> str:
    """A job's file name, checked before it names a local file: no folder, no leading dot.

    Example:
        >>> file_name("clip.mp4")
        'clip.mp4'
        >>> file_name("../jobs.sqlite")
        Traceback (most recent call last):
        aigc_sdk.errors.InvalidRequestError: '../jobs.sqlite' is not a job's file name ...
    """
    if not _FILE_NAME.match(name) or ".." in name:
        raise InvalidRequestError(f"{name!r} is not a job's file name", hint="use a name the job lists in its files")
    return name


def mp4_of(view: ClipView) -> str:
    """The name of the job's clip (its first MP4).

    Example:
        >>> view = ClipView(id="a", status="review", position=0, options={}, created=0, updated=0, progress={},
        ...                 error=None, files=["clip.srt", "clip.mp4"], reason=None)
        >>> mp4_of(view)
        'clip.mp4'
    """
    for name in view.files:
        if name.endswith(".mp4"):
            return name
    raise InvalidRequestError(
        f"job {view.id} has no clip yet (it is {view.status})", hint="wait for it first: client.clips.wait(id)"
    )


def folder(to: str | Path) -> Path:
    """The folder downloads go to, created; a file there is bad input.

    Example:
        >>> import tempfile, pathlib
        >>> folder(pathlib.Path(tempfile.mkdtemp()) / "out").is_dir()
        True
    """
    path = Path(to)
    if path.exists() and not path.is_dir():
        raise InvalidRequestError(f"{path} is a file, not a folder", hint="download into a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def saving(target: Path, expected: int | None) -> Iterator[IO[bytes]]:
    r"""A temp file beside ``target`` to write a download into; renamed onto ``target`` only when complete.

    Raises:
        ServerConnectionError: The body was shorter (or longer) than its ``Content-Length``; nothing is left.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "clip.srt"
        >>> with saving(target, 2) as out:
        ...     _ = out.write(b"1\n")
        >>> target.read_bytes()
        b'1\n'
        >>> with saving(target.with_name("short.srt"), 5) as out:
        ...     _ = out.write(b"1\n")
        Traceback (most recent call last):
        aigc_sdk.client._errors.ServerConnectionError: the download of short.srt ended early: 2 of 5 bytes ...
        >>> sorted(p.name for p in target.parent.iterdir())
        ['clip.srt']
    """
    try:
        with atomic_path(target) as tmp, tmp.open("wb") as out:
            yield out
            size = out.tell()
            if expected is not None and size != expected:
                raise ServerConnectionError(f"the download of {target.name} ended early: {size} of {expected} bytes")
    except AigcError:
        raise
    except OSError as exc:  # the local disk: full, read-only, gone (a transport error is no OSError: it passes)
        raise MediaError(f"cannot save {target}: {exc}", hint="check the folder downloads go to") from exc


class Waiter:
    """Paces ``clips.wait``: the last event id seen (sent back as ``Last-Event-ID``), the deadline, the back-off.

    Args:
        job_id: The job waited for.
        on_event: Called with each new event (never twice with one event, across reconnections).
        timeout: Seconds to wait in all; None: no limit.

    Example:
        >>> waiter = Waiter("a", None, timeout=10)
        >>> waiter.seen(JobEvent(seq=7, status="running")); waiter.headers()
        {'Last-Event-ID': '7'}
    """

    def __init__(self, job_id: str, on_event: Callable[[JobEvent], None] | None, timeout: float | None) -> None:
        self.job_id = job_id
        self.on_event = on_event
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.last_seq = 0
        self.drops = 0

    def headers(self) -> dict[str, str]:
        """The headers of the next events request: where to resume.

        Example:
            >>> Waiter("a", None, None).headers()
            {}
        """
        return {"Last-Event-ID": str(self.last_seq)} if self.last_seq else {}

    def read_timeout(self) -> float:
        """How long one read of the stream may block: until the deadline, at most :data:`STREAM_READ_S`.

        Example:
            >>> Waiter("a", None, None).read_timeout()
            60.0
        """
        if self.deadline is None:
            return STREAM_READ_S
        return max(0.05, min(STREAM_READ_S, self.deadline - time.monotonic()))

    def seen(self, event: JobEvent) -> None:
        """Take an event: pass it on unless it was seen before a reconnection.

        Example:
            >>> got = []
            >>> waiter = Waiter("a", got.append, None)
            >>> for seq in (1, 2, 2): waiter.seen(JobEvent(seq=seq, status="running"))
            >>> [e.seq for e in got]
            [1, 2]
        """
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        self.drops = 0
        if self.on_event is not None:
            self.on_event(event)

    def finished(self, view: ClipView) -> bool:
        """Whether the job is in a final state; past the deadline without one, :class:`WaitTimeoutError`.

        Example:
            >>> view = ClipView(id="a", status="queued", position=1, options={}, created=0, updated=0, progress={},
            ...                 error=None, files=[], reason=None)
            >>> Waiter("a", None, timeout=0).finished(view)
            Traceback (most recent call last):
            aigc_sdk.client._errors.WaitTimeoutError: job a is still queued after 0 s ...
        """
        if view.status in FINAL_STATES:
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise WaitTimeoutError(f"job {self.job_id} is still {view.status} after {self.timeout:g} s")
        return False

    def dropped(self, error: ServerConnectionError) -> float:
        """The stream broke: seconds to wait before reconnecting (0.2, 0.4, … up to 5); gives up after 10 in a row.

        Example:
            >>> Waiter("a", None, None).dropped(ServerConnectionError("reset"))
            0.2
        """
        self.drops += 1
        if self.drops > 10:
            raise error
        pause = min(5.0, 0.1 * 2.0**self.drops)
        if self.deadline is not None:
            pause = max(0.0, min(pause, self.deadline - time.monotonic()))
        return pause
