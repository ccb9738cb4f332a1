"""Request bodies in: a size cap enforced while the body streams, and multipart clip uploads.

:class:`BodyLimit` counts the bytes of every request body as they arrive and answers
``413 RequestTooLargeError`` once a body passes the cap (or at once, when ``Content-Length``
says so), so no body larger than the cap is ever read. :func:`read_clip_upload` reads a
``multipart/form-data`` clip: the ``file`` part (an article or a feed, by its extension
from an allow-list) is stored as ``input<ext>`` in the job's folder, never under the
client's name or path, and the other parts are the clip's options.

Example:
    >>> upload_name("../../etc/story.MD")
    'input.md'
    >>> upload_name("payload.exe")
    Traceback (most recent call last):
    aigc_sdk.server.uploads.UnsupportedMediaTypeError: cannot make a clip from a .exe file (hint: ...)
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from aigc_sdk._internal.files import atomic_path
from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.server.models import ClipOptions
from aigc_sdk.server.worker import upload_suffixes

__all__ = [
    "BodyLimit",
    "RequestTooLargeError",
    "UnsupportedMediaTypeError",
    "is_served_name",
    "read_clip_upload",
    "save_upload",
    "upload_name",
]

_CHUNK = 1 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestTooLargeError(InvalidRequestError):
    """A request body (an upload, a JSON body) is larger than the server accepts (HTTP 413).

    Example:
        >>> RequestTooLargeError("too large").hint
        'send a smaller file, or start the server with a larger --max-upload-mb'
    """

    default_hint = "send a smaller file, or start the server with a larger --max-upload-mb"


class UnsupportedMediaTypeError(InvalidRequestError):
    """A body of a content type the endpoint does not take, or a file of a kind no clip is made from (HTTP 415).

    Example:
        >>> isinstance(UnsupportedMediaTypeError("text/plain"), InvalidRequestError)
        True
    """

    default_hint = (
        "send application/json, or multipart/form-data with a 'file' part: "
        "an article (.md .txt .html) or a feed (.geojson .json .csv .rss .atom .xml)"
    )


def _too_large_body(limit: int) -> bytes:
    error = RequestTooLargeError(f"the request body is larger than {limit} bytes")
    return json.dumps({"error": {"code": type(error).__name__, "message": error.message, "hint": error.hint}}).encode()


class BodyLimit:
    """ASGI middleware: answer ``413`` to any request whose body passes ``max_bytes``, counted as it streams.

    Args:
        app: The ASGI app.
        max_bytes: The largest body accepted.

    Example:
        >>> BodyLimit(lambda scope, receive, send: None, max_bytes=10).max_bytes
        10
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, with a body reader that stops at the cap.

        Example:
            >>> BodyLimit.__call__.__name__
            '__call__'
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        state = {"received": 0, "over": False, "started": False}

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    raise RequestTooLargeError(f"the request body is larger than {self.max_bytes} bytes")
            return message

        async def guarded(message: Message) -> None:
            if state["over"]:  # whatever the app answered to the cut body, the client gets the 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await self._refuse(send)
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited, guarded)

    async def _refuse(self, send: Send) -> None:
        body = _too_large_body(self.max_bytes)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


#: A file name the server may serve: no folder, no leading dot, nothing but letters, digits, ``.``, ``_``, ``-``.
_SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def is_served_name(name: str) -> bool:
    """Whether a client-given file name may name a served file (never a path, a dot file or an odd character).

    Example:
        >>> is_served_name("clip.mp4"), is_served_name("../jobs.sqlite"), is_served_name(".env")
        (True, False, False)
    """
    return _SERVED_NAME.match(name) is not None


def upload_name(filename: str | None) -> str:
    r"""The name an upload is stored under: ``input`` and its extension, if the extension is allowed.

    Raises:
        UnsupportedMediaTypeError: No extension, or one no clip is made from.

    Example:
        >>> upload_name("C:\\news\\quakes.GeoJSON")
        'input.geojson'
    """
    suffix = Path((filename or "").replace("\\", "/")).suffix.lower()
    if suffix not in upload_suffixes():
        raise UnsupportedMediaTypeError(f"cannot make a clip from a {suffix or 'suffix-less'} file")
    return f"input{suffix}"


async def save_upload(upload: UploadFile, target: Path, max_bytes: int) -> None:
    """Copy an upload to ``target`` in chunks through a temp file (never half-written), refusing an empty one.

    Raises:
        RequestTooLargeError: It is larger than ``max_bytes`` (nothing is left at ``target``).
        InvalidRequestError: It is empty.

    Example:
        >>> import asyncio, io, tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "input.md"
        >>> asyncio.run(save_upload(UploadFile(io.BytesIO(b"A park opened.")), target, max_bytes=100))
        >>> target.read_bytes()
        b'A park opened.'
    """
    size = 0
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise RequestTooLargeError(f"the file is larger than {max_bytes} bytes")
            out.write(chunk)
        if size == 0:
            raise InvalidRequestError("the uploaded file is empty", hint="send the article or feed in the 'file' part")


async def read_clip_upload(request: Request, folder: Path, *, max_bytes: int) -> tuple[ClipOptions, str]:
    """Read a multipart clip: store its ``file`` as ``folder/input<ext>`` and validate the other parts as options.

    Empty form fields count as not given (a browser form sends them for unset options).

    Returns:
        The options and the stored file's name.

    Raises:
        InvalidRequestError: No ``file`` part, more than one, a repeated option, an empty file.
        UnsupportedMediaTypeError: A file of a kind no clip is made from.
        RequestValidationError: An option that does not validate (a 422 like a JSON body's).

    Example:
        >>> read_clip_upload.__name__
        'read_clip_upload'
    """
    async with request.form(max_files=1, max_fields=30) as form:
        files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str) and value != ""]
        if len(files) != 1 or not isinstance(form.get("file"), UploadFile):
            raise InvalidRequestError("a multipart clip needs exactly one file, in a part named 'file'")
        names = [key for key, _ in fields]
        repeated = sorted({key for key in names if names.count(key) > 1})
        if repeated:
            raise InvalidRequestError(f"options given twice: {', '.join(repeated)}")
        try:
            options = ClipOptions.model_validate(dict(fields))
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc
        name = upload_name(files[0].filename)
        folder.mkdir(parents=True, exist_ok=True)
        await save_upload(files[0], folder / name, max_bytes)
    return options, name
